/**
 * Marks of sealed days: days whose label-index items are (about to be)
 * dropped because blocks alone hold them (lib/compact/seal.ts).
 *
 * Writers cache what they have indexed; for a sealed day that cache is
 * wrong, so a writer treats a day as sealed (sending labels with its
 * samples and indexing them again) once the day is marked. Writers look
 * marks up through a short-lived cache; the sealer marks a day first and
 * drops its index only `sealDelayMs` later (much longer than the cache
 * lives plus a request takes), so every writer sees the mark in time.
 *
 * Items: pk `sealed`, sk = bucket key, value = the marking time (ms, text).
 */
import type { KVStore } from '../kvstore/kvstore.ts';
import { bucketKey } from './keys.ts';

export const SealedPartition = 'sealed';

const enc = new TextEncoder();
const dec = new TextDecoder();

export class SealMarks {
  private readonly cache = new Map<number, { sealed: boolean; until: number }>();

  constructor(
    private readonly kv: KVStore,
    /** How long a looked-up answer is trusted, ms. */
    private readonly cacheMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether the day is marked (cached for `cacheMs`). */
  async isSealed(bucket: number): Promise<boolean> {
    const t = this.now();
    const hit = this.cache.get(bucket);
    if (hit !== undefined && (hit.sealed || hit.until > t)) return hit.sealed;
    const sealed = (await this.markedAt(bucket)) !== undefined;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(bucket, { sealed, until: t + this.cacheMs });
    return sealed;
  }

  /** When the day was marked, uncached; undefined if it is not. */
  async markedAt(bucket: number): Promise<number | undefined> {
    const v = await this.kv.get(SealedPartition, bucketKey(bucket));
    return v === undefined ? undefined : Number(dec.decode(v));
  }

  /** Marks the day (keeping an earlier mark); returns the marking time in force. */
  async mark(bucket: number, at: number): Promise<number> {
    const written = await this.kv.putIfAbsent({ pk: SealedPartition, sk: bucketKey(bucket), value: enc.encode(String(at)) });
    this.cache.set(bucket, { sealed: true, until: Infinity });
    return written ? at : ((await this.markedAt(bucket)) ?? at);
  }
}
