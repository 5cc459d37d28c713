/**
 * A block series' samples encoded as XOR chunks, as STREAMED_XOR_CHUNKS
 * answers need them: blocks store columns, so every chunk read of a block
 * series would otherwise decode and re-encode it. When a query covers the
 * series' whole time range in the block, its chunks are those of the whole
 * series (cut every 120 samples from its first, as segments and the
 * re-encoding of merged samples cut them), so they can be encoded once and
 * kept in the page cache under the block's id: blocks are immutable, so the
 * entry never goes stale, and its size counts against the cache's budget.
 */
import { Encoding } from '../chunkenc/chunk.ts';
import type { XorColumnEncoder } from '../chunkenc/xor-columns.ts';
import { MaxChunkSpanMs, SamplesPerChunk } from '../segment/format.ts';
import type { SourceChunk } from '../storage/merge.ts';
import type { SizedValue } from './page-cache.ts';

/** The chunks of one block series, back to back in one array. Immutable once built. */
export class EncodedSeries implements SizedValue {
  private constructor(
    readonly data: Uint8Array,
    readonly off: Uint32Array,
    readonly len: Uint32Array,
    readonly minT: Float64Array,
    readonly maxT: Float64Array,
  ) {}

  /** Encodes samples [from, to) of the columns with `scratch` (reset first) and copies the result out. */
  static encode(t: Float64Array, v: Float64Array, from: number, to: number, scratch: XorColumnEncoder): EncodedSeries {
    scratch.reset();
    scratch.encode(t, v, from, to, SamplesPerChunk, MaxChunkSpanMs);
    const n = scratch.count;
    return new EncodedSeries(scratch.buf.slice(0, scratch.used), scratch.off.slice(0, n), scratch.len.slice(0, n), scratch.minT.slice(0, n), scratch.maxT.slice(0, n));
  }

  get byteSize(): number {
    return this.data.length + this.off.length * 24 + 200;
  }

  /** Appends the chunks to `out` as source chunks of rank `order` (views of `data`). */
  pushTo(out: SourceChunk[], order: number): void {
    for (let k = 0; k < this.off.length; k++) {
      const o = this.off[k]!;
      out.push({ minTime: this.minT[k]!, maxTime: this.maxT[k]!, encoding: Encoding.XOR, data: this.data.subarray(o, o + this.len[k]!), order });
    }
  }
}
