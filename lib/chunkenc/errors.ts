/**
 * Errors of the chunk encodings.
 */
import { CorruptionError, StratusError } from '../util/errors.ts';

/**
 * The chunk cannot take this sample, although the sample itself is fine:
 * the chunk already holds the maximum number of samples, or the gap to the
 * previous sample needs a delta-of-delta larger than we encode exactly. The
 * caller should cut a new chunk and append the sample there.
 */
export class ChunkFullError extends StratusError {}

/**
 * The sample cannot be appended to any chunk as given: its timestamp is not
 * after the previous one, or it is not a safe integer of milliseconds.
 */
export class InvalidSampleError extends StratusError {}

/** The bytes of a chunk do not decode (truncated, or not this encoding). */
export class CorruptChunkError extends CorruptionError {}
