/**
 * The AWS SDK v3 client settings Stratus' S3 and DynamoDB clients share
 * (functions/deps.ts, lib/server/app.ts).
 *
 * - {@link sdkLogger}: the SDK's logger middleware records every call with
 *   `logger.info({ input: inputFilterSensitiveLog(input), output: ... })`
 *   when the logger has an `info` method, and its default logger (a no-op)
 *   has one, so every request's input and output were walked for nothing
 *   (~3% of the server's CPU in AWS mode). Our logger has no `info` (and no
 *   `error`), so that record is never built.
 * - Not `cacheMiddleware: true`, though it cuts the SDK's CPU per call by
 *   15-20% (bench/sdk-overhead.ts): the cached stack shares one handler
 *   context between all concurrent requests of a command class, and the
 *   endpoint middleware writes the resolved endpoint there before the
 *   serializer reads it back after an await. With concurrent PutObjects to
 *   two buckets on one client, half went to the other bucket's host (SDK
 *   3.116x; test/unit/aws/client-config.test.ts keeps our settings free of
 *   it). Whatever else middleware keeps in that context would race the
 *   same way, and end to end the cache saved no measurable server CPU
 *   (docs/benchmarks.md, fourth round).
 */
import type { DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';

/** The SDK's logger type (the same for every client; @smithy/types is not a direct dependency). */
type SdkLogger = NonNullable<DynamoDBClientConfig['logger']>;

/** Where the SDK's warnings go (`warn(message)`). */
export type SdkWarn = (message: string) => void;

/**
 * Writes an SDK warning as a Node process warning (stderr, unless the
 * process handles `warning` events itself).
 */
export function processWarning(message: string): void {
  process.emitWarning(message, 'AwsSdkWarning');
}

function text(content: readonly unknown[]): string {
  return content.map((c) => (typeof c === 'string' ? c : c instanceof Error ? c.message : JSON.stringify(c))).join(' ');
}

function noop(): void {}

/**
 * A logger for SDK clients with only `debug` (a no-op: credential
 * providers call it without checking) and `warn` (to `warn`). Absent on
 * purpose:
 * - `info`: the logger middleware's per-call record of input and output
 *   (see the module comment), the SDK's only `info` call;
 * - `error`: the logger middleware's record of a failed call, which our
 *   stores turn into their own errors (and which would otherwise log every
 *   expected NoSuchKey, 404 HEAD and ConditionalCheckFailedException), again
 *   after walking the whole input. The SDK has no other `error` call.
 * The SDK's types want all four methods; it calls `info` and `error` only
 * as `logger?.info?.(...)` / `logger?.error?.(...)`, which
 * test/unit/aws/client-config.test.ts checks against the installed SDK.
 */
export function sdkLogger(warn: SdkWarn = processWarning): SdkLogger {
  const logger = { debug: noop, warn: (...content: unknown[]) => warn(text(content)) };
  return logger as unknown as SdkLogger;
}

/** Settings every Stratus S3 and DynamoDB client starts from (spread them first; overrides after). */
export function sdkClientDefaults(warn?: SdkWarn): { logger: SdkLogger } {
  return { logger: sdkLogger(warn) };
}
