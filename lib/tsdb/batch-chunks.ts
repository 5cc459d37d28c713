/**
 * The segment chunks of one batch of series while a select is answered, in
 * flat typed arrays: no object per chunk until a series is handed out.
 *
 * Uncompacted data holds one small chunk per series and segment (one sample
 * each when every request carries one sample per series), so a read over
 * thousands of segments meets millions of chunks. As objects (a SourceChunk
 * and its byte view, about 250 bytes each) they filled the heap before the
 * first series was answered; here a chunk costs its bytes plus 37 bytes of
 * typed arrays, and its bytes are copied out of the object read, so the read
 * buffers (which hold other series too) are freed at once.
 */
import type { Encoding } from '../chunkenc/chunk.ts';
import type { SourceChunk } from '../storage/merge.ts';
import { withLength } from '../util/bytes.ts';

/** Chunk bytes are copied into arenas of 64 KiB, doubling up to 1 MiB (a larger chunk gets its own). */
const FirstArenaBytes = 64 * 1024;
const MaxArenaBytes = 1 << 20;

/** Bytes of typed arrays per chunk held (see the fields of {@link BatchChunks}). */
export const BatchChunkOverheadBytes = 37;

/** Chunks of the series of one batch, added in any order, handed out per series. */
export class BatchChunks {
  private n = 0;
  private series = new Uint32Array(64);
  private order = new Uint32Array(64);
  private arena = new Uint32Array(64);
  private off = new Uint32Array(64);
  private len = new Uint32Array(64);
  private minT = new Float64Array(64);
  private maxT = new Float64Array(64);
  private enc = new Uint8Array(64);
  private readonly arenas: Uint8Array[] = [];
  private cur = new Uint8Array(0);
  private used = 0;
  private bytes = 0;
  /** After {@link finish}: chunks of series j are perm[start[j]..start[j+1]). */
  private start: Uint32Array | undefined;
  private perm: Uint32Array | undefined;

  constructor(private readonly numSeries: number) {}

  /** Chunks held. */
  get count(): number {
    return this.n;
  }

  /** Bytes held: chunk bytes, arena slack and the per-chunk arrays. */
  get byteSize(): number {
    return this.bytes + this.series.length * BatchChunkOverheadBytes;
  }

  /**
   * Adds a chunk of series `s` (0-based within the batch) written by the
   * object of rank `order`; `data` is copied.
   */
  add(s: number, order: number, minTime: number, maxTime: number, encoding: Encoding, data: Uint8Array): void {
    if (this.start !== undefined) throw new Error('BatchChunks: add after finish');
    if (this.n === this.series.length) this.grow();
    const k = this.n++;
    this.series[k] = s;
    this.order[k] = order;
    this.minT[k] = minTime;
    this.maxT[k] = maxTime;
    this.enc[k] = encoding;
    this.len[k] = data.length;
    if (this.used + data.length > this.cur.length) {
      this.cur = new Uint8Array(Math.max(Math.min(MaxArenaBytes, FirstArenaBytes * 2 ** Math.min(this.arenas.length, 4)), data.length));
      this.arenas.push(this.cur);
      this.used = 0;
      this.bytes += this.cur.length;
    }
    this.cur.set(data, this.used);
    this.arena[k] = this.arenas.length - 1;
    this.off[k] = this.used;
    this.used += data.length;
  }

  /** Groups the chunks by series (a counting sort); call once, after the last add. */
  finish(): void {
    const start = new Uint32Array(this.numSeries + 1);
    for (let k = 0; k < this.n; k++) start[this.series[k]! + 1]!++;
    for (let j = 0; j < this.numSeries; j++) start[j + 1]! += start[j]!;
    const fill = start.slice(0, this.numSeries);
    const perm = new Uint32Array(this.n);
    for (let k = 0; k < this.n; k++) perm[fill[this.series[k]!]!++] = k;
    this.start = start;
    this.perm = perm;
  }

  /** Number of chunks of series `s`. */
  countOf(s: number): number {
    const start = this.finished();
    return start[s + 1]! - start[s]!;
  }

  /** Appends the chunks of series `s` to `out` as source chunks (their bytes are views of the arenas). */
  pushTo(s: number, out: SourceChunk[]): void {
    const start = this.finished();
    const perm = this.perm!;
    for (let p = start[s]!; p < start[s + 1]!; p++) {
      const k = perm[p]!;
      const o = this.off[k]!;
      out.push({
        minTime: this.minT[k]!,
        maxTime: this.maxT[k]!,
        encoding: this.enc[k]! as Encoding,
        data: this.arenas[this.arena[k]!]!.subarray(o, o + this.len[k]!),
        order: this.order[k]!,
      });
    }
  }

  private finished(): Uint32Array {
    if (this.start === undefined) throw new Error('BatchChunks: read before finish');
    return this.start;
  }

  private grow(): void {
    const cap = this.series.length * 2;
    this.series = withLength(this.series, cap);
    this.order = withLength(this.order, cap);
    this.arena = withLength(this.arena, cap);
    this.off = withLength(this.off, cap);
    this.len = withLength(this.len, cap);
    this.minT = withLength(this.minT, cap);
    this.maxT = withLength(this.maxT, cap);
    this.enc = withLength(this.enc, cap);
  }
}
