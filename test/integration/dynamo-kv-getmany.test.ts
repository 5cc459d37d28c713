/**
 * DynamoKVStore.getMany against dynalite: BatchGetItems of at most 100
 * distinct keys, paging through answers cut short by the size limit
 * (dynalite cuts at about 1.4 MB, DynamoDB at 16 MB), expiry treated as
 * `get` treats it, throttling retried through a fault proxy, and the
 * metering decorator's requests and read units checked against the
 * backend's own counter and against dynalite's ConsumedCapacity.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BatchGetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoKVStore, type DynamoKVStoreOptions } from '../../lib/kvstore/dynamodb/dynamo-store.ts';
import type { ItemExpiry, KVKey } from '../../lib/kvstore/kvstore.ts';
import { OpTotals } from '../../lib/storage/ops.ts';
import { UsageLedger, byOperation, meteredKVStore } from '../../lib/cost/index.ts';
import { BackendError, ThrottledError } from '../../lib/util/errors.ts';
import { counted, fastRetry, item, sharedDynalite, text } from './dynamodb/kv-helpers.ts';
import { startFaultProxy, type FaultProxy } from './dynamodb/fault-proxy.ts';

const { dynamo, freshTable } = sharedDynalite('getmany');

describe('DynamoKVStore.getMany on dynalite', () => {
  let client: DynamoDBClient;
  before(async () => {
    client = (await dynamo()).client();
  });

  async function store(extra: Partial<DynamoKVStoreOptions> = {}): Promise<{ kv: DynamoKVStore; ops: OpTotals; table: string }> {
    const ops = new OpTotals();
    const table = await freshTable(client);
    return { kv: new DynamoKVStore({ client, table, counter: ops, retry: fastRetry, ...extra }), ops, table };
  }

  it('asks for each distinct key once, in BatchGetItems of at most 100 keys', async () => {
    // Prepare: 250 items; ask for them with 40 repeats and 10 absent keys.
    const { kv, ops } = await store({ concurrency: 2 });
    const sk = (i: number): string => `k${String(i).padStart(3, '0')}`;
    await kv.batchPut(Array.from({ length: 250 }, (_, i) => item(`p${i % 3}`, sk(i), `v${i}`)));
    const key = (i: number): KVKey => ({ pk: `p${i % 3}`, sk: sk(i) });
    const keys: KVKey[] = [
      ...Array.from({ length: 250 }, (_, i) => key(i)),
      ...Array.from({ length: 40 }, (_, i) => key((i * 7) % 250)),
      ...Array.from({ length: 10 }, (_, i) => ({ pk: 'p0', sk: `absent${i}` })),
    ];
    // Act
    const got = await kv.getMany(keys);
    // Assess: 260 distinct keys -> 100 + 100 + 60.
    assert.deepEqual(counted(ops, 'BatchGetItem'), { requests: 3, units: 260 });
    assert.equal(counted(ops, 'GetItem').requests, 0);
    const want = keys.map((k) => (k.sk.startsWith('absent') ? undefined : `v${Number(k.sk.slice(1))}`));
    assert.deepEqual(got.map((v) => (v === undefined ? undefined : new TextDecoder().decode(v))), want);
    // Nothing for no keys.
    assert.deepEqual(await kv.getMany([]), []);
    assert.equal(counted(ops, 'BatchGetItem').requests, 3);
  });

  it('asks again for the keys an answer cut short by its size left unprocessed', async () => {
    // Prepare: 30 items of 300 KiB (9 MB), more than dynalite answers at once.
    const { kv, ops } = await store({ concurrency: 1 });
    const value = (i: number): Uint8Array => new Uint8Array(300 * 1024).fill(i);
    await kv.batchPut(Array.from({ length: 30 }, (_, i) => ({ pk: 'big', sk: `s${i}`, value: value(i) })));
    // Act
    const got = await kv.getMany(Array.from({ length: 30 }, (_, i) => ({ pk: 'big', sk: `s${i}` })));
    // Assess: one chunk of 30 keys, answered over several pages, every value right.
    const { requests, units } = counted(ops, 'BatchGetItem');
    assert.ok(requests >= 3, `30 x 300 KiB takes several pages, took ${requests}`);
    assert.ok(units > 30 && units < 30 * requests, `later pages ask for the keys left (${units} keys in ${requests} requests)`);
    got.forEach((v, i) => assert.ok(v !== undefined && v.length === 300 * 1024 && v.every((b) => b === i), `value ${i}`));
  });

  it('treats expired items as absent, exactly as get does', async () => {
    // Prepare: items of partitions `tmp*` expire an hour after they are written.
    let now = Date.UTC(2026, 10, 1);
    const expiry: ItemExpiry = { attribute: 'ttl', expiresAt: (pk, _sk, at) => (pk.startsWith('tmp') ? at + 3_600_000 : undefined) };
    const { kv } = await store({ expiry, now: () => now });
    await kv.batchPut([item('tmp', 'a', 'ta'), item('keep', 'a', 'ka'), item('tmp2', 'b', 'tb')]);
    const keys: KVKey[] = [{ pk: 'tmp', sk: 'a' }, { pk: 'keep', sk: 'a' }, { pk: 'tmp2', sk: 'b' }, { pk: 'tmp', sk: 'a' }];
    const read = async (): Promise<{ many: (string | undefined)[]; single: (string | undefined)[] }> => {
      const dec = (v: Uint8Array | undefined) => (v === undefined ? undefined : new TextDecoder().decode(v));
      return { many: (await kv.getMany(keys)).map(dec), single: await Promise.all(keys.map(async (k) => dec(await kv.get(k.pk, k.sk)))) };
    };
    // Act + Assess: before, at and after the expiry time.
    const cases: { at: number; want: (string | undefined)[] }[] = [
      { at: now + 3_599_000, want: ['ta', 'ka', 'tb', 'ta'] },
      { at: now + 3_600_000, want: [undefined, 'ka', undefined, undefined] },
      { at: now + 86_400_000, want: [undefined, 'ka', undefined, undefined] },
    ];
    for (const c of cases) {
      now = c.at;
      const { many, single } = await read();
      assert.deepEqual(many, c.want, `getMany at +${c.at}`);
      assert.deepEqual(single, c.want, `get at +${c.at}`);
    }
  });

  it('charges what dynalite reports as consumed, and as many requests as the backend counts', async () => {
    // Prepare: items around the 4 KB read-unit boundary, plus absent keys.
    const ops = new OpTotals();
    const table = await freshTable(client);
    const inner = new DynamoKVStore({ client, table, counter: ops, retry: fastRetry });
    const ledger = new UsageLedger();
    const kv = meteredKVStore(inner, ledger);
    // dynamoItemBytes('t/ix/1', sk, n) = 2 + 6 + 2 + 2 + 1 + n = 13 + n.
    const sizes = [10, 4096 - 13, 4096 - 12, 8192 - 13, 9000, 0];
    await inner.batchPut(sizes.map((n, i) => ({ pk: 't/ix/1', sk: `s${i}`, value: new Uint8Array(n).fill(1) })));
    const keys: KVKey[] = [...sizes.map((_, i) => ({ pk: 't/ix/1', sk: `s${i}` })), { pk: 't/ix/1', sk: 'no' }, { pk: 't/ix/2', sk: 'no' }, { pk: 't/ix/1', sk: 's1' }];
    // Act
    await kv.getMany!(keys);
    const direct = await client.send(
      new BatchGetItemCommand({
        RequestItems: { [table]: { Keys: keys.slice(0, 8).map((k) => ({ pk: { S: k.pk }, sk: { S: k.sk } })), ConsistentRead: true } },
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    // Assess: 1 + 1 + 2 + 2 + 3 + 1 for the items, 1 per absent key; the repeat is not read twice.
    const row = byOperation(ledger.rows()).find((r) => r.op === 'BatchGetItem');
    assert.equal(row?.capacityUnits, 12);
    assert.equal(row?.capacityUnits, direct.ConsumedCapacity?.[0]?.CapacityUnits, 'the units dynalite charged for the same keys');
    assert.equal(row?.items, 6);
    assert.equal(row?.requests, counted(ops, 'BatchGetItem').requests);
    assert.equal(row?.requests, 1);
  });
});

describe('DynamoKVStore.getMany under injected faults', () => {
  let proxy: FaultProxy;
  let direct: DynamoDBClient;
  let viaProxy: DynamoDBClient;
  before(async () => {
    const d = await dynamo();
    direct = d.client();
    proxy = await startFaultProxy(d.endpoint);
    viaProxy = d.client({ endpoint: proxy.endpoint, maxAttempts: 1 });
  });
  after(async () => {
    await proxy?.stop();
  });

  async function setup(retry = fastRetry): Promise<{ kv: DynamoKVStore; ops: OpTotals }> {
    proxy.clear();
    proxy.seen.clear();
    const table = await freshTable(direct);
    await new DynamoKVStore({ client: direct, table }).batchPut(Array.from({ length: 150 }, (_, i) => item('f', `k${i}`, `v${i}`)));
    const ops = new OpTotals();
    return { kv: new DynamoKVStore({ client: viaProxy, table, counter: ops, retry, concurrency: 1 }), ops };
  }
  const keys = Array.from({ length: 150 }, (_, i) => ({ pk: 'f', sk: `k${i}` }));

  it('retries throttled BatchGetItems and returns every value', async () => {
    // Prepare
    const { kv, ops } = await setup();
    proxy.inject({ kind: 'throttle' }, { op: 'BatchGetItem', times: 3 });
    // Act
    const got = await kv.getMany(keys);
    // Assess: two chunks (100 + 50) plus three throttled sends.
    assert.equal(proxy.seen.get('BatchGetItem'), 5);
    assert.equal(counted(ops, 'BatchGetItem').requests, 5);
    assert.deepEqual(got.map((v) => new TextDecoder().decode(v)), keys.map((_, i) => `v${i}`));
  });

  it('gives up with ThrottledError after the configured attempts, and wraps other failures', async () => {
    const { kv } = await setup({ attempts: 4, baseMs: 1, capMs: 2 });
    proxy.inject({ kind: 'throttle' }, { op: 'BatchGetItem', times: Infinity });
    await assert.rejects(kv.getMany(keys), (err: unknown) => err instanceof ThrottledError && /^getMany 150 keys: 100 keys still unread after 4 attempts/.test(err.message));
    assert.equal(proxy.seen.get('BatchGetItem'), 4, 'no further chunk starts after a failure');
    proxy.clear();
    proxy.seen.clear();
    proxy.inject({ kind: 'status', status: 500, type: 'InternalServerError' }, { op: 'BatchGetItem', times: 1 });
    await assert.rejects(kv.getMany(keys.slice(0, 3)), (err: unknown) => err instanceof BackendError && !(err instanceof ThrottledError) && /^getMany 3 keys: InternalServerError/.test(err.message));
    assert.equal(proxy.seen.get('BatchGetItem'), 1);
    // Once the fault clears, the same store works.
    assert.deepEqual(await kv.getMany(keys.slice(0, 1)), [text('v0')]);
  });
});
