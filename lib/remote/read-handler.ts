/**
 * POST /api/v1/read: Prometheus remote read, after Prometheus'
 * storage/remote/read_handler.go. Answers SAMPLES (one snappy-compressed
 * ReadResponse) or STREAMED_XOR_CHUNKS (CRC-checked frames of
 * ChunkedReadResponse, one series per frame, at most `maxBytesInFrame`
 * each), whichever the client lists first among those it accepts.
 */
import { decodeReadRequest, encodeReadResponse } from '../prompb/read.ts';
import { seriesFrames } from './chunked.ts';
import { snappyDecode, snappyEncode } from '../prompb/snappy.ts';
import { ResponseType, type Query, type QueryResult, type ReadSeries } from '../prompb/types.ts';
import type { Matcher } from '../labels/matcher.ts';
import { tenantFromHeaders } from '../storage/tenant.ts';
import type { Storage } from '../tsdb/db.ts';
import type { HttpHandler, HttpRequest, HttpResponse } from '../server/types.ts';
import type { Logger } from '../util/logger.ts';
import { BadInputError } from '../util/errors.ts';
import { toMatchers } from './codec.ts';
import { SampleBuffer } from '../storage/sample-buffer.ts';
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
      const queries = rr.queries.map((q, i) => ({ q, matchers: toMatchers(q.matchers, i) }));
      const db = opts.storage.tenant(tenant);

      if (type === ResponseType.SAMPLES) {
        const results: QueryResult[] = [];
        let total = 0;
        for (const { q, matchers } of queries) {
          const { result, samples } = await samplesFor(db, q, matchers, sampleLimit - total);
          total += samples;
          results.push(result);
        }
        metrics.readQueries.inc({ response_type: 'samples' }, queries.length);
        metrics.readSamples.inc({ response_type: 'samples' }, total);
        return {
          status: 200,
          headers: { 'content-type': ContentTypeSamples, 'content-encoding': 'snappy' },
          body: snappyEncode(encodeReadResponse({ results })),
        };
      }

      metrics.readQueries.inc({ response_type: 'streamed_xor_chunks' }, queries.length);
      return {
        status: 200,
        headers: { 'content-type': ContentTypeStreamed },
        body: streamChunks(db, queries, maxBytesInFrame, metrics, logger),
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

async function samplesFor(
  db: ReturnType<Storage['tenant']>,
  q: Query,
  matchers: Matcher[],
  budget: number,
): Promise<{ result: QueryResult; samples: number }> {
  const querier = await db.querier(q.startTimestampMs, q.endTimestampMs);
  try {
    const set = querier.select(true, { start: q.startTimestampMs, end: q.endTimestampMs }, ...matchers);
    const timeseries: ReadSeries[] = [];
    let total = 0;
    const buf = new SampleBuffer();
    while (await set.next()) {
      const s = set.at();
      const n = buf.drain(s.iterator());
      if (n === 0) continue;
      total += n;
      if (total > budget) throw new BadInputError(`exceeded sample limit: the answer would hold more than ${budget} samples; narrow the query`);
      timeseries.push({ labels: s.labels, ...buf.take() });
    }
    return { result: { timeseries }, samples: total };
  } finally {
    await querier.close();
  }
}

/** Frames of a STREAMED_XOR_CHUNKS answer, query by query, series by series. */
async function* streamChunks(
  db: ReturnType<Storage['tenant']>,
  queries: { q: Query; matchers: Matcher[] }[],
  maxBytesInFrame: number,
  metrics: RemoteMetrics,
  logger: Logger,
): AsyncGenerator<Uint8Array> {
  for (let qi = 0; qi < queries.length; qi++) {
    const { q, matchers } = queries[qi]!;
    const querier = await db.chunkQuerier(q.startTimestampMs, q.endTimestampMs);
    try {
      const set = querier.select(true, { start: q.startTimestampMs, end: q.endTimestampMs }, ...matchers);
      while (await set.next()) {
        const s = set.at();
        const chunks = s.chunks.map((c) => ({ minTimeMs: c.minTime, maxTimeMs: c.maxTime, type: c.encoding, data: c.data }));
        yield* seriesFrames(s.labels, chunks, qi, maxBytesInFrame);
        metrics.readChunks.inc(s.chunks.length);
      }
    } catch (err) {
      logger.error('remote read stream failed', { query: qi, err: String(err) });
      throw err;
    } finally {
      await querier.close();
    }
  }
}
