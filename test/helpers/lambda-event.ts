/**
 * A Lambda Function URL event (payload format 2.0) as Prometheus' remote
 * write/read requests arrive: POST, snappy protobuf, base64 body.
 */
import type { LambdaFunctionURLEvent } from 'aws-lambda';

export function functionUrlEvent(path: string, body: Uint8Array, headers: Record<string, string> = {}): LambdaFunctionURLEvent {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: { 'content-encoding': 'snappy', 'content-type': 'application/x-protobuf', ...headers },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc',
      domainName: 'abc.lambda-url.us-east-1.on.aws',
      domainPrefix: 'abc',
      http: { method: 'POST', path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'Prometheus/3.5.0' },
      requestId: 'req',
      routeKey: '$default',
      stage: '$default',
      time: '01/Jan/2026:00:00:00 +0000',
      timeEpoch: 1767225600000,
    },
    body: Buffer.from(body).toString('base64'),
    isBase64Encoded: true,
  };
}
