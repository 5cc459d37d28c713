/**
 * Remote-read answers written straight into one buffer, for the read
 * handler's hot path: the same bytes as `encodeReadResponse` (SAMPLES) and
 * `seriesFrames` + `encodeFrame` (STREAMED_XOR_CHUNKS) in lib/prompb, which
 * stay the reference (test/unit/remote/read-encode.test.ts compares them on
 * random input), without a protobuf writer call per field: sizes are
 * computed first, then every byte is stored once.
 *
 * SAMPLES: `ReadResponse{results: QueryResult{timeseries: TimeSeries{labels,
 * samples: Sample{value double (always written, so -0.0 stays), timestamp
 * int64 (omitted when 0)}}}}`, samples read from sorted columns.
 */
import { crc32cRange } from '../util/crc32c.ts';
import { BadInputError } from '../util/errors.ts';
import { putUvarint, uvarintSize } from '../util/varint.ts';
import type { Label } from '../prompb/types.ts';
import type { ColumnSlice } from '../storage/merge.ts';
import type { ChunkMeta } from '../storage/interface.ts';

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('lib/remote/read-encode.ts needs a little-endian platform');
}

const TWO_32 = 0x100000000;
const Empty = new Uint8Array(0);
const MaxSafe = Number.MAX_SAFE_INTEGER;

const utf8 = new TextEncoder();

/** UTF-8 length of `s` when it is ASCII, else -1. */
function asciiLength(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return -1;
  return s.length;
}

/**
 * The `labels` fields of a TimeSeries / ChunkedSeries (tags and lengths
 * included), as PbWriter writes them: `Label{name = 1, value = 2}`, empty
 * strings omitted.
 */
export function labelFieldBytes(labels: readonly Label[]): Uint8Array {
  let size = 0;
  let ascii = true;
  const lens: number[] = [];
  for (const l of labels) {
    let n = asciiLength(l.name);
    let v = asciiLength(l.value);
    if (n < 0 || v < 0) {
      ascii = false;
      n = utf8.encode(l.name).length;
      v = utf8.encode(l.value).length;
    }
    const body = (n === 0 ? 0 : 1 + uvarintSize(n) + n) + (v === 0 ? 0 : 1 + uvarintSize(v) + v);
    lens.push(n, v, body);
    size += 1 + uvarintSize(body) + body;
  }
  const out = new Uint8Array(size);
  let p = 0;
  for (let k = 0; k < labels.length; k++) {
    const l = labels[k]!;
    const n = lens[3 * k]!;
    const v = lens[3 * k + 1]!;
    out[p++] = 0x0a;
    p = putUvarint(out, p, lens[3 * k + 2]!);
    p = putString(out, p, 0x0a, l.name, n, ascii);
    p = putString(out, p, 0x12, l.value, v, ascii);
  }
  return out;
}

/** A string field of `len` UTF-8 bytes (omitted when empty). */
function putString(out: Uint8Array, p: number, tag: number, s: string, len: number, ascii: boolean): number {
  if (len === 0) return p;
  out[p++] = tag;
  p = putUvarint(out, p, len);
  if (ascii) for (let i = 0; i < len; i++) out[p++] = s.charCodeAt(i);
  else p += utf8.encodeInto(s, out.subarray(p, p + len)).written;
  return p;
}

/** One series of a SAMPLES answer: its label fields and its samples in time order. */
export interface SampleSeries {
  labels: Uint8Array;
  cols: readonly ColumnSlice[];
}

function badTimestamp(t: number): never {
  throw new BadInputError(`Sample.timestamp: ${t} is not an integer within ±(2^53-1)`);
}

/** Bytes the samples of `cols` take as `samples` fields (each: tag, length, double field, timestamp field unless 0). */
function samplesSize(cols: readonly ColumnSlice[]): number {
  let n = 0;
  for (const c of cols) {
    const t = c.t;
    for (let k = c.from; k < c.to; k++) {
      const x = t[k]!;
      if (x === 0) {
        n += 11;
        continue;
      }
      if (!(x <= MaxSafe && x >= -MaxSafe && Math.floor(x) === x)) badTimestamp(x);
      n += 12 + (x < 0 ? 10 : uvarintSize(x));
    }
  }
  return n;
}

/**
 * Encodes a ReadResponse with one QueryResult per element of `results`,
 * exactly as `encodeReadResponse` would. With `scratch`, the answer is
 * written into its buffer and the result is a view of it, valid until the
 * scratch is used again (for answers compressed at once: saves allocating
 * and zeroing megabytes per request).
 *
 * @throws BadInputError for a timestamp that is not an integer within ±(2^53-1).
 */
export function encodeSamplesResponse(results: readonly (readonly SampleSeries[])[], scratch?: ScratchBuffer): Uint8Array {
  // Sizes first.
  const seriesBody: number[][] = [];
  const resultBody: number[] = [];
  let total = 0;
  for (const series of results) {
    const sizes: number[] = [];
    let rb = 0;
    for (const s of series) {
      const body = s.labels.length + samplesSize(s.cols);
      sizes.push(body);
      rb += 1 + uvarintSize(body) + body;
    }
    seriesBody.push(sizes);
    resultBody.push(rb);
    total += 1 + uvarintSize(rb) + rb;
  }
  const out = scratch === undefined ? new Uint8Array(total) : scratch.take(total);
  let p = 0;
  for (let r = 0; r < results.length; r++) {
    out[p++] = 0x0a;
    p = putUvarint(out, p, resultBody[r]!);
    const series = results[r]!;
    for (let i = 0; i < series.length; i++) {
      const s = series[i]!;
      out[p++] = 0x0a;
      p = putUvarint(out, p, seriesBody[r]![i]!);
      out.set(s.labels, p);
      p += s.labels.length;
      for (const c of s.cols) p = writeSamples(out, p, c);
    }
  }
  if (p !== total) throw new Error(`encodeSamplesResponse: wrote ${p} bytes, computed ${total}`);
  return out;
}

const TWO_28 = 0x10000000;

/**
 * A reusable byte buffer. It keeps at most `maxKeptBytes` between uses, so
 * one huge answer does not pin its memory.
 */
export class ScratchBuffer {
  private buf = Empty;

  constructor(private readonly maxKeptBytes = 16 * 1024 * 1024) {}

  /** A view of `n` bytes (contents undefined), valid until the next take. */
  take(n: number): Uint8Array {
    if (n > this.buf.length) {
      const b = new Uint8Array(Math.max(n, Math.min(this.maxKeptBytes, this.buf.length * 2)));
      if (b.length > this.maxKeptBytes) return b;
      this.buf = b;
    }
    return this.buf.subarray(0, n);
  }
}

/** Writes the `samples` fields of one column slice at `p`; returns the new position. */
function writeSamples(out: Uint8Array, p: number, c: ColumnSlice): number {
  const t = c.t;
  // Values go as their two 32-bit words (integers: bit-exact for every NaN payload).
  const vw = new Uint32Array(c.v.buffer, c.v.byteOffset, c.v.length * 2);
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  // A timestamp >= 2^28 is the 4 bytes of its low 28 bits (continuation
  // bit set), then the varint of the rest, which changes once every 2^28 ms
  // (3.1 days): those 1-4 bytes are worked out once per change.
  let base = -1;
  let h0 = 0;
  let h1 = 0;
  let h2 = 0;
  let h3 = 0;
  let hn = 0;
  for (let k = c.from; k < c.to; k++) {
    const ts = t[k]!;
    const at = p;
    out[p] = 0x12;
    // out[p + 1], the Sample's length (at most 20), is filled in below.
    out[p + 2] = 0x09;
    dv.setUint32(p + 3, vw[2 * k]!, true);
    dv.setUint32(p + 7, vw[2 * k + 1]!, true);
    p += 11;
    if (ts >= TWO_28 && ts <= MaxSafe) {
      if (!(ts >= base && ts - base < TWO_28)) {
        const h = Math.floor(ts / TWO_28);
        base = h * TWO_28;
        hn = h < 0x80 ? 1 : h < 0x4000 ? 2 : h < 0x200000 ? 3 : 4;
        h0 = (h & 0x7f) | (hn > 1 ? 0x80 : 0);
        h1 = ((h >>> 7) & 0x7f) | (hn > 2 ? 0x80 : 0);
        h2 = ((h >>> 14) & 0x7f) | (hn > 3 ? 0x80 : 0);
        h3 = h >>> 21;
      }
      const l = ts - base;
      out[p] = 0x10;
      out[p + 1] = (l & 0x7f) | 0x80;
      out[p + 2] = ((l >>> 7) & 0x7f) | 0x80;
      out[p + 3] = ((l >>> 14) & 0x7f) | 0x80;
      out[p + 4] = ((l >>> 21) & 0x7f) | 0x80;
      out[p + 5] = h0;
      p += 6;
      if (hn > 1) out[p++] = h1;
      if (hn > 2) out[p++] = h2;
      if (hn > 3) out[p++] = h3;
    } else if (ts !== 0) {
      out[p++] = 0x10;
      p = putInt64(out, p, ts);
    }
    out[at + 1] = p - at - 2;
  }
  return p;
}

/** Writes an int64 varint (two's complement for negatives) of a safe integer. */
function putInt64(out: Uint8Array, p: number, v: number): number {
  let lo: number;
  let hi: number;
  if (v >= 0) {
    lo = v >>> 0;
    hi = (v - lo) / TWO_32;
  } else {
    const m = -v;
    lo = m % TWO_32;
    hi = (m - lo) / TWO_32;
    lo = (~lo + 1) >>> 0;
    hi = (~hi + (lo === 0 ? 1 : 0)) >>> 0;
  }
  while (hi !== 0 || lo > 0x7f) {
    out[p++] = (lo & 0x7f) | 0x80;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  out[p++] = lo;
  return p;
}

/** Size of an int64 field with a one-byte tag (0 when the value is 0: omitted). */
function int64FieldSize(v: number): number {
  return v === 0 ? 0 : 1 + (v < 0 ? 10 : uvarintSize(v));
}

function chunkBodySize(c: ChunkMeta): number {
  const d = c.data.length;
  return int64FieldSize(c.minTime) + int64FieldSize(c.maxTime) + int64FieldSize(c.encoding) + (d === 0 ? 0 : 1 + uvarintSize(d) + d);
}

function checkInt(v: number, what: string): void {
  if (v > MaxSafe || v < -MaxSafe || Math.floor(v) !== v) throw new BadInputError(`${what}: ${v} is not an integer within ±(2^53-1)`);
}

/**
 * STREAMED_XOR_CHUNKS frames written back to back into one growable buffer:
 * the bytes `seriesFrames(labels, chunks, queryIndex, maxBytesInFrame)`
 * yields, concatenated (one series per frame, a new frame with the same
 * labels whenever the next chunk would take the frame over the limit).
 * `take()` hands out what is written so far, for the transport to send.
 */
export class FrameWriter {
  private buf: Uint8Array;
  private pos = 0;

  constructor(
    private readonly maxBytesInFrame: number,
    private readonly initialBytes = 16 * 1024,
  ) {
    this.buf = Empty;
  }

  /** Bytes written and not yet taken. */
  get length(): number {
    return this.pos;
  }

  /**
   * The bytes written since the last take: a view of the writer's buffer,
   * which the writer then gives up (the next write allocates a new one), so
   * nothing is copied and the view is never overwritten.
   */
  take(): Uint8Array {
    const out = this.buf.subarray(0, this.pos);
    this.buf = Empty;
    this.pos = 0;
    return out;
  }

  /** Adds the frames of one series (`labels` from {@link labelFieldBytes}). */
  addSeries(labels: Uint8Array, chunks: readonly ChunkMeta[], queryIndex: number): void {
    checkInt(queryIndex, 'ChunkedReadResponse.query_index');
    const qiSize = int64FieldSize(queryIndex);
    let first = 0;
    let body = labels.length;
    for (let k = 0; k < chunks.length; k++) {
      const c = chunks[k]!;
      checkInt(c.minTime, 'Chunk.min_time_ms');
      checkInt(c.maxTime, 'Chunk.max_time_ms');
      const cb = chunkBodySize(c);
      const cs = 1 + uvarintSize(cb) + cb;
      if (k > first && frameSize(body + cs, qiSize) > this.maxBytesInFrame) {
        this.frame(labels, chunks, first, k, body, queryIndex, qiSize);
        first = k;
        body = labels.length;
      }
      body += cs;
    }
    if (chunks.length > first) this.frame(labels, chunks, first, chunks.length, body, queryIndex, qiSize);
  }

  /** One frame: chunks [from, to) of the series, `body` bytes of ChunkedSeries. */
  private frame(labels: Uint8Array, chunks: readonly ChunkMeta[], from: number, to: number, body: number, queryIndex: number, qiSize: number): void {
    const msg = 1 + uvarintSize(body) + body + qiSize;
    this.ensure(uvarintSize(msg) + 4 + msg);
    const out = this.buf;
    let p = putUvarint(out, this.pos, msg);
    const crcAt = p;
    p += 4;
    const start = p;
    out[p++] = 0x0a;
    p = putUvarint(out, p, body);
    out.set(labels, p);
    p += labels.length;
    for (let k = from; k < to; k++) {
      const c = chunks[k]!;
      out[p++] = 0x12;
      p = putUvarint(out, p, chunkBodySize(c));
      if (c.minTime !== 0) {
        out[p++] = 0x08;
        p = putInt64(out, p, c.minTime);
      }
      if (c.maxTime !== 0) {
        out[p++] = 0x10;
        p = putInt64(out, p, c.maxTime);
      }
      if (c.encoding !== 0) {
        out[p++] = 0x18;
        p = putInt64(out, p, c.encoding);
      }
      if (c.data.length > 0) {
        out[p++] = 0x22;
        p = putUvarint(out, p, c.data.length);
        out.set(c.data, p);
        p += c.data.length;
      }
    }
    if (queryIndex !== 0) {
      out[p++] = 0x10;
      p = putInt64(out, p, queryIndex);
    }
    if (p - start !== msg) throw new Error(`FrameWriter: wrote ${p - start} bytes, computed ${msg}`);
    const crc = crc32cRange(out, start, p);
    out[crcAt] = crc >>> 24;
    out[crcAt + 1] = (crc >>> 16) & 0xff;
    out[crcAt + 2] = (crc >>> 8) & 0xff;
    out[crcAt + 3] = crc & 0xff;
    this.pos = p;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let cap = Math.max(this.buf.length * 2, this.initialBytes);
    while (cap < this.pos + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }
}

/** Bytes of a whole frame whose ChunkedSeries body is `body` bytes. */
function frameSize(body: number, qiSize: number): number {
  const msg = 1 + uvarintSize(body) + body + qiSize;
  return uvarintSize(msg) + 4 + msg;
}
