/**
 * RunCatalog: a compaction run reads the whole catalog once and reuses it
 * until it changes the catalog itself (lib/compact/run-catalog.ts).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Compactor } from '../../../lib/compact/compactor.ts';
import { RunCatalog } from '../../../lib/compact/run-catalog.ts';
import { MemKVStore } from '../../../lib/kvstore/mem.ts';
import { MemBucket } from '../../../lib/objstore/mem.ts';
import type { KVStore } from '../../../lib/kvstore/kvstore.ts';
import { observedKV } from '../../helpers/observed-kv.ts';
import type { SegmentEntry } from '../../../lib/catalog/catalog.ts';
import { Storage, newSeriesEntry } from '../../../lib/tsdb/db.ts';
import { UlidFactory } from '../../../lib/tsdb/ulid.ts';
import { labelsFromPairs } from '../../../lib/labels/labels.ts';
import { Clock, D0, Day, Minute, Model, assertReadsModel, storesOn, writeRequests } from './helpers.ts';

/** The store with its catalog Queries counted. */
function counting(kv: KVStore): { kv: KVStore; catalogReads: () => number } {
  let n = 0;
  return { kv: observedKV(kv, { query: (pk) => void (pk.endsWith('catalog') && n++) }), catalogReads: () => n };
}

function segment(id: string, t: number): SegmentEntry {
  return { kind: 'segment', id, key: `segments/${id}`, size: 10, tableOffset: 0, tableLength: 1, minTime: t, maxTime: t, numSeries: 1, numSamples: 1 };
}

describe('RunCatalog', () => {
  it('reuses all() until add or remove, and reads again after reset()', async () => {
    const c = counting(new MemKVStore());
    const cat = new RunCatalog(c.kv);
    await cat.add(segment('S1', D0), [D0]);
    const a = await cat.all();
    const b = await cat.all();
    assert.deepEqual([a.length, b.length, c.catalogReads()], [1, 1, 1]);
    assert.notEqual(a, b, 'a fresh array each call');
    await cat.add(segment('S2', D0 + 1), [D0]);
    assert.deepEqual([(await cat.all()).map((r) => r.entry.id), c.catalogReads()], [['S1', 'S2'], 2]);
    await cat.remove('S1', [D0]);
    assert.deepEqual([(await cat.all()).map((r) => r.entry.id), c.catalogReads()], [['S2'], 3]);
    // A writer elsewhere (another Catalog on the store) is seen after reset().
    await new RunCatalog(c.kv).add(segment('S3', D0 + 2), [D0]);
    assert.equal((await cat.all()).length, 1);
    cat.reset();
    assert.deepEqual([(await cat.all()).map((r) => r.entry.id), c.catalogReads()], [['S2', 'S3'], 4]);
  });

  it('a scheduled run with nothing to do reads the catalog once; one with a job, once per planning pass', async () => {
    // Prepare: 20 minutes of one series, downsampling and retention on.
    const c = counting(new MemKVStore());
    const db = new Storage({ bucket: new MemBucket(), kv: c.kv }).tenant('t');
    const model = new Model();
    const s = newSeriesEntry(labelsFromPairs({ __name__: 'up' }));
    await writeRequests(db, Array.from({ length: 20 }, (_, m): [typeof s, number, number][] => [[s, D0 + m * Minute, m]]), model);
    const clock = new Clock(D0 + 16 * Minute);
    const ulids = new UlidFactory(clock.now);
    const compactor = new Compactor(storesOn(db, ulids), { now: clock.now, quality: 4, downsample: true, retention: { raw: 400 * Day, fiveMinutes: 0, oneHour: 0 } });
    const reads = async () => {
      const before = c.catalogReads();
      const run = await compactor.run();
      return [run.jobs, c.catalogReads() - before];
    };
    // Act / Assess: the first window's job (a pass with it, a pass finding nothing), then an idle run.
    assert.deepEqual(await reads(), [1, 2]);
    assert.deepEqual(await reads(), [0, 1]);
    await assertReadsModel(db, model, 'after the runs');
  });
});
