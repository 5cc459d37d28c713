import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BadInputError } from '../../../lib/util/errors.ts';
import {
  ChunkType,
  DEFAULT_MAX_BYTES_IN_FRAME,
  MatcherType,
  ResponseType,
  decodeChunkedReadResponse,
  decodeReadRequest,
  decodeReadResponse,
  encodeChunkedReadResponse,
  encodeReadRequest,
  encodeReadResponse,
  encodedChunkSize,
  encodedChunkedReadResponseSize,
  encodedLabelsSize,
} from '../../../lib/prompb/read.ts';
import type { ChunkedReadResponse, ReadRequest, ReadResponse } from '../../../lib/prompb/read.ts';
import { delimitedSize } from '../../../lib/prompb/pb.ts';
import {
  STALE_NAN_BITS,
  arrayBits,
  bitsOf,
  i64,
  int,
  mutate,
  num,
  oracle,
  pick,
  randomString,
  randomTimestamp,
  randomValueInto,
  rng,
} from './helpers.ts';

const root = oracle();
const PbReadRequest = root.lookupType('prometheus.ReadRequest');
const PbReadRequestUnpacked = root.lookupType('prometheus.ReadRequestUnpacked');
const PbReadResponse = root.lookupType('prometheus.ReadResponse');
const PbChunked = root.lookupType('prometheus.ChunkedReadResponse');

function throwsBad(fn: () => unknown, msg: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof BadInputError, `want BadInputError, got ${String(e)}`);
    assert.match(e.message, msg);
    return true;
  });
}

const labelsOf = (r: () => number) =>
  Array.from({ length: int(r, 5) }, () => ({ name: randomString(r), value: randomString(r) }));

function randomReadRequest(r: () => number): ReadRequest {
  return {
    queries: Array.from({ length: int(r, 4) }, () => {
      const q: ReadRequest['queries'][number] = {
        startTimestampMs: randomTimestamp(r),
        endTimestampMs: randomTimestamp(r),
        matchers: Array.from({ length: int(r, 4) }, () => ({
          type: int(r, 4),
          name: randomString(r),
          value: randomString(r),
        })),
      };
      if (r() < 0.6) {
        q.hints = {
          stepMs: randomTimestamp(r),
          func: pick(r, ['', 'rate', 'sum_over_time', randomString(r)]),
          startMs: randomTimestamp(r),
          endMs: randomTimestamp(r),
          grouping: Array.from({ length: int(r, 3) }, () => randomString(r)),
          by: r() < 0.5,
          rangeMs: randomTimestamp(r),
        };
      }
      return q;
    }),
    acceptedResponseTypes: Array.from({ length: int(r, 3) }, () => int(r, 2)),
  };
}

/** The protobufjs object for a ReadRequest. */
function pbReadRequest(req: ReadRequest): object {
  return {
    queries: req.queries.map((q) => ({
      startTimestampMs: i64(q.startTimestampMs),
      endTimestampMs: i64(q.endTimestampMs),
      matchers: q.matchers,
      hints:
        q.hints === undefined
          ? undefined
          : {
              ...q.hints,
              stepMs: i64(q.hints.stepMs),
              startMs: i64(q.hints.startMs),
              endMs: i64(q.hints.endMs),
              rangeMs: i64(q.hints.rangeMs),
            },
    })),
    acceptedResponseTypes: req.acceptedResponseTypes,
  };
}

/** Our ReadRequest shape from a protobufjs-decoded one. */
function fromPbReadRequest(m: Record<string, unknown>): ReadRequest {
  const o = PbReadRequest.toObject(m as never, { defaults: true, enums: Number }) as {
    queries: {
      startTimestampMs: unknown;
      endTimestampMs: unknown;
      matchers: { type: number; name: string; value: string }[];
      hints?: Record<string, unknown> & { grouping: string[]; func: string; by: boolean };
    }[];
    acceptedResponseTypes: number[];
  };
  return {
    queries: o.queries.map((q) => {
      const out: ReadRequest['queries'][number] = {
        startTimestampMs: num(q.startTimestampMs),
        endTimestampMs: num(q.endTimestampMs),
        matchers: q.matchers.map((x) => ({ type: x.type, name: x.name, value: x.value })),
      };
      if (q.hints != null) {
        out.hints = {
          stepMs: num(q.hints.stepMs),
          func: q.hints.func,
          startMs: num(q.hints.startMs),
          endMs: num(q.hints.endMs),
          grouping: q.hints.grouping,
          by: q.hints.by,
          rangeMs: num(q.hints.rangeMs),
        };
      }
      return out;
    }),
    acceptedResponseTypes: o.acceptedResponseTypes,
  };
}

describe('ReadRequest', () => {
  it('exports the enum numbers of remote.proto and types.proto', () => {
    assert.deepEqual(ResponseType, { SAMPLES: 0, STREAMED_XOR_CHUNKS: 1 });
    assert.deepEqual(MatcherType, { EQ: 0, NEQ: 1, RE: 2, NRE: 3 });
    assert.deepEqual(ChunkType, { UNKNOWN: 0, XOR: 1, HISTOGRAM: 2, FLOAT_HISTOGRAM: 3 });
  });

  it('decodes 300 random requests encoded by protobufjs, packed and unpacked', () => {
    const r = rng(21);
    for (let iter = 0; iter < 300; iter++) {
      // Prepare
      const want = randomReadRequest(r);
      const type = iter % 2 === 0 ? PbReadRequest : PbReadRequestUnpacked;
      const buf = type.encode(type.fromObject(pbReadRequest(want))).finish();
      // Act
      const got = decodeReadRequest(buf);
      // Assess
      assert.deepEqual(got, want);
    }
  });

  it('encodes 300 random requests that protobufjs decodes identically', () => {
    const r = rng(22);
    for (let iter = 0; iter < 300; iter++) {
      const want = randomReadRequest(r);
      const buf = encodeReadRequest(want);
      assert.deepEqual(fromPbReadRequest(PbReadRequest.decode(buf) as never), want);
      assert.deepEqual(decodeReadRequest(buf), want);
    }
  });

  it('writes accepted_response_types packed, as Prometheus does', () => {
    const buf = encodeReadRequest({ queries: [], acceptedResponseTypes: [1, 0] });
    assert.equal(Buffer.from(buf).toString('hex'), '12020100');
  });

  it('merges repeated hints fields and accepts a mix of packed and unpacked types', () => {
    // queries{ hints{ step_ms 5 } hints{ func "f" } } types 1 (unpacked), [0, 1] (packed)
    const buf = Uint8Array.from([0x0a, 0x09, 0x22, 0x02, 0x08, 0x05, 0x22, 0x03, 0x12, 0x01, 0x66, 0x10, 0x01, 0x12, 0x02, 0x00, 0x01]);
    const req = decodeReadRequest(buf);
    assert.equal(req.queries[0]!.hints!.stepMs, 5);
    assert.equal(req.queries[0]!.hints!.func, 'f');
    assert.deepEqual(req.acceptedResponseTypes, [1, 0, 1]);
  });

  const bad: { name: string; bytes: number[]; msg: RegExp }[] = [
    {
      name: 'a matcher with invalid UTF-8',
      bytes: [0x0a, 0x07, 0x1a, 0x05, 0x08, 0x01, 0x12, 0x01, 0xff],
      msg: /^protobuf: ReadRequest\.queries\[0\]\.matchers\[0\]\.name: invalid UTF-8/,
    },
    {
      name: 'a start timestamp over 2^53-1',
      bytes: [0x0a, 0x09, 0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10],
      msg: /^protobuf: ReadRequest\.queries\[0\]\.start_timestamp_ms: int64 at byte 3 is outside/,
    },
    {
      name: 'hints given as a varint',
      bytes: [0x0a, 0x02, 0x20, 0x01],
      msg: /^protobuf: ReadRequest\.queries\[0\]: hints: wire type 0, want 2/,
    },
    {
      name: 'a truncated packed response type',
      bytes: [0x12, 0x01, 0x80],
      msg: /^protobuf: ReadRequest\.accepted_response_types: truncated varint at byte 2/,
    },
    {
      name: 'a group',
      bytes: [0x0a, 0x02, 0x3b, 0x3c],
      msg: /^protobuf: ReadRequest\.queries\[0\]: group wire type 3/,
    },
  ];
  for (const c of bad) {
    it(`rejects ${c.name}, naming the field`, () => throwsBad(() => decodeReadRequest(Uint8Array.from(c.bytes)), c.msg));
  }
});

function randomReadResponse(r: () => number): ReadResponse {
  return {
    results: Array.from({ length: int(r, 3) }, () => ({
      timeseries: Array.from({ length: int(r, 4) }, () => {
        const n = int(r, 6);
        const values = new Float64Array(n);
        for (let k = 0; k < n; k++) randomValueInto(r, values, k);
        return {
          labels: labelsOf(r),
          timestamps: Float64Array.from({ length: n }, () => randomTimestamp(r)),
          values,
        };
      }),
    })),
  };
}

/** Comparable form of a ReadResponse, with value bits instead of values. */
function plainResponse(resp: ReadResponse) {
  return resp.results.map((res) =>
    res.timeseries.map((s) => ({ labels: [...s.labels], timestamps: [...s.timestamps], values: arrayBits(s.values) })),
  );
}

describe('ReadResponse (SAMPLES)', () => {
  it('round-trips 300 random responses, values bit-exact', () => {
    const r = rng(31);
    for (let iter = 0; iter < 300; iter++) {
      const want = randomReadResponse(r);
      const got = decodeReadResponse(encodeReadResponse(want));
      assert.deepEqual(plainResponse(got), plainResponse(want));
    }
  });

  it('agrees with protobufjs both ways', () => {
    const r = rng(32);
    for (let iter = 0; iter < 200; iter++) {
      const want = randomReadResponse(r);
      // ours -> protobufjs
      const o = PbReadResponse.toObject(PbReadResponse.decode(encodeReadResponse(want)), { defaults: true }) as {
        results: { timeseries: { labels: object[]; samples: { value: number; timestamp: unknown }[] }[] }[];
      };
      assert.deepEqual(
        o.results.map((res) =>
          res.timeseries.map((s) => ({
            labels: s.labels,
            timestamps: s.samples.map((x) => num(x.timestamp)),
            values: s.samples.map((x) => bitsOf(x.value)),
          })),
        ),
        plainResponse(want),
      );
      // protobufjs -> ours, with exemplars and histograms to skip
      const pb = {
        results: want.results.map((res) => ({
          timeseries: res.timeseries.map((s) => ({
            labels: s.labels,
            samples: [...s.timestamps].map((t, k) => ({ timestamp: i64(t), value: s.values[k] })),
            exemplars: [{ labels: [{ name: 'trace_id', value: 'abc' }], value: 1, timestamp: 5 }],
            histograms: [{ countInt: 3, sum: 1.5, timestamp: 7 }],
          })),
        })),
      };
      const buf = PbReadResponse.encode(PbReadResponse.fromObject(pb)).finish();
      assert.deepEqual(plainResponse(decodeReadResponse(buf)), plainResponse(want));
    }
  });

  it('keeps the stale marker and -0.0, unlike a proto3 encoder that omits zero doubles', () => {
    const values = new Float64Array(2);
    new BigUint64Array(values.buffer).set([STALE_NAN_BITS, 0x8000000000000000n]);
    const resp = { results: [{ timeseries: [{ labels: [], timestamps: new Float64Array([1, 2]), values }] }] };
    assert.deepEqual(arrayBits(decodeReadResponse(encodeReadResponse(resp)).results[0]!.timeseries[0]!.values), [
      '7ff0000000000002',
      '8000000000000000',
    ]);
  });

  it('keeps empty results so results line up with queries', () => {
    const buf = encodeReadResponse({ results: [{ timeseries: [] }, { timeseries: [] }] });
    assert.equal(decodeReadResponse(buf).results.length, 2);
  });

  it('rejects series whose timestamps and values differ in length', () => {
    const resp = { results: [{ timeseries: [{ labels: [], timestamps: new Float64Array(2), values: new Float64Array(1) }] }] };
    throwsBad(() => encodeReadResponse(resp), /results\[0\]\.timeseries\[0\]: 2 timestamps but 1 values/);
  });

  it('names the sample in errors', () => {
    // results{ timeseries{ samples{} samples{ timestamp <truncated> } } }
    const buf = Uint8Array.from([0x0a, 0x08, 0x0a, 0x06, 0x12, 0x00, 0x12, 0x02, 0x10, 0x80]);
    throwsBad(
      () => decodeReadResponse(buf),
      /^protobuf: ReadResponse\.results\[0\]\.timeseries\[0\]\.samples\[1\]\.timestamp: truncated varint at byte 9$/,
    );
  });
});

function randomChunked(r: () => number): ChunkedReadResponse {
  return {
    chunkedSeries: Array.from({ length: int(r, 3) }, () => ({
      labels: labelsOf(r),
      chunks: Array.from({ length: int(r, 4) }, () => ({
        minTimeMs: randomTimestamp(r),
        maxTimeMs: randomTimestamp(r),
        type: int(r, 4),
        data: Uint8Array.from({ length: pick(r, [0, 1, 5, 130, 300]) }, () => int(r, 256)),
      })),
    })),
    queryIndex: pick(r, [0, 1, 7, 300, -1]),
  };
}

const plainChunked = (c: ChunkedReadResponse) => ({
  queryIndex: c.queryIndex,
  chunkedSeries: c.chunkedSeries.map((s) => ({
    labels: [...s.labels],
    chunks: s.chunks.map((x) => ({ ...x, data: Buffer.from(x.data).toString('hex') })),
  })),
});

describe('ChunkedReadResponse', () => {
  it('round-trips and agrees with protobufjs both ways', () => {
    const r = rng(41);
    for (let iter = 0; iter < 300; iter++) {
      const want = randomChunked(r);
      const buf = encodeChunkedReadResponse(want);
      assert.deepEqual(plainChunked(decodeChunkedReadResponse(buf)), plainChunked(want));
      const o = PbChunked.toObject(PbChunked.decode(buf), { defaults: true, enums: Number }) as {
        queryIndex: unknown;
        chunkedSeries: { labels: object[]; chunks: { minTimeMs: unknown; maxTimeMs: unknown; type: number; data: Uint8Array }[] }[];
      };
      assert.deepEqual(
        plainChunked({
          queryIndex: num(o.queryIndex),
          chunkedSeries: o.chunkedSeries.map((s) => ({
            labels: s.labels as { name: string; value: string }[],
            chunks: s.chunks.map((x) => ({ minTimeMs: num(x.minTimeMs), maxTimeMs: num(x.maxTimeMs), type: x.type, data: x.data })),
          })),
        }),
        plainChunked(want),
      );
      const pb = {
        queryIndex: i64(want.queryIndex),
        chunkedSeries: want.chunkedSeries.map((s) => ({
          labels: s.labels,
          chunks: s.chunks.map((x) => ({ ...x, minTimeMs: i64(x.minTimeMs), maxTimeMs: i64(x.maxTimeMs) })),
        })),
      };
      const theirs = PbChunked.encode(PbChunked.fromObject(pb)).finish();
      assert.deepEqual(plainChunked(decodeChunkedReadResponse(theirs)), plainChunked(want));
    }
  });

  it('returns chunk data as views into the message', () => {
    const buf = encodeChunkedReadResponse({
      chunkedSeries: [{ labels: [], chunks: [{ minTimeMs: 1, maxTimeMs: 2, type: ChunkType.XOR, data: Uint8Array.from([9, 8, 7]) }] }],
      queryIndex: 0,
    });
    const data = decodeChunkedReadResponse(buf).chunkedSeries[0]!.chunks[0]!.data;
    assert.equal(data.buffer, buf.buffer);
  });

  it('predicts the exact encoded size, so frames can be kept under a byte limit', () => {
    const r = rng(42);
    for (let iter = 0; iter < 500; iter++) {
      const resp = randomChunked(r);
      resp.chunkedSeries = resp.chunkedSeries.slice(0, 1);
      let body = 0;
      for (const s of resp.chunkedSeries) {
        body = encodedLabelsSize(s.labels);
        for (const c of s.chunks) body += encodedChunkSize(c);
      }
      const want = encodeChunkedReadResponse(resp).length;
      if (resp.chunkedSeries.length === 1) {
        assert.equal(encodedChunkedReadResponseSize(body, resp.queryIndex), want);
      } else {
        assert.equal(encodedChunkedReadResponseSize(0, resp.queryIndex) - delimitedSize(0), want);
      }
    }
  });

  it('lets a caller split a long series into frames under the default limit', () => {
    // Prepare: 40 chunks of 100 KB each.
    const labels = [{ name: '__name__', value: 'up' }];
    const chunks = Array.from({ length: 40 }, (_, i) => ({
      minTimeMs: i * 1000,
      maxTimeMs: i * 1000 + 999,
      type: ChunkType.XOR,
      data: new Uint8Array(100_000).fill(i),
    }));
    // Act: greedy packing with the size helpers.
    const frames: Uint8Array[] = [];
    let batch: typeof chunks = [];
    let body = encodedLabelsSize(labels);
    for (const c of chunks) {
      const size = encodedChunkSize(c);
      if (batch.length > 0 && encodedChunkedReadResponseSize(body + size, 3) > DEFAULT_MAX_BYTES_IN_FRAME) {
        frames.push(encodeChunkedReadResponse({ chunkedSeries: [{ labels, chunks: batch }], queryIndex: 3 }));
        batch = [];
        body = encodedLabelsSize(labels);
      }
      batch.push(c);
      body += size;
    }
    frames.push(encodeChunkedReadResponse({ chunkedSeries: [{ labels, chunks: batch }], queryIndex: 3 }));
    // Assess
    assert.equal(frames.length, 4);
    for (const f of frames) assert.ok(f.length <= DEFAULT_MAX_BYTES_IN_FRAME, `frame of ${f.length} bytes`);
    const back = frames.flatMap((f) => decodeChunkedReadResponse(f).chunkedSeries[0]!.chunks.map((c) => c.minTimeMs));
    assert.deepEqual(back, chunks.map((c) => c.minTimeMs));
  });
});

describe('read decoders under random corruption', () => {
  it('throw only BadInputError on 3000 mutated messages', () => {
    const r = rng(77);
    const seeds: [string, Uint8Array, (b: Uint8Array) => unknown][] = [];
    for (let i = 0; i < 15; i++) {
      seeds.push(['ReadRequest', encodeReadRequest(randomReadRequest(r)), decodeReadRequest]);
      seeds.push(['ReadResponse', encodeReadResponse(randomReadResponse(r)), decodeReadResponse]);
      seeds.push(['ChunkedReadResponse', encodeChunkedReadResponse(randomChunked(r)), decodeChunkedReadResponse]);
    }
    let rejected = 0;
    for (let iter = 0; iter < 3000; iter++) {
      const [name, seed, decode] = pick(r, seeds);
      try {
        decode(mutate(r, seed));
      } catch (e) {
        assert.ok(e instanceof BadInputError, `${name} mutation ${iter}: ${String(e)}`);
        assert.match(e.message, new RegExp(`^protobuf: ${name}`));
        rejected++;
      }
    }
    assert.ok(rejected > 300, `only ${rejected} rejected`);
  });
});
