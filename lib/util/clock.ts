/**
 * Wall-clock time, injected so that code which stamps or compares times can
 * be tested without sleeping.
 */

/** A source of the current time. */
export interface Clock {
  /** Milliseconds since the Unix epoch (like `Date.now()`). */
  now(): number;
}

/** The real clock: `Date.now()`. */
export const systemClock: Clock = {
  now: () => Date.now(),
};

/**
 * A clock that only moves when told to, for tests.
 *
 * @example
 * const clock = new ManualClock(1_700_000_000_000);
 * clock.advance(15_000);
 */
export class ManualClock implements Clock {
  #now: number;

  /** @param startMs the initial time in ms since the epoch (default 0). */
  constructor(startMs = 0) {
    this.#now = startMs;
  }

  /** The current (manual) time in ms. */
  now(): number {
    return this.#now;
  }

  /** Sets the time to `ms`; moving backwards is allowed, to test clock skew. */
  set(ms: number): void {
    this.#now = ms;
  }

  /** Moves the time forward by `ms` (negative moves it back) and returns the new time. */
  advance(ms: number): number {
    this.#now += ms;
    return this.#now;
  }
}
