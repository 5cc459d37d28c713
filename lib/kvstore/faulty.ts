/**
 * A key-value store decorator that injects failures, for tests of crash
 * safety and retries (what happens when the index write after a segment
 * upload fails?).
 */
import { kvGetMany, type KVItem, type KVKey, type KVQueryOptions, type KVStore } from './kvstore.ts';

/** The store operations a fault can be injected into. */
export const KVOps = ['get', 'getMany', 'query', 'batchPut', 'putIfAbsent', 'replaceIf', 'batchDelete'] as const;

/** One of {@link KVOps}. */
export type KVOp = (typeof KVOps)[number];

/**
 * Decides whether a call fails: returns the error to reject with, or
 * undefined to let it through. Called once per item (per key, repeats
 * included) for the batch operations and `getMany`, and with `sk`
 * undefined for `query`.
 */
export type KVFaultFn = (op: KVOp, pk: string, sk: string | undefined) => Error | undefined;

/** Options of {@link faultyKVStore}. */
export interface FaultyKVStoreOptions {
  /**
   * Consulted before each call (for each item of a batch); when it returns
   * an error the call rejects with the first such error.
   */
  failOn: KVFaultFn;
  /**
   * What a failing batch writes first. `false` (the default): nothing.
   * `true`: the items for which `failOn` returned undefined, before the
   * batch rejects, which `batchPut`'s contract allows ("on rejection any
   * subset may have been written") and DynamoDB does with unprocessed items.
   */
  partial?: boolean;
  /**
   * Consulted after each call that succeeded (for each item of a batch):
   * the operation happened, but the caller gets the error, as when a
   * response is lost on the way back. @default never
   */
  failAfter?: KVFaultFn;
}

/** Wraps `store` so that chosen calls fail. `close` passes through. */
export function faultyKVStore(store: KVStore, opts: FaultyKVStoreOptions): KVStore {
  const { failOn, failAfter, partial = false } = opts;

  function after(op: KVOp, keys: readonly { pk: string; sk: string }[]): void {
    if (failAfter === undefined) return;
    for (const k of keys) {
      const err = failAfter(op, k.pk, k.sk);
      if (err !== undefined) throw err;
    }
  }

  async function batch<T extends { pk: string; sk: string }>(
    op: 'batchPut' | 'batchDelete',
    items: readonly T[],
    write: (items: readonly T[]) => Promise<void>,
  ): Promise<void> {
    let first: Error | undefined;
    const passed: T[] = [];
    for (const item of items) {
      const err = failOn(op, item.pk, item.sk);
      if (err === undefined) passed.push(item);
      else first ??= err;
    }
    if (first !== undefined) {
      if (partial && passed.length > 0) await write(passed);
      throw first;
    }
    await write(items);
    after(op, items);
  }

  return {
    async get(pk: string, sk: string): Promise<Uint8Array | undefined> {
      const err = failOn('get', pk, sk);
      if (err !== undefined) throw err;
      const v = await store.get(pk, sk);
      after('get', [{ pk, sk }]);
      return v;
    },
    async getMany(keys: readonly KVKey[]): Promise<(Uint8Array | undefined)[]> {
      // Consulted for every key, as for batches; reads write nothing, so `partial` does not apply.
      let first: Error | undefined;
      for (const k of keys) {
        const err = failOn('getMany', k.pk, k.sk);
        first ??= err;
      }
      if (first !== undefined) throw first;
      const values = await kvGetMany(store, keys);
      after('getMany', keys);
      return values;
    },
    async *query(pk: string, queryOpts?: KVQueryOptions): AsyncIterable<KVItem> {
      const err = failOn('query', pk, undefined);
      if (err !== undefined) throw err;
      yield* store.query(pk, queryOpts);
      const late = failAfter?.('query', pk, undefined);
      if (late !== undefined) throw late;
    },
    batchPut: (items: readonly KVItem[]): Promise<void> =>
      batch('batchPut', items, (xs) => store.batchPut(xs)),
    async putIfAbsent(item: KVItem): Promise<boolean> {
      const err = failOn('putIfAbsent', item.pk, item.sk);
      if (err !== undefined) throw err;
      const written = await store.putIfAbsent(item);
      after('putIfAbsent', [item]);
      return written;
    },
    async replaceIf(item: KVItem, expected: Uint8Array): Promise<boolean> {
      const err = failOn('replaceIf', item.pk, item.sk);
      if (err !== undefined) throw err;
      const written = await store.replaceIf(item, expected);
      after('replaceIf', [item]);
      return written;
    },
    batchDelete: (keys: readonly { pk: string; sk: string }[]): Promise<void> =>
      batch('batchDelete', keys, (xs) => store.batchDelete(xs)),
    reclaim: async (): Promise<void> => {
      await store.reclaim?.();
    },
    close: (): Promise<void> => store.close(),
  } satisfies KVStore;
}
