/**
 * time(), timestamp() and the calendar functions (minute, hour,
 * day_of_week, day_of_month, day_of_year, days_in_month, month, year),
 * after Prometheus 2.42 promql/functions.go (`funcTime`, `funcTimestamp`,
 * `dateWrapper`).
 *
 * The calendar functions read each sample's value as Unix seconds, in UTC,
 * after Go's `int64(v)` conversion (truncation toward zero). Go on amd64
 * turns NaN, ±Inf and values outside the int64 range into the minimum
 * int64, and its calendar arithmetic then wraps around by 2^64 seconds;
 * both are reproduced, so e.g. `year(vector(NaN))` is 292277026596 as in
 * Prometheus. Dates are proleptic Gregorian with no limit on the year (the
 * JavaScript `Date` range is too small for that).
 */
import type { Sample, Vector } from '../value.ts';
import type { FunctionImpl } from './types.ts';
import { dropMetricName, noLabels, single, vectorArg } from './util.ts';

/** The fields of a UTC instant the calendar functions need. */
interface Civil {
  year: number;
  /** 1..12 */
  month: number;
  /** 1..31 */
  day: number;
  hour: number;
  minute: number;
  /** 0 = Sunday. */
  weekday: number;
}

const twoTo63 = 2 ** 63;
/**
 * Go's `unixToInternal + internalToAbsolute`: a Unix time below minus this
 * many seconds makes Go's unsigned "absolute" time wrap around by 2^64.
 */
const wrapBelow = -(62135596800 + 9223371966579724800);

/** Go's `int64(v)` on amd64, then Go's wrap-around of times before year -292277022399. */
function effectiveUnixSeconds(v: number): number {
  let s = Number.isNaN(v) || v >= twoTo63 || v < -twoTo63 ? -twoTo63 : Math.trunc(v);
  if (s < wrapBelow) s += 2 ** 64;
  return s;
}

/** Splits Unix seconds into a proleptic Gregorian UTC date and time. */
function civil(secs: number): Civil {
  // Both parts exact for any |secs| < 2^64: `%` is exact, and the error of
  // the subtraction is far below half a day.
  let sod = (secs % 86400) + 0; // + 0 turns -0 into 0: Go computes in integers
  if (sod < 0) sod += 86400;
  const days = Math.round((secs - sod) / 86400);
  // Howard Hinnant's civil_from_days, in exact integer arithmetic.
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return {
    year,
    month,
    day,
    hour: Math.floor(sod / 3600),
    minute: Math.floor((sod % 3600) / 60),
    weekday: (((days + 4) % 7) + 7) % 7, // 1970-01-01 was a Thursday
  };
}

function isLeap(y: number): boolean {
  return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
}

const daysBefore = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];

function daysInMonth(c: Civil): number {
  if (c.month === 2) return isLeap(c.year) ? 29 : 28;
  return [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][c.month - 1]!;
}

function dayOfYear(c: Civil): number {
  return daysBefore[c.month - 1]! + c.day + (c.month > 2 && isLeap(c.year) ? 1 : 0);
}

/**
 * A calendar function: with no argument, of the evaluation time (whole
 * seconds, truncated as Go's integer division does) with no labels; else
 * of each sample's value, dropping `__name__`.
 */
function dateFunction(f: (c: Civil) => number): FunctionImpl {
  return (args, ctx) => {
    if (args.length === 0) return single(f(civil(Math.trunc(ctx.ts / 1000))), ctx.ts);
    const vec = vectorArg(args, 0);
    const out: Vector = new Array(vec.length);
    for (let i = 0; i < vec.length; i++) {
      const s = vec[i]!;
      out[i] = { metric: dropMetricName(s.metric), t: ctx.ts, v: f(civil(effectiveUnixSeconds(s.v))) };
    }
    return out;
  };
}

/**
 * timestamp(v): each sample's own time in seconds, dropping `__name__`.
 * Prometheus evaluates a plain vector selector argument specially so that
 * the samples keep the time they were stored with (not the step time);
 * the evaluator must pass such samples with their stored `t`.
 */
const timestamp: FunctionImpl = (args, ctx) =>
  vectorArg(args, 0).map((s: Sample) => ({ metric: dropMetricName(s.metric), t: ctx.ts, v: s.t / 1000 }));

/** time(), timestamp() and the calendar functions, by PromQL name. */
export const timeFunctions: Readonly<Record<string, FunctionImpl>> = {
  time: (_args, ctx) => [{ metric: noLabels, t: ctx.ts, v: ctx.ts / 1000 }],
  timestamp,
  minute: dateFunction((c) => c.minute),
  hour: dateFunction((c) => c.hour),
  day_of_week: dateFunction((c) => c.weekday),
  day_of_month: dateFunction((c) => c.day),
  day_of_year: dateFunction(dayOfYear),
  days_in_month: dateFunction(daysInMonth),
  month: dateFunction((c) => c.month),
  year: dateFunction((c) => c.year),
};
