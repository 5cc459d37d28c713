/**
 * Marks of sealed index buckets (weeks): weeks whose label-index items are
 * (about to be) dropped because blocks alone hold their data
 * (lib/compact/seal.ts).
 *
 * Writers cache what they have indexed; for a sealed week that cache is
 * wrong, so a writer treats a week as sealed (sending labels with its
 * samples and indexing them again) once the week is marked. Writers look
 * marks up through a short-lived cache; the sealer marks a week first and
 * drops its index only `sealDelayMs` later (much longer than the cache
 * lives plus a request takes), so every writer sees the mark in time.
 * Only weeks {@link isSealable} at the time can be marked, and writers ask
 * about those only.
 *
 * Items: pk `sealed`, sk = index bucket key (`w<9 digits>`), value = the
 * marking time (ms, text). Items with a day key (9 digits, written before
 * index buckets were weeks) are never read.
 */
import type { KVStore } from '../kvstore/kvstore.ts';
import { bucketOf, indexBucketKey, indexBucketOfDay, IndexBucketDays } from './keys.ts';

export const SealedPartition = 'sealed';

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * Whether an index bucket (any day of the week) may be sealed at `now`:
 * the week ended before yesterday began, so no writer still expects it
 * to be today's or yesterday's.
 */
export function isSealable(bucket: number, now: number): boolean {
  return indexBucketOfDay(bucket) + IndexBucketDays <= bucketOf(now) - 1;
}

export class SealMarks {
  private readonly cache = new Map<number, { sealed: boolean; until: number }>();

  constructor(
    private readonly kv: KVStore,
    /** How long a looked-up answer is trusted, ms. */
    private readonly cacheMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether the week (any day of it) is marked (cached for `cacheMs`). */
  async isSealed(day: number): Promise<boolean> {
    const bucket = indexBucketOfDay(day);
    const t = this.now();
    const hit = this.cache.get(bucket);
    if (hit !== undefined && (hit.sealed || hit.until > t)) return hit.sealed;
    const sealed = (await this.markedAt(bucket)) !== undefined;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(bucket, { sealed, until: t + this.cacheMs });
    return sealed;
  }

  /** When the week (any day of it) was marked, uncached; undefined if it is not. */
  async markedAt(bucket: number): Promise<number | undefined> {
    const v = await this.kv.get(SealedPartition, indexBucketKey(bucket));
    return v === undefined ? undefined : Number(dec.decode(v));
  }

  /** Marks the week (any day of it; keeping an earlier mark); returns the marking time in force. */
  async mark(bucket: number, at: number): Promise<number> {
    const written = await this.kv.putIfAbsent({ pk: SealedPartition, sk: indexBucketKey(bucket), value: enc.encode(String(at)) });
    this.cache.set(indexBucketOfDay(bucket), { sealed: true, until: Infinity });
    return written ? at : ((await this.markedAt(bucket)) ?? at);
  }
}
