/**
 * Expiry of label-index items by the index store itself (DynamoDB Time to
 * Live), instead of deleting a sealed day's items one write unit at a time.
 * Decision and failure analysis: docs/storage-format.md, "Label index
 * expiry".
 *
 * Every label-index item (`ix/<day>/…` partitions) is written with an
 * expiry of {@link IndexExpiryMs} after the later of its day's end and the
 * time of writing. A day's items are needed only while the day still holds
 * segments; compaction turns them into blocks (which carry their own label
 * index) within hours, so the horizon is far longer than compaction ever
 * takes when it runs. A run that leaves a day holding segments
 * {@link IndexRefreshAfterMs} or more after the day ended (compaction was
 * down, or fails on it) refreshes the day's index, ten days before any of
 * its items can expire (lib/compact/index-refresh.ts).
 *
 * The policy is applied by the root store (it sees `<tenant>/ix/<day>/…`
 * whatever decorators sit above it): `new DynamoKVStore({ …, expiry:
 * labelIndexExpiry() })`, with the compactor told `indexItemsExpire: true`
 * so sealing skips the deletes.
 */
import type { ItemExpiry } from '../kvstore/kvstore.ts';
import { bucketRange, parseBucketKey } from './keys.ts';

const DayMs = 86_400_000;

/** Index items expire this long after the later of their day's end and their writing. */
export const IndexExpiryMs = 30 * DayMs;

/**
 * From this long after a day's end, compaction refreshes the day's index
 * if the day still holds segments (it normally holds none after a few
 * hours): ten days before the earliest expiry.
 */
export const IndexRefreshAfterMs = IndexExpiryMs - 10 * DayMs;

/** The DynamoDB Time to Live attribute of the table (infra/ enables TTL on it). */
export const IndexTtlAttribute = 'expires';

const IndexPk = /^ix\/(\d{9})\//;

/**
 * The day bucket of a label-index partition key, relative (`ix/<day>/…`)
 * or tenant-prefixed (`<tenant>/ix/<day>/…`; tenant ids hold no `/`), or
 * undefined for every other partition.
 */
export function indexBucketOfPk(pk: string): number | undefined {
  let m = IndexPk.exec(pk);
  if (m === null) {
    const slash = pk.indexOf('/');
    if (slash < 0) return undefined;
    m = IndexPk.exec(pk.slice(slash + 1));
    if (m === null) return undefined;
  }
  return parseBucketKey(m[1]!);
}

/** When an index item of `bucket` written at `nowMs` expires. */
export function indexItemExpiresAt(bucket: number, nowMs: number, horizonMs = IndexExpiryMs): number {
  return Math.max(bucketRange(bucket)[1] + 1, nowMs) + horizonMs;
}

/** The expiry policy of label-index items, for {@link DynamoKVStore}'s `expiry` option. */
export function labelIndexExpiry(horizonMs = IndexExpiryMs): ItemExpiry {
  return {
    attribute: IndexTtlAttribute,
    expiresAt(pk: string, _sk: string, nowMs: number): number | undefined {
      const b = indexBucketOfPk(pk);
      return b === undefined ? undefined : indexItemExpiresAt(b, nowMs, horizonMs);
    },
  };
}

/** Whether the index of `bucket` is due for a refresh at `nowMs` if the day still holds segments. */
export function indexRefreshDue(bucket: number, nowMs: number): boolean {
  return nowMs >= bucketRange(bucket)[1] + 1 + IndexRefreshAfterMs;
}
