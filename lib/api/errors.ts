/**
 * Errors of the Prometheus HTTP API and the status codes they map to,
 * mirroring Prometheus 2.42's web/api/v1/api.go (`apiError`, `respondError`,
 * `returnAPIError`): `bad_data` 400, `execution` 422, `canceled` and
 * `timeout` 503, `internal` 500, `not_found` 404, `unavailable` 503.
 */
import { PromQLError } from '../promql/errors.ts';
import { BackendError, BadInputError, StratusError } from '../util/errors.ts';

/** The `errorType` values of Prometheus' API responses. */
export const ErrorType = {
  badData: 'bad_data',
  execution: 'execution',
  canceled: 'canceled',
  timeout: 'timeout',
  internal: 'internal',
  notFound: 'not_found',
  unavailable: 'unavailable',
} as const;
/** One of {@link ErrorType}. */
export type ErrorType = (typeof ErrorType)[keyof typeof ErrorType];

/** An error answered as `{"status":"error","errorType":...,"error":...}`. */
export class ApiError extends StratusError {
  constructor(
    readonly errorType: ErrorType,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The error of a bad request parameter, worded as Prometheus'
 * `invalidParamError`: `invalid parameter "<name>": <reason>`.
 */
export function invalidParam(name: string, reason: string, cause?: unknown): ApiError {
  return new ApiError(ErrorType.badData, `invalid parameter ${JSON.stringify(name)}: ${reason}`, { cause });
}

/** The HTTP status Prometheus answers an error type with. */
export function statusOfErrorType(t: ErrorType): number {
  switch (t) {
    case ErrorType.badData:
      return 400;
    case ErrorType.execution:
      return 422;
    case ErrorType.canceled:
    case ErrorType.timeout:
    case ErrorType.unavailable:
      return 503;
    case ErrorType.notFound:
      return 404;
    case ErrorType.internal:
      return 500;
  }
}

/**
 * Classifies an error thrown while serving a request. PromQL errors keep
 * their own type; bad input (a bad tenant id or regex) is `bad_data`;
 * storage failures are `internal`, as Prometheus reports its `ErrStorage`;
 * anything else is `internal` too.
 */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof PromQLError) return new ApiError(err.errorType, err.message, { cause: err });
  if (err instanceof BadInputError) return new ApiError(ErrorType.badData, err.message, { cause: err });
  if (err instanceof BackendError) return new ApiError(ErrorType.internal, err.message, { cause: err });
  const msg = err instanceof Error ? err.message : String(err);
  return new ApiError(ErrorType.internal, msg, { cause: err });
}
