/**
 * Types and constants of the prompb messages (prometheus/prometheus
 * prompb/types.proto and remote.proto), in the shapes our hand-written
 * codecs produce and accept. Field numbers live in the codecs.
 */

/** A label name/value pair as it travels on the wire (not yet validated). */
export interface Label {
  readonly name: string;
  readonly value: string;
}

/** `ReadRequest.ResponseType`: how a remote-read answer is encoded. */
export const ResponseType = {
  /** One snappy-compressed `ReadResponse` with raw samples. */
  SAMPLES: 0,
  /** A stream of CRC-checked frames, each a `ChunkedReadResponse` (see frames.ts). */
  STREAMED_XOR_CHUNKS: 1,
} as const;
export type ResponseType = (typeof ResponseType)[keyof typeof ResponseType];

/** `LabelMatcher.Type`. Decoders pass other numbers through; callers validate. */
export const MatcherType = {
  EQ: 0,
  NEQ: 1,
  RE: 2,
  NRE: 3,
} as const;
export type MatcherType = (typeof MatcherType)[keyof typeof MatcherType];

/**
 * `Chunk.Encoding`, matching chunkenc's encodings. Recent Prometheus
 * versions define further values (XOR2 = 4, HISTOGRAM_ST = 5,
 * FLOAT_HISTOGRAM_ST = 6); decoders pass any number through.
 */
export const ChunkType = {
  UNKNOWN: 0,
  XOR: 1,
  HISTOGRAM: 2,
  FLOAT_HISTOGRAM: 3,
} as const;
export type ChunkType = (typeof ChunkType)[keyof typeof ChunkType];

/**
 * A decoded remote-write 1.0 `WriteRequest`, as columns of offsets into the
 * protobuf bytes: no object per series, label or sample, and no string is
 * decoded (use `utf8Decode(buf, nameOff[j], nameLen[j])` when needed).
 *
 * Arrays may be longer than the counts; only the first `count` entries are
 * meaningful (later ones are unspecified, possibly stale memory). Exemplars, histograms and metadata are counted and skipped.
 * The offsets point into `buf`, which the columns keep alive: do not modify
 * `buf` while the columns are in use.
 */
export interface WriteRequestColumns {
  /** The protobuf bytes the offsets point into. */
  buf: Uint8Array;
  numSeries: number;
  numLabels: number;
  numSamples: number;
  /** `TimeSeries.exemplars` seen in all series (not decoded). */
  numExemplars: number;
  /** `TimeSeries.histograms` seen in all series (not decoded). */
  numHistograms: number;
  /** `WriteRequest.metadata` entries (not decoded). */
  numMetadata: number;
  /** Length numSeries+1: the labels of series i are `[labelStart[i], labelStart[i+1])`. */
  labelStart: Uint32Array;
  /** Per label: byte offset of the name in `buf`. */
  nameOff: Uint32Array;
  /** Per label: byte length of the name (0 when absent). */
  nameLen: Uint32Array;
  /** Per label: byte offset of the value in `buf`. */
  valueOff: Uint32Array;
  /** Per label: byte length of the value (0 when absent). */
  valueLen: Uint32Array;
  /**
   * Per series: the byte span `[labelsByteStart[i], labelsByteEnd[i])` in
   * `buf` from the first label field's tag to the end of the last label
   * field. Equal spans mean equal label lists (in the same order), so the
   * span's bytes serve as a cache key. Empty (start = end) without labels.
   * If a sender interleaves other fields between labels they are inside the
   * span; the key is then still safe, only less likely to hit.
   */
  labelsByteStart: Uint32Array;
  labelsByteEnd: Uint32Array;
  /** Length numSeries+1: the samples of series i are `[sampleStart[i], sampleStart[i+1])`. */
  sampleStart: Uint32Array;
  /** Per sample: timestamp in ms, in request order. */
  timestamps: Float64Array;
  /** Per sample: value, bit-exact (NaN payloads and -0.0 kept). */
  values: Float64Array;
}

/** Input of `encodeWriteRequest`: one series with its samples. */
export interface WriteSeries {
  readonly labels: readonly Label[];
  /** Timestamps in ms; integers within ±(2^53-1). */
  readonly timestamps: ArrayLike<number>;
  /** Values, same length as `timestamps`. Pass a Float64Array to keep NaN payloads. */
  readonly values: ArrayLike<number>;
}

/** `ReadHints`: what the querying PromQL expression will do with the data. */
export interface ReadHints {
  stepMs: number;
  func: string;
  startMs: number;
  endMs: number;
  grouping: string[];
  by: boolean;
  rangeMs: number;
}

/** `LabelMatcher`; `type` is a {@link MatcherType} value (unchecked by decoders). */
export interface LabelMatcher {
  type: number;
  name: string;
  value: string;
}

/** One remote-read `Query`. Times are inclusive, in ms. */
export interface Query {
  startTimestampMs: number;
  endTimestampMs: number;
  matchers: LabelMatcher[];
  /** Present only when the request carried hints. */
  hints?: ReadHints;
}

/** A remote-read `ReadRequest`. */
export interface ReadRequest {
  queries: Query[];
  /** {@link ResponseType} values in the client's order of preference (empty: SAMPLES). */
  acceptedResponseTypes: number[];
}

/** A series in a SAMPLES answer; `timestamps` and `values` hold exactly its samples. */
export interface ReadSeries {
  labels: readonly Label[];
  timestamps: Float64Array;
  values: Float64Array;
}

/** `QueryResult`: the series answering one query. */
export interface QueryResult {
  timeseries: ReadSeries[];
}

/** `ReadResponse`: one result per query, in query order. */
export interface ReadResponse {
  results: QueryResult[];
}

/** `Chunk` of a streamed answer. */
export interface ReadChunk {
  minTimeMs: number;
  maxTimeMs: number;
  /** A {@link ChunkType} value. */
  type: number;
  /** The encoded chunk. Decoders return a view into the frame's bytes. */
  data: Uint8Array;
}

/** `ChunkedSeries`: one series' labels and chunks in start-time order. */
export interface ChunkedSeries {
  labels: readonly Label[];
  chunks: ReadChunk[];
}

/** `ChunkedReadResponse`: the message inside one STREAMED_XOR_CHUNKS frame. */
export interface ChunkedReadResponse {
  chunkedSeries: ChunkedSeries[];
  /** Index of the query in `ReadRequest.queries` these chunks answer. */
  queryIndex: number;
}
