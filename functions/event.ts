/**
 * Lambda Function URL events (payload format 2.0) to the transport-neutral
 * {@link HttpRequest} of `lib/server/types.ts`, and {@link HttpResponse}s
 * back: as one buffered result, or written to a response stream as the
 * body's chunks come (RESPONSE_STREAM invoke mode).
 *
 * What a Function URL does before we see the request: header names arrive
 * in lower case with repeated headers joined by commas, cookies arrive apart
 * in `cookies`, and a body that is not text (every remote-write and
 * remote-read body: snappy-compressed protobuf) arrives base64-encoded with
 * `isBase64Encoded` set. Lambda refuses invocation payloads over 6 MB
 * (the base64 text included) before the function runs.
 */
import type { Writable } from 'node:stream';
import type { APIGatewayProxyStructuredResultV2, LambdaFunctionURLEvent } from 'aws-lambda';
import { errorResponse, HttpError } from '../lib/remote/errors.ts';
import type { HttpHandler, HttpRequest, HttpResponse } from '../lib/server/types.ts';
import { StratusError, TooLargeError } from '../lib/util/errors.ts';

export type { LambdaFunctionURLEvent };

/** The buffered answer of a Function URL in BUFFERED invoke mode. */
export type FunctionUrlResult = APIGatewayProxyStructuredResultV2;

/** Lambda's cap on a synchronous invocation's request payload: 6 MB. */
export const LambdaPayloadLimitBytes = 6 * 1024 * 1024;

/** The one endpoint a function serves. */
export interface Endpoint {
  /** The accepted method, upper case (`POST`). */
  method: string;
  /** The accepted path (`/api/v1/write`); other paths get 404. */
  path: string;
  /** Largest decoded request body; larger ones get 413. */
  maxBodyBytes: number;
}

/** How many bytes a base64 text decodes to (padding and whitespace-free input, as Lambda sends it). */
export function base64DecodedLength(text: string): number {
  let pad = 0;
  if (text.endsWith('==')) pad = 2;
  else if (text.endsWith('=')) pad = 1;
  return Math.floor((text.length * 3) / 4) - pad;
}

/** The size of an event's body in bytes (decoded), for logs. */
export function eventBodyBytes(event: LambdaFunctionURLEvent): number {
  const text = event.body;
  if (text === undefined) return 0;
  return event.isBase64Encoded ? base64DecodedLength(text) : Buffer.byteLength(text, 'utf8');
}

/**
 * Converts a Function URL event into an {@link HttpRequest}. The body's
 * size is checked against `maxBodyBytes` before it is decoded.
 *
 * @throws TooLargeError if the decoded body would exceed `maxBodyBytes`.
 */
export function eventToRequest(event: LambdaFunctionURLEvent, maxBodyBytes: number): HttpRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value !== undefined) headers[name.toLowerCase()] = value;
  }
  if (event.cookies !== undefined && event.cookies.length > 0) headers['cookie'] = event.cookies.join('; ');

  let body: Uint8Array = new Uint8Array(0);
  const text = event.body;
  if (text !== undefined && text !== '') {
    const size = eventBodyBytes(event);
    if (size > maxBodyBytes) {
      throw new TooLargeError(`request body is ${size} bytes, the limit is ${maxBodyBytes}`);
    }
    const buf = Buffer.from(text, event.isBase64Encoded ? 'base64' : 'utf8');
    body = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  return {
    method: event.requestContext.http.method.toUpperCase(),
    path: event.rawPath,
    query: new URLSearchParams(event.rawQueryString ?? ''),
    headers,
    body,
  };
}

/**
 * Serves one event: checks method and path, converts the event and calls
 * `handler`. Problems found here (wrong method or path, oversized body)
 * become error responses, so this never throws.
 */
export async function serveEvent(event: LambdaFunctionURLEvent, endpoint: Endpoint, handler: HttpHandler): Promise<HttpResponse> {
  try {
    if (event.rawPath !== endpoint.path) {
      throw new HttpError(404, `no endpoint at ${event.rawPath}: this function serves ${endpoint.method} ${endpoint.path}`, 'not_found');
    }
    if (event.requestContext.http.method.toUpperCase() !== endpoint.method) {
      const res = errorResponse(
        new HttpError(405, `method ${event.requestContext.http.method} is not allowed on ${endpoint.path}; use ${endpoint.method}`, 'method_not_allowed'),
      );
      return { ...res, headers: { ...res.headers, allow: endpoint.method } };
    }
    return await handler(eventToRequest(event, endpoint.maxBodyBytes));
  } catch (err) {
    return errorResponse(err);
  }
}

/** Joins a streamed body into one array. */
async function collect(body: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const part of body) parts.push(part);
  return Buffer.concat(parts);
}

/**
 * Converts a response into a buffered Function URL result: text bodies as
 * they are, byte bodies (and streamed ones, joined) base64-encoded with
 * `isBase64Encoded` set.
 */
export async function responseToResult(res: HttpResponse): Promise<FunctionUrlResult> {
  const out: FunctionUrlResult = { statusCode: res.status, headers: { ...res.headers } };
  const body = res.body;
  if (body === undefined) return out;
  if (typeof body === 'string') {
    out.body = body;
    out.isBase64Encoded = false;
    return out;
  }
  const bytes = body instanceof Uint8Array ? body : await collect(body);
  out.body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  out.isBase64Encoded = true;
  return out;
}

/** Status line and headers of a streamed answer, as `awslambda.HttpResponseStream.from` takes them. */
export interface StreamPrelude {
  statusCode: number;
  headers: Record<string, string>;
}

/**
 * Sends the status and headers on `stream` and returns the stream the body
 * goes to (`awslambda.HttpResponseStream.from` in Lambda).
 */
export type OpenResponseStream = (stream: Writable, prelude: StreamPrelude) => Writable;

/** What {@link writeStreamedResponse} sent. */
export interface StreamedResult {
  status: number;
  /** Body bytes written (of strings, their UTF-8 length). */
  bytes: number;
  /** Chunks written. */
  chunks: number;
}

/** Writes one chunk, waiting for 'drain' when the stream's buffer is full. */
async function writeChunk(stream: Writable, chunk: Uint8Array | string): Promise<void> {
  if (stream.write(chunk)) return;
  await new Promise<void>((resolve, reject) => {
    const done = (err?: Error): void => {
      stream.removeListener('drain', onDrain);
      stream.removeListener('close', onClose);
      stream.removeListener('error', onError);
      if (err === undefined) resolve();
      else reject(err);
    };
    const onDrain = (): void => done();
    const onClose = (): void => done(new StratusError('response stream closed before the body was written'));
    const onError = (err?: Error): void => done(err ?? new StratusError('response stream failed'));
    stream.once('drain', onDrain);
    stream.once('close', onClose);
    stream.once('error', onError);
  });
}

function end(stream: Writable): Promise<void> {
  return new Promise((resolve) => stream.end(resolve));
}

/**
 * Writes a response to a Lambda response stream: the prelude through
 * `open`, then the body. A streamed body is written chunk by chunk as the
 * handler produces it, waiting for the stream to drain (the client's pace).
 *
 * The first chunk is pulled before the prelude is sent, so an error the
 * handler raises before producing any bytes (say, the index cannot be read)
 * still becomes a proper error status. After the prelude, an error can no
 * longer change the status: the stream is destroyed and the error
 * rethrown, so the invocation fails and the client sees the response cut
 * short rather than a clean end.
 */
export async function writeStreamedResponse(
  res: HttpResponse,
  stream: Writable,
  open: OpenResponseStream,
): Promise<StreamedResult> {
  let body = res.body;
  let first: IteratorResult<Uint8Array> | undefined;
  let it: AsyncIterator<Uint8Array> | undefined;
  if (body !== undefined && typeof body !== 'string' && !(body instanceof Uint8Array)) {
    it = body[Symbol.asyncIterator]();
    try {
      first = await it.next();
    } catch (err) {
      res = errorResponse(err);
      body = res.body;
      it = undefined;
    }
  }

  const out = open(stream, { statusCode: res.status, headers: { ...res.headers } });
  const result: StreamedResult = { status: res.status, bytes: 0, chunks: 0 };
  try {
    if (it !== undefined && first !== undefined) {
      for (let r = first; !r.done; r = await it.next()) {
        await writeChunk(out, r.value);
        result.bytes += r.value.byteLength;
        result.chunks++;
      }
    } else if (typeof body === 'string' || body instanceof Uint8Array) {
      await writeChunk(out, body);
      result.bytes = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
      result.chunks = 1;
    }
  } catch (err) {
    // Let a suspended generator run its cleanup (queriers closed) when the writing failed.
    await it?.return?.().catch(() => undefined);
    // The error is reported by the rethrow; the stream's own 'error' event
    // must not become an uncaught exception.
    out.on('error', () => {});
    out.destroy(err instanceof Error ? err : new StratusError(String(err)));
    throw err;
  }
  await end(out);
  return result;
}

/**
 * The `awslambda` global of the Lambda Node.js runtime (typed by
 * `@types/aws-lambda`), or undefined outside Lambda (tests, local runs).
 * The global's mere presence proves nothing: the AWS SDK's invoke-store
 * module creates an empty `globalThis.awslambda` wherever it loads.
 */
export function lambdaRuntime(): typeof awslambda | undefined {
  const g = (globalThis as { awslambda?: Partial<typeof awslambda> }).awslambda;
  if (typeof g?.streamifyResponse !== 'function' || typeof g.HttpResponseStream?.from !== 'function') return undefined;
  return g as typeof awslambda;
}

/** {@link OpenResponseStream} of the Lambda runtime (`awslambda.HttpResponseStream.from`). */
export function openLambdaResponseStream(stream: Writable, prelude: StreamPrelude): Writable {
  const runtime = lambdaRuntime();
  if (runtime === undefined) throw new StratusError('awslambda.HttpResponseStream exists only in the Lambda runtime');
  return runtime.HttpResponseStream.from(stream, { ...prelude });
}
