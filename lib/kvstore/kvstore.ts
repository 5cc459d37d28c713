/**
 * The index-store interface: a sorted key-value table addressed by a
 * partition key (`pk`) and a sort key (`sk`), the common ground of DynamoDB
 * and an embedded LevelDB. Items of one partition are ordered by the UTF-8
 * bytes of their sort keys (DynamoDB's order for string sort keys).
 *
 * There are no transactions: callers order their writes so that a crash
 * between any two of them leaves a state they can mend. Every
 * implementation passes `test/conformance/kvstore.ts`.
 *
 * Limits every caller keeps to (DynamoDB's): `pk` 1..1024 UTF-8 bytes and
 * without U+0000, `sk` 1..1024 UTF-8 bytes, `value` at most 390 KiB.
 */
import { checkKey } from './validate.ts';

/** One stored item. */
export interface KVItem {
  pk: string;
  sk: string;
  /** Opaque bytes; the store keeps a copy. */
  value: Uint8Array;
}

/**
 * An optional capability of stores that can expire items by themselves
 * (DynamoDB Time to Live; lib/kvstore/dynamodb): which items expire,
 * decided by key at the store (so it holds whatever decorators sit above
 * it). Returns the expiry time of the item (pk, sk) written at `nowMs`, in
 * ms since the epoch, or undefined for items that never expire. A store
 * given a policy treats expired items as absent in `get` and `query` from
 * their expiry time on, however late it actually deletes them. Stores
 * without the capability keep every item until it is deleted.
 */
export interface ItemExpiry {
  /** The store's expiry attribute (DynamoDB: the table's TTL attribute, Number, epoch seconds). */
  readonly attribute: string;
  expiresAt(pk: string, sk: string, nowMs: number): number | undefined;
}

/** How `query` selects the items of one partition. */
export interface KVQueryOptions {
  /** Only sort keys that start with this string. Not combined with start/end. */
  prefix?: string;
  /** Only sort keys >= start (inclusive). */
  start?: string;
  /** Only sort keys <= end (inclusive). */
  end?: string;
  /** Descending order of sort keys instead of ascending. */
  reverse?: boolean;
  /** At most this many items. */
  limit?: number;
}

/** The key of one item, as `getMany` and `batchDelete` take it. */
export interface KVKey {
  pk: string;
  sk: string;
}

export interface KVStore {
  /** The value stored under (pk, sk), or undefined. */
  get(pk: string, sk: string): Promise<Uint8Array | undefined>;
  /**
   * Point reads of many items at once: result i is what `get(keys[i].pk,
   * keys[i].sk)` would return (a copy the caller owns, or undefined), so
   * results line up with `keys`; a key may occur more than once, and keys
   * may span partitions. No request is made for an empty list. Every key
   * is checked before anything is read; an invalid one rejects the call.
   * Stores read in batches where they can (DynamoDB: BatchGetItem of up to
   * 100 keys, as consistent as `get`). Optional so that thin wrappers (in
   * tests above all) need not forward it: call it through
   * {@link kvGetMany}, which falls back on `get`.
   */
  getMany?(keys: readonly KVKey[]): Promise<(Uint8Array | undefined)[]>;
  /** The items of partition `pk` selected by `opts`, in sort-key order. */
  query(pk: string, opts?: KVQueryOptions): AsyncIterable<KVItem>;
  /**
   * Writes items (insert or overwrite). Resolves once all are durable; on
   * rejection any subset may have been written. Items in one call have
   * distinct (pk, sk). Order of application within a call is unspecified.
   */
  batchPut(items: readonly KVItem[]): Promise<void>;
  /**
   * Writes the item only if (pk, sk) is absent: true if written, false if
   * an item was already there (which is left unchanged).
   */
  putIfAbsent(item: KVItem): Promise<boolean>;
  /**
   * Overwrites the item only if it exists with exactly the value
   * `expected` (compare-and-swap): true if written, false otherwise (the
   * item is left unchanged). Leases use it to take over expired holders.
   */
  replaceIf(item: KVItem, expected: Uint8Array): Promise<boolean>;
  /** Removes items; removing an absent one is not an error. */
  batchDelete(keys: readonly KVKey[]): Promise<void>;
  /**
   * Optional hint after many deletions: reclaim their space now (LevelDB
   * compacts its files; DynamoDB needs nothing and omits it).
   */
  reclaim?(): Promise<void>;
  /** Releases resources; the store is not used afterwards. */
  close(): Promise<void>;
}

/** Point reads a store without `getMany` makes at once in {@link kvGetMany}. */
const FallbackConcurrency = 32;

/**
 * `kv.getMany(keys)` where the store has it; otherwise one `get` per key,
 * at most 32 at a time, with the same result. Callers use this rather than
 * `kv.getMany` itself.
 */
export async function kvGetMany(kv: KVStore, keys: readonly KVKey[]): Promise<(Uint8Array | undefined)[]> {
  if (kv.getMany !== undefined) return kv.getMany(keys);
  for (const k of keys) checkKey(k.pk, k.sk);
  const out: (Uint8Array | undefined)[] = new Array(keys.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < keys.length) {
      const i = next++;
      try {
        out[i] = await kv.get(keys[i]!.pk, keys[i]!.sk);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(FallbackConcurrency, keys.length) }, worker));
  return out;
}
