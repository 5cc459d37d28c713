/**
 * The argument rules shared by every bucket implementation, so that a key or
 * range that works on one backend works on all of them.
 */
import { InvalidKeyError, InvalidRangeError } from './errors.ts';
import { isWellFormed } from '../util/utf8.ts';

/** The longest key in UTF-8 bytes (S3's limit). */
export const MAX_KEY_BYTES = 1024;

/** The separator between key segments. */
export const KEY_DELIMITER = '/';

/**
 * Checks that `key` is a valid object key: 1..{@link MAX_KEY_BYTES} UTF-8
 * bytes, no leading `/`, no empty segment (so no trailing `/` and no `//`),
 * no `.` or `..` segment, no U+0000 and no lone UTF-16 surrogate (which has
 * no UTF-8 form). Returns the segments; throws {@link InvalidKeyError}.
 */
export function validateKey(key: string): string[] {
  if (typeof key !== 'string' || key.length === 0) {
    throw new InvalidKeyError('object key is empty');
  }
  if (key.includes('\0')) {
    throw new InvalidKeyError(`object key ${JSON.stringify(key)} contains U+0000`);
  }
  if (!isWellFormed(key)) {
    throw new InvalidKeyError(`object key ${JSON.stringify(key)} contains a lone surrogate`);
  }
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > MAX_KEY_BYTES) {
    throw new InvalidKeyError(`object key is ${bytes} UTF-8 bytes, more than ${MAX_KEY_BYTES}`);
  }
  const segments = key.split(KEY_DELIMITER);
  for (const s of segments) {
    if (s === '' || s === '.' || s === '..') {
      throw new InvalidKeyError(
        `object key ${JSON.stringify(key)} has an empty, "." or ".." segment (or a leading or trailing "/")`,
      );
    }
  }
  return segments;
}

/**
 * True when some valid key could start with `prefix`: the complete segments
 * of the prefix (those followed by `/`) are valid, and the prefix has no
 * U+0000 or lone surrogate. The part after the last `/` may be anything else,
 * since a key's segment may start with it (`a/.` is a prefix of `a/.hidden`).
 * The empty prefix matches every key.
 */
export function isPossiblePrefix(prefix: string): boolean {
  if (prefix === '') return true;
  if (prefix.includes('\0') || !isWellFormed(prefix)) return false;
  const segments = prefix.split(KEY_DELIMITER);
  for (let i = 0; i < segments.length - 1; i++) {
    const s = segments[i];
    if (s === '' || s === '.' || s === '..') return false;
  }
  return true;
}


/**
 * Checks the arguments of `getRange`: `offset` and `length` must be
 * non-negative safe integers. Throws {@link InvalidRangeError}.
 */
export function checkRange(key: string, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new InvalidRangeError(`getRange ${key}: offset ${offset} is not a non-negative integer`);
  }
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new InvalidRangeError(`getRange ${key}: length ${length} is not a non-negative integer`);
  }
}
