/**
 * Errors raised by the object stores. Backends wrap their own failures in
 * these classes (passing the original on as `cause`) so callers never see
 * an SDK- or OS-specific error type.
 */
import { BadInputError, StratusError } from '../util/errors.ts';

/**
 * The object does not exist. Every backend's `isNotFound` is true for it,
 * and every method that reads an object rejects with it when the key is
 * absent. The message names the operation and key (`get a/b`).
 */
export class NotFoundError extends StratusError {}

/**
 * A key breaks the rules documented in `bucket.ts` (empty, leading `/`,
 * empty, `.` or `..` segments, U+0000, lone surrogates, too long), or a
 * backend cannot store it (on the filesystem: a name too long for the OS,
 * or a key that would need a file where a folder is, or the other way
 * round).
 */
export class InvalidKeyError extends BadInputError {}

/** A byte range with a negative or non-integer offset or length. */
export class InvalidRangeError extends BadInputError {}
