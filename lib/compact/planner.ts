/**
 * Decides what to compact: which catalog entries become which block.
 *
 * Levels are window sizes, each with its settle time (default 10 min, then
 * 2 h, then 1 d). Level 1 merges the segments whose first sample falls in
 * a 10-min window, with any block of that window already made (late data:
 * vertical compaction). Level k > 1 merges the raw blocks of smaller
 * windows that lie in its window, with any block of its own size already
 * there. A window is compacted once it is settled (its end plus the
 * level's `settleMs` has passed) unless forced.
 *
 * A block's level is known by its window's size, not by the `level` number
 * stored in it: data compacted under other levels (the earlier default was
 * 2 h, 1 d) is merged correctly after the levels change. Blocks whose
 * window fits no level (a size not in the list, or one crossing a larger
 * window) are left as they are; reads rank them as any other block.
 *
 * Planning is pure: the same entries and time give the same jobs.
 */
import { compareOrder, orderKey, resolutionOf, type BlockEntry, type Recorded } from '../catalog/catalog.ts';
import { formatDuration } from '../promql/parser/printer.ts';

export const Minute = 60_000;
export const Hour = 60 * Minute;
export const Day = 24 * Hour;

/** One compaction level. */
export interface Level {
  /** Window size, ms; windows are aligned to the epoch (UTC midnight for 1 d). */
  windowMs: number;
  /** How long after a window ends before it is compacted, ms (late samples arrive meanwhile). */
  settleMs: number;
}

export interface PlannerOptions {
  /** Levels by ascending window size; each window divides the next (see {@link checkLevels}). */
  levels: readonly Level[];
  /** Compact every window now, settled or not. */
  force: boolean;
  /** Largest number of samples one job may merge (bounds memory). */
  maxJobSamples: number;
  /**
   * Largest number of samples a level-1 job may take from segments, which
   * cost far more memory per sample than blocks (a segment holds one sample
   * per series: ~250 bytes per sample at peak, measured). Default: no
   * extra limit.
   */
  maxSegmentJobSamples?: number;
}

/**
 * The default levels. Recent data is read most, and a read costs about one
 * lookup per object in its range: an hour of segments is ~300 to ~1200
 * objects, the same hour in 10-min blocks 6 (docs/benchmarks.md, "Reads
 * before compaction"). So the first level is small and settles quickly:
 * remote_write delivers within seconds, and a later sample only makes its
 * 10-min block be merged again. The 2 h level waits an hour, so that such
 * late samples are absorbed by the cheap 10-min merges before the 2 h
 * block is written; then 1 d, the level downsampling starts from.
 */
export const DefaultLevels: readonly Level[] = [
  { windowMs: 10 * Minute, settleMs: 5 * Minute },
  { windowMs: 2 * Hour, settleMs: Hour },
  { windowMs: Day, settleMs: Hour },
];

/** Throws a RangeError naming the level unless `levels` is usable: windows of at least a minute, each a multiple of the one before. */
export function checkLevels(levels: readonly Level[]): void {
  if (levels.length === 0) throw new RangeError('compaction levels: want at least one');
  for (const [i, l] of levels.entries()) {
    if (!Number.isInteger(l.windowMs) || l.windowMs < Minute) throw new RangeError(`compaction level ${i + 1}: window of ${l.windowMs} ms; want a whole number of milliseconds, at least a minute`);
    if (!(l.settleMs >= 0)) throw new RangeError(`compaction level ${i + 1}: settle time of ${l.settleMs} ms; want 0 or more`);
    const prev = levels[i - 1];
    if (prev !== undefined && (l.windowMs <= prev.windowMs || l.windowMs % prev.windowMs !== 0)) {
      throw new RangeError(`compaction level ${i + 1}: window ${formatDuration(l.windowMs)} is not a larger multiple of level ${i}'s ${formatDuration(prev.windowMs)}`);
    }
  }
}

export interface CompactionJob {
  /** Level of the block made (1-based). */
  level: number;
  windowStart: number;
  windowEnd: number;
  inputs: Recorded[];
  numSamples: number;
  /**
   * Raw entries outside the job that rank above some input they overlap in
   * time but not above the block the job makes (see {@link addShadows}).
   */
  shadows?: Recorded[];
}

/** Start of the window of size `w` holding `t` (also for t < 0). */
export function windowOf(t: number, w: number): number {
  return Math.floor(t / w) * w;
}

/**
 * The jobs of the lowest level that has any, so that a caller runs them,
 * re-reads the catalog and plans again until nothing is left.
 */
export function plan(entries: readonly Recorded[], now: number, opts: PlannerOptions): CompactionJob[] {
  for (let level = 1; level <= opts.levels.length; level++) {
    const jobs = level === 1 ? planFirst(entries, now, opts) : planUpper(entries, level, now, opts);
    if (jobs.length > 0) return addShadows(jobs, entries);
  }
  return [];
}

function settled(windowEnd: number, level: Level, now: number, opts: PlannerOptions): boolean {
  return opts.force || now >= windowEnd + level.settleMs;
}

/** Size of a block's window. */
function spanOf(b: BlockEntry): number {
  return b.windowEnd - b.windowStart;
}

function planFirst(entries: readonly Recorded[], now: number, opts: PlannerOptions): CompactionJob[] {
  const first = opts.levels[0]!;
  const w = first.windowMs;
  const groups = new Map<number, { segments: Recorded[]; blocks: Recorded[] }>();
  const group = (ws: number) => {
    let g = groups.get(ws);
    if (g === undefined) groups.set(ws, (g = { segments: [], blocks: [] }));
    return g;
  };
  for (const r of entries) {
    const e = r.entry;
    if (e.kind === 'segment') group(windowOf(e.minTime, w)).segments.push(r);
    else if (e.resolution === 0 && spanOf(e) === w && e.windowStart === windowOf(e.windowStart, w)) group(e.windowStart).blocks.push(r);
  }
  const jobs: CompactionJob[] = [];
  for (const [ws, g] of [...groups].sort((a, b) => a[0] - b[0])) {
    if (g.segments.length === 0 || !settled(ws + w, first, now, opts)) continue;
    const segmentCap = Math.min(opts.maxJobSamples, opts.maxSegmentJobSamples ?? Infinity);
    // Existing blocks first, then segments in write order, cut at the sample cap.
    let cur: CompactionJob | undefined;
    for (const r of [...g.blocks, ...g.segments]) {
      const n = r.entry.numSamples;
      if (cur === undefined || (cur.numSamples + n > segmentCap && cur.inputs.length > 0)) {
        cur = { level: 1, windowStart: ws, windowEnd: ws + w, inputs: [], numSamples: 0 };
        jobs.push(cur);
      }
      cur.inputs.push(r);
      cur.numSamples += n;
    }
  }
  // A job made only of one existing block has nothing to do.
  return jobs.filter((j) => j.inputs.some((r) => r.entry.kind === 'segment'));
}

function planUpper(entries: readonly Recorded[], level: number, now: number, opts: PlannerOptions): CompactionJob[] {
  const lv = opts.levels[level - 1]!;
  const w = lv.windowMs;
  const groups = new Map<number, { lower: Recorded[]; same: Recorded[]; pending: boolean }>();
  const group = (ws: number) => {
    let g = groups.get(ws);
    if (g === undefined) groups.set(ws, (g = { lower: [], same: [], pending: false }));
    return g;
  };
  for (const r of entries) {
    const e = r.entry;
    if (e.kind === 'segment') {
      group(windowOf(e.minTime, w)).pending = true; // wait until level 1 took it
      continue;
    }
    if (e.resolution !== 0) continue;
    const ws = windowOf(e.windowStart, w);
    if (windowOf(e.windowEnd - 1, w) !== ws) continue; // crosses this level's windows: fits no job here
    const span = spanOf(e);
    if (span < w) group(ws).lower.push(r);
    else if (span === w) group(ws).same.push(r);
  }
  const jobs: CompactionJob[] = [];
  for (const [ws, g] of [...groups].sort((a, b) => a[0] - b[0])) {
    if (g.lower.length === 0 || g.pending || !settled(ws + w, lv, now, opts)) continue;
    const inputs = [...g.same, ...g.lower];
    const numSamples = inputs.reduce((s, r) => s + r.entry.numSamples, 0);
    if (numSamples > opts.maxJobSamples) continue; // too big for one job: stays at the lower level
    jobs.push({ level, windowStart: ws, windowEnd: ws + w, inputs, numSamples });
  }
  return jobs;
}

/**
 * Fills each job's `shadows`. A block ranks as its newest source, so merging
 * inputs lifts their older samples above every entry that ranked between
 * them: an entry outside the job (a segment of the previous window whose
 * samples run into this one, a block of the neighbouring day) that held the
 * winning value of a sample would lose it to the block. The compactor reads
 * the shadows and leaves such samples out of the block, so reads stay the
 * same. Bug fix (C1): before it, a later rewrite by a request that started
 * in the previous window was undone by compacting the window.
 */
function addShadows(jobs: CompactionJob[], entries: readonly Recorded[]): CompactionJob[] {
  for (const job of jobs) {
    const ids = new Set(job.inputs.map((r) => r.entry.id));
    let top = '';
    let mint = Infinity;
    let maxt = -Infinity;
    for (const { entry: e } of job.inputs) {
      if (orderKey(e) > top) top = orderKey(e);
      mint = Math.min(mint, e.minTime);
      maxt = Math.max(maxt, e.maxTime);
    }
    job.shadows = entries.filter((r) => {
      const x = r.entry;
      if (x.maxTime < mint || x.minTime > maxt || orderKey(x) > top || resolutionOf(x) !== 0 || ids.has(x.id)) return false;
      // It must outrank an input it overlaps in time.
      return job.inputs.some((a) => compareOrder(a.entry, x) < 0 && a.entry.maxTime >= x.minTime && a.entry.minTime <= x.maxTime);
    });
  }
  return jobs;
}
