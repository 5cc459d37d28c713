/**
 * Loading the chunks of a select in batches of series, so that a read over
 * many uncompacted segments holds the chunks of one batch at a time instead
 * of every chunk of the answer.
 *
 * A select is planned first ({@link planSelect}): the matching series with
 * their labels, from the label index of the buckets holding segments and
 * from the blocks' own indexes, sorted by labels. Then batches of
 * consecutive series (in label order) are loaded ({@link loadBatch}): every
 * object in the range is visited once per batch, but only the chunks of the
 * batch's series are read and kept (segment chunks copied into
 * {@link BatchChunks}, block series as decoded columns or cached XOR
 * chunks: lib/tsdb/block-series.ts). {@link BatchSizer} picks batch sizes so that a batch holds about
 * a budget of bytes: one batch for ordinary queries, several for reads of
 * everything.
 */
import type { BlockEntry, CatalogEntry, SegmentEntry } from '../catalog/catalog.ts';
import { compareLabels, seriesIdFromHex, type Labels } from '../labels/labels.ts';
import type { Matcher } from '../labels/matcher.ts';
import { SeriesIdSize } from '../segment/format.ts';
import { indexBucketsOfDays } from '../index/keys.ts';
import type { Encoding } from '../chunkenc/chunk.ts';
import type { SourceChunk } from '../storage/merge.ts';
import { BatchChunkOverheadBytes, BatchChunks } from './batch-chunks.ts';
import { checkSeriesData, loadCachedSegment, type CachedSegment } from './cached-segment.ts';
import { ChunkList } from './series-merge.ts';
import { loadBlockIndex, readBlockSeries } from './block-series.ts';
import { mapLimit } from './appender.ts';
import type { QuerierDeps } from './querier.ts';
import type { Visit } from './segment-runs.ts';

/** Two ranges closer than this are read with one request. */
const CoalesceGapBytes = 64 * 1024;
const ObjectConcurrency = 16;

/** Bytes of chunks (with their bookkeeping) a batch aims to hold. @see BatchSizer */
export const DefaultBatchBytes = 128 * 1024 * 1024;

/** A series a select will answer (if it has samples in the range). */
export interface PlannedSeries {
  readonly labels: Labels;
  /** Series id, hex. */
  readonly id: string;
}

/** What a select reads: its objects and its series. */
export interface SelectPlan {
  readonly mint: number;
  readonly maxt: number;
  readonly matchers: readonly Matcher[];
  /** Objects overlapping the range, in order-key order (the position ranks ties in merges). */
  readonly entries: readonly CatalogEntry[];
  /** Matching series, sorted by labels. */
  readonly series: readonly PlannedSeries[];
  /**
   * A pessimistic guess of the segment bytes (chunks and bookkeeping) per
   * series, from the segments' footers, until a batch has measured it.
   */
  readonly bytesPerSeries: number;
}

/** Finds the objects and the series (sorted by labels) of a select over [mint, maxt]. */
export async function planSelect(deps: QuerierDeps, mint: number, maxt: number, matchers: readonly Matcher[]): Promise<SelectPlan> {
  const { entries, segmentBuckets } = await deps.catalog.entries(mint, maxt);
  const found = new Map<string, Labels>();
  if (entries.length > 0) {
    // Series in segments are found through the label index of their buckets,
    // series in blocks through the block's own index.
    for (const m of await Promise.all(indexBucketsOfDays(segmentBuckets).map((w) => deps.index.select(w, matchers)))) {
      for (const [id, labels] of m) if (!found.has(id)) found.set(id, labels);
    }
    await mapLimit(
      entries.filter((e): e is BlockEntry => e.kind === 'block'),
      ObjectConcurrency,
      async (entry) => {
        const ix = await loadBlockIndex(deps, entry);
        for (const i of ix.select(matchers)) {
          if (ix.maxT[i]! < mint || ix.minT[i]! > maxt) continue;
          const id = ix.hexIdAt(i);
          if (!found.has(id)) found.set(id, ix.labelSet(i));
        }
      },
    );
  }
  const series: PlannedSeries[] = [];
  for (const [id, labels] of found) series.push({ labels, id });
  series.sort((a, b) => compareLabels(a.labels, b.labels));
  // Each sample of a segment is at most one chunk of one series; spread over
  // at least the series matched (or the largest segment's), a pessimistic
  // figure for selective queries that the first batch corrects.
  let samples = 0;
  let widest = 1;
  for (const e of entries) {
    if (e.kind !== 'segment') continue;
    samples += e.numSamples;
    widest = Math.max(widest, e.numSeries);
  }
  const chunksPerSeries = samples / Math.max(series.length, widest);
  return { mint, maxt, matchers, entries, series, bytesPerSeries: chunksPerSeries * (BatchChunkOverheadBytes + 24) };
}

/**
 * Sizes batches so that each holds about `budgetBytes`: the first from the
 * plan's guess, later ones from what earlier batches measured (growing at
 * most 4x from one batch to the next, in case density varies along the
 * label order).
 */
export class BatchSizer {
  private perSeries: number;
  private last = 0;

  constructor(
    plan: SelectPlan,
    private readonly budgetBytes = DefaultBatchBytes,
  ) {
    this.perSeries = plan.bytesPerSeries;
  }

  /** Series in the next batch, with `remaining` series left (at least 1 when any remain). */
  next(remaining: number): number {
    if (remaining <= 0) return 0;
    let n = Math.floor(this.budgetBytes / Math.max(this.perSeries, 1));
    if (this.last > 0) n = Math.min(n, this.last * 4);
    n = Math.max(1, Math.min(remaining, n));
    this.last = n;
    return n;
  }

  /** Records what a batch of `series` series held. */
  observe(series: number, bytes: number): void {
    if (series > 0) this.perSeries = bytes / series;
  }
}

/** The chunks of consecutive planned series, loaded by {@link loadBatch}. */
export class SeriesBatch {
  constructor(
    /** Planned series `[from, from + size)`. */
    readonly series: readonly PlannedSeries[],
    private readonly seg: BatchChunks,
    /** Chunks from blocks, per series of the batch (undefined: none). */
    private readonly blockChunks: (SourceChunk[] | undefined)[],
    private readonly blockBytes: number,
  ) {}

  get size(): number {
    return this.series.length;
  }

  /** Approximate bytes held. */
  get byteSize(): number {
    return this.seg.byteSize + this.blockBytes;
  }

  /** Chunks held (segment and block ones). */
  get chunkCount(): number {
    let n = this.seg.count;
    for (const b of this.blockChunks) n += b?.length ?? 0;
    return n;
  }

  /** The chunks of series `j` of the batch: a new array (empty when the series has no samples in the range). */
  chunksOf(j: number): SourceChunk[] {
    const out: SourceChunk[] = [];
    const b = this.blockChunks[j];
    if (b !== undefined) for (const c of b) out.push(c);
    this.seg.pushTo(j, out);
    return out;
  }

  /** Whether series `j` has chunks (in the range). */
  hasChunks(j: number): boolean {
    return this.seg.countOf(j) > 0 || (this.blockChunks[j]?.length ?? 0) > 0;
  }

  /** The chunks of series `j` as a {@link ChunkList}, in the order of {@link chunksOf} (block chunks first). */
  listOf(j: number): ChunkList {
    const b = this.blockChunks[j];
    if (b === undefined || b.length === 0) return this.seg.view(j);
    const list = new ChunkList(b.length + this.seg.countOf(j));
    if (b !== undefined) for (const c of b) list.pushSource(c);
    this.seg.listInto(j, list);
    return list;
  }
}

/**
 * Loads the chunks overlapping the plan's range of planned series
 * `[from, to)`. `xor`: the series are wanted as XOR chunks (see
 * readBlockSeries). `reverse`: visit the objects last to first. Batches
 * alternate directions, so that a batch starts with the segment tables the
 * previous one read last, which the table cache still holds when the
 * tables do not all fit (visited in one direction only, an LRU cache
 * smaller than the tables would never hit).
 */
export async function loadBatch(deps: QuerierDeps, plan: SelectPlan, from: number, to: number, xor = false, reverse = false): Promise<SeriesBatch> {
  const series = plan.series.slice(from, to);
  // The objects to read: built runs of segments in place of their segments (lib/tsdb/segment-runs.ts).
  const visits = deps.runs?.visits(deps, plan.entries) ?? plan.entries.map((entry, ord): Visit => ({ entry, ord }));
  // Uncompacted, a series has about one chunk per segment: size the arrays once.
  let segments = 0;
  for (const v of visits) if (v.entry.kind === 'segment') segments++;
  const seg = new BatchChunks(series.length, Math.min(series.length * segments, 1 << 18));
  const blockChunks: (SourceChunk[] | undefined)[] = new Array(series.length);
  let blockBytes = 0;
  // The batch's ids in ascending order, for merging with segment tables (ids
  // ascending); not needed when the range is all blocks (compacted).
  const sorted = plan.entries.some((e) => e.kind === 'segment') ? sortIds(series) : undefined;
  let position: Map<string, number> | undefined;
  if (reverse) visits.reverse();
  await mapLimit(
    visits,
    ObjectConcurrency,
    async ({ entry, ord, run }) => {
      if (entry.kind === 'block') {
        position ??= new Map(series.map((s, j) => [s.id, j]));
        blockBytes += await readBlockSeries(deps, entry, plan, position, blockChunks, ord, xor);
        return;
      }
      if (series.length === 0) return;
      const table = run ?? (await deps.tables.get(deps.cacheScope + entry.id, () => loadCachedSegment(deps.bucket, entry, deps.wholeSegmentBytes)));
      const rows: number[] = [];
      const owners: number[] = [];
      findRows(table, sorted!, (row, j) => {
        if (table.seriesMaxT(row) < plan.mint || table.seriesMinT(row) > plan.maxt) return;
        rows.push(row);
        owners.push(j);
      });
      if (rows.length > 0) await readChunks(deps, entry, table, rows, owners, plan.mint, plan.maxt, ord, seg);
    },
  );
  seg.finish();
  return new SeriesBatch(series, seg, blockChunks, blockBytes);
}

/** The ids of a batch's series in ascending order, back to back, with their batch positions and 32-bit prefixes. */
interface SortedIds {
  readonly ids: Uint8Array;
  readonly pos: Uint32Array;
  readonly prefix: Uint32Array;
}

function sortIds(series: readonly PlannedSeries[]): SortedIds {
  // Lowercase hex sorts as the bytes it spells.
  const order = series.map((_, j) => j).sort((a, b) => (series[a]!.id < series[b]!.id ? -1 : series[a]!.id > series[b]!.id ? 1 : 0));
  const ids = new Uint8Array(order.length * SeriesIdSize);
  order.forEach((j, k) => ids.set(seriesIdFromHex(series[j]!.id), k * SeriesIdSize));
  const prefix = new Uint32Array(order.length);
  for (let k = 0; k < order.length; k++) {
    const b = k * SeriesIdSize;
    prefix[k] = ((ids[b]! << 24) | (ids[b + 1]! << 16) | (ids[b + 2]! << 8) | ids[b + 3]!) >>> 0;
  }
  return { ids, pos: Uint32Array.from(order), prefix };
}

/** Calls `hit(row, j)` for every series of the batch present in the table (one hash probe each). */
export function findRows(table: CachedSegment, batch: SortedIds, hit: (row: number, j: number) => void): void {
  const want = batch.ids;
  const wp = batch.prefix;
  for (let k = 0; k < wp.length; k++) {
    const row = table.find(want, k * SeriesIdSize, wp[k]!);
    if (row >= 0) hit(row, batch.pos[k]!);
  }
}

/** Reads the chunks of table rows `rows` (owned by batch series `owners`) overlapping [mint, maxt] into `out`. */
async function readChunks(
  deps: QuerierDeps,
  entry: SegmentEntry,
  table: CachedSegment,
  rows: number[],
  owners: number[],
  mint: number,
  maxt: number,
  ord: number,
  out: BatchChunks,
): Promise<void> {
  const cached = table.data;
  if (cached !== undefined) {
    // The segment's bytes are in the cache: chunks are referenced, not read or copied.
    for (let k = 0; k < rows.length; k++) {
      const i = rows[k]!;
      table.checkCached(i, entry.key); // the CRC, on first use
      let pos = table.dataOffset[i]!;
      for (let c = table.chunkStart[i]!; c < table.chunkStart[i + 1]!; c++) {
        const len = table.chunkLen[c]!;
        const minTime = table.chunkMinT[c]!;
        const maxTime = table.chunkMaxT[c]!;
        if (maxTime >= mint && minTime <= maxt) out.addRef(owners[k]!, ord, minTime, maxTime, table.chunkEnc[c]! as Encoding, cached, pos, len);
        pos += len;
      }
    }
    return;
  }
  // Series data ranges in object order, coalesced into few reads.
  const idx = rows.map((_, k) => k).sort((a, b) => table.dataOffset[rows[a]!]! - table.dataOffset[rows[b]!]!);
  const groups: number[][] = [];
  let gEnd = -Infinity;
  for (const k of idx) {
    const i = rows[k]!;
    const off = table.dataOffset[i]!;
    if (groups.length > 0 && off - gEnd <= CoalesceGapBytes) groups[groups.length - 1]!.push(k);
    else groups.push([k]);
    gEnd = Math.max(gEnd, off + table.dataLength[i]!);
  }
  await Promise.all(
    groups.map(async (g) => {
      const first = table.dataOffset[rows[g[0]!]!]!;
      let end = first;
      for (const k of g) end = Math.max(end, table.dataOffset[rows[k]!]! + table.dataLength[rows[k]!]!);
      const buf = await deps.bucket.getRange(entry.key, first, end - first);
      for (const k of g) {
        const i = rows[k]!;
        const start = table.dataOffset[i]! - first;
        const data = buf.subarray(start, start + table.dataLength[i]!);
        checkSeriesData(table, i, data, entry.key);
        let pos = 0;
        for (let c = table.chunkStart[i]!; c < table.chunkStart[i + 1]!; c++) {
          const len = table.chunkLen[c]!;
          const minTime = table.chunkMinT[c]!;
          const maxTime = table.chunkMaxT[c]!;
          if (maxTime >= mint && minTime <= maxt) out.add(owners[k]!, ord, minTime, maxTime, table.chunkEnc[c]! as Encoding, data.subarray(pos, pos + len));
          pos += len;
        }
      }
    }),
  );
}
