/**
 * Drops the label index of weeks whose data lives only in blocks: blocks
 * carry their own label index, so once no day of a week holds segments the
 * index store's entries for the week (lib/index/keys.ts: index buckets are
 * weeks) are dead weight (they were most of the bytes per sample left
 * after compaction: 2.8 of 4.1 on the benchmark payload, with day buckets).
 *
 * Only weeks that ended before yesterday began are sealed
 * (lib/index/seal-marks.ts `isSealable`). A week is first marked and its
 * index dropped only `delayMs` later; writers that see the mark stop
 * trusting their caches of what is indexed there, so a late sample for a
 * sealed week carries its labels and is indexed afresh. If such a segment
 * is committed while a week is being sealed, its series are re-indexed
 * from the labels it carries, after the drop.
 *
 * When the index store expires label-index items by itself (DynamoDB Time
 * to Live, lib/index/expiry.ts; option `expire`), sealing only marks the
 * week and deletes nothing: the items vanish for free within the expiry
 * horizon, and nothing reads a sealed week's index meanwhile (readers use
 * the index only for weeks holding segments; writers re-index late samples
 * of marked weeks). A marked week is not looked at again.
 */
import { indexBucketOfDay, indexBucketRange } from '../index/keys.ts';
import { bucketIndexExists, dropBucketIndex } from '../index/gc.ts';
import { isSealable } from '../index/seal-marks.ts';
import { decodeLabels, seriesIdToHex } from '../labels/labels.ts';
import type { IndexEntry } from '../index/label-index.ts';
import type { SegmentEntry } from '../catalog/catalog.ts';
import { readSegmentTable } from '../segment/reader.ts';
import type { TenantStores } from '../tsdb/db.ts';

/** How long after marking a week its index is dropped: far longer than writers cache marks (1 min) plus a request. */
export const DefaultSealDelayMs = 10 * 60_000;

/**
 * Seals every eligible week: marks it, and once it has been marked for
 * `delayMs`, drops its label index (with `expire`: leaves it to expire).
 * Returns the index buckets sealed (each week's Monday).
 */
export async function sealIndexes(s: TenantStores, now: number, onSeal?: (bucket: number, items: number) => void, delayMs = DefaultSealDelayMs, expire = false): Promise<number[]> {
  const state = new Map<number, { segments: boolean; blocks: boolean }>();
  for (const r of await s.catalog.all()) {
    for (const day of r.buckets) {
      const b = indexBucketOfDay(day);
      let st = state.get(b);
      if (st === undefined) state.set(b, (st = { segments: false, blocks: false }));
      if (r.entry.kind === 'segment') st.segments = true;
      else st.blocks = true;
    }
  }
  const sealed: number[] = [];
  for (const [b, st] of [...state].sort((x, y) => x[0] - y[0])) {
    if (st.segments || !st.blocks || !isSealable(b, now)) continue;
    if (expire) {
      // Marked once; its items expire by themselves.
      if ((await s.seals.markedAt(b)) !== undefined) continue;
      if (!(await bucketIndexExists(s.kv, b))) continue;
      await s.seals.mark(b, now);
      sealed.push(b);
      onSeal?.(b, 0);
      continue;
    }
    if (!(await bucketIndexExists(s.kv, b))) continue;
    const marked = await s.seals.mark(b, now);
    if (now - marked < delayMs) continue; // writers get time to see the mark
    const items = await dropBucketIndex(s.kv, b);
    await reindexLateSegments(s, b);
    sealed.push(b);
    onSeal?.(b, items);
  }
  return sealed;
}

/** Indexes the series of segments committed in the week of `bucket` (normally none) from the labels they carry. */
export async function reindexLateSegments(s: TenantStores, bucket: number): Promise<number> {
  const week = indexBucketOfDay(bucket);
  const [from, to] = indexBucketRange(week);
  const { entries } = await s.catalog.entries(from, to);
  const todo: IndexEntry[] = [];
  for (const e of entries) {
    if (e.kind !== 'segment') continue;
    const { table } = await readSegmentTable(s.bucket, e.key, e as SegmentEntry);
    for (let i = 0; i < table.numSeries; i++) {
      if (table.seriesMaxT(i) < from || table.seriesMinT(i) > to) continue;
      const canonical = table.labelsAt(i).slice();
      if (canonical.length === 0) continue; // labelled in another segment of the same writer
      todo.push({ bucket: week, id: seriesIdToHex(table.idAt(i)), labels: decodeLabels(canonical, 0, canonical.length), canonical });
    }
  }
  await s.index.add(todo, 'all');
  return todo.length;
}
