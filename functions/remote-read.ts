/**
 * The remote_read function: `POST /api/v1/read` on a Function URL in
 * RESPONSE_STREAM invoke mode, so STREAMED_XOR_CHUNKS answers reach
 * Prometheus frame by frame, as the storage yields them, and are not capped
 * at the 6 MB of a buffered answer. SAMPLES answers are written whole.
 *
 * {@link newStreamRead} builds the handler proper around a way to send the
 * status and headers, so tests run it on a plain Writable without the Lambda
 * runtime. {@link handler} wraps it with `awslambda.streamifyResponse` when
 * that global exists.
 */
import type { Writable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { newReadHandler } from '../lib/remote/read-handler.ts';
import { reportCost, tenantOfHeaders, type CostContext } from './cost.ts';
import { CutShort, errorOf, eventLogFields, logRequest } from './request-log.ts';
import { deps } from './deps.ts';
import {
  lambdaRuntime,
  LambdaPayloadLimitBytes,
  openLambdaResponseStream,
  serveEvent,
  writeStreamedResponse,
  type Endpoint,
  type LambdaFunctionURLEvent,
  type OpenResponseStream,
  type StreamedResult,
} from './event.ts';

const endpoint: Endpoint = { method: 'POST', path: '/api/v1/read', maxBodyBytes: LambdaPayloadLimitBytes };

const read = newReadHandler({
  storage: deps.storage,
  metrics: deps.metrics,
  logger: deps.logger.child({ component: 'remote_read' }),
});

/** A streaming handler that sends the status and headers through `open`. */
export function newStreamRead(open: OpenResponseStream) {
  return async (event: LambdaFunctionURLEvent, responseStream: Writable, context?: CostContext): Promise<void> => {
    const started = performance.now();
    const begun = deps.meter.begin();
    deps.ops.take();
    let sent: StreamedResult | undefined;
    let error: string | undefined;
    try {
      const res = await serveEvent(event, endpoint, read);
      error = errorOf(res);
      sent = await writeStreamedResponse(res, responseStream, open);
    } finally {
      reportCost(deps, begun, context, { tenant: tenantOfHeaders(event.headers) }, event.requestContext.requestId);
      // A stream cut short leaves `sent` undefined, and the line says so.
      logRequest(
        deps.logger,
        sent?.status ?? CutShort,
        () => eventLogFields(event, started, deps.ops, { bytesOut: sent?.bytes, chunks: sent?.chunks }),
        error,
      );
    }
  };
}

/** The handler proper, for the Lambda runtime's response streams. */
export const streamRead = newStreamRead(openLambdaResponseStream);

/** The Lambda handler. */
export const handler = lambdaRuntime()?.streamifyResponse(streamRead) ?? streamRead;

deps.meter.coldStart(performance.now());
