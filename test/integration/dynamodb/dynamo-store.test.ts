/**
 * DynamoKVStore against dynalite on loopback: the shared KVStore acceptance
 * suite, request counting and paging, ensureTable, and our own retry logic
 * under faults injected by a proxy (the SDK client makes one attempt there,
 * so every retry seen is ours).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { DynamoKVStore, type DynamoKVStoreOptions } from '../../../lib/kvstore/dynamodb/dynamo-store.ts';
import { TableSchemaError, ensureTable } from '../../../lib/kvstore/dynamodb/ensure-table.ts';
import { OpTotals } from '../../../lib/storage/ops.ts';
import { BackendError, ThrottledError } from '../../../lib/util/errors.ts';
import { kvStoreAcceptance } from '../../conformance/kvstore.ts';
import { collect } from '../../conformance/helpers.ts';
import { counted, fastRetry, item, sharedDynalite, text } from './kv-helpers.ts';
import { prefixedKVStore } from '../../../lib/kvstore/prefixed.ts';
import { labelIndexExpiry } from '../../../lib/index/expiry.ts';
import { IndexKeys } from '../../../lib/index/keys.ts';
import { LabelIndex } from '../../../lib/index/label-index.ts';
import { commitSk, encodePostingsValues, IdsPerItem } from '../../../lib/index/postings-items.ts';
import { tenantIndexPrefix } from '../../../lib/tsdb/db.ts';
import { prng } from '../../helpers/prng.ts';
import { startFaultProxy, type FaultProxy } from './fault-proxy.ts';

const { dynamo, freshTable } = sharedDynalite('kv-test');

kvStoreAcceptance('DynamoKVStore on dynalite', async () => {
  const d = await dynamo();
  const client = d.client();
  const table = await freshTable(client);
  return {
    store: new DynamoKVStore({ client, table, retry: fastRetry }),
    cleanup: async () => {
      await client.send(new DeleteTableCommand({ TableName: table }));
    },
  };
});

describe('DynamoKVStore: requests, paging and values', () => {
  let client: DynamoDBClient;
  before(async () => {
    client = (await dynamo()).client();
  });

  async function store(extra: Partial<DynamoKVStoreOptions> = {}): Promise<{ kv: DynamoKVStore; ops: OpTotals }> {
    const ops = new OpTotals();
    const kv = new DynamoKVStore({ client, table: await freshTable(client), counter: ops, retry: fastRetry, ...extra });
    return { kv, ops };
  }

  it('splits batches into BatchWriteItems of 25 and counts the items in each', async () => {
    // Prepare
    const { kv, ops } = await store({ concurrency: 2 });
    const items = Array.from({ length: 61 }, (_, i) => item('p', `k${String(i).padStart(3, '0')}`, `v${i}`));
    // Act
    await kv.batchPut(items);
    // Assess: 25 + 25 + 11.
    assert.deepEqual(counted(ops, 'BatchWriteItem'), { requests: 3, units: 61 });
    const got = await collect(kv.query('p'));
    assert.deepEqual(got.map((i) => i.sk), items.map((i) => i.sk));
    // Deletes dedupe keys before batching (DynamoDB rejects repeats in one request).
    const keys = items.map(({ pk, sk }) => ({ pk, sk }));
    await kv.batchDelete([...keys, ...keys.slice(0, 30)]);
    assert.deepEqual(counted(ops, 'BatchWriteItem'), { requests: 6, units: 122 });
    assert.deepEqual(await collect(kv.query('p')), []);
  });

  it('pages through query results of more than 1 MB, forwards and backwards, with limits', async () => {
    // Prepare: 60 items of 40 KiB, 2.4 MB in all.
    const { kv, ops } = await store();
    const value = new Uint8Array(40 * 1024).map((_, i) => i % 251);
    const sk = (i: number): string => `s${String(i).padStart(3, '0')}`;
    await kv.batchPut(Array.from({ length: 60 }, (_, i) => ({ pk: 'big', sk: sk(i), value })));
    // Act
    const forward = await collect(kv.query('big'));
    const forwardQueries = counted(ops, 'Query').requests;
    const backward = await collect(kv.query('big', { reverse: true, start: sk(5) }));
    const limited = await collect(kv.query('big', { limit: 40 }));
    // Assess
    assert.deepEqual(forward.map((i) => i.sk), Array.from({ length: 60 }, (_, i) => sk(i)));
    assert.ok(forward.every((i) => i.pk === 'big' && Buffer.from(i.value).equals(value)));
    assert.ok(forwardQueries >= 3, `a 2.4 MB partition takes at least three 1 MB pages, took ${forwardQueries}`);
    assert.deepEqual(backward.map((i) => i.sk), Array.from({ length: 55 }, (_, i) => sk(59 - i)));
    assert.deepEqual(limited.map((i) => i.sk), Array.from({ length: 40 }, (_, i) => sk(i)));
  });

  it('counts one request per call, and none for queries that cannot match', async () => {
    const { kv, ops } = await store();
    await kv.batchPut([item('p', 'a', '1')]);
    assert.equal(await kv.putIfAbsent(item('p', 'a', '2')), false);
    assert.equal(await kv.putIfAbsent(item('p', 'b', '2')), true);
    assert.deepEqual(await kv.get('p', 'a'), text('1'));
    assert.equal(await kv.get('p', 'zz'), undefined);
    await kv.batchDelete([]);
    await kv.batchPut([]);
    for (const opts of [{ limit: 0 }, { start: 'b', end: 'a' }, { end: '' }]) {
      assert.deepEqual(await collect(kv.query('p', opts)), [], JSON.stringify(opts));
    }
    assert.deepEqual(
      Object.fromEntries(ops.totals),
      {
        'dynamodb:BatchWriteItem': { requests: 1, units: 1 },
        'dynamodb:PutItem': { requests: 2, units: 2 },
        'dynamodb:GetItem': { requests: 2, units: 2 },
      },
    );
  });

  it('takes postings items of IdsPerItem ids, 25 in one batch, under the longest pair key, with expiry; the label index reads their union', async () => {
    // Prepare: 25 commits of a full item each (6.5 MB, one BatchWriteItem),
    // in a tenant's partition of a pair whose key is shortened to its longest form.
    const { kv, ops } = await store({ expiry: labelIndexExpiry() });
    const week = 20_003;
    const value = 'v'.repeat(600);
    const tenantKv = prefixedKVStore(kv, tenantIndexPrefix('tenant-with-a-long-name-'.repeat(2)));
    const rnd = prng(7);
    const all: string[] = [];
    const items = Array.from({ length: 25 }, (_, c) => {
      const ids = Array.from({ length: IdsPerItem }, () => Array.from({ length: 32 }, () => '0123456789abcdef'[Math.floor(rnd() * 16)]).join('')).sort();
      all.push(...ids);
      return { pk: IndexKeys.postings(week, 'label_name_'.repeat(20), value), sk: `${commitSk()}.${c}`, value: encodePostingsValues(ids)[0]! };
    });
    // Act
    await tenantKv.batchPut(items);
    const got = await new LabelIndex(tenantKv).postings(week, 'label_name_'.repeat(20), value);
    // Assess
    assert.equal(counted(ops, 'BatchWriteItem').requests, 1);
    assert.ok(counted(ops, 'Query').requests >= 7, 'a 6.5 MB partition is read in 1 MB pages');
    assert.deepEqual(got, [...new Set(all)].sort());
  });

  it('returns plain Uint8Arrays that own their memory, not views into a shared pool', async () => {
    const { kv } = await store();
    const sizes = [0, 1, 7, 100, 4095, 4096, 10_000];
    await kv.batchPut(sizes.map((n) => ({ pk: 'v', sk: String(n), value: new Uint8Array(n).fill(n & 0xff) })));
    const got = [
      ...(await Promise.all(sizes.map((n) => kv.get('v', String(n))))).map((v) => v!),
      ...(await collect(kv.query('v'))).map((i) => i.value),
    ];
    for (const v of got) {
      assert.equal(Object.getPrototypeOf(v), Uint8Array.prototype);
      assert.equal(v.byteOffset, 0);
      assert.equal(v.buffer.byteLength, v.byteLength, `a value of ${v.length} bytes sits in a larger buffer`);
    }
  });

  it('wraps a missing table as BackendError naming the call', async () => {
    const kv = new DynamoKVStore({ client, table: 'no-such-table', retry: fastRetry });
    const cases: { name: string; run: () => Promise<unknown>; message: RegExp }[] = [
      { name: 'get', run: () => kv.get('p', 's'), message: /^get \(p, s\): ResourceNotFoundException/ },
      { name: 'query', run: () => collect(kv.query('p')), message: /^query p: ResourceNotFoundException/ },
      { name: 'batchPut', run: () => kv.batchPut([item('p', 's', 'v')]), message: /^batchPut 1 items: / },
      { name: 'putIfAbsent', run: () => kv.putIfAbsent(item('p', 's', 'v')), message: /^putIfAbsent \(p, s\): / },
      { name: 'batchDelete', run: () => kv.batchDelete([{ pk: 'p', sk: 's' }]), message: /^batchDelete 1 keys: / },
    ];
    for (const c of cases) {
      await assert.rejects(c.run(), (err: unknown) => {
        assert.ok(err instanceof BackendError && !(err instanceof ThrottledError), c.name);
        assert.match(err.message, c.message);
        assert.ok(err.cause instanceof Error);
        return true;
      });
    }
  });
});

describe('ensureTable', () => {
  let client: DynamoDBClient;
  before(async () => {
    client = (await dynamo()).client();
  });

  it('creates a missing table once, with the store schema, and is idempotent under races', async () => {
    await Promise.all([1, 2, 3].map(() => ensureTable(client, 'ensure-race')));
    await ensureTable(client, 'ensure-race');
    const t = (await client.send(new DescribeTableCommand({ TableName: 'ensure-race' }))).Table!;
    assert.equal(t.TableStatus, 'ACTIVE');
    assert.deepEqual(t.KeySchema, [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    assert.equal(t.BillingModeSummary?.BillingMode, 'PAY_PER_REQUEST');
    const kv = new DynamoKVStore({ client, table: 'ensure-race' });
    await kv.batchPut([item('p', 's', 'v')]);
    assert.deepEqual(await kv.get('p', 's'), text('v'));
  });

  it('rejects an existing table with other keys', async () => {
    await client.send(
      new CreateTableCommand({
        TableName: 'ensure-wrong',
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      }),
    );
    await assert.rejects(ensureTable(client, 'ensure-wrong'), TableSchemaError);
  });
});

describe('DynamoKVStore under injected faults', () => {
  let proxy: FaultProxy;
  let direct: DynamoDBClient;
  let viaProxy: DynamoDBClient;
  before(async () => {
    const d = await dynamo();
    direct = d.client();
    proxy = await startFaultProxy(d.endpoint);
    // One SDK attempt per send: every retry the proxy sees is ours.
    viaProxy = d.client({ endpoint: proxy.endpoint, maxAttempts: 1 });
  });
  after(async () => {
    await proxy?.stop();
  });

  async function setup(retry = fastRetry): Promise<{ kv: DynamoKVStore; check: DynamoKVStore; ops: OpTotals }> {
    proxy.clear();
    proxy.seen.clear();
    const table = await freshTable(direct);
    const ops = new OpTotals();
    return {
      kv: new DynamoKVStore({ client: viaProxy, table, counter: ops, retry }),
      check: new DynamoKVStore({ client: direct, table }),
      ops,
    };
  }

  const items = Array.from({ length: 30 }, (_, i) => item('f', `k${String(i).padStart(2, '0')}`, `v${i}`));

  it('retries throttled BatchWriteItems until every item is stored', async () => {
    // Prepare
    const { kv, check, ops } = await setup();
    proxy.inject({ kind: 'throttle' }, { op: 'BatchWriteItem', times: 3 });
    // Act
    await kv.batchPut(items);
    // Assess: two chunks (25 + 5) plus three throttled sends.
    assert.equal(proxy.seen.get('BatchWriteItem'), 5);
    assert.equal(counted(ops, 'BatchWriteItem').requests, 5);
    assert.deepEqual((await collect(check.query('f'))).map((i) => i.sk), items.map((i) => i.sk));
  });

  it('resends UnprocessedItems, which the proxy really withheld', async () => {
    // Prepare: the first request writes only 15 of its 25 items.
    const { kv, check, ops } = await setup();
    proxy.inject({ kind: 'unprocess', count: 10 }, { op: 'BatchWriteItem', times: 1 });
    // Act
    await kv.batchPut(items);
    // Assess
    assert.deepEqual(counted(ops, 'BatchWriteItem'), { requests: 3, units: 40 });
    const stored = await collect(check.query('f'));
    assert.deepEqual(stored.map((i) => i.sk), items.map((i) => i.sk));
    assert.ok(stored.every((s, i) => Buffer.from(s.value).equals(items[i].value)));
  });

  it('resends unprocessed deletes too', async () => {
    const { kv, check } = await setup();
    await check.batchPut(items);
    proxy.inject({ kind: 'unprocess', count: 20 }, { op: 'BatchWriteItem', times: 2 });
    await kv.batchDelete(items.map(({ pk, sk }) => ({ pk, sk })));
    assert.deepEqual(await collect(check.query('f')), []);
  });

  it('gives up with ThrottledError after the configured attempts', async () => {
    const { kv } = await setup({ attempts: 4, baseMs: 1, capMs: 2 });
    const cases: { name: string; op: string; fault: 'throttle' | 'unprocess'; run: () => Promise<unknown> }[] = [
      { name: 'get', op: 'GetItem', fault: 'throttle', run: () => kv.get('f', 'k00') },
      { name: 'query', op: 'Query', fault: 'throttle', run: () => collect(kv.query('f')) },
      { name: 'putIfAbsent', op: 'PutItem', fault: 'throttle', run: () => kv.putIfAbsent(items[0]) },
      {
        name: 'batchPut, throttled',
        op: 'BatchWriteItem',
        fault: 'throttle',
        run: () => kv.batchPut(items.slice(0, 5)),
      },
      {
        name: 'batchPut, always unprocessed',
        op: 'BatchWriteItem',
        fault: 'unprocess',
        run: () => kv.batchPut(items.slice(0, 5)),
      },
    ];
    for (const c of cases) {
      // Prepare
      proxy.clear();
      proxy.seen.clear();
      proxy.inject(c.fault === 'throttle' ? { kind: 'throttle' } : { kind: 'unprocess', count: 1 }, {
        op: c.op,
        times: Infinity,
      });
      // Act + Assess
      await assert.rejects(c.run(), ThrottledError, c.name);
      assert.equal(proxy.seen.get(c.op), 4, `${c.name}: attempts`);
    }
  });

  it('retries a throttled page in the middle of a query', async () => {
    // Prepare: three 1 MB pages; the second page request is throttled twice.
    const { kv, check, ops } = await setup();
    const value = new Uint8Array(100 * 1024).fill(5);
    const sk = (i: number): string => `s${String(i).padStart(2, '0')}`;
    await check.batchPut(Array.from({ length: 25 }, (_, i) => ({ pk: 'q', sk: sk(i), value })));
    const seen: string[] = [];
    // Act
    for await (const it of kv.query('q')) {
      seen.push(it.sk);
      if (seen.length === 1) proxy.inject({ kind: 'throttle' }, { op: 'Query', times: 2 });
    }
    // Assess
    assert.equal(seen.length, 25);
    assert.equal(new Set(seen).size, 25);
    assert.ok(counted(ops, 'Query').requests >= 5, 'three pages + two throttled sends');
  });

  it('putIfAbsent after a throttled attempt writes once and reports it', async () => {
    const { kv, check } = await setup();
    proxy.inject({ kind: 'throttle' }, { op: 'PutItem', times: 2 });
    assert.equal(await kv.putIfAbsent(item('p', 's', 'first')), true);
    assert.equal(await kv.putIfAbsent(item('p', 's', 'second')), false);
    assert.deepEqual(await check.get('p', 's'), text('first'));
  });

  const statuses: { status: number; type: string; error: typeof BackendError; sends: number }[] = [
    { status: 500, type: 'InternalServerError', error: BackendError, sends: 1 },
    { status: 503, type: 'ServiceUnavailable', error: ThrottledError, sends: 4 },
  ];
  for (const s of statuses) {
    it(`HTTP ${s.status} becomes ${s.error.name} (${s.sends} sends)`, async () => {
      const { kv, check } = await setup({ attempts: 4, baseMs: 1, capMs: 2 });
      proxy.inject({ kind: 'status', status: s.status, type: s.type }, { times: Infinity });
      await assert.rejects(kv.batchPut([item('p', 's', 'v')]), (err: unknown) => {
        assert.ok(err instanceof s.error, String(err));
        if (s.error === BackendError) assert.ok(!(err instanceof ThrottledError), 'not a throttle');
        return true;
      });
      assert.equal(proxy.seen.get('BatchWriteItem'), s.sends);
      await assert.rejects(kv.get('p', 's'), s.error);
      // Once the fault clears, the same store works.
      proxy.clear();
      await kv.batchPut([item('p', 's', 'v')]);
      assert.deepEqual(await check.get('p', 's'), text('v'));
    });
  }

  it("counts the SDK's own retries as requests", async () => {
    // Prepare: a client that retries 5xx itself.
    const d = await dynamo();
    const sdkRetrying = d.client({ endpoint: proxy.endpoint, maxAttempts: 3 });
    const table = await freshTable(direct);
    const ops = new OpTotals();
    const kv = new DynamoKVStore({ client: sdkRetrying, table, counter: ops, retry: fastRetry });
    proxy.clear();
    proxy.seen.clear();
    proxy.inject({ kind: 'status', status: 500, type: 'InternalServerError' }, { op: 'GetItem', times: 2 });
    // Act
    const got = await kv.get('p', 's');
    // Assess
    assert.equal(got, undefined);
    assert.equal(proxy.seen.get('GetItem'), 3);
    assert.deepEqual(counted(ops, 'GetItem'), { requests: 3, units: 3 });
  });
});
