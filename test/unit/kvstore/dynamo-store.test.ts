/**
 * The requests DynamoKVStore builds, checked against rules of the real
 * DynamoDB that dynalite does not enforce: no empty strings in key
 * conditions, BETWEEN bounds in order, at most 25 distinct keys per
 * BatchWriteItem. The behaviour itself is tested against dynalite in
 * test/integration/dynamodb/; this only records the requests.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoKVStore } from '../../../lib/kvstore/dynamodb/dynamo-store.ts';
import type { KVQueryOptions } from '../../../lib/kvstore/kvstore.ts';
import { CorruptionError, ThrottledError } from '../../../lib/util/errors.ts';

interface Sent {
  op: string;
  input: Record<string, unknown>;
}

/** A client that records each command and answers as an empty table would. */
function recordingClient(): { client: DynamoDBClient; sent: Sent[] } {
  const sent: Sent[] = [];
  const fake = {
    async send(cmd: { constructor: { name: string }; input: Record<string, unknown> }): Promise<unknown> {
      const op = cmd.constructor.name.replace(/Command$/, '');
      sent.push({ op, input: cmd.input });
      return op === 'Query' ? { Items: [] } : {};
    },
  };
  return { client: fake as unknown as DynamoDBClient, sent };
}

function bytes(s: string): Buffer {
  return Buffer.from(s, 'utf8');
}

describe('DynamoKVStore request shapes', () => {
  const cases: { name: string; opts: KVQueryOptions; condition?: string; values?: string[] }[] = [
    { name: 'no options', opts: {}, condition: 'pk = :pk', values: ['p'] },
    { name: 'empty prefix selects all', opts: { prefix: '' }, condition: 'pk = :pk', values: ['p'] },
    { name: 'prefix', opts: { prefix: 'a/' }, condition: 'pk = :pk AND begins_with(sk, :p)', values: ['p', 'a/'] },
    { name: 'empty start is no bound', opts: { start: '' }, condition: 'pk = :pk', values: ['p'] },
    {
      name: 'empty start with end',
      opts: { start: '', end: 'b' },
      condition: 'pk = :pk AND sk <= :b',
      values: ['p', 'b'],
    },
    { name: 'start', opts: { start: 'a' }, condition: 'pk = :pk AND sk >= :a', values: ['p', 'a'] },
    { name: 'end', opts: { end: 'b' }, condition: 'pk = :pk AND sk <= :b', values: ['p', 'b'] },
    {
      name: 'both',
      opts: { start: 'a', end: 'b' },
      condition: 'pk = :pk AND sk BETWEEN :a AND :b',
      values: ['p', 'a', 'b'],
    },
    // U+E000 < U+1F600 in UTF-8, though not in JavaScript's UTF-16 order.
    { name: 'bounds in UTF-8 order', opts: { start: '\uE000', end: '😀' }, values: ['p', '\uE000', '😀'] },
    { name: 'equal bounds', opts: { start: 'x', end: 'x' }, values: ['p', 'x', 'x'] },
    // No request at all:
    { name: 'empty end', opts: { end: '' } },
    { name: 'start after end', opts: { start: 'b', end: 'a' } },
    { name: 'start after end in UTF-8 order only', opts: { start: '😀', end: '\uE000' } },
    { name: 'limit 0', opts: { limit: 0 } },
  ];
  for (const c of cases) {
    it(`query: ${c.name}`, async () => {
      // Prepare
      const { client, sent } = recordingClient();
      const kv = new DynamoKVStore({ client, table: 't' });
      // Act
      for await (const _ of kv.query('p', c.opts)) assert.fail('the fake table is empty');
      // Assess
      if (c.values === undefined) {
        assert.deepEqual(sent, [], 'no request for a query that cannot match');
        return;
      }
      assert.equal(sent.length, 1);
      const input = sent[0].input as {
        KeyConditionExpression: string;
        ExpressionAttributeValues: Record<string, AttributeValue>;
        ConsistentRead: boolean;
        ScanIndexForward: boolean;
      };
      if (c.condition !== undefined) assert.equal(input.KeyConditionExpression, c.condition);
      const values = Object.values(input.ExpressionAttributeValues).map((v) => v.S);
      assert.deepEqual(values, c.values);
      assert.ok(values.every((v) => v !== ''), 'DynamoDB rejects empty strings in key conditions');
      const { ':a': a, ':b': b } = input.ExpressionAttributeValues;
      if (a !== undefined && b !== undefined) {
        assert.ok(Buffer.compare(bytes(a.S!), bytes(b.S!)) <= 0, 'BETWEEN bounds in order');
      }
      assert.equal(input.ConsistentRead, true);
      assert.equal(input.ScanIndexForward, true);
    });
  }

  it('query passes reverse and the remaining limit', async () => {
    const { client, sent } = recordingClient();
    const kv = new DynamoKVStore({ client, table: 't' });
    for await (const _ of kv.query('p', { reverse: true, limit: 7 })) assert.fail('empty');
    for await (const _ of kv.query('p', { limit: Number.MAX_SAFE_INTEGER })) assert.fail('empty');
    assert.equal(sent[0].input.ScanIndexForward, false);
    assert.equal(sent[0].input.Limit, 7);
    assert.equal(sent[1].input.Limit, undefined, 'limits beyond 32 bits are not sent');
  });

  it('batchDelete sends at most 25 distinct keys per BatchWriteItem', async () => {
    // Prepare: 40 distinct keys, each listed twice.
    const { client, sent } = recordingClient();
    const kv = new DynamoKVStore({ client, table: 't', concurrency: 1 });
    const keys = Array.from({ length: 40 }, (_, i) => ({ pk: 'p', sk: `k${i}` }));
    // Act
    await kv.batchDelete([...keys, ...keys]);
    // Assess
    const batches = sent.map(
      (s) => (s.input.RequestItems as Record<string, { DeleteRequest: { Key: Record<string, AttributeValue> } }[]>).t,
    );
    assert.deepEqual(batches.map((b) => b.length), [25, 15]);
    const sks = batches.flat().map((r) => r.DeleteRequest.Key.sk.S);
    assert.deepEqual(sks, keys.map((k) => k.sk));
  });

  it('getMany sends at most 100 distinct keys per BatchGetItem, consistent, with the keys projected', async () => {
    // Prepare: 230 distinct keys, 70 of them listed twice.
    const { client, sent } = recordingClient();
    const expiry = { attribute: 'ttl', expiresAt: () => undefined };
    const kv = new DynamoKVStore({ client, table: 't', concurrency: 2, expiry });
    const keys = Array.from({ length: 230 }, (_, i) => ({ pk: `p${i % 2}`, sk: `k${i}` }));
    // Act
    const got = await kv.getMany([...keys, ...keys.slice(0, 70)]);
    // Assess
    assert.equal(got.length, 300);
    assert.ok(got.every((v) => v === undefined), 'the fake table is empty');
    assert.ok(sent.every((s) => s.op === 'BatchGetItem'));
    const requests = sent.map((s) => (s.input.RequestItems as Record<string, { Keys: Record<string, AttributeValue>[]; ConsistentRead: boolean; ProjectionExpression: string; ExpressionAttributeNames: Record<string, string> }>).t);
    assert.deepEqual(requests.map((r) => r.Keys.length), [100, 100, 30]);
    assert.deepEqual(requests.flatMap((r) => r.Keys.map((k) => `${k.pk.S}/${k.sk.S}`)), keys.map((k) => `${k.pk}/${k.sk}`));
    for (const r of requests) {
      assert.equal(r.ConsistentRead, true);
      assert.equal(r.ProjectionExpression, 'pk, sk, v, #exp');
      assert.deepEqual(r.ExpressionAttributeNames, { '#exp': 'ttl' });
    }
    // No request for no keys.
    assert.deepEqual(await kv.getMany([]), []);
    assert.equal(sent.length, 3);
  });

  /** A client whose BatchGetItem answers come from `answer`, given the keys asked for; it records each request. */
  function batchGetClient(answer: (keys: Record<string, AttributeValue>[], n: number) => unknown): { client: DynamoDBClient; sent: Record<string, unknown>[] } {
    const sent: Record<string, unknown>[] = [];
    const fake = {
      async send(cmd: { input: { RequestItems: Record<string, Record<string, unknown> & { Keys: Record<string, AttributeValue>[] }> } }): Promise<unknown> {
        const req = cmd.input.RequestItems.t!;
        sent.push(req);
        return answer(req.Keys, sent.length);
      },
    };
    return { client: fake as unknown as DynamoDBClient, sent };
  }
  const row = (k: Record<string, AttributeValue>) => ({ pk: k.pk, sk: k.sk, v: { B: bytes(`${k.pk.S}:${k.sk.S}`) } });

  it('getMany pages through unprocessed keys, rebuilding the request around them', async () => {
    // Prepare: every answer returns one item and leaves the rest unprocessed, without the projection (as dynalite does).
    const { client, sent } = batchGetClient((keys) => ({
      Responses: { t: [row(keys[keys.length - 1]!)] },
      UnprocessedKeys: keys.length > 1 ? { t: { Keys: keys.slice(0, -1) } } : {},
    }));
    const kv = new DynamoKVStore({ client, table: 't', retry: { attempts: 3, baseMs: 0, capMs: 0 } });
    const keys = Array.from({ length: 12 }, (_, i) => ({ pk: 'p', sk: `k${i}` }));
    // Act: 12 pages, far more than 3 attempts, but each one made progress.
    const got = await kv.getMany(keys);
    // Assess
    assert.deepEqual(got.map((v) => Buffer.from(v!).toString()), keys.map((k) => `p:${k.sk}`));
    assert.equal(sent.length, 12);
    assert.ok(sent.every((r) => r.ConsistentRead === true && r.ProjectionExpression === 'pk, sk, v'));
  });

  it('getMany gives up with ThrottledError when answers leave keys unprocessed and return nothing', async () => {
    const { client, sent } = batchGetClient((keys, n) => (n === 1 ? { Responses: { t: [row(keys[0]!)] }, UnprocessedKeys: { t: { Keys: keys.slice(1) } } } : { Responses: { t: [] }, UnprocessedKeys: { t: { Keys: keys } } }));
    const kv = new DynamoKVStore({ client, table: 't', retry: { attempts: 3, baseMs: 0, capMs: 0 } });
    await assert.rejects(kv.getMany([{ pk: 'p', sk: 'a' }, { pk: 'p', sk: 'b' }]), (err: unknown) => err instanceof ThrottledError && /^getMany 2 keys: 1 keys still unread after 3 attempts/.test(err.message));
    assert.equal(sent.length, 4, 'one page with progress, then three attempts without');
  });

  it('getMany rejects an answer holding an item that was not asked for', async () => {
    const { client } = batchGetClient(() => ({ Responses: { t: [row({ pk: { S: 'p' }, sk: { S: 'other' } })] } }));
    const kv = new DynamoKVStore({ client, table: 't' });
    await assert.rejects(kv.getMany([{ pk: 'p', sk: 'a' }]), CorruptionError);
  });
});
