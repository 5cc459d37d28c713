/**
 * The XOR chunk encoding ("Gorilla" compression, Pelkonen et al., VLDB 2015,
 * as adapted by Prometheus' `tsdb/chunkenc/xor.go` and Damian Gryski's
 * go-tsz). Our own implementation, byte-compatible with Prometheus: a chunk
 * appended here has exactly the bytes Prometheus' head would produce for the
 * same samples, and every chunk Prometheus writes decodes here bit-exactly.
 * The layout is described in `FORMAT.md` beside this file.
 *
 * 64-bit quantities (float bit patterns, the widest delta-of-delta) are kept
 * as two 32-bit words; no BigInt is used.
 */
import { allocZeroed, BitWriter, ctz32, peek32 } from './bstream.ts';
import type { Chunk, ChunkAppender, ChunkIterator } from './chunk.ts';
import { Encoding } from './chunk.ts';
import { ChunkFullError, CorruptChunkError, InvalidSampleError } from './errors.ts';

/** Size of the chunk header: the big-endian uint16 sample count. */
export const XOR_HEADER_SIZE = 2;

/** The most samples one XOR chunk can hold (the header is a uint16). */
export const MAX_SAMPLES_PER_CHUNK = 0xffff;

/**
 * The largest |delta-of-delta| (ms) we encode. Prometheus writes any int64
 * into the 64-bit bucket; we limit it (and the first timestamp delta) to
 * what a `number` holds exactly. `append` throws {@link ChunkFullError}
 * beyond it, and the iterator reports a {@link CorruptChunkError}.
 */
export const MAX_EXACT_DOD = Number.MAX_SAFE_INTEGER;

/**
 * Inclusive delta-of-delta ranges of the timestamp buckets, after
 * Prometheus' `bitRange(dod, n)`: an n-bit two's-complement field holds
 * [-(2^(n-1) - 1), 2^(n-1)]. The upper bound 2^(n-1) is written as the bit
 * pattern of -2^(n-1) and read back as positive, hence the asymmetry.
 */
export const DOD_BUCKETS = [
  { prefix: '10', bits: 14, min: -8191, max: 8192 },
  { prefix: '110', bits: 17, min: -65535, max: 65536 },
  { prefix: '1110', bits: 20, min: -524287, max: 524288 },
  { prefix: '1111', bits: 64, min: -MAX_EXACT_DOD, max: MAX_EXACT_DOD },
] as const;

/** Leading-zero counts of a value XOR are capped at 31 (a 5-bit field). */
export const MAX_LEADING_ZEROS = 31;

/** "No leading/trailing window yet" (Prometheus uses 0xff the same way). */
const UNSET = 0xff;

/** Bytes of zero padding after the data in the iterator's copy. */
const PAD = 32;

// One shared scratch double to convert between a float and its bit pattern.
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const LO = LITTLE_ENDIAN ? 0 : 1;
const HI = LITTLE_ENDIAN ? 1 : 0;

const TWO_POW_32 = 4294967296;

/**
 * A chunk of float samples in the XOR encoding.
 *
 * Ownership: {@link XORChunk.fromBytes} wraps the caller's bytes without
 * copying, and reading (`bytes`, `numSamples`, `iterator`) never copies or
 * changes them. `appender()` first copies the bytes into a buffer the chunk
 * owns (copy on append), so the caller's bytes are never modified; after
 * that, `bytes()` is a view into the chunk's own buffer, valid until the
 * next append.
 *
 * Only one appender may be in use per chunk; calling `appender()` again
 * invalidates the previous one.
 */
/** The sample count in the header of encoded XOR chunk bytes (0 for a too-short buffer). */
export function xorNumSamples(b: Uint8Array): number {
  return b.length < XOR_HEADER_SIZE ? 0 : (b[0]! << 8) | b[1]!;
}

export class XORChunk implements Chunk {
  /** Always {@link Encoding.XOR}. */
  readonly encoding = Encoding.XOR;
  private w: BitWriter;
  private owned: boolean;

  /** An empty chunk (header only, zero samples). */
  constructor() {
    this.w = new BitWriter(new Uint8Array(XOR_HEADER_SIZE), XOR_HEADER_SIZE * 8);
    this.owned = true;
  }

  /**
   * Wraps encoded chunk bytes (header included), without copying them. The
   * bytes are not validated here: a corrupt chunk shows up as
   * `iterator().err()`, or as an error thrown by `appender()`. The caller
   * must not change `b` while the chunk is in use.
   */
  static fromBytes(b: Uint8Array): XORChunk {
    const c = new XORChunk();
    c.w = new BitWriter(b, b.length * 8);
    c.owned = false;
    return c;
  }

  /**
   * The encoded bytes, header included. A view: valid until the next
   * append; copy it if you keep it. It may have a non-zero `byteOffset`
   * into a larger, shared buffer, so never use its `.buffer` alone.
   */
  bytes(): Uint8Array {
    return this.w.bytes();
  }

  /** The sample count from the header (0 for a too-short buffer). */
  numSamples(): number {
    return xorNumSamples(this.w.buf);
  }

  /**
   * An appender that continues after the last sample. For a non-empty
   * chunk the appender's state is rebuilt by decoding every sample, as
   * Prometheus does; the result is bit for bit what one appender would have
   * written for all samples. Throws {@link CorruptChunkError} if the
   * existing bytes do not decode.
   */
  appender(): XORAppender {
    const n = this.numSamples();
    if (n === 0) {
      // Start over on a fresh buffer; any bytes after an empty header are dropped.
      this.w = new BitWriter(allocZeroed(128), XOR_HEADER_SIZE * 8);
      this.owned = true;
      return new XORAppender(this.w);
    }
    const it = this.iterator();
    while (it.next()) {
      // Decode to the end to learn the appender's state.
    }
    const err = it.err();
    if (err !== null) {
      throw new CorruptChunkError(`continue xor chunk of ${n} samples: ${err.message}`, { cause: err });
    }
    const endBits = XOR_HEADER_SIZE * 8 + it.pos;
    const endBytes = (endBits + 7) >>> 3;
    if (!this.owned || this.w.buf.length < endBytes) {
      const buf = allocZeroed(Math.max(128, endBytes * 2));
      buf.set(this.w.buf.subarray(0, endBytes));
      this.w = new BitWriter(buf, endBits);
      this.owned = true;
    } else {
      this.w.bitLen = endBits;
    }
    // Bits after the last sample must be zero for the writer; clear any
    // garbage a foreign producer left in the last byte or after it.
    const buf = this.w.buf;
    if ((endBits & 7) !== 0) buf[endBytes - 1]! &= (0xff << (8 - (endBits & 7))) & 0xff;
    buf.fill(0, endBytes);
    const a = new XORAppender(this.w);
    a.restore(it.t, it.tDelta, it.vhi, it.vlo, it.leading, it.trailing);
    return a;
  }

  /**
   * Empties the chunk for reuse and returns an appender for it, keeping the
   * chunk's buffer (zeroed) instead of allocating a new one: for encoders
   * that copy `bytes()` out after each chunk. Bytes previously returned by
   * `bytes()` are overwritten.
   */
  reset(): XORAppender {
    if (!this.owned || this.w.buf.length < 128) {
      this.w = new BitWriter(allocZeroed(128), XOR_HEADER_SIZE * 8);
      this.owned = true;
    } else {
      this.w.buf.fill(0, 0, this.w.byteLength());
      this.w.bitLen = XOR_HEADER_SIZE * 8;
    }
    return new XORAppender(this.w);
  }

  /**
   * An iterator from the first sample. `reuse`, if it is an iterator of
   * this encoding, is reset and returned instead of allocating. The
   * iterator decodes a private copy of the bytes taken now, so later
   * appends to this chunk do not affect it.
   */
  iterator(reuse?: ChunkIterator): XORIterator {
    const it = reuse instanceof XORIterator ? reuse : new XORIterator();
    it.reset(this.w.bytes());
    return it;
  }
}

/**
 * Appends samples to an {@link XORChunk}. Get one from `chunk.appender()`.
 *
 * `append(t, v)` validates before writing anything, so a throw leaves the
 * chunk unchanged:
 * - {@link InvalidSampleError}: `t` is not a safe integer, or not after the
 *   previous sample's timestamp;
 * - {@link ChunkFullError}: the chunk already has
 *   {@link MAX_SAMPLES_PER_CHUNK} samples, or the timestamp delta or
 *   delta-of-delta exceeds {@link MAX_EXACT_DOD}; cut a new chunk.
 */
export class XORAppender implements ChunkAppender {
  private readonly w: BitWriter;
  private t = 0;
  private tDelta = 0;
  private vhi = 0;
  private vlo = 0;
  private leading = UNSET;
  private trailing = 0;

  /** @internal Use `XORChunk.appender()`. */
  constructor(w: BitWriter) {
    this.w = w;
  }

  /** @internal Sets the state reached after the chunk's existing samples. */
  restore(t: number, tDelta: number, vhi: number, vlo: number, leading: number, trailing: number): void {
    this.t = t;
    this.tDelta = tDelta;
    this.vhi = vhi >>> 0; // as append() gets them from a Uint32Array
    this.vlo = vlo >>> 0;
    this.leading = leading;
    this.trailing = trailing;
  }

  /** Appends one sample; see the class comment for what it throws. */
  append(t: number, v: number): void {
    const w = this.w;
    const num = (w.buf[0]! << 8) | w.buf[1]!;
    if (num >= MAX_SAMPLES_PER_CHUNK) {
      throw new ChunkFullError(`xor chunk already holds ${MAX_SAMPLES_PER_CHUNK} samples, the most its uint16 header counts`);
    }
    if (!Number.isSafeInteger(t)) {
      throw new InvalidSampleError(`sample timestamp ${t} is not a safe integer of milliseconds`);
    }
    f64[0] = v;
    const hi = u32[HI]!;
    const lo = u32[LO]!;

    let tDelta = 0;
    if (num === 0) {
      w.writeVarint(t);
      w.writeBits(hi, 32);
      w.writeBits(lo, 32);
    } else {
      if (t <= this.t) {
        throw new InvalidSampleError(`sample timestamp ${t} is not after the previous one, ${this.t}`);
      }
      tDelta = t - this.t;
      if (tDelta > MAX_EXACT_DOD) {
        throw new ChunkFullError(`timestamp delta ${tDelta} ms exceeds ${MAX_EXACT_DOD}`);
      }
      if (num === 1) {
        w.writeUvarint(tDelta);
        this.writeValue(hi, lo);
      } else {
        const dod = tDelta - this.tDelta;
        if (dod > MAX_EXACT_DOD || dod < -MAX_EXACT_DOD) {
          throw new ChunkFullError(`timestamp delta-of-delta ${dod} ms exceeds ${MAX_EXACT_DOD} in magnitude`);
        }
        if (dod === 0 && hi === this.vhi && lo === this.vlo) {
          w.writeBits(0, 2); // the common case: same interval, same value
        } else {
          writeDod(w, dod);
          this.writeValue(hi, lo);
        }
      }
    }
    this.t = t;
    this.tDelta = tDelta;
    this.vhi = hi;
    this.vlo = lo;
    const buf = w.buf; // may have been replaced by growth
    buf[0] = (num + 1) >>> 8;
    buf[1] = (num + 1) & 0xff;
  }

  /** Writes the XOR of the value's bits with the previous value's. */
  private writeValue(hi: number, lo: number): void {
    const w = this.w;
    const dh = hi ^ this.vhi;
    const dl = lo ^ this.vlo;
    if ((dh | dl) === 0) {
      w.writeBits(0, 1);
      return;
    }
    let lead = dh !== 0 ? Math.clz32(dh) : 32 + Math.clz32(dl);
    const trail = dl !== 0 ? ctz32(dl) : 32 + ctz32(dh);
    if (lead > MAX_LEADING_ZEROS) lead = MAX_LEADING_ZEROS;
    if (this.leading !== UNSET && lead >= this.leading && trail >= this.trailing) {
      // The meaningful bits fit the previous window: '10' + window bits.
      writeSignificant(w, dh, dl, this.leading, this.trailing, 0b10, 2);
      return;
    }
    this.leading = lead;
    this.trailing = trail;
    const sig = 64 - lead - trail;
    // '11', 5 bits of leading zeros, 6 bits of significant-bit count (64 as 0).
    writeSignificant(w, dh, dl, lead, trail, (0b11 << 11) | (lead << 6) | (sig & 0x3f), 13);
  }
}

/** Writes a non-zero delta-of-delta with its bucket prefix. */
function writeDod(w: BitWriter, dod: number): void {
  if (dod === 0) {
    w.writeBits(0, 1);
  } else if (dod >= -8191 && dod <= 8192) {
    w.writeBits((0b10 << 14) | (dod & 0x3fff), 16);
  } else if (dod >= -65535 && dod <= 65536) {
    w.writeBits((0b110 << 17) | (dod & 0x1ffff), 20);
  } else if (dod >= -524287 && dod <= 524288) {
    w.writeBits((0b1110 << 20) | (dod & 0xfffff), 24);
  } else {
    // 64-bit two's complement, as two words. Exact for |dod| <= 2^53 - 1.
    const hi = Math.floor(dod / TWO_POW_32);
    const lo = dod - hi * TWO_POW_32;
    w.writeBits(0b1111, 4);
    w.writeBits(hi >>> 0, 32);
    w.writeBits(lo >>> 0, 32);
  }
}

/**
 * Writes `prefix` (`pbits` bits), then the bits of the 64-bit word (dh:dl)
 * between `lead` and `trail`, in as few writes as fit in 32 bits.
 */
function writeSignificant(w: BitWriter, dh: number, dl: number, lead: number, trail: number, prefix: number, pbits: number): void {
  const n = 64 - lead - trail;
  let sh: number;
  let sl: number;
  if (trail === 0) {
    sh = dh;
    sl = dl;
  } else if (trail < 32) {
    sl = (dl >>> trail) | (dh << (32 - trail));
    sh = dh >>> trail;
  } else {
    sl = dh >>> (trail - 32);
    sh = 0;
  }
  if (n > 32) {
    w.writeBits(prefix, pbits);
    w.writeBits(sh, n - 32);
    w.writeBits(sl, 32);
  } else if (n + pbits <= 32) {
    w.writeBits((prefix << n) | sl, n + pbits);
  } else {
    w.writeBits(prefix, pbits);
    w.writeBits(sl, n);
  }
}

/**
 * Iterates the samples of an XOR chunk. `next()` and `seek()` allocate
 * nothing; `reset()` copies the chunk's data once into a reusable padded
 * buffer so that bit reads need no bounds checks.
 *
 * Corrupt input never throws and never loops: a sample whose bits run past
 * the end of the data, a significant-bit count that does not fit, or a
 * timestamp outside the safe-integer range ends iteration, and `err()`
 * returns a {@link CorruptChunkError}.
 */
export class XORIterator implements ChunkIterator {
  private b: Uint8Array = new Uint8Array(PAD);
  private dv: DataView = new DataView(this.b.buffer);
  private endBits = 0;
  private numTotal = 0;
  private numRead = 0;
  private error: Error | null = null;
  /** @internal Bit offset into the data (after the header). */
  pos = 0;
  /** @internal Current timestamp. */
  t = 0;
  /** @internal Current timestamp delta. */
  tDelta = 0;
  /** @internal High word of the current value's bits. */
  vhi = 0;
  /** @internal Low word of the current value's bits. */
  vlo = 0;
  /** @internal Leading zeros of the XOR window, or 0xff before the first. */
  leading = UNSET;
  /** @internal Trailing zeros of the XOR window. */
  trailing = 0;

  /** Starts over on the given chunk bytes (header included). */
  reset(bytes: Uint8Array): void {
    this.pos = 0;
    this.numRead = 0;
    this.t = 0;
    this.tDelta = 0;
    this.vhi = 0;
    this.vlo = 0;
    this.leading = UNSET;
    this.trailing = 0;
    this.error = null;
    if (bytes.length < XOR_HEADER_SIZE) {
      this.numTotal = 0;
      this.endBits = 0;
      this.error = new CorruptChunkError(`xor chunk of ${bytes.length} bytes is shorter than its ${XOR_HEADER_SIZE}-byte header`);
      return;
    }
    this.numTotal = (bytes[0]! << 8) | bytes[1]!;
    const n = bytes.length - XOR_HEADER_SIZE;
    if (this.b.length < n + PAD) {
      this.b = new Uint8Array(Math.max(n + PAD, this.b.length * 2));
      this.dv = new DataView(this.b.buffer);
    } else {
      this.b.fill(0, n, n + PAD);
    }
    this.b.set(bytes.subarray(XOR_HEADER_SIZE));
    this.endBits = n * 8;
  }

  /** Advances to the next sample; false at the end or on corrupt bytes. */
  next(): boolean {
    if (this.error !== null || this.numRead >= this.numTotal) return false;
    const b = this.b;
    const dv = this.dv;
    let pos = this.pos;
    if (this.numRead >= 2) {
      const w = peek32(dv, b, pos);
      if (w >= 0) {
        // '0': same delta as before.
        this.t += this.tDelta;
        if ((w & 0x40000000) === 0) {
          pos += 2; // and '0': same value
        } else {
          pos = this.readValue(b, pos + 1);
        }
      } else {
        let dod: number;
        const ones = Math.clz32(~w);
        if (ones === 1) {
          const x = (w >>> 16) & 0x3fff;
          dod = x > 0x2000 ? x - 0x4000 : x;
          pos += 16;
        } else if (ones === 2) {
          const x = (w >>> 12) & 0x1ffff;
          dod = x > 0x10000 ? x - 0x20000 : x;
          pos += 20;
        } else if (ones === 3) {
          const x = (w >>> 8) & 0xfffff;
          dod = x > 0x80000 ? x - 0x100000 : x;
          pos += 24;
        } else {
          const hi = peek32(dv, b, pos + 4); // signed: the sign of the int64
          const lo = peek32(dv, b, pos + 36) >>> 0;
          pos += 68;
          dod = hi * TWO_POW_32 + lo;
          if (dod > MAX_EXACT_DOD || dod < -MAX_EXACT_DOD) {
            return this.fail(`delta-of-delta of sample ${this.numRead} exceeds ${MAX_EXACT_DOD} in magnitude`);
          }
        }
        this.tDelta += dod;
        this.t += this.tDelta;
        pos = this.readValue(b, pos);
      }
    } else if (this.numRead === 0) {
      // Signed (zig-zag) varint; keep the sign bit apart from the magnitude.
      let byte = peek32(dv, b, pos) >>> 24;
      pos += 8;
      const neg = byte & 1;
      let half = (byte & 0x7f) >>> 1;
      let mul = 64;
      for (let k = 1; byte >= 0x80; k++) {
        if (k === 10) return this.fail('first timestamp varint is longer than 10 bytes');
        byte = peek32(dv, b, pos) >>> 24;
        pos += 8;
        half += (byte & 0x7f) * mul;
        mul *= 128;
      }
      this.t = neg === 1 ? -half - 1 : half;
      this.vhi = peek32(dv, b, pos);
      this.vlo = peek32(dv, b, pos + 32);
      pos += 64;
    } else {
      let byte = peek32(dv, b, pos) >>> 24;
      pos += 8;
      let d = byte & 0x7f;
      let mul = 128;
      for (let k = 1; byte >= 0x80; k++) {
        if (k === 10) return this.fail('timestamp delta varint is longer than 10 bytes');
        byte = peek32(dv, b, pos) >>> 24;
        pos += 8;
        d += (byte & 0x7f) * mul;
        mul *= 128;
      }
      if (d > MAX_EXACT_DOD) return this.fail(`timestamp delta ${d} exceeds ${MAX_EXACT_DOD}`);
      this.tDelta = d;
      this.t += d;
      pos = this.readValue(b, pos);
    }
    if (this.error !== null) return false;
    if (pos > this.endBits) {
      return this.fail(`sample ${this.numRead} of ${this.numTotal} runs past the end of the data`);
    }
    const t = this.t;
    if (t > Number.MAX_SAFE_INTEGER || t < -Number.MAX_SAFE_INTEGER) {
      return this.fail(`timestamp of sample ${this.numRead} is outside the safe-integer range`);
    }
    this.pos = pos;
    this.numRead++;
    return true;
  }

  /** Decodes one XOR-encoded value at `pos`; returns the position after it. */
  private readValue(b: Uint8Array, pos: number): number {
    const dv = this.dv;
    const w = peek32(dv, b, pos);
    if (w >= 0) return pos + 1; // '0': unchanged
    let lead: number;
    let trail: number;
    if ((w & 0x40000000) === 0) {
      // '10': reuse the window. Before any window was set, Prometheus'
      // appender (continued from bytes) uses 0/0, i.e. all 64 bits.
      if (this.leading === UNSET) {
        this.leading = 0;
        this.trailing = 0;
      }
      lead = this.leading;
      trail = this.trailing;
      pos += 2;
    } else {
      lead = (w >>> 25) & 0x1f;
      let m = (w >>> 19) & 0x3f;
      if (m === 0) m = 64;
      trail = 64 - lead - m;
      if (trail < 0) {
        this.fail(`value of sample ${this.numRead} has ${lead} leading zeros and ${m} significant bits`);
        return pos;
      }
      this.leading = lead;
      this.trailing = trail;
      pos += 13;
    }
    const m = 64 - lead - trail;
    if (m <= 32) {
      const x = peek32(dv, b, pos) >>> (32 - m);
      pos += m;
      if (trail >= 32) {
        this.vhi ^= x << (trail - 32);
      } else if (trail === 0) {
        this.vlo ^= x;
      } else {
        this.vlo ^= x << trail;
        this.vhi ^= x >>> (32 - trail);
      }
    } else {
      const xh = peek32(dv, b, pos) >>> (64 - m);
      pos += m - 32;
      const xl = peek32(dv, b, pos);
      pos += 32;
      if (trail === 0) {
        this.vhi ^= xh;
        this.vlo ^= xl;
      } else {
        this.vlo ^= xl << trail;
        this.vhi ^= (xh << trail) | (xl >>> (32 - trail));
      }
    }
    return pos;
  }

  private fail(msg: string): false {
    this.error = new CorruptChunkError(`xor chunk: ${msg}`);
    return false;
  }

  /**
   * Advances to the first sample with timestamp >= t, staying put if the
   * current sample already qualifies (Prometheus' semantics); false if
   * there is none or on error.
   */
  seek(t: number): boolean {
    if (this.error !== null) return false;
    while (this.numRead === 0 || t > this.t) {
      if (!this.next()) return false;
    }
    return true;
  }

  /** Timestamp (ms) of the current sample. */
  atT(): number {
    return this.t;
  }

  /** Value of the current sample, NaN payloads and the sign of zero kept. */
  atV(): number {
    u32[LO] = this.vlo;
    u32[HI] = this.vhi;
    return f64[0]!;
  }

  /** The {@link CorruptChunkError} that ended iteration early, or null. */
  err(): Error | null {
    return this.error;
  }
}

