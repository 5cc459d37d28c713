/**
 * Chunk encodings: the interfaces and the Prometheus-compatible XOR chunk.
 */
export { Encoding } from './chunk.ts';
export type { Chunk, ChunkAppender, ChunkIterator } from './chunk.ts';
export {
  DOD_BUCKETS,
  MAX_EXACT_DOD,
  MAX_LEADING_ZEROS,
  MAX_SAMPLES_PER_CHUNK,
  XOR_HEADER_SIZE,
  XORAppender,
  XORChunk,
  XORIterator,
} from './xor.ts';
export { ChunkFullError, CorruptChunkError, InvalidSampleError } from './errors.ts';
