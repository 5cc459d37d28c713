/**
 * Conversions between scalars and vectors (scalar, vector) and sorting
 * (sort, sort_desc), after Prometheus 2.42 promql/functions.go.
 */
import type { Sample } from '../value.ts';
import type { FunctionImpl } from './types.ts';
import { noLabels, scalarArg, single, vectorArg } from './util.ts';

/** Ascending, NaN last (Prometheus sorts descending with NaN first, then reverses). */
function ascending(a: Sample, b: Sample): number {
  if (Number.isNaN(a.v)) return Number.isNaN(b.v) ? 0 : 1;
  if (Number.isNaN(b.v)) return -1;
  return a.v < b.v ? -1 : a.v > b.v ? 1 : 0;
}

/** Descending, NaN last. */
function descending(a: Sample, b: Sample): number {
  if (Number.isNaN(a.v)) return Number.isNaN(b.v) ? 0 : 1;
  if (Number.isNaN(b.v)) return -1;
  return a.v > b.v ? -1 : a.v < b.v ? 1 : 0;
}

/**
 * A sorted copy of the argument, labels kept. Equal values keep their input
 * order (Go's sort is not stable in general, but is for the small vectors
 * where it uses insertion sort, up to 12 elements).
 */
function sorter(cmp: (a: Sample, b: Sample) => number): FunctionImpl {
  return (args, ctx) =>
    vectorArg(args, 0)
      .map((s) => ({ metric: s.metric, t: ctx.ts, v: s.v }))
      .sort(cmp);
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
