/**
 * The remote_write function: `POST /api/v1/write` on a Function URL
 * (BUFFERED invoke mode, AWS_IAM auth). Event in, transport-neutral
 * request to `lib/remote`'s write handler, buffered result out, one log
 * line and one per-tenant cost line (CloudWatch EMF, functions/cost.ts).
 * A 2xx answer means the samples are durable in S3 and indexed in
 * DynamoDB (the handler returns only after the commit).
 */
import { performance } from 'node:perf_hooks';
import { newWriteHandler } from '../lib/remote/write-handler.ts';
import { reportCost, tenantOfHeaders, type CostContext } from './cost.ts';
import { deps } from './deps.ts';
import {
  eventBodyBytes,
  LambdaPayloadLimitBytes,
  responseToResult,
  serveEvent,
  type Endpoint,
  type FunctionUrlResult,
  type LambdaFunctionURLEvent,
} from './event.ts';

const endpoint: Endpoint = { method: 'POST', path: '/api/v1/write', maxBodyBytes: LambdaPayloadLimitBytes };

const write = newWriteHandler({
  storage: deps.storage,
  metrics: deps.metrics,
  logger: deps.logger.child({ component: 'remote_write' }),
});

/** The Lambda handler. */
export async function handler(event: LambdaFunctionURLEvent, context?: CostContext): Promise<FunctionUrlResult> {
  const started = performance.now();
  const begun = deps.meter.begin();
  deps.ops.take(); // requests counted outside a request (none expected) are not this one's
  const res = await serveEvent(event, endpoint, write);
  const result = await responseToResult(res);
  reportCost(deps, begun, context, { tenant: tenantOfHeaders(event.headers) }, event.requestContext.requestId);
  deps.logger.info('request', {
    requestId: event.requestContext.requestId,
    method: event.requestContext.http.method,
    path: event.rawPath,
    status: result.statusCode,
    bytesIn: eventBodyBytes(event),
    ms: Math.round(performance.now() - started),
    ops: deps.ops.take(),
  });
  return result;
}

deps.meter.coldStart(performance.now());
