/**
 * Index buckets that held no series record when this process first looked
 * at them, so that the series new to this process in them need no point
 * read to learn whether they are indexed already (lib/tsdb/segment-commit.ts
 * asks `hasSeriesMany` about new series otherwise). At a new index bucket (a
 * week starting Monday 00:00 UTC, lib/index/keys.ts), or on a fresh data
 * directory, that is every series. Buckets are index buckets as the commit
 * passes them (the week's Monday).
 *
 * Safe by construction: the answer only ever makes a writer write index
 * items it could have skipped (writes are idempotent), never skip one it
 * needs. It is meant for a single writing process per store (local mode,
 * commits serialised by the group committer); a bucket is trusted for
 * {@link FreshTrustMs} after the look, after which (e.g. for series whose
 * cache entry was dropped) point reads resume.
 */
import { IndexKeys } from '../index/keys.ts';
import type { KVStore } from '../kvstore/kvstore.ts';

/** How long a bucket found empty is trusted. */
export const FreshTrustMs = 10 * 60_000;

/** Buckets remembered at most (the oldest look is forgotten first). */
const MaxBuckets = 64;

export class FreshBuckets {
  private readonly looks = new Map<number, { at: number; empty: Promise<boolean> }>();

  constructor(
    /** The tenant's index store. */
    private readonly kv: KVStore,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether `bucket` had no series record when first asked, within the trust period. */
  async isFresh(bucket: number): Promise<boolean> {
    let look = this.looks.get(bucket);
    if (look === undefined) {
      if (this.looks.size >= MaxBuckets) this.looks.delete(this.looks.keys().next().value!);
      look = { at: this.now(), empty: this.isEmpty(bucket) };
      this.looks.set(bucket, look);
      look.empty.catch(() => this.looks.delete(bucket));
    }
    if (this.now() - look.at > FreshTrustMs) return false;
    return look.empty;
  }

  private async isEmpty(bucket: number): Promise<boolean> {
    for await (const _ of this.kv.query(IndexKeys.series(bucket), { limit: 1 })) return false;
    return true;
  }
}
