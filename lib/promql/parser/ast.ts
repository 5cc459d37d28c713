/**
 * The PromQL abstract syntax tree, after Prometheus 2.42's
 * promql/parser/ast.go. Every node is a plain object with a string
 * discriminant `type` and its byte `posRange` in the query text.
 *
 * Durations and times are milliseconds. The parser never produces
 * {@link StepInvariantExpr}; {@link preprocessExpr} (preprocess.ts) adds it,
 * as Prometheus' `PreprocessExpr` does.
 */
import type { Matcher } from '../../labels/matcher.ts';
import type { ValueType } from '../value.ts';

/** Byte offsets of a node in the query: `[start, end)`, as Prometheus' `PositionRange`. */
export interface PosRange {
  start: number;
  end: number;
}

/** The aggregation operators of PromQL 2.42. */
export const AggregateOps = [
  'sum', 'avg', 'count', 'min', 'max', 'group', 'stddev', 'stdvar',
  'topk', 'bottomk', 'count_values', 'quantile',
] as const;
/** One of {@link AggregateOps}. */
export type AggregateOp = (typeof AggregateOps)[number];

/** The binary operators of PromQL 2.42. */
export type BinaryOp =
  | '+' | '-' | '*' | '/' | '%' | '^'
  | '==' | '!=' | '>' | '<' | '>=' | '<='
  | 'and' | 'or' | 'unless' | 'atan2';

/** How `@` was given as `start()` / `end()` (resolved by {@link preprocessExpr}). */
export type StartOrEnd = 'start' | 'end';

/**
 * A function Prometheus knows: its name, the types of its arguments, how
 * many trailing arguments may be left out (`variadic` > 0) or repeated
 * (`variadic` = -1), and the type it returns. See functions.ts.
 */
export interface FunctionDef {
  readonly name: string;
  readonly argTypes: readonly ValueType[];
  /** 0: exactly `argTypes.length` arguments; n > 0: up to n trailing ones optional; -1: the last repeats. */
  readonly variadic: number;
  readonly returnType: ValueType;
}

/** Cardinality of a vector match (`group_left` is many-to-one). */
export type VectorMatchCardinality = 'one-to-one' | 'many-to-one' | 'one-to-many' | 'many-to-many';

/** How the two vectors of a binary operation are matched (Prometheus' `VectorMatching`). */
export interface VectorMatching {
  card: VectorMatchCardinality;
  /** The labels of `on(...)` or `ignoring(...)`. */
  matchingLabels: string[];
  /** True for `on(...)`, false for `ignoring(...)` or no clause. */
  on: boolean;
  /** Labels of `group_left(...)` / `group_right(...)` copied from the "one" side. */
  include: string[];
}

/** `sum by (job) (x)`, `topk(3, x)`, ... */
export interface AggregateExpr {
  type: 'AggregateExpr';
  op: AggregateOp;
  expr: Expr;
  /** The parameter of topk, bottomk, quantile and count_values. */
  param?: Expr;
  grouping: string[];
  without: boolean;
  posRange: PosRange;
}

/** `a + b`, `a > bool b`, `a and on(x) b`, ... */
export interface BinaryExpr {
  type: 'BinaryExpr';
  op: BinaryOp;
  lhs: Expr;
  rhs: Expr;
  /** Set when both sides are vectors (as Prometheus), else undefined. */
  matching?: VectorMatching;
  /** `bool` modifier of a comparison: return 0/1 instead of filtering. */
  returnBool: boolean;
  posRange: PosRange;
}

/** A function call. */
export interface Call {
  type: 'Call';
  func: FunctionDef;
  args: Expr[];
  posRange: PosRange;
}

/** `x[5m]` (with the selector's own offset and `@`). */
export interface MatrixSelector {
  type: 'MatrixSelector';
  vectorSelector: VectorSelector;
  /** The range, ms. */
  range: number;
  posRange: PosRange;
}

/** `expr[range:step] offset o @ t`. */
export interface SubqueryExpr {
  type: 'SubqueryExpr';
  expr: Expr;
  /** ms. */
  range: number;
  /** The offset written in the query (Prometheus' OriginalOffset), ms. */
  offset: number;
  /** From `@`, ms; after {@link preprocessExpr} also for `@ start()` / `@ end()`. */
  timestamp?: number;
  startOrEnd?: StartOrEnd;
  /** ms; 0 means the default evaluation interval. */
  step: number;
  posRange: PosRange;
}

export interface NumberLiteral {
  type: 'NumberLiteral';
  val: number;
  posRange: PosRange;
}

export interface StringLiteral {
  type: 'StringLiteral';
  val: string;
  posRange: PosRange;
}

export interface ParenExpr {
  type: 'ParenExpr';
  expr: Expr;
  posRange: PosRange;
}

export interface UnaryExpr {
  type: 'UnaryExpr';
  op: '+' | '-';
  expr: Expr;
  posRange: PosRange;
}

/** `name{l="v"} offset o @ t`. */
export interface VectorSelector {
  type: 'VectorSelector';
  /** The metric name, or `''` when none was given. */
  name: string;
  /** Every matcher, including the `__name__` one for a named selector (as Prometheus). */
  matchers: Matcher[];
  /** The offset written in the query (Prometheus' OriginalOffset), ms. */
  offset: number;
  /** From `@`, ms; after {@link preprocessExpr} also for `@ start()` / `@ end()`. */
  timestamp?: number;
  startOrEnd?: StartOrEnd;
  posRange: PosRange;
}

/** A subtree whose value does not depend on the evaluation step (added by preprocessExpr). */
export interface StepInvariantExpr {
  type: 'StepInvariantExpr';
  expr: Expr;
  posRange: PosRange;
}

/** Any PromQL expression. */
export type Expr =
  | AggregateExpr
  | BinaryExpr
  | Call
  | MatrixSelector
  | SubqueryExpr
  | NumberLiteral
  | StringLiteral
  | ParenExpr
  | UnaryExpr
  | VectorSelector
  | StepInvariantExpr;

/** The type an expression evaluates to (Prometheus' `Expr.Type()`). */
export function exprType(e: Expr): ValueType {
  switch (e.type) {
    case 'AggregateExpr':
    case 'VectorSelector':
      return 'vector';
    case 'Call':
      return e.func.returnType;
    case 'MatrixSelector':
    case 'SubqueryExpr':
      return 'matrix';
    case 'NumberLiteral':
      return 'scalar';
    case 'StringLiteral':
      return 'string';
    case 'ParenExpr':
    case 'UnaryExpr':
    case 'StepInvariantExpr':
      return exprType(e.expr);
    case 'BinaryExpr':
      return exprType(e.lhs) === 'scalar' && exprType(e.rhs) === 'scalar' ? 'scalar' : 'vector';
  }
}

/** The direct children of a node, in order (Prometheus' `Children`). */
export function children(e: Expr): Expr[] {
  switch (e.type) {
    case 'AggregateExpr':
      return e.param ? [e.param, e.expr] : [e.expr];
    case 'BinaryExpr':
      return [e.lhs, e.rhs];
    case 'Call':
      return e.args;
    case 'MatrixSelector':
      return [e.vectorSelector];
    case 'SubqueryExpr':
    case 'ParenExpr':
    case 'UnaryExpr':
    case 'StepInvariantExpr':
      return [e.expr];
    default:
      return [];
  }
}
