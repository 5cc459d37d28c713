/**
 * Downsampling jobs: which blocks get 5 m and 1 h versions, and making them.
 *
 * - 5 m: a window of the top compaction level (1 d) whose raw block ended
 *   more than 40 h ago (or `force`) gets a 5 m block made from every raw
 *   block whose samples overlap the window (the window's own block and
 *   neighbours holding a few of its samples, e.g. from a write request
 *   that spanned midnight), cut to the window. Windows that still have
 *   segments wait for compaction.
 * - 1 h: a window whose 5 m block ended more than 10 d ago (or `force`)
 *   gets a 1 h block made from that 5 m block.
 *
 * A downsampled block records in its meta the block it was made from
 * (`downsampledFrom`) and its raw lineage (`downsampledSources`). A 5 m
 * block is current while every raw block overlapping its window is in its
 * lineage; a 1 h block while it was made from the newest 5 m block. When
 * late data is compacted into a window, a new block replaces the old one:
 * PUT, catalog add (commit point), tombstone of the old one, catalog
 * remove, as compaction does. A window whose raw data is past raw
 * retention is not redone (its raw data may be partly gone).
 *
 * The new block is recorded in the same catalog buckets as its source.
 */
import { compareOrder, orderKey, type BlockEntry, type Recorded } from '../catalog/catalog.ts';
import type { TenantStores } from '../tsdb/db.ts';
import { blockKey, Resolution } from '../block/format.ts';
import { readBlockIndex, readPages } from '../block/reader.ts';
import { ColumnBuffer, decodeColumns } from '../block/columns.ts';
import { BlockWriter } from '../block/writer.ts';
import { compareLabels, decodeLabels, seriesIdToHex, type Labels } from '../labels/labels.ts';
import { Deletions, removeFromCatalog } from './deletions.ts';
import { Day, Hour } from './planner.ts';
import { downsampleAggr, downsampleRaw } from './downsample.ts';

/** Age past its window's end at which a raw block gets a 5 m block (Thanos' value). */
export const FiveMinuteDelayMs = 40 * Hour;
/** Age past its window's end at which a 5 m block gets a 1 h block. */
export const OneHourDelayMs = 10 * Day;

export interface DownsamplePlanOptions {
  /** Window of the top compaction level, ms: raw blocks of this window size are downsampled. */
  topWindowMs: number;
  force: boolean;
  /** Raw retention, ms (0 = forever): windows past it are not redone. */
  rawRetentionMs: number;
}

export interface DownsampleJob {
  resolution: number;
  windowStart: number;
  windowEnd: number;
  /** Inputs: raw blocks (5 m jobs, the window's own block first) or the 5 m block (1 h jobs). */
  inputs: Recorded<BlockEntry>[];
  /** Blocks of the same resolution and window that the new block replaces. */
  replaces: Recorded<BlockEntry>[];
}

function isBlock(r: Recorded): r is Recorded<BlockEntry> {
  return r.entry.kind === 'block';
}

/** Pure: the 5 m jobs due among `entries` at `now`. */
export function planFiveMinutes(entries: readonly Recorded[], now: number, opts: DownsamplePlanOptions): DownsampleJob[] {
  const jobs: DownsampleJob[] = [];
  const raw = entries.filter((r) => r.entry.kind === 'segment' || r.entry.resolution === 0);
  const tops = new Map<number, Recorded<BlockEntry>>();
  for (const r of raw) {
    if (!isBlock(r) || r.entry.windowEnd - r.entry.windowStart !== opts.topWindowMs) continue;
    const cur = tops.get(r.entry.windowStart);
    if (cur === undefined || compareOrder(cur.entry, r.entry) < 0) tops.set(r.entry.windowStart, r);
  }
  for (const [ws, top] of [...tops].sort((a, b) => a[0] - b[0])) {
    const we = top.entry.windowEnd;
    if (!opts.force && now < we + FiveMinuteDelayMs) continue;
    const overlapping = raw.filter((r) => r.entry.maxTime >= ws && r.entry.minTime < we);
    if (overlapping.some((r) => !isBlock(r))) continue; // segments still to be compacted
    const ids = new Set(overlapping.map((r) => r.entry.id));
    const existing = entries.filter((r): r is Recorded<BlockEntry> => isBlock(r) && r.entry.resolution === Resolution.FIVE_MINUTES && r.entry.windowStart === ws);
    if (existing.some((d) => [...ids].every((id) => d.entry.downsampledSources?.includes(id) ?? false))) continue;
    if (existing.length > 0 && opts.rawRetentionMs > 0 && we <= now - opts.rawRetentionMs) continue;
    const inputs = [top, ...(overlapping as Recorded<BlockEntry>[]).filter((r) => r !== top)];
    jobs.push({ resolution: Resolution.FIVE_MINUTES, windowStart: ws, windowEnd: we, inputs, replaces: existing });
  }
  return jobs;
}

/** Pure: the 1 h jobs due among `entries` at `now`. */
export function planOneHour(entries: readonly Recorded[], now: number, opts: { force: boolean }): DownsampleJob[] {
  const newest = new Map<number, Recorded<BlockEntry>>();
  const hours = new Map<number, Recorded<BlockEntry>[]>();
  for (const r of entries) {
    if (!isBlock(r)) continue;
    const ws = r.entry.windowStart;
    if (r.entry.resolution === Resolution.FIVE_MINUTES) {
      const cur = newest.get(ws);
      if (cur === undefined || cur.entry.id < r.entry.id) newest.set(ws, r);
    } else if (r.entry.resolution === Resolution.ONE_HOUR) {
      hours.set(ws, [...(hours.get(ws) ?? []), r]);
    }
  }
  const jobs: DownsampleJob[] = [];
  for (const [ws, five] of [...newest].sort((a, b) => a[0] - b[0])) {
    if (!opts.force && now < five.entry.windowEnd + OneHourDelayMs) continue;
    const existing = hours.get(ws) ?? [];
    if (existing.some((h) => h.entry.downsampledFrom === five.entry.id)) continue;
    jobs.push({ resolution: Resolution.ONE_HOUR, windowStart: ws, windowEnd: five.entry.windowEnd, inputs: [five], replaces: existing });
  }
  return jobs;
}

/** One series being assembled from the inputs. */
interface Pending {
  id: Uint8Array;
  labelBytes: Uint8Array;
  labels: Labels;
  /** Sample runs cut to the window, with the rank of their input. */
  runs: { t: Float64Array; v: Float64Array; order: number }[];
}

export interface DownsampleJobOptions {
  graceMs: number;
  now: () => number;
  quality: number;
}

/**
 * Makes and commits the block of one job, then retires the blocks it
 * replaces. Returns the new block's entry, or undefined when the inputs
 * held no sample to aggregate (only NaNs).
 */
export async function runDownsampleJob(s: TenantStores, job: DownsampleJob, opts: DownsampleJobOptions): Promise<BlockEntry | undefined> {
  const writer = new BlockWriter({ columns: 5, quality: opts.quality });
  if (job.resolution === Resolution.FIVE_MINUTES) await fromRaw(s, job, writer);
  else await fromFiveMinutes(s, job, writer);
  if (writer.seriesCount === 0) return undefined;

  const src = job.inputs[0]!;
  const lineage = job.resolution === Resolution.FIVE_MINUTES ? job.inputs.map((r) => r.entry.id).sort() : (src.entry.downsampledSources ?? []);
  const id = s.ulids.next();
  const { bytes, meta, indexOffset, indexLength } = writer.finish(
    {
      id,
      windowStart: job.windowStart,
      windowEnd: job.windowEnd,
      level: src.entry.level,
      resolution: job.resolution,
      orderKey: job.inputs.map((r) => orderKey(r.entry)).reduce((a, b) => (a > b ? a : b)),
      numSources: job.inputs.length,
      downsampledFrom: src.entry.id,
      downsampledSources: lineage,
    },
    job.inputs.map((r) => r.entry.id),
  );
  const key = blockKey(id);
  const entry: BlockEntry = { kind: 'block', key, size: bytes.length, indexOffset, indexLength, ...meta };
  await s.bucket.put(key, bytes);
  await s.catalog.add(entry, src.buckets); // commit point
  if (job.replaces.length > 0) {
    await new Deletions(s.kv).schedule(
      job.replaces.map((r) => ({ id: r.entry.id, key: r.entry.key, buckets: r.buckets })),
      opts.now() + opts.graceMs,
    );
    await removeFromCatalog(s.kv, job.replaces);
  }
  return entry;
}

/** 5 m rows from the raw samples of every input, cut to the window. */
async function fromRaw(s: TenantStores, job: DownsampleJob, writer: BlockWriter): Promise<void> {
  const { windowStart: ws, windowEnd: we } = job;
  const series = new Map<string, Pending>();
  // Rank inputs as readers do: equal timestamps go to the larger order key.
  const ranked = [...job.inputs].sort((a, b) => compareOrder(a.entry, b.entry));
  const buf = new ColumnBuffer(1, 1024);
  for (let order = 0; order < ranked.length; order++) {
    const e = ranked[order]!.entry;
    const ix = await readBlockIndex(s.bucket, e.key, e);
    const hits: number[] = [];
    for (let i = 0; i < ix.numSeries; i++) if (ix.maxT[i]! >= ws && ix.minT[i]! < we) hits.push(i);
    if (hits.length === 0) continue;
    const pages = await readPages(s.bucket, e.key, ix, [...new Set(hits.map((i) => ix.seriesPage[i]!))].sort((a, b) => a - b));
    for (const i of hits) {
      buf.n = 0;
      const off = ix.seriesOff[i]!;
      decodeColumns(pages.get(ix.seriesPage[i]!)!, off, off + ix.seriesLen[i]!, buf, `${e.key} series ${i}`);
      let lo = 0;
      while (lo < buf.n && buf.t[lo]! < ws) lo++;
      let hi = lo;
      while (hi < buf.n && buf.t[hi]! < we) hi++;
      if (hi === lo) continue;
      const hex = seriesIdToHex(ix.idAt(i));
      let p = series.get(hex);
      if (p === undefined) {
        const labelBytes = ix.labelsAt(i).slice();
        series.set(hex, (p = { id: ix.idAt(i).slice(), labelBytes, labels: decodeLabels(labelBytes, 0, labelBytes.length), runs: [] }));
      }
      p.runs.push({ t: buf.t.slice(lo, hi), v: buf.v.slice(lo, hi), order });
    }
  }
  const out = new ColumnBuffer(5, 1024);
  for (const p of [...series.values()].sort((a, b) => compareLabels(a.labels, b.labels))) {
    const { t, v } = mergeRuns(p.runs);
    out.n = 0;
    downsampleRaw(t, v, 0, t.length, job.resolution, out);
    if (out.n > 0) writer.add(p.id, p.labelBytes, out.t, out.vs, out.n);
  }
}

/** Merges time-sorted runs: each timestamp once, the run of the highest order wins. */
export function mergeRuns(runs: readonly { t: Float64Array; v: Float64Array; order: number }[]): { t: Float64Array; v: Float64Array } {
  if (runs.length === 1) return runs[0]!;
  const n = runs.reduce((a, r) => a + r.t.length, 0);
  const idx: [number, number][] = [];
  for (let r = 0; r < runs.length; r++) for (let i = 0; i < runs[r]!.t.length; i++) idx.push([r, i]);
  idx.sort((a, b) => runs[a[0]]!.t[a[1]]! - runs[b[0]]!.t[b[1]]! || runs[a[0]]!.order - runs[b[0]]!.order);
  const t = new Float64Array(n);
  const v = new Float64Array(n);
  let k = 0;
  for (const [r, i] of idx) {
    const ti = runs[r]!.t[i]!;
    if (k > 0 && t[k - 1] === ti) k--; // a later-ranked duplicate replaces the earlier
    t[k] = ti;
    v[k] = runs[r]!.v[i]!;
    k++;
  }
  return { t: t.subarray(0, k), v: v.subarray(0, k) };
}

/** 1 h rows from the rows of one 5 m block (already in label order). */
async function fromFiveMinutes(s: TenantStores, job: DownsampleJob, writer: BlockWriter): Promise<void> {
  const e = job.inputs[0]!.entry;
  const ix = await readBlockIndex(s.bucket, e.key, e);
  const pages = await readPages(s.bucket, e.key, ix, Array.from({ length: ix.pageOff.length }, (_, p) => p));
  const rows = new ColumnBuffer(5, 512);
  const out = new ColumnBuffer(5, 64);
  for (let i = 0; i < ix.numSeries; i++) {
    rows.n = 0;
    out.n = 0;
    const off = ix.seriesOff[i]!;
    decodeColumns(pages.get(ix.seriesPage[i]!)!, off, off + ix.seriesLen[i]!, rows, `${e.key} series ${i}`);
    downsampleAggr(rows, 0, rows.n, job.resolution, out);
    if (out.n > 0) writer.add(ix.idAt(i), ix.labelsAt(i), out.t, out.vs, out.n);
  }
}
