/**
 * A small seeded pseudo-random generator for the benchmark payloads, so the
 * same parameters always give byte-identical request bodies.
 *
 * The core is sfc32 (Chris Doty-Humphrey's "small fast counting" generator,
 * public domain): four 32-bit words of state, period at least 2^32, good
 * statistical quality for this purpose. Not for cryptography.
 */

/** A deterministic stream of pseudo-random numbers. */
export class Prng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  /** Seeds the state from one 32-bit integer (any number; its low 32 bits are used). */
  constructor(seed: number) {
    this.#a = 0x9e3779b9;
    this.#b = 0x243f6a88;
    this.#c = 0xb7e15162;
    this.#d = seed | 0;
    // Discard the first outputs so that close seeds diverge.
    for (let i = 0; i < 16; i++) this.nextUint32();
  }

  /** The next value, uniform in [0, 2^32). */
  nextUint32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [lo, hi] (both inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }

  /** Uniform in [lo, hi). */
  range(lo: number, hi: number): number {
    return lo + this.float() * (hi - lo);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /** One element of `items`, uniformly. */
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.float() * items.length)]!;
  }

  /** An independent generator derived from this one's next output and `salt`. */
  fork(salt: number): Prng {
    return new Prng((this.nextUint32() ^ Math.imul(salt | 0, 0x85ebca6b)) >>> 0);
  }
}

/** Murmur3's 32-bit finalizer: a cheap, well-mixing integer hash. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** FNV-1a over the UTF-16 code units of `s` (32 bits). */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
