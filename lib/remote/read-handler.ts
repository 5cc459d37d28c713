/**
 * POST /api/v1/read: Prometheus remote read, after Prometheus'
 * storage/remote/read_handler.go. Answers SAMPLES (one snappy-compressed
 * ReadResponse) or STREAMED_XOR_CHUNKS (CRC-checked frames of
 * ChunkedReadResponse, one series per frame, at most `maxBytesInFrame`
 * each), whichever the client lists first among those it accepts.
 *
 * Both answers are written straight into one buffer from what the querier
 * holds (lib/remote/read-encode.ts): SAMPLES from the series' sorted columns
 * (block data as decoded, no iterator per sample), frames from the chunks,
 * handed to the transport in pieces of a few hundred KiB.
 */
import { decodeReadRequest } from '../prompb/read.ts';
import { snappyDecode, snappyEncode } from '../prompb/snappy.ts';
import { ResponseType, type LabelMatcher, type Query } from '../prompb/types.ts';
import { matchersKey, type Matcher } from '../labels/matcher.ts';
import { tenantFromHeaders } from '../storage/tenant.ts';
import type { Storage } from '../tsdb/db.ts';
import type { HttpHandler, HttpRequest, HttpResponse } from '../server/types.ts';
import type { Logger } from '../util/logger.ts';
import { BadInputError } from '../util/errors.ts';
import { toMatchers } from './codec.ts';
import { SampleBuffer } from '../storage/sample-buffer.ts';
import type { ColumnarSeries, ColumnSlice } from '../storage/merge.ts';
import type { Series } from '../storage/interface.ts';
import type { Labels } from '../labels/labels.ts';
import { encodeSamplesResponse, FrameWriter, labelFieldBytes, ScratchBuffer, type SampleSeries } from './read-encode.ts';
import { errorResponse, HttpError, reasonOf, statusOf } from './errors.ts';
import type { RemoteMetrics } from './metrics.ts';

export interface ReadHandlerOptions {
  storage: Storage;
  metrics: RemoteMetrics;
  logger: Logger;
  /** Most samples in a SAMPLES answer (Prometheus' --storage.remote.read-sample-limit). @default 5e7 */
  sampleLimit?: number;
  /** Largest frame of a streamed answer (Prometheus' --storage.remote.read-max-bytes-in-frame). @default 1 MiB */
  maxBytesInFrame?: number;
  /** Largest decompressed request. @default 4 MiB */
  maxDecodedBytes?: number;
}

export const ContentTypeSamples = 'application/x-protobuf';
export const ContentTypeStreamed = 'application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse';

export function newReadHandler(opts: ReadHandlerOptions): HttpHandler {
  const sampleLimit = opts.sampleLimit ?? 50_000_000;
  const maxBytesInFrame = opts.maxBytesInFrame ?? 1024 * 1024;
  const maxDecoded = opts.maxDecodedBytes ?? 4 * 1024 * 1024;
  const { metrics, logger } = opts;

  return async (req: HttpRequest): Promise<HttpResponse> => {
    let tenant = '';
    try {
      const enc = (req.headers['content-encoding'] ?? '').trim().toLowerCase();
      if (enc !== 'snappy') {
        throw new HttpError(415, `unsupported Content-Encoding ${JSON.stringify(enc)}: remote read requests must be snappy-compressed`, 'unsupported_media_type');
      }
      tenant = tenantFromHeaders(req.headers);
      const rr = decodeReadRequest(snappyDecode(req.body, maxDecoded));
      const type = negotiate(rr.acceptedResponseTypes);
      // Validate every query before answering, so that bad input is a 400
      // and not a stream cut short.
      const queries = rr.queries.map((q, i) => ({ q, matchers: cachedMatchers(q.matchers, i) }));
      const db = opts.storage.tenant(tenant);

      if (type === ResponseType.SAMPLES) {
        const results: SampleSeries[][] = [];
        let total = 0;
        for (const { q, matchers } of queries) {
          const { series, samples } = await samplesFor(db, q, matchers, sampleLimit - total);
          total += samples;
          results.push(series);
        }
        metrics.readQueries.inc({ response_type: 'samples' }, queries.length);
        metrics.readSamples.inc({ response_type: 'samples' }, total);
        return {
          status: 200,
          headers: { 'content-type': ContentTypeSamples, 'content-encoding': 'snappy' },
          // The protobuf goes into a reused buffer: it is compressed at once (synchronously).
          body: snappyEncode(encodeSamplesResponse(results, samplesScratch)),
        };
      }

      metrics.readQueries.inc({ response_type: 'streamed_xor_chunks' }, queries.length);
      return {
        status: 200,
        headers: { 'content-type': ContentTypeStreamed },
        body: await startStream(streamChunks(db, queries, maxBytesInFrame, metrics, logger)),
      };
    } catch (err) {
      metrics.rejectedRequests.inc({ handler: 'read', reason: reasonOf(err) });
      if (statusOf(err) >= 500) logger.error('remote read failed', { tenant, err: String(err) });
      return errorResponse(err);
    }
  };
}

/** The first response type in the client's list that we support. */
function negotiate(accepted: readonly number[]): number {
  if (accepted.length === 0) return ResponseType.SAMPLES;
  for (const t of accepted) if (t === ResponseType.SAMPLES || t === ResponseType.STREAMED_XOR_CHUNKS) return t;
  throw new BadInputError(`none of the accepted response types ${JSON.stringify(accepted)} is supported (SAMPLES=0, STREAMED_XOR_CHUNKS=1)`);
}

/** Where SAMPLES answers are encoded before compression (see encodeSamplesResponse). */
const samplesScratch = new ScratchBuffer();

/** Compiled matchers by (type, name, value): regexes are compiled once, not per request. */
const matcherCache = new Map<string, Matcher[]>();
const MatcherCacheSize = 256;

/** toMatchers, memoized: matchers are immutable, so sharing them across requests is safe. */
function cachedMatchers(pb: readonly LabelMatcher[], qi: number): Matcher[] {
  const key = matchersKey(pb);
  const hit = matcherCache.get(key);
  if (hit !== undefined) return hit;
  const ms = toMatchers(pb, qi);
  if (matcherCache.size >= MatcherCacheSize) matcherCache.delete(matcherCache.keys().next().value!);
  matcherCache.set(key, ms);
  return ms;
}

/**
 * Label fields by label set. Blocks hand out the same label set objects
 * for as long as their index is cached, so repeated reads skip encoding;
 * entries go when the label sets do.
 */
const labelBytes = new WeakMap<Labels, Uint8Array>();

function labelsOf(labels: Labels): Uint8Array {
  let b = labelBytes.get(labels);
  if (b === undefined) labelBytes.set(labels, (b = labelFieldBytes(labels)));
  return b;
}

function isColumnar(s: Series): s is Series & ColumnarSeries {
  return typeof (s as Partial<ColumnarSeries>).columns === 'function';
}

/** The samples of a series as column slices: its own columns when it has them, else drained from its iterator. */
function columnsOf(s: Series, buf: SampleBuffer): ColumnSlice[] {
  if (isColumnar(s)) return s.columns();
  const n = buf.drain(s.iterator());
  if (n === 0) return [];
  const { timestamps, values } = buf.take();
  return [{ t: timestamps, v: values, from: 0, to: n }];
}

async function samplesFor(
  db: ReturnType<Storage['tenant']>,
  q: Query,
  matchers: Matcher[],
  budget: number,
): Promise<{ series: SampleSeries[]; samples: number }> {
  const querier = await db.querier(q.startTimestampMs, q.endTimestampMs);
  try {
    const set = querier.select(true, { start: q.startTimestampMs, end: q.endTimestampMs }, ...matchers);
    const series: SampleSeries[] = [];
    let total = 0;
    const buf = new SampleBuffer();
    while (await set.next()) {
      const s = set.at();
      const cols = columnsOf(s, buf);
      let n = 0;
      for (const c of cols) n += c.to - c.from;
      if (n === 0) continue;
      total += n;
      if (total > budget) throw new BadInputError(`exceeded sample limit: the answer would hold more than ${budget} samples; narrow the query`);
      series.push({ labels: labelsOf(s.labels), cols });
    }
    return { series, samples: total };
  } finally {
    await querier.close();
  }
}

/**
 * Runs a streamed answer up to its second piece before the status is
 * sent. An answer that fits one piece (most: a piece is 256 KiB of frames)
 * goes out as bytes, written with its length in one go, instead of as a
 * stream (a write for the piece and another for the end of the chunked
 * encoding: about 0.2 ms of CPU per request and a second packet, measured).
 * The frames are the same either way. Errors up to there reject, so they
 * still become an error status.
 */
async function startStream(pieces: AsyncGenerator<Uint8Array>): Promise<Uint8Array | AsyncIterable<Uint8Array>> {
  const first = await pieces.next();
  if (first.done === true) return new Uint8Array(0);
  const second = await pieces.next();
  if (second.done === true) return first.value;
  // The rest, after the two pieces made; closing it early closes `pieces` (and so the querier).
  const head = [first.value, second.value];
  return {
    [Symbol.asyncIterator]: () => ({
      next: async (): Promise<IteratorResult<Uint8Array>> => (head.length > 0 ? { done: false, value: head.shift()! } : pieces.next()),
      return: async (): Promise<IteratorResult<Uint8Array>> => {
        head.length = 0;
        await pieces.return(undefined);
        return { done: true, value: undefined };
      },
    }),
  };
}

/** Streamed answers are handed to the transport in pieces of at least this many bytes (whole frames). */
const StreamPieceBytes = 256 * 1024;

/** Frames of a STREAMED_XOR_CHUNKS answer, query by query, series by series. */
async function* streamChunks(
  db: ReturnType<Storage['tenant']>,
  queries: { q: Query; matchers: Matcher[] }[],
  maxBytesInFrame: number,
  metrics: RemoteMetrics,
  logger: Logger,
): AsyncGenerator<Uint8Array> {
  const out = new FrameWriter(maxBytesInFrame);
  for (let qi = 0; qi < queries.length; qi++) {
    const { q, matchers } = queries[qi]!;
    const querier = await db.chunkQuerier(q.startTimestampMs, q.endTimestampMs);
    try {
      const set = querier.select(true, { start: q.startTimestampMs, end: q.endTimestampMs }, ...matchers);
      while (await set.next()) {
        const s = set.at();
        out.addSeries(labelsOf(s.labels), s.chunks, qi);
        metrics.readChunks.inc(s.chunks.length);
        if (out.length >= StreamPieceBytes) yield out.take();
      }
    } catch (err) {
      logger.error('remote read stream failed', { query: qi, err: String(err) });
      throw err;
    } finally {
      await querier.close();
    }
  }
  if (out.length > 0) yield out.take();
}
