/**
 * A KVStore that forwards every call to another and tells the test about
 * its queries and point reads (to count requests of one partition kind).
 */
import type { KVKey, KVQueryOptions, KVStore } from '../../lib/kvstore/kvstore.ts';

export function observedKV(kv: KVStore, seen: { query?: (pk: string) => void; getMany?: (keys: readonly KVKey[]) => void }): KVStore {
  return {
    get: (pk, sk) => kv.get(pk, sk),
    getMany: async (keys: readonly KVKey[]) => {
      seen.getMany?.(keys);
      return kv.getMany!(keys);
    },
    query: (pk: string, opts?: KVQueryOptions) => {
      seen.query?.(pk);
      return kv.query(pk, opts);
    },
    batchPut: (items) => kv.batchPut(items),
    putIfAbsent: (item) => kv.putIfAbsent(item),
    replaceIf: (item, expected) => kv.replaceIf(item, expected),
    batchDelete: (keys) => kv.batchDelete(keys),
    close: () => kv.close(),
  };
}
