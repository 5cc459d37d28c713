/**
 * The one log line of a request-serving invocation (write, read, query),
 * at a level that follows its outcome:
 *
 * - answered below 400: `debug`. A successful request needs no line: its
 *   count, duration and errors are Lambda's free metrics (Invocations,
 *   Duration, Errors), and its cost is in the per-tenant EMF lines
 *   (functions/cost.ts). Prometheus' own receiver and Powertools do not log
 *   every successful request either. At 2000 samples per request this line
 *   was ~400 of the ~1330 log bytes per invocation (docs/cost.md).
 * - 4xx: `warn`, with the error text sent to the client. Prometheus drops a
 *   batch answered 4xx, so the operator must see what was wrong with it.
 * - 5xx, or a streamed answer cut short: `error`, with the error text.
 *   Prometheus retries these; the ServerErrors metric filter of
 *   infra/constructs/stratus-function.ts counts them from this line
 *   (`msg` = "request", `status`), whatever the level.
 */
import { performance } from 'node:perf_hooks';
import type { LambdaFunctionURLEvent } from 'aws-lambda';
import type { Logger, LogFields, LogLevelName } from '../lib/util/logger.ts';
import { eventBodyBytes } from './event.ts';

/** The message of the line (the ServerErrors metric filter matches it). */
export const RequestMsg = 'request';

/** Error texts in the line are cut to this many characters (the answers are one line already). */
export const MaxErrorChars = 512;

/** The status of a streamed answer that broke after its status line was sent. */
export const CutShort = 'cut short';

/** The level of a request's line: see the module comment. */
export function requestLevel(status: number | typeof CutShort): LogLevelName {
  if (status === CutShort || status >= 500) return 'error';
  if (status >= 400) return 'warn';
  return 'debug';
}

/** The text of an error answer's body (a string or bytes), cut to {@link MaxErrorChars}; undefined for other bodies. */
export function errorText(body: unknown): string | undefined {
  let text: string | undefined;
  if (typeof body === 'string') text = body;
  else if (body instanceof Uint8Array) text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  if (text === undefined) return undefined;
  text = text.trim();
  return text.length > MaxErrorChars ? `${text.slice(0, MaxErrorChars)}…` : text;
}

/** The error text of an answer of 400 and above ({@link errorText} of its body); undefined below 400. */
export function errorOf(res: { status: number; body?: unknown }): string | undefined {
  return res.status >= 400 ? errorText(res.body) : undefined;
}

/**
 * Writes the request's line at {@link requestLevel}. `fields` are built
 * only when that level is enabled (they include the per-request operation
 * counts); `error` is added for answers of 400 and above.
 */
export function logRequest(logger: Logger, status: number | typeof CutShort, fields: () => LogFields, error?: string): void {
  const level = requestLevel(status);
  if (!logger.enabled(level)) return;
  logger[level](RequestMsg, { ...fields(), status, error: level === 'debug' ? undefined : error });
}

/**
 * The fields of a request's line: the event's id, method, path and body
 * size, then `extra` (e.g. bytes out), the time since `started`
 * (performance.now()) and the backend operations `ops` counted since it
 * last handed them out.
 */
export function eventLogFields(event: LambdaFunctionURLEvent, started: number, ops: { take(): unknown }, extra: LogFields = {}): LogFields {
  return {
    requestId: event.requestContext.requestId,
    method: event.requestContext.http.method,
    path: event.rawPath,
    bytesIn: eventBodyBytes(event),
    ...extra,
    ms: Math.round(performance.now() - started),
    ops: ops.take(),
  };
}
