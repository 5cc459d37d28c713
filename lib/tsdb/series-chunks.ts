/**
 * A block series' samples encoded as XOR chunks, as STREAMED_XOR_CHUNKS
 * answers need them: blocks store columns, so every chunk read of a block
 * series would otherwise decode and re-encode it. When a query covers the
 * series' whole time range in the block, its chunks are those of the whole
 * series (cut every 120 samples from its first, as segments and the
 * re-encoding of merged samples cut them), so they can be encoded once and
 * kept in the page cache under the block's id: blocks are immutable, so the
 * entry never goes stale, and its size counts against the cache's budget
 * (a block's entry stops growing at the cache's largest value).
 */
import { Encoding } from '../chunkenc/chunk.ts';
import type { XorColumnEncoder } from '../chunkenc/xor-columns.ts';
import { MaxChunkSpanMs, SamplesPerChunk } from '../segment/format.ts';
import type { SourceChunk } from '../storage/merge.ts';
import type { SizedValue } from './page-cache.ts';
import { withLength } from '../util/bytes.ts';

/**
 * The chunks of a block's series, encoded as reads ask for them: one
 * page-cache entry per block, so that a read looks its series up by
 * position (no key made, no cache entry touched per series; both cost
 * ~2 ms of a 1000-series read, measured). Chunk bytes are appended to one
 * buffer; a series, once added, never changes (views handed out stay
 * valid when the buffer grows: they keep the old one).
 */
export class BlockEncodings implements SizedValue {
  /** Per series position: its first chunk + 1 (0: not encoded), and its number of chunks. */
  private readonly first: Uint32Array;
  private readonly count: Uint32Array;
  private data = new Uint8Array(16 * 1024);
  private used = 0;
  private off = new Uint32Array(256);
  private len = new Uint32Array(256);
  private minT = new Float64Array(256);
  private maxT = new Float64Array(256);
  private chunks = 0;

  constructor(numSeries: number) {
    this.first = new Uint32Array(numSeries);
    this.count = new Uint32Array(numSeries);
  }

  get byteSize(): number {
    return 200 + this.first.length * 8 + this.data.length + this.off.length * 24;
  }

  has(i: number): boolean {
    return this.first[i] !== 0;
  }

  /** Bytes the chunks of series i take (with their bookkeeping). */
  bytesOf(i: number): number {
    const a = this.first[i]! - 1;
    const n = this.count[i]!;
    return n === 0 ? 0 : this.off[a + n - 1]! + this.len[a + n - 1]! - this.off[a]! + n * 24;
  }

  /**
   * Takes the chunks in `scratch` (see {@link encodeSeries}) as series i's,
   * unless that would take this past `limit` bytes; returns whether it did.
   */
  add(i: number, scratch: XorColumnEncoder, limit: number): boolean {
    const n = scratch.count;
    const bytes = scratch.used;
    if (this.byteSize + bytes + n * 24 > limit) return false;
    if (this.used + bytes > this.data.length) this.data = withLength(this.data, Math.max(this.data.length * 2, this.used + bytes));
    if (this.chunks + n > this.off.length) {
      const cap = Math.max(this.off.length * 2, this.chunks + n);
      this.off = withLength(this.off, cap);
      this.len = withLength(this.len, cap);
      this.minT = withLength(this.minT, cap);
      this.maxT = withLength(this.maxT, cap);
    }
    this.data.set(scratch.buf.subarray(0, bytes), this.used);
    for (let k = 0; k < n; k++) {
      const c = this.chunks + k;
      this.off[c] = this.used + scratch.off[k]!;
      this.len[c] = scratch.len[k]!;
      this.minT[c] = scratch.minT[k]!;
      this.maxT[c] = scratch.maxT[k]!;
    }
    this.first[i] = this.chunks + 1;
    this.count[i] = n;
    this.chunks += n;
    this.used += bytes;
    return true;
  }

  /** Appends series i's chunks to `out` as source chunks of rank `order` (views of the buffer). */
  pushTo(i: number, out: SourceChunk[], order: number): void {
    const a = this.first[i]! - 1;
    const data = this.data;
    for (let c = a; c < a + this.count[i]!; c++) {
      const o = this.off[c]!;
      out.push({ minTime: this.minT[c]!, maxTime: this.maxT[c]!, encoding: Encoding.XOR, data: data.subarray(o, o + this.len[c]!), order });
    }
  }
}

/** Encodes samples [from, to) of the columns into `scratch` (reset first) as a block series' chunks: cut as segments cut them. */
export function encodeSeries(t: Float64Array, v: Float64Array, from: number, to: number, scratch: XorColumnEncoder): void {
  scratch.reset();
  scratch.encode(t, v, from, to, SamplesPerChunk, MaxChunkSpanMs);
}

/** Appends the chunks in `scratch` to `out` as source chunks of rank `order`, over a copy of their bytes (for a series the cache cannot take). */
export function pushCopy(scratch: XorColumnEncoder, out: SourceChunk[], order: number): void {
  const data = scratch.buf.slice(0, scratch.used);
  for (let k = 0; k < scratch.count; k++) {
    const o = scratch.off[k]!;
    out.push({ minTime: scratch.minT[k]!, maxTime: scratch.maxT[k]!, encoding: Encoding.XOR, data: data.subarray(o, o + scratch.len[k]!), order });
  }
}
