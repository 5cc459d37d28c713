/**
 * Series the process has seen, keyed by the raw protobuf bytes of their
 * labels, so a steady stream of writes skips label decoding, validation and
 * hashing for known series (as Prometheus' scrape cache does). Lookups go
 * by a 53-bit hash of the bytes and are verified against a copy of them, so
 * a hash collision can only cost a miss, never a wrong series. Bounded: two
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
  entry: SeriesEntry;
}

export class SeriesCache {
  private current = new Map<number, Cached>();
  private previous = new Map<number, Cached>();

  constructor(private readonly maxEntries = 500_000) {}

  /**
   * The series whose raw label bytes are `src[start..end)` (hash `hash`),
   * if cached. `src` must be a Buffer (for a native compare).
   */
  get(hash: number, src: Buffer, start: number, end: number): SeriesEntry | undefined {
    let c = this.current.get(hash);
    if (c === undefined) {
      c = this.previous.get(hash);
      if (c === undefined) return undefined;
      this.current.set(hash, c);
    }
    if (c.raw.length !== end - start || src.compare(c.raw, 0, c.raw.length, start, end) !== 0) return undefined;
    return c.entry;
  }

  /** Caches `entry` under a copy of `src[start..end)`. */
  set(hash: number, src: Uint8Array, start: number, end: number, entry: SeriesEntry): void {
    if (this.current.size >= this.maxEntries / 2) {
      this.previous = this.current;
      this.current = new Map();
    }
    // Uint8Array#slice copies (Buffer#slice would keep a view of the whole request).
    this.current.set(hash, { raw: Uint8Array.prototype.slice.call(src, start, end), entry });
  }

  get size(): number {
    return this.current.size + this.previous.size;
  }
}
