/**
 * A fast XOR chunk encoder for samples already held in sorted columns
 * (timestamps and values in Float64Arrays): what block reads re-encode for
 * STREAMED_XOR_CHUNKS answers. It writes exactly the bytes that
 * {@link XORAppender} writes for the same samples (the randomized test in
 * test/unit/chunkenc/xor-columns.test.ts compares them), but keeps the
 * bit-writer state in a 32-bit accumulator, stores whole big-endian words,
 * reads value bits through a Uint32Array view of the column (no float
 * round trip) and puts every chunk into one growable buffer, so it needs no
 * zeroed allocation per chunk and no per-sample checks of the chunk header.
 */
import { MAX_EXACT_DOD, MAX_LEADING_ZEROS } from './xor.ts';
import { ChunkFullError, InvalidSampleError } from './errors.ts';
import { withLength } from '../util/bytes.ts';

// Local copies: under tsx every read of an imported binding is a getter
// call, too slow for the per-sample loop.
const MaxDod = MAX_EXACT_DOD;
const MaxLeading = MAX_LEADING_ZEROS;
const MaxSafe = Number.MAX_SAFE_INTEGER;
const TWO_POW_32 = 4294967296;
const UNSET = 0xff;
/** Bytes a chunk of n samples can take at most: header, first sample, then 68 + 77 bits each. */
const maxChunkBytes = (n: number): number => 24 + 19 * n;

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('lib/chunkenc/xor-columns.ts needs a little-endian platform');
}

/**
 * XOR chunks encoded back to back into one buffer. Chunk k is
 * `buf.subarray(off[k], off[k] + len[k])`; `minT[k]`, `maxT[k]` are its
 * first and last timestamps. `reset()` empties it for reuse (the bytes of
 * earlier chunks are then overwritten: copy them first if you keep them).
 */
export class XorColumnEncoder {
  buf: Uint8Array;
  /** Chunks held. */
  count = 0;
  off: Uint32Array;
  len: Uint32Array;
  minT: Float64Array;
  maxT: Float64Array;
  /** Bytes used in `buf`. */
  used = 0;

  // Bit writer: `acc` holds the pending bits of the word at byte `wpos`, left-aligned; `free` bits are still open.
  private acc = 0;
  private free = 32;
  private wpos = 0;

  constructor(initialBytes = 1024, initialChunks = 16) {
    this.buf = new Uint8Array(initialBytes);
    this.off = new Uint32Array(initialChunks);
    this.len = new Uint32Array(initialChunks);
    this.minT = new Float64Array(initialChunks);
    this.maxT = new Float64Array(initialChunks);
  }

  reset(): void {
    this.count = 0;
    this.used = 0;
  }

  /**
   * Encodes samples `[from, to)` of `t` (strictly increasing integer ms) and
   * `v`, cut into chunks as Prometheus' head and our segments cut them: a
   * new chunk after `maxSamples` samples or when a sample lies more than
   * `maxSpanMs` after the chunk's first.
   *
   * @throws InvalidSampleError for a timestamp that is not a safe integer or not increasing.
   */
  encode(t: Float64Array, v: Float64Array, from: number, to: number, maxSamples: number, maxSpanMs: number): void {
    if (from >= to) return;
    const bits = new Uint32Array(v.buffer, v.byteOffset, v.length * 2);
    let i = from;
    while (i < to) {
      const first = t[i]!;
      let j = i + 1;
      const stop = Math.min(to, i + maxSamples);
      while (j < stop && t[j]! - first <= maxSpanMs) j++;
      this.chunk(t, bits, i, j);
      i = j;
    }
  }

  /** Appends an already encoded chunk (copied). */
  appendRaw(data: Uint8Array, minT: number, maxT: number): void {
    this.ensure(data.length);
    if (this.count === this.off.length) this.growChunks();
    this.buf.set(data, this.used);
    const c = this.count++;
    this.off[c] = this.used;
    this.len[c] = data.length;
    this.minT[c] = minT;
    this.maxT[c] = maxT;
    this.used += data.length;
  }

  /** Chunk k's bytes: a view, valid until `reset()` (a later growth copies, it does not overwrite). */
  bytes(k: number): Uint8Array {
    return this.buf.subarray(this.off[k]!, this.off[k]! + this.len[k]!);
  }

  /** One chunk of samples [i, j). */
  private chunk(t: Float64Array, bits: Uint32Array, i: number, j: number): void {
    const n = j - i;
    this.ensure(maxChunkBytes(n));
    if (this.count === this.off.length) this.growChunks();
    const start = this.used;
    const buf = this.buf;
    buf[start] = n >>> 8;
    buf[start + 1] = n & 0xff;
    this.wpos = start + 2;
    this.acc = 0;
    this.free = 32;

    let prevT = t[i]!;
    if (!Number.isSafeInteger(prevT)) notSafe(prevT);
    this.varint(prevT);
    let vhi = bits[2 * i + 1]!;
    let vlo = bits[2 * i]!;
    this.put(vhi, 32);
    this.put(vlo, 32);
    let leading = UNSET;
    let trailing = 0;
    let prevDelta = 0;
    for (let k = i + 1; k < j; k++) {
      const tk = t[k]!;
      // As Number.isSafeInteger, given tk > prevT >= -(2^53-1). Errors are
      // thrown out of line: a template literal of `tk` in this loop made it
      // 6x slower (measured).
      if (tk > MaxSafe || Math.floor(tk) !== tk) notSafe(tk);
      if (tk <= prevT) notAfter(tk, prevT);
      const delta = tk - prevT;
      if (delta > MaxDod) tooFar('timestamp delta', delta, '');
      const hi = bits[2 * k + 1]!;
      const lo = bits[2 * k]!;
      if (k === i + 1) {
        this.uvarint(delta);
      } else {
        const dod = delta - prevDelta;
        if (dod === 0) {
          if (hi === vhi && lo === vlo) {
            this.put(0, 2);
            prevT = tk;
            continue;
          }
          this.put(0, 1);
        } else if (dod >= -8191 && dod <= 8192) {
          this.put((0b10 << 14) | (dod & 0x3fff), 16);
        } else if (dod >= -65535 && dod <= 65536) {
          this.put((0b110 << 17) | (dod & 0x1ffff), 20);
        } else if (dod >= -524287 && dod <= 524288) {
          this.put((0b1110 << 20) | (dod & 0xfffff), 24);
        } else {
          if (dod > MaxDod || dod < -MaxDod) tooFar('timestamp delta-of-delta', dod, ' in magnitude');
          const dh = Math.floor(dod / TWO_POW_32);
          this.put(0b1111, 4);
          this.put(dh >>> 0, 32);
          this.put((dod - dh * TWO_POW_32) >>> 0, 32);
        }
      }
      prevDelta = delta;
      prevT = tk;
      // The value: XOR with the previous one.
      const dh = hi ^ vhi;
      const dl = lo ^ vlo;
      vhi = hi;
      vlo = lo;
      if ((dh | dl) === 0) {
        this.put(0, 1);
        continue;
      }
      let lead = dh !== 0 ? Math.clz32(dh) : 32 + Math.clz32(dl);
      const trail = dl !== 0 ? 31 - Math.clz32(dl & -dl) : 63 - Math.clz32(dh & -dh);
      if (lead > MaxLeading) lead = MaxLeading;
      let prefix: number;
      let pbits: number;
      if (leading !== UNSET && lead >= leading && trail >= trailing) {
        prefix = 0b10;
        pbits = 2;
      } else {
        leading = lead;
        trailing = trail;
        prefix = (0b11 << 11) | (lead << 6) | ((64 - lead - trail) & 0x3f);
        pbits = 13;
      }
      // The bits of dh:dl between `leading` and `trailing`.
      const sig = 64 - leading - trailing;
      let sh: number;
      let sl: number;
      if (trailing === 0) {
        sh = dh;
        sl = dl;
      } else if (trailing < 32) {
        sl = (dl >>> trailing) | (dh << (32 - trailing));
        sh = dh >>> trailing;
      } else {
        sl = dh >>> (trailing - 32);
        sh = 0;
      }
      this.put(prefix, pbits);
      if (sig > 32) {
        this.put(sh, sig - 32);
        this.put(sl, 32);
      } else {
        this.put(sl, sig);
      }
    }
    // Flush the open word's written bytes.
    const used = 32 - this.free;
    let p = this.wpos;
    const acc = this.acc;
    if (used > 0) buf[p++] = acc >>> 24;
    if (used > 8) buf[p++] = (acc >>> 16) & 0xff;
    if (used > 16) buf[p++] = (acc >>> 8) & 0xff;
    if (used > 24) buf[p++] = acc & 0xff;
    const c = this.count++;
    this.off[c] = start;
    this.len[c] = p - start;
    this.minT[c] = t[i]!;
    this.maxT[c] = t[j - 1]!;
    this.used = p;
  }

  /** Appends the low `n` bits of `v` (1 <= n <= 32), most significant first. */
  private put(v: number, n: number): void {
    if (n < 32) v &= (1 << n) - 1;
    const free = this.free;
    if (n < free) {
      this.acc |= v << (free - n);
      this.free = free - n;
      return;
    }
    const rest = n - free;
    const word = (this.acc | (v >>> rest)) >>> 0;
    const buf = this.buf;
    const p = this.wpos;
    buf[p] = word >>> 24;
    buf[p + 1] = (word >>> 16) & 0xff;
    buf[p + 2] = (word >>> 8) & 0xff;
    buf[p + 3] = word & 0xff;
    this.wpos = p + 4;
    this.acc = rest === 0 ? 0 : v << (32 - rest);
    this.free = 32 - rest;
  }

  /** Go's binary.PutUvarint, bytes written as 8-bit groups (as BitWriter.writeUvarint). */
  private uvarint(x: number): void {
    while (x >= 0x80) {
      this.put((x % 0x80) | 0x80, 8);
      x = Math.floor(x / 0x80);
    }
    this.put(x, 8);
  }

  /** Go's binary.PutVarint (zig-zag), as BitWriter.writeVarint. */
  private varint(x: number): void {
    const neg = x < 0 ? 1 : 0;
    let mag = neg === 1 ? -x - 1 : x;
    const low6 = mag % 0x40;
    mag = Math.floor(mag / 0x40);
    const first = (low6 << 1) | neg;
    if (mag === 0) {
      this.put(first, 8);
      return;
    }
    this.put(first | 0x80, 8);
    this.uvarint(mag);
  }

  private ensure(extra: number): void {
    // +4: put() stores whole words.
    const need = this.used + extra + 4;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.used));
    this.buf = next;
  }

  private growChunks(): void {
    const n = this.off.length * 2;
    this.off = withLength(this.off, n);
    this.len = withLength(this.len, n);
    this.minT = withLength(this.minT, n);
    this.maxT = withLength(this.maxT, n);
  }
}

function notSafe(t: number): never {
  throw new InvalidSampleError(`sample timestamp ${t} is not a safe integer of milliseconds`);
}

function notAfter(t: number, prev: number): never {
  throw new InvalidSampleError(`sample timestamp ${t} is not after the previous one, ${prev}`);
}

function tooFar(what: string, x: number, tail: string): never {
  throw new ChunkFullError(`${what} ${x} ms exceeds ${MaxDod}${tail}`);
}
