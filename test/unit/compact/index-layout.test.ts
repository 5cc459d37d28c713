/**
 * Data written while the label index was per day (`ix/<day>/…`, before
 * index buckets were weeks) is carried over by the first compaction run:
 * `ensureWeekLayout` rebuilds the week index of weeks holding such
 * segments from the labels the objects carry, once per tenant.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemBucket } from '../../../lib/objstore/mem.ts';
import { MemKVStore } from '../../../lib/kvstore/mem.ts';
import { Storage, newSeriesEntry, type TenantDB } from '../../../lib/tsdb/db.ts';
import { labelsFromPairs } from '../../../lib/labels/labels.ts';
import { MatchType, newMatcher } from '../../../lib/labels/matcher.ts';
import { BucketMs, legacyDaySeriesPk } from '../../../lib/index/keys.ts';
import { dropBucketIndex } from '../../../lib/index/gc.ts';
import { Compactor } from '../../../lib/compact/compactor.ts';
import { dumpSeries } from '../../helpers/dump.ts';
import { ensureWeekLayout, IndexLayoutPartition, WeekLayoutKey } from '../../../lib/compact/index-refresh.ts';

const Day = BucketMs;
const Hour = 3_600_000;
const Mon = 20_003; // Monday 2024-10-07

const dump = (db: TenantDB, mint: number, maxt: number) => dumpSeries(db, mint, maxt, [newMatcher(MatchType.Equal, 'job', 'x')]);

/** Segments on Tuesday and Thursday whose series are indexed in the day layout only, as the old code left them. */
async function oldStore(): Promise<{ kv: MemKVStore; db: TenantDB; want: string[] }> {
  const kv = new MemKVStore();
  const db = new Storage({ bucket: new MemBucket(), kv }).tenant('t');
  const s = newSeriesEntry(labelsFromPairs({ __name__: 'up', job: 'x' }));
  for (const [t, v] of [[(Mon + 1) * Day + Hour, 1], [(Mon + 3) * Day + Hour, 2]] as const) {
    const app = db.appender();
    app.append(s, t, v);
    await app.commit();
  }
  const want = await dump(db, Mon * Day, (Mon + 7) * Day);
  assert.equal(want.length, 1);
  // The week layout's items are not there; the day layout's are.
  await dropBucketIndex(db.stores.kv, Mon);
  await kv.batchPut([{ pk: `t/${legacyDaySeriesPk(Mon + 1)}`, sk: s.id, value: s.canonical }]);
  assert.deepEqual(await dump(db, Mon * Day, (Mon + 7) * Day), [], 'invisible before the rebuild');
  return { kv, db, want };
}

describe('label index layout: days to weeks', () => {
  it('the first compaction run rebuilds the week index of old segments, even ones it does not compact yet', async () => {
    // Prepare
    const { db, want } = await oldStore();
    const progress: string[] = [];
    // Act: a run on Thursday, before the last segment's window has ended.
    const run = await new Compactor(db.stores, { now: () => (Mon + 3) * Day + Hour + 5 * 60_000, onProgress: (m) => progress.push(m) }).run();
    // Assess
    assert.ok(progress.some((m) => /week of 2024-10-07: label index rebuilt in the week layout \(1 series\)/.test(m)), progress.join('\n'));
    assert.ok((await db.stores.catalog.all()).some((r) => r.entry.kind === 'segment'), 'a segment is left');
    assert.equal(run.leased, true);
    assert.deepEqual(await dump(db, Mon * Day, (Mon + 7) * Day), want);
    assert.deepEqual(await dump(db, (Mon + 3) * Day, (Mon + 4) * Day - 1), [want[0]!.replace(/ \d+:1/, '')]);
    assert.ok((await db.stores.kv.get(IndexLayoutPartition, WeekLayoutKey)) !== undefined);
  });

  it('rebuilds once per tenant, and not at all on a store written in the week layout', async () => {
    // Prepare
    const { db } = await oldStore();
    const now = (Mon + 3) * Day + 2 * Hour;
    // Act / Assess
    assert.deepEqual(await ensureWeekLayout(db.stores, now), [Mon]);
    assert.deepEqual(await ensureWeekLayout(db.stores, now), [], 'recorded: not again');
    const kv = new MemKVStore();
    const db2 = new Storage({ bucket: new MemBucket(), kv }).tenant('t');
    const app = db2.appender();
    app.append(newSeriesEntry(labelsFromPairs({ __name__: 'up', job: 'x' })), Mon * Day, 1);
    await app.commit();
    assert.deepEqual(await ensureWeekLayout(db2.stores, now), [], 'no day-layout partition: nothing to rebuild');
    assert.ok((await db2.stores.kv.get(IndexLayoutPartition, WeekLayoutKey)) !== undefined);
  });
});
