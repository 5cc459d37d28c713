/**
 * Remote-write 1.0 codec (`prometheus.WriteRequest`, remote.proto).
 *
 * Field numbers: WriteRequest{1 timeseries, 3 metadata};
 * TimeSeries{1 labels, 2 samples, 3 exemplars, 4 histograms};
 * Label{1 name, 2 value}; Sample{1 value double, 2 timestamp int64}.
 *
 * The decoder is the ingestion hot path: it fills typed-array columns of
 * byte offsets and samples (see {@link WriteRequestColumns}) and decodes no
 * strings, so the caller can look label sets up by their bytes first.
 */
import { BadInputError } from '../util/errors.ts';
import {
  LITTLE_ENDIAN,
  PbWriter,
  WireType,
  int64At,
  invalidTag,
  lastValue,
  skipAt,
  tagAt,
  uvarintAt,
  withPath,
  wrongWireType,
} from './pb.ts';
import type { WriteRequestColumns, WriteSeries } from './types.ts';

export { utf8Decode } from './pb.ts';
export type { WriteRequestColumns, WriteSeries } from './types.ts';

// Tags (field << 3 | wire type) this codec recognises.
const TAG_TIMESERIES = (1 << 3) | WireType.Bytes; // WriteRequest.timeseries
const TAG_METADATA = (3 << 3) | WireType.Bytes; // WriteRequest.metadata
const TAG_LABELS = (1 << 3) | WireType.Bytes; // TimeSeries.labels
const TAG_SAMPLES = (2 << 3) | WireType.Bytes; // TimeSeries.samples
const TAG_EXEMPLARS = (3 << 3) | WireType.Bytes; // TimeSeries.exemplars
const TAG_HISTOGRAMS = (4 << 3) | WireType.Bytes; // TimeSeries.histograms
const TAG_NAME = (1 << 3) | WireType.Bytes; // Label.name
const TAG_VALUE = (2 << 3) | WireType.Bytes; // Label.value
const TAG_SAMPLE_VALUE = (1 << 3) | WireType.Fixed64; // Sample.value
const TAG_SAMPLE_TS = (2 << 3) | WireType.Varint; // Sample.timestamp

/** Growable column storage; arrays double when full. */
class Columns implements WriteRequestColumns {
  numSeries = 0;
  numLabels = 0;
  numSamples = 0;
  numExemplars = 0;
  numHistograms = 0;
  numMetadata = 0;
  labelStart: Uint32Array;
  nameOff: Uint32Array;
  nameLen: Uint32Array;
  valueOff: Uint32Array;
  valueLen: Uint32Array;
  labelsByteStart: Uint32Array;
  labelsByteEnd: Uint32Array;
  sampleStart: Uint32Array;
  timestamps: Float64Array;
  values: Float64Array;
  /** Byte view of `values`. */
  valueBytes: Uint8Array;
  /**
   * `values` as 32-bit words: a sample's value is copied as its two words
   * (bit-exact, NaN payloads included), not as a number.
   */
  valueWords: Int32Array;

  constructor(
    readonly buf: Uint8Array,
    reuse?: WriteRequestColumns,
  ) {
    if (reuse !== undefined && consistent(reuse)) {
      this.labelStart = reuse.labelStart;
      this.sampleStart = reuse.sampleStart;
      this.labelsByteStart = reuse.labelsByteStart;
      this.labelsByteEnd = reuse.labelsByteEnd;
      this.nameOff = reuse.nameOff;
      this.nameLen = reuse.nameLen;
      this.valueOff = reuse.valueOff;
      this.valueLen = reuse.valueLen;
      this.timestamps = reuse.timestamps;
      this.values = reuse.values;
    } else {
      // First guesses from the body size (a node_exporter series is ~250
      // bytes with ~10 labels of ~25 bytes); doubling fixes misses. All
      // columns share one uninitialised block: zero-filling memory that is
      // about to be overwritten costs as much as a third of the decode.
      const n = buf.length;
      const series = Math.max(16, n >>> 7);
      const labels = Math.max(64, n >>> 4);
      const block = allocUnsafe(series * 8 * 2 + (series + 1) * 4 * 2 + series * 4 * 2 + labels * 4 * 4);
      let off = 0;
      const f64 = (len: number) => {
        const a = new Float64Array(block, off, len);
        off += len * 8;
        return a;
      };
      const u32 = (len: number) => {
        const a = new Uint32Array(block, off, len);
        off += len * 4;
        return a;
      };
      this.timestamps = f64(series);
      this.values = f64(series);
      this.labelStart = u32(series + 1);
      this.sampleStart = u32(series + 1);
      this.labelsByteStart = u32(series);
      this.labelsByteEnd = u32(series);
      this.nameOff = u32(labels);
      this.nameLen = u32(labels);
      this.valueOff = u32(labels);
      this.valueLen = u32(labels);
    }
    this.valueBytes = new Uint8Array(this.values.buffer, this.values.byteOffset, this.values.byteLength);
    this.valueWords = new Int32Array(this.values.buffer, this.values.byteOffset, this.values.length * 2);
    // Recycled arrays hold old data; the starts must be right even for zero series.
    this.labelStart[0] = 0;
    this.sampleStart[0] = 0;
  }

  growSeries(): void {
    const n = this.labelsByteStart.length * 2;
    this.labelStart = grow32(this.labelStart, n + 1);
    this.sampleStart = grow32(this.sampleStart, n + 1);
    this.labelsByteStart = grow32(this.labelsByteStart, n);
    this.labelsByteEnd = grow32(this.labelsByteEnd, n);
  }

  growLabels(): void {
    const n = this.nameOff.length * 2;
    this.nameOff = grow32(this.nameOff, n);
    this.nameLen = grow32(this.nameLen, n);
    this.valueOff = grow32(this.valueOff, n);
    this.valueLen = grow32(this.valueLen, n);
  }

  growSamples(): void {
    const n = this.timestamps.length * 2;
    const ts = new Float64Array(n);
    ts.set(this.timestamps);
    this.timestamps = ts;
    const vs = new Float64Array(n);
    // Copy bytes, not numbers, so no NaN payload is touched.
    const vb = new Uint8Array(vs.buffer);
    vb.set(this.valueBytes);
    this.values = vs;
    this.valueBytes = vb;
    this.valueWords = new Int32Array(vs.buffer);
  }

  /** The public shape, without the helper fields. */
  result(): WriteRequestColumns {
    return {
      buf: this.buf,
      numSeries: this.numSeries,
      numLabels: this.numLabels,
      numSamples: this.numSamples,
      numExemplars: this.numExemplars,
      numHistograms: this.numHistograms,
      numMetadata: this.numMetadata,
      labelStart: this.labelStart,
      nameOff: this.nameOff,
      nameLen: this.nameLen,
      valueOff: this.valueOff,
      valueLen: this.valueLen,
      labelsByteStart: this.labelsByteStart,
      labelsByteEnd: this.labelsByteEnd,
      sampleStart: this.sampleStart,
      timestamps: this.timestamps,
      values: this.values,
    };
  }
}

/** True if the arrays of `c` have the length relations the decoder relies on. */
function consistent(c: WriteRequestColumns): boolean {
  const s = c.labelsByteStart.length;
  const l = c.nameOff.length;
  return (
    s > 0 &&
    l > 0 &&
    c.labelsByteEnd.length === s &&
    c.labelStart.length === s + 1 &&
    c.sampleStart.length === s + 1 &&
    c.nameLen.length === l &&
    c.valueOff.length === l &&
    c.valueLen.length === l &&
    c.timestamps.length > 0 &&
    c.values.length === c.timestamps.length
  );
}

/**
 * An ArrayBuffer of `n` bytes whose contents are unspecified. Node's
 * `Buffer.allocUnsafe` skips the zero-fill for blocks of 4 KiB and more
 * (smaller ones come from its shared pool, so we zero-fill those).
 */
function allocUnsafe(n: number): ArrayBuffer {
  if (n >= 8192 && typeof Buffer === 'function') {
    const b = Buffer.allocUnsafe(n);
    if (b.byteOffset === 0 && b.buffer.byteLength === n) return b.buffer as ArrayBuffer;
  }
  return new ArrayBuffer(n);
}

function grow32(a: Uint32Array, n: number): Uint32Array {
  const b = new Uint32Array(n);
  b.set(a);
  return b;
}

/** Where the decoder is, for error messages. */
const At = { Request: 0, Series: 1, Label: 2, Sample: 3, SampleTimestamp: 4 } as const;
type At = (typeof At)[keyof typeof At];

const SERIES_FIELDS = ['', 'labels', 'samples', 'exemplars', 'histograms'];

/**
 * Decodes a remote-write 1.0 `WriteRequest` into columns without creating
 * an object per series, label or sample, and without decoding strings.
 *
 * Absent label or sample fields take their proto3 defaults (empty string, 0).
 * Unknown fields are skipped; exemplars, histograms and metadata are counted
 * and skipped without being parsed. A field seen twice in one message keeps
 * its last value, as in proto3.
 *
 * Pass the columns of an earlier request you are done with as `reuse` to
 * recycle their arrays (growing them if needed): that saves allocating and
 * page-faulting fresh memory on every request, and makes `reuse` invalid.
 *
 * @throws BadInputError for malformed protobuf, naming the field path and
 *   byte offset, e.g. `protobuf: WriteRequest.timeseries[3].samples[0]:
 *   truncated varint at byte 1234`; also for timestamps outside ±(2^53-1).
 */
export function decodeWriteRequest(buf: Uint8Array, reuse?: WriteRequestColumns): WriteRequestColumns {
  const c = new Columns(buf, reuse);
  decodeInto(c, buf);
  // The loop leaves the running totals in the last series' end marks.
  const s = c.numSeries;
  c.numLabels = s === 0 ? 0 : c.labelStart[s]!;
  c.numSamples = s === 0 ? 0 : c.sampleStart[s]!;
  return c.result();
}

/**
 * The decoding loop of {@link decodeWriteRequest}, filling `c`. Nothing
 * follows the loop here on purpose: the first request is long enough for
 * V8 to optimise the loop while it runs (on-stack replacement), before any
 * code after it has run once; such code, compiled without type feedback,
 * deoptimised the whole decoder at the end of every later request (about
 * 640 deoptimisations per 1200 requests).
 */
function decodeInto(c: Columns, buf: Uint8Array): void {
  // The whole request is one loop nest over local variables: this is the
  // ingestion hot path, and locals stay in registers where fields would not.
  // Single-byte tags and lengths are read inline; everything longer or
  // unusual goes through the *At helpers, which leave values in lastValue.
  const end = buf.length;
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let nameOff = c.nameOff;
  let nameLen = c.nameLen;
  let valueOff = c.valueOff;
  let valueLen = c.valueLen;
  let timestamps = c.timestamps;
  let valueWords = c.valueWords;
  let numLabels = 0;
  let numSamples = 0;
  let at: At = At.Request;
  let pos = 0;
  try {
    while (pos < end) {
      let t = buf[pos]!;
      if (t < 0x80) pos++;
      else {
        pos = tagAt(buf, pos, end);
        t = lastValue;
      }
      if (t !== TAG_TIMESERIES) {
        if (t === TAG_METADATA) {
          c.numMetadata++;
        } else if (t < 8 || (t & 7) > 5) {
          invalidTag(t, pos - 1);
        } else if (t >>> 3 === 1 || t >>> 3 === 3) {
          wrongWireType(t >>> 3 === 1 ? 'timeseries' : 'metadata', t & 7, WireType.Bytes, pos);
        }
        pos = skipAt(buf, pos, end, t & 7);
        continue;
      }

      // TimeSeries
      let n = pos < end ? buf[pos]! : 0x80;
      if (n < 0x80) pos++;
      else {
        pos = uvarintAt(buf, pos, end);
        n = lastValue;
      }
      if (n > end - pos) throw tooLong(n, pos, end);
      const sEnd = pos + n;
      const s = c.numSeries;
      if (s === c.labelsByteStart.length) c.growSeries();
      c.labelStart[s] = numLabels;
      c.sampleStart[s] = numSamples;
      let labelsFrom = -1;
      let labelsTo = pos;
      at = At.Series;
      // Fast run over leading labels of the canonical shape
      // `0a len 0a nl <name> 12 vl <value>` with one-byte lengths, which is
      // what Prometheus sends. It cannot throw: anything else, including
      // truncation, stops it and the general loop below takes over.
      for (;;) {
        if (pos + 6 > sEnd || numLabels === nameOff.length) break;
        // Bytes pos..pos+3 as one little-endian word: tag 0a, label length
        // < 0x80, tag 0a, name length < 0x80, tested with one mask.
        const w = dv.getUint32(pos, true);
        if ((w & 0x80ff80ff) !== 0x000a000a) break;
        const lEnd = pos + 2 + ((w >>> 8) & 0xff);
        const l1 = w >>> 24;
        const q = pos + 4 + l1;
        if (lEnd > sEnd || q + 2 > lEnd) break;
        // Bytes q, q+1: tag 12, value length < 0x80.
        const v = dv.getUint16(q, true);
        const l2 = v >>> 8;
        if ((v & 0x80ff) !== 0x0012 || q + 2 + l2 !== lEnd) break;
        if (labelsFrom < 0) labelsFrom = pos;
        nameOff[numLabels] = pos + 4;
        nameLen[numLabels] = l1;
        valueOff[numLabels] = q + 2;
        valueLen[numLabels] = l2;
        numLabels++;
        labelsTo = lEnd;
        pos = lEnd;
      }
      while (pos < sEnd) {
        const tagPos = pos;
        t = buf[pos]!;
        if (t < 0x80) pos++;
        else {
          pos = tagAt(buf, pos, sEnd);
          t = lastValue;
        }
        if (t === TAG_LABELS) {
          n = pos < sEnd ? buf[pos]! : 0x80;
          if (n < 0x80) pos++;
          else {
            pos = uvarintAt(buf, pos, sEnd);
            n = lastValue;
          }
          if (n > sEnd - pos) throw tooLong(n, pos, sEnd);
          const lEnd = pos + n;
          if (labelsFrom < 0) labelsFrom = tagPos;
          labelsTo = lEnd;
          if (numLabels === nameOff.length) {
            c.growLabels();
            nameOff = c.nameOff;
            nameLen = c.nameLen;
            valueOff = c.valueOff;
            valueLen = c.valueLen;
          }
          at = At.Label;
          let no = pos;
          let nl = 0;
          let vo = pos;
          let vl = 0;
          // Fast path for the canonical shape `0a nl <name> 12 vl <value>`
          // with one-byte lengths, which is what Prometheus sends.
          if (n >= 4 && buf[pos] === TAG_NAME) {
            const l1 = buf[pos + 1]!;
            const q = pos + 2 + l1;
            if (l1 < 0x80 && q + 2 <= lEnd && buf[q] === TAG_VALUE) {
              const l2 = buf[q + 1]!;
              if (l2 < 0x80 && q + 2 + l2 === lEnd) {
                no = pos + 2;
                nl = l1;
                vo = q + 2;
                vl = l2;
                pos = lEnd;
              }
            }
          }
          while (pos < lEnd) {
            t = buf[pos]!;
            if (t < 0x80) pos++;
            else {
              pos = tagAt(buf, pos, lEnd);
              t = lastValue;
            }
            if (t === TAG_NAME || t === TAG_VALUE) {
              n = pos < lEnd ? buf[pos]! : 0x80;
              if (n < 0x80) pos++;
              else {
                pos = uvarintAt(buf, pos, lEnd);
                n = lastValue;
              }
              if (n > lEnd - pos) throw tooLong(n, pos, lEnd);
              if (t === TAG_NAME) {
                no = pos;
                nl = n;
              } else {
                vo = pos;
                vl = n;
              }
              pos += n;
            } else {
              const f = t >>> 3;
              if (t < 8 || (t & 7) > 5) invalidTag(t, pos - 1);
              if (f === 1 || f === 2) wrongWireType(f === 1 ? 'name' : 'value', t & 7, WireType.Bytes, pos);
              pos = skipAt(buf, pos, lEnd, t & 7);
            }
          }
          nameOff[numLabels] = no;
          nameLen[numLabels] = nl;
          valueOff[numLabels] = vo;
          valueLen[numLabels] = vl;
          numLabels++;
          at = At.Series;
        } else if (t === TAG_SAMPLES) {
          n = pos < sEnd ? buf[pos]! : 0x80;
          if (n < 0x80) pos++;
          else {
            pos = uvarintAt(buf, pos, sEnd);
            n = lastValue;
          }
          if (n > sEnd - pos) throw tooLong(n, pos, sEnd);
          const mEnd = pos + n;
          if (numSamples === timestamps.length) {
            c.growSamples();
            timestamps = c.timestamps;
            valueWords = c.valueWords;
          }
          at = At.Sample;
          let ts = 0;
          let vAt = -1;
          // Fast path for the canonical shape `09 <8 bytes> 10 <timestamp>`.
          if (n >= 11 && buf[pos] === TAG_SAMPLE_VALUE && buf[pos + 9] === TAG_SAMPLE_TS) {
            // A non-negative timestamp of at most seven varint bytes (below
            // 2^49 ms: until the year 19800), decoded in locals: going
            // through int64At's module-level result would box every
            // timestamp in a heap number. Anything else takes int64At.
            let p = pos + 10;
            let v = 0;
            let mul = 1;
            let done = false;
            for (let k = 0; k < 7 && p < mEnd; k++) {
              const b = buf[p++]!;
              v += (b & 0x7f) * mul;
              if (b < 0x80) {
                done = true;
                break;
              }
              mul *= 0x80;
            }
            if (!done) {
              at = At.SampleTimestamp;
              p = int64At(buf, pos + 10, mEnd);
              at = At.Sample;
              v = lastValue;
            }
            if (p === mEnd) {
              vAt = pos + 1;
              ts = v;
              pos = p;
            }
          }
          while (pos < mEnd) {
            t = buf[pos]!;
            if (t < 0x80) pos++;
            else {
              pos = tagAt(buf, pos, mEnd);
              t = lastValue;
            }
            if (t === TAG_SAMPLE_VALUE) {
              if (pos + 8 > mEnd) throw new BadInputError(`value: truncated double at byte ${pos}`);
              vAt = pos;
              pos += 8;
            } else if (t === TAG_SAMPLE_TS) {
              at = At.SampleTimestamp;
              pos = int64At(buf, pos, mEnd);
              ts = lastValue;
              at = At.Sample;
            } else {
              const f = t >>> 3;
              if (t < 8 || (t & 7) > 5) invalidTag(t, pos - 1);
              if (f === 1) wrongWireType('value', t & 7, WireType.Fixed64, pos);
              if (f === 2) wrongWireType('timestamp', t & 7, WireType.Varint, pos);
              pos = skipAt(buf, pos, mEnd, t & 7);
            }
          }
          timestamps[numSamples] = ts;
          // The value's 8 bytes as two 32-bit words: read in the host's
          // byte order, each word lands in memory as the bytes it was read
          // from. (A byte-wise copy inlined here made V8 turn every byte's
          // index into a string: 15% of the decode.)
          if (vAt >= 0) {
            valueWords[2 * numSamples] = dv.getInt32(vAt, LITTLE_ENDIAN);
            valueWords[2 * numSamples + 1] = dv.getInt32(vAt + 4, LITTLE_ENDIAN);
          } else {
            valueWords[2 * numSamples] = 0;
            valueWords[2 * numSamples + 1] = 0;
          }
          numSamples++;
          at = At.Series;
        } else if (t === TAG_EXEMPLARS) {
          c.numExemplars++;
          pos = skipAt(buf, pos, sEnd, WireType.Bytes);
        } else if (t === TAG_HISTOGRAMS) {
          c.numHistograms++;
          pos = skipAt(buf, pos, sEnd, WireType.Bytes);
        } else {
          const f = t >>> 3;
          if (t < 8 || (t & 7) > 5) invalidTag(t, tagPos);
          if (f >= 1 && f <= 4) wrongWireType(SERIES_FIELDS[f]!, t & 7, WireType.Bytes, pos);
          pos = skipAt(buf, pos, sEnd, t & 7);
        }
      }
      if (labelsFrom < 0) labelsFrom = labelsTo;
      c.labelsByteStart[s] = labelsFrom;
      c.labelsByteEnd[s] = labelsTo;
      c.numSeries = s + 1;
      c.labelStart[s + 1] = numLabels;
      c.sampleStart[s + 1] = numSamples;
      at = At.Request;
    }
  } catch (err) {
    throw withPath(errorPath(c, at, numLabels, numSamples), err);
  }
}

function tooLong(n: number, pos: number, end: number): BadInputError {
  return new BadInputError(`length ${n} before byte ${pos} exceeds the ${end - pos} bytes left`);
}

function errorPath(c: Columns, at: At, numLabels: number, numSamples: number): string {
  if (at === At.Request) return 'WriteRequest';
  const s = c.numSeries;
  const series = `WriteRequest.timeseries[${s}]`;
  switch (at) {
    case At.Label:
      return `${series}.labels[${numLabels - c.labelStart[s]!}]`;
    case At.Sample:
      return `${series}.samples[${numSamples - c.sampleStart[s]!}]`;
    case At.SampleTimestamp:
      return `${series}.samples[${numSamples - c.sampleStart[s]!}].timestamp`;
    default:
      return series;
  }
}

/**
 * Encodes a remote-write 1.0 `WriteRequest` (uncompressed protobuf; wrap it
 * with `snappyEncode` for the wire). Labels are written in the order given.
 * Every sample's value field is written, even for +0 and -0, so -0.0 and NaN
 * payloads survive (pass values as a Float64Array to keep NaN payloads:
 * plain JS arrays may quiet signalling NaNs).
 *
 * @throws BadInputError if a series' timestamps and values differ in length
 *   or a timestamp is not an integer within ±(2^53-1).
 */
export function encodeWriteRequest(series: readonly WriteSeries[]): Uint8Array {
  const w = new PbWriter(estimateSize(series));
  for (let i = 0; i < series.length; i++) {
    const s = series[i]!;
    const { timestamps, values } = s;
    if (timestamps.length !== values.length) {
      throw new BadInputError(
        `WriteRequest.timeseries[${i}]: ${timestamps.length} timestamps but ${values.length} values`,
      );
    }
    const ts = w.fork(1);
    for (const l of s.labels) {
      const m = w.fork(1);
      w.stringField(1, l.name);
      w.stringField(2, l.value);
      w.join(m);
    }
    for (let k = 0; k < timestamps.length; k++) {
      const m = w.fork(2);
      w.doubleField(1, values[k]!);
      w.int64Field(2, timestamps[k]!, 'Sample.timestamp');
      w.join(m);
    }
    w.join(ts);
  }
  return w.finish();
}

function estimateSize(series: readonly WriteSeries[]): number {
  let n = 0;
  for (const s of series) n += 24 + s.labels.length * 32 + s.timestamps.length * 20;
  return n;
}
