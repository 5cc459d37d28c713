/**
 * Series the process has seen, keyed by the raw protobuf bytes of their
 * labels, so a steady stream of writes skips label decoding, validation and
 * hashing for known series (as Prometheus' scrape cache does). Lookups go
 * by a hash of the bytes and are verified against a copy of them, so a hash
 * collision can never yield a wrong series. Bounded: two
 * generations, the older dropped when the newer fills up.
 */
import type { Labels } from '../labels/labels.ts';

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

interface Cached {
  /** The raw label bytes this entry was found under (a copy). */
  raw: Uint8Array;
  /** `raw` as little-endian 32-bit words, for a fast compare. */
  words: DataView;
  entry: SeriesEntry;
  /** Another entry whose hash has the same low 30 bits. */
  next: Cached | undefined;
}

export class SeriesCache {
  // Keys are the hash's low 30 bits: small integers make the fastest Map
  // keys in V8 (larger numbers are boxed). Entries sharing them are chained.
  private current = new Map<number, Cached>();
  private previous = new Map<number, Cached>();

  constructor(private readonly maxEntries = 500_000) {}

  /**
   * The series whose raw label bytes are `src[start..end)` (`dv` is a
   * DataView of `src`, `hash` from `hashBytes`), if cached.
   */
  get(hash: number, src: Uint8Array, dv: DataView, start: number, end: number): SeriesEntry | undefined {
    const k = hash % 0x40000000;
    let c = this.current.get(k);
    if (c === undefined) {
      c = this.previous.get(k);
      if (c === undefined) return undefined;
      this.current.set(k, c);
    }
    for (; c !== undefined; c = c.next) {
      if (same(c, src, dv, start, end)) return c.entry;
    }
    return undefined;
  }

  /** Caches `entry` under a copy of `src[start..end)`. */
  set(hash: number, src: Uint8Array, start: number, end: number, entry: SeriesEntry): void {
    if (this.current.size >= this.maxEntries / 2) {
      this.previous = this.current;
      this.current = new Map();
    }
    const k = hash % 0x40000000;
    // Uint8Array#slice copies (Buffer#slice would keep a view of the whole request).
    const raw = Uint8Array.prototype.slice.call(src, start, end);
    const head = this.current.get(k);
    this.current.set(k, { raw, words: new DataView(raw.buffer), entry, next: head });
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
