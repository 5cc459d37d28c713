/**
 * Series the process has seen, keyed by the raw protobuf bytes of their
 * labels, so a steady stream of writes skips label decoding, validation and
 * hashing for known series (as Prometheus' scrape cache does). Lookups try
 * the series that followed the previous one last time, then go by a hash of
 * the bytes; every hit is verified against a copy of the bytes, so neither
 * a wrong guess nor a hash collision can yield a wrong series. Bounded: two
 * generations, the older dropped when the newer fills up.
 */
import type { Labels } from '../labels/labels.ts';
import { hashBytes } from '../util/hash.ts';

/** One series as the write path knows it. */
export interface SeriesEntry {
  readonly labels: Labels;
  /** Canonical label bytes. */
  readonly canonical: Uint8Array;
  /** Series id as 32 hex characters. */
  readonly id: string;
  /** Series id as 16 bytes. */
  readonly idBytes: Uint8Array;
  /** The first 48 bits of the id as a number: orders series cheaply. */
  readonly sortKey: number;
  /**
   * The id's 16 bytes as four big-endian 32-bit words, each stored as a
   * signed int32 (`| 0`), so that they live inside the object as small
   * integers: the commit path reads these rather than `idBytes`, saving a
   * memory access per series.
   */
  readonly w0: number;
  readonly w1: number;
  readonly w2: number;
  readonly w3: number;
  /**
   * Index buckets in which this series is known to be indexed, with its
   * labels carried by a committed segment of this process.
   */
  indexed: number[];
  /** The bucket last added to `indexed` (a quick first test), or {@link NoBucket}. */
  lastIndexed: number;
}

/** `lastIndexed` of a series indexed nowhere yet: below every bucket number of a safe-integer time. */
export const NoBucket = -(2 ** 30);

/** Marks `bucket` as indexed for `s` (see {@link SeriesEntry.indexed}). */
export function markIndexed(s: SeriesEntry, bucket: number): void {
  if (s.lastIndexed !== bucket && !s.indexed.includes(bucket)) s.indexed.push(bucket);
  s.lastIndexed = bucket;
}

/** Whether `s` is known to be indexed in `bucket`. */
export function isIndexed(s: SeriesEntry, bucket: number): boolean {
  return s.lastIndexed === bucket || s.indexed.includes(bucket);
}

/** A cached series, as `find` hands it out. */
export interface SeriesHandle {
  readonly entry: SeriesEntry;
}

/**
 * A cached series: the entry's fields and the cache's own in one object,
 * which is also its handle (`entry === this`), so that the write path
 * touches one object per series rather than a chain of them.
 */
class Cached implements SeriesEntry, SeriesHandle {
  readonly entry: SeriesEntry;
  readonly labels: Labels;
  readonly canonical: Uint8Array;
  readonly id: string;
  readonly idBytes: Uint8Array;
  readonly sortKey: number;
  readonly w0: number;
  readonly w1: number;
  readonly w2: number;
  readonly w3: number;
  indexed: number[];
  lastIndexed: number;
  /** The arena chunk holding a copy of the raw label bytes this entry was found under. */
  readonly chunk: ArenaChunk;
  /** Their offset in `chunk` and length. */
  readonly off: number;
  readonly len: number;
  /** Another entry whose hash has the same low 30 bits. */
  next: Cached | undefined;
  /**
   * The series that followed this one in the last request that held both:
   * senders keep a stable order, so it is the best first guess.
   */
  follower: Cached | undefined = undefined;

  constructor(e: SeriesEntry, chunk: ArenaChunk, off: number, len: number, next: Cached | undefined) {
    this.labels = e.labels;
    this.canonical = e.canonical;
    this.id = e.id;
    this.idBytes = e.idBytes;
    this.sortKey = e.sortKey;
    this.w0 = e.w0;
    this.w1 = e.w1;
    this.w2 = e.w2;
    this.w3 = e.w3;
    this.indexed = e.indexed.slice();
    this.lastIndexed = e.lastIndexed;
    this.chunk = chunk;
    this.off = off;
    this.len = len;
    this.next = next;
    this.entry = this;
  }
}

/**
 * Raw label bytes of cached series are copied into shared chunks in the
 * order they are added, rather than one small array each: series that a
 * sender sends in a stable order then sit next to each other in memory, and
 * the compare of a whole request walks memory forwards. A chunk lives as
 * long as an entry in it does.
 */
interface ArenaChunk {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  /** The same memory as float64s: entries start at multiples of 8 bytes, so `same` reads them 8 bytes at a time without a DataView. */
  readonly words: Float64Array;
  used: number;
}

/** Size of an arena chunk (a larger label set gets a chunk of its own). */
const ChunkBytes = 256 * 1024;

function newChunk(size: number): ArenaChunk {
  const bytes = new Uint8Array((size + 7) & ~7);
  return { bytes, view: new DataView(bytes.buffer), words: new Float64Array(bytes.buffer), used: 0 };
}

/** Whether this machine stores numbers little-endian (Float64Array reads in host order). */
const HostLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export class SeriesCache {
  // Keys are the hash's low 30 bits: small integers make the fastest Map
  // keys in V8 (larger numbers are boxed). Entries sharing them are chained.
  private current = new Map<number, Cached>();
  private previous = new Map<number, Cached>();
  private chunk = newChunk(ChunkBytes);

  constructor(private readonly maxEntries = 500_000) {}

  /**
   * The series whose raw label bytes are `src[start..end)` (`dv` is a
   * DataView of `src`), if cached. `prev` is the series before it in the
   * same request, if any: the series that followed `prev` last time is
   * tried first, with one compare and no hashing.
   */
  find(src: Uint8Array, dv: DataView, start: number, end: number, prev?: SeriesHandle): SeriesHandle | undefined {
    const guess = (prev as Cached | undefined)?.follower;
    if (guess !== undefined && same(guess, src, dv, start, end)) return guess;
    const found = this.lookup(hashBytes(dv, src, start, end), src, dv, start, end);
    if (found !== undefined && prev !== undefined) (prev as Cached).follower = found;
    return found;
  }

  private lookup(hash: number, src: Uint8Array, dv: DataView, start: number, end: number): Cached | undefined {
    const k = hash % 0x40000000;
    let c = this.current.get(k);
    if (c === undefined) {
      c = this.previous.get(k);
      if (c === undefined) return undefined;
      this.current.set(k, c);
    }
    for (; c !== undefined; c = c.next) {
      if (same(c, src, dv, start, end)) return c;
    }
    return undefined;
  }

  /**
   * Caches the series `entry` under a copy of `src[start..end)`; `prev` as
   * for `find`. The handle returned is a new entry holding `entry`'s fields
   * (and the cache's): use `handle.entry` from then on, not `entry`.
   */
  add(src: Uint8Array, dv: DataView, start: number, end: number, entry: SeriesEntry, prev?: SeriesHandle): SeriesHandle {
    if (this.current.size >= this.maxEntries / 2) {
      this.previous = this.current;
      this.current = new Map();
    }
    const k = hashBytes(dv, src, start, end) % 0x40000000;
    const n = end - start;
    if (this.chunk.used + n > this.chunk.bytes.length) this.chunk = newChunk(Math.max(ChunkBytes, n));
    const chunk = this.chunk;
    chunk.bytes.set(src.subarray(start, end), chunk.used);
    const c = new Cached(entry, chunk, chunk.used, n, this.current.get(k));
    // The next entry starts 8-byte aligned (see ArenaChunk.words).
    chunk.used = (chunk.used + n + 7) & ~7;
    this.current.set(k, c);
    if (prev !== undefined) (prev as Cached).follower = c;
    return c;
  }

  get size(): number {
    return this.current.size + this.previous.size;
  }
}

/**
 * Whether the cached raw bytes of `c` equal `src[start..end)`: eight bytes
 * at a time, as float64s. Two float64 reads can compare equal with
 * different bits only as +0/-0, and unequal with equal bits only as NaN;
 * both cases are settled by comparing the two 32-bit halves.
 */
function same(c: Cached, src: Uint8Array, dv: DataView, start: number, end: number): boolean {
  const n = end - start;
  if (c.len !== n) return false;
  const w = c.chunk.view;
  const words = c.chunk.words;
  const o = c.off;
  // `o` is a multiple of 8: word k of the entry is words[(o >> 3) + k],
  // read in host byte order, so the request's bytes are read in it too.
  let k = o >>> 3;
  let i = 0;
  for (; i + 8 <= n; i += 8, k++) {
    const a = words[k]!;
    if (a !== dv.getFloat64(start + i, HostLittleEndian) || a === 0) {
      if (w.getInt32(o + i, true) !== dv.getInt32(start + i, true) || w.getInt32(o + i + 4, true) !== dv.getInt32(start + i + 4, true)) return false;
    }
  }
  const raw = c.chunk.bytes;
  for (; i < n; i++) if (raw[o + i] !== src[start + i]) return false;
  return true;
}
