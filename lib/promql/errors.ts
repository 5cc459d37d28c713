/**
 * PromQL errors, carrying the `errorType` the Prometheus HTTP API reports
 * (`bad_data`, `execution`, `timeout`, `canceled`, `internal`), so lib/api
 * maps them to the same status codes Prometheus uses (400, 422, 503, 503,
 * 500).
 */
import { StratusError } from '../util/errors.ts';

export type PromQLErrorType = 'bad_data' | 'execution' | 'timeout' | 'canceled' | 'internal';

export class PromQLError extends StratusError {
  constructor(
    readonly errorType: PromQLErrorType,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Position range of a parse error, byte offsets into the query (as Prometheus' PositionRange). */
export interface PositionRange {
  start: number;
  end: number;
}

/**
 * A query that does not parse or type-check. Its message is Prometheus'
 * text exactly, e.g. `1:5: parse error: unexpected right parenthesis ')'`.
 */
export class ParseError extends PromQLError {
  constructor(
    message: string,
    readonly position?: PositionRange,
  ) {
    super('bad_data', message);
  }
}

/** Too many samples loaded at once: Prometheus' `query processing would load too many samples into memory in <where>`. */
export class TooManySamplesError extends PromQLError {
  constructor(where: string) {
    super('execution', `query processing would load too many samples into memory in ${where}`);
  }
}

/** The query timed out: Prometheus' `query timed out in <where>`. */
export class QueryTimeoutError extends PromQLError {
  constructor(where: string) {
    super('timeout', `query timed out in ${where}`);
  }
}

/** The query was canceled: Prometheus' `query was canceled in <where>`. */
export class QueryCanceledError extends PromQLError {
  constructor(where: string) {
    super('canceled', `query was canceled in ${where}`);
  }
}
