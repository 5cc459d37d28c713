/**
 * A bucket decorator that confines its user to one "folder" of another
 * bucket, after Thanos' `prefixed_bucket.go`. Stratus uses it to scope every
 * object of a tenant.
 */
import type { Bucket, ObjectAttributes } from './bucket.ts';
import { KEY_DELIMITER, isPossiblePrefix, validateKey } from './validate.ts';

/**
 * Returns a bucket whose key `k` is the key `<prefix>/k` of `bkt`. Slashes
 * around `prefix` are trimmed and the rest must be a valid key; `iter`
 * strips the prefix from the keys it yields, so callers never see it. An
 * empty prefix returns `bkt` itself. `close` closes `bkt`.
 */
export function prefixedBucket(bkt: Bucket, prefix: string): Bucket {
  const trimmed = trimSlashes(prefix);
  if (trimmed === '') return bkt;
  validateKey(trimmed);
  return new PrefixedBucket(bkt, trimmed + KEY_DELIMITER);
}

class PrefixedBucket implements Bucket {
  readonly #bkt: Bucket;
  readonly #prefix: string;

  constructor(bkt: Bucket, prefix: string) {
    this.#bkt = bkt;
    this.#prefix = prefix;
  }

  async get(key: string): Promise<Uint8Array> {
    return this.#bkt.get(this.#key(key));
  }

  async getRange(key: string, offset: number, length: number): Promise<Uint8Array> {
    return this.#bkt.getRange(this.#key(key), offset, length);
  }

  async head(key: string): Promise<ObjectAttributes> {
    return this.#bkt.head(this.#key(key));
  }

  async exists(key: string): Promise<boolean> {
    return this.#bkt.exists(this.#key(key));
  }

  async *iter(prefix: string): AsyncIterable<string> {
    // Check the caller's own prefix: "../x" must not reach a sibling folder.
    if (!isPossiblePrefix(prefix)) return;
    const n = this.#prefix.length;
    for await (const k of this.#bkt.iter(this.#prefix + prefix)) yield k.slice(n);
  }

  isNotFound(err: unknown): boolean {
    return this.#bkt.isNotFound(err);
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    return this.#bkt.put(this.#key(key), data);
  }

  async delete(key: string): Promise<void> {
    return this.#bkt.delete(this.#key(key));
  }

  close(): Promise<void> {
    return this.#bkt.close();
  }

  /**
   * The inner key. The caller's key is checked on its own first, so that an
   * error names it and `..` cannot climb out of the prefix; the inner
   * bucket checks the whole key again (its length, for one).
   */
  #key(key: string): string {
    validateKey(key);
    return this.#prefix + key;
  }
}

function trimSlashes(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && s[a] === KEY_DELIMITER) a++;
  while (b > a && s[b - 1] === KEY_DELIMITER) b--;
  return s.slice(a, b);
}
