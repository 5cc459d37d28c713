/**
 * Functions over the change of one series within a range: rate, increase,
 * delta (extrapolated), irate, idelta (last two points), deriv and
 * predict_linear (least squares), holt_winters, changes and resets.
 *
 * Mirrors Prometheus 2.42 promql/functions.go (`extrapolatedRate`,
 * `instantValue`, `linearRegression`, `funcHoltWinters`, `funcChanges`,
 * `funcResets`), keeping its order of floating-point operations so results
 * agree to the last bit where the platform's arithmetic allows.
 */
import { PromQLError } from '../errors.ts';
import type { Point, Vector } from '../value.ts';
import { goFormatFloatF } from './go-format.ts';
import type { FunctionContext, FunctionImpl } from './types.ts';
import { kahanSumInc, scalarArg, seriesPoints, single } from './util.ts';

/**
 * A range in seconds as Go's `time.Duration.Seconds()` computes it from
 * nanoseconds: whole seconds plus the remainder divided by 1e9.
 */
function rangeSeconds(ms: number): number {
  const whole = Math.trunc(ms / 1000);
  return whole + ((ms - whole * 1000) * 1e6) / 1e9;
}

/**
 * rate / increase / delta: the change over the window, counter resets
 * compensated when `isCounter`, extrapolated towards the window's ends
 * (by at most half an average sample interval beyond the first and last
 * points, unless a point lies within 1.1 intervals of the end; for
 * counters not below the extrapolated zero crossing), and per second when
 * `isRate`.
 */
function extrapolatedRate(points: Point[] | undefined, ctx: FunctionContext, isCounter: boolean, isRate: boolean): Vector {
  if (points === undefined || points.length < 2) return [];
  const n = points.length;
  const first = points[0]!;
  const last = points[n - 1]!;
  let result = last.v - first.v;
  if (isCounter) {
    let prev = first.v;
    for (let i = 1; i < n; i++) {
      const cur = points[i]!.v;
      if (cur < prev) result += prev;
      prev = cur;
    }
  }

  let durationToStart = (first.t - ctx.rangeStart) / 1000;
  const durationToEnd = (ctx.rangeEnd - last.t) / 1000;
  const sampledInterval = (last.t - first.t) / 1000;
  const averageDurationBetweenSamples = sampledInterval / (n - 1);

  if (isCounter && result > 0 && first.v >= 0) {
    // A counter cannot go below zero: do not extrapolate past the point
    // where the line through the samples would reach it.
    const durationToZero = sampledInterval * (first.v / result);
    if (durationToZero < durationToStart) durationToStart = durationToZero;
  }

  const extrapolationThreshold = averageDurationBetweenSamples * 1.1;
  let extrapolateToInterval = sampledInterval;
  extrapolateToInterval += durationToStart < extrapolationThreshold ? durationToStart : averageDurationBetweenSamples / 2;
  extrapolateToInterval += durationToEnd < extrapolationThreshold ? durationToEnd : averageDurationBetweenSamples / 2;

  let factor = extrapolateToInterval / sampledInterval;
  if (isRate) factor /= rangeSeconds(ctx.rangeEnd - ctx.rangeStart);
  return single(result * factor, ctx.ts);
}

/** irate / idelta: from the last two points only; irate treats a drop as a counter reset. */
function instantValue(points: Point[] | undefined, ts: number, isRate: boolean): Vector {
  if (points === undefined || points.length < 2) return [];
  const last = points[points.length - 1]!;
  const prev = points[points.length - 2]!;
  let result = isRate && last.v < prev.v ? last.v : last.v - prev.v;
  const sampledInterval = last.t - prev.t;
  if (sampledInterval === 0) return [];
  if (isRate) result /= sampledInterval / 1000;
  return single(result, ts);
}

const kahanScratch = new Float64Array(1);

/**
 * Least-squares fit of value against time, time measured in seconds from
 * `interceptTime` (ms). Returns `[slope, intercept at interceptTime]`; a
 * constant series gives slope 0 (or NaN for a constant ±Inf).
 */
function linearRegression(points: Point[], interceptTime: number): [number, number] {
  let n = 0;
  let sumX = 0, cX = 0;
  let sumY = 0, cY = 0;
  let sumXY = 0, cXY = 0;
  let sumX2 = 0, cX2 = 0;
  const initY = points[0]!.v;
  let constY = true;
  const k = kahanScratch;
  for (let i = 0; i < points.length; i++) {
    const p = points[i]!;
    if (constY && i > 0 && p.v !== initY) constY = false;
    n += 1;
    const x = (p.t - interceptTime) / 1e3;
    sumX = kahanSumInc(x, sumX, cX, k);
    cX = k[0]!;
    sumY = kahanSumInc(p.v, sumY, cY, k);
    cY = k[0]!;
    sumXY = kahanSumInc(x * p.v, sumXY, cXY, k);
    cXY = k[0]!;
    sumX2 = kahanSumInc(x * x, sumX2, cX2, k);
    cX2 = k[0]!;
  }
  if (constY) {
    if (initY === Infinity || initY === -Infinity) return [NaN, NaN];
    return [0, initY];
  }
  sumX += cX;
  sumY += cY;
  sumXY += cXY;
  sumX2 += cX2;
  const covXY = sumXY - (sumX * sumY) / n;
  const varX = sumX2 - (sumX * sumX) / n;
  const slope = covXY / varX;
  const intercept = sumY / n - (slope * sumX) / n;
  return [slope, intercept];
}

/** Holt-Winters' trend at step `i` (Prometheus' `calcTrendValue`). */
function trendValue(i: number, tf: number, s0: number, s1: number, b: number): number {
  if (i === 0) return b;
  return tf * (s1 - s0) + (1 - tf) * b;
}

const holtWinters: FunctionImpl = (args, ctx) => {
  const points = seriesPoints(args, 0);
  const sf = scalarArg(args, 1);
  const tf = scalarArg(args, 2);
  // NaN passes both checks, as in Prometheus.
  if (sf <= 0 || sf >= 1) {
    throw new PromQLError('execution', `invalid smoothing factor. Expected: 0 < sf < 1, got: ${goFormatFloatF(sf)}`);
  }
  if (tf <= 0 || tf >= 1) {
    throw new PromQLError('execution', `invalid trend factor. Expected: 0 < tf < 1, got: ${goFormatFloatF(tf)}`);
  }
  if (points === undefined || points.length < 2) return [];
  let s0 = 0;
  let s1 = points[0]!.v;
  let b = points[1]!.v - points[0]!.v;
  for (let i = 1; i < points.length; i++) {
    const x = sf * points[i]!.v;
    b = trendValue(i - 1, tf, s0, s1, b);
    const y = (1 - sf) * (s1 + b);
    s0 = s1;
    s1 = x + y;
  }
  return single(s1, ctx.ts);
};

/** The range-vector functions about change over time, by PromQL name. */
export const rateFunctions: Readonly<Record<string, FunctionImpl>> = {
  rate: (args, ctx) => extrapolatedRate(seriesPoints(args, 0), ctx, true, true),
  increase: (args, ctx) => extrapolatedRate(seriesPoints(args, 0), ctx, true, false),
  delta: (args, ctx) => extrapolatedRate(seriesPoints(args, 0), ctx, false, false),
  irate: (args, ctx) => instantValue(seriesPoints(args, 0), ctx.ts, true),
  idelta: (args, ctx) => instantValue(seriesPoints(args, 0), ctx.ts, false),
  deriv: (args, ctx) => {
    const points = seriesPoints(args, 0);
    if (points === undefined || points.length < 2) return [];
    // Times relative to the first point keep the sums small (prometheus#2674).
    return single(linearRegression(points, points[0]!.t)[0], ctx.ts);
  },
  predict_linear: (args, ctx) => {
    const points = seriesPoints(args, 0);
    const duration = scalarArg(args, 1);
    if (points === undefined || points.length < 2) return [];
    const [slope, intercept] = linearRegression(points, ctx.ts);
    return single(slope * duration + intercept, ctx.ts);
  },
  holt_winters: holtWinters,
  changes: (args, ctx) => {
    const points = seriesPoints(args, 0);
    if (points === undefined || points.length === 0) return [];
    let changes = 0;
    let prev = points[0]!.v;
    for (let i = 1; i < points.length; i++) {
      const cur = points[i]!.v;
      if (cur !== prev && !(Number.isNaN(cur) && Number.isNaN(prev))) changes++;
      prev = cur;
    }
    return single(changes, ctx.ts);
  },
  resets: (args, ctx) => {
    const points = seriesPoints(args, 0);
    if (points === undefined || points.length === 0) return [];
    let resets = 0;
    let prev = points[0]!.v;
    for (let i = 1; i < points.length; i++) {
      const cur = points[i]!.v;
      if (cur < prev) resets++;
      prev = cur;
    }
    return single(resets, ctx.ts);
  },
};
