/**
 * Decides what to compact: which catalog entries become which block.
 *
 * Levels are window sizes (default 2 h, then 1 d). Level 1 merges the
 * segments whose first sample falls in a 2 h window, with any level-1
 * block already made for that window (late data: vertical compaction).
 * Level k > 1 merges the raw blocks of lower levels whose windows lie in
 * its window, with any level-k block already there. A window is compacted
 * once it is settled (its end plus `settleMs` has passed) unless forced.
 * Planning is pure: the same entries and time give the same jobs.
 */
import { compareOrder, orderKey, resolutionOf, type BlockEntry, type Recorded } from '../catalog/catalog.ts';

export const Hour = 3_600_000;
export const Day = 24 * Hour;

export interface PlannerOptions {
  /** Window size per level, ascending; each divides the next. */
  levels: readonly number[];
  /** How long after a window ends before it is compacted, ms. */
  settleMs: number;
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

export const DefaultLevels: readonly number[] = [2 * Hour, Day];

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

function settled(windowEnd: number, now: number, opts: PlannerOptions): boolean {
  return opts.force || now >= windowEnd + opts.settleMs;
}

function planFirst(entries: readonly Recorded[], now: number, opts: PlannerOptions): CompactionJob[] {
  const w = opts.levels[0]!;
  const groups = new Map<number, { segments: Recorded[]; blocks: Recorded[] }>();
  const group = (ws: number) => {
    let g = groups.get(ws);
    if (g === undefined) groups.set(ws, (g = { segments: [], blocks: [] }));
    return g;
  };
  for (const r of entries) {
    const e = r.entry;
    if (e.kind === 'segment') group(windowOf(e.minTime, w)).segments.push(r);
    else if (e.resolution === 0 && e.level === 1) group(e.windowStart).blocks.push(r);
  }
  const jobs: CompactionJob[] = [];
  for (const [ws, g] of [...groups].sort((a, b) => a[0] - b[0])) {
    if (g.segments.length === 0 || !settled(ws + w, now, opts)) continue;
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
  const w = opts.levels[level - 1]!;
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
    const b = e as BlockEntry;
    if (b.level < level) group(windowOf(b.windowStart, w)).lower.push(r);
    else if (b.level === level) group(b.windowStart).same.push(r);
  }
  const jobs: CompactionJob[] = [];
  for (const [ws, g] of [...groups].sort((a, b) => a[0] - b[0])) {
    if (g.lower.length === 0 || g.pending || !settled(ws + w, now, opts)) continue;
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
