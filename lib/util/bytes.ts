/**
 * Small binary writer and reader for our own object formats (segments,
 * blocks). Multi-byte integers are big-endian, like Prometheus' on-disk
 * formats; times are stored as float64 so that every safe-integer
 * millisecond (|t| <= 2^53-1) round-trips exactly, negatives included.
 */
import { CorruptionError } from './errors.ts';

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const HiWord = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;

/** A growable byte buffer. `finish()` returns a view of what was written. */
export class ByteWriter {
  private buf: Uint8Array;
  private view: DataView;
  /** Number of bytes written so far. */
  len = 0;

  constructor(initialSize = 1024) {
    this.buf = new Uint8Array(Math.max(16, initialSize));
    this.view = new DataView(this.buf.buffer);
  }

  private grow(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): void {
    this.grow(1);
    this.buf[this.len++] = v;
  }

  u32(v: number): void {
    this.grow(4);
    this.view.setUint32(this.len, v >>> 0);
    this.len += 4;
  }

  f64(v: number): void {
    this.grow(8);
    this.view.setFloat64(this.len, v);
    this.len += 8;
  }

  /** Unsigned varint of a non-negative safe integer. */
  uvarint(v: number): void {
    this.grow(10);
    while (v >= 0x80) {
      this.buf[this.len++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.len++] = v;
  }

  /**
   * Signed zig-zag varint, as Go's binary.PutVarint writes it, exact for
   * every safe integer: the first byte holds the sign and the low 6 bits of
   * the magnitude, then the rest of the magnitude follows as a uvarint.
   */
  varint(v: number): void {
    const neg = v < 0 ? 1 : 0;
    let mag = neg === 1 ? -v - 1 : v;
    const first = ((mag % 0x40) << 1) | neg;
    mag = Math.floor(mag / 0x40);
    if (mag === 0) {
      this.u8(first);
      return;
    }
    this.u8(first | 0x80);
    this.uvarint(mag);
  }

  /** A float64 big-endian, bit for bit (NaN payloads kept). */
  f64bits(v: number): void {
    this.grow(8);
    f64[0] = v;
    const b = this.buf;
    let p = this.len;
    // u32[1] is the high word on little-endian machines, u32[0] on big-endian.
    const hi = u32[HiWord]!;
    const lo = u32[1 - HiWord]!;
    b[p++] = hi >>> 24;
    b[p++] = (hi >>> 16) & 0xff;
    b[p++] = (hi >>> 8) & 0xff;
    b[p++] = hi & 0xff;
    b[p++] = lo >>> 24;
    b[p++] = (lo >>> 16) & 0xff;
    b[p++] = (lo >>> 8) & 0xff;
    b[p++] = lo & 0xff;
    this.len = p;
  }

  bytes(b: Uint8Array): void {
    const n = b.length;
    this.grow(n);
    if (n <= 32) {
      // A loop beats TypedArray#set's call overhead for short copies (ids).
      const out = this.buf;
      let p = this.len;
      for (let i = 0; i < n; i++) out[p++] = b[i]!;
    } else {
      this.buf.set(b, this.len);
    }
    this.len += n;
  }

  /** The current backing buffer (its first `len` bytes are written); valid until the next write. */
  raw(): Uint8Array {
    return this.buf;
  }

  /** A view of the bytes written; valid until the next write. */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}

/** Reads what `ByteWriter` wrote; every overrun is a `CorruptionError`. */
export class ByteReader {
  private readonly view: DataView;
  pos: number;

  constructor(
    readonly buf: Uint8Array,
    start = 0,
    readonly end = buf.length,
    private readonly what = 'object',
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = start;
  }

  private need(n: number): void {
    if (this.pos + n > this.end) {
      throw new CorruptionError(`${this.what}: truncated at byte ${this.pos} (need ${n} more, have ${this.end - this.pos})`);
    }
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }

  f64(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos);
    this.pos += 8;
    return v;
  }

  uvarint(): number {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      this.need(1);
      const b = this.buf[this.pos++]!;
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 0x80;
    }
    throw new CorruptionError(`${this.what}: varint too long at byte ${this.pos}`);
  }

  /** A view of the next `n` bytes. */
  bytes(n: number): Uint8Array {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
}

/** A typed array of `n` elements (n >= a.length) holding `a`'s elements first: for growing column arrays. */
export function withLength<A extends Uint8Array | Uint32Array | Float64Array>(a: A, n: number): A {
  const b = new (a.constructor as new (n: number) => A)(n);
  b.set(a);
  return b;
}
