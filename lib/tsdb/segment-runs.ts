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
 * compacted away: a run ends at a segment whose id ends in one of 4 of
 * the 32 ULID characters (every 8th segment on average), and holds the
 * consecutive segments of a read's plan since the previous run end (or
 * since a block or the plan's start). The segments after the last run end
 * are not grouped: that run is still open. A run is built the second time
 * a read meets it (a one-off query does not start a build), one build at a
 * time per process.
 *
 * Runs have two levels. A level-2 run ends where the id's last two
 * characters are both run ends (every 64th segment on average; a level-2
 * end is a level-1 end too, so level-2 runs are made of whole level-1
 * runs). It is built from its level-1 runs once they are all built, and
 * then stands for them: at 50k series an hour's tail of ~250 segments is
 * read as ~5 tables instead of ~45 (each probed once per selected series).
 * A built run's parts leave the cache.
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

/** A run ends at about every this many segments (a level-2 run at about every this squared). */
export const RunEndEvery = 8;
/** Fewer consecutive segments than this are read as they are (level 1). */
export const MinRunSegments = 4;
/** Levels of runs: runs of segments, and runs of those. */
export const RunLevels = 2;
/** Fewer consecutive segments than this form no level-2 run (a shorter one is no bigger than a level-1 run). */
const MinLevel2Segments = 2 * RunEndEvery;
/** Longest stretch of merging between two yields to the event loop while a run is built, ms. */
const SliceMs = 4;
/** Run keys remembered as seen once (or as not buildable). */
const MaxRemembered = 4096;
/** Builds waiting at most; later ones are dropped (a later read asks again). */
const MaxQueued = 64;

const Crockford = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const Empty = new Uint8Array(0);

/** Whether a run of `level` (1 or 2) ends at the segment with this id (ULID; other ids never end one). */
export function endsRun(id: string, level = 1): boolean {
  for (let k = 1; k <= level; k++) {
    const v = Crockford.indexOf(id.charAt(id.length - k));
    if (v < 0 || v % RunEndEvery !== 0) return false;
  }
  return id.length > level;
}

/**
 * The runs of `level` among a plan's entries `[from, to)` (sorted by order
 * key): spans `[a, b)` of consecutive segments whose last ends a run of
 * that level and that start after the previous such end, a block, or
 * `from`, of at least {@link MinRunSegments} (level 1) or 16 (level 2)
 * segments.
 */
export function runSpans(entries: readonly CatalogEntry[], level = 1, from = 0, to = entries.length): [number, number][] {
  const min = level === 1 ? MinRunSegments : MinLevel2Segments;
  const out: [number, number][] = [];
  let start = from;
  for (let i = from; i < to; i++) {
    const e = entries[i]!;
    if (e.kind !== 'segment') {
      start = i + 1;
      continue;
    }
    if (!endsRun(e.id, level)) continue;
    if (i + 1 - start >= min) out.push([start, i + 1]);
    start = i + 1;
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
  /** A run's key in the table cache. */
  readonly runKey?: string;
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

/** A build waiting: the run's key and the tables it merges (those not yet loaded: their segments). */
interface Job {
  readonly key: string;
  readonly level: number;
  readonly deps: QuerierDeps;
  readonly parts: readonly Visit[];
  readonly what: string;
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
  readonly #queue: Job[] = [];
  readonly #queued = new Set<string>();
  #draining: Promise<void> | undefined;
  /** Runs built, by level (index 0 unused); visits of built runs handed out (for tests and benchmarks). */
  readonly builtByLevel = [0, 0, 0];
  used = 0;

  constructor(private readonly tables: TableCache) {}

  /** Runs built, of all levels. */
  get built(): number {
    return this.builtByLevel[1]! + this.builtByLevel[2]!;
  }

  /** Builds queued or under way. */
  get pending(): number {
    return this.#queued.size;
  }

  /**
   * The objects a read of `entries` (a plan's, in order) visits: each
   * built run in place of its parts, everything else as it is. Asks for
   * the build of runs not built yet.
   */
  visits(deps: QuerierDeps, entries: readonly CatalogEntry[]): Visit[] {
    const out: Visit[] = [];
    this.#cover(deps, entries, RunLevels, 0, entries.length, out);
    return out;
  }

  /** Resolves when no build is queued or running. */
  async idle(): Promise<void> {
    while (this.#draining !== undefined) await this.#draining;
  }

  /**
   * Appends the visits of entries `[from, to)` through runs of `level` and
   * below; returns whether every run among them, of every level up to
   * `level`, is built.
   */
  #cover(deps: QuerierDeps, entries: readonly CatalogEntry[], level: number, from: number, to: number, out: Visit[]): boolean {
    if (level === 0) {
      for (let i = from; i < to; i++) out.push({ entry: entries[i]!, ord: i });
      return true;
    }
    let complete = true;
    let next = from;
    for (const [a, b] of runSpans(entries, level, from, to)) {
      if (!this.#cover(deps, entries, level - 1, next, a, out)) complete = false;
      next = b;
      const members = entries.slice(a, b) as SegmentEntry[];
      const key = runKey(deps.cacheScope, level, members);
      const run = this.tables.peek<CachedSegment>(key);
      if (run !== undefined) {
        out.push({ entry: runEntry(members), ord: b - 1, run, runKey: key });
        this.used++;
        continue;
      }
      complete = false;
      const first = out.length;
      // Its parts: segments (level 1), or runs of the level below, built
      // (a level-2 run is asked for only then, and only when it would
      // merge two parts or more).
      if (this.#cover(deps, entries, level - 1, a, b, out) && out.length - first > 1) this.#wanted({ key, level, deps, parts: out.slice(first), what: runEntry(members).key });
    }
    if (!this.#cover(deps, entries, level - 1, next, to, out)) complete = false;
    return complete;
  }

  #wanted(job: Job): void {
    const key = job.key;
    if (this.#queued.has(key) || this.#unbuildable.has(key)) return;
    if (!this.#seen.has(key)) {
      remember(this.#seen, key);
      return;
    }
    if (this.#queue.length >= MaxQueued) return;
    this.#seen.delete(key);
    this.#queued.add(key);
    this.#queue.push(job);
    this.#draining ??= this.#drain().finally(() => (this.#draining = undefined));
  }

  async #drain(): Promise<void> {
    for (let job = this.#queue.shift(); job !== undefined; job = this.#queue.shift()) {
      try {
        await this.#build(job);
      } catch {
        // A segment that cannot be read now is read again by the reads
        // themselves, which report it; the run is retried when seen again.
      } finally {
        this.#queued.delete(job.key);
      }
    }
  }

  async #build({ key, level, deps, parts, what }: Job): Promise<void> {
    const keyOf = (v: Visit) => (v.run !== undefined ? v.runKey! : deps.cacheScope + v.entry.id);
    const tables = await Promise.all(
      parts.map((v) => v.run ?? deps.tables.get(keyOf(v), () => loadCachedSegment(deps.bucket, v.entry as SegmentEntry, deps.wholeSegmentBytes))),
    );
    if (tables.some((t) => t.data === undefined)) {
      remember(this.#unbuildable, key);
      return;
    }
    await this.tables.get(key, () => mergeTables(tables, what));
    this.builtByLevel[level]!++;
    // The run stands for its parts in reads from now on: their tables
    // would only crowd it out of the cache (at 50k series, the segments of
    // an hour, their runs and the blocks' indexes together overflow the
    // default 256 MiB, and runs were evicted and rebuilt over and over).
    for (const v of parts) deps.tables.delete(keyOf(v));
  }
}

function remember(m: Map<string, true>, key: string): void {
  if (m.size >= MaxRemembered) m.delete(m.keys().next().value!);
  m.set(key, true);
}

/** The table cache key of a run: its level and every segment id (a segment arriving late into the span makes another run). */
function runKey(scope: string, level: number, members: readonly SegmentEntry[]): string {
  return `${scope}run${level}/${members.map((e) => e.id).join(',')}`;
}

/** The entry a run's visit carries: its last segment's, with a key naming the run. */
function runEntry(members: readonly SegmentEntry[]): SegmentEntry {
  const last = members[members.length - 1]!;
  return { ...last, key: `run of ${members.length} segments ${members[0]!.id}..${last.id}` };
}
