/**
 * Turning buffered writes into one segment: samples sorted and
 * deduplicated per series, series in id order, the object written, new
 * (series, bucket) pairs indexed, the segment recorded in the catalog.
 * Only then does the commit resolve (invariant 1).
 *
 * One segment may hold the writes of several appenders committed at the
 * same time (group commit, lib/tsdb/group-commit.ts): they then share one
 * object write (file, fsync, folder fsync) and one catalog write, and each
 * is acknowledged when that shared segment is durable and recorded.
 *
 * Crash-safe order: segment object durable -> index entries -> catalog
 * entry. A crash before the catalog entry leaves an unreferenced object
 * (garbage for the cleaner) and harmless index entries; the senders, having
 * had no 2xx, retry.
 */
import type { Bucket } from '../objstore/bucket.ts';
import { BucketMs, bucketOf, indexBucketOfDay } from '../index/keys.ts';
import { isSealable, type SealMarks } from '../index/seal-marks.ts';
import type { IndexEntry, LabelIndex } from '../index/label-index.ts';
import type { Catalog, SegmentEntry } from '../catalog/catalog.ts';
import { SegmentBuilder } from '../segment/writer.ts';
import { segmentKey } from '../segment/format.ts';
import { isIndexed, markIndexed, type SeriesEntry } from './series-cache.ts';
import type { UlidFactory } from './ulid.ts';
import type { FreshBuckets } from './fresh-buckets.ts';

/** What one commit wrote. */
export interface CommitResult {
  /** Segment id, or undefined when there was nothing to write. */
  segmentId?: string;
  numSeries: number;
  /** Samples stored after dropping duplicates. */
  numSamples: number;
  /**
   * Samples not stored because a later one (later in the request, or in a
   * request committed after it into the same segment) had the same series
   * and timestamp.
   */
  duplicatesDropped: number;
  /** Series newly written to the label index. */
  seriesIndexed: number;
  /**
   * Bytes of the segment object, for the one commit of a group that counts
   * the write (the first); 0 for the others sharing it.
   */
  bytes: number;
  /** How many commits share the segment (1 without group commit). */
  groupSize: number;
}

/** The stores a commit writes to. */
export interface SegmentDeps {
  bucket: Bucket;
  index: LabelIndex;
  catalog: Catalog;
  ulids: UlidFactory;
  /** Wall clock, ms (default Date.now). */
  now?: () => number;
  /** Marks of sealed days (their label index is dropped); without it no day counts as sealed. */
  seals?: SealMarks;
  /** Buckets known to have been empty (single writer only): their new series skip the point read. */
  fresh?: FreshBuckets;
}

/**
 * The buffered samples of one appender: runs of samples of one series
 * each, in append order. Run r holds samples [runStart[r], runStart[r+1])
 * of `t` and `v`; runStart[runs] = n.
 */
export interface PendingWrite {
  readonly entries: readonly SeriesEntry[];
  readonly runStart: Int32Array;
  readonly runs: number;
  readonly t: Float64Array;
  readonly v: Float64Array;
  readonly n: number;
  /**
   * The first 32 bits of each run's series id (`entries[r].w0 >>> 0`), if
   * the appender kept them while the entry was at hand: {@link idOrder}
   * then sorts without reading every entry again.
   */
  readonly keys?: Uint32Array;
}

const Empty = new Uint8Array(0);

/**
 * Writes the samples of `members` (committed in this order: of two equal
 * timestamps of a series, the later member's wins, as a later segment's
 * would) as one segment and returns each member's result.
 */
export async function writeSegment(deps: SegmentDeps, members: readonly PendingWrite[]): Promise<CommitResult[]> {
  // No loop in this function: the loops are in functions of their own
  // (combine, idOrder, layRuns, ...), so that V8 never optimises this one
  // in the middle of a loop (on-stack replacement) before the code after
  // it has run, which made it deoptimise and recompile it several times.
  const all = combine(members);
  // Runs in id order, as the segment table wants them; runs of one series
  // end up next to each other, in the order they were appended.
  const order = idOrder(all.entries, all.runs, all.keys);

  // Caches of what is indexed are not trusted for sealed days (older days
  // held only in blocks, whose label index is dropped): samples for them
  // carry their labels and are indexed again.
  const untrusted = await sealedBuckets(deps, all.t, all.n);
  const lay = new Layout(members.length);
  layRuns(all, order, untrusted, lay);
  const { bytes, meta } = lay.builder.finish();
  const id = deps.ulids.next();
  const key = segmentKey(id);

  await deps.bucket.put(key, bytes);
  const written = await indexNew(deps.index, lay.newEntries, untrusted, deps.fresh);
  countIndexed(lay, written);
  const entry: SegmentEntry = { kind: 'segment', id, key, ...meta };
  await deps.catalog.addSegment(entry, sortedBuckets(lay.buckets));
  // Only now is the segment (and the labels it carries) committed.
  markAllIndexed(lay.newEntries);
  return results(lay, id, bytes.length);
}

/** A (series, index bucket) pair a segment defines labels for, and the member it came from. */
interface NewEntry {
  s: SeriesEntry;
  bucket: number;
  member: number;
}

/** What {@link layRuns} builds: the segment, the per-member counts, the pairs to index. */
class Layout {
  readonly builder = new SegmentBuilder();
  readonly newEntries: NewEntry[] = [];
  /** Buckets (days) holding samples of the segment. */
  readonly buckets = new Set<number>();
  readonly kept: Float64Array;
  readonly dropped: Float64Array;
  readonly numSeries: Float64Array;
  readonly indexedBy: Float64Array;

  constructor(readonly numMembers: number) {
    this.kept = new Float64Array(numMembers);
    this.dropped = new Float64Array(numMembers);
    this.numSeries = new Float64Array(numMembers);
    this.indexedBy = new Float64Array(numMembers);
  }
}

/**
 * Adds the runs of `all`, in `order`, to `lay`: samples sorted and
 * deduplicated per series, the buckets and the pairs to index noted. The
 * loop is the whole function (see writeSegment).
 */
function layRuns(all: Combined, order: Uint32Array, untrusted: ReadonlySet<number>, lay: Layout): void {
  const { entries, runStart, runs, t, v, runMember } = all;
  const { builder, newEntries, buckets, kept, dropped, numSeries } = lay;
  // The first and end millisecond of the day of the last sample seen, and
  // its week: most samples of a segment fall on one day, so the divisions
  // and modulos are made once per day, not once per run.
  let lastStart = 0;
  let lastEnd = -Infinity;
  let lastWeek = NaN;
  for (let k = 0; k < runs; ) {
    const r = order[k]!;
    const s = entries[r]!;
    const m = runMember === undefined ? 0 : runMember[r]!;
    let st: Float64Array = t;
    let sv: Float64Array = v;
    let from = runStart[r]!;
    let to = runStart[r + 1]!;
    let j = k + 1;
    while (j < runs && sameSeries(entries[order[j]!]!, s)) j++;
    if (j === k + 1) {
      const end = to;
      if (end - from > 1) to = sortDedup(t, v, from, end);
      kept[m] += to - from;
      dropped[m] += end - to;
      numSeries[m]++;
    } else {
      // One series in several runs: gather them in append order, so that
      // of two equal timestamps the later one wins.
      ({ t: st, v: sv, n: to } = gatherDedup(all, order, k, j, kept, dropped, numSeries));
      from = 0;
    }
    k = j;
    // Samples are sorted, so each bucket of the series is one run.
    let defining = false;
    let seriesWeek = NaN;
    for (let i = from; i < to; ) {
      const ti = st[i]!;
      if (!(ti >= lastStart && ti < lastEnd)) {
        const b = bucketOf(ti);
        buckets.add(b);
        lastStart = b * BucketMs;
        lastEnd = lastStart + BucketMs;
        lastWeek = indexBucketOfDay(b);
      }
      // The label index is cut into weeks (lib/index/keys.ts): one entry per week of the series.
      const w = lastWeek;
      if (w !== seriesWeek) {
        seriesWeek = w;
        if (!isIndexed(s, w) || (untrusted.size > 0 && untrusted.has(w))) {
          newEntries.push({ s, bucket: w, member: m });
          defining = true;
        }
      }
      // Skip the rest of this bucket's run.
      const end = lastEnd;
      if (st[to - 1]! < end) break;
      while (i < to && st[i]! < end) i++;
    }
    // Labels travel with the first segment of this process that holds the
    // series in a bucket; later ones carry the id only (FORMAT.md).
    builder.addSeriesWords(s.w0, s.w1, s.w2, s.w3, defining ? s.canonical : Empty, st, sv, from, to);
  }
}

/** Counts the pairs `indexNew` wrote to their members. */
function countIndexed(lay: Layout, written: readonly boolean[]): void {
  const { newEntries, indexedBy } = lay;
  for (let i = 0; i < newEntries.length; i++) if (written[i]) indexedBy[newEntries[i]!.member]++;
}

function sortedBuckets(buckets: ReadonlySet<number>): number[] {
  return [...buckets].sort((a, b) => a - b);
}

function markAllIndexed(newEntries: readonly NewEntry[]): void {
  for (let i = 0; i < newEntries.length; i++) markIndexed(newEntries[i]!.s, newEntries[i]!.bucket);
}

/** Each member's result; the first member counts the segment's bytes. */
function results(lay: Layout, segmentId: string, bytes: number): CommitResult[] {
  const out = new Array<CommitResult>(lay.numMembers);
  for (let m = 0; m < lay.numMembers; m++) {
    out[m] = {
      segmentId,
      numSeries: lay.numSeries[m]!,
      numSamples: lay.kept[m]!,
      duplicatesDropped: lay.dropped[m]!,
      seriesIndexed: lay.indexedBy[m]!,
      bytes: m === 0 ? bytes : 0,
      groupSize: lay.numMembers,
    };
  }
  return out;
}

/** All members' runs as one set of arrays, with the member of each run (undefined: all member 0). */
interface Combined extends PendingWrite {
  readonly keys: Uint32Array | undefined;
  readonly runMember: Int32Array | undefined;
}

/**
 * The members as one {@link Combined}. Both paths build the object with the
 * same literal shape, so that writeSegment's optimised code sees one object
 * layout whether a segment holds one commit or several (two layouts made V8
 * throw that code away and recompile it).
 */
function combine(members: readonly PendingWrite[]): Combined {
  if (members.length === 1) {
    const m = members[0]!;
    return combined(m.entries, m.runStart, m.runs, m.t, m.v, m.n, m.keys, undefined);
  }
  let runs = 0;
  let n = 0;
  let withKeys = true;
  for (const m of members) {
    runs += m.runs;
    n += m.n;
    if (m.keys === undefined) withKeys = false;
  }
  const entries = new Array<SeriesEntry>(runs);
  const runStart = new Int32Array(runs + 1);
  const runMember = new Int32Array(runs);
  const keys = withKeys ? new Uint32Array(runs) : undefined;
  const t = new Float64Array(n);
  const v = new Float64Array(n);
  let r = 0;
  let off = 0;
  for (let i = 0; i < members.length; i++) {
    const m = members[i]!;
    if (keys !== undefined) keys.set(m.keys!.subarray(0, m.runs), r);
    for (let k = 0; k < m.runs; k++, r++) {
      entries[r] = m.entries[k]!;
      runStart[r] = m.runStart[k]! + off;
      runMember[r] = i;
    }
    // Copies float64 bit patterns as they are (NaN payloads included).
    t.set(m.t.subarray(0, m.n), off);
    v.set(m.v.subarray(0, m.n), off);
    off += m.n;
  }
  runStart[runs] = n;
  return combined(entries, runStart, runs, t, v, n, keys, runMember);
}

function combined(
  entries: readonly SeriesEntry[],
  runStart: Int32Array,
  runs: number,
  t: Float64Array,
  v: Float64Array,
  n: number,
  keys: Uint32Array | undefined,
  runMember: Int32Array | undefined,
): Combined {
  return { entries, runStart, runs, t, v, n, keys, runMember };
}

/** Whether two entries are the same series (the same object, or the same id). */
function sameSeries(a: SeriesEntry, b: SeriesEntry): boolean {
  return a === b || (a.w0 === b.w0 && a.id === b.id);
}

/**
 * The samples of runs order[k..j) (one series) in new arrays, sorted by
 * time, each timestamp once (the sample of the latest run wins: `order`
 * keeps runs of one series in ascending run index, i.e. append order).
 * Counts kept and dropped samples, and the series, to the runs' members.
 */
function gatherDedup(all: Combined, order: Uint32Array, k: number, j: number, kept: Float64Array, dropped: Float64Array, numSeries: Float64Array): { t: Float64Array; v: Float64Array; n: number } {
  const { t, v, runStart, runMember } = all;
  let total = 0;
  for (let x = k; x < j; x++) total += runStart[order[x]! + 1]! - runStart[order[x]!]!;
  const pos: number[] = [];
  const member: number[] = [];
  const seen = new Set<number>();
  for (let x = k; x < j; x++) {
    const r = order[x]!;
    const m = runMember === undefined ? 0 : runMember[r]!;
    if (!seen.has(m)) {
      seen.add(m);
      numSeries[m]++;
    }
    for (let i = runStart[r]!; i < runStart[r + 1]!; i++) {
      pos.push(i);
      member.push(m);
    }
  }
  const idx = Array.from({ length: total }, (_, i) => i);
  idx.sort((a, b) => t[pos[a]!]! - t[pos[b]!]! || a - b);
  const gt = new Float64Array(total);
  const gv = new Float64Array(total);
  let w = 0;
  for (let q = 0; q < total; q++) {
    const p = pos[idx[q]!]!;
    if (q + 1 < total && t[pos[idx[q + 1]!]!] === t[p]) {
      dropped[member[idx[q]!]!]++; // a later one wins
      continue;
    }
    kept[member[idx[q]!]!]++;
    gt[w] = t[p]!;
    gv[w] = v[p]!;
    w++;
  }
  return { t: gt, v: gv, n: w };
}

/** The sealed index buckets (weeks) among those of the samples, only weeks that ended before yesterday being candidates. */
async function sealedBuckets(deps: SegmentDeps, t: Float64Array, n: number): Promise<Set<number>> {
  const out = new Set<number>();
  const seals = deps.seals;
  if (seals === undefined) return out;
  const now = (deps.now ?? Date.now)();
  const seen = new Set<number>();
  let last = NaN;
  for (let i = 0; i < n; i++) {
    const b = Math.floor(t[i]! / BucketMs);
    if (b === last) continue;
    last = b;
    const w = indexBucketOfDay(b);
    if (seen.has(w)) continue;
    seen.add(w);
    if (isSealable(w, now) && (await seals.isSealed(w))) out.add(w);
  }
  return out;
}

/** Writes index entries for (series, bucket) pairs not yet indexed; true for each pair written. */
async function indexNew(index: LabelIndex, pairs: readonly { s: SeriesEntry; bucket: number }[], untrusted: ReadonlySet<number>, fresh: FreshBuckets | undefined): Promise<boolean[]> {
  if (pairs.length === 0) return [];
  // A cold process does not know what is indexed already: ask before
  // writing, since a point read is far cheaper than a dozen writes; not
  // in a bucket that was empty when this (only) writer first looked.
  const freshBuckets = new Set<number>();
  if (fresh !== undefined) {
    for (const b of new Set(pairs.map((p) => p.bucket))) if (await fresh.isFresh(b)) freshBuckets.add(b);
  }
  // One batched read for the pairs to ask about (DynamoDB: a BatchGetItem per 100).
  const ask: number[] = [];
  for (let i = 0; i < pairs.length; i++) if (!freshBuckets.has(pairs[i]!.bucket)) ask.push(i);
  const found = await index.hasSeriesMany(ask.map((i) => ({ bucket: pairs[i]!.bucket, id: pairs[i]!.s.id })));
  const present: boolean[] = new Array(pairs.length).fill(false);
  for (let k = 0; k < ask.length; k++) present[ask[k]!] = found[k]!;
  const todo: IndexEntry[] = [];
  for (let i = 0; i < pairs.length; i++) {
    const p = pairs[i]!;
    if (!present[i]) todo.push({ bucket: p.bucket, id: p.s.id, labels: p.s.labels, canonical: p.s.canonical });
  }
  await index.add(todo, untrusted);
  return present.map((x) => !x);
}

/** Scratch of {@link idOrder}'s radix passes, grown as needed. */
let radixKeys = new Uint32Array(4096);
let radixTmpKeys = new Uint32Array(4096);
let radixTmp = new Uint32Array(4096);
const radixCount = new Uint32Array(256);

/**
 * The positions of `series[0..n)` in ascending id order; entries with equal
 * ids keep their relative order. A stable LSD radix sort on the top 32
 * bits of each id (four byte-wide passes, no comparisons, no allocation
 * per call but the result); then runs whose top 32 bits tie (about 1e-3
 * per 2000 series) are put in full id order by an insertion step.
 * `top`, when given, holds those 32 bits of each entry (`w0 >>> 0`), so
 * that the entries need not be read for them.
 */
export function idOrder(series: readonly SeriesEntry[], n = series.length, top?: Uint32Array): Uint32Array {
  if (n === 0) return new Uint32Array(0);
  if (radixKeys.length < n) {
    radixKeys = new Uint32Array(n * 2);
    radixTmpKeys = new Uint32Array(n * 2);
    radixTmp = new Uint32Array(n * 2);
  }
  let keys = radixKeys;
  let tmpKeys = radixTmpKeys;
  let order = new Uint32Array(n);
  let tmp = radixTmp;
  if (top !== undefined) keys.set(top.subarray(0, n));
  else for (let s = 0; s < n; s++) keys[s] = series[s]!.w0 >>> 0; // the id's first 4 bytes
  for (let s = 0; s < n; s++) order[s] = s;
  const count = radixCount;
  for (let shift = 0; shift < 32; shift += 8) {
    count.fill(0);
    for (let s = 0; s < n; s++) count[(keys[s]! >>> shift) & 0xff]!++;
    if (count[(keys[0]! >>> shift) & 0xff] === n) continue; // every key has this byte
    let sum = 0;
    for (let b = 0; b < 256; b++) {
      const c = count[b]!;
      count[b] = sum;
      sum += c;
    }
    for (let s = 0; s < n; s++) {
      const key = keys[s]!;
      const p = count[(key >>> shift) & 0xff]!++;
      tmpKeys[p] = key;
      tmp[p] = order[s]!;
    }
    [keys, tmpKeys] = [tmpKeys, keys];
    const o = order;
    order = tmp;
    tmp = o;
  }
  // `order` may be the scratch array now: hand out a copy of its first n.
  const out = order === radixTmp ? order.slice(0, n) : order;
  for (let k = 1; k < n; k++) {
    if (keys[k] !== keys[k - 1]) continue;
    // Insertion step on a tie of the prefix: compare the full ids.
    for (let j = k; j > 0 && keys[j] === keys[j - 1]; j--) {
      const a = out[j - 1]!;
      const b = out[j]!;
      if (series[a]!.id <= series[b]!.id) break;
      out[j - 1] = b;
      out[j] = a;
    }
  }
  return out;
}

/**
 * Sorts t[from..to) (and v alongside) by time, stably, and drops all but
 * the last of equal timestamps. Returns the new end. Already-sorted input
 * (the common case) is only scanned.
 */
export function sortDedup(t: Float64Array, v: Float64Array, from: number, to: number): number {
  let sorted = true;
  for (let i = from + 1; i < to; i++) {
    if (t[i]! <= t[i - 1]!) {
      sorted = false;
      break;
    }
  }
  if (sorted) return to;
  const idx = Array.from({ length: to - from }, (_, i) => from + i);
  idx.sort((a, b) => t[a]! - t[b]! || a - b);
  const st = idx.map((i) => t[i]!);
  const sv = new Float64Array(idx.length);
  for (let k = 0; k < idx.length; k++) sv[k] = v[idx[k]!]!;
  let w = from;
  for (let k = 0; k < st.length; k++) {
    if (k + 1 < st.length && st[k + 1] === st[k]) continue; // a later one wins
    t[w] = st[k]!;
    v[w] = sv[k]!;
    w++;
  }
  return w;
}

/** Runs `fn` over items with at most `limit` in flight; results in order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
