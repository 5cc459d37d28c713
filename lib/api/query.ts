/**
 * `/api/v1/query` and `/api/v1/query_range`, with Prometheus 2.42's
 * parameter checks in its order and its error texts (web/api/v1/api.go
 * `query`, `queryRange`), evaluated by the injected engine over the
 * tenant's storage.
 */
import { Counter, type Registry } from 'prom-client';
import { compareLabels } from '../labels/labels.ts';
import { PromQLError } from '../promql/errors.ts';
import type { Value } from '../promql/value.ts';
import { tenantFromHeaders } from '../storage/tenant.ts';
import type { HttpRequest } from '../server/types.ts';
import { ApiError, ErrorType, invalidParam } from './errors.ts';
import { queryDataJson } from './json.ts';
import { parseDuration, parseDurationParam, parseTime, parseTimeParam, type FormValues } from './params.ts';
import { MaxSourceResolutionParam, parseMaxSourceResolution, resolveMaxSourceResolution, withMaxSourceResolution } from './resolution.ts';
import type { ApiResult } from './respond.ts';
import type { ApiOptions, QueryResult } from './types.ts';

/** Most points per series a range query may ask for (Prometheus' limit). */
export const MaxPointsPerSeries = 11_000;

/** Counters of evaluated queries, by endpoint and outcome (`success` or the error type). */
export interface QueryMetrics {
  queries: Counter<'endpoint' | 'outcome'>;
}

/** Creates the query metrics on `registry` (unregistered ones when omitted). */
export function newQueryMetrics(registry?: Registry): QueryMetrics {
  return {
    queries: new Counter({
      name: 'stratus_api_queries_total',
      help: 'PromQL queries evaluated by the HTTP API, by endpoint and outcome (success or the error type).',
      labelNames: ['endpoint', 'outcome'],
      registers: registry ? [registry] : [],
    }),
  };
}

/**
 * A signal that aborts when the client leaves or, with a `timeout`
 * parameter, when that time has passed (reason: a `TimeoutError`
 * DOMException, as `AbortSignal.timeout` gives).
 */
function querySignal(req: HttpRequest, timeoutNs: number | undefined): { signal: AbortSignal; timedOut: () => boolean; done: () => void } {
  const ac = new AbortController();
  let timedOut = false;
  const onAbort = (): void => ac.abort(req.signal?.reason);
  if (req.signal?.aborted) onAbort();
  else req.signal?.addEventListener('abort', onAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  if (timeoutNs !== undefined) {
    const ms = Math.max(0, timeoutNs / 1e6);
    timer = setTimeout(() => {
      timedOut = true;
      ac.abort(new DOMException('query timed out', 'TimeoutError'));
    }, Math.min(ms, 2 ** 31 - 1));
  }
  return {
    signal: ac.signal,
    timedOut: () => timedOut,
    done: () => {
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', onAbort);
    },
  };
}

/** The `timeout` parameter: ns, or undefined when not given. */
function timeoutParam(form: FormValues): number | undefined {
  return form.get('timeout') === '' ? undefined : parseDurationParam(form, 'timeout');
}

/** Sorts a range query's series by labels, as Prometheus does; other values are left as the engine made them. */
function sortMatrix(v: Value): Value {
  if (v.type === 'matrix') v.value.sort((a, b) => compareLabels(a.metric, b.metric));
  return v;
}

/**
 * Runs the engine and classifies what it throws. Errors found before
 * evaluation (`bad_data`) are reported by `prepareError`, the way each
 * endpoint words them; an engine that stops with a foreign error after the
 * signal fired is reported as Prometheus reports a timeout or cancellation.
 */
async function evaluate(
  run: (signal: AbortSignal) => Promise<QueryResult>,
  req: HttpRequest,
  timeoutNs: number | undefined,
  prepareError: (msg: string) => ApiError,
): Promise<QueryResult> {
  const s = querySignal(req, timeoutNs);
  try {
    return await run(s.signal);
  } catch (err) {
    if (err instanceof PromQLError) {
      if (err.errorType === ErrorType.badData) throw prepareError(err.message);
      // An engine that reports every abort as a cancellation: the request's own timeout is a timeout.
      if (err.errorType === ErrorType.canceled && s.timedOut()) {
        throw new ApiError(ErrorType.timeout, err.message.replace(/^query was canceled in /, 'query timed out in '), { cause: err });
      }
      throw err;
    }
    if (s.signal.aborted) {
      throw s.timedOut()
        ? new ApiError(ErrorType.timeout, 'query timed out in expression evaluation', { cause: err })
        : new ApiError(ErrorType.canceled, 'query was canceled in expression evaluation', { cause: err });
    }
    throw err;
  } finally {
    s.done();
  }
}

/** The query endpoints over `opts`. */
export function queryFuncs(opts: ApiOptions, metrics: QueryMetrics = newQueryMetrics(opts.registry)) {
  const now = opts.now ?? Date.now;

  async function counted(endpoint: string, p: Promise<QueryResult>): Promise<QueryResult> {
    try {
      const r = await p;
      metrics.queries.inc({ endpoint, outcome: 'success' });
      return r;
    } catch (err) {
      const outcome = err instanceof ApiError || err instanceof PromQLError ? err.errorType : ErrorType.internal;
      metrics.queries.inc({ endpoint, outcome });
      throw err;
    }
  }

  /** `/api/v1/query`: `query`, `time` (default now), `timeout`. */
  async function query(req: HttpRequest, form: FormValues): Promise<ApiResult> {
    const ts = parseTimeParam(form, 'time', now());
    const timeout = timeoutParam(form);
    const resolution = parseMaxSourceResolution(form.get(MaxSourceResolutionParam));
    const db = withMaxSourceResolution(opts.storage.tenant(tenantFromHeaders(req.headers)), resolveMaxSourceResolution(resolution, undefined));
    const qs = form.get('query');
    const res = await counted(
      'query',
      evaluate((signal) => opts.engine.instantQuery(db, qs, ts, { signal }), req, timeout, (msg) => invalidParam('query', msg)),
    );
    return { data: queryDataJson(sortMatrix(res.value)), warnings: res.warnings };
  }

  /** `/api/v1/query_range`: `query`, `start`, `end`, `step`, `timeout`. */
  async function queryRange(req: HttpRequest, form: FormValues): Promise<ApiResult> {
    const start = timeArg(form, 'start');
    const end = timeArg(form, 'end');
    if (end < start) throw invalidParam('end', 'end timestamp must not be before start time');
    let step: number;
    try {
      step = parseDuration(form.get('step'));
    } catch (err) {
      throw invalidParam('step', (err as Error).message);
    }
    if (!(step > 0)) throw invalidParam('step', 'zero or negative query resolution step widths are not accepted. Try a positive integer');
    // Prometheus divides the range by the step as int64 nanoseconds.
    if (Math.trunc(((end - start) * 1e6) / step) > MaxPointsPerSeries) {
      throw new ApiError(
        ErrorType.badData,
        'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)',
      );
    }
    const timeout = timeoutParam(form);
    // The engine evaluates in whole milliseconds (Prometheus' durationMilliseconds truncates too).
    const stepMs = Math.trunc(step / 1e6);
    const resolution = parseMaxSourceResolution(form.get(MaxSourceResolutionParam));
    if (stepMs === 0) {
      // Prometheus' evaluator divides by this step and fails the same way.
      throw new ApiError(ErrorType.execution, 'unexpected error: runtime error: integer divide by zero');
    }
    const db = withMaxSourceResolution(opts.storage.tenant(tenantFromHeaders(req.headers)), resolveMaxSourceResolution(resolution, stepMs));
    const qs = form.get('query');
    const res = await counted(
      'query_range',
      evaluate((signal) => opts.engine.rangeQuery(db, qs, start, end, stepMs, { signal }), req, timeout, (msg) => new ApiError(ErrorType.badData, msg)),
    );
    return { data: queryDataJson(sortMatrix(res.value)), warnings: res.warnings };
  }

  return { query, queryRange };
}

/** A time of query_range: required, parsed without parseTimeParam's wording. */
function timeArg(form: FormValues, name: string): number {
  try {
    return parseTime(form.get(name));
  } catch (err) {
    throw invalidParam(name, (err as Error).message);
  }
}
