/**
 * Every function Prometheus 2.42 knows, with its argument types, arity and
 * return type: the facts of 2.42's promql/parser/functions.go.
 */
import type { ValueType } from '../value.ts';
import type { FunctionDef } from './ast.ts';

const V: ValueType = 'vector';
const S: ValueType = 'scalar';
const M: ValueType = 'matrix';
const STR: ValueType = 'string';

function fn(name: string, argTypes: ValueType[], variadic: number, returnType: ValueType): [string, FunctionDef] {
  return [name, Object.freeze({ name, argTypes: Object.freeze(argTypes), variadic, returnType })];
}

/**
 * The functions of PromQL 2.42 by name. `variadic` follows Prometheus:
 * 0 = fixed arity, n > 0 = up to n trailing arguments may be omitted,
 * -1 = the last argument type repeats (label_join).
 */
export const Functions: ReadonlyMap<string, FunctionDef> = new Map([
  fn('abs', [V], 0, V),
  fn('absent', [V], 0, V),
  fn('absent_over_time', [M], 0, V),
  fn('acos', [V], 0, V),
  fn('acosh', [V], 0, V),
  fn('asin', [V], 0, V),
  fn('asinh', [V], 0, V),
  fn('atan', [V], 0, V),
  fn('atanh', [V], 0, V),
  fn('avg_over_time', [M], 0, V),
  fn('ceil', [V], 0, V),
  fn('changes', [M], 0, V),
  fn('clamp', [V, S, S], 0, V),
  fn('clamp_max', [V, S], 0, V),
  fn('clamp_min', [V, S], 0, V),
  fn('cos', [V], 0, V),
  fn('cosh', [V], 0, V),
  fn('count_over_time', [M], 0, V),
  fn('days_in_month', [V], 1, V),
  fn('day_of_month', [V], 1, V),
  fn('day_of_week', [V], 1, V),
  fn('day_of_year', [V], 1, V),
  fn('deg', [V], 0, V),
  fn('delta', [M], 0, V),
  fn('deriv', [M], 0, V),
  fn('exp', [V], 0, V),
  fn('floor', [V], 0, V),
  fn('histogram_count', [V], 0, V),
  fn('histogram_sum', [V], 0, V),
  fn('histogram_fraction', [S, S, V], 0, V),
  fn('histogram_quantile', [S, V], 0, V),
  fn('holt_winters', [M, S, S], 0, V),
  fn('hour', [V], 1, V),
  fn('idelta', [M], 0, V),
  fn('increase', [M], 0, V),
  fn('irate', [M], 0, V),
  fn('label_replace', [V, STR, STR, STR, STR], 0, V),
  fn('label_join', [V, STR, STR, STR], -1, V),
  fn('last_over_time', [M], 0, V),
  fn('ln', [V], 0, V),
  fn('log10', [V], 0, V),
  fn('log2', [V], 0, V),
  fn('max_over_time', [M], 0, V),
  fn('min_over_time', [M], 0, V),
  fn('minute', [V], 1, V),
  fn('month', [V], 1, V),
  fn('pi', [], 0, S),
  fn('predict_linear', [M, S], 0, V),
  fn('present_over_time', [M], 0, V),
  fn('quantile_over_time', [S, M], 0, V),
  fn('rad', [V], 0, V),
  fn('rate', [M], 0, V),
  fn('resets', [M], 0, V),
  fn('round', [V, S], 1, V),
  fn('scalar', [V], 0, S),
  fn('sgn', [V], 0, V),
  fn('sin', [V], 0, V),
  fn('sinh', [V], 0, V),
  fn('sort', [V], 0, V),
  fn('sort_desc', [V], 0, V),
  fn('sqrt', [V], 0, V),
  fn('stddev_over_time', [M], 0, V),
  fn('stdvar_over_time', [M], 0, V),
  fn('sum_over_time', [M], 0, V),
  fn('tan', [V], 0, V),
  fn('tanh', [V], 0, V),
  fn('time', [], 0, S),
  fn('timestamp', [V], 0, V),
  fn('vector', [S], 0, V),
  fn('year', [V], 1, V),
]);

/** Looks a function up by name (Prometheus' `getFunction`). */
export function getFunction(name: string): FunctionDef | undefined {
  return Functions.get(name);
}
