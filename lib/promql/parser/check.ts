/**
 * Type checks of a parsed PromQL tree, after Prometheus 2.42's
 * `parser.checkAST`: the same checks, in the same order, with the same
 * messages and positions. The first failing check is thrown.
 */
import { goQuote } from '../../labels/quote.ts';
import type { ValueType } from '../value.ts';
import { type BinaryExpr, type Expr, type PosRange, exprType } from './ast.ts';
import type { ErrorSink } from './parse.ts';

/** Prometheus' `DocumentedType`: the names used in type errors. */
export function documentedType(t: ValueType): string {
  if (t === 'vector') return 'instant vector';
  if (t === 'matrix') return 'range vector';
  return t;
}

const COMPARISON = new Set(['==', '!=', '<=', '<', '>=', '>']);
const SET_OPS = new Set(['and', 'or', 'unless']);

function isSpaceByte(b: number): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;
}

/**
 * Checks `node` and its children; returns its type. `fail` throws the
 * formatted error; `bytes` is the UTF-8 query (for operator positions).
 */
export function checkAST(node: Expr, fail: ErrorSink, bytes: Uint8Array): ValueType {
  const expectType = (e: Expr, want: ValueType, context: string): void => {
    const t = checkAST(e, fail, bytes);
    if (t !== want) fail(e.posRange, `expected type ${documentedType(want)} in ${context}, got ${documentedType(t)}`);
  };
  const typ = exprType(node);
  switch (node.type) {
    case 'AggregateExpr':
      expectType(node.expr, 'vector', 'aggregation expression');
      if (node.op === 'topk' || node.op === 'bottomk' || node.op === 'quantile') {
        expectType(node.param!, 'scalar', 'aggregation parameter');
      }
      if (node.op === 'count_values') expectType(node.param!, 'string', 'aggregation parameter');
      break;
    case 'BinaryExpr':
      checkBinary(node, fail, bytes);
      break;
    case 'Call': {
      const f = node.func;
      const nargs = f.argTypes.length;
      const got = node.args.length;
      if (f.variadic === 0) {
        if (nargs !== got) fail(node.posRange, `expected ${nargs} argument(s) in call to ${goQuote(f.name)}, got ${got}`);
      } else {
        const na = nargs - 1;
        if (na > got) {
          fail(node.posRange, `expected at least ${na} argument(s) in call to ${goQuote(f.name)}, got ${got}`);
        } else if (f.variadic > 0 && na + f.variadic < got) {
          fail(node.posRange, `expected at most ${na + f.variadic} argument(s) in call to ${goQuote(f.name)}, got ${got}`);
        }
      }
      for (let i = 0; i < got; i++) {
        let j = i;
        if (j >= nargs) {
          if (f.variadic === 0) break;
          j = nargs - 1;
        }
        expectType(node.args[i], f.argTypes[j], `call to function ${goQuote(f.name)}`);
      }
      break;
    }
    case 'ParenExpr':
    case 'StepInvariantExpr':
      checkAST(node.expr, fail, bytes);
      break;
    case 'UnaryExpr': {
      const t = checkAST(node.expr, fail, bytes);
      if (t !== 'scalar' && t !== 'vector') {
        fail(node.posRange, `unary expression only allowed on expressions of type scalar or instant vector, got ${goQuote(documentedType(t))}`);
      }
      break;
    }
    case 'SubqueryExpr': {
      const t = checkAST(node.expr, fail, bytes);
      if (t !== 'vector') fail(node.posRange, `subquery is only allowed on instant vector, got ${t} instead`);
      break;
    }
    case 'MatrixSelector':
      checkAST(node.vectorSelector, fail, bytes);
      break;
    case 'VectorSelector': {
      if (node.name !== '') {
        // The last matcher is the one made from the name outside the braces.
        for (const m of node.matchers.slice(0, -1)) {
          if (m.name === '__name__') {
            fail(node.posRange, `metric name must not be set twice: ${goQuote(node.name)} or ${goQuote(m.value)}`);
          }
        }
        break;
      }
      if (!node.matchers.some((m) => !m.matches(''))) {
        fail(node.posRange, 'vector selector must contain at least one non-empty matcher');
      }
      break;
    }
    case 'NumberLiteral':
    case 'StringLiteral':
      break;
  }
  return typ;
}

function checkBinary(n: BinaryExpr, fail: ErrorSink, bytes: Uint8Array): void {
  const lt = checkAST(n.lhs, fail, bytes);
  const rt = checkAST(n.rhs, fail, bytes);
  // The operator's position: from the end of the LHS, skipping white space.
  const opRange = (): PosRange => {
    let start = n.lhs.posRange.end;
    while (start < bytes.length && isSpaceByte(bytes[start])) start++;
    let end = n.rhs.posRange.start - 1;
    while (end > 0 && isSpaceByte(bytes[end])) end--;
    return { start, end };
  };
  const isComparison = COMPARISON.has(n.op);
  const isSet = SET_OPS.has(n.op);
  if (n.returnBool && !isComparison) fail(opRange(), 'bool modifier can only be used on comparison operators');
  if (isComparison && !n.returnBool && lt === 'scalar' && rt === 'scalar') {
    fail(opRange(), 'comparisons between scalars must use BOOL modifier');
  }
  const vm = n.matching;
  if (vm !== undefined) {
    if (isSet && vm.card === 'one-to-one') vm.card = 'many-to-many';
    if (vm.on) {
      for (const l1 of vm.matchingLabels) {
        if (vm.include.includes(l1)) fail(opRange(), `label ${goQuote(l1)} must not occur in ON and GROUP clause at once`);
      }
    }
  }
  if (lt !== 'scalar' && lt !== 'vector') fail(n.lhs.posRange, 'binary expression must contain only scalar and instant vector types');
  if (rt !== 'scalar' && rt !== 'vector') fail(n.rhs.posRange, 'binary expression must contain only scalar and instant vector types');
  if ((lt !== 'vector' || rt !== 'vector') && vm !== undefined) {
    if (vm.matchingLabels.length > 0) fail(n.posRange, 'vector matching only allowed between instant vectors');
    n.matching = undefined;
  } else if (isSet && vm !== undefined) {
    if (vm.card === 'one-to-many' || vm.card === 'many-to-one') fail(n.posRange, `no grouping allowed for ${goQuote(n.op)} operation`);
    if (vm.card !== 'many-to-many') fail(n.posRange, 'set operations must always be many-to-many');
  }
  if ((lt === 'scalar' || rt === 'scalar') && isSet) {
    fail(n.posRange, `set operator ${goQuote(n.op)} not allowed in binary scalar expression`);
  }
}
