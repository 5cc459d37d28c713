/**
 * The safety net of label-index expiry (lib/index/expiry.ts): a week's
 * index items expire 30 days after the week at the earliest, and are needed
 * as long as some day of the week holds segments. Compaction normally turns
 * a day's segments into blocks within hours. A week that still holds
 * segments after a run's jobs (compaction was down, or keeps failing on
 * it) and ended 20 days ago or more gets its index refreshed: every item of
 * the week is written again, which gives them a new expiry (the store
 * stamps them; nothing changes on a store that does not expire items). Run
 * after the jobs, so backfilled old weeks, compacted in the same run, cost
 * nothing; a job that needs labels its week's index no longer has finds
 * them the same way (the compactor's fillLabels, {@link labelsFromObjects}).
 *
 * What is written: every series record the week still has, plus the labels
 * the week's segments carry and those of blocks overlapping the week, so
 * that even a week whose items may already have expired (compaction down
 * for more than 30 days) gets a complete index back: every series of a
 * week's segments has its labels in one of the week's segments or, if that
 * segment was compacted already, in a raw block of the week. Until that
 * run, readers of such a week may miss series whose items expired (never
 * samples: segments stay in S3 and are compacted by that run).
 *
 * Items: pk `indexrefresh`, sk the index bucket key (`w<9 digits>`), value
 * the refresh time (ms, text), so a week stuck with segments is refreshed
 * once per 20 days, not every run.
 *
 * The same rebuild moves data written before index buckets were weeks
 * (items `ix/<day>/…`, which nothing reads) to the week layout:
 * {@link ensureWeekLayout}, run at the start of every compaction run, does
 * it once per tenant, for every week that still holds segments.
 */
import type { Recorded } from '../catalog/catalog.ts';
import type { TenantStores } from '../tsdb/db.ts';
import type { IndexEntry } from '../index/label-index.ts';
import { indexBucketKey, indexBucketOfDay, indexBucketRange, indexBucketsOfDays, legacyDaySeriesPk } from '../index/keys.ts';
import { IndexExpiryMs, IndexRefreshAfterMs, indexRefreshDue } from '../index/expiry.ts';
import { decodeLabels, encodeLabels, seriesIdToHex } from '../labels/labels.ts';
import { readSegmentTable } from '../segment/reader.ts';
import { readBlockIndex } from '../block/reader.ts';

export const IndexRefreshPartition = 'indexrefresh';

/** pk of the item recording that a tenant's label index is in the week layout (sk {@link WeekLayoutKey}). */
export const IndexLayoutPartition = 'indexlayout';
export const WeekLayoutKey = 'week';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** The index buckets (weeks) in which `entries` record segments, ascending. */
function segmentWeeks(entries: readonly Recorded[]): number[] {
  const days = new Set<number>();
  for (const r of entries) if (r.entry.kind === 'segment') for (const b of r.buckets) days.add(b);
  return indexBucketsOfDays(days);
}

/**
 * Refreshes the label index of every week in `entries` (the catalog) that
 * holds segments and is due ({@link indexRefreshDue}). Returns the weeks
 * refreshed (their Mondays).
 */
export async function refreshExpiringIndexes(s: TenantStores, entries: readonly Recorded[], now: number, onRefresh?: (bucket: number, series: number) => void): Promise<number[]> {
  const done: number[] = [];
  for (const b of segmentWeeks(entries)) {
    if (!indexRefreshDue(b, now)) continue;
    const sk = indexBucketKey(b);
    const last = await s.kv.get(IndexRefreshPartition, sk);
    if (last !== undefined && now - Number(dec.decode(last)) < IndexRefreshAfterMs) continue;
    const n = await refreshWeek(s, b, entries, now >= indexBucketRange(b)[1] + 1 + IndexExpiryMs);
    await s.kv.batchPut([{ pk: IndexRefreshPartition, sk, value: enc.encode(String(now)) }]);
    done.push(b);
    onRefresh?.(b, n);
  }
  return done;
}

/**
 * Once per tenant: rebuilds, from the labels its objects carry, the index
 * of every week holding segments of a day that has a series partition in
 * the day layout (written before index buckets were weeks: its series may
 * be indexed there only), then records that the tenant is in the week
 * layout. Once recorded, one GetItem per run; before, the catalog and one
 * point query per day holding segments; a store written in the week layout
 * only just gets the record. Returns the weeks rebuilt.
 * Idempotent; a crash before the record is written only repeats it.
 */
export async function ensureWeekLayout(s: TenantStores, now: number, onRebuild?: (bucket: number, series: number) => void): Promise<number[]> {
  if ((await s.kv.get(IndexLayoutPartition, WeekLayoutKey)) !== undefined) return [];
  // The catalog is read only when the rebuild may be needed, not on every run.
  const entries = await s.catalog.all();
  const days = new Set<number>();
  for (const r of entries) if (r.entry.kind === 'segment') for (const b of r.buckets) days.add(b);
  const weeks = new Set<number>();
  for (const d of days) {
    if (weeks.has(indexBucketOfDay(d))) continue;
    for await (const _ of s.kv.query(legacyDaySeriesPk(d), { limit: 1 })) weeks.add(indexBucketOfDay(d));
  }
  const done: number[] = [];
  for (const b of [...weeks].sort((x, y) => x - y)) {
    const n = await refreshWeek(s, b, entries, true);
    done.push(b);
    onRebuild?.(b, n);
  }
  await s.kv.batchPut([{ pk: IndexLayoutPartition, sk: WeekLayoutKey, value: enc.encode(String(now)) }]);
  return done;
}

/**
 * Adds to `into` (series id hex -> canonical labels) the labels carried by
 * the objects recorded in any day of the week of `bucket`: its segments
 * (series with samples in the week that carry labels) and its raw blocks.
 * Every series of a week's segments has its labels in one of them (a
 * writer sends a series' labels with its first segment of the week).
 * Series already in `into` are kept. One GET per segment and one ranged
 * GET per block.
 */
export async function labelsFromObjects(s: TenantStores, bucket: number, entries: readonly Recorded[], into: Map<string, Uint8Array>): Promise<void> {
  const week = indexBucketOfDay(bucket);
  const [from, to] = indexBucketRange(week);
  for (const r of entries) {
    if (!r.buckets.some((d) => indexBucketOfDay(d) === week)) continue;
    if (r.entry.kind === 'segment') {
      const { table } = await readSegmentTable(s.bucket, r.entry.key, r.entry);
      for (let i = 0; i < table.numSeries; i++) {
        if (table.seriesMaxT(i) < from || table.seriesMinT(i) > to) continue;
        const lb = table.labelsAt(i);
        const id = seriesIdToHex(table.idAt(i));
        if (lb.length > 0 && !into.has(id)) into.set(id, lb.slice());
      }
    } else if (r.entry.resolution === 0) {
      const ix = await readBlockIndex(s.bucket, r.entry.key, r.entry);
      for (let i = 0; i < ix.numSeries; i++) {
        const id = seriesIdToHex(ix.idAt(i));
        if (!into.has(id)) into.set(id, ix.labelsAt(i).slice());
      }
    }
  }
}

/**
 * Writes the whole index of one week again, from its series records and,
 * if items may have expired already or were never written in this layout
 * (`rebuild`), from the labels its objects carry. Returns the number of
 * series indexed.
 */
async function refreshWeek(s: TenantStores, bucket: number, entries: readonly Recorded[], rebuild: boolean): Promise<number> {
  const week = indexBucketOfDay(bucket);
  const labels = new Map<string, Uint8Array>();
  for (const [id, ls] of await s.index.allSeries(week)) labels.set(id, encodeLabels(ls));
  if (rebuild) await labelsFromObjects(s, week, entries, labels);
  const todo: IndexEntry[] = [];
  for (const [id, canonical] of labels) todo.push({ bucket: week, id, labels: decodeLabels(canonical, 0, canonical.length), canonical });
  await s.index.add(todo, 'all');
  return todo.length;
}
