/**
 * The compactor over in-memory storage: reads are bit-identical to the
 * model (the later write wins) before compaction, after a partial run,
 * after a forced run, and after late data is added and compacted again;
 * replaced objects go only after the grace period; labels that travelled
 * only in an earlier segment still come out.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Compactor } from '../../../lib/compact/compactor.ts';
import { UlidFactory } from '../../../lib/tsdb/ulid.ts';
import { readSegmentTable } from '../../../lib/segment/reader.ts';
import { newSeriesEntry } from '../../../lib/tsdb/db.ts';
import { labelsFromPairs } from '../../../lib/labels/labels.ts';
import type { SegmentEntry } from '../../../lib/catalog/catalog.ts';
import {
  Clock,
  D0,
  Day,
  Hour,
  MaxT,
  Minute,
  Model,
  Stale,
  assertReadsModel,
  catalogState,
  dataset,
  dump,
  hexBits,
  memStorage,
  objectKeys,
  storesOn,
  tombstoneCount,
  writeRequests,
  type Request,
} from './helpers.ts';

const Grace = Hour;
/** Levels of 2 h and 1 d settling for an hour (the defaults before 10-min blocks); the cases counting jobs per window use them. */
const TwoHourLevels = [2 * Hour, Day].map((windowMs) => ({ windowMs, settleMs: Hour }));

describe('compactor', () => {
  it('keeps the stale marker bits through the test helpers', () => {
    assert.equal(hexBits(Stale), '7ff0000000000002');
  });

  it('reads stay exact through partial, forced and late-data compactions, for several tenants', async () => {
    // Prepare: two tenants with different values.
    const storage = memStorage();
    const clock = new Clock(D0 + 13 * Hour);
    const ulids = new UlidFactory(clock.now);
    const tenants = ['alpha', 'beta'].map((name, variant) => ({ name, db: storage.tenant(name), model: new Model(), variant }));
    for (const t of tenants) await writeRequests(t.db, dataset(t.variant).requests, t.model);
    const compact = (db: (typeof tenants)[number]['db'], force: boolean) => new Compactor(storesOn(db, ulids), { now: clock.now, quality: 4, deleteGraceMs: Grace }).run({ force });
    for (const t of tenants) await assertReadsModel(t.db, t.model, `${t.name} before`);

    // Act 1: a run at D0 + 13 h compacts the settled windows only.
    for (const t of tenants) {
      const run = await compact(t.db, false);
      // Assess
      assert.equal(run.leased, true);
      assert.ok(run.jobs >= 6, `${t.name}: ${run.jobs} jobs`);
      const st = await catalogState(t.db.stores);
      assert.ok(st.segments > 0 && st.blocks > 0, `${t.name}: both kinds remain (${JSON.stringify(st)})`);
      assert.deepEqual(st.missing, []);
      await assertReadsModel(t.db, t.model, `${t.name} after the partial run`);
    }

    // Act 2: a forced run compacts everything.
    for (const t of tenants) {
      const before = await objectKeys(t.db.stores);
      const run = await compact(t.db, true);
      // Assess
      assert.ok(run.jobs > 0 && run.blocksWritten > 0);
      const st = await catalogState(t.db.stores);
      assert.equal(st.segments, 0, `${t.name}: only blocks in the catalog`);
      assert.deepEqual(st.missing, []);
      await assertReadsModel(t.db, t.model, `${t.name} after force`);
      // Replaced objects stay during the grace period.
      const after = await objectKeys(t.db.stores);
      for (const k of before) assert.ok(after.includes(k), `${t.name}: ${k} kept during the grace period`);
      assert.ok((await tombstoneCount(t.db.stores)) > 0);
    }

    // Act 3: past the grace period, a run deletes the replaced objects.
    clock.t += Grace + 1;
    for (const t of tenants) {
      const run = await compact(t.db, false);
      // Assess
      assert.equal(run.jobs, 0);
      assert.ok(run.objectsDeleted > 0);
      const st = await catalogState(t.db.stores);
      assert.deepEqual(await objectKeys(t.db.stores), st.keys, `${t.name}: the bucket holds exactly the catalog's objects`);
      assert.equal(await tombstoneCount(t.db.stores), 0);
      await assertReadsModel(t.db, t.model, `${t.name} after deletions`);
    }

    // Act 4: late data (into compacted windows and days, rewriting block samples) and another forced run.
    for (const t of tenants) {
      const { series } = dataset(t.variant);
      const late: Request[] = [
        [
          [series[0]!, D0 + 2 * Hour + 10 * Minute, -5], // rewrites a sample now in a block
          [series[0]!, D0 + 2 * Hour + 11 * Minute, 5],
          [series[2]!, D0 - 30 * Minute, Stale],
        ],
        [
          [series[1]!, D0 + 26 * Hour, 77],
          [series[4]!, D0 + 27 * Hour + 1, -0],
        ],
      ];
      await writeRequests(t.db, late, t.model);
      await assertReadsModel(t.db, t.model, `${t.name} with late data`);
      const run = await compact(t.db, true);
      // Assess
      assert.ok(run.jobs >= 2);
      const st = await catalogState(t.db.stores);
      assert.equal(st.segments, 0);
      await assertReadsModel(t.db, t.model, `${t.name} after compacting late data`);
    }
    clock.t += Grace + 1;
    for (const t of tenants) {
      await compact(t.db, true);
      assert.deepEqual(await objectKeys(t.db.stores), (await catalogState(t.db.stores)).keys);
      await assertReadsModel(t.db, t.model, `${t.name} at the end`);
    }
  });

  it('merges late segments into an existing level-1 block of their window (vertical compaction)', async () => {
    // Prepare: one window compacted at level 1 while its day is not settled.
    const storage = memStorage();
    const db = storage.tenant('t');
    const model = new Model();
    const clock = new Clock(D0 + 4 * Hour);
    const ulids = new UlidFactory(clock.now);
    const s = newSeriesEntry(labelsFromPairs({ __name__: 'v' }));
    await writeRequests(db, [[[s, D0 + Hour, 1], [s, D0 + Hour + Minute, 2]]], model);
    const c = () => new Compactor(storesOn(db, ulids), { now: clock.now, quality: 4, levels: TwoHourLevels });
    let run = await c().run();
    assert.equal(run.jobs, 1);
    let all = await db.stores.catalog.all();
    assert.deepEqual(all.map((r) => [r.entry.kind, r.entry.kind === 'block' ? r.entry.level : 0]), [['block', 1]]);
    // Act: late data into that window, rewriting one sample.
    await writeRequests(db, [[[s, D0 + Hour + Minute, 3], [s, D0 + Hour + 30 * Minute, 4]]], model);
    run = await c().run();
    // Assess: one level-1 block for the window, made from the old block and the segment.
    assert.equal(run.jobs, 1);
    assert.equal(run.inputsReplaced, 2);
    all = await db.stores.catalog.all();
    assert.equal(all.length, 1);
    const b = all[0]!.entry;
    assert.ok(b.kind === 'block' && b.level === 1 && b.numSources === 2 && b.numSamples === 3 && b.windowStart === D0);
    await assertReadsModel(db, model, 'after vertical compaction');
  });

  it('takes labels from the label index when only an earlier segment carried them', async () => {
    // Prepare: the series' labels travel in the first segment only (same day).
    const storage = memStorage();
    const db = storage.tenant('t');
    const model = new Model();
    const s = newSeriesEntry(labelsFromPairs({ __name__: 'lonely', a: 'b' }));
    await writeRequests(db, [[[s, D0 + Hour, 1]], [[s, D0 + 5 * Hour, 2]]], model);
    const segs = (await db.stores.catalog.all()).map((r) => r.entry as SegmentEntry);
    const second = await readSegmentTable(db.stores.bucket, segs[1]!.key, segs[1]!);
    assert.equal(second.table.labelsAt(0).length, 0, 'the second segment carries the id only');
    const clock = new Clock(D0 + 6 * Hour); // only the first window is settled
    const ulids = new UlidFactory(clock.now);
    const c = () => new Compactor(storesOn(db, ulids), { now: clock.now, quality: 4, levels: TwoHourLevels });
    // Act: the first window, then (later) the second one alone.
    assert.equal((await c().run()).jobs, 1);
    clock.t = D0 + 8 * Hour;
    const run = await c().run();
    // Assess
    assert.equal(run.jobs, 1);
    assert.equal((await catalogState(db.stores)).segments, 0);
    await assertReadsModel(db, model, 'labels from the index');
  });

  it('keeps extreme timestamps (±(2^53-1)) exact in blocks', async () => {
    // Prepare: one request with samples at both ends of the time line.
    const storage = memStorage();
    const db = storage.tenant('t');
    const model = new Model();
    const s = newSeriesEntry(labelsFromPairs({ __name__: 'edge' }));
    await writeRequests(db, [[[s, -MaxT, 1], [s, -1, 2], [s, 0, 3], [s, MaxT, 4]], [[s, D0, 5]]], model);
    const before = await dump(db, -MaxT, MaxT);
    const clock = new Clock(D0 + 2 * Day);
    // Act
    await new Compactor(storesOn(db, new UlidFactory(clock.now)), { now: clock.now, quality: 4 }).run({ force: true });
    // Assess
    assert.equal((await catalogState(db.stores)).segments, 0);
    assert.deepEqual(await dump(db, -MaxT, MaxT), before);
    assert.deepEqual(before, model.lines(-MaxT, MaxT));
    assert.deepEqual(await dump(db, -MaxT, 0), model.lines(-MaxT, 0));
  });

  it(
    'keeps a series with a 2^54-2 ms gap exact in blocks',
    async () => {
      // Prepare: two samples at the two ends of the time line; the segment cuts them into two chunks.
      const storage = memStorage();
      const db = storage.tenant('t');
      const model = new Model();
      const s = newSeriesEntry(labelsFromPairs({ __name__: 'edge_wide' }));
      await writeRequests(db, [[[s, -MaxT, 1], [s, MaxT, 2]]], model);
      const clock = new Clock(D0);
      // Act: level 1 makes a block; each level above re-reads the one below (sources.ts) and makes another.
      const run = await new Compactor(storesOn(db, new UlidFactory(clock.now)), { now: clock.now, quality: 4 }).run({ force: true });
      // Assess
      assert.equal(run.jobs, 3);
      assert.deepEqual(await dump(db, -MaxT, MaxT), model.lines(-MaxT, MaxT));
    },
  );

  it('writes no block when every input sample is held by a newer object outside the job', async () => {
    // Prepare: S2 rewrites every sample of S1; a job of S1 alone with S2 as its shadow.
    const storage = memStorage();
    const db = storage.tenant('t');
    const model = new Model();
    const s = newSeriesEntry(labelsFromPairs({ __name__: 'rewritten' }));
    await writeRequests(db, [[[s, D0 + 2 * Hour, 1], [s, D0 + 2 * Hour + Minute, 2]], [[s, D0 + 2 * Hour - Minute, 3], [s, D0 + 2 * Hour, 4], [s, D0 + 2 * Hour + Minute, 5]]], model);
    const [s1, s2] = await db.stores.catalog.all();
    const before = await dump(db, -MaxT, MaxT);
    const clock = new Clock(D0 + Day);
    const c = new Compactor(storesOn(db, new UlidFactory(clock.now)), { now: clock.now, quality: 4 });
    // Act
    const written = await c.runJob({ level: 1, windowStart: D0 + 2 * Hour, windowEnd: D0 + 4 * Hour, inputs: [s1!], numSamples: 2, shadows: [s2!] });
    // Assess
    assert.equal(written, 0);
    const all = await db.stores.catalog.all();
    assert.deepEqual(all.map((r) => r.entry.id), [s2!.entry.id], 'S1 replaced by nothing');
    assert.deepEqual(await dump(db, -MaxT, MaxT), before);
    assert.deepEqual(before, model.lines(-MaxT, MaxT));
  });
});
