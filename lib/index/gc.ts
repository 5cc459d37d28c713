/**
 * Removing a whole index bucket (a week; any day of it may be given) from
 * the label index. Used when a week's data lives only in blocks (which
 * carry their own label index) and when retention has removed a week
 * entirely.
 *
 * The bucket's partitions are found from its `names` partition: for each
 * name, its `values/<name>` partition, and for each value the postings
 * partition. Deletion goes leaf first (postings of a value, then the value
 * item; all values of a name, then the name item; the series partition,
 * then the postings token), so a crash at any point leaves every remaining item reachable
 * from the names partition and a rerun finishes the job.
 */
import type { KVStore } from '../kvstore/kvstore.ts';
import { IndexKeys, isShortened, TokenSk } from './keys.ts';

const dec = new TextDecoder();

/** Deletes every item of partition `pk`; returns how many. */
export async function deletePartition(kv: KVStore, pk: string): Promise<number> {
  let n = 0;
  for (;;) {
    const keys: { pk: string; sk: string }[] = [];
    for await (const it of kv.query(pk, { limit: 1000 })) keys.push({ pk, sk: it.sk });
    if (keys.length === 0) return n;
    await kv.batchDelete(keys);
    n += keys.length;
  }
}

/** Deletes every index item of `bucket`; returns how many. Idempotent. */
export async function dropBucketIndex(kv: KVStore, bucket: number): Promise<number> {
  let n = 0;
  const names: { sk: string; name: string }[] = [];
  for await (const it of kv.query(IndexKeys.names(bucket))) names.push({ sk: it.sk, name: isShortened(it.sk) ? dec.decode(it.value) : it.sk });
  for (const { sk, name } of names) {
    const valuesPk = IndexKeys.values(bucket, name);
    const values: { sk: string; value: string }[] = [];
    for await (const it of kv.query(valuesPk)) values.push({ sk: it.sk, value: isShortened(it.sk) ? dec.decode(it.value) : it.sk });
    for (const v of values) {
      n += await deletePartition(kv, IndexKeys.postings(bucket, name, v.value));
      await kv.batchDelete([{ pk: valuesPk, sk: v.sk }]);
      n++;
    }
    await kv.batchDelete([{ pk: IndexKeys.names(bucket), sk }]);
    n++;
  }
  n += await deletePartition(kv, IndexKeys.series(bucket));
  await kv.batchDelete([{ pk: IndexKeys.token(bucket), sk: TokenSk }]);
  return n;
}

/** Whether the bucket has any index items left (its names or series partitions). */
export async function bucketIndexExists(kv: KVStore, bucket: number): Promise<boolean> {
  for await (const _ of kv.query(IndexKeys.names(bucket), { limit: 1 })) return true;
  for await (const _ of kv.query(IndexKeys.series(bucket), { limit: 1 })) return true;
  return false;
}
