/**
 * The public surface of lib/promql: the engine, the parser's entry point
 * and tree, the value types and the errors.
 */
export { Engine, type EngineOptions, type QueryOptions, type QueryResult } from './engine.ts';
export { parseExpr } from './parser/parse.ts';
export type { Expr } from './parser/ast.ts';
export { preprocessExpr } from './eval/preprocess.ts';
export type { Matrix, MatrixSeries, Point, Sample, Scalar, StringValue, Value, ValueType, Vector } from './value.ts';
export {
  ParseError,
  PromQLError,
  QueryCanceledError,
  QueryTimeoutError,
  TooManySamplesError,
  type PromQLErrorType,
} from './errors.ts';
