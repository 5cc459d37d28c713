/**
 * Reading downsampled data (lib/compact/downsample.ts) for long ranges.
 *
 * A {@link DownsampledQuerier} for resolution r serves, per series, the
 * rows of downsampled blocks of resolution <= r (coarsest first) where
 * they cover the time, and raw samples for the rest of the range, so a
 * result is complete whatever has been downsampled yet. Which column a
 * series carries depends on `SelectHints.func`, as in Thanos:
 *
 * | func                              | served value per row (raw sample)        |
 * |-----------------------------------|------------------------------------------|
 * | count_over_time                   | count (1)                                |
 * | sum_over_time                     | sum (v)                                  |
 * | min_over_time, max_over_time      | min, max (v)                             |
 * | rate, increase, irate             | counter, stitched across blocks (see below) |
 * | resets, changes                   | raw samples only (the aggregates cannot answer them) |
 * | anything else, or none            | sum / count (v)                          |
 *
 * count_over_time and sum_over_time over the served series therefore need
 * sum_over_time of the served values to count or add up raw samples.
 * NaN samples (stale markers included) are left out of the raw parts, as
 * downsampled rows hold none.
 *
 * Counter stitching: each block's counter column starts at its first raw
 * value; its first and last rows hold single samples, so their sums are the
 * raw values at the seams. The served series is the raw value plus an
 * offset that grows, at every reset (also one between two blocks or
 * between a block and raw samples), by the value before it: monotonic, so
 * rate() and increase() over it see the raw increases, resets included.
 *
 * A downsampled block X of a window is used unless its raw lineage
 * (`downsampledSources`) is a strict subset of the raw entries overlapping
 * the window: then all X was made from is still there plus more (late
 * data), and raw samples answer exactly until X is redone.
 */
import type { BlockEntry, CatalogEntry } from '../catalog/catalog.ts';
import { ColumnBuffer, decodeColumns } from '../block/columns.ts';
import { readBlockIndex, readPages, type BlockIndex } from '../block/reader.ts';
import { Resolution } from '../block/format.ts';
import { compareLabels, labelsGet, seriesIdToHex, type Labels } from '../labels/labels.ts';
import type { Matcher } from '../labels/matcher.ts';
import type { Querier, SampleIterator, SelectHints, Series, SeriesSet } from '../storage/interface.ts';
import { SeriesIterator } from '../storage/merge.ts';
import { compareUtf8 } from '../util/utf8.ts';
import { selectRaw, TenantQuerier, type QuerierDeps } from './querier.ts';

/** What a downsampled series carries. */
export const AggrMode = { COUNT: 'count', SUM: 'sum', MIN: 'min', MAX: 'max', COUNTER: 'counter', AVG: 'avg', RAW: 'raw' } as const;
export type AggrMode = (typeof AggrMode)[keyof typeof AggrMode];

/** The mode of a PromQL function name (SelectHints.func). */
export function modeForFunc(func: string | undefined): AggrMode {
  switch (func) {
    case 'count_over_time':
      return AggrMode.COUNT;
    case 'sum_over_time':
      return AggrMode.SUM;
    case 'min_over_time':
      return AggrMode.MIN;
    case 'max_over_time':
      return AggrMode.MAX;
    case 'rate':
    case 'increase':
    case 'irate':
      return AggrMode.COUNTER;
    case 'resets':
    case 'changes':
      return AggrMode.RAW;
    default:
      return AggrMode.AVG;
  }
}

/** A time span [from, to] (inclusive ms) served by a block, or by raw samples when `block` is undefined. */
export interface CoverageSpan {
  from: number;
  to: number;
  block?: BlockEntry;
}

/**
 * Pure: which block serves which part of [mint, maxt]. `raw` are the raw
 * entries (segments, blocks) overlapping the downsampled windows, `ds` the
 * downsampled blocks of resolution <= `resolution` overlapping the range.
 * Returns spans in time order that cover [mint, maxt] exactly once.
 */
export function planCoverage(raw: readonly CatalogEntry[], ds: readonly BlockEntry[], mint: number, maxt: number, resolution: number): CoverageSpan[] {
  const windows = new Map<string, BlockEntry[]>();
  for (const b of ds) {
    if (b.resolution <= 0 || b.resolution > resolution) continue;
    const k = `${b.windowStart}/${b.windowEnd}`;
    windows.set(k, [...(windows.get(k) ?? []), b]);
  }
  const chosen: CoverageSpan[] = [];
  for (const cands of windows.values()) {
    const ws = cands[0]!.windowStart;
    const we = cands[0]!.windowEnd;
    const rawIds = new Set(raw.filter((e) => e.maxTime >= ws && e.minTime < we).map((e) => e.id));
    cands.sort((a, b) => b.resolution - a.resolution || (a.id < b.id ? 1 : -1));
    const pick = cands.find((x) => {
      const src = x.downsampledSources ?? [];
      const subset = src.every((id) => rawIds.has(id));
      return !(subset && rawIds.size > src.length);
    });
    if (pick === undefined) continue;
    const from = Math.max(ws, mint);
    const to = Math.min(we - 1, maxt);
    if (from <= to) chosen.push({ from, to, block: pick });
  }
  chosen.sort((a, b) => a.from - b.from);
  const out: CoverageSpan[] = [];
  let at = mint;
  for (const c of chosen) {
    if (c.from < at) continue; // overlapping windows (different window sizes): the first wins
    if (c.from > at) out.push({ from: at, to: c.from - 1 });
    out.push(c);
    at = c.to + 1;
  }
  if (at <= maxt) out.push({ from: at, to: maxt });
  return out;
}

/** One part of a series: aggregate rows of a block, or raw samples. */
interface Piece {
  from: number;
  t: Float64Array;
  /** Five columns for rows, or one (the values) for raw samples. */
  vs: Float64Array[];
}

interface Assembled {
  labels: Labels;
  pieces: Piece[];
}

/** Series over [mint, maxt] from the downsampled blocks of one resolution and raw data. */
export class DownsampledQuerier implements Querier {
  private readonly rawQuerier: TenantQuerier;

  constructor(
    private readonly deps: QuerierDeps,
    readonly resolution: number,
    private readonly mint: number,
    private readonly maxt: number,
  ) {
    this.rawQuerier = new TenantQuerier(deps, mint, maxt);
  }

  select(sortSeries: boolean, hints: SelectHints | undefined, ...matchers: Matcher[]): SeriesSet<Series> {
    const mode = modeForFunc(hints?.func);
    if (mode === AggrMode.RAW || this.resolution === Resolution.RAW) return this.rawQuerier.select(sortSeries, hints, ...matchers);
    let items: Series[] | undefined;
    let raw: SeriesSet<Series> | undefined;
    let i = -1;
    return {
      next: async () => {
        if (items === undefined && raw === undefined) {
          // Without aggregates in the range, serve raw samples exactly as the
          // raw querier does (no counter stitching, which would move rate()'s
          // extrapolation at the series start).
          const mint = hints === undefined ? this.mint : Math.max(this.mint, hints.start);
          const maxt = hints === undefined ? this.maxt : Math.min(this.maxt, hints.end);
          const covered = mint <= maxt && (await this.coverage(mint, maxt)).some((span) => span.block !== undefined);
          if (covered) items = await this.load(mode, hints, matchers);
          else raw = this.rawQuerier.select(sortSeries, hints, ...matchers);
        }
        if (raw !== undefined) return raw.next();
        return ++i < items!.length;
      },
      at: () => (raw !== undefined ? raw.at() : items![i]!),
      warnings: () => (raw !== undefined ? raw.warnings() : []),
    };
  }

  /** The coverage of [mint, maxt] (exported through the querier for tests and explain output). */
  async coverage(mint = this.mint, maxt = this.maxt): Promise<CoverageSpan[]> {
    const ds: BlockEntry[] = [];
    for (const r of [Resolution.FIVE_MINUTES, Resolution.ONE_HOUR]) {
      if (r > this.resolution) continue;
      for (const e of (await this.deps.catalog.entries(mint, maxt, r)).entries) if (e.kind === 'block') ds.push(e);
    }
    if (ds.length === 0) return [{ from: mint, to: maxt }];
    const lo = Math.min(...ds.map((b) => b.windowStart));
    const hi = Math.max(...ds.map((b) => b.windowEnd - 1));
    const { entries: raw } = await this.deps.catalog.entries(lo, hi, 0);
    return planCoverage(raw, ds, mint, maxt, this.resolution);
  }

  private async load(mode: AggrMode, hints: SelectHints | undefined, matchers: Matcher[]): Promise<Series[]> {
    const mint = hints === undefined ? this.mint : Math.max(this.mint, hints.start);
    const maxt = hints === undefined ? this.maxt : Math.min(this.maxt, hints.end);
    if (mint > maxt) return [];
    const series = new Map<string, Assembled>();
    const slot = (id: string, labels: Labels): Assembled => {
      let s = series.get(id);
      if (s === undefined) series.set(id, (s = { labels, pieces: [] }));
      return s;
    };
    await Promise.all(
      (await this.coverage(mint, maxt)).map(async (span) => {
        if (span.block !== undefined) {
          await this.readRows(span, matchers, slot);
          return;
        }
        for (const r of await selectRaw(this.deps, span.from, span.to, matchers)) {
          const it = new SeriesIterator(r.chunks, span.from, span.to);
          const t: number[] = [];
          const v: number[] = [];
          while (it.next()) {
            const x = it.atV();
            if (x !== x) continue;
            t.push(it.atT());
            v.push(x);
          }
          const e = it.err();
          if (e !== null) throw e;
          if (t.length > 0) slot(r.id, r.labels).pieces.push({ from: span.from, t: Float64Array.from(t), vs: [Float64Array.from(v)] });
        }
      }),
    );
    const out: Series[] = [];
    for (const s of series.values()) {
      s.pieces.sort((a, b) => a.from - b.from);
      const { t, v } = serve(s.pieces, mode);
      if (t.length > 0) out.push(new ArraySeries(s.labels, t, v));
    }
    out.sort((a, b) => compareLabels(a.labels, b.labels));
    return out;
  }

  private async readRows(span: CoverageSpan, matchers: Matcher[], slot: (id: string, labels: Labels) => Assembled): Promise<void> {
    const b = span.block!;
    const ix = await this.deps.tables.get<BlockIndex>(this.deps.cacheScope + b.id, () => readBlockIndex(this.deps.bucket, b.key, b));
    const hits = ix.select(matchers).filter((i) => ix.maxT[i]! >= span.from && ix.minT[i]! <= span.to);
    if (hits.length === 0) return;
    const pages = await readPages(this.deps.bucket, b.key, ix, [...new Set(hits.map((i) => ix.seriesPage[i]!))].sort((x, y) => x - y));
    const buf = new ColumnBuffer(5, 512);
    for (const i of hits) {
      buf.n = 0;
      const off = ix.seriesOff[i]!;
      decodeColumns(pages.get(ix.seriesPage[i]!)!, off, off + ix.seriesLen[i]!, buf, `${b.key} series ${i}`);
      let lo = 0;
      while (lo < buf.n && buf.t[lo]! < span.from) lo++;
      let hi = lo;
      while (hi < buf.n && buf.t[hi]! <= span.to) hi++;
      if (hi === lo) continue;
      slot(seriesIdToHex(ix.idAt(i)), ix.labelSet(i)).pieces.push({ from: span.from, t: buf.t.slice(lo, hi), vs: buf.vs.map((c) => c.slice(lo, hi)) });
    }
  }

  async labelNames(...matchers: Matcher[]): Promise<string[]> {
    const names = new Set(await this.rawQuerier.labelNames(...matchers));
    for (const ls of await this.blockLabelSets(matchers)) for (const l of ls) names.add(l.name);
    return [...names].sort(compareUtf8);
  }

  async labelValues(name: string, ...matchers: Matcher[]): Promise<string[]> {
    const values = new Set(await this.rawQuerier.labelValues(name, ...matchers));
    for (const ls of await this.blockLabelSets(matchers)) {
      const v = labelsGet(ls, name);
      if (v !== '') values.add(v);
    }
    return [...values].sort(compareUtf8);
  }

  /** Label sets of matching series in the downsampled blocks serving the range. */
  private async blockLabelSets(matchers: Matcher[]): Promise<Labels[]> {
    const out: Labels[] = [];
    for (const span of await this.coverage()) {
      const b = span.block;
      if (b === undefined) continue;
      const ix = await this.deps.tables.get<BlockIndex>(this.deps.cacheScope + b.id, () => readBlockIndex(this.deps.bucket, b.key, b));
      for (const i of matchers.length === 0 ? Array.from({ length: ix.numSeries }, (_, k) => k) : ix.select(matchers)) {
        if (ix.maxT[i]! >= span.from && ix.minT[i]! <= span.to) out.push(ix.labelSet(i));
      }
    }
    return out;
  }

  async close(): Promise<void> {}
}

/** Builds the served values of one series from its pieces (in time order). */
export function serve(pieces: readonly Piece[], mode: AggrMode): { t: Float64Array; v: Float64Array } {
  let n = 0;
  for (const p of pieces) n += p.t.length;
  const t = new Float64Array(n);
  const v = new Float64Array(n);
  let k = 0;
  // Counter state: offset added to raw values, last raw value, whether any was seen.
  let offset = 0;
  let last = 0;
  let seen = false;
  for (const p of pieces) {
    const m = p.t.length;
    t.set(p.t, k);
    if (p.vs.length === 1) {
      const x = p.vs[0]!;
      for (let i = 0; i < m; i++) {
        if (mode === AggrMode.COUNTER) {
          if (seen && x[i]! < last) offset += last;
          last = x[i]!;
          seen = true;
          v[k + i] = x[i]! + offset;
        } else {
          v[k + i] = mode === AggrMode.COUNT ? 1 : x[i]!;
        }
      }
    } else {
      const [count, sum, min, max, counter] = p.vs as [Float64Array, Float64Array, Float64Array, Float64Array, Float64Array];
      switch (mode) {
        case AggrMode.COUNT:
          v.set(count, k);
          break;
        case AggrMode.SUM:
          v.set(sum, k);
          break;
        case AggrMode.MIN:
          v.set(min, k);
          break;
        case AggrMode.MAX:
          v.set(max, k);
          break;
        case AggrMode.COUNTER: {
          // The first row is the block's first sample alone: its sum is the raw value.
          if (seen && sum[0]! < last) offset += last;
          for (let i = 0; i < m; i++) v[k + i] = counter[i]! + offset;
          // The last row is the block's last sample alone (unless the range cut it, and then nothing follows).
          offset += counter[m - 1]! - sum[m - 1]!;
          last = sum[m - 1]!;
          seen = true;
          break;
        }
        default:
          for (let i = 0; i < m; i++) v[k + i] = sum[i]! / count[i]!;
      }
    }
    k += m;
  }
  return { t, v };
}

/** A series held in two arrays. */
class ArraySeries implements Series {
  constructor(
    readonly labels: Labels,
    private readonly t: Float64Array,
    private readonly v: Float64Array,
  ) {}

  iterator(): SampleIterator {
    return new ArrayIterator(this.t, this.v);
  }
}

class ArrayIterator implements SampleIterator {
  private i = -1;

  constructor(
    private readonly t: Float64Array,
    private readonly v: Float64Array,
  ) {}

  next(): boolean {
    if (this.i < this.t.length) this.i++;
    return this.i < this.t.length;
  }

  seek(t: number): boolean {
    if (this.i < 0) this.i = 0;
    while (this.i < this.t.length && this.t[this.i]! < t) this.i++;
    return this.i < this.t.length;
  }

  atT(): number {
    return this.t[this.i]!;
  }

  atV(): number {
    return this.v[this.i]!;
  }

  err(): Error | null {
    return null;
  }
}
