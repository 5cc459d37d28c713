/**
 * Errors raised by the key-value stores. Every implementation checks the
 * limits documented in `kvstore.ts` itself, with these classes, so that the
 * embedded store fails exactly where DynamoDB would.
 */
import { BadInputError, TooLargeError } from '../util/errors.ts';

/**
 * A partition or sort key breaks the limits: empty, longer than 1024 UTF-8
 * bytes, a lone UTF-16 surrogate (no UTF-8 form), or U+0000 in a `pk`.
 */
export class InvalidKVKeyError extends BadInputError {}

/** A value longer than 390 KiB. */
export class KVValueTooLargeError extends TooLargeError {}

/**
 * A call that breaks its own contract: query options that do not fit
 * together or a bad `limit`, or the same (pk, sk) twice in one `batchPut`.
 */
export class InvalidKVRequestError extends BadInputError {}
