/**
 * A bounded LRU of decompressed block pages, shared by tenants. Blocks are
 * immutable, so a page never goes stale. Dashboards read the same recent
 * pages again and again; this saves the ranged read and the brotli
 * decompression (about half of a small remote_read, measured).
 *
 * The same budget also holds values derived from immutable block data
 * (`getDerived` / `setDerived`, e.g. a series' samples encoded as XOR
 * chunks for STREAMED_XOR_CHUNKS answers), keyed by block id as pages are:
 * they never go stale either, and a block that is deleted just ages out.
 */

/** A cached value that reports its approximate memory footprint in bytes. */
export interface SizedValue {
  readonly byteSize: number;
}

interface Entry {
  value: Uint8Array | SizedValue;
  size: number;
}

export class PageCache {
  private readonly map = new Map<string, Entry>();
  private bytes = 0;

  constructor(private readonly maxBytes = 64 * 1024 * 1024) {}

  /** The largest value cached (larger ones are not kept: one value never flushes the cache). */
  get maxValueBytes(): number {
    return this.maxBytes / 4;
  }

  /** The page under `key`, if cached (and not a derived value). */
  get(key: string): Uint8Array | undefined {
    const v = this.touch(key);
    return v instanceof Uint8Array ? v : undefined;
  }

  set(key: string, page: Uint8Array): void {
    this.put(key, page, page.length);
  }

  /** The derived value under `key`, if cached. The caller must not modify it. */
  getDerived<T extends SizedValue>(key: string): T | undefined {
    const v = this.touch(key);
    return v === undefined || v instanceof Uint8Array ? undefined : (v as T);
  }

  /** Caches a derived value; it must not be modified afterwards. */
  setDerived(key: string, value: SizedValue): void {
    this.put(key, value, value.byteSize);
  }

  private touch(key: string): Uint8Array | SizedValue | undefined {
    const hit = this.map.get(key);
    if (hit === undefined) return undefined;
    this.map.delete(key);
    this.map.set(key, hit);
    return hit.value;
  }

  private put(key: string, value: Uint8Array | SizedValue, size: number): void {
    if (size > this.maxValueBytes) return;
    const old = this.map.get(key);
    if (old !== undefined) {
      this.map.delete(key);
      this.bytes -= old.size;
    }
    this.map.set(key, { value, size });
    this.bytes += size;
    for (const [k, e] of this.map) {
      if (this.bytes <= this.maxBytes) break;
      this.map.delete(k);
      this.bytes -= e.size;
    }
  }

  get size(): number {
    return this.bytes;
  }
}
