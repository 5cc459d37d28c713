/**
 * An in-memory key-value store for tests and for wiring that needs no disk.
 */
import { compareUtf8 } from '../util/utf8.ts';
import type { KVItem, KVKey, KVQueryOptions, KVStore } from './kvstore.ts';
import { checkBatch, checkItem, checkKey, checkQuery } from './validate.ts';

/** The items of one partition, as parallel arrays sorted by `compareUtf8(sk)`. */
interface Partition {
  sks: string[];
  values: Uint8Array[];
}

/**
 * A {@link KVStore} in memory: one sorted array per partition, searched by
 * bisection. Values are copied on the way in and on the way out. Every
 * operation takes effect at once (before its promise settles), so
 * `putIfAbsent` is atomic, and `query` reads a snapshot taken when
 * iteration starts.
 */
export class MemKVStore implements KVStore {
  readonly #partitions = new Map<string, Partition>();

  async get(pk: string, sk: string): Promise<Uint8Array | undefined> {
    checkKey(pk, sk);
    const p = this.#partitions.get(pk);
    if (p === undefined) return undefined;
    const i = lowerBound(p.sks, sk);
    return i < p.sks.length && p.sks[i] === sk ? p.values[i].slice() : undefined;
  }

  /**
   * One `get` per key, through `this.get`: objects that borrow this
   * prototype and override `get` (test doubles counting reads) see every
   * read, and nothing touches the private fields of such an object.
   */
  async getMany(keys: readonly KVKey[]): Promise<(Uint8Array | undefined)[]> {
    for (const { pk, sk } of keys) checkKey(pk, sk);
    return Promise.all(keys.map(({ pk, sk }) => this.get(pk, sk)));
  }

  async *query(pk: string, opts: KVQueryOptions = {}): AsyncIterable<KVItem> {
    checkQuery(pk, opts);
    const p = this.#partitions.get(pk);
    if (p === undefined || opts.limit === 0) return;
    const { sks, values } = p;
    let lo = 0;
    let hi = sks.length;
    if (opts.prefix !== undefined) {
      lo = lowerBound(sks, opts.prefix);
      hi = prefixEnd(sks, opts.prefix, lo);
    }
    if (opts.start !== undefined) lo = lowerBound(sks, opts.start);
    if (opts.end !== undefined) hi = upperBound(sks, opts.end);
    const n = Math.min(Math.max(0, hi - lo), opts.limit ?? Infinity);
    // Copy the selection now, so later writes do not show up mid-iteration.
    const items: KVItem[] = new Array(n);
    for (let k = 0; k < n; k++) {
      const i = opts.reverse ? hi - 1 - k : lo + k;
      items[k] = { pk, sk: sks[i], value: values[i].slice() };
    }
    yield* items;
  }

  async batchPut(items: readonly KVItem[]): Promise<void> {
    checkBatch(items);
    for (const item of items) this.#set(item);
  }

  async putIfAbsent(item: KVItem): Promise<boolean> {
    checkItem(item);
    const p = this.#partitions.get(item.pk);
    if (p !== undefined) {
      const i = lowerBound(p.sks, item.sk);
      if (i < p.sks.length && p.sks[i] === item.sk) return false;
    }
    this.#set(item);
    return true;
  }

  async replaceIf(item: KVItem, expected: Uint8Array): Promise<boolean> {
    checkItem(item);
    const p = this.#partitions.get(item.pk);
    if (p === undefined) return false;
    const i = lowerBound(p.sks, item.sk);
    if (i >= p.sks.length || p.sks[i] !== item.sk || !sameBytes(p.values[i]!, expected)) return false;
    this.#set(item);
    return true;
  }

  async batchDelete(keys: readonly { pk: string; sk: string }[]): Promise<void> {
    for (const { pk, sk } of keys) checkKey(pk, sk);
    for (const { pk, sk } of keys) {
      const p = this.#partitions.get(pk);
      if (p === undefined) continue;
      const i = lowerBound(p.sks, sk);
      if (i < p.sks.length && p.sks[i] === sk) {
        p.sks.splice(i, 1);
        p.values.splice(i, 1);
        if (p.sks.length === 0) this.#partitions.delete(pk);
      }
    }
  }

  async close(): Promise<void> {}

  #set(item: KVItem): void {
    let p = this.#partitions.get(item.pk);
    if (p === undefined) {
      p = { sks: [], values: [] };
      this.#partitions.set(item.pk, p);
    }
    const value = item.value.slice();
    const i = lowerBound(p.sks, item.sk);
    if (i < p.sks.length && p.sks[i] === item.sk) {
      p.values[i] = value;
    } else {
      p.sks.splice(i, 0, item.sk);
      p.values.splice(i, 0, value);
    }
  }
}

/** The first index whose sort key is >= `s`. */
function lowerBound(sks: readonly string[], s: string): number {
  return bisect(sks, (x) => compareUtf8(x, s) < 0);
}

/** The first index whose sort key is > `s`. */
function upperBound(sks: readonly string[], s: string): number {
  return bisect(sks, (x) => compareUtf8(x, s) <= 0);
}

/**
 * The first index at or after `lo` whose sort key does not start with
 * `prefix`. Keys with the prefix are contiguous in UTF-8 order, and for a
 * well-formed prefix a UTF-16 prefix is also a UTF-8 byte prefix.
 */
function prefixEnd(sks: readonly string[], prefix: string, lo: number): number {
  return bisect(sks, (x) => x.startsWith(prefix), lo);
}

/** The first index in [lo, sks.length) where `before` turns false (it must be monotone). */
function bisect(sks: readonly string[], before: (x: string) => boolean, lo = 0): number {
  let hi = sks.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (before(sks[mid])) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
