/**
 * Reading samples for selectors, with Prometheus 2.42's semantics:
 *
 * - an instant selector at time `t` takes the latest sample at or before `t`
 *   and not before `t - lookbackDelta` (both ends included); when that
 *   sample is a stale marker the series yields nothing
 *   (`vectorSelectorSingle`);
 * - a range selector takes every sample in `[t - range, t]`, both ends
 *   included in 2.x, without stale markers (`matrixIterSlice`).
 *
 * Both cursors walk a forward-only {@link SampleIterator}, for windows that
 * move forward in time, holding only the samples they must.
 */
import type { Point } from '../value.ts';
import type { SampleIterator } from '../../storage/interface.ts';
import type { QueryContext } from './context.ts';

const scratchF = new Float64Array(1);
const scratchU = new Uint32Array(scratchF.buffer);
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const hi = littleEndian ? 1 : 0;
const lo = littleEndian ? 0 : 1;

/** Reports whether `v` is Prometheus' stale marker (bits 0x7ff0000000000002). */
export function isStaleNaN(v: number): boolean {
  if (v === v) return false; // not NaN
  scratchF[0] = v;
  return scratchU[hi] === 0x7ff00000 && scratchU[lo] === 2;
}

/**
 * The latest sample at or before a reference time, for reference times
 * that never decrease.
 */
export class LookbackCursor {
  private has = false;
  private curT = 0;
  private curV = 0;
  private prevOk = false;
  private prevT = 0;
  private prevV = 0;
  /** Time of the sample found by the last successful {@link at}. */
  t = 0;
  /** Value of the sample found by the last successful {@link at}. */
  v = 0;

  constructor(
    private readonly it: SampleIterator,
    private readonly lookbackDelta: number,
  ) {
    this.advance();
  }

  private advance(): void {
    this.has = this.it.next();
    if (this.has) {
      this.curT = this.it.atT();
      this.curV = this.it.atV();
    } else {
      const e = this.it.err();
      if (e !== null) throw e;
    }
  }

  /**
   * Finds the sample for `refTime`: true (with {@link t} and {@link v} set)
   * when a sample lies in `[refTime - lookbackDelta, refTime]` and the
   * latest such one is not a stale marker.
   */
  at(refTime: number): boolean {
    const from = refTime - this.lookbackDelta;
    if (this.has && this.curT < from) {
      // Skip what cannot matter; the previous sample is then before `from`.
      this.has = this.it.seek(from);
      this.prevOk = false;
      if (this.has) {
        this.curT = this.it.atT();
        this.curV = this.it.atV();
      } else {
        const e = this.it.err();
        if (e !== null) throw e;
      }
    }
    while (this.has && this.curT <= refTime) {
      this.prevOk = true;
      this.prevT = this.curT;
      this.prevV = this.curV;
      this.advance();
    }
    if (!this.prevOk || this.prevT < from) return false;
    if (isStaleNaN(this.prevV)) return false;
    this.t = this.prevT;
    this.v = this.prevV;
    return true;
  }
}

/**
 * The samples in a window `[mint, maxt]` that moves forward, stale markers
 * left out. Keeps the points shared by consecutive windows, counting the
 * points it holds in the query's sample budget as Prometheus does.
 */
export class WindowCursor {
  /** The points of the current window; owned by the cursor. */
  readonly points: Point[] = [];
  private has = false;
  private curT = 0;
  private curV = 0;
  private it: SampleIterator | undefined;

  constructor(private readonly qc: QueryContext) {}

  /** Starts over on another series; the points held are released. */
  reset(it: SampleIterator): void {
    this.qc.currentSamples -= this.points.length;
    this.points.length = 0;
    this.it = it;
    this.advance();
  }

  /** Releases the points held (for the sample count). */
  release(): void {
    this.qc.currentSamples -= this.points.length;
    this.points.length = 0;
  }

  private advance(): void {
    this.has = this.it!.next();
    if (this.has) {
      this.curT = this.it!.atT();
      this.curV = this.it!.atV();
    } else {
      const e = this.it!.err();
      if (e !== null) throw e;
    }
  }

  /** Moves the window to `[mint, maxt]` (both ends not below the last ones) and returns its points. */
  window(mint: number, maxt: number): Point[] {
    const pts = this.points;
    let drop = 0;
    while (drop < pts.length && pts[drop]!.t < mint) drop++;
    if (drop > 0) {
      pts.splice(0, drop);
      this.qc.currentSamples -= drop;
    }
    if (this.has && this.curT < mint) {
      this.has = this.it!.seek(mint);
      if (this.has) {
        this.curT = this.it!.atT();
        this.curV = this.it!.atV();
      } else {
        const e = this.it!.err();
        if (e !== null) throw e;
      }
    }
    while (this.has && this.curT <= maxt) {
      if (!isStaleNaN(this.curV)) {
        this.qc.addOne();
        pts.push({ t: this.curT, v: this.curV });
      }
      this.advance();
    }
    return pts;
  }
}

/** A {@link SampleIterator} over points in memory (subquery results). */
export class PointsIterator implements SampleIterator {
  private i = -1;
  constructor(private readonly ts: readonly number[], private readonly vs: readonly number[]) {}
  next(): boolean {
    if (this.i < this.ts.length) this.i++;
    return this.i < this.ts.length;
  }
  seek(t: number): boolean {
    if (this.i < 0) this.i = 0;
    while (this.i < this.ts.length && this.ts[this.i]! < t) this.i++;
    return this.i < this.ts.length;
  }
  atT(): number {
    return this.ts[this.i]!;
  }
  atV(): number {
    return this.vs[this.i]!;
  }
  err(): Error | null {
    return null;
  }
}
