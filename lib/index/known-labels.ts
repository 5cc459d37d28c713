/**
 * The labels of series by index bucket (week), kept by a process across
 * calls (as bytes or decoded: `V`). A series id is a hash of its labels,
 * so a cached (week, id) -> labels pair never goes stale: the cache only
 * ever misses. (A series record, once written, stays until its week is
 * sealed or expires, after which reads of the week use blocks alone.)
 * Bounded by a number of series; whole weeks are dropped, furthest from
 * the one written first (usually the oldest), then the oldest entries of a
 * week that alone is over the bound. Callers take their answers from what
 * they read, not from the cache after filling it (it may have dropped them).
 */
export class KnownLabels<V = Uint8Array> {
  readonly #weeks = new Map<number, Map<string, V>>();
  #size = 0;

  constructor(private readonly maxSeries: number) {}

  /** The week's map, created empty if absent. */
  week(week: number): Map<string, V> {
    let m = this.#weeks.get(week);
    if (m === undefined) this.#weeks.set(week, (m = new Map()));
    return m;
  }

  /** The cached labels of `ids` in `week` (`found`), and the ids not cached, in their order (`missing`). */
  lookup(week: number, ids: readonly string[]): { found: Map<string, V>; missing: string[] } {
    const m = this.week(week);
    const found = new Map<string, V>();
    const missing: string[] = [];
    for (const id of ids) {
      const v = m.get(id);
      if (v !== undefined) found.set(id, v);
      else missing.push(id);
    }
    return { found, missing };
  }

  /** Remembers `labels` of series `id` in `week`. */
  set(week: number, id: string, labels: V): void {
    const m = this.week(week);
    if (m.has(id)) return;
    m.set(id, labels);
    this.#size++;
    this.#trim(week);
  }

  /** Series held over all weeks. */
  get size(): number {
    return this.#size;
  }

  #trim(keep: number): void {
    while (this.#size > this.maxSeries && this.#weeks.size > 1) {
      let far = keep;
      for (const w of this.#weeks.keys()) if (Math.abs(w - keep) > Math.abs(far - keep)) far = w;
      this.#size -= this.#weeks.get(far)!.size;
      this.#weeks.delete(far);
    }
    // One week larger than the bound: its oldest entries go.
    const m = this.#weeks.get(keep);
    if (m === undefined) return;
    for (const id of m.keys()) {
      if (this.#size <= this.maxSeries) break;
      m.delete(id);
      this.#size--;
    }
  }
}
