/**
 * An in-memory bucket for tests and for wiring that needs no disk.
 */
import { compareUtf8 } from '../util/utf8.ts';
import type { Bucket, ObjectAttributes } from './bucket.ts';
import { NotFoundError } from './errors.ts';
import { checkRange, isPossiblePrefix, validateKey } from './validate.ts';

/** Options of {@link MemBucket}. */
export interface MemBucketOptions {
  /** The clock for `lastModified`, in ms since the epoch. @default Date.now */
  now?: () => number;
}

interface MemObject {
  data: Uint8Array;
  lastModified: number;
}

/**
 * A bucket that keeps objects in a `Map`. `put` copies the caller's bytes
 * before it returns a promise and `get` returns a fresh copy, so neither
 * side can change the other's data. `iter` lists a snapshot taken when the
 * iteration starts. Keys follow the same rules as every other backend.
 */
export class MemBucket implements Bucket {
  readonly #objects = new Map<string, MemObject>();
  readonly #now: () => number;

  constructor(opts: MemBucketOptions = {}) {
    this.#now = opts.now ?? Date.now;
  }

  async get(key: string): Promise<Uint8Array> {
    return this.#object('get', key).data.slice();
  }

  async getRange(key: string, offset: number, length: number): Promise<Uint8Array> {
    checkRange(key, offset, length);
    const { data } = this.#object('getRange', key);
    const start = Math.min(offset, data.length);
    return data.slice(start, Math.min(data.length, start + length));
  }

  async head(key: string): Promise<ObjectAttributes> {
    const o = this.#object('head', key);
    return { size: o.data.length, lastModified: new Date(o.lastModified) };
  }

  async exists(key: string): Promise<boolean> {
    validateKey(key);
    return this.#objects.has(key);
  }

  async *iter(prefix: string): AsyncIterable<string> {
    if (!isPossiblePrefix(prefix)) return;
    const keys: string[] = [];
    for (const k of this.#objects.keys()) {
      if (k.startsWith(prefix)) keys.push(k);
    }
    keys.sort(compareUtf8);
    yield* keys;
  }

  isNotFound(err: unknown): boolean {
    return err instanceof NotFoundError;
  }

  put(key: string, data: Uint8Array): Promise<void> {
    try {
      validateKey(key);
      this.#objects.set(key, { data: data.slice(), lastModified: this.#now() });
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  async delete(key: string): Promise<void> {
    validateKey(key);
    this.#objects.delete(key);
  }

  async close(): Promise<void> {}

  #object(op: string, key: string): MemObject {
    validateKey(key);
    const o = this.#objects.get(key);
    if (o === undefined) throw new NotFoundError(`${op} ${key}`);
    return o;
  }
}

