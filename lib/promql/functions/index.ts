/**
 * The PromQL function library of Prometheus 2.42 (every float function of
 * promql/functions.go), behind the contract of {@link FunctionImpl}
 * (types.ts). Look functions up by name in {@link functions}.
 *
 * What the evaluator must provide, and what it gets back:
 *
 * - Arguments are passed by declared type (types.ts): scalars as numbers,
 *   strings as strings, instant vectors as Vectors, and for a range-vector
 *   argument a Matrix of exactly one series (its points in the window).
 *   Range-vector functions are called only for windows with points, as in
 *   Prometheus; they tolerate empty input and then return nothing.
 * - `ctx.ts` is the step's evaluation time, Prometheus' `enh.Ts`: it is
 *   the intercept time of predict_linear, the value of time() and the
 *   default of the calendar functions. `ctx.rangeStart`/`ctx.rangeEnd` are
 *   the window rate/increase/delta extrapolate to; the range is their
 *   difference.
 * - Range-vector functions return a value only (labels empty): the
 *   evaluator labels it with the series' labels minus `__name__` (kept for
 *   last_over_time). absent_over_time cannot be computed per series: the
 *   evaluator either post-processes the per-series presence as Prometheus'
 *   engine does, labelling with {@link absentLabels}, or calls the function
 *   once per step with every series' window and uses its labelled output
 *   (see absent.ts).
 * - Instant-vector functions return labelled samples: `__name__` dropped
 *   by the math, time and histogram functions, kept by sort, sort_desc,
 *   label_replace and label_join. label_replace/label_join can produce
 *   duplicate label sets and histogram_quantile can too (groups that differ
 *   only by metric name); the evaluator rejects those with Prometheus'
 *   `vector cannot contain metrics with the same labelset`.
 * - Scalar-valued functions (time, pi, scalar) return one sample with no
 *   labels whose value is the scalar, as Prometheus' FunctionCall does.
 * - timestamp() reads each sample's `t`. Prometheus evaluates a plain
 *   vector selector argument (parentheses and step-invariance wrappers
 *   removed) specially so that samples keep their stored time; the
 *   evaluator must do the same and pass such samples with their stored `t`
 *   (and elsewhere with the step time).
 * - absent() and absent_over_time() label their output from `ctx.args[0]`
 *   ({@link absentLabels}); a subquery argument gives no labels.
 * - Bad arguments throw `PromQLError('execution', …)` with Prometheus' text
 *   (holt_winters factors, label_replace/label_join regex and label names).
 *   They are checked on every call, including with an empty input vector.
 * - Output sample times are `ctx.ts`; returned arrays and samples are new
 *   (label arrays may be shared with the input; labels are immutable).
 */
import { absentFunctions } from './absent.ts';
import { histogramFunctions } from './histogram.ts';
import { labelFunctions } from './labels.ts';
import { mathFunctions } from './math.ts';
import { overTimeFunctions } from './over-time.ts';
import { rateFunctions } from './rate.ts';
import { timeFunctions } from './time.ts';
import type { FunctionImpl } from './types.ts';
import { vectorFunctions } from './vector.ts';

export type { ArgValue, FunctionContext, FunctionImpl } from './types.ts';
export { absentLabels } from './absent.ts';
export { bucketQuantile, quantile, type Bucket } from './quantile.ts';
export { kahanSumInc } from './util.ts';

/** Every PromQL 2.42 function, by name. */
export const functions: Readonly<Record<string, FunctionImpl>> = Object.freeze({
  ...absentFunctions,
  ...histogramFunctions,
  ...labelFunctions,
  ...mathFunctions,
  ...overTimeFunctions,
  ...rateFunctions,
  ...timeFunctions,
  ...vectorFunctions,
});
