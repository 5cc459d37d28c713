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
   * Index buckets in which this series is known to be indexed, with its
   * labels carried by a committed segment of this process.
   */
  indexed: number[];
}

/** A cached series, as `find` hands it out. */
export interface SeriesHandle {
  readonly entry: SeriesEntry;
}

interface Cached extends SeriesHandle {
  /** The raw label bytes this entry was found under (a copy). */
  raw: Uint8Array;
  /** `raw` as little-endian 32-bit words, for a fast compare. */
  words: DataView;
  /** Another entry whose hash has the same low 30 bits. */
  next: Cached | undefined;
  /**
   * The series that followed this one in the last request that held both:
   * senders keep a stable order, so it is the best first guess.
   */
  follower: Cached | undefined;
}

export class SeriesCache {
  // Keys are the hash's low 30 bits: small integers make the fastest Map
  // keys in V8 (larger numbers are boxed). Entries sharing them are chained.
  private current = new Map<number, Cached>();
  private previous = new Map<number, Cached>();

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

  /** Caches `entry` under a copy of `src[start..end)`; `prev` as for `find`. */
  add(src: Uint8Array, dv: DataView, start: number, end: number, entry: SeriesEntry, prev?: SeriesHandle): SeriesHandle {
    if (this.current.size >= this.maxEntries / 2) {
      this.previous = this.current;
      this.current = new Map();
    }
    const k = hashBytes(dv, src, start, end) % 0x40000000;
    // Uint8Array#slice copies (Buffer#slice would keep a view of the whole request).
    const raw = Uint8Array.prototype.slice.call(src, start, end);
    const c: Cached = { raw, words: new DataView(raw.buffer), entry, next: this.current.get(k), follower: undefined };
    this.current.set(k, c);
    if (prev !== undefined) (prev as Cached).follower = c;
    return c;
  }

  get size(): number {
    return this.current.size + this.previous.size;
  }
}

/** Whether `c.raw` equals `src[start..end)`: four bytes at a time. */
function same(c: Cached, src: Uint8Array, dv: DataView, start: number, end: number): boolean {
  const n = end - start;
  if (c.raw.length !== n) return false;
  const w = c.words;
  let i = 0;
  for (; i + 4 <= n; i += 4) if (w.getInt32(i, true) !== dv.getInt32(start + i, true)) return false;
  const raw = c.raw;
  for (; i < n; i++) if (raw[i] !== src[start + i]) return false;
  return true;
}
