/**
 * Block objects: what compaction turns segments (and smaller blocks) into.
 * The byte layout is documented in docs/storage-format.md ("Block object").
 */

export const BlockMagic = 0x5354424b; // "STBK"
export const BlockVersion = 1;
export const BlockHeaderSize = 8;
export const BlockFooterSize = 28;

/** Raw pages are cut at about this many bytes before compression. */
export const DefaultPageBytes = 128 * 1024;

/** Downsampling resolutions, ms; 0 is raw data. */
export const Resolution = { RAW: 0, FIVE_MINUTES: 5 * 60_000, ONE_HOUR: 3_600_000 } as const;
export type Resolution = (typeof Resolution)[keyof typeof Resolution];

/**
 * The value columns of a downsampled series, in stored order, after Thanos'
 * AggrChunk: per window, the number of samples, their sum, minimum and
 * maximum, and a counter value with resets accounted for (see
 * lib/compact/downsample.ts).
 */
export const AggrColumns = ['count', 'sum', 'min', 'max', 'counter'] as const;
export type AggrColumn = (typeof AggrColumns)[number];

/** Metadata of a block: kept in the object and in its catalog entry. */
export interface BlockMeta {
  /** ULID of the block. */
  id: string;
  /** Inclusive time range of its samples, ms. */
  minTime: number;
  maxTime: number;
  /** The nominal window it compacts, ms, [start, end). */
  windowStart: number;
  windowEnd: number;
  /** 1 for blocks made from segments, higher for blocks made from blocks. */
  level: number;
  /** 0 for raw samples, else the downsampling step in ms. */
  resolution: number;
  numSeries: number;
  numSamples: number;
  numPages: number;
  /**
   * Rank of the block's data among overlapping data: the largest order key
   * of its sources (a segment's order key is its id). Equal timestamps
   * resolve to the source with the larger key, before and after compaction.
   */
  orderKey: string;
  /** How many objects it replaced. */
  numSources: number;
  /**
   * Downsampled blocks only: the raw block of the window it was made from
   * (5 m blocks), or the 5 m block (1 h blocks). See lib/compact/downsample-jobs.ts.
   */
  downsampledFrom?: string;
  /** Downsampled blocks only: ids of every raw block whose samples it holds (its raw lineage). */
  downsampledSources?: string[];
}

/** Object key of a block. */
export function blockKey(id: string): string {
  return `blocks/${id}`;
}
