/**
 * A bounded LRU of decompressed block pages, shared by tenants. Blocks are
 * immutable, so a page never goes stale. Dashboards read the same recent
 * pages again and again; this saves the ranged read and the brotli
 * decompression (about half of a small remote_read, measured).
 */
export class PageCache {
  private readonly map = new Map<string, Uint8Array>();
  private bytes = 0;

  constructor(private readonly maxBytes = 64 * 1024 * 1024) {}

  get(key: string): Uint8Array | undefined {
    const hit = this.map.get(key);
    if (hit !== undefined) {
      this.map.delete(key);
      this.map.set(key, hit);
    }
    return hit;
  }

  set(key: string, page: Uint8Array): void {
    if (page.length > this.maxBytes / 4) return; // never let one page flush the cache
    const old = this.map.get(key);
    if (old !== undefined) {
      this.map.delete(key);
      this.bytes -= old.length;
    }
    this.map.set(key, page);
    this.bytes += page.length;
    for (const [k, v] of this.map) {
      if (this.bytes <= this.maxBytes) break;
      this.map.delete(k);
      this.bytes -= v.length;
    }
  }

  get size(): number {
    return this.bytes;
  }
}
