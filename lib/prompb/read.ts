/**
 * Remote-read codecs (prometheus/prometheus prompb/remote.proto, types.proto):
 *
 * - ReadRequest{1 queries, 2 accepted_response_types (packed or not)}
 * - Query{1 start_timestamp_ms, 2 end_timestamp_ms, 3 matchers, 4 hints}
 * - LabelMatcher{1 type, 2 name, 3 value}
 * - ReadHints{1 step_ms, 2 func, 3 start_ms, 4 end_ms, 5 grouping, 6 by, 7 range_ms}
 * - ReadResponse{1 results}; QueryResult{1 timeseries}
 * - TimeSeries{1 labels, 2 samples, 3 exemplars, 4 histograms} (3, 4 skipped)
 * - ChunkedReadResponse{1 chunked_series, 2 query_index}
 * - ChunkedSeries{1 labels, 2 chunks}; Chunk{1 min_time_ms, 2 max_time_ms, 3 type, 4 data}
 *
 * Decoders throw `BadInputError` with the field path
 * (`protobuf: ReadRequest.queries[0].matchers[2]: ...`); strings must be
 * valid UTF-8. Encoders write proto3 canonical form, except that sample
 * values are always written (so -0.0 survives, unlike Prometheus' own
 * SAMPLES answers).
 */
import { BadInputError } from '../util/errors.ts';
import { PbReader, PbWriter, WireType, copyDoubleBytes, delimitedSize, int64Size, utf8Length, withPath } from './pb.ts';
import { uvarintSize } from '../util/varint.ts';
import type {
  ChunkedReadResponse,
  ChunkedSeries,
  Label,
  LabelMatcher,
  Query,
  QueryResult,
  ReadChunk,
  ReadHints,
  ReadRequest,
  ReadResponse,
  ReadSeries,
} from './types.ts';

export { ChunkType, MatcherType, ResponseType } from './types.ts';
export type {
  ChunkedReadResponse,
  ChunkedSeries,
  LabelMatcher,
  Query,
  QueryResult,
  ReadChunk,
  ReadHints,
  ReadRequest,
  ReadResponse,
  ReadSeries,
} from './types.ts';

// ---------------------------------------------------------------------------
// Decoding helpers

/** Innermost-last field path, for error messages; left as is when a decoder throws. */
type Path = string[];

/**
 * Decodes the length-delimited message at `r.pos` with `fn`, confining the
 * reader to it and naming it `name` in error paths.
 */
function nested<T>(r: PbReader, path: Path, name: string, fn: (r: PbReader, path: Path) => T): T {
  const n = r.len();
  const end = r.pos + n;
  const outer = r.end;
  path.push(name);
  r.end = end;
  const v = fn(r, path);
  r.end = outer;
  r.pos = end;
  path.pop();
  return v;
}

/** Reads a scalar with `name` on the path, so range errors name the field. */
function scalar<T>(r: PbReader, path: Path, name: string, fn: (r: PbReader) => T): T {
  path.push(name);
  const v = fn(r);
  path.pop();
  return v;
}

const int64 = (r: PbReader): number => r.int64();
const int32 = (r: PbReader): number => r.int32();
const str = (r: PbReader): string => r.string();

/** Checks the wire type of a known field. */
function want(r: PbReader, name: string, wt: number, expected: number): void {
  if (wt !== expected) r.wrongWireType(name, wt, expected);
}

function run<T>(root: string, buf: Uint8Array, fn: (r: PbReader, path: Path) => T): T {
  const path: Path = [root];
  try {
    return fn(new PbReader(buf), path);
  } catch (err) {
    throw withPath(path.join('.'), err);
  }
}

function decodeLabel(r: PbReader, path: Path): Label {
  let name = '';
  let value = '';
  while (r.pos < r.end) {
    const t = r.tag();
    const wt = t & 7;
    switch (t >>> 3) {
      case 1:
        want(r, 'name', wt, WireType.Bytes);
        name = scalar(r, path, 'name', str);
        break;
      case 2:
        want(r, 'value', wt, WireType.Bytes);
        value = scalar(r, path, 'value', str);
        break;
      default:
        r.skip(wt);
    }
  }
  return { name, value };
}

// ---------------------------------------------------------------------------
// ReadRequest

/**
 * Decodes a `ReadRequest` (uncompressed protobuf). Matcher types and
 * response types are passed through as numbers; the caller validates them.
 *
 * @throws BadInputError for malformed protobuf or invalid UTF-8, naming the
 *   field path.
 */
export function decodeReadRequest(buf: Uint8Array): ReadRequest {
  return run('ReadRequest', buf, (r, path) => {
    const queries: Query[] = [];
    const acceptedResponseTypes: number[] = [];
    while (r.pos < r.end) {
      const t = r.tag();
      const wt = t & 7;
      switch (t >>> 3) {
        case 1:
          want(r, 'queries', wt, WireType.Bytes);
          queries.push(nested(r, path, `queries[${queries.length}]`, decodeQuery));
          break;
        case 2:
          if (wt === WireType.Bytes) {
            // Packed: a run of varints.
            nested(r, path, 'accepted_response_types', (rr) => {
              while (rr.pos < rr.end) acceptedResponseTypes.push(rr.int32());
            });
          } else {
            want(r, 'accepted_response_types', wt, WireType.Varint);
            acceptedResponseTypes.push(scalar(r, path, 'accepted_response_types', int32));
          }
          break;
        default:
          r.skip(wt);
      }
    }
    return { queries, acceptedResponseTypes };
  });
}

function decodeQuery(r: PbReader, path: Path): Query {
  const q: Query = { startTimestampMs: 0, endTimestampMs: 0, matchers: [] };
  while (r.pos < r.end) {
    const t = r.tag();
    const wt = t & 7;
    switch (t >>> 3) {
      case 1:
        want(r, 'start_timestamp_ms', wt, WireType.Varint);
        q.startTimestampMs = scalar(r, path, 'start_timestamp_ms', int64);
        break;
      case 2:
        want(r, 'end_timestamp_ms', wt, WireType.Varint);
        q.endTimestampMs = scalar(r, path, 'end_timestamp_ms', int64);
        break;
      case 3:
        want(r, 'matchers', wt, WireType.Bytes);
        q.matchers.push(nested(r, path, `matchers[${q.matchers.length}]`, decodeMatcher));
        break;
      case 4:
        want(r, 'hints', wt, WireType.Bytes);
        // proto3 merges a repeated singular message field into one.
        q.hints = nested(r, path, 'hints', (rr, p) => decodeHints(rr, p, q.hints));
        break;
      default:
        r.skip(wt);
    }
  }
  return q;
}

function decodeMatcher(r: PbReader, path: Path): LabelMatcher {
  const m: LabelMatcher = { type: 0, name: '', value: '' };
  while (r.pos < r.end) {
    const t = r.tag();
    const wt = t & 7;
    switch (t >>> 3) {
      case 1:
        want(r, 'type', wt, WireType.Varint);
        m.type = scalar(r, path, 'type', int32);
        break;
      case 2:
        want(r, 'name', wt, WireType.Bytes);
        m.name = scalar(r, path, 'name', str);
        break;
      case 3:
        want(r, 'value', wt, WireType.Bytes);
        m.value = scalar(r, path, 'value', str);
        break;
      default:
        r.skip(wt);
    }
  }
  return m;
}

function decodeHints(r: PbReader, path: Path, prev: ReadHints | undefined): ReadHints {
  const h: ReadHints = prev ?? { stepMs: 0, func: '', startMs: 0, endMs: 0, grouping: [], by: false, rangeMs: 0 };
  while (r.pos < r.end) {
    const t = r.tag();
    const wt = t & 7;
    switch (t >>> 3) {
      case 1:
        want(r, 'step_ms', wt, WireType.Varint);
        h.stepMs = scalar(r, path, 'step_ms', int64);
        break;
      case 2:
        want(r, 'func', wt, WireType.Bytes);
        h.func = scalar(r, path, 'func', str);
        break;
      case 3:
        want(r, 'start_ms', wt, WireType.Varint);
        h.startMs = scalar(r, path, 'start_ms', int64);
        break;
      case 4:
        want(r, 'end_ms', wt, WireType.Varint);
        h.endMs = scalar(r, path, 'end_ms', int64);
        break;
      case 5:
        want(r, 'grouping', wt, WireType.Bytes);
        h.grouping.push(scalar(r, path, `grouping[${h.grouping.length}]`, str));
        break;
      case 6:
        want(r, 'by', wt, WireType.Varint);
        h.by = scalar(r, path, 'by', (rr) => rr.bool());
        break;
      case 7:
        want(r, 'range_ms', wt, WireType.Varint);
        h.rangeMs = scalar(r, path, 'range_ms', int64);
        break;
      default:
        r.skip(wt);
    }
  }
  return h;
}

/**
 * Encodes a `ReadRequest`. Response types are written packed, as
 * Prometheus does.
 *
 * @throws BadInputError for timestamps that are not integers within ±(2^53-1).
 */
export function encodeReadRequest(req: ReadRequest): Uint8Array {
  const w = new PbWriter();
  for (const q of req.queries) {
    const qm = w.fork(1);
    w.int64Field(1, q.startTimestampMs, 'Query.start_timestamp_ms');
    w.int64Field(2, q.endTimestampMs, 'Query.end_timestamp_ms');
    for (const m of q.matchers) {
      const mm = w.fork(3);
      if (m.type !== 0) {
        w.tag(1, WireType.Varint);
        w.int64(m.type, 'LabelMatcher.type');
      }
      w.stringField(2, m.name);
      w.stringField(3, m.value);
      w.join(mm);
    }
    if (q.hints !== undefined) {
      const h = q.hints;
      const hm = w.fork(4);
      w.int64Field(1, h.stepMs, 'ReadHints.step_ms');
      w.stringField(2, h.func);
      w.int64Field(3, h.startMs, 'ReadHints.start_ms');
      w.int64Field(4, h.endMs, 'ReadHints.end_ms');
      for (const g of h.grouping) {
        // Repeated strings are never omitted, even when empty.
        w.tag(5, WireType.Bytes);
        w.string(g);
      }
      w.boolField(6, h.by);
      w.int64Field(7, h.rangeMs, 'ReadHints.range_ms');
      w.join(hm);
    }
    w.join(qm);
  }
  if (req.acceptedResponseTypes.length > 0) {
    const m = w.fork(2);
    for (const t of req.acceptedResponseTypes) w.int64(t, 'ReadRequest.accepted_response_types');
    w.join(m);
  }
  return w.finish();
}

// ---------------------------------------------------------------------------
// ReadResponse (SAMPLES)

/** Grows Float64Arrays of samples, copying value bits exactly. */
class SampleBuffer {
  ts = new Float64Array(16);
  vs = new Float64Array(16);
  vb = new Uint8Array(this.vs.buffer);
  n = 0;

  reset(): void {
    this.n = 0;
  }

  grow(): void {
    const cap = this.ts.length * 2;
    const ts = new Float64Array(cap);
    ts.set(this.ts);
    const vs = new Float64Array(cap);
    const vb = new Uint8Array(vs.buffer);
    vb.set(this.vb);
    this.ts = ts;
    this.vs = vs;
    this.vb = vb;
  }
}

/**
 * Decodes a `ReadResponse` (uncompressed protobuf). Each series gets its own
 * exactly-sized `timestamps` and `values` arrays, values bit-exact.
 * Exemplars and histograms are skipped.
 *
 * @throws BadInputError for malformed protobuf or invalid UTF-8, naming the
 *   field path.
 */
export function decodeReadResponse(buf: Uint8Array): ReadResponse {
  const samples = new SampleBuffer();
  return run('ReadResponse', buf, (r, path) => {
    const results: QueryResult[] = [];
    while (r.pos < r.end) {
      const t = r.tag();
      const wt = t & 7;
      if (t >>> 3 === 1) {
        want(r, 'results', wt, WireType.Bytes);
        results.push(
          nested(r, path, `results[${results.length}]`, (rr, p) => {
            const timeseries: ReadSeries[] = [];
            while (rr.pos < rr.end) {
              const t2 = rr.tag();
              if (t2 >>> 3 === 1) {
                want(rr, 'timeseries', t2 & 7, WireType.Bytes);
                timeseries.push(
                  nested(rr, p, `timeseries[${timeseries.length}]`, (r3, p3) => decodeReadSeries(r3, p3, samples)),
                );
              } else {
                rr.skip(t2 & 7);
              }
            }
            return { timeseries };
          }),
        );
      } else {
        r.skip(wt);
      }
    }
    return { results };
  });
}

function decodeReadSeries(r: PbReader, path: Path, sb: SampleBuffer): ReadSeries {
  const labels: Label[] = [];
  sb.reset();
  while (r.pos < r.end) {
    const t = r.tag();
    const wt = t & 7;
    switch (t >>> 3) {
      case 1:
        want(r, 'labels', wt, WireType.Bytes);
        labels.push(nested(r, path, `labels[${labels.length}]`, decodeLabel));
        break;
      case 2:
        want(r, 'samples', wt, WireType.Bytes);
        nested(r, path, `samples[${sb.n}]`, (rr, p) => decodeSample(rr, p, sb));
        break;
      case 3:
        want(r, 'exemplars', wt, WireType.Bytes);
        r.skip(wt);
        break;
      case 4:
        want(r, 'histograms', wt, WireType.Bytes);
        r.skip(wt);
        break;
      default:
        r.skip(wt);
    }
  }
  const n = sb.n;
  const timestamps = sb.ts.slice(0, n);
  const values = new Float64Array(n);
  new Uint8Array(values.buffer).set(sb.vb.subarray(0, n * 8));
  return { labels, timestamps, values };
}

function decodeSample(r: PbReader, path: Path, sb: SampleBuffer): void {
  if (sb.n === sb.ts.length) sb.grow();
  let ts = 0;
  let vAt = -1;
  while (r.pos < r.end) {
    const t = r.tag();
    const wt = t & 7;
    switch (t >>> 3) {
      case 1:
        want(r, 'value', wt, WireType.Fixed64);
        vAt = r.pos;
        r.skip(wt);
        break;
      case 2:
        want(r, 'timestamp', wt, WireType.Varint);
        ts = scalar(r, path, 'timestamp', int64);
        break;
      default:
        r.skip(wt);
    }
  }
  const k = sb.n++;
  sb.ts[k] = ts;
  if (vAt >= 0) copyDoubleBytes(r.buf, vAt, sb.vb, k * 8);
  else sb.vs[k] = 0;
}

/**
 * Encodes a `ReadResponse` (SAMPLES). `timestamps` and `values` of each
 * series must hold exactly its samples (pass `subarray`s); every value is
 * written, bit-exact.
 *
 * @throws BadInputError if a series' arrays differ in length or a timestamp
 *   is not an integer within ±(2^53-1).
 */
export function encodeReadResponse(resp: ReadResponse): Uint8Array {
  let est = 16;
  for (const res of resp.results) for (const s of res.timeseries) est += 16 + s.labels.length * 32 + s.timestamps.length * 20;
  const w = new PbWriter(est);
  for (let i = 0; i < resp.results.length; i++) {
    const rm = w.fork(1);
    const series = resp.results[i]!.timeseries;
    for (let j = 0; j < series.length; j++) {
      const s = series[j]!;
      const { timestamps, values } = s;
      if (timestamps.length !== values.length) {
        throw new BadInputError(
          `ReadResponse.results[${i}].timeseries[${j}]: ${timestamps.length} timestamps but ${values.length} values`,
        );
      }
      const sm = w.fork(1);
      writeLabels(w, s.labels);
      for (let k = 0; k < timestamps.length; k++) {
        const m = w.fork(2);
        w.doubleField(1, values[k]!);
        w.int64Field(2, timestamps[k]!, 'Sample.timestamp');
        w.join(m);
      }
      w.join(sm);
    }
    w.join(rm);
  }
  return w.finish();
}

function writeLabels(w: PbWriter, labels: readonly Label[]): void {
  for (const l of labels) {
    const m = w.fork(1);
    w.stringField(1, l.name);
    w.stringField(2, l.value);
    w.join(m);
  }
}

// ---------------------------------------------------------------------------
// ChunkedReadResponse (STREAMED_XOR_CHUNKS)

/**
 * Encodes one `ChunkedReadResponse`, the message inside a frame (wrap it
 * with `encodeFrame`). Its length is exactly
 * `encodedChunkedReadResponseSize(...)` (see there for keeping frames under
 * a byte limit).
 *
 * @throws BadInputError for times that are not integers within ±(2^53-1).
 */
export function encodeChunkedReadResponse(resp: ChunkedReadResponse): Uint8Array {
  let est = 16;
  for (const s of resp.chunkedSeries) {
    est += 16 + s.labels.length * 32;
    for (const c of s.chunks) est += 32 + c.data.length;
  }
  const w = new PbWriter(est);
  for (const s of resp.chunkedSeries) {
    const sm = w.fork(1);
    writeLabels(w, s.labels);
    for (const c of s.chunks) {
      const cm = w.fork(2);
      w.int64Field(1, c.minTimeMs, 'Chunk.min_time_ms');
      w.int64Field(2, c.maxTimeMs, 'Chunk.max_time_ms');
      if (c.type !== 0) {
        w.tag(3, WireType.Varint);
        w.int64(c.type, 'Chunk.type');
      }
      w.bytesField(4, c.data);
      w.join(cm);
    }
    w.join(sm);
  }
  w.int64Field(2, resp.queryIndex, 'ChunkedReadResponse.query_index');
  return w.finish();
}

/**
 * Decodes one `ChunkedReadResponse` (a frame's message). Chunk `data` are
 * views into `buf` (no copy): copy them if `buf` may be reused.
 *
 * @throws BadInputError for malformed protobuf or invalid UTF-8, naming the
 *   field path.
 */
export function decodeChunkedReadResponse(buf: Uint8Array): ChunkedReadResponse {
  return run('ChunkedReadResponse', buf, (r, path) => {
    const chunkedSeries: ChunkedSeries[] = [];
    let queryIndex = 0;
    while (r.pos < r.end) {
      const t = r.tag();
      const wt = t & 7;
      switch (t >>> 3) {
        case 1:
          want(r, 'chunked_series', wt, WireType.Bytes);
          chunkedSeries.push(nested(r, path, `chunked_series[${chunkedSeries.length}]`, decodeChunkedSeries));
          break;
        case 2:
          want(r, 'query_index', wt, WireType.Varint);
          queryIndex = scalar(r, path, 'query_index', int64);
          break;
        default:
          r.skip(wt);
      }
    }
    return { chunkedSeries, queryIndex };
  });
}

function decodeChunkedSeries(r: PbReader, path: Path): ChunkedSeries {
  const labels: Label[] = [];
  const chunks: ReadChunk[] = [];
  while (r.pos < r.end) {
    const t = r.tag();
    const wt = t & 7;
    switch (t >>> 3) {
      case 1:
        want(r, 'labels', wt, WireType.Bytes);
        labels.push(nested(r, path, `labels[${labels.length}]`, decodeLabel));
        break;
      case 2:
        want(r, 'chunks', wt, WireType.Bytes);
        chunks.push(nested(r, path, `chunks[${chunks.length}]`, decodeChunk));
        break;
      default:
        r.skip(wt);
    }
  }
  return { labels, chunks };
}

function decodeChunk(r: PbReader, path: Path): ReadChunk {
  const c: ReadChunk = { minTimeMs: 0, maxTimeMs: 0, type: 0, data: r.buf.subarray(0, 0) };
  while (r.pos < r.end) {
    const t = r.tag();
    const wt = t & 7;
    switch (t >>> 3) {
      case 1:
        want(r, 'min_time_ms', wt, WireType.Varint);
        c.minTimeMs = scalar(r, path, 'min_time_ms', int64);
        break;
      case 2:
        want(r, 'max_time_ms', wt, WireType.Varint);
        c.maxTimeMs = scalar(r, path, 'max_time_ms', int64);
        break;
      case 3:
        want(r, 'type', wt, WireType.Varint);
        c.type = scalar(r, path, 'type', int32);
        break;
      case 4:
        want(r, 'data', wt, WireType.Bytes);
        c.data = r.bytes();
        break;
      default:
        r.skip(wt);
    }
  }
  return c;
}

// ---------------------------------------------------------------------------
// Sizes, for keeping frames under a byte limit

/** Encoded size of a string field with a one-byte tag (0 when empty: omitted). */
function stringFieldSize(s: string): number {
  if (s.length === 0) return 0;
  const n = utf8Length(s);
  return 1 + uvarintSize(n) + n;
}

/** Encoded size of an int64 field with a one-byte tag (0 when 0: omitted). */
function int64FieldSize(v: number): number {
  return v === 0 ? 0 : 1 + int64Size(v);
}

/**
 * Bytes the `labels` fields of a `ChunkedSeries` (or `TimeSeries`) take,
 * tags and length prefixes included.
 */
export function encodedLabelsSize(labels: readonly Label[]): number {
  let n = 0;
  for (const l of labels) n += delimitedSize(stringFieldSize(l.name) + stringFieldSize(l.value));
  return n;
}

/** Bytes one `chunks` field of a `ChunkedSeries` takes, tag and length prefix included. */
export function encodedChunkSize(c: ReadChunk): number {
  const body =
    int64FieldSize(c.minTimeMs) +
    int64FieldSize(c.maxTimeMs) +
    int64FieldSize(c.type) +
    (c.data.length === 0 ? 0 : 1 + uvarintSize(c.data.length) + c.data.length);
  return delimitedSize(body);
}

/**
 * Exact length of the message {@link encodeChunkedReadResponse} produces for
 * one series whose labels and chunks take `seriesBodyBytes` (=
 * `encodedLabelsSize(labels) + Σ encodedChunkSize(chunk)`) with the given
 * `queryIndex`. For several series, sum `delimitedSize(body)` per series
 * instead and add the query index field.
 *
 * To keep frames under a limit the way Prometheus does (one series per
 * frame, `--storage.remote.read-max-bytes-in-frame`, default 1048576 bytes),
 * start with the labels' size, add chunks while this stays within the
 * limit, then encode and start a new frame with the same labels.
 */
export function encodedChunkedReadResponseSize(seriesBodyBytes: number, queryIndex: number): number {
  return delimitedSize(seriesBodyBytes) + int64FieldSize(queryIndex);
}

/** Prometheus' default `--storage.remote.read-max-bytes-in-frame`. */
export const DEFAULT_MAX_BYTES_IN_FRAME = 1048576;
