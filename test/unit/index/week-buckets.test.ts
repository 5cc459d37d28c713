/**
 * Index buckets are weeks (lib/index/keys.ts): a series is indexed once per
 * week, so reads of any day of the week must find it through that one
 * entry; a week boundary and the week around 1970-01-01 (negative days)
 * must split entries exactly; the label names/values API must answer per
 * week and never from another week. Each case would fail if the writer and
 * the readers disagreed on which bucket a day belongs to.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemBucket } from '../../../lib/objstore/mem.ts';
import { MemKVStore } from '../../../lib/kvstore/mem.ts';
import { Storage, newSeriesEntry, type TenantDB } from '../../../lib/tsdb/db.ts';
import { labelsFromPairs } from '../../../lib/labels/labels.ts';
import { MatchType, newMatcher, type Matcher } from '../../../lib/labels/matcher.ts';
import { BucketMs, IndexKeys, indexBucketOfDay } from '../../../lib/index/keys.ts';
import { Compactor } from '../../../lib/compact/compactor.ts';
import type { SeriesEntry } from '../../../lib/tsdb/series-cache.ts';
import type { KVStore } from '../../../lib/kvstore/kvstore.ts';
import { dumpSeries } from '../../helpers/dump.ts';

/** Writes that a read-only test store refuses. */
const refuse = () => Promise.reject(new Error('read-only'));
const readOnly = { batchPut: refuse, putIfAbsent: refuse, replaceIf: refuse, batchDelete: refuse, close: () => Promise.resolve() };

const Day = BucketMs;
const Hour = 3_600_000;
/** Monday 2024-10-07 (day 20003), the first day of an index bucket. */
const Mon = 20_003;
const AnyName = [newMatcher(MatchType.Regexp, '__name__', '.+')];

const dump = (db: TenantDB, mint: number, maxt: number, ms: Matcher[] = AnyName) => dumpSeries(db, mint, maxt, ms);

/** Commits samples [series, t, v] as one request; returns the series-bucket pairs indexed. */
async function write(db: TenantDB, samples: readonly [SeriesEntry, number, number][]): Promise<number> {
  const app = db.appender();
  for (const [s, t, v] of samples) app.append(s, t, v);
  return (await app.commit()).seriesIndexed;
}

async function seriesIn(kv: MemKVStore, day: number): Promise<string[]> {
  const out: string[] = [];
  for await (const it of kv.query(`t/${IndexKeys.series(day)}`)) out.push(it.sk);
  return out;
}

function fresh(): { kv: MemKVStore; bucket: MemBucket; db: TenantDB } {
  const kv = new MemKVStore();
  const bucket = new MemBucket();
  return { kv, bucket, db: new Storage({ bucket, kv }).tenant('t') };
}

/** A new entry each time: an entry caches the buckets it was indexed in, as one process would. */
const newX = () => newSeriesEntry(labelsFromPairs({ __name__: 'up', job: 'x' }));
const X = '{__name__="up", job="x"}';

describe('index buckets are weeks', () => {
  it('a series indexed on Monday is found by queries over Thursday alone, written by the same and by a new process', async () => {
    // Prepare
    const { kv, bucket, db } = fresh();
    const x = newX();
    const mon = Mon * Day + Hour;
    const thu = (Mon + 3) * Day + Hour;
    const fri = (Mon + 4) * Day + Hour;
    // Act
    const first = await write(db, [[x, mon, 1]]);
    const again = await write(db, [[x, thu, 2]]); // the writer's cache: indexed in this week
    const other = new Storage({ bucket, kv }).tenant('t'); // a cold process asks the index
    const cold = await write(other, [[newSeriesEntry(x.labels), fri, 3]]);
    // Assess
    assert.deepEqual([first, again, cold], [1, 0, 0], 'indexed once for the week');
    assert.equal((await seriesIn(kv, Mon)).length, 1);
    assert.deepEqual(await seriesIn(kv, Mon + 3), await seriesIn(kv, Mon), 'any day of the week names the same partition');
    assert.deepEqual(await dump(db, (Mon + 3) * Day, (Mon + 4) * Day - 1), [`${X} ${thu}:2`]);
    assert.deepEqual(await dump(other, (Mon + 4) * Day, (Mon + 4) * Day + 2 * Hour), [`${X} ${fri}:3`]);
    assert.deepEqual(await dump(db, thu, thu, [newMatcher(MatchType.Equal, 'job', 'x')]), [`${X} ${thu}:2`]);
    const q = await db.querier((Mon + 3) * Day, (Mon + 3) * Day + 2 * Hour);
    assert.deepEqual(await q.labelValues('job'), ['x']);
    // Compaction of Thursday's segment, which carries the id only, finds the labels through the week's index.
    await new Compactor(db.stores, { now: () => (Mon + 9) * Day, deleteGraceMs: 0 }).run({ force: true });
    assert.equal((await db.stores.catalog.all()).filter((r) => r.entry.kind === 'segment').length, 0);
    assert.deepEqual(await dump(db, Mon * Day, (Mon + 7) * Day), [`${X} ${mon}:1 ${thu}:2 ${fri}:3`]);
  });

  const boundaries: { what: string; lastOfWeek: number }[] = [
    { what: 'Sunday to Monday 2024-10-14', lastOfWeek: (Mon + 7) * Day - 1 },
    { what: 'Sunday 1969-12-28 to Monday 1969-12-29 (negative days)', lastOfWeek: Date.UTC(1969, 11, 29) - 1 },
    { what: 'Sunday 1970-01-04 to Monday 1970-01-05 (a week holding 1969 and 1970)', lastOfWeek: Date.UTC(1970, 0, 5) - 1 },
  ];
  for (const c of boundaries) {
    it(`splits at the week boundary ${c.what}`, async () => {
      // Prepare: one series with samples on both sides, in one request.
      const { kv, db } = fresh();
      const x = newX();
      const before = c.lastOfWeek;
      const after = c.lastOfWeek + 1;
      const early = before - 5 * Day; // the same week as `before`
      const w1 = indexBucketOfDay(Math.floor(before / Day));
      const w2 = indexBucketOfDay(Math.floor(after / Day));
      // Act
      const indexed = await write(db, [[x, early, 0], [x, before, 1], [x, after, 2]]);
      // Assess: one entry per week, each in its own partition.
      assert.equal(w2, w1 + 7);
      assert.equal(indexed, 2);
      assert.deepEqual(await seriesIn(kv, w1), [x.id]);
      assert.deepEqual(await seriesIn(kv, w2), [x.id]);
      assert.deepEqual(await dump(db, after, after + Day), [`${X} ${after}:2`]);
      assert.deepEqual(await dump(db, before - Hour, before), [`${X} ${before}:1`]);
      assert.deepEqual(await dump(db, early, after), [`${X} ${early}:0 ${before}:1 ${after}:2`]);
      // A later write in the second week only (same process): nothing new to index, still found.
      assert.equal(await write(db, [[x, after + 3 * Day, 3]]), 0);
      assert.deepEqual(await dump(db, after + Day, after + 4 * Day), [`${X} ${after + 3 * Day}:3`]);
    });
  }

  it('a read over days of one week and the next selects each week once', async () => {
    // Prepare: segments on Tuesday, Thursday and the next Monday, read through a store counting postings queries.
    const kv = new MemKVStore();
    const bucket = new MemBucket();
    const x = newX();
    const times = [(Mon + 1) * Day + Hour, (Mon + 3) * Day + Hour, (Mon + 7) * Day + Hour];
    await write(new Storage({ bucket, kv }).tenant('t'), times.map((t, i) => [x, t, i]));
    const queried: string[] = [];
    const counting: KVStore = { ...readOnly, get: (pk, sk) => kv.get(pk, sk), getMany: (keys) => kv.getMany(keys), query: (pk, o) => (queried.push(pk), kv.query(pk, o)) };
    const db = new Storage({ bucket, kv: counting }).tenant('t');
    // Act
    const got = await dump(db, Mon * Day, (Mon + 8) * Day, [newMatcher(MatchType.Equal, 'job', 'x')]);
    // Assess
    assert.deepEqual(got, [`${X} ${times.map((t, i) => `${t}:${i}`).join(' ')}`]);
    const postings = queried.filter((pk) => pk.includes('/p/'));
    assert.equal(postings.filter((pk) => pk.includes('job')).length, 2, `job=x postings read once per week: ${postings.join(', ')}`);
  });

  it('answers label names and values over a range from the weeks it touches, never from another week', async () => {
    // Prepare: a (Monday) and b (Wednesday) in one week, c on the next Monday.
    const { db } = fresh();
    const a = newSeriesEntry(labelsFromPairs({ __name__: 'm', job: 'a', zone: 'z1' }));
    const b = newSeriesEntry(labelsFromPairs({ __name__: 'm', job: 'b', zone: 'z2' }));
    const c = newSeriesEntry(labelsFromPairs({ __name__: 'm', job: 'c' }));
    await write(db, [[a, Mon * Day + Hour, 1]]);
    await write(db, [[b, (Mon + 2) * Day + Hour, 2]]);
    await write(db, [[c, (Mon + 7) * Day + Hour, 3]]);
    const cases: { range: [number, number]; ms: Matcher[]; names: string[]; jobs: string[]; series: number }[] = [
      // Wednesday alone: the week's names and values (a has no sample that day, but its week is read), not c's.
      { range: [(Mon + 2) * Day, (Mon + 3) * Day - 1], ms: [], names: ['__name__', 'job', 'zone'], jobs: ['a', 'b'], series: 1 },
      { range: [(Mon + 2) * Day, (Mon + 3) * Day - 1], ms: [newMatcher(MatchType.Regexp, 'zone', 'z.*')], names: ['__name__', 'job', 'zone'], jobs: ['a', 'b'], series: 1 },
      // The next Monday alone: only c.
      { range: [(Mon + 7) * Day, (Mon + 8) * Day - 1], ms: [], names: ['__name__', 'job'], jobs: ['c'], series: 1 },
      { range: [(Mon + 7) * Day, (Mon + 8) * Day - 1], ms: [newMatcher(MatchType.Equal, '__name__', 'm')], names: ['__name__', 'job'], jobs: ['c'], series: 1 },
      // Both weeks.
      { range: [Mon * Day, (Mon + 14) * Day - 1], ms: [], names: ['__name__', 'job', 'zone'], jobs: ['a', 'b', 'c'], series: 3 },
      // The week before: nothing.
      { range: [(Mon - 7) * Day, Mon * Day - 1], ms: [], names: [], jobs: [], series: 0 },
    ];
    for (const k of cases) {
      // Act
      const q = await db.querier(k.range[0], k.range[1]);
      const names = await q.labelNames(...k.ms);
      const jobs = await q.labelValues('job', ...k.ms);
      const series = await dump(db, k.range[0], k.range[1], k.ms.length > 0 ? k.ms : AnyName);
      // Assess
      const what = `range ${k.range.map((t) => new Date(t).toISOString()).join('..')} ${k.ms.map(String).join(',')}`;
      assert.deepEqual(names, k.names, what);
      assert.deepEqual(jobs, k.jobs, what);
      assert.equal(series.length, k.series, `${what}: series hold samples in the range only`);
    }
  });
});
