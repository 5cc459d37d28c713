/**
 * The query function: the Prometheus HTTP API for Grafana (`/api/v1/query`,
 * `query_range`, `series`, `labels`, `label/<name>/values`, buildinfo, ...;
 * lib/api) on a Function URL in RESPONSE_STREAM invoke mode, so large
 * range-query answers are not capped at the 6 MB of a buffered one. It
 * only reads: its role may read objects and query the index, nothing more.
 *
 * A query still running shortly before the function's own timeout is
 * stopped and answered 503 `timeout`, as Prometheus answers a query over
 * its `--query.timeout`, rather than cut off by Lambda.
 */
import type { Writable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { apiEndpoints, newApiRouter } from '../lib/api/index.ts';
import { Engine } from '../lib/promql/index.ts';
import { errorResponse } from '../lib/remote/errors.ts';
import type { HttpResponse } from '../lib/server/types.ts';
import { reportCost, tenantOfHeaders, type CostContext } from './cost.ts';
import { CutShort, errorOf, eventLogFields, logRequest } from './request-log.ts';
import { deps } from './deps.ts';
import {
  eventToRequest,
  lambdaRuntime,
  LambdaPayloadLimitBytes,
  openLambdaResponseStream,
  writeStreamedResponse,
  type LambdaFunctionURLEvent,
  type OpenResponseStream,
  type StreamedResult,
} from './event.ts';

/** Time kept back from the function's deadline to answer a query that is stopped. */
export const DeadlineMarginMs = 1500;

/** What the handler uses of the Lambda context (absent in tests: no deadline). */
export interface QueryContext extends CostContext {
  getRemainingTimeInMillis?: () => number;
}

const route = newApiRouter(
  apiEndpoints({ storage: deps.storage, engine: new Engine(), logger: deps.logger.child({ component: 'api' }) }),
);

/** Serves one event; never throws. */
async function serve(event: LambdaFunctionURLEvent, signal: AbortSignal): Promise<HttpResponse> {
  try {
    return await route({ ...eventToRequest(event, LambdaPayloadLimitBytes), signal });
  } catch (err) {
    return errorResponse(err); // the body was over the payload limit
  }
}

/** A streaming handler that sends the status and headers through `open`. */
export function newStreamQuery(open: OpenResponseStream) {
  return async (event: LambdaFunctionURLEvent, responseStream: Writable, context?: QueryContext): Promise<void> => {
    const started = performance.now();
    const begun = deps.meter.begin();
    deps.ops.take();
    const ac = new AbortController();
    const remaining = context?.getRemainingTimeInMillis?.();
    const timer =
      remaining === undefined
        ? undefined
        : setTimeout(() => ac.abort(new DOMException('function deadline near', 'TimeoutError')), Math.max(0, remaining - DeadlineMarginMs));
    let sent: StreamedResult | undefined;
    let error: string | undefined;
    try {
      const res = await serve(event, ac.signal);
      error = errorOf(res);
      sent = await writeStreamedResponse(res, responseStream, open);
    } finally {
      clearTimeout(timer);
      reportCost(deps, begun, context, { tenant: tenantOfHeaders(event.headers) }, event.requestContext.requestId);
      logRequest(
        deps.logger,
        sent?.status ?? CutShort,
        () => eventLogFields(event, started, deps.ops, { bytesOut: sent?.bytes }),
        error,
      );
    }
  };
}

/** The handler proper, for the Lambda runtime's response streams. */
export const streamQuery = newStreamQuery(openLambdaResponseStream);

/** The Lambda handler. */
export const handler = lambdaRuntime()?.streamifyResponse(streamQuery) ?? streamQuery;

deps.meter.coldStart(performance.now());
