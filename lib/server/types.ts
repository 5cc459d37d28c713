/**
 * Transport-neutral HTTP request and response. `lib/server/http.ts` turns
 * node:http into these for the local server and the container; the Lambda
 * handlers in `functions/` do the same for Function URL events, so every
 * endpoint's logic is written once.
 */

export interface HttpRequest {
  method: string;
  /** Path without the query string, e.g. `/api/v1/write`. */
  path: string;
  /** Query-string parameters (repeated keys keep every value). */
  query: URLSearchParams;
  /** Header names in lower case. */
  headers: Readonly<Record<string, string | undefined>>;
  /** The whole body; the size limit has already been applied. */
  body: Uint8Array;
  /** Aborted when the client goes away or the server is shutting down hard. */
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  /** Header names in lower case. */
  headers?: Record<string, string>;
  /**
   * The body: bytes, a string, or a stream of byte chunks written in order
   * (used for STREAMED_XOR_CHUNKS; the transport flushes each chunk).
   */
  body?: Uint8Array | string | AsyncIterable<Uint8Array>;
}

/** One endpoint's logic. It never throws; errors become responses. */
export type HttpHandler = (req: HttpRequest) => Promise<HttpResponse>;
