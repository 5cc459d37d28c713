/**
 * The write path of one tenant: an appender buffers samples, then
 * `commit()` writes them as (part of) one immutable segment, indexes series
 * that are new to a bucket, records the segment in the catalog and only
 * then resolves (invariant 1). See lib/tsdb/segment-commit.ts for the
 * steps and their crash-safe order, lib/tsdb/group-commit.ts for commits
 * that share a segment.
 */
import { writeSegment, type CommitResult, type PendingWrite, type SegmentDeps } from './segment-commit.ts';
import type { GroupCommitter } from './group-commit.ts';
import type { SeriesEntry } from './series-cache.ts';

export { idOrder, mapLimit, sortDedup, type CommitResult } from './segment-commit.ts';

/** Expected size of a write, so that an appender allocates its buffers once. */
export interface AppenderCapacity {
  samples?: number;
  series?: number;
}

export interface AppenderDeps extends SegmentDeps {
  /** Called (and awaited) before the first write of every commit; the tenant registry hooks in here. */
  beforeCommit?: () => Promise<void>;
  /** When set, commits go through it and may share a segment with concurrent ones. */
  committer?: GroupCommitter;
}

/**
 * Collects samples of one write. `append` only buffers and is synchronous;
 * `commit` makes the batch durable and indexed; `rollback` drops it. Use
 * once, by one task.
 *
 * Samples are kept in runs: consecutive appends for the same series entry
 * extend one run (a remote-write request appends each series' samples
 * together, so a request is one run per series and no per-sample lookup is
 * needed). A series appended in several runs, or under two entries with
 * the same id (two label encodings of one series), is merged at commit.
 */
export class Appender {
  /** The series entry of each run. */
  private entries: SeriesEntry[];
  /** First sample of each run; runStart[runs] is set to n at commit. */
  private runStart: Int32Array;
  /** The first 32 bits of each run's series id (PendingWrite.keys). */
  private keys: Uint32Array;
  private runs = 0;
  private last: SeriesEntry | undefined;
  private ts: Float64Array;
  private vs: Float64Array;
  private n = 0;
  private done = false;

  constructor(
    private readonly deps: AppenderDeps,
    expected: AppenderCapacity = {},
  ) {
    const samples = Math.min(Math.max(expected.samples ?? 1024, 16), 1 << 20);
    const series = Math.min(Math.max(expected.series ?? 256, 16), 1 << 20);
    this.entries = new Array<SeriesEntry>(series);
    this.runStart = new Int32Array(series + 1);
    this.keys = new Uint32Array(series + 1);
    this.ts = new Float64Array(samples);
    this.vs = new Float64Array(samples);
  }

  /** Buffers one sample. Out-of-order and duplicate timestamps are fine. */
  append(s: SeriesEntry, t: number, v: number): void {
    if (s !== this.last) this.newRun(s);
    if (this.n === this.ts.length) this.growSamples(1);
    this.ts[this.n] = t;
    this.vs[this.n] = v;
    this.n++;
  }

  /** Buffers samples t[from..to), v[from..to) of one series. */
  appendMany(s: SeriesEntry, t: Float64Array, v: Float64Array, from: number, to: number): void {
    const k = to - from;
    if (k <= 0) return;
    if (s !== this.last) this.newRun(s);
    if (this.n + k > this.ts.length) this.growSamples(k);
    if (k === 1) {
      this.ts[this.n] = t[from]!;
      this.vs[this.n] = v[from]!;
    } else {
      // Copies float64 bit patterns as they are (NaN payloads included).
      this.ts.set(t.subarray(from, to), this.n);
      this.vs.set(v.subarray(from, to), this.n);
    }
    this.n += k;
  }

  get numSamples(): number {
    return this.n;
  }

  rollback(): void {
    this.done = true;
    this.entries = [];
    this.last = undefined;
  }

  async commit(): Promise<CommitResult> {
    if (this.done) throw new Error('appender already committed or rolled back');
    this.done = true;
    const n = this.n;
    if (n === 0) return { numSeries: 0, numSamples: 0, duplicatesDropped: 0, seriesIndexed: 0, bytes: 0, groupSize: 0 };
    if (this.deps.beforeCommit !== undefined) await this.deps.beforeCommit();
    this.runStart[this.runs] = n;
    const write: PendingWrite = { entries: this.entries, runStart: this.runStart, runs: this.runs, t: this.ts, v: this.vs, n, keys: this.keys };
    if (this.deps.committer !== undefined) return this.deps.committer.commit(write);
    return (await writeSegment(this.deps, [write]))[0]!;
  }

  private newRun(s: SeriesEntry): void {
    if (this.runs + 1 >= this.runStart.length) {
      const next = new Int32Array(this.runStart.length * 2);
      next.set(this.runStart);
      this.runStart = next;
      const keys = new Uint32Array(next.length);
      keys.set(this.keys);
      this.keys = keys;
    }
    this.keys[this.runs] = s.w0 >>> 0;
    this.entries[this.runs] = s;
    this.runStart[this.runs++] = this.n;
    this.last = s;
  }

  private growSamples(extra: number): void {
    let size = this.ts.length * 2;
    while (size < this.n + extra) size *= 2;
    const ts = new Float64Array(size);
    ts.set(this.ts);
    const vs = new Float64Array(size);
    vs.set(this.vs);
    this.ts = ts;
    this.vs = vs;
  }
}
