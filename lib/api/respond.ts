/**
 * Turning an endpoint's outcome into the HTTP answer Prometheus gives:
 * JSON envelopes with `application/json`, error statuses by error type,
 * 204 when an endpoint has no data, and CORS headers for browser callers
 * (Prometheus' default `--web.cors.origin=.*`).
 */
import type { HttpHandler, HttpRequest, HttpResponse } from '../server/types.ts';
import { nopLogger, type Logger } from '../util/logger.ts';
import { ErrorType, statusOfErrorType, toApiError } from './errors.ts';
import { errorJson, successJson } from './json.ts';
import { FormValues } from './params.ts';

/** What an endpoint produced: encoded `data` (none: 204 No Content) and warnings. */
export interface ApiResult {
  data?: string;
  warnings?: readonly string[];
}

/** An endpoint's logic: it returns data or throws (an ApiError, a PromQLError, ...). */
export type ApiFunc = (req: HttpRequest, form: FormValues) => Promise<ApiResult>;

const corsHeaders: Readonly<Record<string, string>> = {
  'access-control-allow-headers': 'Accept, Authorization, Content-Type, Origin',
  'access-control-allow-methods': 'GET, POST, OPTIONS',
  'access-control-expose-headers': 'Date',
  'access-control-allow-origin': '*',
  vary: 'Origin',
};

function headersFor(req: HttpRequest): Record<string, string> {
  const h: Record<string, string> = { 'content-type': 'application/json' };
  if (req.headers['origin'] !== undefined && req.headers['origin'] !== '') Object.assign(h, corsHeaders);
  return h;
}

/** The JSON error answer for `err`, with Prometheus' status for its type. */
export function apiErrorResponse(err: unknown, req?: HttpRequest): HttpResponse {
  const e = toApiError(err);
  return {
    status: statusOfErrorType(e.errorType),
    headers: req === undefined ? { 'content-type': 'application/json' } : headersFor(req),
    body: errorJson(e.errorType, e.message),
  };
}

/**
 * Wraps an {@link ApiFunc} into an {@link HttpHandler} that never throws:
 * OPTIONS gets 204 (Prometheus answers every API path so, for CORS
 * preflights), errors become JSON error answers, internal ones are logged.
 */
export function apiHandler(name: string, fn: ApiFunc, logger: Logger = nopLogger): HttpHandler {
  return async (req) => {
    if (req.method === 'OPTIONS') return { status: 204, headers: headersFor(req) };
    try {
      const res = await fn(req, new FormValues(req));
      if (res.data === undefined) return { status: 204, headers: headersFor(req) };
      return { status: 200, headers: headersFor(req), body: successJson(res.data, res.warnings) };
    } catch (err) {
      const e = toApiError(err);
      if (e.errorType === ErrorType.internal) logger.error('API request failed', { endpoint: name, err });
      else logger.debug('API request refused', { endpoint: name, errorType: e.errorType, error: e.message });
      return apiErrorResponse(e, req);
    }
  };
}
