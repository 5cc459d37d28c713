/**
 * A key-value store on an embedded LevelDB (through classic-level), for
 * local mode. Prometheus 1.x kept its label indexes in LevelDB too.
 *
 * Layout: one LevelDB key per item, `UTF-8(pk) 0x00 UTF-8(sk)`, the value
 * stored as is. Since a pk never holds U+0000, the 0x00 ends the partition
 * part, so partitions never mix (`a` vs `a\x01` vs `ab`), and LevelDB's
 * bytewise order sorts each partition by the UTF-8 bytes of its sort keys.
 * 0xFF never occurs in UTF-8, so `<partition or prefix bytes> 0xFF` is an
 * exclusive upper bound for every key that starts with those bytes.
 */
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { BackendError } from '../../util/errors.ts';
import type { KVItem, KVKey, KVQueryOptions, KVStore } from '../kvstore.ts';
import { checkBatch, checkItem, checkKey, checkQuery } from '../validate.ts';
import { KeyedMutex } from './keyed-mutex.ts';

/** Options of {@link LevelKVStore.open}. */
export interface LevelKVStoreOptions {
  /** The LevelDB folder; created if missing. */
  dir: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

type Db = ClassicLevel<Uint8Array, Uint8Array>;

/**
 * A {@link KVStore} on LevelDB. Writes are synced to disk before their
 * promises resolve. LevelDB has no conditional put, so writes are
 * serialized per item key inside this process: `putIfAbsent` is atomic
 * against every other write made through the same instance (LevelDB's lock
 * file keeps other processes out of the folder).
 */
export class LevelKVStore implements KVStore {
  readonly #db: Db;
  readonly #locks = new KeyedMutex();
  /**
   * putIfAbsent calls under way. Plain writes take per-key locks only while
   * there is one (they are rare: leases); otherwise they skip the locking.
   */
  #conditional = 0;
  /** Plain writes under way without locks, which a putIfAbsent waits for. */
  readonly #unlocked = new Set<Promise<unknown>>();

  private constructor(db: Db) {
    this.#db = db;
  }

  /** Opens (creating if needed) the store in `opts.dir`. */
  static async open(opts: LevelKVStoreOptions): Promise<LevelKVStore> {
    const dir = resolve(opts.dir);
    const db: Db = new ClassicLevel<Uint8Array, Uint8Array>(dir, {
      keyEncoding: 'view',
      valueEncoding: 'view',
    });
    try {
      await mkdir(dir, { recursive: true });
      await db.open();
    } catch (err) {
      throw new BackendError(`open leveldb ${dir}`, { cause: err });
    }
    return new LevelKVStore(db);
  }

  async get(pk: string, sk: string): Promise<Uint8Array | undefined> {
    checkKey(pk, sk);
    try {
      const v = await this.#db.get(itemKey(pk, sk));
      return v === undefined ? undefined : plain(v);
    } catch (err) {
      throw new BackendError(`get (${pk}, ${sk})`, { cause: err });
    }
  }

  /** One LevelDB multi-get (classic-level's `getMany`, read from one snapshot). */
  async getMany(keys: readonly KVKey[]): Promise<(Uint8Array | undefined)[]> {
    for (const { pk, sk } of keys) checkKey(pk, sk);
    if (keys.length === 0) return [];
    // LevelDB copies the keys when the call starts, so views of one shared array will do.
    const encoded = encodeKeys(keys);
    const lkeys = new Array<Uint8Array>(keys.length);
    for (let i = 0; i < keys.length; i++) lkeys[i] = encoded.bytes.subarray(encoded.start[i]!, encoded.start[i + 1]!);
    let values: (Uint8Array | undefined)[];
    try {
      values = await this.#db.getMany(lkeys);
    } catch (err) {
      throw new BackendError(`getMany ${keys.length} keys`, { cause: err });
    }
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      // Repeated keys get separate buffers from LevelDB, so no two results share memory.
      if (v !== undefined) values[i] = plain(v);
    }
    return values;
  }

  async *query(pk: string, opts: KVQueryOptions = {}): AsyncIterable<KVItem> {
    checkQuery(pk, opts);
    if (opts.limit === 0) return;
    const base = partitionKey(pk);
    let gte: Uint8Array;
    let lte: Uint8Array | undefined;
    let lt: Uint8Array | undefined;
    if (opts.prefix !== undefined) {
      const p = concat(base, encoder.encode(opts.prefix));
      gte = p;
      lt = concat(p, HIGH);
    } else {
      gte = opts.start !== undefined ? concat(base, encoder.encode(opts.start)) : base;
      if (opts.end !== undefined) lte = concat(base, encoder.encode(opts.end));
      else lt = concat(base, HIGH);
    }
    const it = this.#db.iterator({
      gte,
      ...(lte !== undefined ? { lte } : { lt }),
      reverse: opts.reverse === true,
      limit: opts.limit ?? -1,
    });
    try {
      for (;;) {
        let entries: [Uint8Array, Uint8Array][];
        try {
          entries = await it.nextv(256);
        } catch (err) {
          throw new BackendError(`query ${pk}`, { cause: err });
        }
        if (entries.length === 0) return;
        for (const [key, value] of entries) {
          yield { pk, sk: decoder.decode(key.subarray(base.length)), value: plain(value) };
        }
      }
    } finally {
      await it.close();
    }
  }

  async batchPut(items: readonly KVItem[]): Promise<void> {
    checkBatch(items);
    if (items.length === 0) return;
    await this.#write(items, () => this.#putBatch(items));
  }

  /**
   * Writes `items` (checked) as one synced LevelDB batch. A method, not an
   * async closure made per call: V8 shares one feedback vector among the
   * closures of a site, and the optimised code of such a closure was thrown
   * away again for each new one (hundreds of deoptimisations per benchmark
   * run, measured with --trace-deopt).
   */
  async #putBatch(items: readonly KVItem[]): Promise<void> {
    // The chained form: about 7x less CPU per item than an array of ops,
    // which abstract-level clones and re-validates one by one (measured).
    // No copy of the values: LevelDB's WriteBatch copies each key and
    // value in `put` (classic-level's batch_put), before this returns.
    // Keys are encoded into one shared array and passed as views of it:
    // one allocation per batch instead of one per key (LevelDB copies
    // them too).
    const keys = encodeKeys(items);
    const batch = this.#db.batch();
    for (let i = 0; i < items.length; i++) batch.put(keys.bytes.subarray(keys.start[i]!, keys.start[i + 1]!), items[i]!.value);
    try {
      await batch.write({ sync: true });
    } catch (err) {
      throw new BackendError(`batchPut ${items.length} items`, { cause: err });
    }
  }

  /**
   * Runs a plain write so that it cannot interleave with a putIfAbsent of
   * one of its keys: under the keys' locks while a putIfAbsent is under
   * way, else unlocked but registered (a putIfAbsent that starts later
   * waits for it).
   */
  async #write(keys: readonly { pk: string; sk: string }[], task: () => Promise<void>): Promise<void> {
    if (this.#conditional > 0) return this.#locks.run(keys.map(lockKey), task);
    const p = task();
    this.#unlocked.add(p);
    try {
      await p;
    } finally {
      this.#unlocked.delete(p);
    }
  }

  async putIfAbsent(item: KVItem): Promise<boolean> {
    checkItem(item);
    const key = itemKey(item.pk, item.sk);
    const value = item.value.slice();
    this.#conditional++;
    try {
      return await this.#locks.run([lockKey(item)], async () => {
        // Unlocked plain writes that started before this call may touch the key.
        await Promise.allSettled([...this.#unlocked]);
        return this.#putIfAbsentLocked(item, key, value);
      });
    } finally {
      this.#conditional--;
    }
  }

  /** Compacts the whole key range, dropping deleted items and the write-ahead log's contents. */
  async reclaim(): Promise<void> {
    try {
      await this.#db.compactRange(new Uint8Array(0), new Uint8Array([0xff, 0xff, 0xff, 0xff]));
    } catch (err) {
      throw new BackendError('compact leveldb', { cause: err });
    }
  }

  async replaceIf(item: KVItem, expected: Uint8Array): Promise<boolean> {
    checkItem(item);
    const key = itemKey(item.pk, item.sk);
    const value = item.value.slice();
    this.#conditional++;
    try {
      return await this.#locks.run([lockKey(item)], async () => {
        await Promise.allSettled([...this.#unlocked]);
        try {
          const cur = await this.#db.get(key);
          if (cur === undefined || Buffer.compare(cur, expected) !== 0) return false;
          await this.#db.put(key, value, { sync: true });
          return true;
        } catch (err) {
          throw new BackendError(`replaceIf (${item.pk}, ${item.sk})`, { cause: err });
        }
      });
    } finally {
      this.#conditional--;
    }
  }

  async #putIfAbsentLocked(item: KVItem, key: Uint8Array, value: Uint8Array): Promise<boolean> {
    {
      try {
        if ((await this.#db.get(key)) !== undefined) return false;
        await this.#db.put(key, value, { sync: true });
        return true;
      } catch (err) {
        throw new BackendError(`putIfAbsent (${item.pk}, ${item.sk})`, { cause: err });
      }
    }
  }

  async batchDelete(keys: readonly { pk: string; sk: string }[]): Promise<void> {
    for (const { pk, sk } of keys) checkKey(pk, sk);
    if (keys.length === 0) return;
    await this.#write(keys, async () => {
      const batch = this.#db.batch();
      for (const { pk, sk } of keys) batch.del(itemKey(pk, sk));
      try {
        await batch.write({ sync: true });
      } catch (err) {
        throw new BackendError(`batchDelete ${keys.length} items`, { cause: err });
      }
    });
  }

  async close(): Promise<void> {
    await this.#db.close();
  }
}

/** The exclusive upper-bound byte: it never occurs in UTF-8. */
const HIGH = Uint8Array.of(0xff);

/** `UTF-8(pk) 0x00`: the first bytes of every key of partition `pk`. */
function partitionKey(pk: string): Uint8Array {
  const b = encoder.encode(pk);
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}

/** `UTF-8(pk) 0x00 UTF-8(sk)`: the LevelDB key of one item. */
export function itemKey(pk: string, sk: string): Uint8Array {
  // pk holds no U+0000, so one encode of the joined string gives the bytes.
  return encoder.encode(`${pk}\u0000${sk}`);
}

/** The LevelDB keys of `items`, back to back: key i is bytes[start[i], start[i+1]). */
function encodeKeys(items: readonly { pk: string; sk: string }[]): { bytes: Uint8Array; start: Uint32Array } {
  let chars = 0;
  for (const it of items) chars += it.pk.length + it.sk.length + 1;
  // UTF-8 takes at most 3 bytes per UTF-16 unit.
  let bytes = new Uint8Array(chars + 64);
  const start = new Uint32Array(items.length + 1);
  let pos = 0;
  for (let i = 0; i < items.length; i++) {
    const it = items[i]!;
    start[i] = pos;
    for (;;) {
      const key = `${it.pk}\u0000${it.sk}`;
      const r = encoder.encodeInto(key, bytes.subarray(pos));
      if (r.read === key.length) {
        pos += r.written;
        break;
      }
      const next = new Uint8Array(Math.max(bytes.length * 2, pos + key.length * 3));
      next.set(bytes.subarray(0, pos));
      bytes = next;
    }
  }
  start[items.length] = pos;
  return { bytes, start };
}

function lockKey(k: { pk: string; sk: string }): string {
  return k.pk + '\0' + k.sk;
}

/**
 * classic-level hands out a Buffer with its own memory per value; callers
 * get a plain Uint8Array view of it, like every other store returns.
 */
function plain(b: Uint8Array): Uint8Array {
  return b.constructor === Uint8Array ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
