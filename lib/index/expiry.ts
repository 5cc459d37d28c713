/**
 * Expiry of label-index items by the index store itself (DynamoDB Time to
 * Live), instead of deleting a sealed week's items one write unit at a
 * time. Decision and failure analysis: docs/storage-format.md, "Label index
 * expiry".
 *
 * Every label-index item (`ix/w<week>/…` partitions) is written with an
 * expiry of {@link IndexExpiryMs} after the later of its week's end and the
 * time of writing. A week's items are needed only while some day of the
 * week still holds segments; compaction turns them into blocks (which carry
 * their own label index) within hours, so the horizon is far longer than
 * compaction ever takes when it runs. A run that leaves a week holding
 * segments {@link IndexRefreshAfterMs} or more after the week ended
 * (compaction was down, or fails on it) refreshes the week's index, ten
 * days before any of its items can expire (lib/compact/index-refresh.ts).
 *
 * The policy is applied by the root store (it sees `<tenant>/ix/w<week>/…`
 * whatever decorators sit above it): `new DynamoKVStore({ …, expiry:
 * labelIndexExpiry() })`, with the compactor told `indexItemsExpire: true`
 * so sealing skips the deletes.
 */
import type { ItemExpiry } from '../kvstore/kvstore.ts';
import { indexBucketRange, parseBucketKey } from './keys.ts';

const DayMs = 86_400_000;

/** Index items expire this long after the later of their week's end and their writing. */
export const IndexExpiryMs = 30 * DayMs;

/**
 * From this long after a week's end, compaction refreshes the week's index
 * if the week still holds segments (it normally holds none a few hours
 * after each day): ten days before the earliest expiry.
 */
export const IndexRefreshAfterMs = IndexExpiryMs - 10 * DayMs;

/** The DynamoDB Time to Live attribute of the table (infra/ enables TTL on it). */
export const IndexTtlAttribute = 'expires';

const IndexPk = /^ix\/w(\d{9})\//;

/**
 * The index bucket (the week's Monday, a day bucket) of a label-index
 * partition key, relative (`ix/w<week>/…`) or tenant-prefixed
 * (`<tenant>/ix/w<week>/…`; tenant ids hold no `/`), or undefined for every
 * other partition (the day layout written before included: nothing writes
 * it any more).
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

/** When an index item of `bucket` (any day of the week) written at `nowMs` expires. */
export function indexItemExpiresAt(bucket: number, nowMs: number, horizonMs = IndexExpiryMs): number {
  return Math.max(indexBucketRange(bucket)[1] + 1, nowMs) + horizonMs;
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

/** Whether the index of `bucket` (any day of the week) is due for a refresh at `nowMs` if the week still holds segments. */
export function indexRefreshDue(bucket: number, nowMs: number): boolean {
  return nowMs >= indexBucketRange(bucket)[1] + 1 + IndexRefreshAfterMs;
}
