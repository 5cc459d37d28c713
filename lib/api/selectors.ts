/**
 * Parsing what the API takes besides whole queries: `match[]` series
 * selectors (Prometheus' `parseMatchersParam` over
 * `parser.ParseMetricSelector`), and the selectors inside a query
 * (`parser.ExtractSelectors`, for query_exemplars).
 */
import type { Matcher } from '../labels/matcher.ts';
import { ParseError } from '../promql/errors.ts';
import { children, type Expr } from '../promql/parser/ast.ts';
import * as parser from '../promql/parser/parse.ts';

type MetricSelectorParser = (input: string) => Matcher[];

/**
 * The parser's metric-selector entry point when it has one (Prometheus'
 * `ParseMetricSelector`: a selector without offset or `@`). Otherwise a
 * whole expression is parsed and must be a plain vector selector; its
 * errors are then the expression parser's, which may differ in wording
 * from Prometheus' for inputs that are not a plain selector (`up + 1`).
 */
function parseMetricSelector(input: string): Matcher[] {
  const own = (parser as unknown as { parseMetricSelector?: MetricSelectorParser }).parseMetricSelector;
  if (typeof own === 'function') return own(input);
  let expr: Expr;
  try {
    expr = parser.parseExpr(input);
  } catch (err) {
    // The expression parser type-checks and refuses a selector of empty
    // matchers; ParseMetricSelector does not, and the caller's check below
    // reports it. Hand such a selector over with its (empty-matching) matchers.
    if (err instanceof ParseError && /^1:1: parse error: vector selector must contain at least one non-empty matcher$/.test(err.message) && /^\s*\{[^{}]*\}\s*$/.test(input)) {
      return [];
    }
    throw err;
  }
  if (expr.type !== 'VectorSelector' || expr.offset !== 0 || expr.timestamp !== undefined || expr.startOrEnd !== undefined) {
    throw new ParseError(`1:1: parse error: expected a series selector such as up{job="api"}, got ${JSON.stringify(input)}`);
  }
  return expr.matchers;
}

/**
 * Parses every `match[]` value. Each set must have a matcher that does not
 * match the empty string, or it would select every series.
 *
 * @throws ParseError from the parser, or Error `match[] must contain at least one non-empty matcher`.
 */
export function parseMatchersParam(values: readonly string[]): Matcher[][] {
  const sets = values.map(parseMetricSelector);
  for (const set of sets) {
    if (!set.some((m) => !m.matches(''))) throw new Error('match[] must contain at least one non-empty matcher');
  }
  return sets;
}

/** Parses a whole PromQL expression (errors: ParseError with Prometheus' text). */
export function parseQuery(input: string): Expr {
  return parser.parseExpr(input);
}

/** The matchers of every vector selector in `expr`, in tree order (Prometheus' `ExtractSelectors`). */
export function extractSelectors(expr: Expr): Matcher[][] {
  const out: Matcher[][] = [];
  const walk = (e: Expr): void => {
    if (e.type === 'VectorSelector') out.push(e.matchers);
    for (const c of children(e)) walk(c);
  };
  walk(expr);
  return out;
}
