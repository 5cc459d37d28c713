/**
 * The write path of one tenant: buffers samples, then on `commit()` writes
 * one immutable segment, indexes series that are new to a bucket, records
 * the segment in the catalog and only then resolves (invariant 1).
 *
 * Crash-safe order: segment object durable -> index entries -> catalog
 * entry. A crash before the catalog entry leaves an unreferenced object
 * (garbage for the cleaner) and harmless index entries; the sender, having
 * had no 2xx, retries.
 */
import type { Bucket } from '../objstore/bucket.ts';
import { BucketMs, bucketOf } from '../index/keys.ts';
import type { SealMarks } from '../index/seal-marks.ts';
import type { IndexEntry, LabelIndex } from '../index/label-index.ts';
import type { Catalog, SegmentEntry } from '../catalog/catalog.ts';
import { SegmentBuilder } from '../segment/writer.ts';
import { segmentKey } from '../segment/format.ts';
import type { SeriesEntry } from './series-cache.ts';
import type { UlidFactory } from './ulid.ts';

/** What one commit wrote. */
export interface CommitResult {
  /** Segment id, or undefined when there was nothing to write. */
  segmentId?: string;
  numSeries: number;
  /** Samples stored after dropping in-request duplicates. */
  numSamples: number;
  /** Samples with the same series and timestamp as a later one in the request. */
  duplicatesDropped: number;
  /** Series newly written to the label index. */
  seriesIndexed: number;
  bytes: number;
}

export interface AppenderDeps {
  bucket: Bucket;
  index: LabelIndex;
  catalog: Catalog;
  ulids: UlidFactory;
  /** Wall clock, ms (default Date.now). */
  now?: () => number;
  /** Marks of sealed days (their label index is dropped); without it no day counts as sealed. */
  seals?: SealMarks;
  /** Called (and awaited) before the first write of every commit; the tenant registry hooks in here. */
  beforeCommit?: () => Promise<void>;
}

const Empty = new Uint8Array(0);

/**
 * Collects samples of one write. `append` only buffers and is synchronous;
 * `commit` makes the batch durable and indexed; `rollback` drops it. Use
 * once, by one task.
 */
export class Appender {
  private series: SeriesEntry[] = [];
  /** Slot per series id (two label encodings of one series share a slot). */
  private slots = new Map<string, number>();
  private slotOf = new Int32Array(1024);
  private ts = new Float64Array(1024);
  private vs = new Float64Array(1024);
  private n = 0;
  private done = false;

  constructor(private readonly deps: AppenderDeps) {}

  /** Buffers one sample. Out-of-order and duplicate timestamps are fine. */
  append(s: SeriesEntry, t: number, v: number): void {
    let slot = this.slots.get(s.id);
    if (slot === undefined) {
      slot = this.series.length;
      this.series.push(s);
      this.slots.set(s.id, slot);
    }
    if (this.n === this.ts.length) this.grow();
    this.slotOf[this.n] = slot;
    this.ts[this.n] = t;
    this.vs[this.n] = v;
    this.n++;
  }

  /** Buffers samples t[from..to), v[from..to) of one series. */
  appendMany(s: SeriesEntry, t: Float64Array, v: Float64Array, from: number, to: number): void {
    for (let i = from; i < to; i++) this.append(s, t[i]!, v[i]!);
  }

  get numSamples(): number {
    return this.n;
  }

  rollback(): void {
    this.done = true;
    this.series = [];
    this.slots.clear();
  }

  async commit(): Promise<CommitResult> {
    if (this.done) throw new Error('appender already committed or rolled back');
    this.done = true;
    const n = this.n;
    const numSeries = this.series.length;
    if (n === 0) return { numSeries: 0, numSamples: 0, duplicatesDropped: 0, seriesIndexed: 0, bytes: 0 };
    if (this.deps.beforeCommit !== undefined) await this.deps.beforeCommit();

    // Group samples by series. Slots are numbered in order of first
    // appearance, so when each series' samples were appended together (the
    // usual case) they already are grouped; otherwise a stable counting
    // sort groups them (keeping request order, so that of two equal
    // timestamps the later one wins).
    const start = new Int32Array(numSeries + 1);
    let t = this.ts;
    let v = this.vs;
    let grouped = true;
    for (let i = 1; i < n; i++) {
      if (this.slotOf[i]! < this.slotOf[i - 1]!) {
        grouped = false;
        break;
      }
    }
    if (grouped) {
      for (let i = 0; i < n; i++) start[this.slotOf[i]! + 1]!++;
      for (let s = 0; s < numSeries; s++) start[s + 1]! += start[s]!;
    } else {
      for (let i = 0; i < n; i++) start[this.slotOf[i]! + 1]!++;
      for (let s = 0; s < numSeries; s++) start[s + 1]! += start[s]!;
      const fill = start.slice();
      t = new Float64Array(n);
      v = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const p = fill[this.slotOf[i]!]!++;
        t[p] = this.ts[i]!;
        v[p] = this.vs[i]!;
      }
    }

    // Series in id order, as the segment table wants them.
    const series = this.series;
    const order = idOrder(series);

    // Caches of what is indexed are not trusted for sealed days (older
    // days held only in blocks, whose label index is dropped): samples for
    // them carry their labels and are indexed again.
    const untrusted = await this.sealedBuckets(t, n);
    const builder = new SegmentBuilder();
    const newEntries: { s: SeriesEntry; bucket: number }[] = [];
    const buckets = new Set<number>();
    let lastBucket = NaN;
    let kept = 0;
    for (let k = 0; k < numSeries; k++) {
      const slot = order[k]!;
      const from = start[slot]!;
      const to = sortDedup(t, v, from, start[slot + 1]!);
      kept += to - from;
      const s = series[slot]!;
      // Samples are sorted, so each bucket of the series is one run.
      let defining = false;
      for (let i = from; i < to; ) {
        const b = bucketOf(t[i]!);
        if (b !== lastBucket) {
          buckets.add(b);
          lastBucket = b;
        }
        if (!s.indexed.includes(b) || (untrusted.size > 0 && untrusted.has(b))) {
          newEntries.push({ s, bucket: b });
          defining = true;
        }
        // Skip the rest of this bucket's run.
        const end = (b + 1) * BucketMs;
        if (t[to - 1]! < end) break;
        while (i < to && t[i]! < end) i++;
      }
      // Labels travel with the first segment of this process that holds the
      // series in a bucket; later ones carry the id only (FORMAT.md).
      builder.addSeries(s.idBytes, defining ? s.canonical : Empty, t, v, from, to);
    }
    const { bytes, meta } = builder.finish();
    const id = this.deps.ulids.next();
    const key = segmentKey(id);

    await this.deps.bucket.put(key, bytes);
    const seriesIndexed = await this.indexNew(newEntries, untrusted);
    const entry: SegmentEntry = { kind: 'segment', id, key, ...meta };
    await this.deps.catalog.addSegment(entry, [...buckets].sort((a, b) => a - b));
    // Only now is the segment (and the labels it carries) committed.
    for (const p of newEntries) if (!p.s.indexed.includes(p.bucket)) p.s.indexed.push(p.bucket);

    return { segmentId: id, numSeries, numSamples: kept, duplicatesDropped: n - kept, seriesIndexed, bytes: bytes.length };
  }

  /** Writes index entries for (series, bucket) pairs not yet indexed. */
  /** The sealed days among those of the samples, only days before yesterday being candidates. */
  private async sealedBuckets(t: Float64Array, n: number): Promise<Set<number>> {
    const out = new Set<number>();
    const seals = this.deps.seals;
    if (seals === undefined) return out;
    const before = bucketOf((this.deps.now ?? Date.now)()) - 1;
    const seen = new Set<number>();
    for (let i = 0; i < n; i++) {
      const b = Math.floor(t[i]! / BucketMs);
      if (b >= before || seen.has(b)) continue;
      seen.add(b);
      if (await seals.isSealed(b)) out.add(b);
    }
    return out;
  }

  private async indexNew(pairs: { s: SeriesEntry; bucket: number }[], untrusted: ReadonlySet<number>): Promise<number> {
    if (pairs.length === 0) return 0;
    const { index } = this.deps;
    // A cold process does not know what is indexed already: ask before
    // writing, since a point read is far cheaper than a dozen writes.
    const present = await mapLimit(pairs, 32, (p) => index.hasSeries(p.bucket, p.s.id));
    const todo: IndexEntry[] = [];
    for (let i = 0; i < pairs.length; i++) {
      const p = pairs[i]!;
      if (!present[i]) todo.push({ bucket: p.bucket, id: p.s.id, labels: p.s.labels, canonical: p.s.canonical });
    }
    await index.add(todo, untrusted);
    return todo.length;
  }

  private grow(): void {
    const size = this.ts.length * 2;
    const slotOf = new Int32Array(size);
    slotOf.set(this.slotOf);
    const ts = new Float64Array(size);
    ts.set(this.ts);
    const vs = new Float64Array(size);
    vs.set(this.vs);
    this.slotOf = slotOf;
    this.ts = ts;
    this.vs = vs;
  }
}

/** Slots per request that `idOrder` packs next to a key in one double. */
const PackedSlots = 2 ** 17;

/**
 * The positions of `series` in ascending id order. Sorting doubles without
 * a comparator is native and fast, so each series becomes one double: the
 * top 36 bits of its id, then its position (17 bits). Equal 36-bit prefixes
 * (rare: ~3e-5 per 2000 series) are then put in full id order.
 */
export function idOrder(series: readonly SeriesEntry[]): Uint32Array {
  const n = series.length;
  const order = new Uint32Array(n);
  if (n >= PackedSlots) {
    for (let s = 0; s < n; s++) order[s] = s;
    return order.sort((a, b) => (series[a]!.id < series[b]!.id ? -1 : series[a]!.id > series[b]!.id ? 1 : 0));
  }
  const packed = new Float64Array(n);
  for (let s = 0; s < n; s++) packed[s] = Math.floor(series[s]!.sortKey / 4096) * PackedSlots + s;
  packed.sort();
  for (let k = 0; k < n; k++) order[k] = packed[k]! % PackedSlots;
  for (let k = 1; k < n; k++) {
    if (Math.floor(packed[k]! / PackedSlots) !== Math.floor(packed[k - 1]! / PackedSlots)) continue;
    // Insertion step on a tie of the prefix: compare the full ids.
    for (let j = k; j > 0 && Math.floor(packed[j]! / PackedSlots) === Math.floor(packed[j - 1]! / PackedSlots); j--) {
      const a = order[j - 1]!;
      const b = order[j]!;
      if (series[a]!.id <= series[b]!.id) break;
      order[j - 1] = b;
      order[j] = a;
    }
  }
  return order;
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
