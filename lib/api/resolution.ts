/**
 * `max_source_resolution`: how coarse the data a query reads may be, after
 * Thanos' query API parameter of the same name. Long ranges can then be
 * answered from downsampled blocks (5m, 1h) instead of raw samples.
 *
 * - `raw` (or `0s`): raw samples only;
 * - `5m`, `1h` or any other duration: data downsampled to at most that
 *   resolution may be used;
 * - `auto` (the default): for range queries, a fifth of the step (Thanos'
 *   rule: each step still spans about five source points); raw for instant
 *   queries.
 *
 * The value reaches the storage as the `maxSourceResolution` field of the
 * select hints (see {@link withMaxSourceResolution}). The storage does not
 * read downsampled data yet, so for now every query reads raw samples and
 * the hint only records the caller's permission.
 * TODO(stratus): downsampled reads honour the hint. #downsampling
 */
import type { Matcher } from '../labels/matcher.ts';
import type { Querier, Queryable, SelectHints, SeriesSet } from '../storage/interface.ts';
import { invalidParam } from './errors.ts';
import { parseDuration } from './params.ts';

/** The request parameter's name. */
export const MaxSourceResolutionParam = 'max_source_resolution';

/** Select hints with the coarsest acceptable source resolution. */
export interface ResolutionHints extends SelectHints {
  /** Coarsest resolution of the data the query may read, ms; 0 means raw samples only. */
  maxSourceResolution?: number;
}

/** The parsed parameter: `auto`, or a fixed resolution in ms (0 = raw). */
export type MaxSourceResolution = { auto: true } | { auto: false; ms: number };

/**
 * Parses `max_source_resolution`: empty or `auto` -> auto, `raw` -> 0, else
 * a duration as Prometheus parses durations (float seconds or `5m`).
 *
 * @throws ApiError `bad_data` naming the parameter.
 */
export function parseMaxSourceResolution(value: string): MaxSourceResolution {
  if (value === '' || value === 'auto') return { auto: true };
  if (value === 'raw') return { auto: false, ms: 0 };
  let ns: number;
  try {
    ns = parseDuration(value);
  } catch (err) {
    throw invalidParam(MaxSourceResolutionParam, `${(err as Error).message}; want raw, auto or a duration such as 5m or 1h`);
  }
  if (!(ns >= 0)) throw invalidParam(MaxSourceResolutionParam, 'negative max_source_resolution is not accepted. Try a positive integer');
  return { auto: false, ms: Math.trunc(ns / 1e6) };
}

/** The resolution (ms) a query may read: fixed, or for `auto` a fifth of the range query's step (raw for instant queries). */
export function resolveMaxSourceResolution(r: MaxSourceResolution, stepMs: number | undefined): number {
  if (!r.auto) return r.ms;
  return stepMs === undefined ? 0 : Math.trunc(stepMs / 5);
}

class ResolutionQuerier implements Querier {
  constructor(
    private readonly inner: Querier,
    private readonly mint: number,
    private readonly maxt: number,
    private readonly resolution: number,
  ) {}

  select(sortSeries: boolean, hints: SelectHints | undefined, ...matchers: Matcher[]): SeriesSet {
    const h: ResolutionHints = { ...(hints ?? { start: this.mint, end: this.maxt }), maxSourceResolution: this.resolution };
    return this.inner.select(sortSeries, h, ...matchers);
  }

  labelNames(...matchers: Matcher[]): Promise<string[]> {
    return this.inner.labelNames(...matchers);
  }

  labelValues(name: string, ...matchers: Matcher[]): Promise<string[]> {
    return this.inner.labelValues(name, ...matchers);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** A queryable that can also serve downsampled data (lib/tsdb TenantDB). */
export interface DownsampledQueryable extends Queryable {
  downsampledQuerier(resolution: number, mint: number, maxt: number): Promise<Querier>;
}

const FiveMinutes = 5 * 60_000;
const OneHour = 3_600_000;

/**
 * `q` limited to data of at most `resolutionMs`: below 5 m it reads raw
 * samples; from 5 m (1 h) on, the 5 m (1 h) aggregates where compaction has
 * made them and raw samples elsewhere (lib/tsdb/downsampled-querier.ts).
 * The limit also travels as a select hint.
 */
export function withMaxSourceResolution(q: Queryable | DownsampledQueryable, resolutionMs: number): Queryable {
  const ds = 'downsampledQuerier' in q && resolutionMs >= FiveMinutes ? q : undefined;
  const use = resolutionMs >= OneHour ? OneHour : FiveMinutes;
  return {
    querier: async (mint, maxt) =>
      new ResolutionQuerier(ds !== undefined ? await ds.downsampledQuerier(use, mint, maxt) : await q.querier(mint, maxt), mint, maxt, resolutionMs),
    chunkQuerier: (mint, maxt) => q.chunkQuerier(mint, maxt),
  };
}
