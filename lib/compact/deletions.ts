/**
 * Deferred deletion of replaced objects. Compaction and retention remove
 * an object's catalog entries right away, but delete the object only after
 * a grace period longer than any query, since a query that read the
 * catalog before the switch may still be fetching it.
 *
 * Items: pk `deletions`, sk `<due ms, 16 digits>/<object id>`, value JSON
 * `{id, key, buckets}`. A tombstone is written only after whatever
 * replaces the object is committed, so carrying it out is always safe; it
 * removes the catalog entries again first (a crash may have left them),
 * then the object, then itself: every step is idempotent.
 */
import type { KVStore } from '../kvstore/kvstore.ts';
import type { Bucket } from '../objstore/bucket.ts';
import type { Catalog } from '../catalog/catalog.ts';

export const DeletionsPartition = 'deletions';

export interface Tombstone {
  id: string;
  key: string;
  /** Catalog buckets the object was recorded in. */
  buckets: number[];
}

const enc = new TextEncoder();
const dec = new TextDecoder();

function dueKey(dueMs: number, id: string): string {
  return `${String(Math.max(0, Math.floor(dueMs))).padStart(16, '0')}/${id}`;
}

export class Deletions {
  constructor(private readonly kv: KVStore) {}

  /** Schedules the objects for deletion at `dueMs`. */
  async schedule(items: readonly Tombstone[], dueMs: number): Promise<void> {
    for (let i = 0; i < items.length; i += 25) {
      await this.kv.batchPut(items.slice(i, i + 25).map((t) => ({ pk: DeletionsPartition, sk: dueKey(dueMs, t.id), value: enc.encode(JSON.stringify(t)) })));
    }
  }

  /** Every pending tombstone (with its sort key), due first. */
  async pending(): Promise<{ sk: string; due: number; t: Tombstone }[]> {
    const out: { sk: string; due: number; t: Tombstone }[] = [];
    for await (const it of this.kv.query(DeletionsPartition)) {
      out.push({ sk: it.sk, due: Number(it.sk.slice(0, 16)), t: JSON.parse(dec.decode(it.value)) as Tombstone });
    }
    return out;
  }

  /**
   * Carries out the tombstones due at `nowMs`: catalog entries, object,
   * tombstone. Returns how many objects were deleted.
   */
  async run(nowMs: number, bucket: Bucket, catalog: Catalog, onDelete?: (t: Tombstone) => void): Promise<number> {
    let n = 0;
    for (const p of await this.pending()) {
      if (p.due > nowMs) break;
      await catalog.remove(p.t.id, p.t.buckets);
      await bucket.delete(p.t.key);
      await this.kv.batchDelete([{ pk: DeletionsPartition, sk: p.sk }]);
      onDelete?.(p.t);
      n++;
    }
    return n;
  }
}
