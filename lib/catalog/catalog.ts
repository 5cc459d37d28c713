/**
 * The catalog: which segments exist and which time buckets they hold
 * samples in. An object missing from the catalog is pending or garbage and
 * never read, so writing the catalog entry is the commit point of a write.
 *
 * One item per (bucket, segment), in one partition per tenant, with sort
 * keys `<bucketKey>/<segmentId>`: a query over [mint, maxt] is one range
 * query, and buckets without data cost nothing.
 */
import type { KVStore } from '../kvstore/kvstore.ts';
import { bucketKey, bucketOf, parseBucketKey } from '../index/keys.ts';
import type { SegmentMeta } from '../segment/format.ts';
import { CorruptionError } from '../util/errors.ts';

export const CatalogPartition = 'catalog';

/** What the catalog records of one segment. */
export interface SegmentEntry extends SegmentMeta {
  kind: 'segment';
  /** Sortable id (ULID); later writes have larger ids. */
  id: string;
  /** Object key, relative to the tenant. */
  key: string;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export class Catalog {
  constructor(private readonly kv: KVStore) {}

  /** Records a durable segment in every bucket it has samples in. */
  async addSegment(entry: SegmentEntry, buckets: readonly number[]): Promise<void> {
    const value = enc.encode(JSON.stringify(entry));
    await this.kv.batchPut(buckets.map((b) => ({ pk: CatalogPartition, sk: `${bucketKey(b)}/${entry.id}`, value })));
  }

  /**
   * Segments with samples in buckets overlapping [mint, maxt] whose time
   * range overlaps it, in ascending id (= write) order, each once, with the
   * buckets (within the range) it was recorded in.
   */
  async segments(mint: number, maxt: number): Promise<{ entries: SegmentEntry[]; buckets: number[] }> {
    const byId = new Map<string, SegmentEntry>();
    const buckets = new Set<number>();
    const start = `${bucketKey(bucketOf(mint))}/`;
    const end = `${bucketKey(bucketOf(maxt))}/\u007f`;
    for await (const it of this.kv.query(CatalogPartition, { start, end })) {
      const slash = it.sk.indexOf('/');
      const bucket = parseBucketKey(it.sk.slice(0, slash));
      const id = it.sk.slice(slash + 1);
      let e = byId.get(id);
      if (e === undefined) {
        e = parseEntry(it.value, it.sk);
        if (e.maxTime < mint || e.minTime > maxt) continue;
        byId.set(id, e);
      }
      buckets.add(bucket);
    }
    const entries = [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return { entries, buckets: [...buckets].sort((a, b) => a - b) };
  }
}

function parseEntry(value: Uint8Array, sk: string): SegmentEntry {
  try {
    const e = JSON.parse(dec.decode(value)) as SegmentEntry;
    if (e.kind !== 'segment' || typeof e.key !== 'string' || typeof e.id !== 'string') throw new Error('unknown entry shape');
    return e;
  } catch (cause) {
    throw new CorruptionError(`catalog entry ${sk}`, { cause });
  }
}
