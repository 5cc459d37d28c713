/**
 * The limits of `kvstore.ts`, checked the same way by every implementation.
 */
import type { KVItem, KVQueryOptions } from './kvstore.ts';
import { InvalidKVKeyError, InvalidKVRequestError, KVValueTooLargeError } from './errors.ts';
import { isWellFormed } from '../util/utf8.ts';

/** The longest partition or sort key, in UTF-8 bytes (DynamoDB's limit). */
export const MAX_KEY_BYTES = 1024;

/**
 * The longest value in bytes: 390 KiB, which leaves room for both keys and
 * the attribute names inside DynamoDB's 400 KB item limit.
 */
export const MAX_VALUE_BYTES = 390 * 1024;

/** Checks a partition key; throws {@link InvalidKVKeyError}. */
export function checkPk(pk: string): void {
  checkKeyString('pk', pk);
  if (pk.includes('\0')) {
    throw new InvalidKVKeyError(`pk ${JSON.stringify(pk)} contains U+0000`);
  }
}

/** Checks a sort key; throws {@link InvalidKVKeyError}. */
export function checkSk(sk: string): void {
  checkKeyString('sk', sk);
}

/** Checks both keys of an item. */
export function checkKey(pk: string, sk: string): void {
  checkPk(pk);
  checkSk(sk);
}

/** Checks an item's keys and value size; throws before anything is written. */
export function checkItem(item: KVItem): void {
  checkKey(item.pk, item.sk);
  checkValue(item);
}

/** Checks an item's value: a Uint8Array of at most {@link MAX_VALUE_BYTES}. */
function checkValue(item: KVItem): void {
  if (!(item.value instanceof Uint8Array)) {
    throw new InvalidKVRequestError(`value of (${item.pk}, ${item.sk}) is not a Uint8Array`);
  }
  if (item.value.length > MAX_VALUE_BYTES) {
    throw new KVValueTooLargeError(
      `value of (${item.pk}, ${item.sk}) is ${item.value.length} bytes, more than ${MAX_VALUE_BYTES}`,
    );
  }
}

/**
 * Checks every item of a `batchPut` and that no (pk, sk) occurs twice (as
 * DynamoDB's BatchWriteItem does). Throws before anything is written.
 */
export function checkBatch(items: readonly KVItem[]): void {
  // Sort keys grouped by partition: no joined key string per item, and
  // each partition key checked once (batches repeat a few partitions).
  const byPk = new Map<string, Set<string>>();
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    let sks = byPk.get(item.pk);
    if (sks === undefined) {
      checkPk(item.pk);
      sks = new Set();
      byPk.set(item.pk, sks);
    }
    checkSk(item.sk);
    checkValue(item);
    if (sks.has(item.sk)) {
      throw new InvalidKVRequestError(`batchPut holds (${item.pk}, ${item.sk}) twice`);
    }
    sks.add(item.sk);
  }
}

/**
 * Checks query options: `prefix` is not combined with `start`/`end`, every
 * string is well-formed and at most {@link MAX_KEY_BYTES} long, and `limit`
 * is a non-negative integer. Empty strings are allowed and select as the
 * plain comparison says (`prefix: ''` and `start: ''` select everything).
 */
export function checkQuery(pk: string, opts: KVQueryOptions): void {
  checkPk(pk);
  const { prefix, start, end, limit } = opts;
  if (prefix !== undefined && (start !== undefined || end !== undefined)) {
    throw new InvalidKVRequestError(`query ${pk}: prefix cannot be combined with start or end`);
  }
  for (const [name, s] of [['prefix', prefix], ['start', start], ['end', end]] as const) {
    if (s === undefined) continue;
    if (typeof s !== 'string' || !isWellFormed(s) || Buffer.byteLength(s, 'utf8') > MAX_KEY_BYTES) {
      throw new InvalidKVRequestError(
        `query ${pk}: ${name} must be a well-formed string of at most ${MAX_KEY_BYTES} UTF-8 bytes`,
      );
    }
  }
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) {
    throw new InvalidKVRequestError(`query ${pk}: limit ${limit} is not a non-negative integer`);
  }
}

function checkKeyString(name: 'pk' | 'sk', s: string): void {
  if (typeof s !== 'string' || s.length === 0) {
    throw new InvalidKVKeyError(`${name} is empty`);
  }
  if (!isWellFormed(s)) {
    throw new InvalidKVKeyError(`${name} ${JSON.stringify(s)} contains a lone surrogate`);
  }
  const bytes = Buffer.byteLength(s, 'utf8');
  if (bytes > MAX_KEY_BYTES) {
    throw new InvalidKVKeyError(`${name} is ${bytes} UTF-8 bytes, more than ${MAX_KEY_BYTES}`);
  }
}

