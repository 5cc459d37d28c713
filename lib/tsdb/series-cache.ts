/**
 * Series the process has seen, keyed by the raw protobuf bytes of their
 * labels, so a steady stream of writes skips label decoding, validation and
 * hashing for known series (as Prometheus' scrape cache does). Bounded: two
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

export class SeriesCache {
  private current = new Map<string, SeriesEntry>();
  private previous = new Map<string, SeriesEntry>();

  constructor(private readonly maxEntries = 500_000) {}

  get(key: string): SeriesEntry | undefined {
    const e = this.current.get(key);
    if (e !== undefined) return e;
    const p = this.previous.get(key);
    if (p !== undefined) this.set(key, p);
    return p;
  }

  set(key: string, e: SeriesEntry): void {
    if (this.current.size >= this.maxEntries / 2) {
      this.previous = this.current;
      this.current = new Map();
    }
    this.current.set(key, e);
  }

  get size(): number {
    return this.current.size + this.previous.size;
  }
}
