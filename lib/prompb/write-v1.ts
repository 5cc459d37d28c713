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
import { LITTLE_ENDIAN, PbReader, PbWriter, WireType, withPath } from './pb.ts';
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
  /** Byte view of `values`, for bit-exact copies. */
  valueBytes: Uint8Array;

  constructor(readonly buf: Uint8Array) {
    // Rough first guesses from the body size; a node_exporter series is
    // ~300 bytes with ~10 labels of ~30 bytes. Doubling fixes misses.
    const n = buf.length;
    const series = Math.max(16, n >>> 8);
    const labels = Math.max(64, n >>> 5);
    this.labelStart = new Uint32Array(series + 1);
    this.sampleStart = new Uint32Array(series + 1);
    this.labelsByteStart = new Uint32Array(series);
    this.labelsByteEnd = new Uint32Array(series);
    this.nameOff = new Uint32Array(labels);
    this.nameLen = new Uint32Array(labels);
    this.valueOff = new Uint32Array(labels);
    this.valueLen = new Uint32Array(labels);
    this.timestamps = new Float64Array(series);
    this.values = new Float64Array(series);
    this.valueBytes = new Uint8Array(this.values.buffer);
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
    new Uint8Array(vs.buffer).set(this.valueBytes);
    this.values = vs;
    this.valueBytes = new Uint8Array(vs.buffer);
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

function grow32(a: Uint32Array, n: number): Uint32Array {
  const b = new Uint32Array(n);
  b.set(a);
  return b;
}

/** Where the decoder is, for error messages. */
const At = { Request: 0, Series: 1, Label: 2, Sample: 3, SampleTimestamp: 4 } as const;
type At = (typeof At)[keyof typeof At];

/**
 * Decodes a remote-write 1.0 `WriteRequest` into columns without creating
 * an object per series, label or sample, and without decoding strings.
 *
 * Absent label or sample fields take their proto3 defaults (empty string, 0).
 * Unknown fields are skipped; exemplars, histograms and metadata are counted
 * and skipped.
 *
 * @throws BadInputError for malformed protobuf, naming the field path and
 *   byte offset, e.g. `protobuf: WriteRequest.timeseries[3].samples[0]:
 *   truncated varint at byte 1234`; also for timestamps outside ±(2^53-1).
 */
export function decodeWriteRequest(buf: Uint8Array): WriteRequestColumns {
  const c = new Columns(buf);
  const r = new PbReader(buf);
  const state = { at: At.Request as At };
  try {
    const end = buf.length;
    while (r.pos < end) {
      const t = r.tag();
      if (t === TAG_TIMESERIES) {
        const n = r.len();
        const msgEnd = r.pos + n;
        state.at = At.Series;
        decodeTimeSeries(r, c, msgEnd, state);
        state.at = At.Request;
        r.end = end;
        r.pos = msgEnd;
      } else if (t === TAG_METADATA) {
        r.pos += r.len();
        c.numMetadata++;
      } else {
        const field = t >>> 3;
        if (field === 1 || field === 3) r.wrongWireType(field === 1 ? 'timeseries' : 'metadata', t & 7, WireType.Bytes);
        r.skip(t & 7);
      }
    }
  } catch (err) {
    throw withPath(errorPath(c, state.at), err);
  }
  return c.result();
}

function errorPath(c: Columns, at: At): string {
  if (at === At.Request) return 'WriteRequest';
  const series = `WriteRequest.timeseries[${c.numSeries}]`;
  switch (at) {
    case At.Label:
      return `${series}.labels[${c.numLabels - c.labelStart[c.numSeries]!}]`;
    case At.Sample:
      return `${series}.samples[${c.numSamples - c.sampleStart[c.numSeries]!}]`;
    case At.SampleTimestamp:
      return `${series}.samples[${c.numSamples - c.sampleStart[c.numSeries]!}].timestamp`;
    default:
      return series;
  }
}

function decodeTimeSeries(r: PbReader, c: Columns, end: number, state: { at: At }): void {
  const s = c.numSeries;
  if (s === c.labelsByteStart.length) c.growSeries();
  c.labelStart[s] = c.numLabels;
  c.sampleStart[s] = c.numSamples;
  const tsStart = r.pos;
  let labelsFrom = -1;
  let labelsTo = -1;
  r.end = end;
  while (r.pos < end) {
    const tagAt = r.pos;
    const t = r.tag();
    if (t === TAG_LABELS) {
      const n = r.len();
      const msgEnd = r.pos + n;
      if (labelsFrom < 0) labelsFrom = tagAt;
      state.at = At.Label;
      decodeLabel(r, c, msgEnd);
      state.at = At.Series;
      r.end = end;
      r.pos = msgEnd;
      labelsTo = msgEnd;
    } else if (t === TAG_SAMPLES) {
      const n = r.len();
      const msgEnd = r.pos + n;
      state.at = At.Sample;
      decodeSample(r, c, msgEnd, state);
      state.at = At.Series;
      r.end = end;
      r.pos = msgEnd;
    } else if (t === TAG_EXEMPLARS) {
      r.pos += r.len();
      c.numExemplars++;
    } else if (t === TAG_HISTOGRAMS) {
      r.pos += r.len();
      c.numHistograms++;
    } else {
      const field = t >>> 3;
      if (field >= 1 && field <= 4) r.wrongWireType(SERIES_FIELDS[field]!, t & 7, WireType.Bytes);
      r.skip(t & 7);
    }
  }
  if (labelsFrom < 0) labelsFrom = labelsTo = tsStart;
  c.labelsByteStart[s] = labelsFrom;
  c.labelsByteEnd[s] = labelsTo;
  c.numSeries = s + 1;
  c.labelStart[s + 1] = c.numLabels;
  c.sampleStart[s + 1] = c.numSamples;
}

const SERIES_FIELDS = ['', 'labels', 'samples', 'exemplars', 'histograms'];

function decodeLabel(r: PbReader, c: Columns, end: number): void {
  const j = c.numLabels;
  if (j === c.nameOff.length) c.growLabels();
  let nameOff = r.pos;
  let nameLen = 0;
  let valueOff = r.pos;
  let valueLen = 0;
  r.end = end;
  while (r.pos < end) {
    const t = r.tag();
    if (t === TAG_NAME) {
      nameLen = r.len();
      nameOff = r.pos;
      r.pos += nameLen;
    } else if (t === TAG_VALUE) {
      valueLen = r.len();
      valueOff = r.pos;
      r.pos += valueLen;
    } else {
      const field = t >>> 3;
      if (field === 1 || field === 2) r.wrongWireType(field === 1 ? 'name' : 'value', t & 7, WireType.Bytes);
      r.skip(t & 7);
    }
  }
  c.nameOff[j] = nameOff;
  c.nameLen[j] = nameLen;
  c.valueOff[j] = valueOff;
  c.valueLen[j] = valueLen;
  c.numLabels = j + 1;
}

function decodeSample(r: PbReader, c: Columns, end: number, state: { at: At }): void {
  const k = c.numSamples;
  if (k === c.timestamps.length) c.growSamples();
  const buf = r.buf;
  let ts = 0;
  let valueAt = -1;
  r.end = end;
  while (r.pos < end) {
    const t = r.tag();
    if (t === TAG_SAMPLE_VALUE) {
      valueAt = r.pos;
      if (valueAt + 8 > end) throw new BadInputError(`value: truncated double at byte ${valueAt}`);
      r.pos = valueAt + 8;
    } else if (t === TAG_SAMPLE_TS) {
      state.at = At.SampleTimestamp;
      ts = r.int64();
      state.at = At.Sample;
    } else {
      const field = t >>> 3;
      if (field === 1) r.wrongWireType('value', t & 7, WireType.Fixed64);
      if (field === 2) r.wrongWireType('timestamp', t & 7, WireType.Varint);
      r.skip(t & 7);
    }
  }
  c.timestamps[k] = ts;
  const vb = c.valueBytes;
  const o = k * 8;
  if (valueAt < 0) {
    c.values[k] = 0;
  } else if (LITTLE_ENDIAN) {
    vb[o] = buf[valueAt]!;
    vb[o + 1] = buf[valueAt + 1]!;
    vb[o + 2] = buf[valueAt + 2]!;
    vb[o + 3] = buf[valueAt + 3]!;
    vb[o + 4] = buf[valueAt + 4]!;
    vb[o + 5] = buf[valueAt + 5]!;
    vb[o + 6] = buf[valueAt + 6]!;
    vb[o + 7] = buf[valueAt + 7]!;
  } else {
    for (let i = 0; i < 8; i++) vb[o + i] = buf[valueAt + 7 - i]!;
  }
  c.numSamples = k + 1;
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
