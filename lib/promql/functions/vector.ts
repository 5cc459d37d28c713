/**
 * Conversions between scalars and vectors (scalar, vector) and sorting
 * (sort, sort_desc), after Prometheus 2.42 promql/functions.go.
 */
import type { Sample } from '../value.ts';
import type { FunctionImpl } from './types.ts';
import { noLabels, scalarArg, single, vectorArg } from './util.ts';

/** Ascending (NaN handled apart). */
function ascending(a: Sample, b: Sample): number {
  return a.v < b.v ? -1 : a.v > b.v ? 1 : 0;
}

/** Descending (NaN handled apart). */
function descending(a: Sample, b: Sample): number {
  return a.v > b.v ? -1 : a.v < b.v ? 1 : 0;
}

/**
 * A sorted copy of the argument, labels kept: the numbers in order, equal
 * values in input order, then the NaNs in reverse input order. That is what
 * Prometheus' `sort.Sort` with its NaN-first "less", reversed, produces on
 * vectors of up to 12 elements, where Go sorts by insertion (checked
 * against Prometheus 2.42). For longer vectors Go's pdqsort leaves the
 * order of equal values unspecified; this keeps the same rule.
 */
function sorter(cmp: (a: Sample, b: Sample) => number): FunctionImpl {
  return (args, ctx) => {
    const nums: Sample[] = [];
    const nans: Sample[] = [];
    for (const s of vectorArg(args, 0)) (Number.isNaN(s.v) ? nans : nums).push({ metric: s.metric, t: ctx.ts, v: s.v });
    nums.sort(cmp);
    for (let i = nans.length - 1; i >= 0; i--) nums.push(nans[i]!);
    return nums;
  };
}

/**
 * scalar(v): the value of the only element of `v`, or NaN when `v` has
 * zero or several. Like every scalar-valued function (time, pi), it returns
 * the scalar as the value of a single sample with no labels.
 */
const scalar: FunctionImpl = (args, ctx) => {
  const vec = vectorArg(args, 0);
  return single(vec.length === 1 ? vec[0]!.v : NaN, ctx.ts);
};

/** scalar, vector, sort and sort_desc, by PromQL name. */
export const vectorFunctions: Readonly<Record<string, FunctionImpl>> = {
  scalar,
  vector: (args, ctx) => [{ metric: noLabels, t: ctx.ts, v: scalarArg(args, 0) }],
  sort: sorter(ascending),
  sort_desc: sorter(descending),
};
