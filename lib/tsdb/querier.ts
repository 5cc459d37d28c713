/**
 * The read path of one tenant: matchers -> label index (per bucket with
 * data) -> catalog -> segment tables -> ranged reads of just the chunks of
 * matching series -> merged series.
 */
import type { BucketReader } from '../objstore/bucket.ts';
import type { BlockEntry, Catalog, SegmentEntry } from '../catalog/catalog.ts';
import { readBlockIndex, readPages, type BlockIndex } from '../block/reader.ts';
import { ColumnBuffer, decodeColumns, peekSampleCount } from '../block/columns.ts';
import type { LabelIndex } from '../index/label-index.ts';
import { compareLabels, labelsGet, seriesIdToHex, type Labels } from '../labels/labels.ts';
import { compareUtf8 } from '../util/utf8.ts';
import type { Matcher } from '../labels/matcher.ts';
import { readSegmentTable, verifySeriesData, type SegmentTable } from '../segment/reader.ts';
import { Encoding } from '../chunkenc/chunk.ts';
import type {
  ChunkQuerier,
  ChunkSeries,
  Querier,
  SampleIterator,
  SelectHints,
  Series,
  SeriesSet,
} from '../storage/interface.ts';
import { seriesChunks, seriesColumns, SeriesIterator, type ColumnarSeries, type ColumnSlice, type SourceChunk } from '../storage/merge.ts';
import { XorColumnEncoder } from '../chunkenc/xor-columns.ts';
import { EncodedSeries } from './series-chunks.ts';

const Empty = new Uint8Array(0);
import { mapLimit } from './appender.ts';
import type { TableCache } from './table-cache.ts';
import type { PageCache } from './page-cache.ts';

export interface QuerierDeps {
  bucket: BucketReader;
  index: LabelIndex;
  catalog: Catalog;
  /** Shared by tenants; keys are prefixed with `cacheScope`. */
  tables: TableCache;
  /** Decompressed block pages, shared by tenants (keys prefixed with `cacheScope`); optional. */
  pages?: PageCache;
  cacheScope: string;
}

/** Two ranges closer than this are read with one request. */
const CoalesceGapBytes = 64 * 1024;
const ObjectConcurrency = 16;

/** A matching series with its stored chunks from every object. */
export interface RawSeries {
  labels: Labels;
  id: string;
  chunks: SourceChunk[];
}

/**
 * Finds the series matching `matchers` with samples in [mint, maxt] and
 * loads their chunks overlapping that range. Sorted by labels.
 */
export async function selectRaw(deps: QuerierDeps, mint: number, maxt: number, matchers: readonly Matcher[], xor = false): Promise<RawSeries[]> {
  const { entries, segmentBuckets } = await deps.catalog.entries(mint, maxt);
  if (entries.length === 0) return [];

  // Series in segments are found through the label index of their buckets;
  // series in blocks through the block's own index (see readBlockSeries).
  const found = new Map<string, RawSeries>();
  const perBucket = await Promise.all(segmentBuckets.map((b) => deps.index.select(b, matchers)));
  for (const m of perBucket) {
    for (const [id, labels] of m) if (!found.has(id)) found.set(id, { labels, id, chunks: [] });
  }
  const ids = [...found.keys()].sort();
  const idBytes = ids.map(hexToBytes);

  // Entries come in order-key order: the position ranks ties in merges.
  await mapLimit(entries.map((entry, ord) => ({ entry, ord })), ObjectConcurrency, async ({ entry, ord }) => {
    if (entry.kind === 'block') {
      await readBlockSeries(deps, entry, matchers, found, mint, maxt, ord, xor);
      return;
    }
    if (ids.length === 0) return;
    const table = await deps.tables.get(deps.cacheScope + entry.id, async () => (await readSegmentTable(deps.bucket, entry.key, entry)).table);
    const hits: number[] = [];
    const owners: RawSeries[] = [];
    for (let k = 0; k < ids.length; k++) {
      const i = table.find(idBytes[k]!);
      if (i < 0 || table.seriesMaxT(i) < mint || table.seriesMinT(i) > maxt) continue;
      hits.push(i);
      owners.push(found.get(ids[k]!)!);
    }
    if (hits.length === 0) return;
    await readChunks(deps.bucket, entry, table, hits, owners, mint, maxt, ord);
  });

  const out = [...found.values()].filter((s) => s.chunks.length > 0);
  out.sort((a, b) => compareLabels(a.labels, b.labels));
  return out;
}

async function readChunks(
  bkt: BucketReader,
  entry: SegmentEntry,
  table: SegmentTable,
  hits: number[],
  owners: RawSeries[],
  mint: number,
  maxt: number,
  ord: number,
): Promise<void> {
  // Series data ranges in object order, coalesced into few reads.
  const idx = hits.map((_, k) => k).sort((a, b) => table.dataOffset[hits[a]!]! - table.dataOffset[hits[b]!]!);
  const groups: number[][] = [];
  let gEnd = -Infinity;
  for (const k of idx) {
    const i = hits[k]!;
    const off = table.dataOffset[i]!;
    if (groups.length > 0 && off - gEnd <= CoalesceGapBytes) groups[groups.length - 1]!.push(k);
    else groups.push([k]);
    gEnd = Math.max(gEnd, off + table.dataLength[i]!);
  }
  await Promise.all(
    groups.map(async (g) => {
      const first = table.dataOffset[hits[g[0]!]!]!;
      let end = first;
      for (const k of g) end = Math.max(end, table.dataOffset[hits[k]!]! + table.dataLength[hits[k]!]!);
      const buf = await bkt.getRange(entry.key, first, end - first);
      for (const k of g) {
        const i = hits[k]!;
        const start = table.dataOffset[i]! - first;
        const data = buf.subarray(start, start + table.dataLength[i]!);
        verifySeriesData(table, i, data, entry.key);
        let pos = 0;
        for (let c = table.chunkStart[i]!; c < table.chunkStart[i + 1]!; c++) {
          const len = table.chunkLen[c]!;
          const minTime = table.chunkMinT[c]!;
          const maxTime = table.chunkMaxT[c]!;
          if (maxTime >= mint && minTime <= maxt) {
            owners[k]!.chunks.push({ minTime, maxTime, encoding: table.chunkEnc[c]! as Encoding, data: data.subarray(pos, pos + len), order: ord });
          }
          pos += len;
        }
      }
    }),
  );
}

/** Scratch of EncodedSeries.encode (used synchronously only, so one per process is enough). */
const scratchEncoder = new XorColumnEncoder();

/**
 * Loads the matching series of one block, cut to [mint, maxt]: as decoded
 * columns, or, when `xor` (chunk answers) and a series lies wholly inside
 * the range, as the XOR chunks of the whole series, from the page cache or
 * encoded once and cached there (lib/tsdb/series-chunks.ts).
 */
async function readBlockSeries(
  deps: QuerierDeps,
  entry: BlockEntry,
  matchers: readonly Matcher[],
  found: Map<string, RawSeries>,
  mint: number,
  maxt: number,
  ord: number,
  xor: boolean,
): Promise<void> {
  const ix = await loadBlockIndex(deps, entry);
  const hits = ix.select(matchers).filter((i) => ix.maxT[i]! >= mint && ix.minT[i]! <= maxt);
  if (hits.length === 0) return;
  const sets = ix.labelSets();
  const owners = hits.map((i) => {
    const id = seriesIdToHex(ix.idAt(i));
    let s = found.get(id);
    if (s === undefined) found.set(id, (s = { labels: sets[i]!, id, chunks: [] }));
    return s;
  });
  const cache = deps.pages;
  const chunkKey = (i: number) => `${deps.cacheScope}${entry.id}/s${i}`;
  const whole = (i: number) => xor && ix.minT[i]! >= mint && ix.maxT[i]! <= maxt;
  // What is not cached gets decoded.
  const todo: number[] = [];
  for (let k = 0; k < hits.length; k++) {
    const i = hits[k]!;
    const hit = whole(i) ? cache?.getDerived<EncodedSeries>(chunkKey(i)) : undefined;
    if (hit !== undefined) hit.pushTo(owners[k]!.chunks, ord);
    else todo.push(k);
  }
  if (todo.length === 0) return;
  const pages = [...new Set(todo.map((k) => ix.seriesPage[hits[k]!]!))].sort((a, b) => a - b);
  const raw = await readPagesCached(deps, entry, ix, pages);
  // Every series decoded into one pair of columns, sized up front; the
  // series' source chunks are views of it (no copy per series).
  let total = 0;
  for (const k of todo) {
    const i = hits[k]!;
    total += peekSampleCount(raw.get(ix.seriesPage[i]!)!, ix.seriesOff[i]!, ix.seriesOff[i]! + ix.seriesLen[i]!);
  }
  const buf = new ColumnBuffer(1, Math.max(16, total));
  const from = new Uint32Array(todo.length);
  const to = new Uint32Array(todo.length);
  /** 1 when the range cut samples off the series (then it is never cached whole). */
  const cut = new Uint8Array(todo.length);
  for (let j = 0; j < todo.length; j++) {
    const i = hits[todo[j]!]!;
    const off = ix.seriesOff[i]!;
    const start = buf.n;
    decodeColumns(raw.get(ix.seriesPage[i]!)!, off, off + ix.seriesLen[i]!, buf, `${entry.key} series ${i}`);
    // Cut to [mint, maxt].
    const t = buf.t;
    let a = start;
    while (a < buf.n && t[a]! < mint) a++;
    let b = buf.n;
    while (b > a && t[b - 1]! > maxt) b--;
    from[j] = a;
    to[j] = b;
    cut[j] = a !== start || b !== buf.n ? 1 : 0;
  }
  const t = buf.t;
  const v = buf.v;
  for (let j = 0; j < todo.length; j++) {
    const k = todo[j]!;
    const i = hits[k]!;
    if (from[j] === to[j]) continue;
    if (whole(i) && cut[j] === 0) {
      const enc = EncodedSeries.encode(t, v, from[j]!, to[j]!, scratchEncoder);
      cache?.setDerived(chunkKey(i), enc);
      enc.pushTo(owners[k]!.chunks, ord);
      continue;
    }
    // Kept decoded: sample answers read them as they are; chunk answers
    // encode them (seriesChunks).
    const samples = { t, v, from: from[j]!, to: to[j]! };
    owners[k]!.chunks.push({ minTime: t[from[j]!]!, maxTime: t[to[j]! - 1]!, encoding: Encoding.XOR, data: Empty, order: ord, samples });
  }
}

/** readPages through the page cache: only pages not cached are fetched (neighbours still in one read). */
async function readPagesCached(deps: QuerierDeps, entry: BlockEntry, ix: BlockIndex, pages: readonly number[]): Promise<Map<number, Uint8Array>> {
  const cache = deps.pages;
  if (cache === undefined) return readPages(deps.bucket, entry.key, ix, pages);
  const out = new Map<number, Uint8Array>();
  const missing: number[] = [];
  const key = (p: number) => `${deps.cacheScope}${entry.id}/${p}`;
  for (const p of pages) {
    const hit = cache.get(key(p));
    if (hit !== undefined) out.set(p, hit);
    else missing.push(p);
  }
  if (missing.length > 0) {
    for (const [p, bytes] of await readPages(deps.bucket, entry.key, ix, missing)) {
      cache.set(key(p), bytes);
      out.set(p, bytes);
    }
  }
  return out;
}

function loadBlockIndex(deps: QuerierDeps, entry: BlockEntry): Promise<BlockIndex> {
  return deps.tables.get<BlockIndex>(deps.cacheScope + entry.id, () => readBlockIndex(deps.bucket, entry.key, entry));
}

/** Label sets of the series of a block with data in [mint, maxt] that match (all of them without matchers). */
async function blockLabelSets(deps: QuerierDeps, entry: BlockEntry, mint: number, maxt: number, matchers: readonly Matcher[]): Promise<Labels[]> {
  const ix = await loadBlockIndex(deps, entry);
  const sets = ix.labelSets();
  const pos = matchers.length === 0 ? sets.map((_, i) => i) : ix.select(matchers);
  return pos.filter((i) => ix.maxT[i]! >= mint && ix.minT[i]! <= maxt).map((i) => sets[i]!);
}

function hexToBytes(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

/** A SeriesSet over a lazily computed array. */
function lazySet<S>(load: () => Promise<S[]>): SeriesSet<S> {
  let items: S[] | undefined;
  let i = -1;
  return {
    next: async () => {
      items ??= await load();
      return ++i < items.length;
    },
    at: () => items![i]!,
    warnings: () => [],
  };
}

class MergedSeries implements Series, ColumnarSeries {
  constructor(
    readonly labels: Labels,
    private readonly chunks: SourceChunk[],
    private readonly mint: number,
    private readonly maxt: number,
  ) {}

  iterator(): SampleIterator {
    return new SeriesIterator(this.chunks, this.mint, this.maxt);
  }

  columns(): ColumnSlice[] {
    return seriesColumns(this.chunks, this.mint, this.maxt);
  }
}

/** Shared by both queriers: the time range, cut by the hints. */
abstract class BaseQuerier {
  constructor(
    protected readonly deps: QuerierDeps,
    protected readonly mint: number,
    protected readonly maxt: number,
  ) {}

  /** `xor`: the series are wanted as XOR chunks (see readBlockSeries). */
  protected async load(hints: SelectHints | undefined, matchers: Matcher[], xor = false): Promise<{ raw: RawSeries[]; mint: number; maxt: number }> {
    const mint = hints === undefined ? this.mint : Math.max(this.mint, hints.start);
    const maxt = hints === undefined ? this.maxt : Math.min(this.maxt, hints.end);
    if (mint > maxt) return { raw: [], mint, maxt };
    return { raw: await selectRaw(this.deps, mint, maxt, matchers, xor), mint, maxt };
  }

  async close(): Promise<void> {}
}

/**
 * Series of one tenant over [mint, maxt]. Results are always sorted by
 * labels (cheap next to the reads), whatever `sortSeries` says.
 */
export class TenantQuerier extends BaseQuerier implements Querier {
  select(_sortSeries: boolean, hints: SelectHints | undefined, ...matchers: Matcher[]): SeriesSet<Series> {
    return lazySet(async () => {
      const { raw, mint, maxt } = await this.load(hints, matchers);
      return raw.map((s) => new MergedSeries(s.labels, s.chunks, mint, maxt));
    });
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
    for (const b of segmentBuckets) {
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
    return lazySet(async () => {
      const { raw, mint, maxt } = await this.load(hints, matchers, true);
      // Chunks encoded here go into one buffer, each a view of it; stored ones pass as they are.
      const enc = new XorColumnEncoder();
      return raw.map((s) => ({ labels: s.labels, chunks: seriesChunks(s.chunks, mint, maxt, enc) }));
    });
  }
}
