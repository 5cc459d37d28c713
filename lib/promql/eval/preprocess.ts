/**
 * Prometheus 2.42's `PreprocessExpr` (promql/engine.go), without touching
 * the input: returns a copy of the tree in which `@ start()` / `@ end()`
 * are resolved to times and every step-invariant part (its value does not
 * depend on the evaluation step: literals, selectors and subqueries with
 * `@`, and what is built only from those) is wrapped in a
 * `StepInvariantExpr`, so that it is evaluated once.
 *
 * The quirks of 2.42 are kept: an aggregation's parameter is neither
 * resolved nor considered (only its argument decides), and the functions
 * whose value depends on the step time are never invariant.
 */
import type { Expr } from '../parser/ast.ts';

/** Functions whose result can change with the evaluation time even with step-invariant arguments. */
const atModifierUnsafeFunctions: ReadonlySet<string> = new Set([
  'days_in_month', 'day_of_month', 'day_of_week', 'day_of_year',
  'hour', 'minute', 'month', 'year',
  'predict_linear', 'time',
  'timestamp',
]);

function wrap(e: Expr): Expr {
  return { type: 'StepInvariantExpr', expr: e, posRange: e.posRange };
}

function pre(e: Expr, start: number, end: number): { expr: Expr; invariant: boolean } {
  switch (e.type) {
    case 'VectorSelector': {
      const ts = e.startOrEnd === 'start' ? start : e.startOrEnd === 'end' ? end : e.timestamp;
      const copy = { ...e, matchers: [...e.matchers] };
      if (ts !== undefined) copy.timestamp = ts;
      return { expr: copy, invariant: ts !== undefined };
    }
    case 'AggregateExpr': {
      const r = pre(e.expr, start, end);
      return { expr: { ...e, expr: r.expr, grouping: [...e.grouping] }, invariant: r.invariant };
    }
    case 'BinaryExpr': {
      const l = pre(e.lhs, start, end);
      const r = pre(e.rhs, start, end);
      const copy = { ...e, lhs: l.expr, rhs: r.expr };
      if (e.matching !== undefined) {
        copy.matching = { ...e.matching, matchingLabels: [...e.matching.matchingLabels], include: [...e.matching.include] };
      }
      if (l.invariant && r.invariant) return { expr: copy, invariant: true };
      if (l.invariant) copy.lhs = wrap(copy.lhs);
      if (r.invariant) copy.rhs = wrap(copy.rhs);
      return { expr: copy, invariant: false };
    }
    case 'Call': {
      let invariant = !atModifierUnsafeFunctions.has(e.func.name);
      const rs = e.args.map((a) => pre(a, start, end));
      for (const r of rs) invariant = invariant && r.invariant;
      const copy = { ...e, args: rs.map((r) => r.expr) };
      if (invariant) return { expr: copy, invariant: true };
      copy.args = rs.map((r) => (r.invariant ? wrap(r.expr) : r.expr));
      return { expr: copy, invariant: false };
    }
    case 'MatrixSelector': {
      const r = pre(e.vectorSelector, start, end);
      return { expr: { ...e, vectorSelector: r.expr as typeof e.vectorSelector }, invariant: r.invariant };
    }
    case 'SubqueryExpr': {
      // The inside is wrapped when invariant, whatever the subquery's own `@`.
      const r = pre(e.expr, start, end);
      const copy = { ...e, expr: r.invariant ? wrap(r.expr) : r.expr };
      const ts = e.startOrEnd === 'start' ? start : e.startOrEnd === 'end' ? end : e.timestamp;
      if (ts !== undefined) copy.timestamp = ts;
      return { expr: copy, invariant: ts !== undefined };
    }
    case 'ParenExpr':
    case 'UnaryExpr': {
      const r = pre(e.expr, start, end);
      return { expr: { ...e, expr: r.expr }, invariant: r.invariant };
    }
    case 'StringLiteral':
    case 'NumberLiteral':
      return { expr: { ...e }, invariant: true };
    case 'StepInvariantExpr': {
      const r = pre(e.expr, start, end);
      return { expr: { ...e, expr: r.expr }, invariant: true };
    }
  }
}

/** The preprocessed copy of `expr` for a query over `[start, end]` (ms). */
export function preprocessExpr(expr: Expr, start: number, end: number): Expr {
  const r = pre(expr, start, end);
  return r.invariant ? wrap(r.expr) : r.expr;
}
