/**
 * Deferred deletion of replaced objects. Compaction and retention remove
 * an object's catalog entries right away, but delete the object only after
 * a grace period longer than any query, since a query that read the
 * catalog before the switch may still be fetching it.
 *
 * Items: pk `deletions`, sk `<due ms, 16 digits>/<id of its first object>`,
 * value JSON: an array of `{id, key, buckets}`, every object one call
 * replaced (one compaction job, one retention pass), so a job costs one
 * item instead of one per input; calls naming more objects than fit
 * {@link MaxTombstoneBytes} get several items. Items written before this
 * format hold a single object, `{id, key, buckets}`; both are read.
 *
 * A tombstone is written only after whatever replaces its objects is
 * committed, so carrying it out is always safe. It removes the objects'
 * catalog entries that are still there first (a crash may have left them;
 * ids are never recorded again once replaced, so what the catalog holds
 * when the tombstone is carried out is all there is to remove), then the
 * objects, then itself: every step is idempotent.
 */
import type { KVStore } from '../kvstore/kvstore.ts';
import type { Bucket } from '../objstore/bucket.ts';
import { CatalogPartition, type Catalog, type Recorded } from '../catalog/catalog.ts';
import { bucketKey } from '../index/keys.ts';

export const DeletionsPartition = 'deletions';

/**
 * Most JSON bytes of one tombstone item: far below DynamoDB's 400 KB item
 * limit (and the KVStore's 390 KiB value limit). An object takes ~165
 * bytes, so one item holds ~1500 objects.
 */
export const MaxTombstoneBytes = 256 * 1024;

export interface Tombstone {
  id: string;
  key: string;
  /** Catalog buckets the object was recorded in. */
  buckets: number[];
}

/** One pending tombstone item. */
export interface PendingTombstone {
  sk: string;
  due: number;
  objects: Tombstone[];
}

const enc = new TextEncoder();
const dec = new TextDecoder();

function dueKey(dueMs: number, id: string): string {
  return `${String(Math.max(0, Math.floor(dueMs))).padStart(16, '0')}/${id}`;
}

/** The catalog keys (partition {@link CatalogPartition}) of an object's entries: `<bucket key>/<id>`, as lib/catalog/catalog.ts writes them. */
export function catalogKeys(id: string, buckets: readonly number[]): { pk: string; sk: string }[] {
  return buckets.map((b) => ({ pk: CatalogPartition, sk: `${bucketKey(b)}/${id}` }));
}

/** Removes the catalog entries of many objects in as few requests as the store allows (idempotent). */
export async function removeFromCatalog(kv: KVStore, objects: readonly Recorded[]): Promise<void> {
  await kv.batchDelete(objects.flatMap((r) => catalogKeys(r.entry.id, r.buckets)));
}

/** Splits objects into groups whose JSON stays within {@link MaxTombstoneBytes}. */
export function groupTombstones(items: readonly Tombstone[], maxBytes = MaxTombstoneBytes): Tombstone[][] {
  const groups: Tombstone[][] = [];
  let cur: Tombstone[] = [];
  let bytes = 2;
  for (const t of items) {
    const n = enc.encode(JSON.stringify(t)).length + 1;
    if (cur.length > 0 && bytes + n > maxBytes) {
      groups.push(cur);
      cur = [];
      bytes = 2;
    }
    cur.push(t);
    bytes += n;
  }
  if (cur.length > 0) groups.push(cur);
  return groups;
}

function parseObjects(value: Uint8Array, sk: string): Tombstone[] {
  const v = JSON.parse(dec.decode(value)) as Tombstone | Tombstone[];
  const list = Array.isArray(v) ? v : [v];
  for (const t of list) if (typeof t.id !== 'string' || typeof t.key !== 'string' || !Array.isArray(t.buckets)) throw new Error(`tombstone ${sk}: unknown shape`);
  return list;
}

/** Object deletions in flight at once while carrying out a tombstone. */
const DeleteConcurrency = 8;

export class Deletions {
  constructor(private readonly kv: KVStore) {}

  /** Schedules the objects for deletion at `dueMs`: one item per {@link MaxTombstoneBytes} of them. */
  async schedule(items: readonly Tombstone[], dueMs: number): Promise<void> {
    if (items.length === 0) return;
    const groups = groupTombstones(items);
    await this.kv.batchPut(groups.map((g) => ({ pk: DeletionsPartition, sk: dueKey(dueMs, g[0]!.id), value: enc.encode(JSON.stringify(g)) })));
  }

  /** Every pending tombstone item, due first; with `dueBy`, only those due at that time (the rest are not read). */
  async pending(dueBy?: number): Promise<PendingTombstone[]> {
    const out: PendingTombstone[] = [];
    // Due times lead the sort keys: a range read stops at the first item not yet due.
    const range = dueBy === undefined ? {} : { end: `${dueKey(dueBy, '')}\u007f` };
    for await (const it of this.kv.query(DeletionsPartition, range)) {
      out.push({ sk: it.sk, due: Number(it.sk.slice(0, 16)), objects: parseObjects(it.value, it.sk) });
    }
    return out;
  }

  /**
   * Carries out the tombstones due at `nowMs`: the catalog entries still
   * there, the objects, the tombstone. Returns how many objects were
   * deleted. `_catalog` must be the catalog of this store (its entries
   * are removed through the store directly, only those present).
   */
  async run(nowMs: number, bucket: Bucket, _catalog: Catalog, onDelete?: (t: Tombstone) => void): Promise<number> {
    let n = 0;
    // Catalog keys present, per bucket, read once per run (strongly consistent).
    const present = new Map<number, Set<string>>();
    const presentIn = async (b: number): Promise<Set<string>> => {
      let set = present.get(b);
      if (set === undefined) {
        set = new Set();
        for await (const it of this.kv.query(CatalogPartition, { prefix: `${bucketKey(b)}/` })) set.add(it.sk);
        present.set(b, set);
      }
      return set;
    };
    for (const p of await this.pending(nowMs)) {
      if (p.due > nowMs) break;
      const stale: { pk: string; sk: string }[] = [];
      for (const t of p.objects) {
        for (const b of t.buckets) {
          const [k] = catalogKeys(t.id, [b]);
          const set = await presentIn(b);
          if (set.has(k!.sk)) {
            stale.push(k!);
            set.delete(k!.sk);
          }
        }
      }
      await this.kv.batchDelete(stale);
      for (let i = 0; i < p.objects.length; i += DeleteConcurrency) {
        const slice = p.objects.slice(i, i + DeleteConcurrency);
        await Promise.all(slice.map((t) => bucket.delete(t.key)));
        for (const t of slice) {
          onDelete?.(t);
          n++;
        }
      }
      await this.kv.batchDelete([{ pk: DeletionsPartition, sk: p.sk }]);
    }
    return n;
  }
}
