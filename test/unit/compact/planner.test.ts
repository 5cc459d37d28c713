/**
 * The compaction planner: which catalog entries become which block, when.
 * Entries are built by hand; order keys are plain sortable strings.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Day, Hour, plan, windowOf, type CompactionJob, type PlannerOptions } from '../../../lib/compact/planner.ts';
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

const opts = (o: Partial<PlannerOptions> = {}): PlannerOptions => ({ levels: [2 * Hour, Day], settleMs: Hour, force: false, maxJobSamples: 1_000_000, ...o });

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
        assert.equal(j.windowEnd - j.windowStart, j.level === 1 ? 2 * Hour : Day);
        assert.equal(j.numSamples, j.inputs.reduce((n, r) => n + r.entry.numSamples, 0));
      }
    });
  }

  it('is pure: the same entries and time give the same jobs', () => {
    const entries = [seg('S1', D), seg('S2', D + 3 * Hour), blk('B1', 1, D - Day, 2 * Hour, 'S0')];
    assert.deepEqual(brief(plan(entries, D + Day, opts())), brief(plan(entries, D + Day, opts())));
  });
});
