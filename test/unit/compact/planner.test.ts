/**
 * The compaction planner: which catalog entries become which block, when.
 * Entries are built by hand; order keys are plain sortable strings.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkLevels, Day, DefaultLevels, Hour, Minute, plan, windowOf, type CompactionJob, type Level, type PlannerOptions } from '../../../lib/compact/planner.ts';
import { compareOrder, type BlockEntry, type Recorded, type SegmentEntry } from '../../../lib/catalog/catalog.ts';
import { bucketOf } from '../../../lib/index/keys.ts';

function seg(id: string, minTime: number, maxTime = minTime, numSamples = 10): Recorded {
  const entry: SegmentEntry = { kind: 'segment', id, key: `segments/${id}`, size: 100, tableOffset: 8, tableLength: 10, minTime, maxTime, numSeries: 1, numSamples };
  return { entry, buckets: [...new Set([bucketOf(minTime), bucketOf(maxTime)])] };
}

function blk(id: string, level: number, windowStart: number, span: number, orderKey: string, numSamples = 10, resolution = 0, minTime = windowStart, maxTime = windowStart + span - 1): Recorded {
  const entry: BlockEntry = {
    kind: 'block', id, key: `blocks/${id}`, size: 100, indexOffset: 8, indexLength: 10,
    minTime, maxTime, windowStart, windowEnd: windowStart + span, level, resolution,
    numSeries: 1, numSamples, numPages: 1, orderKey, numSources: 2,
  };
  return { entry, buckets: [bucketOf(minTime)] };
}

/** The earlier default levels (2 h, 1 d; settle 1 h), which most cases below were written for. */
const TwoLevels = [2 * Hour, Day].map((windowMs) => ({ windowMs, settleMs: Hour }));
const opts = (o: Partial<PlannerOptions> = {}): PlannerOptions => ({ levels: TwoLevels, force: false, maxJobSamples: 1_000_000, ...o });

/** A job as [level, windowStart, input ids, shadow ids]. */
function brief(jobs: CompactionJob[]): [number, number, string[], string[]][] {
  return jobs.map((j) => [j.level, j.windowStart, j.inputs.map((r) => r.entry.id), (j.shadows ?? []).map((r) => r.entry.id)]);
}

const D = 10 * Day; // a UTC midnight

describe('planner', () => {
  it('windowOf floors, negative times included', () => {
    const cases: [number, number, number][] = [
      [0, 2 * Hour, 0],
      [2 * Hour - 1, 2 * Hour, 0],
      [2 * Hour, 2 * Hour, 2 * Hour],
      [-1, 2 * Hour, -2 * Hour],
      [-2 * Hour, 2 * Hour, -2 * Hour],
      [-2 * Hour - 1, 2 * Hour, -4 * Hour],
      [-1, Day, -Day],
    ];
    for (const [t, w, want] of cases) assert.equal(windowOf(t, w), want, `windowOf(${t}, ${w})`);
  });

  const cases: { name: string; entries: Recorded[]; now: number; o?: Partial<PlannerOptions>; want: [number, number, string[], string[]][] }[] = [
    {
      name: 'segments group by the 2 h window of their first sample, negative times too',
      entries: [seg('S1', -1), seg('S2', 0, 3 * Hour), seg('S3', -2 * Hour - 1), seg('S4', 2 * Hour - 1)],
      now: Day,
      want: [
        [1, -4 * Hour, ['S3'], []],
        [1, -2 * Hour, ['S1'], []],
        [1, 0, ['S2', 'S4'], []],
      ],
    },
    {
      name: 'a window is not compacted before it settles',
      entries: [seg('S1', D + Hour)],
      now: D + 2 * Hour + Hour - 1,
      want: [],
    },
    {
      name: 'a window is compacted once it settles',
      entries: [seg('S1', D + Hour)],
      now: D + 2 * Hour + Hour,
      want: [[1, D, ['S1'], []]],
    },
    {
      name: 'force compacts unsettled windows',
      entries: [seg('S1', D + Hour)],
      now: D,
      o: { force: true },
      want: [[1, D, ['S1'], []]],
    },
    {
      name: 'late segments merge with the level-1 block of their window (vertical compaction)',
      entries: [blk('B1', 1, D, 2 * Hour, 'S2'), seg('S3', D + 30 * 60_000), seg('S4', D + 4 * Hour)],
      now: D + 4 * Hour,
      want: [[1, D, ['B1', 'S3'], []]],
    },
    {
      name: 'a single level-1 block without segments yields no level-1 job (its settled day promotes it to level 2)',
      entries: [blk('B1', 1, D, 2 * Hour, 'S2')],
      now: D + 10 * Day,
      o: { force: true },
      want: [[2, D, ['B1'], []]],
    },
    {
      name: 'a single level-2 block yields no job',
      entries: [blk('B2', 2, D, Day, 'S9')],
      now: D + 10 * Day,
      o: { force: true },
      want: [],
    },
    {
      name: 'level 2 waits while a segment of its day is pending: level 1 goes first',
      entries: [blk('B1', 1, D, 2 * Hour, 'S2'), blk('B2', 1, D + 2 * Hour, 2 * Hour, 'S4'), seg('S5', D + 20 * Hour), blk('C1', 1, D + Day, 2 * Hour, 'S7')],
      now: D + 5 * Day,
      want: [[1, D + 20 * Hour, ['S5'], []]],
    },
    {
      name: 'level 2 merges the level-1 blocks of a settled day (and an existing level-2 block)',
      entries: [blk('A2', 2, D, Day, 'S1'), blk('B1', 1, D, 2 * Hour, 'S2'), blk('B2', 1, D + 2 * Hour, 2 * Hour, 'S4'), blk('C1', 1, D + Day, 2 * Hour, 'S7')],
      now: D + Day + Hour,
      want: [[2, D, ['A2', 'B1', 'B2'], []]],
    },
    {
      name: 'level 2 does not take a day before it settles',
      entries: [blk('B1', 1, D, 2 * Hour, 'S2')],
      now: D + Day + Hour - 1,
      want: [],
    },
    {
      name: 'maxJobSamples splits a window into jobs in write order; a lone block job is dropped',
      entries: [blk('B1', 1, D, 2 * Hour, 'S0', 20), seg('S1', D), seg('S2', D + 1), seg('S3', D + 2), seg('S4', D + 3), seg('S5', D + 4)],
      now: D + Day,
      o: { maxJobSamples: 25 },
      want: [
        [1, D, ['S1', 'S2'], []],
        [1, D, ['S3', 'S4'], []],
        [1, D, ['S5'], []],
      ],
    },
    {
      name: 'maxSegmentJobSamples caps level-1 jobs from segments; blocks stay under maxJobSamples',
      entries: [seg('S1', D), seg('S2', D + 1), seg('S3', D + 2), blk('B1', 1, D + 2 * Hour, 2 * Hour, 'S0', 20), blk('B2', 1, D + 4 * Hour, 2 * Hour, 'S0a', 20)],
      now: D + Day,
      o: { maxJobSamples: 100, maxSegmentJobSamples: 15 },
      want: [
        [1, D, ['S1'], []],
        [1, D, ['S2'], []],
        [1, D, ['S3'], []],
      ],
    },
    {
      name: 'a level-2 job over maxJobSamples is left at level 1',
      entries: [blk('B1', 1, D, 2 * Hour, 'S2', 20), blk('B2', 1, D + 2 * Hour, 2 * Hour, 'S4', 20)],
      now: D + 3 * Day,
      o: { maxJobSamples: 25 },
      want: [],
    },
    {
      name: 'downsampled blocks are neither inputs nor shadows',
      entries: [blk('R1', 1, D, 2 * Hour, 'S2', 10, 300_000), seg('S1', D + 1), seg('S3', D + 2)],
      now: D + Day,
      want: [[1, D, ['S1', 'S3'], []]],
    },
    {
      name: 'shadows: a segment of the previous window that runs into this one and ranks between its inputs',
      // X (S2) starts before D + 2 h and rewrites samples after it; S1 and S3 are in the window.
      entries: [seg('S1', D + 2 * Hour + 5, D + 2 * Hour + 50), seg('S2', D + 2 * Hour - 10, D + 2 * Hour + 10), seg('S3', D + 3 * Hour), seg('S0', D + Hour, D + 2 * Hour + 20)],
      now: D + Day,
      want: [
        [1, D, ['S0', 'S2'], ['S1']],
        [1, D + 2 * Hour, ['S1', 'S3'], ['S2']],
      ],
    },
    {
      name: 'shadows: an older entry, a newer one, or one that overlaps no lower input is not a shadow',
      entries: [seg('S1', D + 2 * Hour + 5), seg('S3', D + 2 * Hour + 100), seg('S0', D + Hour, D + 2 * Hour + 50), seg('S9', D + Hour, D + 2 * Hour + 50), seg('S2', D + Hour, D + Hour + 5)],
      now: D + Day,
      want: [
        [1, D, ['S0', 'S2', 'S9'], ['S1']],
        [1, D + 2 * Hour, ['S1', 'S3'], []],
      ],
    },
    {
      name: 'shadows at level 2: a block of the previous day whose samples run into this day',
      entries: [blk('P1', 2, D - Day, Day, 'S5', 10, 0, D - Day, D + 60_000), blk('B1', 1, D, 2 * Hour, 'S4'), blk('B2', 1, D + 2 * Hour, 2 * Hour, 'S8')],
      now: D + 3 * Day,
      want: [[2, D, ['B1', 'B2'], ['P1']]],
    },
    // The default levels: 10 min (settle 5 min), 2 h and 1 d (settle 1 h).
    {
      name: 'defaults: segments group by 10-min window; a window waits 5 min after its end',
      entries: [seg('S1', D + 3 * Minute), seg('S2', D + 12 * Minute), seg('S3', D + 19 * Minute)],
      now: D + 25 * Minute - 1,
      o: { levels: DefaultLevels },
      want: [[1, D, ['S1'], []]],
    },
    {
      name: 'defaults: at its end + 5 min the second window is compacted too',
      entries: [seg('S1', D + 3 * Minute), seg('S2', D + 12 * Minute), seg('S3', D + 19 * Minute)],
      now: D + 25 * Minute,
      o: { levels: DefaultLevels },
      want: [
        [1, D, ['S1'], []],
        [1, D + 10 * Minute, ['S2', 'S3'], []],
      ],
    },
    {
      name: 'defaults: 10-min blocks wait an hour after their 2 h window ends',
      entries: [blk('T1', 1, D, 10 * Minute, 'S1'), blk('T2', 1, D + 110 * Minute, 10 * Minute, 'S2')],
      now: D + 3 * Hour - 1,
      o: { levels: DefaultLevels },
      want: [],
    },
    {
      name: 'defaults: then they become one 2 h block',
      entries: [blk('T1', 1, D, 10 * Minute, 'S1'), blk('T2', 1, D + 110 * Minute, 10 * Minute, 'S2')],
      now: D + 3 * Hour,
      o: { levels: DefaultLevels },
      want: [[2, D, ['T1', 'T2'], []]],
    },
    {
      name: 'levels go by window size: a 2 h block stored as level 1 (older defaults) is not a 10-min block of its first window',
      entries: [blk('OLD', 1, D, 2 * Hour, 'S1'), seg('S2', D + 5 * Minute)],
      now: D + Day,
      o: { levels: DefaultLevels },
      want: [[1, D, ['S2'], []]],
    },
    {
      name: 'levels go by window size: the new 10-min block merges into the old 2 h block (level 2 here)',
      entries: [blk('OLD', 1, D, 2 * Hour, 'S1'), blk('T2', 1, D, 10 * Minute, 'S2')],
      now: D + Day,
      o: { levels: DefaultLevels },
      want: [[2, D, ['OLD', 'T2'], []]],
    },
    {
      name: 'levels go by window size: a 1 d block stored as level 2 is the day block of level 3, not a 2 h block',
      entries: [blk('DAY', 2, D, Day, 'S1'), blk('H2', 2, D, 2 * Hour, 'S2')],
      now: D + 3 * Day,
      o: { levels: DefaultLevels },
      want: [[3, D, ['DAY', 'H2'], []]],
    },
    {
      name: 'a block of a size no level has merges into the level above it; one crossing that level\'s windows waits for a level it fits',
      entries: [blk('M30', 1, D + 30 * Minute, 30 * Minute, 'S1'), blk('X', 1, D + 90 * Minute, Hour, 'S2'), blk('T3', 1, D + 10 * Minute, 10 * Minute, 'S3')],
      now: D + Day,
      o: { levels: DefaultLevels },
      want: [[2, D, ['M30', 'T3'], []]],
    },
    {
      name: 'the crossing block joins at the level whose window holds it',
      entries: [blk('X', 1, D + 90 * Minute, Hour, 'S2'), blk('H', 2, D, 2 * Hour, 'S3')],
      now: D + 3 * Day,
      o: { levels: DefaultLevels },
      want: [[3, D, ['X', 'H'], []]],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      // Prepare: entries in catalog order, as Catalog.all() returns them.
      const entries = [...c.entries].sort((a, b) => compareOrder(a.entry, b.entry));
      // Act
      const jobs = plan(entries, c.now, opts(c.o));
      // Assess
      assert.deepEqual(brief(jobs), c.want);
      for (const j of jobs) {
        assert.equal(j.windowEnd - j.windowStart, (c.o?.levels ?? TwoLevels)[j.level - 1]!.windowMs);
        assert.equal(j.numSamples, j.inputs.reduce((n, r) => n + r.entry.numSamples, 0));
      }
    });
  }

  it('is pure: the same entries and time give the same jobs', () => {
    const entries = [seg('S1', D), seg('S2', D + 3 * Hour), blk('B1', 1, D - Day, 2 * Hour, 'S0')];
    assert.deepEqual(brief(plan(entries, D + Day, opts())), brief(plan(entries, D + Day, opts())));
  });

  it('checkLevels names the level that is wrong', () => {
    const lv = (...w: number[]): Level[] => w.map((windowMs) => ({ windowMs, settleMs: 0 }));
    const cases: [Level[], RegExp | undefined][] = [
      [[...DefaultLevels], undefined],
      [lv(Minute), undefined],
      [[], /want at least one/],
      [lv(30_000), /level 1: window of 30000 ms; want a whole number of milliseconds, at least a minute/],
      [lv(10 * Minute, 25 * Minute), /level 2: window 25m is not a larger multiple of level 1's 10m/],
      [lv(2 * Hour, 2 * Hour), /level 2: window 2h is not a larger multiple of level 1's 2h/],
      [lv(2 * Hour, Hour), /level 2: window 1h is not a larger multiple/],
      [[{ windowMs: Hour, settleMs: -1 }], /level 1: settle time of -1 ms/],
      [[{ windowMs: Hour, settleMs: NaN }], /level 1: settle time of NaN ms/],
    ];
    for (const [levels, err] of cases) {
      if (err === undefined) assert.doesNotThrow(() => checkLevels(levels));
      else assert.throws(() => checkLevels(levels), err);
    }
  });
});
