/**
 * Parsing what the API takes besides whole queries: `match[]` series
 * selectors (Prometheus' `parseMatchersParam` over
 * `parser.ParseMetricSelector`), and the selectors inside a query
 * (`parser.ExtractSelectors`, for query_exemplars).
 */
import type { Matcher } from '../labels/matcher.ts';
import { children, type Expr } from '../promql/parser/ast.ts';
import { parseExpr, parseMetricSelector } from '../promql/parser/parse.ts';

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
  return parseExpr(input);
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
