/**
 * Runs compaction for one tenant: plan, merge each job's inputs into a
 * block, commit it in the catalog, schedule the inputs for deletion, and
 * finally carry out due deletions. Safe to kill at any point and rerun:
 *
 * 1. PUT the block object (a crash here leaves an unreferenced object,
 *    removed later by the orphan sweep);
 * 2. write its catalog entries: the commit point. Until step 4, inputs and
 *    block are both in the catalog; readers merge them and resolve equal
 *    timestamps by order key, so they read exactly the same samples;
 * 3. write the job's tombstone, naming every input (deleted after the
 *    grace period);
 * 4. remove the inputs' catalog entries (batched).
 *
 * A rerun after a crash between 2 and 4 plans the block and the leftover
 * inputs again and merges them into a new block: same samples, nothing
 * lost, nothing doubled.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { compareOrder, type BlockEntry, type CatalogEntry, type Recorded, type SegmentEntry } from '../catalog/catalog.ts';
import type { TenantStores } from '../tsdb/db.ts';
import { compareLabels, decodeLabels, type Labels } from '../labels/labels.ts';
import { SeriesIterator } from '../storage/merge.ts';
import { BlockWriter } from '../block/writer.ts';
import { ColumnBuffer } from '../block/columns.ts';
import { blockKey } from '../block/format.ts';
import { CorruptionError } from '../util/errors.ts';
import { Deletions, removeFromCatalog } from './deletions.ts';
import { Lease } from './lease.ts';
import { checkLevels, DefaultLevels, Hour, plan, type CompactionJob, type Level } from './planner.ts';
import { gather, SegmentPrefetch, type GatheredSeries } from './sources.ts';
import { sweepOrphans } from './orphans.ts';
import { DefaultSealDelayMs, sealIndexes } from './seal.ts';
import { ensureWeekLayout, labelsFromObjects, refreshExpiringIndexes } from './index-refresh.ts';
import { indexBucketRange, indexBucketsOfDays } from '../index/keys.ts';
import { maintain, type MaintenanceResult } from './maintenance.ts';
import { RunCatalog } from './run-catalog.ts';
import { KeepForever, type RetentionPolicy } from './retention.ts';

export interface CompactorOptions {
  /** Window size and settle time per level (default {@link DefaultLevels}: 10 min, 2 h, 1 d). */
  levels?: readonly Level[];
  /** Keep replaced objects this long before deleting them (default 1 h; longer than any query). */
  deleteGraceMs?: number;
  /** Samples one job may merge from blocks (default 30 M; block inputs cost a few bytes per sample in memory). */
  maxJobSamples?: number;
  /**
   * Samples a level-1 job may merge from segments (default 4 M). Segments
   * hold one sample per series, so merging them costs about 250 bytes per
   * sample at peak (measured on the 50k-series benchmark hour: one 8 M job
   * peaks at 2068 MiB RSS; with 4 M jobs the whole run peaks at 1245 MiB
   * for the same CPU), so 4 M fits the 2048 MB compact Lambda with room. A
   * bigger window becomes several level-1 blocks, merged at level 2.
   */
  maxSegmentJobSamples?: number;
  /** Lease lifetime without renewal (default 16 min: longer than a Lambda can run). */
  leaseTtlMs?: number;
  /** Between marking a day sealed and dropping its label index, ms (default 10 min; forced runs: 0). */
  sealDelayMs?: number;
  /** Brotli quality for block pages (default 5: 7x faster to write than 9 for 1 % more bytes, measured). */
  quality?: number;
  now?: () => number;
  /** Progress lines for the CLI. */
  onProgress?: (msg: string) => void;
  /** Make 5 m and 1 h blocks of old raw blocks (lib/compact/downsample-jobs.ts; default false). */
  downsample?: boolean;
  /** Retention of this tenant (lib/compact/retention.ts; default: keep everything). */
  retention?: RetentionPolicy;
  /**
   * The index store expires label-index items by itself (DynamoDB Time to
   * Live with lib/index/expiry.ts's policy): sealing a day marks it and
   * deletes nothing (lib/compact/seal.ts). Set it only together with that
   * store policy, or sealed days' items are never removed. @default false
   */
  indexItemsExpire?: boolean;
}

/** What a compaction did, counted (one run, one tenant's, or totals). */
export interface CompactionCounts {
  /** Jobs completed: one block written each. */
  jobs: number;
  blocksWritten: number;
  /** Segments and blocks merged into new blocks. */
  inputsReplaced: number;
  samplesWritten: number;
  /** Replaced objects deleted after their grace period. */
  objectsDeleted: number;
  /** Unreferenced block objects (leftovers of killed runs) deleted. */
  orphansDeleted: number;
}

export interface CompactionRun extends Partial<MaintenanceResult>, CompactionCounts {
  /** False when another compactor held the lease: nothing was done. */
  leased: boolean;
  /** Index buckets (weeks) whose label index was dropped or left to expire because only blocks hold them now (lib/compact/seal.ts). */
  indexWeeksSealed: number;
}


const MaxPasses = 16;

export class Compactor {
  private readonly levels: readonly Level[];
  private readonly graceMs: number;
  private readonly maxJobSamples: number;
  private readonly maxSegmentJobSamples: number;
  private readonly leaseTtlMs: number;
  private readonly quality: number;
  private readonly sealDelayMs: number;
  private readonly indexItemsExpire: boolean;
  private readonly now: () => number;
  private readonly progress: (msg: string) => void;
  private readonly maintenance: { downsample: boolean; retention: RetentionPolicy };
  private readonly holder = `${hostname()}/${process.pid}/${randomBytes(4).toString('hex')}`;

  /** The tenant's stores, with a catalog whose whole-catalog reads are reused within a run (run-catalog.ts). */
  private readonly s: TenantStores & { catalog: RunCatalog };

  constructor(stores: TenantStores, opts: CompactorOptions = {}) {
    this.s = { ...stores, catalog: new RunCatalog(stores.kv) };
    this.levels = opts.levels ?? DefaultLevels;
    checkLevels(this.levels);
    this.graceMs = opts.deleteGraceMs ?? Hour;
    this.maxJobSamples = opts.maxJobSamples ?? 30_000_000;
    this.maxSegmentJobSamples = opts.maxSegmentJobSamples ?? 4_000_000;
    this.leaseTtlMs = opts.leaseTtlMs ?? 16 * 60_000;
    this.quality = opts.quality ?? 5;
    this.sealDelayMs = opts.sealDelayMs ?? DefaultSealDelayMs;
    this.indexItemsExpire = opts.indexItemsExpire ?? false;
    this.now = opts.now ?? Date.now;
    this.progress = opts.onProgress ?? (() => {});
    this.maintenance = { downsample: opts.downsample ?? false, retention: opts.retention ?? KeepForever };
  }

  /** One compaction run: every ready job of every level, then due deletions. */
  async run(opts: { force?: boolean } = {}): Promise<CompactionRun> {
    const res: CompactionRun = { leased: false, jobs: 0, blocksWritten: 0, inputsReplaced: 0, samplesWritten: 0, objectsDeleted: 0, orphansDeleted: 0, indexWeeksSealed: 0 };
    const lease = new Lease({ kv: this.s.kv, name: 'compact', holder: this.holder, ttlMs: this.leaseTtlMs, now: this.now });
    if (!(await lease.acquire())) {
      const cur = await lease.current();
      this.progress(`tenant ${this.s.tenant}: another compactor holds the lease (${cur?.holder ?? '?'}); skipping`);
      return res;
    }
    res.leased = true;
    this.s.catalog.reset();
    let lastEntries: Recorded[] = [];
    // Weeks still holding segments 20 days after they ended (compaction was down, or fails on them): keep their label index from expiring.
    const refresh = (entries: readonly Recorded[]) =>
      refreshExpiringIndexes(this.s, entries, this.now(), (b, n) => this.progress(`tenant ${this.s.tenant}: week of ${isoTime(b * 86_400_000).slice(0, 10)} still holds segments ${Math.floor((this.now() - indexBucketRange(b)[1] - 1) / 86_400_000)} days after it ended: refreshed the label index of ${n} series`));
    try {
      // Once per tenant: data written while index buckets were days gets its week index (lib/compact/index-refresh.ts).
      await ensureWeekLayout(this.s, this.now(), (b, n) => this.progress(`tenant ${this.s.tenant}: week of ${isoTime(b * 86_400_000).slice(0, 10)}: label index rebuilt in the week layout (${n} series)`));
      try {
        for (let pass = 0; pass < MaxPasses; pass++) {
          const entries = await this.s.catalog.all();
          lastEntries = entries;
          const jobs = plan(entries, this.now(), { levels: this.levels, force: opts.force ?? false, maxJobSamples: this.maxJobSamples, maxSegmentJobSamples: this.maxSegmentJobSamples });
          if (jobs.length === 0) break;
          for (const job of jobs) {
            if (!(await lease.renew())) throw new Error(`tenant ${this.s.tenant}: compaction lease lost`);
            const written = await this.runJob(job);
            res.jobs++;
            res.blocksWritten += written > 0 ? 1 : 0;
            res.inputsReplaced += job.inputs.length;
            res.samplesWritten += written;
          }
        }
      } catch (err) {
        // A job failing on a day must not let the day's index expire meanwhile (best effort: the error is what is reported).
        await (async () => refresh(await this.s.catalog.all()))().catch(() => {});
        throw err;
      }
      await refresh(lastEntries);
      Object.assign(res, await maintain(this.s, { ...this.maintenance, topWindowMs: this.levels.at(-1)!.windowMs, force: opts.force ?? false, graceMs: this.graceMs, quality: this.quality, now: this.now, progress: this.progress, renew: async () => { if (!(await lease.renew())) throw new Error(`tenant ${this.s.tenant}: compaction lease lost`); } }));
      res.indexWeeksSealed = (
        await sealIndexes(
          this.s,
          this.now(),
          (b, items) => this.progress(`tenant ${this.s.tenant}: week of ${isoTime(b * 86_400_000).slice(0, 10)} lives in blocks only: ${this.indexItemsExpire ? 'its label index items are left to expire' : `dropped ${items} label index items`}`),
          // Forced runs seal at once (an operator's "everything now"); see lib/compact/seal.ts for the race this delay closes.
          opts.force === true ? 0 : this.sealDelayMs,
          this.indexItemsExpire,
        )
      ).length;
      if (res.indexWeeksSealed > 0 || res.jobs > 0) await this.s.kv.reclaim?.();
      const deletions = new Deletions(this.s.kv);
      res.objectsDeleted = await deletions.run(this.now(), this.s.bucket, this.s.catalog, (t) => this.progress(`tenant ${this.s.tenant}: deleted ${t.key}`));
      res.orphansDeleted = await sweepOrphans(this.s.bucket, this.s.catalog, deletions, this.now() - this.graceMs, (k) => this.progress(`tenant ${this.s.tenant}: deleted orphan ${k}`));
    } finally {
      await lease.release();
    }
    return res;
  }

  /** Merges one job's inputs into a block and commits it. Returns the samples written. */
  async runJob(job: CompactionJob): Promise<number> {
    const t0 = this.now();
    const inputs = [...job.inputs].sort((a, b) => compareOrder(a.entry, b.entry));
    // Inputs and shadows (planner.ts addShadows) ranked together, so that
    // equal timestamps resolve as readers resolve them.
    const ranked = [...inputs.map((r) => ({ r, shadow: false })), ...(job.shadows ?? []).map((r) => ({ r, shadow: true }))].sort((a, b) => compareOrder(a.r.entry, b.r.entry));
    const series = new Map<string, GatheredSeries>();
    const segs = ranked.filter((x) => !x.shadow && x.r.entry.kind === 'segment').map((x) => x.r.entry as SegmentEntry);
    const prefetch = new SegmentPrefetch(this.s.bucket, segs);
    for (let i = 0; i < ranked.length; i++) if (!ranked[i]!.shadow) await gather(this.s.bucket, ranked[i]!.r.entry, i, series, undefined, prefetch);
    await this.fillLabels(series, inputs);
    const shadowed = new Map<string, GatheredSeries>();
    for (let i = 0; i < ranked.length; i++) if (ranked[i]!.shadow) await gather(this.s.bucket, ranked[i]!.r.entry, i, shadowed, series);

    const sorted = [...series].map(([hex, s]) => ({ s, shadow: shadowed.get(hex)?.chunks, labels: decodeLabels(s.labels!, 0, s.labels!.length) as Labels }));
    sorted.sort((a, b) => compareLabels(a.labels, b.labels));
    const writer = new BlockWriter({ quality: this.quality });
    const buf = new ColumnBuffer(1, 1024);
    for (const { s, shadow } of sorted) {
      buf.n = 0;
      const it = new SeriesIterator(s.chunks, -Infinity, Infinity);
      // With shadows: what a reader sees now. A sample whose winner there is
      // not the inputs' value is left to the shadow that holds it.
      const seen = shadow === undefined ? undefined : new SeriesIterator([...s.chunks, ...shadow], -Infinity, Infinity);
      while (it.next()) {
        const t = it.atT();
        const v = it.atV();
        if (seen !== undefined && !(seen.seek(t) && seen.atT() === t && sameBits(seen.atV(), v))) continue;
        buf.reserve(1);
        buf.t[buf.n] = t;
        buf.v[buf.n] = v;
        buf.n++;
      }
      const err = it.err() ?? seen?.err() ?? null;
      if (err !== null) throw err;
      writer.add(s.id, s.labels!, buf.t, [buf.v], buf.n);
    }
    let what = 'nothing (every sample is held by newer objects)';
    let numSamples = 0;
    if (writer.seriesCount > 0) {
      const id = this.s.ulids.next();
      const buckets = [...new Set(inputs.flatMap((r) => r.buckets))].sort((a, b) => a - b);
      const orderKey = inputs.map((r) => (r.entry.kind === 'segment' ? r.entry.id : r.entry.orderKey)).reduce((a, b) => (a > b ? a : b));
      const { bytes, meta, indexOffset, indexLength } = writer.finish(
        { id, windowStart: job.windowStart, windowEnd: job.windowEnd, level: job.level, resolution: 0, orderKey, numSources: inputs.length },
        inputs.map((r) => r.entry.id),
      );
      const key = blockKey(id);
      const entry: BlockEntry = { kind: 'block', key, size: bytes.length, indexOffset, indexLength, ...meta };
      await this.s.bucket.put(key, bytes); // 1
      await this.s.catalog.add(entry, buckets); // 2: commit point
      numSamples = meta.numSamples;
      what = `${key} (${meta.numSeries} series, ${meta.numSamples} samples, ${bytes.length} bytes, ${(bytes.length / meta.numSamples).toFixed(2)} B/sample)`;
    }
    await new Deletions(this.s.kv).schedule(
      inputs.map((r) => ({ id: r.entry.id, key: r.entry.key, buckets: r.buckets })),
      this.now() + this.graceMs,
    ); // 3
    await removeFromCatalog(this.s.kv, inputs); // 4
    this.progress(`tenant ${this.s.tenant}: level ${job.level} window ${isoTime(job.windowStart)}: ${inputs.length} objects -> ${what}, ${this.now() - t0} ms`);
    return numSamples;
  }

  /** Series whose labels no input carried (segments carry them once) get them from the label index. */
  private async fillLabels(series: Map<string, GatheredSeries>, inputs: readonly Recorded[]): Promise<void> {
    const missing = [...series].filter(([, s]) => s.labels === undefined);
    if (missing.length === 0) return;
    // The label index is kept per week (lib/index/keys.ts); inputs are recorded per day.
    const buckets = indexBucketsOfDays(inputs.flatMap((r) => r.buckets));
    for (const b of buckets) {
      const want = missing.filter(([, s]) => s.labels === undefined).map(([hex]) => hex);
      if (want.length === 0) break;
      const found = await this.s.index.seriesLabels(b, want);
      for (const [hex, s] of missing) if (s.labels === undefined) s.labels = found.get(hex);
    }
    let still = missing.filter(([, s]) => s.labels === undefined);
    if (still.length > 0) {
      // The week's index items expired (compaction was down 30 days or more): the labels are in the week's other objects.
      const all = await this.s.catalog.all();
      const found = new Map<string, Uint8Array>();
      for (const b of buckets) await labelsFromObjects(this.s, b, all, found);
      for (const [hex, s] of still) s.labels = found.get(hex);
      still = still.filter(([, s]) => s.labels === undefined);
    }
    if (still.length > 0) throw new CorruptionError(`tenant ${this.s.tenant}: no labels for ${still.length} series (first ${still[0]![0]}) in the index or the inputs`);
  }
}

export type { CatalogEntry };

const bitsScratch = new Float64Array(2);
const bitsWords = new Uint32Array(bitsScratch.buffer);

/** Whether two doubles have the same 64 bits (NaN payloads and signed zeros told apart). */
function sameBits(a: number, b: number): boolean {
  bitsScratch[0] = a;
  bitsScratch[1] = b;
  return bitsWords[0] === bitsWords[2] && bitsWords[1] === bitsWords[3];
}

/**
 * A time for progress lines. Bug fix (C1): Date#toISOString throws beyond
 * ±8.64e15 ms, and samples may lie anywhere in ±(2^53-1), which made
 * compaction of such data fail.
 */
function isoTime(ms: number): string {
  return Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : `${ms} ms`;
}
