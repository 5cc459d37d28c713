/**
 * The one place where errors become HTTP status codes (DESIGN invariant 4).
 * Prometheus drops a batch on 4xx and retries it on 5xx, so bad input must
 * be 4xx and every backend trouble 5xx: a storage hiccup must never make the
 * sender throw data away.
 *
 * Throttling by a backend is answered 503 with Retry-After, not 429:
 * Prometheus 2.x retries 429 only with the experimental
 * `retry_on_http_429` set, and by default drops the batch (measured with
 * Debian's Prometheus 2.42: all 3505 samples answered 429 counted as
 * failed, none retried; test/e2e/backend-faults.test.ts keeps it so).
 */
import type { HttpResponse } from '../server/types.ts';
import { BackendError, BadInputError, StratusError, ThrottledError, TooLargeError } from '../util/errors.ts';

/** Request-level problem not tied to the body (415, 405, ...). */
export class HttpError extends StratusError {
  constructor(
    readonly status: number,
    message: string,
    readonly reason: string,
  ) {
    super(message);
  }
}

/** The status code for an error. */
export function statusOf(err: unknown): number {
  if (err instanceof HttpError) return err.status;
  if (err instanceof TooLargeError) return 413;
  if (err instanceof BadInputError) return 400;
  if (err instanceof BackendError) return 503; // ThrottledError included: see above
  return 500;
}

/**
 * A short machine-readable reason for metrics (`rejected by reason`),
 * derived from the error class and the codec prefix of its message.
 */
export function reasonOf(err: unknown): string {
  if (err instanceof HttpError) return err.reason;
  if (err instanceof TooLargeError) return 'too_large';
  if (err instanceof BadInputError) {
    const name = err.constructor.name;
    if (name === 'LabelError') return 'invalid_labels';
    if (name === 'RegexError') return 'invalid_matcher';
    const m = /^(snappy|protobuf)\b/.exec(err.message);
    if (m) return m[1] === 'snappy' ? 'invalid_snappy' : 'invalid_protobuf';
    return 'bad_request';
  }
  if (err instanceof ThrottledError) return 'throttled';
  return 'backend';
}

/** The one-line plain-text response for an error. */
export function errorResponse(err: unknown): HttpResponse {
  const status = statusOf(err);
  let msg = err instanceof Error ? err.message : String(err);
  if (status >= 500 && !(err instanceof StratusError)) msg = `internal error: ${msg}`;
  // One line, bounded: clients log it verbatim.
  msg = msg.replace(/[\r\n]+/g, ' ').slice(0, 1024);
  const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' };
  if (err instanceof ThrottledError) headers['retry-after'] = '1';
  return { status, headers, body: `${msg}\n` };
}
