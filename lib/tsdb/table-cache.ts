/**
 * A bounded LRU of parsed segment tables. Segments are immutable, so an
 * entry never goes stale; concurrent loads of one key share one read.
 */
/** Anything cached here reports its approximate memory footprint. */
export interface Sized {
  readonly byteSize: number;
}

export class TableCache {
  private readonly map = new Map<string, Promise<Sized>>();
  private readonly sizes = new Map<string, number>();
  /** Loaded values, by key (those of `map` whose load finished). */
  private readonly loaded = new Map<string, Sized>();
  private bytes = 0;

  constructor(private readonly maxBytes = 256 * 1024 * 1024) {}

  /** The value under `key` if it is loaded (its recency refreshed), without loading it. */
  peek<T extends Sized>(key: string): T | undefined {
    const v = this.loaded.get(key);
    if (v === undefined) return undefined;
    const p = this.map.get(key)!;
    this.map.delete(key);
    this.map.set(key, p);
    return v as T;
  }

  /** The cached value under `key` (segment tables and block indexes use distinct keys), loading it once. */
  async get<T extends Sized>(key: string, load: () => Promise<T>): Promise<T> {
    const hit = this.map.get(key);
    if (hit !== undefined) {
      // Refresh recency.
      this.map.delete(key);
      this.map.set(key, hit);
      return hit as Promise<T>;
    }
    const p = load();
    this.map.set(key, p);
    try {
      const t = await p;
      if (this.map.get(key) === p) {
        this.sizes.set(key, t.byteSize);
        this.loaded.set(key, t);
        this.bytes += t.byteSize;
        this.evict();
      }
      return t;
    } catch (e) {
      if (this.map.get(key) === p) this.map.delete(key);
      throw e;
    }
  }

  /** Drops the value under `key` if it is loaded (a load under way is left alone). */
  delete(key: string): void {
    const sz = this.sizes.get(key);
    if (sz === undefined) return;
    this.map.delete(key);
    this.sizes.delete(key);
    this.loaded.delete(key);
    this.bytes -= sz;
  }

  private evict(): void {
    for (const k of this.map.keys()) {
      if (this.bytes <= this.maxBytes) break;
      if (!this.sizes.has(k)) continue; // still loading
      this.delete(k);
    }
  }
}
