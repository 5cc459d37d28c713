/**
 * Removes block objects that no catalog entry and no tombstone names and
 * that are older than the grace period: leftovers of compactions killed
 * between the upload and the catalog switch.
 */
import type { Bucket } from '../objstore/bucket.ts';
import type { Catalog } from '../catalog/catalog.ts';
import type { Deletions } from './deletions.ts';
import { ulidTime } from '../tsdb/ulid.ts';

export async function sweepOrphans(bucket: Bucket, catalog: Catalog, deletions: Deletions, olderThan: number, onDelete?: (key: string) => void): Promise<number> {
  const known = new Set<string>();
  for (const r of await catalog.all()) known.add(r.entry.key);
  for (const p of await deletions.pending()) for (const t of p.objects) known.add(t.key);
  let n = 0;
  for await (const key of bucket.iter('blocks/')) {
    if (known.has(key)) continue;
    const id = key.slice('blocks/'.length);
    let t: number;
    try {
      t = ulidTime(id);
    } catch {
      continue; // not ours
    }
    if (t >= olderThan) continue; // may belong to a compaction still under way
    await bucket.delete(key);
    onDelete?.(key);
    n++;
  }
  return n;
}
