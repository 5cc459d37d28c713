/**
 * Decoding an XOR chunk straight from the bytes that hold it (a cached
 * segment's buffer at an offset) into columns, without an iterator: what
 * lib/chunkenc/xor.ts's XORIterator yields, sample for sample (NaN payloads
 * and the sign of zero kept), for chunks of a few samples where the
 * iterator's set-up (views, a padded copy of the bytes) costs more than the
 * decoding. Bits past the chunk's end read as zero, as in the iterator's
 * padded buffer.
 *
 * It does not explain corrupt input: on anything the iterator would reject
 * it stops and returns false, having appended nothing, and the caller
 * decodes the chunk with XORIterator, which reports the error.
 */

/** Columns to append to (see lib/tsdb/series-merge.ts). */
export interface SampleSink {
  push(t: number, v: number): void;
}

const TWO_POW_32 = 4294967296;
const UNSET = 0xff;
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const LO = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 0 : 1;
const HI = 1 - LO;

// Decoder state (one chunk at a time; module-level so helpers need no object).
let b: Uint8Array = new Uint8Array(0);
let base = 0;
let end = 0;
let vhi = 0;
let vlo = 0;
let leading = UNSET;
let trailing = 0;
let bad = false;

function byteAt(i: number): number {
  return i < end ? b[i]! : 0;
}

/** 32 bits from bit `pos` (relative to the data after the header), as a signed int. */
function peek32(pos: number): number {
  const i = base + (pos >>> 3);
  const o = pos & 7;
  let w: number;
  if (i + 4 < end) {
    w = (b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!;
    return o === 0 ? w : (w << o) | (b[i + 4]! >>> (8 - o));
  }
  w = (byteAt(i) << 24) | (byteAt(i + 1) << 16) | (byteAt(i + 2) << 8) | byteAt(i + 3);
  return o === 0 ? w : (w << o) | (byteAt(i + 4) >>> (8 - o));
}

/** Reads one XOR-encoded value at `pos` into vhi/vlo; returns the position after it. */
function readValue(pos: number): number {
  const w = peek32(pos);
  if (w >= 0) return pos + 1;
  let lead: number;
  let trail: number;
  if ((w & 0x40000000) === 0) {
    if (leading === UNSET) {
      leading = 0;
      trailing = 0;
    }
    lead = leading;
    trail = trailing;
    pos += 2;
  } else {
    lead = (w >>> 25) & 0x1f;
    let m = (w >>> 19) & 0x3f;
    if (m === 0) m = 64;
    trail = 64 - lead - m;
    if (trail < 0) {
      bad = true;
      return pos;
    }
    leading = lead;
    trailing = trail;
    pos += 13;
  }
  const m = 64 - lead - trail;
  if (m <= 32) {
    const x = peek32(pos) >>> (32 - m);
    pos += m;
    if (trail >= 32) vhi ^= x << (trail - 32);
    else if (trail === 0) vlo ^= x;
    else {
      vlo ^= x << trail;
      vhi ^= x >>> (32 - trail);
    }
  } else {
    const xh = peek32(pos) >>> (64 - m);
    pos += m - 32;
    const xl = peek32(pos);
    pos += 32;
    if (trail === 0) {
      vhi ^= xh;
      vlo ^= xl;
    } else {
      vlo ^= xl << trail;
      vhi ^= (xh << trail) | (xl >>> (32 - trail));
    }
  }
  return pos;
}

/**
 * Appends the samples of the XOR chunk `bytes[off, off+len)` (header
 * included) to `out`; true when the whole chunk decoded. On false some
 * samples may have been appended: the caller drops them and decodes the
 * chunk with XORIterator, which reports the error.
 */
export function decodeXorInto(bytes: Uint8Array, off: number, len: number, out: SampleSink): boolean {
  if (len < 2) return false;
  b = bytes;
  base = off + 2;
  end = off + len;
  const endBits = (len - 2) * 8;
  const total = (bytes[off]! << 8) | bytes[off + 1]!;
  vhi = 0;
  vlo = 0;
  leading = UNSET;
  trailing = 0;
  bad = false;
  let pos = 0;
  let t = 0;
  let tDelta = 0;
  for (let n = 0; n < total; n++) {
    if (n >= 2) {
      const w = peek32(pos);
      if (w >= 0) {
        t += tDelta;
        pos = (w & 0x40000000) === 0 ? pos + 2 : readValue(pos + 1);
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
          const hi = peek32(pos + 4);
          const lo = peek32(pos + 36) >>> 0;
          pos += 68;
          dod = hi * TWO_POW_32 + lo;
          if (dod > Number.MAX_SAFE_INTEGER || dod < -Number.MAX_SAFE_INTEGER) return false;
        }
        tDelta += dod;
        t += tDelta;
        pos = readValue(pos);
      }
    } else if (n === 0) {
      // Zig-zag varint: sign bit apart from the magnitude.
      let byte = peek32(pos) >>> 24;
      pos += 8;
      const neg = byte & 1;
      let half = (byte & 0x7f) >>> 1;
      let mul = 64;
      for (let k = 1; byte >= 0x80; k++) {
        if (k === 10) return false;
        byte = peek32(pos) >>> 24;
        pos += 8;
        half += (byte & 0x7f) * mul;
        mul *= 128;
      }
      t = neg === 1 ? -half - 1 : half;
      vhi = peek32(pos);
      vlo = peek32(pos + 32);
      pos += 64;
    } else {
      let byte = peek32(pos) >>> 24;
      pos += 8;
      let d = byte & 0x7f;
      let mul = 128;
      for (let k = 1; byte >= 0x80; k++) {
        if (k === 10) return false;
        byte = peek32(pos) >>> 24;
        pos += 8;
        d += (byte & 0x7f) * mul;
        mul *= 128;
      }
      if (d > Number.MAX_SAFE_INTEGER) return false;
      tDelta = d;
      t += d;
      pos = readValue(pos);
    }
    if (bad || pos > endBits) return false;
    if (t > Number.MAX_SAFE_INTEGER || t < -Number.MAX_SAFE_INTEGER) return false;
    u32[LO] = vlo;
    u32[HI] = vhi;
    out.push(t, f64[0]!);
  }
  return true;
}
