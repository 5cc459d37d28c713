/**
 * The catalog as one compaction run sees it: `all()` reads the tenant's
 * whole catalog (a strongly consistent Query of every entry, in DynamoDB)
 * once, and the same answer serves the run's later steps (planning passes,
 * downsampling plans, retention, sealing, the orphan sweep) until the run
 * itself adds or removes an entry. A run with nothing to do, which is most
 * runs of a schedule every few minutes, reads the catalog once instead of
 * about six times.
 *
 * Entries that writers add meanwhile are seen by the next run, as they
 * would be had they arrived a moment later. Steps that must see the
 * catalog as it is now use `entries()`, which is never reused (the seal's
 * re-check, lib/compact/seal.ts).
 */
import { Catalog, type CatalogEntry, type Recorded } from '../catalog/catalog.ts';

export class RunCatalog extends Catalog {
  #all: Promise<Recorded[]> | undefined;

  /** Forgets the answer read so far (the start of a run). */
  reset(): void {
    this.#all = undefined;
  }

  override async add(entry: CatalogEntry, buckets: readonly number[]): Promise<void> {
    this.#all = undefined;
    try {
      await super.add(entry, buckets);
    } finally {
      this.#all = undefined;
    }
  }

  override async remove(id: string, buckets: readonly number[]): Promise<void> {
    this.#all = undefined;
    try {
      await super.remove(id, buckets);
    } finally {
      this.#all = undefined;
    }
  }

  /** Every entry, sorted; a fresh array each call (the entries themselves are shared: do not change them). */
  override async all(): Promise<Recorded[]> {
    let p = this.#all;
    if (p === undefined) {
      p = super.all();
      this.#all = p;
      p.catch(() => {
        if (this.#all === p) this.#all = undefined;
      });
    }
    return [...(await p)];
  }
}
