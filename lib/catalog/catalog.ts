/**
 * The catalog: which segments and blocks exist and which time buckets they
 * hold samples in. An object missing from the catalog is pending or garbage
 * and never read, so writing the catalog entry is the commit point of a
 * write and of a compaction.
 *
 * One item per (bucket, object), in one partition per tenant, with sort
 * keys `<bucketKey>/<id>`: a query over [mint, maxt] is one range query,
 * and buckets without data cost nothing.
 *
 * Overlapping entries are harmless: readers merge all of them and resolve
 * equal timestamps by order key, so a block and the sources it replaced
 * (present together between a compaction's commit and its cleanup) read
 * exactly as either alone.
 */
import type { KVStore } from '../kvstore/kvstore.ts';
import { bucketKey, bucketOf, parseBucketKey } from '../index/keys.ts';
import type { SegmentMeta } from '../segment/format.ts';
import type { BlockMeta } from '../block/format.ts';
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

/** What the catalog records of one block. */
export interface BlockEntry extends BlockMeta {
  kind: 'block';
  key: string;
  /** Object size and where its index lies (one ranged read fetches index + footer). */
  size: number;
  indexOffset: number;
  indexLength: number;
}

export type CatalogEntry = SegmentEntry | BlockEntry;

/** Rank for resolving equal timestamps: larger wins. */
export function orderKey(e: CatalogEntry): string {
  return e.kind === 'segment' ? e.id : e.orderKey;
}

/** Sorts entries by order key; a block ranks after a segment with the same key (its newest source). */
export function compareOrder(a: CatalogEntry, b: CatalogEntry): number {
  const ka = orderKey(a);
  const kb = orderKey(b);
  if (ka !== kb) return ka < kb ? -1 : 1;
  if (a.kind !== b.kind) return a.kind === 'segment' ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Resolution of an entry's data: segments hold raw samples. */
export function resolutionOf(e: CatalogEntry): number {
  return e.kind === 'segment' ? 0 : e.resolution;
}

/** An entry with the buckets it is recorded in. */
export interface Recorded<E extends CatalogEntry = CatalogEntry> {
  entry: E;
  buckets: number[];
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export class Catalog {
  constructor(private readonly kv: KVStore) {}

  /** Records a durable segment in every bucket it has samples in. */
  async addSegment(entry: SegmentEntry, buckets: readonly number[]): Promise<void> {
    await this.add(entry, buckets);
  }

  /** Records an object (segment or block) in the given buckets. */
  async add(entry: CatalogEntry, buckets: readonly number[]): Promise<void> {
    const value = enc.encode(JSON.stringify(entry));
    await this.kv.batchPut(buckets.map((b) => ({ pk: CatalogPartition, sk: `${bucketKey(b)}/${entry.id}`, value })));
  }

  /** Removes an object's entries (idempotent). */
  async remove(id: string, buckets: readonly number[]): Promise<void> {
    await this.kv.batchDelete(buckets.map((b) => ({ pk: CatalogPartition, sk: `${bucketKey(b)}/${id}` })));
  }

  /**
   * Entries of the given resolution with samples in buckets overlapping
   * [mint, maxt] whose time range overlaps it, each once, sorted by
   * {@link compareOrder}, with the buckets (within the range) holding data
   * and those of them holding segments (only those need the label index in
   * the index store: blocks carry their own).
   */
  async entries(mint: number, maxt: number, resolution = 0): Promise<{ entries: CatalogEntry[]; buckets: number[]; segmentBuckets: number[] }> {
    const entries: CatalogEntry[] = [];
    const buckets = new Set<number>();
    const segmentBuckets = new Set<number>();
    for (const r of await this.scan(bucketOf(mint), bucketOf(maxt), (e) => e.maxTime >= mint && e.minTime <= maxt && resolutionOf(e) === resolution, buckets)) {
      entries.push(r.entry);
      if (r.entry.kind === 'segment') for (const b of r.buckets) segmentBuckets.add(b);
    }
    const asc = (a: number, b: number) => a - b;
    return { entries, buckets: [...buckets].sort(asc), segmentBuckets: [...segmentBuckets].sort(asc) };
  }

  /** Every entry of the tenant with all its buckets, sorted by {@link compareOrder}. */
  async all(): Promise<Recorded[]> {
    return this.scan(undefined, undefined, () => true);
  }

  private async scan(fromBucket: number | undefined, toBucket: number | undefined, keep: (e: CatalogEntry) => boolean, bucketsSeen?: Set<number>): Promise<Recorded[]> {
    const byId = new Map<string, Recorded>();
    const range = fromBucket === undefined ? {} : { start: `${bucketKey(fromBucket)}/`, end: `${bucketKey(toBucket!)}/\u007f` };
    for await (const it of this.kv.query(CatalogPartition, range)) {
      const slash = it.sk.indexOf('/');
      const bucket = parseBucketKey(it.sk.slice(0, slash));
      const id = it.sk.slice(slash + 1);
      let r = byId.get(id);
      if (r === undefined) {
        const e = parseEntry(it.value, it.sk);
        if (!keep(e)) continue;
        r = { entry: e, buckets: [] };
        byId.set(id, r);
      }
      r.buckets.push(bucket);
      bucketsSeen?.add(bucket);
    }
    return [...byId.values()].sort((a, b) => compareOrder(a.entry, b.entry));
  }
}

function parseEntry(value: Uint8Array, sk: string): CatalogEntry {
  try {
    const e = JSON.parse(dec.decode(value)) as CatalogEntry;
    if ((e.kind !== 'segment' && e.kind !== 'block') || typeof e.key !== 'string' || typeof e.id !== 'string') throw new Error('unknown entry shape');
    return e;
  } catch (cause) {
    throw new CorruptionError(`catalog entry ${sk}`, { cause });
  }
}
