import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Counter } from 'prom-client';
import { MemBucket } from '../../../lib/objstore/mem.ts';
import { MemKVStore } from '../../../lib/kvstore/mem.ts';
import { Storage, newSeriesEntry } from '../../../lib/tsdb/db.ts';
import { labelsFromPairs } from '../../../lib/labels/labels.ts';
import { createMetricsRegistry } from '../../../lib/server/metrics.ts';
import {
  CostMetricNames,
  fanOut,
  meterStores,
  meteredBucket,
  meteredKVStore,
  tenantOfIndexKey,
  tenantOfObjectKey,
  TenantCostMetrics,
  UsageLedger,
  byOperation,
  diffRows,
  type LedgerRow,
} from '../../../lib/cost/index.ts';
import { AwsPrices } from '../../../lib/cost/prices.ts';
import { scopeOfIndexKey, type MeteredOp } from '../../../lib/cost/metered.ts';
import { DynamoBatchWriteItems, dynamoItemBytes, writeUnits } from '../../../lib/cost/model.ts';
import { TenantsPartition } from '../../../lib/tsdb/db.ts';
import type { KVItem } from '../../../lib/kvstore/kvstore.ts';
import { prng } from '../../helpers/prng.ts';

/** Value of one series of a counter (0 when absent). */
async function counterValue(c: Counter<string>, labels: Record<string, string>): Promise<number> {
  const { values } = await c.get();
  const hit = values.find((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want));
  return hit?.value ?? 0;
}

/**
 * What a first write of `n` series (labels __name__, job, instance; one day)
 * costs in a fresh process, from the write path's documented steps
 * (lib/tsdb/appender.ts, lib/index/label-index.ts, lib/tsdb/db.ts): the tenant
 * registry item; the segment PUT; one BatchGetItem per 100 series (is it
 * indexed? 1 RRU per series);
 * one batch of postings (one item per label pair: __name__ and job with
 * the n ids, each instance with one), label names (3) and values
 * (__name__ and job: 1 each, instance: n); the week's postings token (1);
 * one batch of series records (n); one catalog item. All items are below
 * 1 KB (16 bytes per id, n <= 40), so 1 WRU each.
 */
function firstWriteCost(n: number) {
  const indexItems = 2 + n + 3 + (2 + n);
  const batches = [1, indexItems, 1, n, 1];
  const batchRequests = batches.reduce((s, k) => s + Math.ceil(k / 25), 0);
  const items = batches.reduce((s, k) => s + k, 0);
  const usd = (AwsPrices.s3.putClass.usd * 1) / 1000 + (AwsPrices.dynamodb.write.usd * items) / 1e6 + (AwsPrices.dynamodb.read.usd * n) / 1e6;
  return { putObject: 1, batchGets: Math.ceil(n / 100), batchRequests, items, usd };
}

async function writeSeries(storage: Storage, tenant: string, n: number, t: number): Promise<void> {
  const app = storage.tenant(tenant).appender();
  for (let i = 0; i < n; i++) app.append(newSeriesEntry(labelsFromPairs({ __name__: 'up', job: 'node', instance: `host-${i}` })), t, i);
  await app.commit();
}

describe('per-tenant cost attribution', () => {
  it('moves each tenant\'s metrics by what its write costs', async () => {
    // Prepare
    const registry = createMetricsRegistry({ defaultMetrics: false });
    const metrics = new TenantCostMetrics(registry);
    const ledger = new UsageLedger();
    const storage = new Storage(meterStores({ bucket: new MemBucket(), kv: new MemKVStore() }, fanOut(metrics, ledger)));
    const t = Date.now();
    const volumes = { small: 3, large: 40 };

    // Act
    await writeSeries(storage, 'small', volumes.small, t);
    await writeSeries(storage, 'large', volumes.large, t);

    // Assess
    for (const [tenant, n] of Object.entries(volumes)) {
      const want = firstWriteCost(n);
      const ops = (service: string, operation: string) => counterValue(metrics.operations, { tenant, service, operation });
      assert.equal(await ops('s3', 'PutObject'), want.putObject, `${tenant} PutObject`);
      assert.equal(await ops('dynamodb', 'GetItem'), 0, `${tenant} GetItem`);
      assert.equal(await ops('dynamodb', 'BatchGetItem'), want.batchGets, `${tenant} BatchGetItem`);
      assert.equal(await ops('dynamodb', 'BatchWriteItem'), want.batchRequests, `${tenant} BatchWriteItem`);
      assert.equal(await ops('dynamodb', 'Query'), 0, `${tenant} Query`);
      assert.equal(await counterValue(metrics.requestUnits, { tenant, kind: 'write' }), want.items, `${tenant} WRU`);
      assert.equal(await counterValue(metrics.requestUnits, { tenant, kind: 'read' }), n, `${tenant} RRU`);
      const usd = (await counterValue(metrics.cost, { tenant, component: 's3_requests' })) + (await counterValue(metrics.cost, { tenant, component: 'dynamodb_requests' }));
      assert.ok(Math.abs(usd - want.usd) < 1e-15, `${tenant} dollars: got ${usd}, want ${want.usd}`);
    }
    // Nothing was charged to no tenant, and the ledger agrees with the metrics.
    assert.equal(ledger.rows().filter((r) => r.tenant === '').length, 0);
    const totalBatch = byOperation(ledger.rows()).find((r) => r.op === 'BatchWriteItem');
    assert.equal(totalBatch?.requests, firstWriteCost(3).batchRequests + firstWriteCost(40).batchRequests);
    const text = await registry.metrics();
    assert.match(text, new RegExp(`${CostMetricNames.cost}\\{tenant="large",component="dynamodb_requests"\\}`));
  });

  it('charges later writes of known series the segment and one catalog item, of unknown ones one batched read', async () => {
    // Prepare
    const ledger = new UsageLedger();
    const storage = new Storage(meterStores({ bucket: new MemBucket(), kv: new MemKVStore() }, ledger));
    const t = Date.now();
    const entries = Array.from({ length: 10 }, (_, i) => newSeriesEntry(labelsFromPairs({ __name__: 'up', job: 'node', instance: `host-${i}` })));
    const write = async (at: number) => {
      const app = storage.tenant('a').appender();
      entries.forEach((e, i) => app.append(e, at, i));
      await app.commit();
    };
    await write(t);
    const afterFirst = ledger.rows();

    // Act: the same series (as the write cache hands them out) 15 s later, then unknown to this process
    await write(t + 15_000);
    const afterSecond = ledger.rows();
    const fresh = storage.tenant('a').appender();
    entries.forEach((e, i) => fresh.append(newSeriesEntry(e.labels), t + 30_000, i));
    await fresh.commit();

    // Assess: known series cost the segment and one catalog item; series the
    // process does not know cost one BatchGetItem per 100 and 1 RRU each (found indexed: nothing rewritten)
    const ops = (rows: LedgerRow[]) => byOperation(rows).map((r) => [r.op, r.requests, r.capacityUnits]);
    assert.deepEqual(ops(diffRows(afterSecond, afterFirst)), [
      ['BatchWriteItem', 1, 1],
      ['PutObject', 1, 0],
    ]);
    assert.deepEqual(ops(ledger.since(afterSecond)), [
      ['BatchGetItem', 1, 10],
      ['BatchWriteItem', 1, 1],
      ['PutObject', 1, 0],
    ]);
  });
});

describe('metering decorators', () => {
  const keyCases: { name: string; got: () => string; want: string }[] = [
    { name: 'object key of a tenant', got: () => tenantOfObjectKey('tenants/acme/segments/01H'), want: 'acme' },
    { name: 'listing of all tenants', got: () => tenantOfObjectKey('tenants/'), want: '' },
    { name: 'object outside tenants', got: () => tenantOfObjectKey('other/x'), want: '' },
    { name: 'index partition of a tenant', got: () => tenantOfIndexKey('acme/catalog', '000019723/01H'), want: 'acme' },
    { name: 'tenant registry item', got: () => tenantOfIndexKey('_tenants', 'acme'), want: 'acme' },
    { name: 'unprefixed partition', got: () => tenantOfIndexKey('leases', 'x'), want: '' },
  ];
  for (const c of keyCases) {
    it(`attributes ${c.name}`, () => {
      // Act / Assess
      assert.equal(c.got(), c.want);
    });
  }

  const listCases = [
    { keys: 2500, consume: Infinity, want: 3 },
    { keys: 2500, consume: 1000, want: 1 },
    { keys: 2500, consume: 1001, want: 2 },
    { keys: 0, consume: Infinity, want: 1 },
    { keys: 1000, consume: Infinity, want: 1 },
  ];
  for (const c of listCases) {
    it(`charges ${c.want} ListObjectsV2 for ${c.consume} of ${c.keys} keys`, async () => {
      // Prepare
      const inner = new MemBucket();
      for (let i = 0; i < c.keys; i++) await inner.put(`tenants/x/o/${String(i).padStart(5, '0')}`, new Uint8Array(1));
      const ledger = new UsageLedger();
      const bucket = meteredBucket(inner, ledger);
      // Act
      let seen = 0;
      for await (const _ of bucket.iter('tenants/x/')) if (++seen >= c.consume) break;
      // Assess
      const row = ledger.rows().find((r) => r.op === 'ListObjectsV2');
      assert.equal(row?.requests, c.want);
      assert.equal(row?.tenant, 'x');
    });
  }

  it('charges a Query per 1 MB page and read units per page', async () => {
    // Prepare: 5 items of 300,000 value bytes: pages of 3 and 2 items
    const inner = new MemKVStore();
    const value = new Uint8Array(300_000);
    await inner.batchPut([1, 2, 3, 4, 5].map((i) => ({ pk: 't/p', sk: `k${i}`, value })));
    const ledger = new UsageLedger();
    const kv = meteredKVStore(inner, ledger);
    // Act
    let n = 0;
    for await (const _ of kv.query('t/p')) n++;
    // Assess
    const item = 2 + 3 + 2 + 2 + 1 + 300_000;
    const row = ledger.rows().find((r) => r.op === 'Query')!;
    assert.equal(n, 5);
    assert.equal(row.requests, 2);
    assert.equal(row.capacityUnits, Math.ceil((3 * item) / 4096) + Math.ceil((2 * item) / 4096));
  });

  it('charges conditional puts whether or not they write, and deletes by the size of the item (1 WRU when unseen or small) per distinct key', async () => {
    // Prepare
    const ledger = new UsageLedger();
    const kv = meteredKVStore(new MemKVStore(), ledger);
    const big = new Uint8Array(2000);
    // Act
    assert.equal(await kv.putIfAbsent({ pk: 't/l', sk: 'a', value: big }), true);
    assert.equal(await kv.putIfAbsent({ pk: 't/l', sk: 'a', value: big }), false);
    await kv.batchDelete([{ pk: 't/l', sk: 'a' }, { pk: 't/l', sk: 'a' }, { pk: 't/l', sk: 'b' }]);
    // Assess
    // 'a' (2010 bytes: 2 WRU, as DynamoDB charges a delete by the deleted item's size), 'b' (absent, unseen: 1).
    const rows = Object.fromEntries(ledger.rows().map((r) => [r.op, [r.requests, r.capacityUnits]]));
    assert.deepEqual(rows, { PutItem: [2, 4], BatchWriteItem: [1, 3] });
  });

  it('charges the delete of an item seen only by a read (a tombstone) by its size', async () => {
    // Prepare: a 60 KB item written around the meter, then read through it.
    const inner = new MemKVStore();
    await inner.batchPut([{ pk: 't/deletions', sk: 'x', value: new Uint8Array(60_000) }, { pk: 't/deletions', sk: 'y', value: new Uint8Array(10) }]);
    const ledger = new UsageLedger();
    const kv = meteredKVStore(inner, ledger);
    for await (const _ of kv.query('t/deletions')) void _;
    const before = ledger.rows();
    // Act
    await kv.batchDelete([{ pk: 't/deletions', sk: 'x' }, { pk: 't/deletions', sk: 'y' }]);
    // Assess
    const del = diffRows(ledger.rows(), before).find((r) => r.op === 'BatchWriteItem')!;
    assert.equal(del.capacityUnits, Math.ceil((2 + 11 + 2 + 1 + 1 + 60_000) / 1024) + 1);
  });
});

describe('batch write metering per partition', () => {
  it('charges random batches exactly as per-item sums of tenant, scope, item bytes and units', async () => {
    // Prepare: a partition's tenant, scope and key length are worked out
    // once per batch (lib/cost/metered.ts #groups); the tenants partition
    // names its tenant in the sort key, so it must not share that memo.
    const rnd = prng(11);
    const pks = ['a/ix/w1/p/job=x', 'a/ix/w1/names', 'a/catalog', 'b/ix/w1/p/job=y', 'b/ix/w1/values/\u00e9t\u00e9', TenantsPartition];
    for (let round = 0; round < 60; round++) {
      const ops: MeteredOp[] = [];
      const kv = meteredKVStore(new MemKVStore(), { record: (op) => ops.push(op) });
      const items = new Map<string, KVItem>();
      const n = 1 + Math.floor(rnd() * 80);
      for (let i = 0; i < n; i++) {
        const pk = pks[Math.floor(rnd() * pks.length)]!;
        const sk = pk === TenantsPartition ? ['a', 'b', 'c'][Math.floor(rnd() * 3)]! : `s${Math.floor(rnd() * 50)}\u00fc`;
        items.set(`${pk}\u0000${sk}`, { pk, sk, value: new Uint8Array(rnd() < 0.2 ? 1000 + Math.floor(rnd() * 3000) : 1) });
      }
      const batch = [...items.values()];
      const want = new Map<string, { items: number; units: number; bytes: number }>();
      const perTenant = new Map<string, number>();
      for (const it of batch) {
        const key = `${tenantOfIndexKey(it.pk, it.sk)}\u0000${scopeOfIndexKey(it.pk)}`;
        const g = want.get(key) ?? { items: 0, units: 0, bytes: 0 };
        const bytes = dynamoItemBytes(it.pk, it.sk, it.value.length);
        g.items++;
        g.units += writeUnits(bytes);
        g.bytes += bytes;
        want.set(key, g);
        perTenant.set(tenantOfIndexKey(it.pk, it.sk), (perTenant.get(tenantOfIndexKey(it.pk, it.sk)) ?? 0) + 1);
      }

      // Act
      await kv.batchPut(batch);
      const puts = ops.splice(0);
      await kv.batchDelete(batch.map(({ pk, sk }) => ({ pk, sk })));

      // Assess: one op per (tenant, scope) with the per-item sums; deletes
      // charged by the sizes the puts remembered (the same units).
      const got = new Map(puts.map((o) => [`${o.tenant}\u0000${o.scope}`, { items: o.items, units: o.capacityUnits, bytes: o.bytes }]));
      assert.deepEqual(new Map([...got].sort()), new Map([...want].sort()));
      for (const o of puts) {
        const t = perTenant.get(o.tenant)!;
        assert.equal(o.requests, (Math.ceil(t / DynamoBatchWriteItems) * o.items) / t);
      }
      const delUnits = Object.fromEntries(ops.map((o) => [`${o.tenant}\u0000${o.scope}`, o.capacityUnits]));
      assert.deepEqual(delUnits, Object.fromEntries([...want].map(([k, g]) => [k, g.units])));
    }
  });
});
