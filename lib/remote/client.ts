/**
 * A small remote_write / remote_read client over our own codecs, for the
 * tests, the benchmarks and tools. Uses the global fetch (undici).
 */
import { encodeWriteRequest } from '../prompb/write-v1.ts';
import { decodeChunkedReadResponse, decodeReadResponse, encodeReadRequest } from '../prompb/read.ts';
import { readFrames } from '../prompb/frames.ts';
import { snappyDecode, snappyEncode } from '../prompb/snappy.ts';
import { ResponseType, type ChunkedSeries, type Query, type WriteSeries } from '../prompb/types.ts';
import { XORChunk } from '../chunkenc/xor.ts';
import { Encoding } from '../chunkenc/chunk.ts';
import type { Label } from '../labels/labels.ts';
import { SampleBuffer } from '../storage/sample-buffer.ts';

export interface ClientOptions {
  /** Sent as X-Scope-OrgID when set. */
  tenant?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** A series with its samples, as remote read returns them. */
export interface SampleSeries {
  labels: readonly Label[];
  timestamps: Float64Array;
  values: Float64Array;
}

export class RemoteError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`HTTP ${status}: ${body.trim()}`);
  }
}

function headers(opts: ClientOptions, extra: Record<string, string>): Record<string, string> {
  const h: Record<string, string> = { ...extra, ...opts.headers };
  if (opts.tenant !== undefined) h['X-Scope-OrgID'] = opts.tenant;
  return h;
}

/** Sends an already encoded (uncompressed) WriteRequest; resolves on 2xx. */
export async function remoteWriteRaw(url: string, body: Uint8Array, opts: ClientOptions = {}): Promise<number> {
  const res = await fetch(url, {
    method: 'POST',
    body: snappyEncode(body),
    signal: opts.signal,
    headers: headers(opts, {
      'Content-Type': 'application/x-protobuf',
      'Content-Encoding': 'snappy',
      'X-Prometheus-Remote-Write-Version': '0.1.0',
    }),
  });
  const text = await res.text();
  if (!res.ok) throw new RemoteError(res.status, text);
  return res.status;
}

/** Writes series with remote write 1.0. */
export function remoteWrite(url: string, series: readonly WriteSeries[], opts: ClientOptions = {}): Promise<number> {
  return remoteWriteRaw(url, encodeWriteRequest(series), opts);
}

/**
 * Runs remote-read queries and returns, per query, the series with their
 * samples. In STREAMED_XOR_CHUNKS mode the chunks are decoded here (and also
 * returned raw in `chunks`).
 */
export async function remoteRead(
  url: string,
  queries: Query[],
  responseType: number = ResponseType.SAMPLES,
  opts: ClientOptions = {},
): Promise<{ results: SampleSeries[][]; chunks?: ChunkedSeries[][]; contentType: string }> {
  const res = await fetch(url, {
    method: 'POST',
    body: snappyEncode(encodeReadRequest({ queries, acceptedResponseTypes: [responseType] })),
    signal: opts.signal,
    headers: headers(opts, {
      'Content-Type': 'application/x-protobuf',
      'Content-Encoding': 'snappy',
      'X-Prometheus-Remote-Read-Version': '0.1.0',
    }),
  });
  const contentType = res.headers.get('content-type') ?? '';
  if (!res.ok) throw new RemoteError(res.status, await res.text());
  if (responseType === ResponseType.SAMPLES) {
    const body = new Uint8Array(await res.arrayBuffer());
    const rr = decodeReadResponse(snappyDecode(body, 1 << 30));
    return { results: rr.results.map((r) => r.timeseries), contentType };
  }
  const chunks: ChunkedSeries[][] = queries.map(() => []);
  const stream = res.body as unknown as AsyncIterable<Uint8Array>;
  for await (const msg of readFrames(stream)) {
    const cr = decodeChunkedReadResponse(msg.slice());
    for (const s of cr.chunkedSeries) chunks[cr.queryIndex]!.push(s);
  }
  return { results: chunks.map((list) => joinChunkedSeries(list)), chunks, contentType };
}

/** Decodes streamed series (one series may span frames) into samples. */
export function joinChunkedSeries(list: readonly ChunkedSeries[]): SampleSeries[] {
  const out: SampleSeries[] = [];
  const buf = new SampleBuffer(64);
  let prevKey = '';
  let labels: readonly Label[] = [];
  for (const s of list) {
    const key = JSON.stringify(s.labels);
    if (key !== prevKey) {
      if (prevKey !== '') out.push({ labels, ...buf.take() });
      prevKey = key;
      labels = s.labels;
    }
    for (const c of s.chunks) {
      if (c.type !== Encoding.XOR) throw new Error(`unexpected chunk type ${c.type}`);
      buf.drain(XORChunk.fromBytes(c.data).iterator());
    }
  }
  if (prevKey !== '') out.push({ labels, ...buf.take() });
  return out;
}
