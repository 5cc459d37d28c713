/**
 * Bit streams for the XOR chunk encoding.
 *
 * Bits are packed most-significant first: the first bit written is the top
 * bit (0x80) of byte 0. This is the order Prometheus' `tsdb/chunkenc/bstream.go`
 * uses (itself derived from Damian Gryski's go-tsz); the code here is our own.
 *
 * JavaScript bitwise operators work on 32 bits, so every read and write here
 * moves at most 32 bits; 64-bit quantities are handled as two 32-bit words by
 * the callers.
 */

const SLAB_SIZE = 16 * 1024;
const SLAB_MAX_REQUEST = 2 * 1024;
let slab = new Uint8Array(0);
let slabUsed = 0;

/**
 * Returns a zero-filled buffer of `n` bytes. Small requests are carved out
 * of a shared 16 KiB slab, because allocating many small ArrayBuffers (one
 * malloc each) costs more than encoding the samples they hold. A carved
 * buffer keeps its whole slab alive, as Node's `Buffer` pool does; every
 * region is handed out once, so it is still all zeros.
 */
export function allocZeroed(n: number): Uint8Array {
  if (n > SLAB_MAX_REQUEST) return new Uint8Array(n);
  if (slabUsed + n > slab.length) {
    slab = new Uint8Array(SLAB_SIZE);
    slabUsed = 0;
  }
  const b = slab.subarray(slabUsed, slabUsed + n);
  slabUsed += (n + 7) & ~7;
  return b;
}

/**
 * A growable, most-significant-bit-first bit writer over a `Uint8Array`.
 *
 * Invariant: every bit at or after `bitLen` in `buf` is zero, so writes can
 * OR into the partially filled last byte.
 */
export class BitWriter {
  /** The backing buffer; only the first `byteLength()` bytes are meaningful. */
  buf: Uint8Array;
  /** Number of bits written so far (including any header bytes). */
  bitLen: number;

  /**
   * Wraps `buf`, whose first `bitLen` bits are already written. The caller
   * guarantees that the bits of `buf` from `bitLen` on are zero.
   */
  constructor(buf: Uint8Array, bitLen: number) {
    this.buf = buf;
    this.bitLen = bitLen;
  }

  /** Number of bytes holding written bits (the last one may be partial). */
  byteLength(): number {
    return (this.bitLen + 7) >>> 3;
  }

  /** The written bytes, as a view into `buf` (valid until the next write). */
  bytes(): Uint8Array {
    return this.buf.subarray(0, (this.bitLen + 7) >>> 3);
  }

  /** Replaces `buf` by a zeroed buffer with room for `nbits` more bits. */
  private grow(nbits: number): void {
    const need = (this.bitLen + nbits + 7) >>> 3;
    let cap = this.buf.length * 2;
    if (cap < 16) cap = 16;
    while (cap < need) cap *= 2;
    const next = allocZeroed(cap);
    next.set(this.buf.subarray(0, (this.bitLen + 7) >>> 3));
    this.buf = next;
  }

  /**
   * Appends the `n` right-most bits of `v` (1 <= n <= 32), most significant
   * first. Bits of `v` above the low `n` are ignored.
   */
  writeBits(v: number, n: number): void {
    if ((this.bitLen + n + 7) >>> 3 > this.buf.length) this.grow(n);
    if (n < 32) v &= (1 << n) - 1;
    const buf = this.buf;
    let i = this.bitLen >>> 3;
    const free = 8 - (this.bitLen & 7);
    this.bitLen += n;
    if (n <= free) {
      buf[i] |= v << (free - n);
      return;
    }
    let rem = n - free;
    buf[i++] |= v >>> rem;
    while (rem >= 8) {
      rem -= 8;
      buf[i++] = v >>> rem; // the store keeps the low 8 bits
    }
    if (rem > 0) buf[i] = v << (8 - rem);
  }

  /** Appends one bit (0 or 1). */
  writeBit(bit: number): void {
    this.writeBits(bit, 1);
  }

  /**
   * Appends `v` (an integer in [0, 2^53]) as an unsigned LEB128 varint, the
   * format of Go's `binary.PutUvarint`, one byte (8 bits) at a time.
   */
  writeUvarint(v: number): void {
    while (v >= 0x80) {
      this.writeBits((v % 0x80) | 0x80, 8);
      v = Math.floor(v / 0x80);
    }
    this.writeBits(v, 8);
  }

  /**
   * Appends a safe integer `v` as a zig-zag signed varint, the format of Go's
   * `binary.PutVarint`. The zig-zag value 2|v| (or 2|v|-1) can exceed 2^53,
   * so the sign bit is emitted separately from the magnitude.
   */
  writeVarint(v: number): void {
    const neg = v < 0 ? 1 : 0;
    // Zig-zag: u = 2*mag + neg, where mag = v for v >= 0, -v-1 otherwise.
    let mag = neg === 1 ? -v - 1 : v;
    const low6 = mag % 0x40;
    mag = Math.floor(mag / 0x40);
    const first = (low6 << 1) | neg;
    if (mag === 0) {
      this.writeBits(first, 8);
      return;
    }
    this.writeBits(first | 0x80, 8);
    this.writeUvarint(mag);
  }
}

/**
 * Reads the 32 bits that start at bit offset `pos` of `b` as a signed 32-bit
 * integer (bit `pos` becomes the sign bit). `dv` is a DataView over the same
 * memory as `b`. The caller guarantees at least 5 readable bytes from byte
 * `pos >>> 3` on (by padding the buffer); there are no other bounds checks.
 * Read `n <= 32` bits as `peek32(...) >>> (32 - n)`.
 */
export function peek32(dv: DataView, b: Uint8Array, pos: number): number {
  const i = pos >>> 3;
  const o = pos & 7;
  const w = dv.getInt32(i);
  return o === 0 ? w : (w << o) | (b[i + 4]! >>> (8 - o));
}

/** Number of trailing zero bits of a 32-bit word (32 for 0). */
export function ctz32(x: number): number {
  return x === 0 ? 32 : 31 - Math.clz32(x & -x);
}
