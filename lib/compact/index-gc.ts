/**
 * Garbage collection of the label index, so that it does not grow without
 * bound while series churn: the index partitions of an index bucket (a
 * week, lib/index/keys.ts) are removed once nothing in the catalog is
 * recorded in any day of that week any more and the week ended longer ago
 * than the longest retention of the tenant (so any data written there
 * later would expire at once anyway). Never when some resolution is kept
 * forever.
 *
 * Items: pk `indexgc`, sk the index bucket key (`w<9 digits>`), value `01`.
 * Retention writes the item for the week of every day bucket of the entries
 * it expires before it removes their catalog entries, so a crash cannot
 * leave an empty week behind unscheduled. Items with a day key (no `w`,
 * written before index buckets were weeks) are dropped unprocessed: the
 * day-layout items they name are never read. Collecting a week:
 *
 * 1. skip it (and drop the item) if the catalog still has entries in one
 *    of its days: retention schedules it again when it expires them;
 * 2. keep the item and wait while the week is younger than the longest
 *    retention;
 * 3. delete the postings partitions named by the labels of its `series`
 *    records but by no value item, then (lib/index/gc.ts) per name in
 *    `names` the postings of each value in
 *    `values/<name>` and the value, then the name, then the series records;
 * 4. delete the item.
 *
 * What is deleted later (values, names, series) is what names what is
 * deleted earlier, so a rerun after a crash at any point finishes the job;
 * deleting is idempotent.
 */
import type { KVStore } from '../kvstore/kvstore.ts';
import { CatalogPartition } from '../catalog/catalog.ts';
import { bucketKey, daysOfIndexBucket, indexBucketKey, indexBucketRange, IndexKeys, indexBucketsOfDays, isShortened, parseIndexBucketKey } from '../index/keys.ts';
import { deletePartition, dropBucketIndex } from '../index/gc.ts';
import { decodeLabels } from '../labels/labels.ts';
import type { RetentionPolicy } from './retention.ts';

export const IndexGcPartition = 'indexgc';

const Present = new Uint8Array([1]);
const dec = new TextDecoder();

/** Whether a policy lets index GC run: every resolution has a finite retention. */
export function indexGcEnabled(policy: RetentionPolicy): boolean {
  return policy.raw > 0 && policy.fiveMinutes > 0 && policy.oneHour > 0;
}

/** Whether an index bucket (any day of the week) is old enough under `policy` to lose its index once empty. */
export function indexGcDue(policy: RetentionPolicy, bucket: number, now: number): boolean {
  if (!indexGcEnabled(policy)) return false;
  return indexBucketRange(bucket)[1] < now - Math.max(policy.raw, policy.fiveMinutes, policy.oneHour);
}

/** Writes the pending items of the weeks of the given day buckets (idempotent). */
export async function scheduleIndexGc(kv: KVStore, days: readonly number[]): Promise<void> {
  if (days.length === 0) return;
  await kv.batchPut(indexBucketsOfDays(days).map((b) => ({ pk: IndexGcPartition, sk: indexBucketKey(b), value: Present })));
}

/** Index buckets (weeks, by their Mondays) with a pending item. */
export async function pendingIndexGc(kv: KVStore): Promise<number[]> {
  return (await scanPending(kv)).weeks;
}

/** The pending weeks, and the keys of items of the day layout (see the file comment). */
async function scanPending(kv: KVStore): Promise<{ weeks: number[]; legacy: { pk: string; sk: string }[] }> {
  const weeks: number[] = [];
  const legacy: { pk: string; sk: string }[] = [];
  for await (const it of kv.query(IndexGcPartition)) {
    const b = parseIndexBucketKey(it.sk);
    if (b !== undefined) weeks.push(b);
    else legacy.push({ pk: IndexGcPartition, sk: it.sk });
  }
  return { weeks, legacy };
}

/** Whether the catalog records anything in a day of the week of `bucket`. */
async function weekInCatalog(kv: KVStore, bucket: number): Promise<boolean> {
  const days = daysOfIndexBucket(bucket);
  const range = { start: `${bucketKey(days[0]!)}/`, end: `${bucketKey(days[days.length - 1]!)}/\u007f` };
  for await (const _ of kv.query(CatalogPartition, { ...range, limit: 1 })) return true;
  return false;
}

/** What one GC pass did. */
export interface IndexGcResult {
  buckets: number;
  items: number;
}

/** Carries out the pending items that are due. */
export async function runIndexGc(kv: KVStore, policy: RetentionPolicy, now: number, onBucket?: (bucket: number, items: number) => void): Promise<IndexGcResult> {
  const res: IndexGcResult = { buckets: 0, items: 0 };
  const { weeks, legacy } = await scanPending(kv);
  if (legacy.length > 0) await kv.batchDelete(legacy);
  for (const b of weeks) {
    const sk = indexBucketKey(b);
    if (!indexGcEnabled(policy) || (await weekInCatalog(kv, b))) {
      await kv.batchDelete([{ pk: IndexGcPartition, sk }]);
      continue;
    }
    if (!indexGcDue(policy, b, now)) continue;
    const n = await removeBucketIndex(kv, b);
    await kv.batchDelete([{ pk: IndexGcPartition, sk }]);
    res.buckets++;
    res.items += n;
    onBucket?.(b, n);
  }
  return res;
}

/**
 * Deletes every index item of one index bucket (any day of the week).
 * First the postings partitions named by the labels of its series records
 * that its names and values partitions do not name (a failed write may
 * have written postings without their name or value items), then
 * everything reachable from its names partition, series records last
 * (lib/index/gc.ts). Returns the number of items deleted.
 */
export async function removeBucketIndex(kv: KVStore, bucket: number): Promise<number> {
  const named = new Set<string>();
  for await (const n of kv.query(IndexKeys.names(bucket))) {
    const name = isShortened(n.sk) ? dec.decode(n.value) : n.sk;
    for await (const v of kv.query(IndexKeys.values(bucket, name))) named.add(IndexKeys.postings(bucket, name, isShortened(v.sk) ? dec.decode(v.value) : v.sk));
  }
  const orphans = new Set<string>();
  for await (const it of kv.query(IndexKeys.series(bucket))) {
    for (const { name, value } of decodeLabels(it.value, 0, it.value.length)) {
      const pk = IndexKeys.postings(bucket, name, value);
      if (!named.has(pk)) orphans.add(pk);
    }
  }
  let n = 0;
  for (const pk of orphans) n += await deletePartition(kv, pk);
  return n + (await dropBucketIndex(kv, bucket));
}
