/**
 * Tombstones (lib/compact/deletions.ts): one item per compaction job
 * (split below the item size limit), items of the old one-object format
 * still carried out, only catalog entries still present removed again,
 * catalog keys as the catalog writes them, and one GET per segment when
 * compaction reads its inputs.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemKVStore } from '../../../lib/kvstore/mem.ts';
import { MemBucket } from '../../../lib/objstore/mem.ts';
import { faultyBucket } from '../../../lib/objstore/faulty.ts';
import { Catalog, type BlockEntry, type Recorded } from '../../../lib/catalog/catalog.ts';
import { Deletions, DeletionsPartition, MaxTombstoneBytes, groupTombstones, removeFromCatalog, type Tombstone } from '../../../lib/compact/deletions.ts';
import { Compactor } from '../../../lib/compact/compactor.ts';
import { gather, readWholeSegment } from '../../../lib/compact/sources.ts';
import type { KVStore } from '../../../lib/kvstore/kvstore.ts';
import { CorruptionError } from '../../../lib/util/errors.ts';
import { Clock, D0, Day, Hour, Model, dataset, memStorage, storesOn, tombstoneCount, tombstoneItems, writeRequests } from './helpers.ts';
import { UlidFactory } from '../../../lib/tsdb/ulid.ts';

function block(id: string): BlockEntry {
  return { kind: 'block', key: `blocks/${id}`, id, size: 1, indexOffset: 0, indexLength: 1, windowStart: 0, windowEnd: 1, level: 1, resolution: 0, orderKey: id, numSources: 1, minTime: 0, maxTime: 0, numSeries: 1, numSamples: 1 } as unknown as BlockEntry;
}

/** Counts the keys each batchDelete names, per partition. */
function countDeletes(kv: KVStore, counts: Map<string, number>): KVStore {
  return new Proxy(kv, {
    get(target, prop, recv) {
      if (prop === 'batchDelete') {
        return async (keys: { pk: string; sk: string }[]) => {
          for (const k of keys) counts.set(k.pk, (counts.get(k.pk) ?? 0) + 1);
          await target.batchDelete(keys);
        };
      }
      const v = Reflect.get(target, prop, recv);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

describe('tombstones', () => {
  it('groups objects into items below the size limit, in order', () => {
    // Prepare
    const objs: Tombstone[] = Array.from({ length: 5000 }, (_, i) => ({ id: `01JAAAAAAAAAAAAAAAAAA${String(i).padStart(5, '0')}`, key: `segments/01JAAAAAAAAAAAAAAAAAA${String(i).padStart(5, '0')}`, buckets: [20_000, 20_001] }));
    const cases = [{ max: MaxTombstoneBytes }, { max: 10_000 }, { max: 1 }];
    for (const c of cases) {
      // Act
      const groups = groupTombstones(objs, c.max);
      // Assess
      assert.deepEqual(groups.flat(), objs, `max ${c.max}`);
      for (const g of groups) assert.ok(g.length === 1 || new TextEncoder().encode(JSON.stringify(g)).length <= c.max, `max ${c.max}`);
      if (c.max === MaxTombstoneBytes) assert.equal(groups.length, Math.ceil((JSON.stringify(objs).length) / MaxTombstoneBytes));
      if (c.max === 1) assert.equal(groups.length, objs.length);
    }
  });

  it('writes one item per call (split when large), removes only catalog entries still there, deletes the objects and itself', async () => {
    // Prepare: 4000 objects in the catalog, half already removed from it (as compaction does before the tombstone is due).
    const counts = new Map<string, number>();
    const kv = countDeletes(new MemKVStore(), counts);
    const bucket = new MemBucket();
    const catalog = new Catalog(kv);
    const recs: Recorded[] = [];
    for (let i = 0; i < 4000; i++) {
      const e = block(`01JBBBBBBBBBBBBBBBBBB${String(i).padStart(5, '0')}`);
      await bucket.put(e.key, new Uint8Array([i & 255]));
      await catalog.add(e, [20_000]);
      recs.push({ entry: e, buckets: [20_000] });
    }
    await removeFromCatalog(kv, recs.slice(0, 2000));
    const d = new Deletions(kv);
    // Act
    await d.schedule(recs.map((r) => ({ id: r.entry.id, key: r.entry.key, buckets: r.buckets })), 1000);
    const items = await d.pending();
    const deleted = await d.run(1000, bucket, catalog);
    // Assess
    const objs = recs.map((r) => ({ id: r.entry.id, key: r.entry.key, buckets: r.buckets }));
    assert.equal(items.length, groupTombstones(objs).length);
    assert.ok(items.length >= 2, 'split below the item size limit');
    assert.equal(items.reduce((n, p) => n + p.objects.length, 0), 4000);
    assert.equal(deleted, 4000);
    assert.equal(counts.get('catalog'), 2000 + 2000, 'the removal before, and only the 2000 entries still present');
    assert.deepEqual(await catalog.all(), []);
    const left: string[] = [];
    for await (const k of bucket.iter('')) left.push(k);
    assert.deepEqual(left, []);
    assert.deepEqual(await d.pending(), []);
  });

  it('pending(dueBy) reads only the items due by then; run() carries out those and leaves the rest', async () => {
    // Prepare: items due at 1000, 1000 (another job), 1001 and 5000.
    const kv = new MemKVStore();
    const d = new Deletions(kv);
    const bucket = new MemBucket();
    for (const [id, due] of [['a', 1000], ['b', 1000], ['c', 1001], ['e', 5000]] as const) {
      await bucket.put(`blocks/${id}`, new Uint8Array([1]));
      await d.schedule([{ id, key: `blocks/${id}`, buckets: [0] }], due);
    }
    // Act / Assess
    const ids = (ps: { objects: Tombstone[] }[]) => ps.flatMap((p) => p.objects.map((t) => t.id));
    assert.deepEqual(ids(await d.pending(999)), []);
    assert.deepEqual(ids(await d.pending(1000)), ['a', 'b']);
    assert.deepEqual(ids(await d.pending(4999)), ['a', 'b', 'c']);
    assert.deepEqual(ids(await d.pending()), ['a', 'b', 'c', 'e']);
    assert.equal(await d.run(1001, bucket, new Catalog(kv)), 3);
    assert.deepEqual(ids(await d.pending()), ['e']);
    const left: string[] = [];
    for await (const k of bucket.iter('')) left.push(k);
    assert.deepEqual(left, ['blocks/e']);
  });

  it('carries out items of the old one-object format', async () => {
    // Prepare: an item as written before grouping, and its object and catalog entry.
    const kv = new MemKVStore();
    const bucket = new MemBucket();
    const catalog = new Catalog(kv);
    const e = block('01JCCCCCCCCCCCCCCCCCCCCCCC');
    await bucket.put(e.key, new Uint8Array([1]));
    await catalog.add(e, [20_000, 20_001]);
    await kv.batchPut([{ pk: DeletionsPartition, sk: `${'5'.padStart(16, '0')}/${e.id}`, value: new TextEncoder().encode(JSON.stringify({ id: e.id, key: e.key, buckets: [20_000, 20_001] })) }]);
    const d = new Deletions(kv);
    // Act
    const pending = await d.pending();
    const n = await d.run(10, bucket, catalog);
    // Assess
    assert.deepEqual(pending.map((p) => p.objects.map((t) => t.key)), [[e.key]]);
    assert.equal(n, 1);
    assert.deepEqual(await catalog.all(), []);
    assert.equal(await bucket.exists(e.key), false);
  });

  it('one tombstone item per compaction job, naming every replaced input; each segment read with one GET', async () => {
    // Prepare
    const storage = memStorage();
    const db = storage.tenant('t');
    await writeRequests(db, dataset().requests, new Model());
    const clock = new Clock(D0 + 3 * Day);
    const ops: string[] = [];
    const s = storesOn(db, new UlidFactory(clock.now));
    const counted = { ...s, bucket: faultyBucket(s.bucket, { failOn: (op, key) => (ops.push(`${op} ${key}`), undefined) }) };
    const segments = (await s.catalog.all()).filter((r) => r.entry.kind === 'segment').length;
    // Act: grace of an hour, so the tombstones are still pending after the run.
    const run = await new Compactor(counted, { now: clock.now, deleteGraceMs: Hour }).run({ force: true });
    // Assess
    assert.ok(run.jobs >= 5, JSON.stringify(run));
    assert.equal(await tombstoneItems(s), run.jobs);
    assert.equal(await tombstoneCount(s), run.inputsReplaced);
    const segmentReads = ops.filter((o) => /^(get|getRange) (tenants\/t\/)?segments\//.test(o));
    // Every segment is read whole (a segment straddling two windows is an input of two jobs).
    assert.equal(new Set(segmentReads).size, segments);
    assert.ok(segmentReads.every((o) => o.startsWith('get ')), 'no ranged reads of segments');
    assert.ok(segmentReads.length < segments * 1.25, `${segmentReads.length} reads of ${segments} segments`);
  });

  it('rejects a whole segment that does not match its catalog entry or its CRC', async () => {
    // Prepare
    const storage = memStorage();
    const db = storage.tenant('t');
    await writeRequests(db, dataset().requests.slice(0, 2), new Model());
    const [r] = (await db.stores.catalog.all()).filter((x) => x.entry.kind === 'segment');
    assert.ok(r !== undefined && r.entry.kind === 'segment');
    const seg = r.entry;
    const good = await db.stores.bucket.get(r.entry.key);
    const cases: { what: string; bytes: Uint8Array }[] = [
      { what: 'shorter', bytes: good.subarray(0, good.length - 1) },
      { what: 'a table byte flipped', bytes: Uint8Array.from(good, (b, i) => (i === seg.tableOffset + 3 ? b ^ 1 : b)) },
      { what: 'a data byte flipped', bytes: Uint8Array.from(good, (b, i) => (i === 9 ? b ^ 1 : b)) },
    ];
    for (const c of cases) {
      await db.stores.bucket.put(r.entry.key, c.bytes);
      // Act / Assess: table checks in readWholeSegment, chunk CRCs in gather.
      await assert.rejects(async () => {
        await readWholeSegment(db.stores.bucket, r.entry as never);
        await gather(db.stores.bucket, r.entry, 0, new Map());
      }, CorruptionError, c.what);
    }
    await db.stores.bucket.put(r.entry.key, good);
    const out = new Map();
    await gather(db.stores.bucket, r.entry, 0, out);
    assert.ok(out.size > 0);
  });

  it('reads a job\'s segments up to 4 ahead, and the blocks read back equal the writes', async () => {
    // Prepare: a bucket whose GETs take 2 ms, tracking how many are in flight.
    const storage = memStorage();
    const db = storage.tenant('t');
    const model = new Model();
    await writeRequests(db, dataset().requests, model);
    const clock = new Clock(D0 + 3 * Day);
    const s = storesOn(db, new UlidFactory(clock.now));
    let inFlight = 0;
    let most = 0;
    const slow = new Proxy(s.bucket, {
      get(target, prop, recv) {
        if (prop === 'get') {
          return async (key: string) => {
            most = Math.max(most, ++inFlight);
            try {
              await new Promise((r) => setTimeout(r, 2));
              return await target.get(key);
            } finally {
              inFlight--;
            }
          };
        }
        const v = Reflect.get(target, prop, recv);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    // Act
    const run = await new Compactor({ ...s, bucket: slow }, { now: clock.now, deleteGraceMs: 0 }).run({ force: true });
    // Assess
    assert.ok(run.jobs > 0);
    assert.ok(most > 1 && most <= 4, `${most} GETs in flight at most`);
    const { assertReadsModel } = await import('./helpers.ts');
    await assertReadsModel(db, model, 'after compaction with read-ahead');
  });
});
