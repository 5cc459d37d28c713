/**
 * A key-value store decorator that confines its user to the partitions whose
 * key starts with a prefix. Stratus uses it to scope every index entry of a
 * tenant.
 */
import { InvalidKVKeyError } from './errors.ts';
import { kvGetMany, type KVItem, type KVKey, type KVQueryOptions, type KVStore } from './kvstore.ts';
import { checkPk } from './validate.ts';

/**
 * Returns a store whose partition `pk` is the partition `prefix + pk` of
 * `store`. The prefix is prepended verbatim, so choose one that ends in a
 * separator no tenant name holds (for example `tenant-1/`). Sort keys pass
 * through unchanged, and items from `query` carry the caller's `pk`. The
 * limits apply to the whole partition key. An empty prefix returns `store`
 * itself. `close` closes `store`.
 */
export function prefixedKVStore(store: KVStore, prefix: string): KVStore {
  if (prefix === '') return store;
  if (prefix.includes('\0')) {
    throw new InvalidKVKeyError(`pk prefix ${JSON.stringify(prefix)} contains U+0000`);
  }
  return new PrefixedKVStore(store, prefix);
}

class PrefixedKVStore implements KVStore {
  readonly #store: KVStore;
  readonly #prefix: string;

  constructor(store: KVStore, prefix: string) {
    this.#store = store;
    this.#prefix = prefix;
  }

  async get(pk: string, sk: string): Promise<Uint8Array | undefined> {
    return this.#store.get(this.#pk(pk), sk);
  }

  async getMany(keys: readonly KVKey[]): Promise<(Uint8Array | undefined)[]> {
    return kvGetMany(this.#store, keys.map((k) => ({ pk: this.#pk(k.pk), sk: k.sk })));
  }

  async *query(pk: string, opts?: KVQueryOptions): AsyncIterable<KVItem> {
    for await (const item of this.#store.query(this.#pk(pk), opts)) {
      yield { pk, sk: item.sk, value: item.value };
    }
  }

  async batchPut(items: readonly KVItem[]): Promise<void> {
    return this.#store.batchPut(items.map((i) => ({ pk: this.#pk(i.pk), sk: i.sk, value: i.value })));
  }

  async putIfAbsent(item: KVItem): Promise<boolean> {
    return this.#store.putIfAbsent({ pk: this.#pk(item.pk), sk: item.sk, value: item.value });
  }

  async replaceIf(item: KVItem, expected: Uint8Array): Promise<boolean> {
    return this.#store.replaceIf({ pk: this.#pk(item.pk), sk: item.sk, value: item.value }, expected);
  }

  async batchDelete(keys: readonly { pk: string; sk: string }[]): Promise<void> {
    return this.#store.batchDelete(keys.map((k) => ({ pk: this.#pk(k.pk), sk: k.sk })));
  }

  async reclaim(): Promise<void> {
    await this.#store.reclaim?.();
  }

  close(): Promise<void> {
    return this.#store.close();
  }

  /** The inner pk; the caller's pk is checked first so errors name it. */
  #pk(pk: string): string {
    checkPk(pk);
    return this.#prefix + pk;
  }
}
