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
import { bucketOf } from '../index/keys.ts';
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
}

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
    const numSeries = this.series.length;
    if (this.n === 0) return { numSeries: 0, numSamples: 0, duplicatesDropped: 0, seriesIndexed: 0, bytes: 0 };

    // Group samples by series with a counting sort (stable: request order
    // is kept within a series, so the later of two equal timestamps wins).
    const counts = new Int32Array(numSeries + 1);
    for (let i = 0; i < this.n; i++) counts[this.slotOf[i]! + 1]!++;
    for (let s = 0; s < numSeries; s++) counts[s + 1]! += counts[s]!;
    const start = counts.slice();
    const t = new Float64Array(this.n);
    const v = new Float64Array(this.n);
    const fill = counts; // reused as the write cursor per slot
    for (let i = 0; i < this.n; i++) {
      const p = fill[this.slotOf[i]!]!++;
      t[p] = this.ts[i]!;
      v[p] = this.vs[i]!;
    }

    // Series in id order, as the segment table wants them.
    const order = Array.from({ length: numSeries }, (_, i) => i);
    order.sort((a, b) => (this.series[a]!.id < this.series[b]!.id ? -1 : 1));

    const builder = new SegmentBuilder();
    const newEntries: { s: SeriesEntry; bucket: number }[] = [];
    let kept = 0;
    const buckets = new Set<number>();
    for (const slot of order) {
      const from = start[slot]!;
      const to = sortDedup(t, v, from, start[slot + 1]!);
      kept += to - from;
      const s = this.series[slot]!;
      builder.addSeries(s.idBytes, s.canonical, t, v, from, to);
      // Samples are sorted, so each bucket of the series is one run.
      let prev = NaN;
      for (let i = from; i < to; i++) {
        const b = bucketOf(t[i]!);
        if (b === prev) continue;
        prev = b;
        buckets.add(b);
        if (!s.indexed.includes(b)) newEntries.push({ s, bucket: b });
      }
    }
    const { bytes, meta } = builder.finish();
    const id = this.deps.ulids.next();
    const key = segmentKey(id);

    await this.deps.bucket.put(key, bytes);
    const seriesIndexed = await this.indexNew(newEntries);
    const entry: SegmentEntry = { kind: 'segment', id, key, ...meta };
    await this.deps.catalog.addSegment(entry, [...buckets].sort((a, b) => a - b));

    return { segmentId: id, numSeries, numSamples: kept, duplicatesDropped: this.n - kept, seriesIndexed, bytes: bytes.length };
  }

  /** Writes index entries for (series, bucket) pairs not yet indexed. */
  private async indexNew(pairs: { s: SeriesEntry; bucket: number }[]): Promise<number> {
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
    await index.add(todo);
    for (const p of pairs) if (!p.s.indexed.includes(p.bucket)) p.s.indexed.push(p.bucket);
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
