/**
 * The read path of one tenant: matchers -> label index (per bucket with
 * data) and block indexes -> the matching series, sorted by labels ->
 * batches of consecutive series whose chunks are read from the objects
 * (segment tables, ranged reads of just the batch's chunks; block pages)
 * -> merged series, handed out one by one (lib/tsdb/batch-load.ts).
 *
 * Only one batch of chunks is held at a time, sized by a byte budget, so a
 * read of everything over thousands of uncompacted segments answers its
 * first series after one pass over the objects and never holds the whole
 * answer (a caller that keeps every series it is handed still does).
 */
import type { BucketReader } from '../objstore/bucket.ts';
import type { BlockEntry, Catalog } from '../catalog/catalog.ts';
import type { LabelIndex } from '../index/label-index.ts';
import { labelsGet, type Labels } from '../labels/labels.ts';
import { compareUtf8 } from '../util/utf8.ts';
import type { Matcher } from '../labels/matcher.ts';
import type { ChunkQuerier, ChunkSeries, Querier, SampleIterator, SelectHints, Series, SeriesSet } from '../storage/interface.ts';
import { ColumnIterator, drainColumns, seriesChunks, seriesColumns, SeriesIterator, type ColumnarSeries, type ColumnSlice, type SourceChunk } from '../storage/merge.ts';
import { xorNumSamples } from '../chunkenc/xor.ts';
import { indexBucketsOfDays } from '../index/keys.ts';
import { XorColumnEncoder } from '../chunkenc/xor-columns.ts';
import { BatchSizer, loadBatch, planSelect, type SelectPlan, type SeriesBatch } from './batch-load.ts';
import { mergeChunks, mergeColumns, type ChunkList } from './series-merge.ts';
import { loadBlockIndex } from './block-series.ts';
import type { TableCache } from './table-cache.ts';
import type { PageCache } from './page-cache.ts';
import type { SegmentRuns } from './segment-runs.ts';

export interface QuerierDeps {
  bucket: BucketReader;
  index: LabelIndex;
  catalog: Catalog;
  /** Shared by tenants; keys are prefixed with `cacheScope`. */
  tables: TableCache;
  /** Decompressed block pages, shared by tenants (keys prefixed with `cacheScope`); optional. */
  pages?: PageCache;
  cacheScope: string;
  /** Bytes of chunks a select holds at a time (lib/tsdb/batch-load.ts). @default DefaultBatchBytes (128 MiB) */
  batchBytes?: number;
  /** Segments up to this size are read whole and cached with their chunk bytes (lib/tsdb/cached-segment.ts). @default CachedSegmentMaxBytes (4 MiB) */
  wholeSegmentBytes?: number;
  /** Merges runs of segments for reads (lib/tsdb/segment-runs.ts); without it every segment is read as it is. */
  runs?: SegmentRuns;
}

/** A matching series with its stored chunks from every object. */
export interface RawSeries {
  labels: Labels;
  id: string;
  chunks: SourceChunk[];
}

/**
 * Finds the series matching `matchers` with samples in [mint, maxt] and
 * loads their chunks overlapping that range, all at once. Sorted by
 * labels. For callers that need every series together (downsampled
 * reads); selects go batch by batch instead.
 */
export async function selectRaw(deps: QuerierDeps, mint: number, maxt: number, matchers: readonly Matcher[], xor = false): Promise<RawSeries[]> {
  const plan = await planSelect(deps, mint, maxt, matchers);
  const batch = await loadBatch(deps, plan, 0, plan.series.length, xor);
  const out: RawSeries[] = [];
  for (let j = 0; j < batch.size; j++) {
    const chunks = batch.chunksOf(j);
    if (chunks.length > 0) out.push({ labels: plan.series[j]!.labels, id: plan.series[j]!.id, chunks });
  }
  return out;
}

/** Label sets of the series of a block with data in [mint, maxt] that match (all of them without matchers). */
async function blockLabelSets(deps: QuerierDeps, entry: BlockEntry, mint: number, maxt: number, matchers: readonly Matcher[]): Promise<Labels[]> {
  const ix = await loadBlockIndex(deps, entry);
  const pos = matchers.length === 0 ? Array.from({ length: ix.numSeries }, (_, i) => i) : ix.select(matchers);
  return pos.filter((i) => ix.maxT[i]! >= mint && ix.minT[i]! <= maxt).map((i) => ix.labelSet(i));
}

/** What a {@link BatchedSeriesSet} has done so far. */
export interface SelectStats {
  /** Batches loaded. */
  batches: number;
  /** Most chunks one batch held. */
  maxBatchChunks: number;
  /** Most bytes one batch held (approximate). */
  maxBatchBytes: number;
  /** Series handed out. */
  series: number;
}

/**
 * The series of a select, loaded batch by batch as `next()` reaches them;
 * series without samples in the range are skipped. A batch is dropped when
 * the next one is loaded (series handed out keep their own chunks).
 */
export class BatchedSeriesSet<S> implements SeriesSet<S> {
  private plan: SelectPlan | undefined;
  private sizer: BatchSizer | undefined;
  private batch: SeriesBatch | undefined;
  /** Planned series before the current batch, and before the next one. */
  private from = 0;
  private nextFrom = 0;
  private done = false;
  /** Position in the current batch. */
  private j = -1;
  private cur: S | undefined;
  /** The current series is the first of its batch. */
  private fresh = false;
  readonly stats: SelectStats = { batches: 0, maxBatchChunks: 0, maxBatchBytes: 0, series: 0 };

  constructor(
    private readonly deps: QuerierDeps,
    private readonly range: { mint: number; maxt: number },
    private readonly matchers: readonly Matcher[],
    private readonly xor: boolean,
    /** Makes each series handed out; `newBatch` is true for the first one of a batch. */
    private readonly make: (labels: Labels, chunks: ChunkList, mint: number, maxt: number, newBatch: boolean) => S,
  ) {}

  async next(): Promise<boolean> {
    const { mint, maxt } = this.range;
    if (this.done || mint > maxt) return false;
    if (this.plan === undefined) {
      this.plan = await planSelect(this.deps, mint, maxt, this.matchers);
      this.sizer = new BatchSizer(this.plan, this.deps.batchBytes);
    }
    const plan = this.plan;
    for (;;) {
      if (this.batch === undefined || this.j + 1 >= this.batch.size) {
        const start = this.nextFrom;
        this.batch = undefined; // let it go before the next one is read
        const n = this.sizer!.next(plan.series.length - start);
        if (n === 0) {
          this.done = true;
          return false;
        }
        const batch = await loadBatch(this.deps, plan, start, start + n, this.xor, this.stats.batches % 2 === 1);
        this.sizer!.observe(n, batch.byteSize);
        this.stats.batches++;
        this.stats.maxBatchChunks = Math.max(this.stats.maxBatchChunks, batch.chunkCount);
        this.stats.maxBatchBytes = Math.max(this.stats.maxBatchBytes, batch.byteSize);
        this.batch = batch;
        this.from = start;
        this.nextFrom = start + n;
        this.j = -1;
        this.fresh = true;
      }
      const j = ++this.j;
      if (!this.batch.hasChunks(j)) continue;
      this.cur = this.make(plan.series[this.from + j]!.labels, this.batch.listOf(j), mint, maxt, this.fresh);
      this.fresh = false;
      this.stats.series++;
      return true;
    }
  }

  at(): S {
    return this.cur!;
  }

  warnings(): readonly string[] {
    return [];
  }
}

/**
 * A merged series. Chunks from segments (rows of the list) are merged by
 * lib/tsdb/series-merge.ts, without an object per chunk; series of blocks
 * alone keep merge.ts's path (views of decoded block columns).
 */
class MergedSeries implements Series, ColumnarSeries {
  constructor(
    readonly labels: Labels,
    private readonly list: ChunkList,
    private readonly mint: number,
    private readonly maxt: number,
  ) {}

  iterator(): SampleIterator {
    if (this.list.rows > 0) {
      try {
        return new ColumnIterator(mergeColumns(this.list, this.mint, this.maxt));
      } catch {
        // Corrupt chunk: merge.ts's iterator yields the samples before it, then the error.
      }
    }
    return new SeriesIterator(this.list.toSourceChunks(), this.mint, this.maxt);
  }

  /**
   * Decoded block columns are handed out as views (seriesColumns);
   * anything else is drained once into one pair of columns sized by the
   * chunks' sample counts (segments hold many small chunks: one pair of
   * arrays per chunk would cost kilobytes per sample).
   */
  columns(): ColumnSlice[] {
    const list = this.list;
    if (list.rows > 0) {
      const cols = mergeColumns(list, this.mint, this.maxt);
      return cols.to === 0 ? [] : [cols];
    }
    const chunks = list.toSourceChunks();
    let cap = 0;
    let encoded = false;
    for (const c of chunks) {
      if (c.samples !== undefined) cap += c.samples.to - c.samples.from;
      else {
        encoded = true;
        cap += xorNumSamples(c.data);
      }
    }
    if (!encoded) return seriesColumns(chunks, this.mint, this.maxt);
    const cols = drainColumns(new SeriesIterator(chunks, this.mint, this.maxt), cap);
    return cols.to === 0 ? [] : [cols];
  }
}

/** Shared by both queriers: the time range, cut by the hints. */
abstract class BaseQuerier {
  constructor(
    protected readonly deps: QuerierDeps,
    protected readonly mint: number,
    protected readonly maxt: number,
  ) {}

  protected range(hints: SelectHints | undefined): { mint: number; maxt: number } {
    return {
      mint: hints === undefined ? this.mint : Math.max(this.mint, hints.start),
      maxt: hints === undefined ? this.maxt : Math.min(this.maxt, hints.end),
    };
  }

  async close(): Promise<void> {}
}

/**
 * Series of one tenant over [mint, maxt]. Results are always sorted by
 * labels (cheap next to the reads), whatever `sortSeries` says.
 */
export class TenantQuerier extends BaseQuerier implements Querier {
  select(_sortSeries: boolean, hints: SelectHints | undefined, ...matchers: Matcher[]): SeriesSet<Series> {
    return new BatchedSeriesSet(this.deps, this.range(hints), matchers, false, (labels, chunks, mint, maxt) => new MergedSeries(labels, chunks, mint, maxt));
  }

  async labelNames(...matchers: Matcher[]): Promise<string[]> {
    const names = new Set<string>();
    await this.eachLabelSet(matchers, (ls) => {
      for (const l of ls) names.add(l.name);
    }, async (b) => {
      for (const n of await this.deps.index.labelNames(b)) names.add(n);
    });
    return sortedUtf8(names);
  }

  async labelValues(name: string, ...matchers: Matcher[]): Promise<string[]> {
    const values = new Set<string>();
    await this.eachLabelSet(matchers, (ls) => {
      const v = labelsGet(ls, name);
      if (v !== '') values.add(v);
    }, async (b) => {
      for (const v of await this.deps.index.labelValues(b, name)) values.add(v);
    });
    return sortedUtf8(values);
  }

  /**
   * Calls `each` for the label set of every matching series with data in
   * the range: from the label index for buckets holding segments, from the
   * blocks' own indexes otherwise. Without matchers, `bucketWide` replaces
   * the per-series walk over the label index (names and values items).
   */
  private async eachLabelSet(matchers: Matcher[], each: (ls: Labels) => void, bucketWide: (bucket: number) => Promise<void>): Promise<void> {
    const { entries, segmentBuckets } = await this.deps.catalog.entries(this.mint, this.maxt);
    // The label index is cut into weeks: each week read once, however many of its days hold segments.
    for (const b of indexBucketsOfDays(segmentBuckets)) {
      if (matchers.length === 0) await bucketWide(b);
      else for (const ls of (await this.deps.index.select(b, matchers)).values()) each(ls);
    }
    for (const e of entries) {
      if (e.kind !== 'block') continue;
      for (const ls of await blockLabelSets(this.deps, e, this.mint, this.maxt, matchers)) each(ls);
    }
  }
}

function sortedUtf8(s: Set<string>): string[] {
  return [...s].sort((a, b) => compareUtf8(a, b));
}

/** Like TenantQuerier, with each series as chunks for STREAMED_XOR_CHUNKS. */
export class TenantChunkQuerier extends BaseQuerier implements ChunkQuerier {
  select(_sortSeries: boolean, hints: SelectHints | undefined, ...matchers: Matcher[]): SeriesSet<ChunkSeries> {
    // Chunks encoded here go into one buffer per batch, each a view of it; stored ones pass as they are.
    let enc = new XorColumnEncoder();
    return new BatchedSeriesSet(this.deps, this.range(hints), matchers, true, (labels, chunks, mint, maxt, newBatch) => {
      if (newBatch) enc = new XorColumnEncoder();
      return { labels, chunks: chunks.rows > 0 ? mergeChunks(chunks, mint, maxt, enc) : seriesChunks(chunks.toSourceChunks(), mint, maxt, enc) };
    });
  }
}
