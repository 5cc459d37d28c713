/**
 * absent() and absent_over_time(), after Prometheus 2.42
 * promql/functions.go (`funcAbsent`, `funcAbsentOverTime`,
 * `createLabelsForAbsentFunction`) and the absent_over_time
 * post-processing in promql/engine.go.
 */
import type { Labels } from '../../labels/labels.ts';
import { type Label, MetricName } from '../../labels/labels.ts';
import { MatchType, type Matcher } from '../../labels/matcher.ts';
import type { Expr } from '../parser/ast.ts';
import { compareUtf8 } from '../../util/utf8.ts';
import type { Matrix, Vector } from '../value.ts';
import type { FunctionImpl } from './types.ts';
import { noLabels, vectorArg } from './util.ts';

/**
 * The labels of absent()'s and absent_over_time()'s output for argument
 * expression `arg`: for a vector or matrix selector (parentheses around it
 * ignored, as the engine strips them), every label fixed by an equality
 * matcher, except `__name__` and except names matched more than once (the
 * historic rule: in `x{job="a",job="b"}` job is dropped; a later equality
 * matcher after a non-equality one does set the label). Any other
 * expression, a subquery included, gives no labels.
 */
export function absentLabels(arg: Expr | undefined): Labels {
  let e = arg;
  while (e !== undefined && e.type === 'ParenExpr') e = e.expr;
  let matchers: readonly Matcher[];
  if (e?.type === 'VectorSelector') matchers = e.matchers;
  else if (e?.type === 'MatrixSelector') matchers = e.vectorSelector.matchers;
  else return noLabels;
  const set = new Map<string, string>();
  const has = new Set<string>();
  for (const m of matchers) {
    if (m.name === MetricName) continue;
    if (m.type === MatchType.Equal && !has.has(m.name)) {
      // labels.Builder: setting an empty value deletes.
      if (m.value === '') set.delete(m.name);
      else set.set(m.name, m.value);
      has.add(m.name);
    } else {
      set.delete(m.name);
    }
  }
  const out: Label[] = [];
  for (const [name, value] of set) out.push({ name, value });
  out.sort((a, b) => compareUtf8(a.name, b.name));
  return out;
}

/** absent(v): nothing when `v` has elements, else one sample of value 1 labelled by {@link absentLabels}. */
const absent: FunctionImpl = (args, ctx) => {
  if (vectorArg(args, 0).length > 0) return [];
  return [{ metric: absentLabels(ctx.args[0]), t: ctx.ts, v: 1 }];
};

/**
 * absent_over_time(m[r]): nothing when any series of the matrix has a
 * point in the window, else one sample of value 1 labelled by
 * {@link absentLabels}.
 *
 * This is not a per-series function, so the one-series-per-call contract
 * does not fit it. An evaluator may call it once per step with every
 * series' window at that step (an empty Matrix when none has points) and
 * use the result as is, labels included; or, as Prometheus' engine does,
 * record at which steps any series has points and build the output itself
 * from {@link absentLabels}.
 */
const absentOverTime: FunctionImpl = (args, ctx) => {
  const m = args[0] as Matrix;
  for (const s of m) if (s.points.length > 0) return [];
  const out: Vector = [{ metric: absentLabels(ctx.args[0]), t: ctx.ts, v: 1 }];
  return out;
};

/** absent and absent_over_time, by PromQL name. */
export const absentFunctions: Readonly<Record<string, FunctionImpl>> = {
  absent,
  absent_over_time: absentOverTime,
};
