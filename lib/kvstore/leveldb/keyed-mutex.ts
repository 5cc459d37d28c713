/**
 * Mutual exclusion by key, for stores without conditional writes.
 */

/**
 * Runs tasks so that two tasks sharing a key never overlap; tasks with
 * disjoint keys run concurrently. A task acquires all its keys at once, in
 * the order tasks were started, so tasks cannot deadlock one another.
 */
export class KeyedMutex {
  /** Per key, the promise that settles when the last task holding it ends. */
  readonly #tails = new Map<string, Promise<void>>();

  /** The number of keys some task holds or waits for (for tests). */
  get size(): number {
    return this.#tails.size;
  }

  /** Runs `task` once no earlier task holding any of `keys` is running. */
  async run<T>(keys: Iterable<string>, task: () => Promise<T>): Promise<T> {
    let release!: () => void;
    const done = new Promise<void>((r) => (release = r));
    const waits: Promise<void>[] = [];
    const held: string[] = [];
    for (const k of keys) {
      const prev = this.#tails.get(k);
      if (prev === done) continue; // the same key twice in one task
      if (prev !== undefined) waits.push(prev);
      this.#tails.set(k, done);
      held.push(k);
    }
    try {
      if (waits.length > 0) await Promise.all(waits);
      return await task();
    } finally {
      release();
      for (const k of held) {
        if (this.#tails.get(k) === done) this.#tails.delete(k);
      }
    }
  }
}
