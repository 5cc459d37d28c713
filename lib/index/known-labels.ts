/**
 * The label bytes of series by index bucket (week), kept by a process
 * across compaction runs. A series id is a hash of its labels, so a cached
 * (week, id) -> labels pair never goes stale: the cache only ever misses.
 * Bounded by a number of series; whole weeks are dropped, furthest from
 * the one asked for first (usually the oldest).
 */
export class KnownLabels {
  readonly #weeks = new Map<number, Map<string, Uint8Array>>();
  #size = 0;

  constructor(private readonly maxSeries: number) {}

  /** The week's map, created empty if absent. */
  week(week: number): Map<string, Uint8Array> {
    let m = this.#weeks.get(week);
    if (m === undefined) this.#weeks.set(week, (m = new Map()));
    return m;
  }

  /** Remembers `labels` of series `id` in `week`. */
  set(week: number, id: string, labels: Uint8Array): void {
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
  }
}
