/**
 * Chunk interfaces, after Prometheus' tsdb/chunkenc. A chunk holds the
 * samples of one series in time order, encoded; the XOR encoding (`xor.ts`)
 * is byte-compatible with Prometheus, so stored chunks can be handed to a
 * STREAMED_XOR_CHUNKS remote-read client unchanged.
 *
 * Everything here is synchronous and works on in-memory bytes.
 */

/** Chunk encodings, with Prometheus' numbers (also prompb `Chunk.Encoding`). */
export const Encoding = {
  None: 0,
  XOR: 1,
  Histogram: 2,
  FloatHistogram: 3,
} as const;
export type Encoding = (typeof Encoding)[keyof typeof Encoding];

/**
 * Iterates the samples of a chunk. `next()` and `seek()` allocate nothing.
 * Timestamps are milliseconds as `number` (exact up to 2^53).
 */
export interface ChunkIterator {
  /** Advances to the next sample; false at the end or on error (see `err`). */
  next(): boolean;
  /**
   * Advances to the first sample with timestamp >= t (staying put if the
   * current one already is); false if there is none.
   */
  seek(t: number): boolean;
  /** Timestamp of the current sample. */
  atT(): number;
  /** Value of the current sample (NaN payloads kept bit-exact). */
  atV(): number;
  /** The error that ended iteration early (corrupt bytes), or null. */
  err(): Error | null;
}

/** Appends samples to a chunk, in strictly increasing time order. */
export interface ChunkAppender {
  append(t: number, v: number): void;
}

export interface Chunk {
  readonly encoding: Encoding;
  /**
   * The encoded bytes. A view into the chunk's buffer: valid until the next
   * append; copy it if you keep it.
   */
  bytes(): Uint8Array;
  numSamples(): number;
  /** An appender that continues after the last sample. */
  appender(): ChunkAppender;
  /** An iterator from the first sample; `reuse` may be recycled. */
  iterator(reuse?: ChunkIterator): ChunkIterator;
}
