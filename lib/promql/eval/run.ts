/**
 * Runs one parsed query against a Queryable, after Prometheus 2.42's
 * `Engine.exec` / `execEvalStmt`: preprocess the tree, open one querier
 * over the range every selector needs, select each selector's series with
 * hints, evaluate, and shape the result (an instant query returns its
 * expression's type; a range query a Matrix sorted by labels).
 */
import { compareLabels } from '../../labels/labels.ts';
import type { Querier, Queryable, SeriesSet } from '../../storage/interface.ts';
import type { FunctionImpl } from '../functions/types.ts';
import { exprType, type Expr, type VectorSelector } from '../parser/ast.ts';
import type { Matrix, Value } from '../value.ts';
import { EnvExpressionEvaluation, EnvQueryExecution, QueryContext } from './context.ts';
import { PromQLError } from '../errors.ts';
import { Evaluator } from './evaluator.ts';
import { findMinMaxTime, selectorHints, setOffsetForAtModifier, type EvalStmt } from './plan.ts';
import { preprocessExpr } from './preprocess.ts';
import type { EvalSeries, SharedState } from './types.ts';

/** Settings of one query run. */
export interface RunOptions {
  lookbackDeltaMs: number;
  maxSamples: number;
  timeoutMs: number;
  /** Step of subqueries without one, from their range (Prometheus: the global evaluation interval). */
  noStepSubqueryInterval: (rangeMs: number) => number;
  functions: Readonly<Record<string, FunctionImpl>>;
  signal?: AbortSignal;
}

/** A query's value and the storage's warnings. */
export interface RunResult {
  value: Value;
  warnings: string[];
}

function toMatrix(mat: readonly EvalSeries[]): Matrix {
  return mat.map((s) => ({ metric: s.metric, points: s.ts.map((t, i) => ({ t, v: s.vs[i]! })) }));
}

/**
 * Evaluates `expr` (as parsed, not yet preprocessed; not modified) at
 * `start` when `interval` is 0, else at every step of `[start, end]`.
 */
export async function runQuery(
  q: Queryable,
  expr: Expr,
  start: number,
  end: number,
  interval: number,
  opts: RunOptions,
): Promise<RunResult> {
  const qc = new QueryContext(opts.maxSamples, Date.now() + opts.timeoutMs, opts.signal);
  let querier: Querier | undefined;
  try {
    qc.check(EnvQueryExecution);
    const stmt: EvalStmt = { expr: preprocessExpr(expr, start, end), start, end, interval, lookbackDelta: opts.lookbackDeltaMs };
    const { mint, maxt } = findMinMaxTime(stmt);
    const hints = selectorHints(stmt, opts.noStepSubqueryInterval);
    if (hints.size > 0) querier = await qc.race(q.querier(mint, maxt));
    const selects: SharedState['selects'] = new Map();
    for (const [vs, h] of hints) selects.set(vs, { set: querier!.select(true, h, ...vs.matchers), hints: h });
    const shared: SharedState = {
      qc,
      lookbackDelta: opts.lookbackDeltaMs,
      noStepSubqueryInterval: opts.noStepSubqueryInterval,
      functions: opts.functions,
      offsets: new Map(),
      selects,
      select: (vs: VectorSelector): SeriesSet => {
        if (querier === undefined) throw new PromQLError('internal', `selector ${vs.name} was not planned`);
        return querier.select(true, undefined, ...vs.matchers);
      },
    };
    // Selectors and subqueries with `@` are evaluated relative to the start.
    setOffsetForAtModifier(shared.offsets, start, stmt.expr);

    if (start === end && interval === 0) {
      const val = await new Evaluator(start, start, 1, shared).eval(stmt.expr);
      if (!Array.isArray(val)) return { value: { type: 'string', value: { t: val.t, v: val.v } }, warnings: qc.warnings };
      switch (exprType(stmt.expr)) {
        case 'vector':
          return {
            value: { type: 'vector', value: val.map((s) => ({ metric: s.metric, t: start, v: s.vs[0]! })) },
            warnings: qc.warnings,
          };
        case 'scalar':
          return { value: { type: 'scalar', value: { t: start, v: val[0]!.vs[0]! } }, warnings: qc.warnings };
        default:
          return { value: { type: 'matrix', value: toMatrix(val) }, warnings: qc.warnings };
      }
    }

    const val = await new Evaluator(start, end, interval, shared).eval(stmt.expr);
    qc.check(EnvExpressionEvaluation);
    const mat = val as EvalSeries[];
    mat.sort((a, b) => compareLabels(a.metric, b.metric));
    return { value: { type: 'matrix', value: toMatrix(mat) }, warnings: qc.warnings };
  } finally {
    qc.close();
    if (querier !== undefined) await querier.close();
  }
}
