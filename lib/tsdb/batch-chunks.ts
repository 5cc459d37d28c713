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
import { ChunkList } from './series-merge.ts';

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
  /** Buffers referenced by addRef, by arena index. */
  private readonly refs = new Map<Uint8Array, number>();
  private lastRef: Uint8Array | undefined;
  private lastRefArena = 0;
  private used = 0;
  private curArena = 0;
  private bytes = 0;
  /** After {@link finish}: chunks of series j are rows start[j]..start[j+1]). */
  private start: Uint32Array | undefined;

  constructor(
    private readonly numSeries: number,
    /** Chunks expected (the arrays grow past it). */
    capacity = 64,
  ) {
    if (capacity > 64) this.grow(capacity);
  }

  /** Chunks held. */
  get count(): number {
    return this.n;
  }

  /** Bytes held: chunk bytes, arena slack and the per-chunk arrays. */
  get byteSize(): number {
    return this.bytes + this.series.length * BatchChunkOverheadBytes;
  }

  /** A new row with a chunk's fields but its bytes' place (arena, offset), which the caller sets. */
  private row(s: number, order: number, minTime: number, maxTime: number, encoding: Encoding, len: number): number {
    if (this.start !== undefined) throw new Error('BatchChunks: add after finish');
    if (this.n === this.series.length) this.grow();
    const k = this.n++;
    this.series[k] = s;
    this.order[k] = order;
    this.minT[k] = minTime;
    this.maxT[k] = maxTime;
    this.enc[k] = encoding;
    this.len[k] = len;
    return k;
  }

  /**
   * Adds a chunk of series `s` (0-based within the batch) written by the
   * object of rank `order`, without copying: its bytes are `buf[off,
   * off+len)`, a buffer that must not change (a cached segment's bytes,
   * lib/tsdb/cached-segment.ts). They are not counted in {@link byteSize}
   * (the cache holds them anyway).
   */
  addRef(s: number, order: number, minTime: number, maxTime: number, encoding: Encoding, buf: Uint8Array, off: number, len: number): void {
    const k = this.row(s, order, minTime, maxTime, encoding, len);
    this.off[k] = off;
    if (buf !== this.lastRef) {
      let a = this.refs.get(buf);
      if (a === undefined) {
        a = this.arenas.length;
        this.arenas.push(buf);
        this.refs.set(buf, a);
      }
      this.lastRef = buf;
      this.lastRefArena = a;
    }
    this.arena[k] = this.lastRefArena;
  }

  /**
   * Adds a chunk of series `s` (0-based within the batch) written by the
   * object of rank `order`; `data` is copied.
   */
  add(s: number, order: number, minTime: number, maxTime: number, encoding: Encoding, data: Uint8Array): void {
    const k = this.row(s, order, minTime, maxTime, encoding, data.length);
    if (this.used + data.length > this.cur.length) {
      this.cur = new Uint8Array(Math.max(Math.min(MaxArenaBytes, FirstArenaBytes * 2 ** Math.min(this.arenas.length - this.refs.size, 4)), data.length));
      this.curArena = this.arenas.length;
      this.arenas.push(this.cur);
      this.used = 0;
      this.bytes += this.cur.length;
    }
    this.cur.set(data, this.used);
    this.arena[k] = this.curArena;
    this.off[k] = this.used;
    this.used += data.length;
  }

  /**
   * Groups the chunks by series (a counting sort that moves the rows, so
   * that series j's chunks are rows start[j]..start[j+1]); call once,
   * after the last add.
   */
  finish(): void {
    const start = new Uint32Array(this.numSeries + 1);
    const n = this.n;
    for (let k = 0; k < n; k++) start[this.series[k]! + 1]!++;
    for (let j = 0; j < this.numSeries; j++) start[j + 1]! += start[j]!;
    const fill = start.slice(0, this.numSeries);
    const order = new Uint32Array(n);
    const arena = new Uint32Array(n);
    const off = new Uint32Array(n);
    const len = new Uint32Array(n);
    const minT = new Float64Array(n);
    const maxT = new Float64Array(n);
    const enc = new Uint8Array(n);
    for (let k = 0; k < n; k++) {
      const p = fill[this.series[k]!]!++;
      order[p] = this.order[k]!;
      arena[p] = this.arena[k]!;
      off[p] = this.off[k]!;
      len[p] = this.len[k]!;
      minT[p] = this.minT[k]!;
      maxT[p] = this.maxT[k]!;
      enc[p] = this.enc[k]!;
    }
    this.order = order;
    this.arena = arena;
    this.off = off;
    this.len = len;
    this.minT = minT;
    this.maxT = maxT;
    this.enc = enc;
    this.series = new Uint32Array(0);
    this.start = start;
  }

  /** Number of chunks of series `s`. */
  countOf(s: number): number {
    const start = this.finished();
    return start[s + 1]! - start[s]!;
  }

  /** Appends the chunks of series `s` to `out` as source chunks (their bytes are views of the arenas). */
  pushTo(s: number, out: SourceChunk[]): void {
    const start = this.finished();
    for (let k = start[s]!; k < start[s + 1]!; k++) {
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

  /** Appends the chunks of series `s` to `list` (an own copy; bytes by reference). */
  listInto(s: number, list: ChunkList): void {
    const start = this.finished();
    for (let k = start[s]!; k < start[s + 1]!; k++) {
      list.push(this.minT[k]!, this.maxT[k]!, this.order[k]!, this.enc[k]!, this.arenas[this.arena[k]!]!, this.off[k]!, this.len[k]!);
    }
  }

  /** The chunks of series `s` as a view of the batch's arrays (no copy). */
  view(s: number): ChunkList {
    const start = this.finished();
    return ChunkList.view({
      first: start[s]!,
      n: start[s + 1]! - start[s]!,
      minT: this.minT,
      maxT: this.maxT,
      order: this.order,
      enc: this.enc,
      off: this.off,
      len: this.len,
      arena: this.arena,
      bufs: this.arenas,
    });
  }

  private finished(): Uint32Array {
    if (this.start === undefined) throw new Error('BatchChunks: read before finish');
    return this.start;
  }

  private grow(cap = this.series.length * 2): void {
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
