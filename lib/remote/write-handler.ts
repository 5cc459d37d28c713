/**
 * POST /api/v1/write: Prometheus remote write 1.0, after Prometheus'
 * storage/remote/write_handler.go. Transport-neutral: the local server and
 * the Lambda function mount the same handler.
 *
 * A 2xx answer means every sample of the request is durable and indexed
 * (DESIGN invariant 1): the handler returns only after the appender's commit.
 */
import { decodeWriteRequest } from '../prompb/write-v1.ts';
import { utf8Decode } from '../prompb/pb.ts';
import { snappyDecode } from '../prompb/snappy.ts';
import type { WriteRequestColumns } from '../prompb/types.ts';
import { canonicalize, type LabelLimits } from '../labels/validate.ts';
import { labelsToString } from '../labels/labels.ts';
import { tenantFromHeaders } from '../storage/tenant.ts';
import type { Storage, TenantDB } from '../tsdb/db.ts';
import { newSeriesEntry } from '../tsdb/db.ts';
import type { SeriesHandle } from '../tsdb/series-cache.ts';
import type { HttpHandler, HttpRequest, HttpResponse } from '../server/types.ts';
import type { Logger } from '../util/logger.ts';
import { BadInputError, TooLargeError } from '../util/errors.ts';
import { errorResponse, HttpError, reasonOf, statusOf } from './errors.ts';
import type { RemoteMetrics } from './metrics.ts';

export interface WriteLimits {
  /** Largest decompressed body. @default 64 MiB */
  maxDecodedBytes?: number;
  /** Most series in one request. @default 100000 */
  maxSeriesPerRequest?: number;
  /** Most samples in one request. @default 1000000 */
  maxSamplesPerRequest?: number;
  /** Largest canonical label set of one series (bytes). @default 32 KiB */
  maxSeriesLabelBytes?: number;
  labels?: LabelLimits;
}

type ResolvedLimits = Required<Omit<WriteLimits, 'labels'>> & Pick<WriteLimits, 'labels'>;

export const DefaultWriteLimits: Readonly<ResolvedLimits> = {
  maxDecodedBytes: 64 * 1024 * 1024,
  maxSeriesPerRequest: 100_000,
  maxSamplesPerRequest: 1_000_000,
  maxSeriesLabelBytes: 32 * 1024,
};

export interface WriteHandlerOptions {
  storage: Storage;
  metrics: RemoteMetrics;
  logger: Logger;
  limits?: WriteLimits;
}

/** Checks Content-Type and Content-Encoding as remote write 1.0 requires. */
export function checkWriteHeaders(req: HttpRequest): void {
  const enc = (req.headers['content-encoding'] ?? '').trim().toLowerCase();
  if (enc !== 'snappy') {
    throw new HttpError(415, `unsupported Content-Encoding ${JSON.stringify(enc)}: remote write bodies must be snappy-compressed`, 'unsupported_media_type');
  }
  const ct = req.headers['content-type'];
  if (ct === undefined || ct === '') return; // remote write 1.0 senders may omit it
  const [type, ...params] = ct.split(';').map((s) => s.trim());
  if (type!.toLowerCase() !== 'application/x-protobuf') {
    throw new HttpError(415, `unsupported Content-Type ${JSON.stringify(ct)}: want application/x-protobuf`, 'unsupported_media_type');
  }
  for (const p of params) {
    const [k, v] = p.split('=').map((s) => s.trim());
    if (k?.toLowerCase() === 'proto' && v !== 'prometheus.WriteRequest') {
      throw new HttpError(415, `unsupported remote write message ${JSON.stringify(v)}: only prometheus.WriteRequest (remote write 1.0) is accepted`, 'unsupported_media_type');
    }
  }
}

export function newWriteHandler(opts: WriteHandlerOptions): HttpHandler {
  const limits: ResolvedLimits = { ...DefaultWriteLimits, ...opts.limits };
  const { metrics, logger } = opts;
  // Decoded columns of a finished request, recycled by the next decode (a
  // request uses them only in the synchronous part of the handler).
  let spare: WriteRequestColumns | undefined;

  return async (req: HttpRequest): Promise<HttpResponse> => {
    let tenant = '';
    let numSamples = 0;
    try {
      checkWriteHeaders(req);
      tenant = tenantFromHeaders(req.headers);
      const raw = snappyDecode(req.body, limits.maxDecodedBytes);
      const wr = decodeWriteRequest(raw, spare);
      spare = undefined;
      numSamples = wr.numSamples;
      if (wr.numSeries > limits.maxSeriesPerRequest) {
        throw new TooLargeError(`request has ${wr.numSeries} series, the limit is ${limits.maxSeriesPerRequest}`);
      }
      if (wr.numSamples > limits.maxSamplesPerRequest) {
        throw new TooLargeError(`request has ${wr.numSamples} samples, the limit is ${limits.maxSamplesPerRequest}`);
      }
      if (wr.numHistograms > 0) {
        throw new BadInputError(`request has ${wr.numHistograms} native histogram samples, which Stratus does not store yet; disable send_native_histograms`);
      }
      const db = opts.storage.tenant(tenant);
      const app = db.appender({ samples: wr.numSamples, series: wr.numSeries });
      const dv = new DataView(wr.buf.buffer, wr.buf.byteOffset, wr.buf.byteLength);
      let seriesWithSamples = 0;
      let prev: SeriesHandle | undefined;
      for (let i = 0; i < wr.numSeries; i++) {
        const from = wr.sampleStart[i]!;
        const to = wr.sampleStart[i + 1]!;
        if (from === to) continue; // e.g. a series carrying only exemplars
        prev = resolveSeries(db, wr, i, dv, limits, prev);
        app.appendMany(prev.entry, wr.timestamps, wr.values, from, to);
        seriesWithSamples++;
      }
      spare = wr; // the appender has copied the samples
      const res = await app.commit();
      metrics.samplesReceived.inc({ tenant }, res.numSamples + res.duplicatesDropped);
      metrics.seriesReceived.inc({ tenant }, seriesWithSamples);
      if (res.duplicatesDropped > 0) metrics.duplicateSamples.inc({ tenant }, res.duplicatesDropped);
      if (wr.numExemplars > 0) metrics.exemplarsDropped.inc({ tenant }, wr.numExemplars);
      if (wr.numMetadata > 0) metrics.metadataIgnored.inc({ tenant }, wr.numMetadata);
      if (res.bytes > 0) {
        // Once per segment: commits that shared it (group commit) report 0 bytes.
        metrics.objectsWritten.inc({ kind: 'segment' });
        metrics.objectBytesWritten.inc({ kind: 'segment' }, res.bytes);
      }
      if (res.seriesIndexed > 0) metrics.seriesIndexed.inc({ tenant }, res.seriesIndexed);
      return { status: 204 };
    } catch (err) {
      const reason = reasonOf(err);
      metrics.rejectedRequests.inc({ handler: 'write', reason });
      if (numSamples > 0) metrics.rejectedSamples.inc({ reason }, numSamples);
      const status = statusOf(err);
      if (status >= 500) logger.error('remote write failed', { tenant, err: String(err), cause: String((err as Error).cause ?? '') });
      else logger.debug('remote write rejected', { tenant, status, err: String(err) });
      return errorResponse(err);
    }
  };
}

/**
 * The series of series i: from the cache when these exact label bytes were
 * seen before, else decoded, validated and hashed once. `prev` is the
 * series before it in the request (a hint for the cache).
 */
function resolveSeries(db: TenantDB, wr: WriteRequestColumns, i: number, dv: DataView, limits: ResolvedLimits, prev: SeriesHandle | undefined): SeriesHandle {
  const start = wr.labelsByteStart[i]!;
  const end = wr.labelsByteEnd[i]!;
  const hit = db.series.find(wr.buf, dv, start, end, prev);
  if (hit !== undefined) return hit;

  const names: string[] = [];
  const values: string[] = [];
  for (let j = wr.labelStart[i]!; j < wr.labelStart[i + 1]!; j++) {
    const k = j - wr.labelStart[i]!;
    names.push(decodeLabelString(wr, wr.nameOff[j]!, wr.nameLen[j]!, () => `series ${i} label ${k} name`));
    values.push(decodeLabelString(wr, wr.valueOff[j]!, wr.valueLen[j]!, () => `label ${JSON.stringify(names[k])} value of series ${i}`));
  }
  const labels = canonicalize(names, values, limits.labels);
  const entry = newSeriesEntry(labels);
  if (entry.canonical.length > limits.maxSeriesLabelBytes) {
    throw new BadInputError(`series ${labelsToString(labels).slice(0, 200)} has ${entry.canonical.length} bytes of labels, the limit is ${limits.maxSeriesLabelBytes}`);
  }
  return db.series.add(wr.buf, dv, start, end, entry, prev);
}

function decodeLabelString(wr: WriteRequestColumns, off: number, len: number, what: () => string): string {
  try {
    return utf8Decode(wr.buf, off, len);
  } catch (err) {
    throw new BadInputError(`${what()}: ${(err as Error).message}`, { cause: err });
  }
}
