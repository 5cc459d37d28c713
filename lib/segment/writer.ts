/**
 * Builds one immutable segment object: the samples of one accepted write
 * request, as per-series XOR chunks plus a series table and a footer.
 * Layout in FORMAT.md.
 *
 * This is on the ingestion hot path (one call per series of every
 * request), so the builder writes into its own byte arrays with inline
 * encoders rather than through a general writer, and borrows those arrays
 * from a module-level scratch pair between requests (building is
 * synchronous; `finish` copies the result out).
 */
import { XORChunk } from '../chunkenc/xor.ts';
import { Encoding } from '../chunkenc/chunk.ts';
import { ByteWriter } from '../util/bytes.ts';
import { crc32c, crc32cRange } from '../util/crc32c.ts';
import {
  FooterSize,
  HeaderSize,
  MaxChunkSpanMs,
  SamplesPerChunk,
  SegmentMagic,
  SegmentVersion,
  SeriesIdSize,
  type SegmentMeta,
} from './format.ts';

/** Scratch buffers one builder at a time may borrow (see the file comment). */
let spareData: Uint8Array | undefined = new Uint8Array(128 * 1024);
let spareTable: Uint8Array | undefined = new Uint8Array(128 * 1024);

/** Bit access to a float64 (the same technique as ByteWriter.f64bits). */
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const HiWord = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;

/**
 * Collects series (added in ascending series-id order) and lays out the
 * segment. Not reusable: call `finish()` once.
 */
export class SegmentBuilder {
  private data: Uint8Array;
  private dv: DataView;
  private dlen = 0;
  private table: Uint8Array;
  private tv: DataView;
  private tlen = 0;
  private numSeries = 0;
  private numSamples = 0;
  private minTime = Infinity;
  private maxTime = -Infinity;
  private finished = false;
  // Per-series chunk descriptors, reused between series.
  private cMin = new Float64Array(8);
  private cMax = new Float64Array(8);
  private cLen = new Uint32Array(8);
  /** One chunk encoder, reset for every chunk (its bytes are copied out). */
  private chunk: XORChunk | undefined;

  constructor() {
    this.data = spareData ?? new Uint8Array(128 * 1024);
    this.table = spareTable ?? new Uint8Array(128 * 1024);
    spareData = undefined;
    spareTable = undefined;
    this.dv = new DataView(this.data.buffer, this.data.byteOffset, this.data.byteLength);
    this.tv = new DataView(this.table.buffer, this.table.byteOffset, this.table.byteLength);
    this.dv.setUint32(0, SegmentMagic);
    this.data[4] = SegmentVersion;
    this.data[5] = 0;
    this.data[6] = 0;
    this.data[7] = 0;
    this.dlen = HeaderSize;
  }

  /**
   * Adds one series with samples `t[from..to)`, `v[from..to)`, which must be
   * in strictly increasing time order (sorted and deduplicated by the
   * caller). `id` is the 16-byte series id; ids must ascend between calls
   * (the appender sorts them; not checked here, `SegmentTable.parse` does).
   * `labels` are the canonical label bytes, or empty when an earlier
   * segment of the same writer already carries them (see FORMAT.md).
   */
  addSeries(id: Uint8Array, labels: Uint8Array, t: Float64Array, v: Float64Array, from: number, to: number): void {
    if (id.length !== SeriesIdSize) throw new Error(`series id must be ${SeriesIdSize} bytes`);
    const word = (i: number) => (id[i]! << 24) | (id[i + 1]! << 16) | (id[i + 2]! << 8) | id[i + 3]!;
    this.addSeriesWords(word(0), word(4), word(8), word(12), labels, t, v, from, to);
  }

  /**
   * {@link addSeries} with the 16-byte id given as four big-endian 32-bit
   * words (signed or unsigned), as a SeriesEntry keeps them.
   */
  addSeriesWords(w0: number, w1: number, w2: number, w3: number, labels: Uint8Array, t: Float64Array, v: Float64Array, from: number, to: number): void {
    if (this.finished) throw new Error('segment builder already finished');
    if (to <= from) throw new Error('series without samples');
    const t0 = t[from]!;
    if (to - from === 1 && Math.abs(t0) < SingleSampleFastPathLimit && labels.length < 0x80) {
      this.addSingle(w0, w1, w2, w3, labels, t0, v[from]!);
      return;
    }
    const dataOffset = this.dlen;
    let nc = 0;
    {
      const chunk = (this.chunk ??= new XORChunk());
      let i = from;
      while (i < to) {
        const app = chunk.reset();
        const first = t[i]!;
        let n = 0;
        let last = first;
        while (i < to && n < SamplesPerChunk && t[i]! - first <= MaxChunkSpanMs) {
          last = t[i]!;
          app.append(last, v[i]!);
          i++;
          n++;
        }
        const bytes = chunk.bytes();
        if (this.dlen + bytes.length > this.data.length) this.growData(bytes.length);
        this.data.set(bytes, this.dlen);
        this.dlen += bytes.length;
        if (nc === this.cMin.length) this.growChunkScratch();
        this.cMin[nc] = first;
        this.cMax[nc] = last;
        this.cLen[nc] = bytes.length;
        nc++;
      }
    }

    // Table entry: id, labels, data offset, chunk descriptors, data CRC.
    const need = SeriesIdSize + 5 + labels.length + 10 + 5 + nc * 24 + 4;
    if (this.tlen + need > this.table.length) this.growTable(need);
    const tb = this.table;
    let p = this.tlen;
    const tv = this.tv;
    tv.setInt32(p, w0 | 0);
    tv.setInt32(p + 4, w1 | 0);
    tv.setInt32(p + 8, w2 | 0);
    tv.setInt32(p + 12, w3 | 0);
    p += SeriesIdSize;
    p = putUvarint(tb, p, labels.length);
    if (labels.length > 0) {
      tb.set(labels, p);
      p += labels.length;
    }
    p = putUvarint(tb, p, dataOffset);
    p = putUvarint(tb, p, nc);
    for (let c = 0; c < nc; c++) {
      tv.setFloat64(p, this.cMin[c]!);
      p = putUvarint(tb, p + 8, this.cMax[c]! - this.cMin[c]!); // exact: a chunk spans at most 2^51 ms
      p = putUvarint(tb, p, this.cLen[c]!);
      tb[p++] = Encoding.XOR;
    }
    tv.setUint32(p, crc32cRange(this.data, dataOffset, this.dlen));
    this.tlen = p + 4;

    this.numSeries++;
    this.numSamples += to - from;
    if (t0 < this.minTime) this.minTime = t0;
    if (t[to - 1]! > this.maxTime) this.maxTime = t[to - 1]!;
  }

  /**
   * One sample (the common case: one per series per request), written
   * inline: the XOR chunk is just its header, the timestamp as a varint and
   * the value's 64 bits; the table entry is fixed but for the varints. All
   * arithmetic stays on 32-bit integers, so no number is boxed.
   */
  private addSingle(w0: number, w1: number, w2: number, w3: number, labels: Uint8Array, t0: number, v0: number): void {
    if (this.dlen + 20 > this.data.length) this.growData(20);
    const d = this.data;
    const dataOffset = this.dlen;
    let p = dataOffset;
    d[p++] = 0;
    d[p++] = 1;
    // Zig-zag varint of t0 (|t0| < 2^52), from two 32-bit halves.
    const neg = t0 < 0 ? 1 : 0;
    const mag = neg === 1 ? -t0 - 1 : t0;
    let hi = Math.floor(mag / 0x100000000);
    let lo = (mag - hi * 0x100000000) >>> 0;
    const first = ((lo & 0x3f) << 1) | neg;
    lo = ((lo >>> 6) | (hi << 26)) >>> 0;
    hi >>>= 6;
    if (lo === 0 && hi === 0) d[p++] = first;
    else {
      d[p++] = first | 0x80;
      while (hi > 0) {
        d[p++] = (lo & 0x7f) | 0x80;
        lo = ((lo >>> 7) | (hi << 25)) >>> 0;
        hi >>>= 7;
      }
      while (lo >= 0x80) {
        d[p++] = (lo & 0x7f) | 0x80;
        lo >>>= 7;
      }
      d[p++] = lo;
    }
    f64[0] = v0;
    const vh = u32[HiWord]!;
    const vl = u32[1 - HiWord]!;
    d[p++] = vh >>> 24;
    d[p++] = (vh >>> 16) & 0xff;
    d[p++] = (vh >>> 8) & 0xff;
    d[p++] = vh & 0xff;
    d[p++] = vl >>> 24;
    d[p++] = (vl >>> 16) & 0xff;
    d[p++] = (vl >>> 8) & 0xff;
    d[p++] = vl & 0xff;
    this.dlen = p;
    const chunkLen = p - dataOffset; // at most 20

    // Table entry: id, labels, data offset, one chunk descriptor, data CRC.
    const nl = labels.length; // < 0x80: one length byte
    if (this.tlen + 16 + 1 + nl + 5 + 1 + 8 + 1 + 1 + 1 + 4 > this.table.length) this.growTable(16 + nl + 22);
    const tb = this.table;
    const tv = this.tv;
    let q = this.tlen;
    tv.setInt32(q, w0 | 0);
    tv.setInt32(q + 4, w1 | 0);
    tv.setInt32(q + 8, w2 | 0);
    tv.setInt32(q + 12, w3 | 0);
    q += 16;
    tb[q++] = nl;
    if (nl > 0) {
      tb.set(labels, q);
      q += nl;
    }
    let off = dataOffset; // < 2^31
    while (off >= 0x80) {
      tb[q++] = (off & 0x7f) | 0x80;
      off >>>= 7;
    }
    tb[q++] = off;
    tb[q++] = 1; // one chunk
    tv.setFloat64(q, t0); // its min time ...
    q += 8;
    tb[q++] = 0; // ... max - min ...
    tb[q++] = chunkLen; // ... length ...
    tb[q++] = Encoding.XOR; // ... and encoding
    tv.setUint32(q, crcOf(d, dataOffset, p));
    this.tlen = q + 4;

    this.numSeries++;
    this.numSamples++;
    if (t0 < this.minTime) this.minTime = t0;
    if (t0 > this.maxTime) this.maxTime = t0;
  }

  private growData(extra: number): void {
    this.data = grown(this.data, this.dlen, extra);
    this.dv = new DataView(this.data.buffer, this.data.byteOffset, this.data.byteLength);
  }

  private growTable(extra: number): void {
    this.table = grown(this.table, this.tlen, extra);
    this.tv = new DataView(this.table.buffer, this.table.byteOffset, this.table.byteLength);
  }

  private growChunkScratch(): void {
    const n = this.cMin.length * 2;
    const min = new Float64Array(n);
    min.set(this.cMin);
    const max = new Float64Array(n);
    max.set(this.cMax);
    const len = new Uint32Array(n);
    len.set(this.cLen);
    this.cMin = min;
    this.cMax = max;
    this.cLen = len;
  }

  /** Lays out table and footer; returns the object bytes and its metadata. */
  finish(): { bytes: Uint8Array; meta: SegmentMeta } {
    if (this.finished) throw new Error('segment builder already finished');
    if (this.numSeries === 0) throw new Error('empty segment');
    this.finished = true;
    const head = new ByteWriter(16);
    head.uvarint(this.numSeries);
    const headBytes = head.finish();
    const tableLength = headBytes.length + this.tlen;
    const dataLen = this.dlen;
    const size = dataLen + tableLength + FooterSize;

    const out = new Uint8Array(size);
    out.set(this.data.subarray(0, dataLen), 0);
    out.set(headBytes, dataLen);
    out.set(this.table.subarray(0, this.tlen), dataLen + headBytes.length);
    const tableCrc = crc32c(out.subarray(dataLen, dataLen + tableLength));
    // The scratch arrays go back for the next builder (the largest kept).
    if (spareData === undefined || spareData.length < this.data.length) spareData = this.data;
    if (spareTable === undefined || spareTable.length < this.table.length) spareTable = this.table;

    const footer = new ByteWriter(FooterSize);
    footer.f64(dataLen);
    footer.u32(tableLength);
    footer.u32(tableCrc);
    footer.f64(this.minTime);
    footer.f64(this.maxTime);
    footer.u32(this.numSeries);
    footer.u32(this.numSamples);
    footer.u32(SegmentMagic);
    out.set(footer.finish(), dataLen + tableLength);

    return {
      bytes: out,
      meta: {
        size,
        tableOffset: dataLen,
        tableLength,
        minTime: this.minTime,
        maxTime: this.maxTime,
        numSeries: this.numSeries,
        numSamples: this.numSamples,
      },
    };
  }
}

/** CRC-32C tables for slicing by 8 (as lib/util/crc32c.ts), for {@link crcOf}. */
const CrcT = ((): Int32Array => {
  const t = new Int32Array(8 * 256);
  for (let b = 0; b < 256; b++) {
    let c = b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[b] = c;
  }
  for (let b = 0; b < 256; b++) {
    let c = t[b]!;
    for (let k = 1; k < 8; k++) {
      c = t[c & 0xff]! ^ (c >>> 8);
      t[k * 256 + b] = c;
    }
  }
  return t;
})();

/**
 * CRC-32C of `b[start..end)`: crc32cRange's algorithm in a function small
 * enough for V8 to inline at the hot call site (a call would box the result).
 */
function crcOf(b: Uint8Array, start: number, end: number): number {
  let c = -1;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const lo = c ^ (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24));
    c =
      CrcT[0x700 + (lo & 0xff)]! ^
      CrcT[0x600 + ((lo >>> 8) & 0xff)]! ^
      CrcT[0x500 + ((lo >>> 16) & 0xff)]! ^
      CrcT[0x400 + (lo >>> 24)]! ^
      CrcT[0x300 + b[i + 4]!]! ^
      CrcT[0x200 + b[i + 5]!]! ^
      CrcT[0x100 + b[i + 6]!]! ^
      CrcT[b[i + 7]!]!;
  }
  for (; i < end; i++) c = CrcT[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/**
 * Timestamps below this magnitude take the single-sample fast path; larger
 * ones go through the XOR appender (same bytes, exact 64-bit varints).
 */
const SingleSampleFastPathLimit = 2 ** 52;

/** A copy of `buf[0..len)` in an array with room for `extra` more bytes. */
function grown(buf: Uint8Array, len: number, extra: number): Uint8Array {
  let size = buf.length * 2;
  while (size < len + extra) size *= 2;
  const next = new Uint8Array(size);
  next.set(buf.subarray(0, len));
  return next;
}

/** Writes the unsigned varint of a non-negative safe integer at `p`; returns the end. */
function putUvarint(b: Uint8Array, p: number, v: number): number {
  if (v < 0x80) {
    b[p] = v;
    return p + 1;
  }
  if (v < 0x80000000) {
    // Small enough for 32-bit integer arithmetic.
    let x = v | 0;
    while (x >= 0x80) {
      b[p++] = (x & 0x7f) | 0x80;
      x >>>= 7;
    }
    b[p++] = x;
    return p;
  }
  // Larger: as two 32-bit halves (a safe integer has at most 21 high bits).
  let lo = v >>> 0;
  let hi = (v - lo) / 0x100000000;
  while (hi > 0) {
    b[p++] = (lo & 0x7f) | 0x80;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  while (lo >= 0x80) {
    b[p++] = (lo & 0x7f) | 0x80;
    lo >>>= 7;
  }
  b[p++] = lo;
  return p;
}


/** Bytewise comparison (the order of hex ids, too). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!;
  }
  return a.length - b.length;
}

export { HeaderSize };
