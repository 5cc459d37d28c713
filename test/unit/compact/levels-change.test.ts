/**
 * Compaction levels are known by their window size, so data compacted under
 * other levels (the earlier defaults, 2 h and 1 d) is merged and downsampled
 * correctly after the levels change: a 1 d block stored as level 2 is the
 * day block of the new top level, and late data joins it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Compactor } from '../../../lib/compact/compactor.ts';
import { DefaultLevels } from '../../../lib/compact/planner.ts';
import { Resolution } from '../../../lib/block/format.ts';
import { UlidFactory } from '../../../lib/tsdb/ulid.ts';
import { newSeriesEntry } from '../../../lib/tsdb/db.ts';
import { labelsFromPairs } from '../../../lib/labels/labels.ts';
import { Clock, D0, Day, Hour, Minute, Model, assertReadsModel, memStorage, storesOn, writeRequests, type Request } from './helpers.ts';

describe('changing the compaction levels', () => {
  it('1 d blocks of the old two levels take late data and are downsampled under the new defaults', async () => {
    // Prepare: two days, one sample a minute, compacted with the old levels into one 1 d block per day (stored level 2).
    const storage = memStorage();
    const db = storage.tenant('t');
    const model = new Model();
    const s = newSeriesEntry(labelsFromPairs({ __name__: 'old_layout', job: 'x' }));
    const reqs: Request[] = [];
    for (let h = 0; h < 48; h++) reqs.push(Array.from({ length: 60 }, (_, m): [typeof s, number, number] => [s, D0 - 2 * Day + h * Hour + m * Minute, h * 60 + m]));
    await writeRequests(db, reqs, model);
    const clock = new Clock(D0 + 2 * Hour);
    const ulids = new UlidFactory(clock.now);
    const old = [2 * Hour, Day].map((windowMs) => ({ windowMs, settleMs: Hour }));
    await new Compactor(storesOn(db, ulids), { now: clock.now, quality: 4, levels: old, deleteGraceMs: 0 }).run();
    const before = (await db.stores.catalog.all()).map((r) => r.entry);
    assert.deepEqual(
      before.map((e) => [e.kind, e.kind === 'block' ? [e.windowStart - D0, e.windowEnd - e.windowStart, e.level] : []]),
      [['block', [-2 * Day, Day, 2]], ['block', [-Day, Day, 2]]],
    );
    // Act: a late sample into the first day (rewriting one), then the new default levels with downsampling, two days on.
    await writeRequests(db, [[[s, D0 - 2 * Day + 5 * Hour + 30 * Minute, -1]]], model);
    clock.t = D0 + 2 * Day;
    const run = await new Compactor(storesOn(db, ulids), { now: clock.now, quality: 4, deleteGraceMs: 0, downsample: true }).run();
    // Assess: 10-min block, 2 h block, then the day block merged with the old one; both days downsampled.
    assert.equal(run.jobs, 3);
    const after = (await db.stores.catalog.all()).map((r) => r.entry).filter((e) => e.kind === 'block');
    const raw = after.filter((e) => e.resolution === 0).map((e) => [e.windowStart - D0, e.windowEnd - e.windowStart, e.level]);
    assert.deepEqual(raw.sort((a, b) => a[0]! - b[0]!), [[-2 * Day, Day, DefaultLevels.length], [-Day, Day, 2]]);
    const five = after.filter((e) => e.resolution === Resolution.FIVE_MINUTES).map((e) => e.windowStart - D0);
    assert.deepEqual(five.sort((a, b) => a - b), [-2 * Day, -Day]);
    await assertReadsModel(db, model, 'after the levels changed');
  });
});
