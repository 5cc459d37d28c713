/**
 * A KVStore decorator that answers repeated range queries of chosen
 * partitions (the catalog) from memory, for a process that owns its index
 * store: local mode, where LevelDB's lock lets one process open the data
 * directory, so every write to the store passes through this object.
 *
 * Why: every read starts with a catalog range query (which objects hold
 * the range). On LevelDB that is an iterator, two `nextv` calls and a
 * `close`, each a trip to the thread pool: about 0.5 ms of a 1 ms warm
 * remote_read of 100 series, measured. The catalog changes only when
 * this process writes it.
 *
 * Read-after-write holds: a write drops every cached answer whose range
 * holds one of its keys before the write is sent, and a query caches its
 * answer only if no write to the partition began or was in flight while
 * it ran (a per-partition counter, bumped when a write starts and when it
 * ends). So an answer served from memory is one the store would give at
 * that moment, for any write acknowledged before the query began.
 *
 * Never use it where another process writes the same store (AWS mode:
 * Lambdas, other containers and the compactor write DynamoDB); there the
 * catalog must be read from the store, strongly consistent, every time.
 */
import type { KVItem, KVKey, KVQueryOptions, KVStore } from '../kvstore/kvstore.ts';
import { compareUtf8 } from '../util/utf8.ts';

/** Options of {@link OwnedQueryCache}. */
export interface OwnedQueryCacheOptions {
  /** Partitions whose queries are cached (others pass through). */
  cacheable: (pk: string) => boolean;
  /** Most bytes of cached values (plus ~100 per item), least recently used first out. @default 16 MiB */
  maxBytes?: number;
  /** Answers with more items than this are not cached. @default 10_000 */
  maxItems?: number;
}

interface CachedAnswer {
  readonly pk: string;
  readonly opts: KVQueryOptions;
  /** The answer's sort keys, values and value lengths, index for index. */
  readonly keys: readonly string[];
  readonly values: readonly Uint8Array[];
  readonly valueLengths: readonly number[];
  readonly bytes: number;
}

/** Per-item bookkeeping counted against the byte budget. */
const ItemOverheadBytes = 100;

export class OwnedQueryCache implements KVStore {
  /** Cached answers by partition, then by query options; insertion order of `lru` is recency. */
  readonly #byPk = new Map<string, Map<string, CachedAnswer>>();
  readonly #lru = new Map<CachedAnswer, true>();
  /** Writes begun or ended, per partition (a query caches only if this did not move). */
  readonly #epoch = new Map<string, number>();
  readonly #inFlight = new Map<string, number>();
  #bytes = 0;
  readonly #maxBytes: number;
  readonly #maxItems: number;
  /** Answers served from memory (for tests and benchmarks). */
  hits = 0;

  constructor(
    private readonly store: KVStore,
    private readonly opts: OwnedQueryCacheOptions,
  ) {
    this.#maxBytes = opts.maxBytes ?? 16 * 1024 * 1024;
    this.#maxItems = opts.maxItems ?? 10_000;
    if (store.getMany !== undefined) this.getMany = (keys) => store.getMany!(keys);
    if (store.reclaim !== undefined) this.reclaim = () => store.reclaim!();
  }

  getMany?: (keys: readonly KVKey[]) => Promise<(Uint8Array | undefined)[]>;
  reclaim?: () => Promise<void>;

  /** A point read; in a cacheable partition, answered as the query of exactly that key (and cached as one). */
  async get(pk: string, sk: string): Promise<Uint8Array | undefined> {
    if (!this.opts.cacheable(pk)) return this.store.get(pk, sk);
    let value: Uint8Array | undefined;
    for await (const it of this.query(pk, { start: sk, end: sk })) value = it.value;
    return value;
  }

  async *query(pk: string, opts: KVQueryOptions = {}): AsyncIterable<KVItem> {
    if (!this.opts.cacheable(pk)) {
      yield* this.store.query(pk, opts);
      return;
    }
    const key = optionsKey(opts);
    const hit = this.#hit(pk, key);
    if (hit !== undefined) {
      // Copies: callers own what a query yields.
      for (let i = 0; i < hit.keys.length; i++) yield { pk, sk: hit.keys[i]!, value: hit.values[i]!.slice() };
      return;
    }
    const epoch = this.#epoch.get(pk) ?? 0;
    const quiet = (this.#inFlight.get(pk) ?? 0) === 0;
    const keys: string[] = [];
    const values: Uint8Array[] = [];
    const valueLengths: number[] = [];
    let bytes = 0;
    let keep = quiet;
    for await (const it of this.store.query(pk, opts)) {
      if (keep) {
        keys.push(it.sk);
        values.push(it.value.slice());
        valueLengths.push(it.value.length);
        bytes += it.value.length + it.sk.length * 2 + ItemOverheadBytes;
        if (keys.length > this.#maxItems) keep = false;
      }
      yield it;
    }
    // Reached only when the caller read the whole answer.
    if (keep && (this.#epoch.get(pk) ?? 0) === epoch && (this.#inFlight.get(pk) ?? 0) === 0) {
      this.#remember({ pk, opts: { ...opts }, keys, values, valueLengths, bytes }, key);
    }
  }

  /** The cached answer of (pk, options key), marked as just used; undefined if none. */
  #hit(pk: string, key: string): CachedAnswer | undefined {
    const hit = this.#byPk.get(pk)?.get(key);
    if (hit === undefined) return undefined;
    this.hits++;
    this.#lru.delete(hit);
    this.#lru.set(hit, true);
    return hit;
  }

  batchPut(items: readonly KVItem[]): Promise<void> {
    return this.#write(items, () => this.store.batchPut(items));
  }

  putIfAbsent(item: KVItem): Promise<boolean> {
    return this.#write([item], () => this.store.putIfAbsent(item));
  }

  replaceIf(item: KVItem, expected: Uint8Array): Promise<boolean> {
    return this.#write([item], () => this.store.replaceIf(item, expected));
  }

  batchDelete(keys: readonly KVKey[]): Promise<void> {
    return this.#write(keys, () => this.store.batchDelete(keys));
  }

  close(): Promise<void> {
    this.#byPk.clear();
    this.#lru.clear();
    this.#bytes = 0;
    return this.store.close();
  }

  /** Bytes of answers held. */
  get size(): number {
    return this.#bytes;
  }

  /**
   * Sends a write, first dropping the cached answers it may change and
   * marking its cacheable partitions as written to while it runs. Writes
   * touching no cacheable partition (the label index) go straight through.
   * Two functions, not one with a loop in a `finally`: optimised on the
   * large label-index batches, which never ran that loop, one function
   * deoptimised at every catalog write (about 300 times per benchmark run,
   * seen with --trace-deopt).
   */
  #write<T>(keys: readonly KVKey[], send: () => Promise<T>): Promise<T> {
    const pks = this.#begin(keys);
    return pks === undefined ? send() : this.#tracked(pks, send);
  }

  /** Invalidates for `keys` and bumps their cacheable partitions' counters; undefined if there are none. */
  #begin(keys: readonly KVKey[]): Set<string> | undefined {
    let pks: Set<string> | undefined;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      if (!this.opts.cacheable(k.pk)) continue;
      (pks ??= new Set()).add(k.pk);
      this.#invalidate(k.pk, k.sk);
    }
    if (pks === undefined) return undefined;
    for (const pk of pks) {
      this.#epoch.set(pk, (this.#epoch.get(pk) ?? 0) + 1);
      this.#inFlight.set(pk, (this.#inFlight.get(pk) ?? 0) + 1);
    }
    return pks;
  }

  async #tracked<T>(pks: ReadonlySet<string>, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } finally {
      for (const pk of pks) {
        this.#epoch.set(pk, this.#epoch.get(pk)! + 1);
        this.#inFlight.set(pk, this.#inFlight.get(pk)! - 1);
      }
    }
  }

  /** Drops the cached answers of `pk` whose range holds `sk`. */
  #invalidate(pk: string, sk: string): void {
    const answers = this.#byPk.get(pk);
    if (answers === undefined) return;
    for (const [key, a] of answers) {
      if (!inRange(sk, a.opts)) continue;
      answers.delete(key);
      this.#forget(a);
    }
  }

  #remember(a: CachedAnswer, key: string): void {
    if (a.bytes > this.#maxBytes / 4) return;
    let answers = this.#byPk.get(a.pk);
    if (answers === undefined) this.#byPk.set(a.pk, (answers = new Map()));
    const old = answers.get(key);
    if (old !== undefined) this.#forget(old);
    answers.set(key, a);
    this.#lru.set(a, true);
    this.#bytes += a.bytes;
    for (const victim of this.#lru.keys()) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#byPk.get(victim.pk)?.delete(optionsKey(victim.opts));
      this.#forget(victim);
    }
  }

  #forget(a: CachedAnswer): void {
    if (this.#lru.delete(a)) this.#bytes -= a.bytes;
  }
}

/** A key for a query's options (all of them shape the answer). */
function optionsKey(o: KVQueryOptions): string {
  return JSON.stringify([o.prefix ?? null, o.start ?? null, o.end ?? null, o.reverse === true, o.limit ?? null]);
}

/**
 * True when an item with sort key `sk` is selected by `o`'s range (its
 * limit aside: a write inside the range may change a limited answer too).
 * Sort keys compare by code point, as the stores order them.
 */
export function inRange(sk: string, o: KVQueryOptions): boolean {
  if (o.prefix !== undefined) return sk.startsWith(o.prefix);
  if (o.start !== undefined && compareUtf8(sk, o.start) < 0) return false;
  if (o.end !== undefined && compareUtf8(sk, o.end) > 0) return false;
  return true;
}
