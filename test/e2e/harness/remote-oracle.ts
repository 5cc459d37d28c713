/**
 * An independent remote-write / remote-read client for end-to-end tests,
 * built on protobufjs and snappyjs (test-only dependencies) rather than on
 * the project's own codecs, so that it can serve as an oracle for them.
 *
 * Values are carried as numbers inside objects, never in plain number
 * arrays: V8 quiets signalling NaNs (the stale marker among them) stored in
 * double arrays, but keeps them intact in object fields and typed arrays.
 */
import { createRequire } from 'node:module';
import protobuf from 'protobufjs';

const require = createRequire(import.meta.url);
const snappy = require('snappyjs') as {
  compress(b: Uint8Array): Uint8Array;
  uncompress(b: Uint8Array, maxLength?: number): Uint8Array;
};

// The subset of prometheus/prompb (remote.proto, types.proto) we need; field
// numbers as in Prometheus 2.42. Unknown fields are skipped on decode.
const PROTO = `
syntax = "proto3";
package prometheus;
message Sample { double value = 1; int64 timestamp = 2; }
message Label { string name = 1; string value = 2; }
message TimeSeries { repeated Label labels = 1; repeated Sample samples = 2; }
message WriteRequest { repeated TimeSeries timeseries = 1; }
message LabelMatcher { enum Type { EQ = 0; NEQ = 1; RE = 2; NRE = 3; } Type type = 1; string name = 2; string value = 3; }
message Query { int64 start_timestamp_ms = 1; int64 end_timestamp_ms = 2; repeated LabelMatcher matchers = 3; }
message ReadRequest { repeated Query queries = 1; enum ResponseType { SAMPLES = 0; STREAMED_XOR_CHUNKS = 1; } repeated ResponseType accepted_response_types = 2; }
message QueryResult { repeated TimeSeries timeseries = 1; }
message ReadResponse { repeated QueryResult results = 1; }
message Chunk { int64 min_time_ms = 1; int64 max_time_ms = 2; enum Encoding { UNKNOWN = 0; XOR = 1; HISTOGRAM = 2; FLOAT_HISTOGRAM = 3; } Encoding type = 3; bytes data = 4; }
message ChunkedSeries { repeated Label labels = 1; repeated Chunk chunks = 2; }
message ChunkedReadResponse { repeated ChunkedSeries chunked_series = 1; int64 query_index = 2; }
`;
const root = protobuf.parse(PROTO).root;
const WriteRequest = root.lookupType('prometheus.WriteRequest');
const ReadRequest = root.lookupType('prometheus.ReadRequest');
const ReadResponse = root.lookupType('prometheus.ReadResponse');
const ChunkedReadResponse = root.lookupType('prometheus.ChunkedReadResponse');

/** One sample; keep it in an object so NaN payloads survive. */
export interface OracleSample {
  t: number;
  v: number;
}

/** A series to write: labels (any order) and samples in time order. */
export interface OracleSeries {
  labels: Record<string, string>;
  samples: OracleSample[];
}

/** A label matcher; `type` as in prompb. */
export interface OracleMatcher {
  type: 'EQ' | 'NEQ' | 'RE' | 'NRE';
  name: string;
  value: string;
}

/** One query of a read request. */
export interface OracleQuery {
  start: number;
  end: number;
  matchers: OracleMatcher[];
}

/** A chunk from a STREAMED_XOR_CHUNKS answer. */
export interface OracleChunk {
  minT: number;
  maxT: number;
  /** prompb Chunk.Encoding: 1 = XOR. */
  type: number;
  data: Uint8Array;
}

/** One series of a STREAMED_XOR_CHUNKS frame. */
export interface OracleChunkedSeries {
  queryIndex: number;
  labels: Record<string, string>;
  chunks: OracleChunk[];
}

function toNum(x: unknown): number {
  if (typeof x === 'number') return x;
  if (x !== null && typeof x === 'object' && 'toNumber' in x) return (x as { toNumber(): number }).toNumber();
  if (x === undefined || x === null) return 0;
  return Number(x);
}

function labelsOf(ls: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of (ls as { name?: string; value?: string }[] | undefined) ?? []) out[l.name ?? ''] = l.value ?? '';
  return out;
}

const MATCH_TYPES = { EQ: 0, NEQ: 1, RE: 2, NRE: 3 } as const;

/** Matchers selecting exactly the series with these labels. */
export function exactMatchers(labels: Record<string, string>): OracleMatcher[] {
  return Object.entries(labels).map(([name, value]) => ({ type: 'EQ' as const, name, value }));
}

/** CRC-32C (Castagnoli), bitwise-table, as used by remote-read frames. */
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();
export function crc32c(b: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = CRC_TABLE[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Encodes and snappy-compresses a remote-write 1.0 WriteRequest. */
export function encodeWriteRequest(series: OracleSeries[]): Uint8Array {
  const msg = WriteRequest.fromObject({
    timeseries: series.map((s) => ({
      labels: Object.entries(s.labels)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([name, value]) => ({ name, value })),
      samples: s.samples.map((x) => ({ value: x.v, timestamp: x.t })),
    })),
  });
  return snappy.compress(WriteRequest.encode(msg).finish());
}

/** POSTs a WriteRequest to `<url>/api/v1/write`; throws unless 2xx. */
export async function remoteWrite(url: string, series: OracleSeries[]): Promise<void> {
  const res = await fetch(`${url}/api/v1/write`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-protobuf',
      'Content-Encoding': 'snappy',
      'X-Prometheus-Remote-Write-Version': '0.1.0',
    },
    body: encodeWriteRequest(series),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (res.status < 200 || res.status >= 300) throw new Error(`remote write: HTTP ${res.status}: ${text}`);
}

async function postRead(url: string, queries: OracleQuery[], streamed: boolean): Promise<Response> {
  const req = ReadRequest.fromObject({
    queries: queries.map((q) => ({
      startTimestampMs: q.start,
      endTimestampMs: q.end,
      matchers: q.matchers.map((m) => ({ type: MATCH_TYPES[m.type], name: m.name, value: m.value })),
    })),
    acceptedResponseTypes: streamed ? [1] : [0],
  });
  const res = await fetch(`${url}/api/v1/read`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-protobuf',
      'Content-Encoding': 'snappy',
      'X-Prometheus-Remote-Read-Version': '0.1.0',
    },
    body: snappy.compress(ReadRequest.encode(req).finish()),
    signal: AbortSignal.timeout(20_000),
  });
  if (res.status !== 200) throw new Error(`remote read: HTTP ${res.status}: ${await res.text()}`);
  return res;
}

/** A series of a SAMPLES answer. */
export interface OracleSampleSeries {
  labels: Record<string, string>;
  samples: OracleSample[];
}

/** Remote read with the SAMPLES response type; one result list per query. */
export async function remoteReadSamples(url: string, queries: OracleQuery[]): Promise<OracleSampleSeries[][]> {
  const res = await postRead(url, queries, false);
  const body = snappy.uncompress(new Uint8Array(await res.arrayBuffer()));
  const msg = ReadResponse.toObject(ReadResponse.decode(body), { defaults: true }) as {
    results: { timeseries: { labels: unknown; samples: { value: number; timestamp: unknown }[] }[] }[];
  };
  return msg.results.map((r) =>
    r.timeseries.map((ts) => ({
      labels: labelsOf(ts.labels),
      samples: ts.samples.map((s) => ({ t: toNum(s.timestamp), v: s.value })),
    })),
  );
}

/**
 * Splits a STREAMED_XOR_CHUNKS body into frames (uvarint length, big-endian
 * CRC-32C of the message, message), checking every CRC.
 */
export function parseFrames(body: Uint8Array): Uint8Array[] {
  const frames: Uint8Array[] = [];
  let p = 0;
  while (p < body.length) {
    let len = 0;
    let mul = 1;
    for (;;) {
      if (p >= body.length) throw new Error('frame length varint runs past the body');
      const b = body[p++]!;
      len += (b & 0x7f) * mul;
      mul *= 128;
      if (b < 0x80) break;
    }
    if (p + 4 + len > body.length) throw new Error(`frame of ${len} bytes runs past the body`);
    const want = ((body[p]! << 24) | (body[p + 1]! << 16) | (body[p + 2]! << 8) | body[p + 3]!) >>> 0;
    const msg = body.subarray(p + 4, p + 4 + len);
    if (crc32c(msg) !== want) throw new Error(`frame CRC-32C mismatch at byte ${p}`);
    frames.push(msg);
    p += 4 + len;
  }
  return frames;
}

/** Remote read with STREAMED_XOR_CHUNKS; every chunked series of every frame. */
export async function remoteReadChunks(url: string, queries: OracleQuery[]): Promise<{ contentType: string; series: OracleChunkedSeries[] }> {
  const res = await postRead(url, queries, true);
  const contentType = res.headers.get('content-type') ?? '';
  const body = new Uint8Array(await res.arrayBuffer());
  const series: OracleChunkedSeries[] = [];
  for (const frame of parseFrames(body)) {
    const msg = ChunkedReadResponse.toObject(ChunkedReadResponse.decode(frame), { defaults: true }) as {
      chunkedSeries: { labels: unknown; chunks: { minTimeMs: unknown; maxTimeMs: unknown; type: number; data: Uint8Array }[] }[];
      queryIndex: unknown;
    };
    for (const cs of msg.chunkedSeries) {
      series.push({
        queryIndex: toNum(msg.queryIndex),
        labels: labelsOf(cs.labels),
        chunks: cs.chunks.map((c) => ({ minT: toNum(c.minTimeMs), maxT: toNum(c.maxTimeMs), type: c.type, data: c.data })),
      });
    }
  }
  return { contentType, series };
}
