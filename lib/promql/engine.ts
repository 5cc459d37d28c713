/**
 * The PromQL engine: parses a query and evaluates it over a Queryable with
 * the semantics of Prometheus 2.42 (promql/engine.go). The evaluation
 * itself lives in eval/: eval/run.ts runs one query, eval/evaluator.ts
 * evaluates the tree.
 */
import type { Queryable } from '../storage/interface.ts';
import { PromQLError } from './errors.ts';
import { functions as defaultFunctions } from './functions/index.ts';
import type { FunctionImpl } from './functions/types.ts';
import { exprType, type Expr } from './parser/ast.ts';
import { parseExpr } from './parser/parse.ts';
import { runQuery, type RunOptions } from './eval/run.ts';
import type { Value } from './value.ts';

/** Options of an {@link Engine}. */
export interface EngineOptions {
  /** How far back an instant selector looks for a sample, ms. @default 300000 (5m) */
  lookbackDeltaMs?: number;
  /** Most samples a query may hold in memory at once. @default 50000000 (Prometheus' --query.max-samples) */
  maxSamples?: number;
  /** Longest a query may run, ms. @default 120000 (Prometheus' --query.timeout) */
  timeoutMs?: number;
  /**
   * Step of subqueries written without one, ms. Prometheus uses the global
   * `evaluation_interval` (1m by default) for instant and range queries alike.
   * @default 60000
   */
  noStepSubqueryIntervalMs?: number;
  /** The function library. @default every PromQL 2.42 function (functions/index.ts) */
  functions?: Readonly<Record<string, FunctionImpl>>;
}

/** Options of one query. */
export interface QueryOptions {
  /** Cancels the query: it then fails with a QueryCanceledError. */
  signal?: AbortSignal;
}

/** What a query returns. */
export interface QueryResult {
  value: Value;
  /** Warnings from storage (partial data). */
  warnings: string[];
}

/** Prometheus' `parser.DocumentedType`. */
function documentedType(t: string): string {
  if (t === 'vector') return 'instant vector';
  if (t === 'matrix') return 'range vector';
  return t;
}

/**
 * Evaluates PromQL queries. Stateless between queries; one engine may run
 * many queries at once. Errors are `PromQLError`s (a `ParseError` for a
 * query that does not parse, `TooManySamplesError`, `QueryTimeoutError`,
 * `QueryCanceledError`, ...) with Prometheus' messages; errors from storage
 * are passed through unchanged.
 */
export class Engine {
  private readonly base: Omit<RunOptions, 'signal'>;

  constructor(opts: EngineOptions = {}) {
    const noStep = opts.noStepSubqueryIntervalMs ?? 60_000;
    this.base = {
      lookbackDeltaMs: opts.lookbackDeltaMs ?? 300_000,
      maxSamples: opts.maxSamples ?? 50_000_000,
      timeoutMs: opts.timeoutMs ?? 120_000,
      noStepSubqueryInterval: () => noStep,
      functions: opts.functions ?? defaultFunctions,
    };
  }

  /** Evaluates `query` at `timeMs`; the value has the expression's type. */
  async instantQuery(q: Queryable, query: string | Expr, timeMs: number, opts: QueryOptions = {}): Promise<QueryResult> {
    const expr = typeof query === 'string' ? parseExpr(query) : query;
    return runQuery(q, expr, timeMs, timeMs, 0, { ...this.base, signal: opts.signal });
  }

  /**
   * Evaluates `query` at every step of `[startMs, endMs]`, `stepMs` apart;
   * the value is a Matrix sorted by labels. Only instant-vector and scalar
   * expressions can be range queries.
   */
  async rangeQuery(
    q: Queryable,
    query: string | Expr,
    startMs: number,
    endMs: number,
    stepMs: number,
    opts: QueryOptions = {},
  ): Promise<QueryResult> {
    const expr = typeof query === 'string' ? parseExpr(query) : query;
    const t = exprType(expr);
    if (t !== 'vector' && t !== 'scalar') {
      throw new PromQLError('bad_data', `invalid expression type "${documentedType(t)}" for range query, must be Scalar or instant Vector`);
    }
    if (!(stepMs > 0)) throw new PromQLError('bad_data', 'zero or negative query resolution step widths are not accepted. Try a positive integer');
    if (endMs < startMs) throw new PromQLError('bad_data', 'end timestamp must not be before start time');
    return runQuery(q, expr, startMs, endMs, stepMs, { ...this.base, signal: opts.signal });
  }
}
