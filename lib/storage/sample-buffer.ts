/**
 * A growable pair of Float64Arrays that collects samples from iterators.
 * Values stay in a Float64Array all the way: a plain JS array of doubles
 * would canonicalize NaN payloads (V8 does), losing stale markers.
 */
import type { SampleIterator } from './interface.ts';

export class SampleBuffer {
  private t: Float64Array;
  private v: Float64Array;
  /** Samples held. */
  n = 0;

  constructor(initial = 256) {
    this.t = new Float64Array(initial);
    this.v = new Float64Array(initial);
  }

  /**
   * Appends every remaining sample of `it`; rethrows its error. Returns the
   * number of samples added.
   */
  drain(it: SampleIterator): number {
    const before = this.n;
    while (it.next()) {
      if (this.n === this.t.length) this.grow();
      this.t[this.n] = it.atT();
      this.v[this.n] = it.atV();
      this.n++;
    }
    const e = it.err();
    if (e !== null) throw e;
    return this.n - before;
  }

  /** Copies of the samples held, then empties the buffer (keeping its memory). */
  take(): { timestamps: Float64Array; values: Float64Array } {
    const out = { timestamps: this.t.slice(0, this.n), values: this.v.slice(0, this.n) };
    this.n = 0;
    return out;
  }

  private grow(): void {
    const t = new Float64Array(this.t.length * 2);
    t.set(this.t);
    const v = new Float64Array(this.v.length * 2);
    v.set(this.v);
    this.t = t;
    this.v = v;
  }
}
