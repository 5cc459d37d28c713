/**
 * Runs of segments merged in memory, so that a read of recent data opens a
 * few merged tables instead of every segment since the last compaction.
 *
 * Until compaction writes a block, each write request is a segment of its
 * own, and a series has a chunk of one or two samples in each: a read of
 * the last 15 minutes probes hundreds of segment tables per series and
 * merges hundreds of tiny chunks. Segments are immutable, so a merge of a
 * fixed set of them never goes stale: it is built once, in the background,
 * and kept in the table cache (its bytes count against the cache's budget)
 * until the segments leave the catalog (compacted) and it ages out.
 *
 * Which segments form a run is decided by the segments alone, so that a
 * run stays the same while newer segments arrive and older ones are
 * compacted away: a run ends at a segment whose id ends in one of 2 of
 * the 32 ULID characters (every 16th segment on average), and holds the
 * consecutive segments of a read's plan since the previous run end (or
 * since a block or the plan's start). The segments after the last run end
 * are not grouped: that run is still open. A run is built the second time
 * a read meets it (a one-off query does not start a build), one build at a
 * time per process.
 *
 * A merged run answers exactly as its segments do: its series' samples are
 * their merge (on equal timestamps the later segment's sample, as readers
 * merge), and it takes the place of its last segment in the plan's order,
 * which is right because its segments are consecutive in that order: any
 * other object ranks before all of them or after all of them.
 */
import type { CatalogEntry, SegmentEntry } from '../catalog/catalog.ts';
import { SeriesIdSize } from '../segment/format.ts';
import { SegmentTable } from '../segment/reader.ts';
import { SegmentBuilder } from '../segment/writer.ts';
import { CachedSegment, loadCachedSegment } from './cached-segment.ts';
import { Encoding } from '../chunkenc/chunk.ts';
import { ChunkList, Cols, mergeColumns } from './series-merge.ts';
import { decodeXorInto } from './xor-flat.ts';
import type { TableCache } from './table-cache.ts';
import type { QuerierDeps } from './querier.ts';

/** A run ends at about every this many segments. */
export const RunEndEvery = 8;
/** Fewer consecutive segments than this are read as they are. */
export const MinRunSegments = 4;
/** Longest stretch of merging between two yields to the event loop while a run is built, ms. */
const SliceMs = 4;
/** Run keys remembered as seen once (or as not buildable). */
const MaxRemembered = 4096;
/** Builds waiting at most; later ones are dropped (a later read asks again). */
const MaxQueued = 64;

const Crockford = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const Empty = new Uint8Array(0);

/** Whether a run ends at the segment with this id (ULID; other ids never end one). */
export function endsRun(id: string): boolean {
  const v = Crockford.indexOf(id.charAt(id.length - 1));
  return v >= 0 && v % RunEndEvery === 0;
}

/**
 * The runs among a plan's entries (sorted by order key): spans `[from, to)`
 * of consecutive segments whose last ends a run and that start after the
 * previous run end, a block, or the plan's start, of at least
 * {@link MinRunSegments} segments.
 */
export function runSpans(entries: readonly CatalogEntry[]): [number, number][] {
  const out: [number, number][] = [];
  let from = 0;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    if (e.kind !== 'segment') {
      from = i + 1;
      continue;
    }
    if (!endsRun(e.id)) continue;
    if (i + 1 - from >= MinRunSegments) out.push([from, i + 1]);
    from = i + 1;
  }
  return out;
}

/** One object a read visits: a catalog entry, or a merged run standing for consecutive segments. */
export interface Visit {
  /** For a run: its last segment's entry, with a key naming the run (for messages). */
  readonly entry: CatalogEntry;
  /** Position in the plan's order (a run: its last segment's). */
  readonly ord: number;
  readonly run?: CachedSegment;
}

/**
 * Merges the series of segment tables (in order: on equal timestamps the
 * later table's sample wins) into one table with its chunk bytes. Every
 * table must hold its chunk bytes. Yields to the event loop (setImmediate:
 * I/O callbacks, such as requests, go first) every {@link SliceMs} ms.
 */
export async function mergeTables(tables: readonly CachedSegment[], what: string): Promise<CachedSegment> {
  const m = tables.length;
  const cur = new Uint32Array(m);
  const builder = new SegmentBuilder();
  const list = new ChunkList(m);
  const holding = new Uint32Array(m);
  const cat = new Cols(256);
  const id = new Uint8Array(SeriesIdSize);
  let sliceStart = performance.now();
  for (let n = 1; ; n++) {
    let best = -1;
    for (let k = 0; k < m; k++) {
      if (cur[k]! >= tables[k]!.numSeries) continue;
      if (best < 0 || compareIds(tables[k]!.ids, cur[k]! * SeriesIdSize, tables[best]!.ids, cur[best]! * SeriesIdSize) < 0) best = k;
    }
    if (best < 0) break;
    const at = cur[best]! * SeriesIdSize;
    id.set(tables[best]!.ids.subarray(at, at + SeriesIdSize));
    // The tables holding the series (their rows are cur[k]), checked against their CRCs.
    let h = 0;
    for (let k = 0; k < m; k++) {
      const t = tables[k]!;
      const r = cur[k]!;
      if (r >= t.numSeries || compareIds(t.ids, r * SeriesIdSize, id, 0) !== 0) continue;
      if (t.seriesData(r, what) === undefined) throw new Error(`${what}: a segment's chunk bytes are not cached`);
      holding[h++] = k;
    }
    if (concatenate(tables, holding, h, cur, cat)) {
      builder.addSeries(id, Empty, cat.t, cat.v, 0, cat.n);
    } else {
      // Overlapping times: merged as readers merge them (the later table wins).
      list.reset();
      for (let q = 0; q < h; q++) {
        const k = holding[q]!;
        const t = tables[k]!;
        const r = cur[k]!;
        let pos = t.dataOffset[r]!;
        for (let c = t.chunkStart[r]!; c < t.chunkStart[r + 1]!; c++) {
          list.push(t.chunkMinT[c]!, t.chunkMaxT[c]!, k, t.chunkEnc[c]!, t.data!, pos, t.chunkLen[c]!);
          pos += t.chunkLen[c]!;
        }
      }
      const cols = mergeColumns(list, -Infinity, Infinity);
      if (cols.to > cols.from) builder.addSeries(id, Empty, cols.t, cols.v, cols.from, cols.to);
    }
    for (let q = 0; q < h; q++) cur[holding[q]!]!++;
    if (n % 64 === 0 && performance.now() - sliceStart > SliceMs) {
      await new Promise((r) => setImmediate(r));
      sliceStart = performance.now();
    }
  }
  const { bytes, meta } = builder.finish();
  const table = SegmentTable.parse(bytes.subarray(meta.tableOffset, meta.tableOffset + meta.tableLength), what);
  return new CachedSegment(table, bytes.subarray(0, meta.tableOffset));
}

/**
 * The usual case, each write newer than the one before: when the chunks of
 * the series in tables `holding[0, h)` (rows `cur[k]`), in table order, each
 * start after the previous one ends, decodes them one after another into
 * `out` and returns true; otherwise false (`out` is then garbage).
 */
function concatenate(tables: readonly CachedSegment[], holding: Uint32Array, h: number, cur: Uint32Array, out: Cols): boolean {
  out.n = 0;
  let last = -Infinity;
  for (let q = 0; q < h; q++) {
    const t = tables[holding[q]!]!;
    const r = cur[holding[q]!]!;
    let pos = t.dataOffset[r]!;
    for (let c = t.chunkStart[r]!; c < t.chunkStart[r + 1]!; c++) {
      if (t.chunkMinT[c]! <= last || t.chunkEnc[c] !== Encoding.XOR) return false;
      if (!decodeXorInto(t.data!, pos, t.chunkLen[c]!, out)) return false;
      last = t.chunkMaxT[c]!;
      pos += t.chunkLen[c]!;
    }
  }
  // A chunk's samples must end at its maxT (as the merge's iterator checks them).
  return out.n > 0 && out.t[out.n - 1] === last;
}

function compareIds(a: Uint8Array, ai: number, b: Uint8Array, bi: number): number {
  for (let k = 0; k < SeriesIdSize; k++) {
    const d = a[ai + k]! - b[bi + k]!;
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * Finds the runs of reads' plans, hands out the merged ones that are
 * built, and builds those seen twice, one at a time. One per process,
 * shared by tenants (keys carry the tenant's cache scope), keeping runs in
 * the segment table cache.
 */
export class SegmentRuns {
  /** Keys of runs seen once, and of runs that cannot be built (a segment too large to keep whole). */
  readonly #seen = new Map<string, true>();
  readonly #unbuildable = new Map<string, true>();
  readonly #queue: { key: string; deps: QuerierDeps; members: SegmentEntry[] }[] = [];
  readonly #queued = new Set<string>();
  #draining: Promise<void> | undefined;
  /** Runs built, and visits of built runs handed out (for tests and benchmarks). */
  built = 0;
  used = 0;

  constructor(private readonly tables: TableCache) {}

  /**
   * The objects a read of `entries` (a plan's, in order) visits: each
   * built run in place of its segments, everything else as it is. Asks
   * for the build of runs not built yet.
   */
  visits(deps: QuerierDeps, entries: readonly CatalogEntry[]): Visit[] {
    const out: Visit[] = [];
    let next = 0;
    for (const [from, to] of runSpans(entries)) {
      const members = entries.slice(from, to) as SegmentEntry[];
      const key = runKey(deps.cacheScope, members);
      const run = this.tables.peek<CachedSegment>(key);
      if (run === undefined) {
        this.#wanted(key, deps, members);
        continue;
      }
      for (; next < from; next++) out.push({ entry: entries[next]!, ord: next });
      out.push({ entry: runEntry(members), ord: to - 1, run });
      this.used++;
      next = to;
    }
    for (; next < entries.length; next++) out.push({ entry: entries[next]!, ord: next });
    return out;
  }

  /** Resolves when no build is queued or running. */
  async idle(): Promise<void> {
    while (this.#draining !== undefined) await this.#draining;
  }

  #wanted(key: string, deps: QuerierDeps, members: SegmentEntry[]): void {
    if (this.#queued.has(key) || this.#unbuildable.has(key)) return;
    if (!this.#seen.has(key)) {
      remember(this.#seen, key);
      return;
    }
    if (this.#queue.length >= MaxQueued) return;
    this.#seen.delete(key);
    this.#queued.add(key);
    this.#queue.push({ key, deps, members });
    this.#draining ??= this.#drain().finally(() => (this.#draining = undefined));
  }

  async #drain(): Promise<void> {
    for (let job = this.#queue.shift(); job !== undefined; job = this.#queue.shift()) {
      try {
        await this.#build(job.key, job.deps, job.members);
      } catch {
        // A segment that cannot be read now is read again by the reads
        // themselves, which report it; the run is retried when seen again.
      } finally {
        this.#queued.delete(job.key);
      }
    }
  }

  async #build(key: string, deps: QuerierDeps, members: SegmentEntry[]): Promise<void> {
    const tables = await Promise.all(members.map((e) => deps.tables.get(deps.cacheScope + e.id, () => loadCachedSegment(deps.bucket, e, deps.wholeSegmentBytes))));
    if (tables.some((t) => t.data === undefined)) {
      remember(this.#unbuildable, key);
      return;
    }
    await this.tables.get(key, () => mergeTables(tables, runEntry(members).key));
    this.built++;
  }
}

function remember(m: Map<string, true>, key: string): void {
  if (m.size >= MaxRemembered) m.delete(m.keys().next().value!);
  m.set(key, true);
}

/** The table cache key of a run: every segment id (a segment arriving late into the span makes another run). */
function runKey(scope: string, members: readonly SegmentEntry[]): string {
  return `${scope}run/${members.map((e) => e.id).join(',')}`;
}

/** The entry a run's visit carries: its last segment's, with a key naming the run. */
function runEntry(members: readonly SegmentEntry[]): SegmentEntry {
  const last = members[members.length - 1]!;
  return { ...last, key: `run of ${members.length} segments ${members[0]!.id}..${last.id}` };
}
