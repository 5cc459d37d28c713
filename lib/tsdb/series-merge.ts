/**
 * Merging one series' chunks from many segments without an object per
 * chunk: the same answers as lib/storage/merge.ts (SeriesIterator,
 * seriesColumns, seriesChunks), sample for sample and byte for byte.
 *
 * A read of uncompacted data meets one tiny chunk per series and segment
 * (a few samples): hundreds per series. merge.ts makes a SourceChunk, a byte
 * view and an XOR iterator (with its own padded buffer) for each, then
 * clusters them with arrays of arrays. Here a series' chunks are rows of
 * flat arrays (bytes as offsets into shared buffers), one XOR iterator is
 * reset for each chunk, and samples are decoded straight into the answer's
 * columns. Chunks that overlap nothing (the usual case) are concatenated;
 * overlapping ones are merged as merge.ts's MergeIterator does (lowest
 * timestamp first; on equal timestamps the chunk of the highest `order`, the
 * later-written object, wins, and every chunk at that timestamp advances).
 */
import { Encoding } from '../chunkenc/chunk.ts';
import { XORIterator } from '../chunkenc/xor.ts';
import type { XorColumnEncoder } from '../chunkenc/xor-columns.ts';
import { MaxChunkSpanMs, SamplesPerChunk } from '../segment/format.ts';
import { SmallChunkSamples, type ColumnSlice, type SourceChunk } from '../storage/merge.ts';
import type { ChunkMeta } from '../storage/interface.ts';
import { CorruptionError } from '../util/errors.ts';
import { withLength } from '../util/bytes.ts';
import { decodeXorInto } from './xor-flat.ts';

/** Rows `[first, first + n)` of flat chunk arrays (see {@link ChunkList}). */
export interface ChunkRows {
  readonly first: number;
  readonly n: number;
  readonly minT: Float64Array;
  readonly maxT: Float64Array;
  readonly order: Uint32Array;
  readonly enc: Uint8Array;
  readonly off: Uint32Array;
  readonly len: Uint32Array;
  readonly arena: Uint32Array;
  readonly bufs: Uint8Array[];
}

/**
 * The chunks of one series, rows `[first, first + n)` of flat arrays: stored
 * XOR bytes (`bufs[arena[k]]` at `off[k]`, `len[k]` bytes) or, for chunks
 * handed in as objects (blocks), `src[k]`. Either a view of a batch's
 * arrays ({@link ChunkList.view}, segment chunks only) or its own copy
 * (`new ChunkList(cap)` and push).
 */
export class ChunkList {
  first = 0;
  n = 0;
  minT: Float64Array;
  maxT: Float64Array;
  order: Uint32Array;
  enc: Uint8Array;
  off: Uint32Array;
  len: Uint32Array;
  arena: Uint32Array;
  bufs: Uint8Array[];
  /** Per row of an own copy: the chunk object for rows added by {@link pushSource}. */
  readonly src: (SourceChunk | undefined)[] | undefined;
  /** Rows that are segment chunks (not added by {@link pushSource}). */
  rows = 0;

  constructor(cap = 8, viewOf?: ChunkRows) {
    if (viewOf !== undefined) {
      this.first = viewOf.first;
      this.n = viewOf.n;
      this.rows = viewOf.n;
      this.minT = viewOf.minT;
      this.maxT = viewOf.maxT;
      this.order = viewOf.order;
      this.enc = viewOf.enc;
      this.off = viewOf.off;
      this.len = viewOf.len;
      this.arena = viewOf.arena;
      this.bufs = viewOf.bufs;
      this.src = undefined;
      return;
    }
    cap = Math.max(cap, 4);
    this.minT = new Float64Array(cap);
    this.maxT = new Float64Array(cap);
    this.order = new Uint32Array(cap);
    this.enc = new Uint8Array(cap);
    this.off = new Uint32Array(cap);
    this.len = new Uint32Array(cap);
    this.arena = new Uint32Array(cap);
    this.bufs = [];
    this.src = [];
  }

  /** A list over rows `[first, first + n)` of a batch's arrays (no copy; they must not change). */
  static view(v: ChunkRows): ChunkList {
    return new ChunkList(0, v);
  }

  /** Empties an own copy for reuse (its arrays are kept). */
  reset(): void {
    if (this.src === undefined) throw new Error('ChunkList: reset of a view');
    this.n = 0;
    this.rows = 0;
    this.bufs.length = 0;
    this.src.length = 0;
  }

  /** Adds stored chunk bytes `buf[off, off+len)` (own copies only). */
  push(minT: number, maxT: number, order: number, enc: number, buf: Uint8Array, off: number, len: number): void {
    const src = this.src;
    if (src === undefined) throw new Error('ChunkList: push to a view');
    if (this.n === this.minT.length) this.grow(this.n * 2);
    const k = this.n++;
    this.minT[k] = minT;
    this.maxT[k] = maxT;
    this.order[k] = order;
    this.enc[k] = enc;
    this.off[k] = off;
    this.len[k] = len;
    if (this.bufs[this.bufs.length - 1] !== buf) this.bufs.push(buf);
    this.arena[k] = this.bufs.length - 1;
    src[k] = undefined;
    this.rows++;
  }

  /** Adds a chunk given as an object (a block's columns or cached XOR chunk). */
  pushSource(c: SourceChunk): void {
    this.push(c.minTime, c.maxTime, c.order, c.encoding, c.data, 0, c.data.length);
    this.src![this.n - 1] = c;
    this.rows--;
  }

  /** The chunk object of row k, if it was handed in as one. */
  source(k: number): SourceChunk | undefined {
    return this.src === undefined ? undefined : this.src[k];
  }

  /** Stored bytes of row k (a view). */
  bytes(k: number): Uint8Array {
    const s = this.source(k);
    if (s !== undefined) return s.data;
    return this.bufs[this.arena[k]!]!.subarray(this.off[k]!, this.off[k]! + this.len[k]!);
  }

  /** The chunks as merge.ts's SourceChunk objects (views of the same bytes). */
  toSourceChunks(): SourceChunk[] {
    const out: SourceChunk[] = [];
    for (let k = this.first; k < this.first + this.n; k++) {
      out.push(this.source(k) ?? { minTime: this.minT[k]!, maxTime: this.maxT[k]!, encoding: this.enc[k]! as Encoding, data: this.bytes(k), order: this.order[k]! });
    }
    return out;
  }

  /** Samples row k holds (per its header or columns). */
  numSamples(k: number): number {
    const s = this.source(k);
    if (s?.samples !== undefined) return s.samples.to - s.samples.from;
    if (this.len[k]! < 2) return 0;
    const b = this.bufs[this.arena[k]!]!;
    const o = this.off[k]!;
    return (b[o]! << 8) | b[o + 1]!;
  }

  private grow(cap: number): void {
    this.minT = withLength(this.minT, cap);
    this.maxT = withLength(this.maxT, cap);
    this.order = withLength(this.order, cap);
    this.enc = withLength(this.enc, cap);
    this.off = withLength(this.off, cap);
    this.len = withLength(this.len, cap);
    this.arena = withLength(this.arena, cap);
  }
}

/** Growable sample columns. */
export class Cols {
  t: Float64Array;
  v: Float64Array;
  n = 0;
  constructor(cap: number) {
    this.t = new Float64Array(Math.max(cap, 4));
    this.v = new Float64Array(Math.max(cap, 4));
  }
  push(t: number, v: number): void {
    if (this.n === this.t.length) {
      this.t = withLength(this.t, this.n * 2);
      this.v = withLength(this.v, this.n * 2);
    }
    this.t[this.n] = t;
    this.v[this.n++] = v;
  }
}

/** One iterator, reset per chunk: its padded buffer is allocated once. */
const xorIt = new XORIterator();
/** Scratch for clusters of overlapping chunks: every chunk decoded, then merged. */
const scratch = new Cols(1024);
let runStart = new Uint32Array(16);
let runEnd = new Uint32Array(16);

/** Decodes chunk k of `list` into `out` (all its samples). Throws on corrupt or unsupported chunks. */
function decodeChunk(list: ChunkList, k: number, out: Cols): void {
  const s = list.source(k);
  if (s?.samples !== undefined) {
    const c = s.samples;
    for (let i = c.from; i < c.to; i++) out.push(c.t[i]!, c.v[i]!);
    return;
  }
  if (list.enc[k] !== Encoding.XOR) throw new CorruptionError(`chunk encoding ${list.enc[k]} is not supported yet (only XOR)`);
  const n0 = out.n;
  if (s === undefined && decodeXorInto(list.bufs[list.arena[k]!]!, list.off[k]!, list.len[k]!, out)) return;
  // Not decodable in place (or a block's chunk object): the iterator decodes it, or says why not.
  out.n = n0;
  const it = xorIt;
  it.reset(list.bytes(k));
  while (it.next()) out.push(it.atT(), it.atV());
  const e = it.err();
  if (e !== null) throw e;
}

/** Indices of the chunks overlapping [mint, maxt], sorted by (minT, order) as merge.ts's clusters() sorts them. */
function sortedInRange(list: ChunkList, mint: number, maxt: number): number[] {
  const idx: number[] = [];
  let sorted = true;
  for (let k = list.first; k < list.first + list.n; k++) {
    if (list.maxT[k]! < mint || list.minT[k]! > maxt) continue;
    if (idx.length > 0) {
      const p = idx[idx.length - 1]!;
      const d = list.minT[p]! - list.minT[k]! || list.order[p]! - list.order[k]!;
      if (d > 0) sorted = false;
    }
    idx.push(k);
  }
  // Stable, as Array.prototype.sort is: equal keys keep their input order.
  if (!sorted) idx.sort((a, b) => list.minT[a]! - list.minT[b]! || list.order[a]! - list.order[b]!);
  return idx;
}

/** Cluster boundaries over sorted `idx`: cluster c is idx[bounds[c], bounds[c+1]). */
function clusterBounds(list: ChunkList, idx: readonly number[]): number[] {
  const bounds: number[] = [];
  let maxT = -Infinity;
  for (let p = 0; p < idx.length; p++) {
    const k = idx[p]!;
    if (p > 0 && list.minT[k]! <= maxT) {
      maxT = Math.max(maxT, list.maxT[k]!);
    } else {
      bounds.push(p);
      maxT = list.maxT[k]!;
    }
  }
  bounds.push(idx.length);
  return bounds;
}

/**
 * Appends to `out` the merged samples within [mint, maxt] of the chunks
 * idx[from, to), cluster by cluster as SeriesIterator iterates them: a lone
 * chunk as stored, overlapping ones merged.
 */
function mergeInto(list: ChunkList, idx: readonly number[], from: number, to: number, mint: number, maxt: number, out: Cols): void {
  const sub = idx.slice(from, to);
  const bounds = clusterBounds(list, sub);
  for (let c = 0; c + 1 < bounds.length; c++) {
    const a = bounds[c]!;
    const b = bounds[c + 1]!;
    if (b - a === 1) {
      // A lone chunk: its samples as stored, cut to the range.
      const start = out.n;
      decodeChunk(list, sub[a]!, out);
      cutInPlace(out, start, mint, maxt);
      continue;
    }
    mergeCluster(list, sub, a, b, mint, maxt, out);
  }
}

/** Keeps out[start..] within [mint, maxt]: drops samples before mint, and from the first after maxt on. */
function cutInPlace(out: Cols, start: number, mint: number, maxt: number): void {
  const t = out.t;
  const v = out.v;
  let w = start;
  for (let i = start; i < out.n; i++) {
    const x = t[i]!;
    if (x < mint) continue;
    if (x > maxt) break;
    t[w] = x;
    v[w++] = v[i]!;
  }
  out.n = w;
}

/** merge.ts's MergeIterator over the chunks sub[a, b), cut to [mint, maxt] as SeriesIterator cuts. */
function mergeCluster(list: ChunkList, sub: readonly number[], a: number, b: number, mint: number, maxt: number, out: Cols): void {
  const m = b - a;
  if (runStart.length < m) {
    runStart = new Uint32Array(m * 2);
    runEnd = new Uint32Array(m * 2);
  }
  scratch.n = 0;
  for (let r = 0; r < m; r++) {
    runStart[r] = scratch.n;
    decodeChunk(list, sub[a + r]!, scratch);
    runEnd[r] = scratch.n;
  }
  const st = scratch.t;
  const sv = scratch.v;
  const order = list.order;
  for (;;) {
    let best = -1;
    let minT = Infinity;
    for (let r = 0; r < m; r++) {
      if (runStart[r]! >= runEnd[r]!) continue;
      const t = st[runStart[r]!]!;
      if (t < minT || (t === minT && order[sub[a + r]!]! > order[sub[a + best]!]!)) {
        minT = t;
        best = r;
      }
    }
    if (best < 0) return;
    const v = sv[runStart[best]!]!;
    for (let r = 0; r < m; r++) if (runStart[r]! < runEnd[r]! && st[runStart[r]!] === minT) runStart[r]!++;
    if (minT < mint) continue;
    if (minT > maxt) return;
    out.push(minT, v);
  }
}

/** Samples per slab of merged columns (two 512 KiB arrays). */
const SlabSamples = 64 * 1024;
/** The slab merged columns are cut from: its `n` is the first free sample. */
let slab = new Cols(SlabSamples);

/**
 * The merged samples of `list` within [mint, maxt] (what merge.ts's
 * SeriesIterator yields), as a slice of fresh columns. Slices are cut from
 * shared slabs, never reused (a slab lives while any slice of it does):
 * two arrays per series cost more to allocate and collect than the merge
 * itself (~1 ms of a 100-series read, measured).
 */
export function mergeColumns(list: ChunkList, mint: number, maxt: number): ColumnSlice {
  const idx = sortedInRange(list, mint, maxt);
  let cap = 0;
  for (const k of idx) cap += list.numSamples(k);
  if (slab.n + cap > slab.t.length) slab = new Cols(Math.max(SlabSamples, cap));
  const out = slab;
  const from = out.n;
  mergeInto(list, idx, 0, idx.length, mint, maxt, out);
  return { t: out.t, v: out.v, from, to: out.n };
}

/** The chunk of cluster `c` when it is alone in it, else -1. (Helpers of mergeChunks: module functions, not closures made per series.) */
function lone(idx: readonly number[], bounds: readonly number[], c: number): number {
  return bounds[c + 1]! - bounds[c]! === 1 ? idx[bounds[c]!]! : -1;
}

/** Whether chunk k (-1: none) can be handed out as stored: XOR bytes wholly inside [mint, maxt]. */
function passable(list: ChunkList, k: number, mint: number, maxt: number): boolean {
  return k >= 0 && list.minT[k]! >= mint && list.maxT[k]! <= maxt && list.enc[k] === Encoding.XOR && list.source(k)?.samples === undefined;
}

/** Whether chunk k is passable but small (merged with small neighbours rather than passed through). */
function isSmall(list: ChunkList, k: number, mint: number, maxt: number): boolean {
  return passable(list, k, mint, maxt) && list.numSamples(k) < SmallChunkSamples;
}

/** Scratch columns for chunk answers: encoded right away, never handed out. */
const encCols = new Cols(1024);

/**
 * The chunks merge.ts's seriesChunks returns for the same chunks, byte for
 * byte: a lone stored XOR chunk inside the range that overlaps nothing is
 * passed through (a view of its bytes) unless it is small and next to
 * other small ones; each run of two or more small ones, and each other
 * cluster, is merged, cut to the range and encoded into `enc` (views of
 * its buffer: valid until `enc.reset()`).
 */
export function mergeChunks(list: ChunkList, mint: number, maxt: number, enc: XorColumnEncoder): ChunkMeta[] {
  const idx = sortedInRange(list, mint, maxt);
  const bounds = clusterBounds(list, idx);
  const nc = bounds.length - 1;
  const out: ChunkMeta[] = [];
  for (let c = 0; c < nc; ) {
    let e = c;
    while (e < nc && isSmall(list, lone(idx, bounds, e), mint, maxt)) e++;
    if (e - c < 2) e = c + 1;
    const k = lone(idx, bounds, c);
    if (e === c + 1 && passable(list, k, mint, maxt)) {
      out.push({ minTime: list.minT[k]!, maxTime: list.maxT[k]!, encoding: Encoding.XOR, data: list.bytes(k) });
    } else {
      encCols.n = 0;
      mergeInto(list, idx, bounds[c]!, bounds[e]!, mint, maxt, encCols);
      const first = enc.count;
      enc.encode(encCols.t, encCols.v, 0, encCols.n, SamplesPerChunk, MaxChunkSpanMs);
      for (let q = first; q < enc.count; q++) out.push({ minTime: enc.minT[q]!, maxTime: enc.maxT[q]!, encoding: Encoding.XOR, data: enc.bytes(q) });
    }
    c = e;
  }
  return out;
}
