/**
 * Constants and types of the segment object format (see FORMAT.md).
 */

/** "STSG" as a big-endian uint32. */
export const SegmentMagic = 0x53545347;
export const SegmentVersion = 1;
export const HeaderSize = 8;
export const FooterSize = 44;
/** Length of a series id in bytes (see lib/labels seriesId). */
export const SeriesIdSize = 16;
/** Samples per chunk before a new one is cut, as Prometheus' head does. */
export const SamplesPerChunk = 120;
/**
 * Widest time span one chunk may cover. It keeps every timestamp delta and
 * delta-of-delta inside a chunk exactly representable (< 2^53).
 */
export const MaxChunkSpanMs = 2 ** 51;

/** What a segment's footer says, and what the catalog keeps of it. */
export interface SegmentMeta {
  /** Total object size in bytes. */
  size: number;
  tableOffset: number;
  tableLength: number;
  minTime: number;
  maxTime: number;
  numSeries: number;
  numSamples: number;
}

/** Object key of a segment, relative to the tenant. */
export function segmentKey(id: string): string {
  return `segments/${id}`;
}
