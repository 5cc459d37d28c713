/**
 * The remote_write function: `POST /api/v1/write` on a Function URL
 * (BUFFERED invoke mode, AWS_IAM auth). Event in, transport-neutral
 * request to `lib/remote`'s write handler, buffered result out. Its log
 * line is at debug for an accepted request, warn / error with the error
 * text otherwise (functions/request-log.ts); its cost goes into the
 * environment's per-tenant sums, written as CloudWatch EMF lines at most
 * once a minute (functions/cost.ts). A 2xx answer means the samples are
 * durable in S3 and indexed in DynamoDB (the handler returns only after
 * the commit).
 */
import { performance } from 'node:perf_hooks';
import { newWriteHandler } from '../lib/remote/write-handler.ts';
import { reportCost, tenantOfHeaders, type CostContext } from './cost.ts';
import { deps, type Deps } from './deps.ts';
import {
  LambdaPayloadLimitBytes,
  responseToResult,
  serveEvent,
  type Endpoint,
  type FunctionUrlResult,
  type LambdaFunctionURLEvent,
} from './event.ts';
import { errorOf, eventLogFields, logRequest } from './request-log.ts';

const endpoint: Endpoint = { method: 'POST', path: '/api/v1/write', maxBodyBytes: LambdaPayloadLimitBytes };

/** The handler over `d` (bench/cost.ts replays through it with its own stores). */
export function newWriteFunction(d: Deps) {
  const write = newWriteHandler({
    storage: d.storage,
    metrics: d.metrics,
    logger: d.logger.child({ component: 'remote_write' }),
  });
  return async (event: LambdaFunctionURLEvent, context?: CostContext): Promise<FunctionUrlResult> => {
    const started = performance.now();
    const begun = d.meter.begin();
    d.ops.take(); // requests counted outside a request (none expected) are not this one's
    const res = await serveEvent(event, endpoint, write);
    const result = await responseToResult(res);
    reportCost(d, begun, context, { tenant: tenantOfHeaders(event.headers) }, event.requestContext.requestId);
    logRequest(
      d.logger,
      result.statusCode ?? 200,
      () => eventLogFields(event, started, d.ops),
      errorOf(res),
    );
    return result;
  };
}

/** The Lambda handler. */
export const handler = newWriteFunction(deps);

deps.meter.coldStart(performance.now());
