/**
 * The `*_over_time` functions: aggregations of the points of one series
 * within a range, after Prometheus 2.42 promql/functions.go (`aggrOverTime`
 * and friends). Each returns one sample (value only; the evaluator sets
 * labels and time), or nothing when the series has no points in the window.
 *
 * absent_over_time is special (see {@link absentOverTime} in absent.ts).
 */
import type { Point, Vector } from '../value.ts';
import { quantile } from './quantile.ts';
import type { FunctionContext, FunctionImpl } from './types.ts';
import { kahanSumInc, scalarArg, seriesPoints, single } from './util.ts';

const k = new Float64Array(1);

function overTime(agg: (points: Point[]) => number): FunctionImpl {
  return (args, ctx: FunctionContext): Vector => {
    const points = seriesPoints(args, 0);
    if (points === undefined || points.length === 0) return [];
    return single(agg(points), ctx.ts);
  };
}

/** Incremental mean with compensated summation; infinities handled as Prometheus 2.42 does. */
function avg(points: Point[]): number {
  let mean = 0;
  let count = 0;
  let c = 0;
  for (const p of points) {
    const v = p.v;
    count++;
    if (mean === Infinity || mean === -Infinity) {
      // An infinite mean stays as it is when the new value is an infinity
      // of the same sign or finite; subtracting it would give NaN.
      if ((v === Infinity || v === -Infinity) && mean > 0 === v > 0) continue;
      if (Number.isFinite(v)) continue;
    }
    mean = kahanSumInc(v / count - mean / count, mean, c, k);
    c = k[0]!;
  }
  if (mean === Infinity || mean === -Infinity) return mean;
  return mean + c;
}

function sum(points: Point[]): number {
  let s = 0;
  let c = 0;
  for (const p of points) {
    s = kahanSumInc(p.v, s, c, k);
    c = k[0]!;
  }
  if (s === Infinity || s === -Infinity) return s;
  return s + c;
}

function max(points: Point[]): number {
  let m = points[0]!.v;
  for (const p of points) if (p.v > m || Number.isNaN(m)) m = p.v;
  return m;
}

function min(points: Point[]): number {
  let m = points[0]!.v;
  for (const p of points) if (p.v < m || Number.isNaN(m)) m = p.v;
  return m;
}

/** Population variance by Welford's method with compensated sums, as Prometheus 2.42. */
function variance(points: Point[]): number {
  let count = 0;
  let mean = 0, cMean = 0;
  let aux = 0, cAux = 0;
  for (const p of points) {
    count++;
    const delta = p.v - (mean + cMean);
    mean = kahanSumInc(delta / count, mean, cMean, k);
    cMean = k[0]!;
    aux = kahanSumInc(delta * (p.v - (mean + cMean)), aux, cAux, k);
    cAux = k[0]!;
  }
  return (aux + cAux) / count;
}

const quantileOverTime: FunctionImpl = (args, ctx) => {
  const q = scalarArg(args, 0);
  const points = seriesPoints(args, 1);
  if (points === undefined || points.length === 0) return [];
  const values = new Float64Array(points.length);
  for (let i = 0; i < points.length; i++) values[i] = points[i]!.v;
  return single(quantile(q, values), ctx.ts);
};

/**
 * The `*_over_time` aggregations by PromQL name (without absent_over_time).
 * last_over_time returns the last value; the evaluator keeps `__name__` on
 * its output, as Prometheus does for this function only.
 */
export const overTimeFunctions: Readonly<Record<string, FunctionImpl>> = {
  avg_over_time: overTime(avg),
  count_over_time: overTime((ps) => ps.length),
  last_over_time: overTime((ps) => ps[ps.length - 1]!.v),
  max_over_time: overTime(max),
  min_over_time: overTime(min),
  sum_over_time: overTime(sum),
  quantile_over_time: quantileOverTime,
  stddev_over_time: overTime((ps) => Math.sqrt(variance(ps))),
  stdvar_over_time: overTime(variance),
  present_over_time: overTime(() => 1),
};
