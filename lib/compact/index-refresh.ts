/**
 * The safety net of label-index expiry (lib/index/expiry.ts): a day's index
 * items expire 30 days after the day at the earliest, and are needed as
 * long as the day holds segments. Compaction normally turns a day's
 * segments into blocks within hours. A day that still holds segments after
 * a run's jobs (compaction was down, or keeps failing on it) and ended 20
 * days ago or more gets its index refreshed: every item of the day is
 * written again, which gives them a new expiry (the store stamps them;
 * nothing changes on a store that does not expire items). Run after the
 * jobs, so backfilled old days, compacted in the same run, cost nothing;
 * a job that needs labels its day's index no longer has finds them the
 * same way (the compactor's fillLabels, {@link labelsFromObjects}).
 *
 * What is written: every series record the day still has, plus the labels
 * the day's segments carry and those of blocks overlapping the day, so that
 * even a day whose items may already have expired (compaction down for
 * more than 30 days) gets a complete index back: every series of a day's
 * segments has its labels in one of the day's segments or, if that segment
 * was compacted already, in a block of the day. Until that run, readers
 * of such a day may miss series whose items expired (never samples:
 * segments stay in S3 and are compacted by that run).
 *
 * Items: pk `indexrefresh`, sk the bucket key, value the refresh time (ms,
 * text), so a day stuck with segments is refreshed once per 20 days, not
 * every run.
 */
import type { Recorded } from '../catalog/catalog.ts';
import type { TenantStores } from '../tsdb/db.ts';
import type { IndexEntry } from '../index/label-index.ts';
import { bucketKey, bucketRange } from '../index/keys.ts';
import { IndexExpiryMs, IndexRefreshAfterMs, indexRefreshDue } from '../index/expiry.ts';
import { decodeLabels, encodeLabels, seriesIdToHex } from '../labels/labels.ts';
import { readSegmentTable } from '../segment/reader.ts';
import { readBlockIndex } from '../block/reader.ts';

export const IndexRefreshPartition = 'indexrefresh';

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * Refreshes the label index of every day in `entries` (the catalog) that
 * holds segments and is due ({@link indexRefreshDue}). Returns the days
 * refreshed.
 */
export async function refreshExpiringIndexes(s: TenantStores, entries: readonly Recorded[], now: number, onRefresh?: (bucket: number, series: number) => void): Promise<number[]> {
  const due = new Set<number>();
  for (const r of entries) if (r.entry.kind === 'segment') for (const b of r.buckets) if (indexRefreshDue(b, now)) due.add(b);
  const done: number[] = [];
  for (const b of [...due].sort((x, y) => x - y)) {
    const sk = bucketKey(b);
    const last = await s.kv.get(IndexRefreshPartition, sk);
    if (last !== undefined && now - Number(dec.decode(last)) < IndexRefreshAfterMs) continue;
    const n = await refreshDay(s, b, entries, now >= bucketRange(b)[1] + 1 + IndexExpiryMs);
    await s.kv.batchPut([{ pk: IndexRefreshPartition, sk, value: enc.encode(String(now)) }]);
    done.push(b);
    onRefresh?.(b, n);
  }
  return done;
}

/**
 * Adds to `into` (series id hex -> canonical labels) the labels carried by
 * the objects recorded in `bucket`: its segments (series with samples in
 * the day that carry labels) and its raw blocks. Every series of a day's
 * segments has its labels in one of them. Series already in `into` are
 * kept. One GET per segment and one ranged GET per block.
 */
export async function labelsFromObjects(s: TenantStores, bucket: number, entries: readonly Recorded[], into: Map<string, Uint8Array>): Promise<void> {
  const [from, to] = bucketRange(bucket);
  for (const r of entries) {
    if (!r.buckets.includes(bucket)) continue;
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
 * Writes the whole index of one day again, from its series records and, if
 * items may have expired already (`rebuild`), from the labels its objects
 * carry. Returns the number of series indexed.
 */
async function refreshDay(s: TenantStores, bucket: number, entries: readonly Recorded[], rebuild: boolean): Promise<number> {
  const labels = new Map<string, Uint8Array>();
  for (const [id, ls] of await s.index.allSeries(bucket)) labels.set(id, encodeLabels(ls));
  if (rebuild) await labelsFromObjects(s, bucket, entries, labels);
  const todo: IndexEntry[] = [];
  for (const [id, canonical] of labels) todo.push({ bucket, id, labels: decodeLabels(canonical, 0, canonical.length), canonical });
  await s.index.add(todo, 'all');
  return todo.length;
}
