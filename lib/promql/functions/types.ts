/**
 * The contract between the evaluator (engine.ts) and the function library
 * (functions/*.ts). It follows Prometheus 2.42's `FunctionCall` (see
 * promql/functions.go and the call sites in promql/engine.go), with the
 * arguments already evaluated and converted to plain TypeScript values.
 *
 * Change it only together with engine.ts and every implementation.
 */
import type { Expr } from '../parser/ast.ts';
import type { Matrix, Vector } from '../value.ts';

/**
 * One evaluated argument, by the argument's declared type:
 * - instant vector: the {@link Vector} at the evaluation step;
 * - range vector: a {@link Matrix}. For functions that take a range vector
 *   (rate, *_over_time, ...) the evaluator calls the function once per
 *   input series and step, with a Matrix of exactly that one series holding
 *   the points in the window `[rangeStart, rangeEnd]` (both ends
 *   included in Prometheus 2.x; stale markers already removed), as
 *   Prometheus 2.42 does;
 * - scalar: a number (the scalar's value at the step);
 * - string: a string.
 */
export type ArgValue = Vector | Matrix | number | string;

export interface FunctionContext {
  /** Evaluation time of this step, ms (after `@`, before `offset`). */
  ts: number;
  /**
   * For a range-vector argument: the window it was selected over, ms,
   * after `offset` and `@`: `rangeEnd - rangeStart` is the range.
   * Prometheus' extrapolation in rate/increase/delta uses these bounds.
   * Zero when the function takes no range vector.
   */
  rangeStart: number;
  rangeEnd: number;
  /** The call's argument expressions (absent() and absent_over_time() build labels from them). */
  args: readonly Expr[];
}

/**
 * One function. Returns the output vector of one step.
 *
 * - Functions over an instant vector return one sample per input sample
 *   (or fewer), with the labels Prometheus gives them (most drop
 *   `__name__`; label_replace/label_join rewrite labels; sort keeps them).
 * - Functions over a range vector get one series (see {@link ArgValue})
 *   and return zero or one sample; the evaluator then sets its labels
 *   (the input series' labels, without `__name__` except for
 *   last_over_time) and its time (the step).
 * - The returned array and samples belong to the caller.
 */
export type FunctionImpl = (args: ArgValue[], ctx: FunctionContext) => Vector;
