/**
 * What the engine works out from the tree before evaluating it, after
 * Prometheus 2.42's engine.go: the time range each selector reads
 * (`getTimeRangesForSelector`, `findMinMaxTime`), the hints passed to
 * `Querier.select` (`populateSeries`), and the offsets that turn `@` into
 * a shift from the evaluation time (`setOffsetForAtModifier`).
 */
import type { SelectHints } from '../../storage/interface.ts';
import { children, type Expr, type SubqueryExpr, type VectorSelector } from '../parser/ast.ts';

/** Visits every node with its ancestors (root first), as Prometheus' `parser.Inspect`. */
export function inspect(expr: Expr, fn: (node: Expr, path: readonly Expr[]) => void, path: Expr[] = []): void {
  fn(expr, path);
  path.push(expr);
  for (const c of children(expr)) inspect(c, fn, path);
  path.pop();
}

/**
 * The summed offsets and ranges of the subqueries on `path`, restarting at
 * the innermost subquery with `@`, whose timestamp is returned too
 * (Prometheus' `subqueryTimes`).
 */
export function subqueryTimes(path: readonly Expr[]): { offset: number; range: number; ts: number | undefined } {
  let offset = 0;
  let range = 0;
  let ts: number | undefined;
  for (const n of path) {
    if (n.type !== 'SubqueryExpr') continue;
    offset += n.offset;
    range += n.range;
    if (n.timestamp !== undefined) {
      offset = n.offset;
      range = n.range;
      ts = n.timestamp;
    }
  }
  return { offset, range, ts };
}

/** The statement being evaluated (Prometheus' `EvalStmt`), times in ms. */
export interface EvalStmt {
  expr: Expr;
  start: number;
  end: number;
  /** Step of a range query; 0 for an instant query. */
  interval: number;
  lookbackDelta: number;
}

/** The data range `[start, end]` one selector needs (Prometheus' `getTimeRangesForSelector`). */
export function selectorTimeRange(s: EvalStmt, n: VectorSelector, path: readonly Expr[], evalRange: number): { start: number; end: number } {
  let start = s.start;
  let end = s.end;
  const sq = subqueryTimes(path);
  if (sq.ts !== undefined) {
    start = sq.ts;
    end = sq.ts;
  }
  if (n.timestamp !== undefined) {
    start = n.timestamp;
    end = n.timestamp;
  } else {
    start = start - sq.offset - sq.range;
    end = end - sq.offset;
  }
  start -= evalRange === 0 ? s.lookbackDelta : evalRange;
  start -= n.offset;
  end -= n.offset;
  return { start, end };
}

/** The range every selector of the statement lies in; [0, 0] without selectors. */
export function findMinMaxTime(s: EvalStmt): { mint: number; maxt: number } {
  let mint = Infinity;
  let maxt = -Infinity;
  let evalRange = 0;
  inspect(s.expr, (node, path) => {
    if (node.type === 'VectorSelector') {
      const r = selectorTimeRange(s, node, path, evalRange);
      if (r.start < mint) mint = r.start;
      if (r.end > maxt) maxt = r.end;
      evalRange = 0;
    } else if (node.type === 'MatrixSelector') {
      evalRange = node.range;
    }
  });
  if (maxt === -Infinity) return { mint: 0, maxt: 0 };
  return { mint, maxt };
}

/** The function or aggregation nearest above a selector, stopping at a binary expression. */
function funcFromPath(path: readonly Expr[]): string | undefined {
  for (let i = path.length - 1; i >= 0; i--) {
    const n = path[i]!;
    if (n.type === 'AggregateExpr') return n.op;
    if (n.type === 'Call') return n.func.name;
    if (n.type === 'BinaryExpr') return undefined;
  }
  return undefined;
}

/** The step of the innermost subquery on `path` (its default when not given), or 0. */
function lastSubqueryInterval(path: readonly Expr[], noStepSubqueryInterval: (rangeMs: number) => number): number {
  let interval = 0;
  for (const n of path) {
    if (n.type === 'SubqueryExpr') interval = n.step !== 0 ? n.step : noStepSubqueryInterval(n.range);
  }
  return interval;
}

/** Every vector selector of the statement with the hints for its select (Prometheus' `populateSeries`). */
export function selectorHints(s: EvalStmt, noStepSubqueryInterval: (rangeMs: number) => number): Map<VectorSelector, SelectHints> {
  const out = new Map<VectorSelector, SelectHints>();
  let evalRange = 0;
  inspect(s.expr, (node, path) => {
    if (node.type === 'VectorSelector') {
      const { start, end } = selectorTimeRange(s, node, path, evalRange);
      let step = lastSubqueryInterval(path, noStepSubqueryInterval);
      if (step === 0) step = s.interval;
      const hints: SelectHints = { start, end, step, range: evalRange };
      const func = funcFromPath(path);
      if (func !== undefined) hints.func = func;
      out.set(node, hints);
      evalRange = 0;
    } else if (node.type === 'MatrixSelector') {
      evalRange = node.range;
    }
  });
  return out;
}

/**
 * The evaluation offsets of selectors and subqueries (Prometheus keeps them
 * in the tree as `Offset`, beside `OriginalOffset`). With `@`, the offset
 * is relative to the evaluation time `evalTime` of the enclosing
 * evaluator, so that `evalTime - offset` lands on the `@` time.
 */
export type Offsets = Map<VectorSelector | SubqueryExpr, number>;

/** Sets the offsets of every selector and subquery under `expr` for `evalTime` (Prometheus' `setOffsetForAtModifier`). */
export function setOffsetForAtModifier(offsets: Offsets, evalTime: number, expr: Expr): void {
  const offsetFor = (ts: number | undefined, original: number, path: readonly Expr[]): number => {
    if (ts === undefined) return original;
    const sq = subqueryTimes(path);
    let subqOffset = sq.offset;
    if (sq.ts !== undefined) subqOffset += evalTime - sq.ts;
    return original + (evalTime - ts) - subqOffset;
  };
  inspect(expr, (node, path) => {
    if (node.type === 'VectorSelector' || node.type === 'SubqueryExpr') {
      offsets.set(node, offsetFor(node.timestamp, node.offset, path));
    }
  });
}
