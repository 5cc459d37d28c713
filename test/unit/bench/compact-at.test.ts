/**
 * Tests of the benchmark's scheduled compaction (bench/lib/compact-at.ts):
 * the run at a given clock compacts exactly the first-level windows the
 * library's default levels have settled by then, leaves the rest in
 * segments, counts the catalog as a read sees it, and changes no sample.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { catalogCounts, compactAt } from '../../../bench/lib/compact-at.ts';
import { formatDuration } from '../../../lib/promql/parser/printer.ts';
import { START_MS } from '../../../bench/lib/payloads.ts';
import { DefaultLevels, windowOf } from '../../../lib/compact/planner.ts';
import { labelsFromPairs } from '../../../lib/labels/labels.ts';
import { newSeriesEntry } from '../../../lib/tsdb/db.ts';
import { dump, memStorage, Minute, Model, writeRequests, type Request } from '../compact/helpers.ts';

/** One request a minute for an hour from the benchmark payloads' start, three series each: one segment per request. */
function hourOfRequests(): { requests: Request[]; times: number[] } {
  const series = ['a', 'b', 'c'].map((n) => newSeriesEntry(labelsFromPairs({ __name__: 'm', host: n })));
  const times = Array.from({ length: 60 }, (_, i) => START_MS + i * Minute + 7);
  const requests = times.map((t, i): Request => series.map((s, k) => [s, t, i * 10 + k + 0.5]));
  return { requests, times };
}

describe('compact-at', () => {
  it('compacts the windows settled at the given clock, leaves the rest in segments and keeps every sample', async () => {
    // Prepare: an hour of segments; what the default first level settles at the last sample.
    const storage = memStorage();
    const db = storage.tenant('anonymous');
    const { requests, times } = hourOfRequests();
    const model = new Model();
    await writeRequests(db, requests, model);
    const now = times.at(-1)!;
    const from = times[0]!;
    const first = DefaultLevels[0]!;
    const settled = (t: number) => windowOf(t, first.windowMs) + first.windowMs + first.settleMs <= now;
    const wantMerged = times.filter(settled).length;
    const wantBlocks = new Set(times.filter(settled).map((t) => windowOf(t, first.windowMs))).size;
    const before = await db.stores.catalog.entries(from, now);
    assert.equal(before.entries.length, times.length, 'one segment per request');

    // Act
    const r = await compactAt(storage, now, from, now);

    // Assess: counts as derived, the catalog as a read of the hour sees it, the samples unchanged.
    assert.equal(r.failed, 0, r.summary);
    assert.equal(r.nowMs, now);
    assert.deepEqual(r.before, { segments: times.length, blocks: 0, blocksByWindow: {} });
    assert.equal(r.totals.inputsReplaced, wantMerged);
    assert.equal(r.totals.blocksWritten, wantBlocks);
    assert.equal(r.totals.samplesWritten, wantMerged * 3);
    assert.deepEqual(r.after, { segments: times.length - wantMerged, blocks: wantBlocks, blocksByWindow: wantBlocks === 0 ? {} : { [formatDuration(first.windowMs)]: wantBlocks } });
    assert.deepEqual(await catalogCounts(storage, from, now), r.after);
    assert.deepEqual(await dump(db, from, now), model.lines(from, now));
  });

  it('counts only the entries overlapping the range', async () => {
    // Prepare
    const storage = memStorage();
    const db = storage.tenant('anonymous');
    const { requests, times } = hourOfRequests();
    await writeRequests(db, requests, new Model());

    // Act
    const c = await catalogCounts(storage, times[10]!, times[19]!);

    // Assess
    assert.deepEqual(c, { segments: 10, blocks: 0, blocksByWindow: {} });
  });
});
