/**
 * The storage API every reader and writer of series goes through, after
 * Prometheus' storage/interface.go. Async stops at the series and object
 * level: everything under `Series.iterator()` is synchronous and works on
 * bytes already in memory.
 *
 * Times are inclusive milliseconds as `number` (exact up to 2^53).
 */
import type { ChunkIterator, Encoding } from '../chunkenc/chunk.ts';
import type { Labels } from '../labels/labels.ts';
import type { Matcher } from '../labels/matcher.ts';

/**
 * Iterates samples in strictly increasing time order. The same contract as
 * a chunk iterator, so a single chunk's iterator is a valid sample iterator.
 */
export type SampleIterator = ChunkIterator;

/** One series: its labels and its samples. */
export interface Series {
  readonly labels: Labels;
  /** A fresh iterator from the first sample; `reuse` may be recycled. */
  iterator(reuse?: SampleIterator): SampleIterator;
}

/** One encoded chunk of a series. */
export interface ChunkMeta {
  readonly minTime: number;
  readonly maxTime: number;
  readonly encoding: Encoding;
  /** Encoded bytes: a view into a shared buffer; copy it if you keep it. */
  readonly data: Uint8Array;
}

/** One series as encoded chunks, in time order and not overlapping. */
export interface ChunkSeries {
  readonly labels: Labels;
  readonly chunks: readonly ChunkMeta[];
}

/**
 * A set of series in label order (when asked for sorted). `next()` resolves
 * false at the end and rejects on error; there is no `err()`.
 */
export interface SeriesSet<S = Series> {
  next(): Promise<boolean>;
  at(): S;
  /** Non-fatal problems met while reading (partial answers). */
  warnings(): readonly string[];
}

/** What the caller knows about how the selected data will be used. */
export interface SelectHints {
  /** Inclusive start of the data needed, ms. */
  start: number;
  /** Inclusive end of the data needed, ms. */
  end: number;
  step?: number;
  func?: string;
  range?: number;
}

/** Reads series over a fixed time range [mint, maxt]. */
export interface Querier {
  /**
   * The series matching every matcher with samples in the range, each cut
   * to the range. Sorted by labels when `sortSeries` is true.
   */
  select(sortSeries: boolean, hints: SelectHints | undefined, ...matchers: Matcher[]): SeriesSet;
  /**
   * Label names of the series with data in the range that match every
   * matcher (all series without matchers), sorted, each once.
   */
  labelNames(...matchers: Matcher[]): Promise<string[]>;
  /** Values of label `name` over the same series as {@link labelNames}, sorted, each once. */
  labelValues(name: string, ...matchers: Matcher[]): Promise<string[]>;
  /** Releases resources. */
  close(): Promise<void>;
}

/** Like `Querier`, but series come as encoded chunks (not cut to the range). */
export interface ChunkQuerier {
  select(sortSeries: boolean, hints: SelectHints | undefined, ...matchers: Matcher[]): SeriesSet<ChunkSeries>;
  close(): Promise<void>;
}

/** Opens queriers. */
export interface Queryable {
  querier(mint: number, maxt: number): Promise<Querier>;
  chunkQuerier(mint: number, maxt: number): Promise<ChunkQuerier>;
}

/** A set of series in memory (for small results and tests). */
export function listSeriesSet<S>(items: readonly S[], warnings: readonly string[] = []): SeriesSet<S> {
  let i = -1;
  return {
    next: async () => ++i < items.length,
    at: () => items[i]!,
    warnings: () => warnings,
  };
}

/** An empty set. */
export function emptySeriesSet<S = Series>(): SeriesSet<S> {
  return listSeriesSet<S>([]);
}
