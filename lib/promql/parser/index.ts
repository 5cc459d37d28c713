/**
 * The PromQL parser of Prometheus 2.42: AST, function table, parsing with
 * Prometheus' error messages, and printing (preprocessing lives with the engine, in eval/preprocess.ts).
 */
export * from './ast.ts';
export { Functions, getFunction } from './functions.ts';
export { parseExpr, parseMetricSelector, formatParseError } from './parse.ts';
export { documentedType } from './check.ts';
export { exprToString, formatDuration, goFormatFloat } from './printer.ts';
export { parseModelDuration, parsePromDuration, parseNumber } from './literals.ts';
