/**
 * The sample encoding inside block pages: one series' timestamps and values
 * as byte-aligned columns, made to be compressed well by the page's
 * general-purpose compressor (brotli) rather than to be small on their own.
 *
 * Layout of one series (all integers little-endian, varints as in
 * lib/util/bytes.ts: `uvarint` unsigned LEB128, `varint` sign in bit 0):
 *
 *   n <uvarint>                       number of samples, >= 1
 *   tmode <u8>                        0: t0 <f64 LE> then n-1 deltas-of-deltas <varint>
 *                                     1: n timestamps <f64 LE> (deltas too large for varints)
 *   per value column (1 for raw samples, 5 for downsampled aggregates), per
 *   run of up to RunLength samples:
 *     vmode <u8>                      0:   const: one value <f64 LE bits> for the whole run
 *                                     1+e: decimal: value = m / 10^e; first m <varint>,
 *                                          then m[i]-m[i-1] <varint>  (e = 0..15)
 *                                     255: raw: each value <f64 LE bits>
 *
 * Decimal runs are chosen only when dividing the integer mantissa by 10^e
 * gives back every value bit for bit (so -0.0, NaN payloads and stale
 * markers always go raw or const), which keeps the encoding exact. Counters
 * that node_exporter reports in hundredths or as integers become small
 * integer deltas, which is what makes blocks several times smaller than
 * XOR chunks after compression (docs/storage-format.md has the figures).
 */
import type { ByteWriter } from '../util/bytes.ts';
import { CorruptionError } from '../util/errors.ts';

/** Samples per value run: a noisy stretch costs at most one run of raw values. */
export const RunLength = 120;

const TMode = { DOD: 0, RAW: 1 } as const;
const VModeConst = 0;
const VModeRaw = 255;
const MaxExp = 15;
/** Decimal mantissas stay below this, so deltas and their varints are exact doubles. */
const MaxMantissa = 2 ** 50;
/** Deltas-of-deltas beyond this switch timestamps to raw f64. */
const MaxDod = 2 ** 50;

const Pow10 = Array.from({ length: MaxExp + 1 }, (_, i) => 10 ** i);

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('lib/block needs a little-endian platform');
}

/** Smallest e with round(v*10^e)/10^e === v bit for bit, or -1. */
function decimalExp(v: number): number {
  if (v !== v || v === Infinity || v === -Infinity || (v === 0 && 1 / v < 0)) return -1;
  for (let e = 0; e <= MaxExp; e++) {
    const p = Pow10[e]!;
    const m = Math.round(v * p);
    if (m > MaxMantissa || m < -MaxMantissa) return -1;
    if (m / p === v) return e;
  }
  return -1;
}

/** Appends bytes [off, off+len) of a Float64Array's memory: bit-exact, NaN payloads included. */
function putF64Bytes(w: ByteWriter, bytes: Uint8Array, index: number, count: number): void {
  w.bytes(bytes.subarray(index * 8, (index + count) * 8));
}

/**
 * Appends the columns of `n` samples (`t` strictly increasing integers ms,
 * one or more value columns of the same length) to `w`.
 */
export function encodeColumns(w: ByteWriter, t: Float64Array, vs: readonly Float64Array[], n: number): void {
  if (n < 1) throw new RangeError('encodeColumns: no samples');
  w.uvarint(n);
  const tBytes = new Uint8Array(t.buffer, t.byteOffset, n * 8);
  let dodOk = true;
  for (let i = 2; i < n && dodOk; i++) {
    const dod = t[i]! - t[i - 1]! - (t[i - 1]! - t[i - 2]!);
    if (dod > MaxDod || dod < -MaxDod) dodOk = false;
  }
  if (n > 1 && Math.abs(t[1]! - t[0]!) > MaxDod) dodOk = false;
  if (dodOk) {
    w.u8(TMode.DOD);
    putF64Bytes(w, tBytes, 0, 1);
    let prevDelta = 0;
    for (let i = 1; i < n; i++) {
      const d = t[i]! - t[i - 1]!;
      w.varint(d - prevDelta);
      prevDelta = d;
    }
  } else {
    w.u8(TMode.RAW);
    putF64Bytes(w, tBytes, 0, n);
  }

  for (const v of vs) encodeValues(w, v, n);
}

function encodeValues(w: ByteWriter, v: Float64Array, n: number): void {
  const vBytes = new Uint8Array(v.buffer, v.byteOffset, n * 8);
  const vBits = new Uint32Array(v.buffer, v.byteOffset, n * 2);
  for (let start = 0; start < n; start += RunLength) {
    const end = Math.min(n, start + RunLength);
    let same = true;
    for (let i = start + 1; i < end && same; i++) {
      same = vBits[2 * i] === vBits[2 * start] && vBits[2 * i + 1] === vBits[2 * start + 1];
    }
    if (same) {
      w.u8(VModeConst);
      putF64Bytes(w, vBytes, start, 1);
      continue;
    }
    let e = 0;
    for (let i = start; i < end && e >= 0; i++) {
      const ei = decimalExp(v[i]!);
      e = ei < 0 ? -1 : Math.max(e, ei);
    }
    if (e >= 0) {
      const p = Pow10[e]!;
      for (let i = start; i < end && e >= 0; i++) {
        const m = Math.round(v[i]! * p);
        if (m / p !== v[i]! || m > MaxMantissa || m < -MaxMantissa) e = -1;
      }
    }
    if (e < 0) {
      w.u8(VModeRaw);
      putF64Bytes(w, vBytes, start, end - start);
      continue;
    }
    const p = Pow10[e]!;
    w.u8(1 + e);
    let prev = 0;
    for (let i = start; i < end; i++) {
      const m = Math.round(v[i]! * p);
      w.varint(m - prev);
      prev = m;
    }
  }
}

/** Growable sample columns that {@link decodeColumns} fills. */
export class ColumnBuffer {
  t: Float64Array;
  /** Value columns: one for raw samples, five for aggregates. */
  vs: Float64Array[];
  n = 0;

  constructor(columns = 1, initial = 256) {
    this.t = new Float64Array(initial);
    this.vs = Array.from({ length: columns }, () => new Float64Array(initial));
  }

  /** The first value column. */
  get v(): Float64Array {
    return this.vs[0]!;
  }

  /** Makes room for `extra` more samples. */
  reserve(extra: number): void {
    if (this.n + extra <= this.t.length) return;
    let size = this.t.length * 2;
    while (size < this.n + extra) size *= 2;
    const t = new Float64Array(size);
    t.set(this.t.subarray(0, this.n));
    this.t = t;
    this.vs = this.vs.map((old) => {
      const v = new Float64Array(size);
      v.set(old.subarray(0, this.n));
      return v;
    });
  }
}

/**
 * The sample count a series' columns at `buf[pos..end)` declare (their
 * leading uvarint), to size a buffer before decoding; 0 when unreadable
 * (decodeColumns then reports the corruption).
 */
export function peekSampleCount(buf: Uint8Array, pos: number, end: number): number {
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 8 && pos < end; i++) {
    const b = buf[pos++]!;
    v += (b & 0x7f) * mul;
    if (b < 0x80) return v <= (end - pos) * 8 + 8 ? v : 0;
    mul *= 0x80;
  }
  return 0;
}

/**
 * Decodes one series' columns from `buf[pos..end)`, appending its samples
 * to `out`. Returns the number of samples.
 *
 * @throws CorruptionError when the bytes do not form valid columns.
 */
export function decodeColumns(buf: Uint8Array, pos: number, end: number, out: ColumnBuffer, what: string): number {
  const r = new Reader(buf, pos, end, what);
  const n = r.uvarint();
  if (n < 1 || n > (end - pos) * 8) corrupt(what, 'bad sample count', n);
  out.reserve(n);
  const base = out.n;
  const t = out.t;
  const tBytes = new Uint8Array(t.buffer, t.byteOffset, t.byteLength);
  const tmode = r.u8();
  if (tmode === TMode.DOD) {
    r.copy(tBytes, base * 8, 8);
    r.pos = decodeDods(buf, r.pos, end, t, base, n, what);
  } else if (tmode === TMode.RAW) {
    r.copy(tBytes, base * 8, n * 8);
  } else {
    corrupt(what, 'unknown timestamp mode', tmode);
  }
  for (let i = base + 1; i < base + n; i++) {
    if (!(t[i]! > t[i - 1]!)) corrupt(what, 'timestamps not increasing at sample', i - base);
  }

  for (const v of out.vs) decodeValues(r, v, base, n, what);
  out.n = base + n;
  if (r.pos !== end) throw new CorruptionError(`${what}: ${end - r.pos} trailing bytes after the samples`);
  return n;
}

/*
 * The loops below read ByteWriter.varint (bit 0 of the first byte is the
 * sign, then the magnitude: 6 bits, then a uvarint of the rest) inline with
 * a local position, which is several times faster than Reader method calls
 * (measured); they check bounds and report errors exactly as Reader does.
 */

/** Timestamps 1..n-1 from deltas-of-deltas after t[base]; returns the new position. */
function decodeDods(buf: Uint8Array, pos: number, end: number, t: Float64Array, base: number, n: number, what: string): number {
  let prev = t[base]!;
  let delta = 0;
  for (let i = 1; i < n; i++) {
    if (pos >= end) truncated(what, pos);
    const first = buf[pos++]!;
    let mag = (first & 0x7f) >>> 1;
    if (first >= 0x80) {
      let x = 0;
      let mul = 1;
      for (let k = 0; ; k++) {
        if (k === 8) corrupt(what, 'varint too long at byte', pos);
        if (pos >= end) truncated(what, pos);
        const b = buf[pos++]!;
        x += (b & 0x7f) * mul;
        if (b < 0x80) break;
        mul *= 0x80;
      }
      mag += x * 0x40;
    }
    delta += (first & 1) === 1 ? -mag - 1 : mag;
    prev += delta;
    t[base + i] = prev;
  }
  return pos;
}

/** A decimal run: `len` mantissa deltas, each value m / p; returns the new position. */
function decodeDecimalRun(buf: Uint8Array, pos: number, end: number, v: Float64Array, at: number, len: number, p: number, what: string): number {
  let m = 0;
  for (let k = 0; k < len; k++) {
    if (pos >= end) truncated(what, pos);
    const first = buf[pos++]!;
    let mag = (first & 0x7f) >>> 1;
    if (first >= 0x80) {
      let x = 0;
      let mul = 1;
      for (let j = 0; ; j++) {
        if (j === 8) corrupt(what, 'varint too long at byte', pos);
        if (pos >= end) truncated(what, pos);
        const b = buf[pos++]!;
        x += (b & 0x7f) * mul;
        if (b < 0x80) break;
        mul *= 0x80;
      }
      mag += x * 0x40;
    }
    m += (first & 1) === 1 ? -mag - 1 : mag;
    v[at + k] = m / p;
  }
  return pos;
}

function decodeValues(r: Reader, v: Float64Array, base: number, n: number, what: string): void {
  const vBytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  // Const runs copy the value's two 32-bit words: bit-exact for every NaN payload.
  const words = new Uint32Array(v.buffer, v.byteOffset, v.length * 2);
  for (let start = 0; start < n; start += RunLength) {
    const len = Math.min(n - start, RunLength);
    const mode = r.u8();
    const at = base + start;
    if (mode === VModeConst) {
      r.copy(vBytes, at * 8, 8);
      const lo = words[2 * at]!;
      const hi = words[2 * at + 1]!;
      for (let k = 1; k < len; k++) {
        words[2 * (at + k)] = lo;
        words[2 * (at + k) + 1] = hi;
      }
    } else if (mode === VModeRaw) {
      r.copy(vBytes, at * 8, len * 8);
    } else if (mode <= 1 + MaxExp) {
      r.pos = decodeDecimalRun(r.buf, r.pos, r.end, v, at, len, Pow10[mode - 1]!, what);
    } else {
      corrupt(what, 'unknown value mode', mode);
    }
  }
}

/** Throws Reader's error for a read of one byte past `end` at `pos`. */
function truncated(what: string, pos: number): never {
  throw new CorruptionError(`${what}: truncated at byte ${pos} (need 1)`);
}

/**
 * Throws `${what}: ${msg} ${x}`. Out of line on purpose: a template literal
 * inside a hot loop, even on a path never taken, slows V8's optimized loop
 * several times (measured on the XOR column encoder).
 */
function corrupt(what: string, msg: string, x: number): never {
  throw new CorruptionError(`${what}: ${msg} ${x}`);
}

/** A minimal bounds-checked reader for the hot decode loop. */
class Reader {
  constructor(
    readonly buf: Uint8Array,
    public pos: number,
    readonly end: number,
    private readonly what: string,
  ) {}

  private short(n: number): never {
    throw new CorruptionError(`${this.what}: truncated at byte ${this.pos} (need ${n})`);
  }

  u8(): number {
    if (this.pos >= this.end) this.short(1);
    return this.buf[this.pos++]!;
  }

  uvarint(): number {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      if (this.pos >= this.end) this.short(1);
      const b = this.buf[this.pos++]!;
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 0x80;
    }
    corrupt(this.what, 'varint too long at byte', this.pos);
  }

  /** Reads ByteWriter.varint: bit 0 of the first byte is the sign, then the magnitude. */
  varint(): number {
    if (this.pos >= this.end) this.short(1);
    const first = this.buf[this.pos++]!;
    let mag = (first & 0x7f) >>> 1;
    if (first >= 0x80) mag += this.uvarint() * 0x40;
    return (first & 1) === 1 ? -mag - 1 : mag;
  }

  copy(dst: Uint8Array, at: number, n: number): void {
    if (this.pos + n > this.end) this.short(n);
    dst.set(this.buf.subarray(this.pos, this.pos + n), at);
    this.pos += n;
  }
}
