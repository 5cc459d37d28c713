/**
 * What the S3 backend needs around AWS SDK v3 calls: counting requests
 * (retries included) and turning SDK errors into our error classes, so that
 * no caller ever sees an SDK type.
 */
import { BackendError, StratusError, ThrottledError } from '../../util/errors.ts';
import type { OpCounter } from '../../storage/ops.ts';
import { NotFoundError } from '../errors.ts';

/**
 * Error names that mean "slow down", as S3 and the AWS SDKs spell them
 * (S3 itself answers `503 SlowDown`; the rest come from proxies, S3
 * compatibles and the SDK's own throttling list).
 */
const THROTTLING_NAMES: ReadonlySet<string> = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'BandwidthLimitExceeded',
]);

/** The parts of an SDK error that the mapping looks at. */
interface SdkErrorShape {
  name?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

/** The error name (`NoSuchKey`, `SlowDown`, ...) of an SDK error, or ''. */
export function sdkErrorName(err: unknown): string {
  const name = typeof err === 'object' && err !== null ? (err as SdkErrorShape).name : undefined;
  return typeof name === 'string' ? name : '';
}

/** The HTTP status of the response an SDK error came from, or 0 when there was none. */
export function sdkHttpStatus(err: unknown): number {
  const meta = typeof err === 'object' && err !== null ? (err as SdkErrorShape).$metadata : undefined;
  const status = meta?.httpStatusCode;
  return typeof status === 'number' ? status : 0;
}

/**
 * True when S3 said the object is absent: `NoSuchKey` from GET, or a bare
 * 404 from HEAD (a HEAD response has no body, so the SDK names it
 * `NotFound`). `NoSuchBucket` is a configuration fault, not a missing
 * object; HEAD cannot tell it apart, so `head` and `exists` on a missing
 * bucket report the object as absent.
 */
export function isS3NotFound(err: unknown): boolean {
  const name = sdkErrorName(err);
  if (name === 'NoSuchKey') return true;
  return sdkHttpStatus(err) === 404 && name !== 'NoSuchBucket';
}

/** True when S3 (or something in front of it) asked us to slow down: 429, 503 or a throttling error name. */
export function isS3Throttled(err: unknown): boolean {
  const status = sdkHttpStatus(err);
  return status === 429 || status === 503 || THROTTLING_NAMES.has(sdkErrorName(err));
}

/**
 * Maps an error thrown by the SDK (after its own retries) to our classes,
 * naming what was being done (`get a/b`): absent object -> NotFoundError,
 * throttling -> ThrottledError, anything else (other 4xx and 5xx, network
 * and timeout errors) -> BackendError. Our own errors pass through.
 */
export function toBucketError(what: string, err: unknown): Error {
  if (err instanceof StratusError) return err;
  if (isS3NotFound(err)) return new NotFoundError(what, { cause: err });
  const detail = describe(err);
  if (isS3Throttled(err)) return new ThrottledError(`${what}: S3 asked to slow down (${detail})`, { cause: err });
  return new BackendError(`${what}: ${detail}`, { cause: err });
}

/** A short description of an SDK error: name, HTTP status, message. */
function describe(err: unknown): string {
  const name = sdkErrorName(err) || 'Error';
  const status = sdkHttpStatus(err);
  const message = err instanceof Error ? err.message : String(err);
  const parts = status > 0 ? `${name} (HTTP ${status})` : name;
  return message && message !== name ? `${parts}: ${message}` : parts;
}

/**
 * The part of an SDK command that request counting needs: its own
 * middleware stack, which the SDK merges with the client's when it sends.
 */
export interface CountableCommand {
  middlewareStack: {
    add(
      middleware: (next: (args: never) => Promise<unknown>) => (args: never) => Promise<unknown>,
      options: { step: 'deserialize'; name: string; priority: 'high' },
    ): void;
  };
}

/**
 * Makes `command` call `counter.count('s3', op)` once per HTTP request it
 * sends. The middleware sits in the `deserialize` step, below the SDK's
 * retry middleware (`finalizeRequest` step), so each retry counts as the
 * separate, billed request it is. Only this command is changed, never the
 * caller's client. Returns `command`.
 */
export function countRequests<C extends CountableCommand>(command: C, counter: OpCounter | undefined, op: string): C {
  if (counter === undefined) return command;
  command.middlewareStack.add(
    (next) => (args) => {
      counter.count('s3', op);
      return next(args);
    },
    { step: 'deserialize', name: 'stratusOpCounter', priority: 'high' },
  );
  return command;
}
