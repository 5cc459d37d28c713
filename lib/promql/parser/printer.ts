/**
 * Prints an expression in the form of Prometheus 2.42's `Expr.String()`
 * (promql/parser/printer.go), which the API and error messages use.
 */
import { goQuote } from '../../labels/quote.ts';
import type { Expr, VectorMatching, VectorSelector } from './ast.ts';

/**
 * Go's `fmt.Sprint(float64)` (`%v`: the shortest digits, in exponent form
 * when the exponent is below -4 or at least 6): `1`, `0.5`, `123456`,
 * `1e+06`, `1.5e-07`, `+Inf`, `NaN`.
 */
export function goFormatFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const [mant, expStr] = v.toExponential().split('e');
  const exp = Number(expStr);
  if (exp < -4 || exp >= 6) {
    const e = Math.abs(exp);
    return `${mant}e${exp < 0 ? '-' : '+'}${e < 10 ? '0' : ''}${e}`;
  }
  // Plain decimal notation with the shortest digits.
  const neg = mant.startsWith('-');
  const digits = mant.replace('-', '').replace('.', '');
  let s: string;
  if (exp >= 0) {
    s = digits.length > exp + 1 ? `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}` : digits.padEnd(exp + 1, '0');
  } else {
    s = `0.${'0'.repeat(-exp - 1)}${digits}`;
  }
  return (neg ? '-' : '') + s;
}

/** prometheus/common's `model.Duration.String()`: `1h30m`, `2w`, `90d`, `0s`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let r = '';
  let rest = ms;
  const unit = (name: string, mult: number, exact: boolean) => {
    if (exact && rest % mult !== 0) return;
    const v = Math.floor(rest / mult);
    if (v > 0) {
      r += `${v}${name}`;
      rest -= v * mult;
    }
  };
  unit('y', 365 * 86_400_000, true);
  unit('w', 7 * 86_400_000, true);
  unit('d', 86_400_000, false);
  unit('h', 3_600_000, false);
  unit('m', 60_000, false);
  unit('s', 1000, false);
  unit('ms', 1, false);
  return r;
}

function offsetSuffix(offset: number): string {
  if (offset > 0) return ` offset ${formatDuration(offset)}`;
  if (offset < 0) return ` offset -${formatDuration(-offset)}`;
  return '';
}

function atSuffix(e: { timestamp?: number; startOrEnd?: 'start' | 'end' }): string {
  if (e.timestamp !== undefined) return ` @ ${(e.timestamp / 1000).toFixed(3)}`;
  if (e.startOrEnd === 'start') return ' @ start()';
  if (e.startOrEnd === 'end') return ' @ end()';
  return '';
}

function selectorString(vs: VectorSelector, withModifiers: boolean): string {
  const labels = vs.matchers
    .filter((m) => !(m.name === '__name__' && m.type === '=' && m.value === vs.name))
    .map((m) => m.toString())
    .sort(compareGoStrings);
  const mods = withModifiers ? atSuffix(vs) + offsetSuffix(vs.offset) : '';
  if (labels.length === 0) return `${vs.name}${mods}`;
  return `${vs.name}{${labels.join(',')}}${mods}`;
}

/** Byte-wise comparison of the UTF-8 encodings, as Go's sort.Strings. */
function compareGoStrings(a: string, b: string): number {
  const ba = Buffer.from(a);
  const bb = Buffer.from(b);
  return Buffer.compare(ba, bb);
}

function matchingString(vm: VectorMatching | undefined): string {
  if (vm === undefined || (vm.matchingLabels.length === 0 && !vm.on)) return '';
  let s = ` ${vm.on ? 'on' : 'ignoring'} (${vm.matchingLabels.join(', ')})`;
  if (vm.card === 'many-to-one' || vm.card === 'one-to-many') {
    s += ` group_${vm.card === 'many-to-one' ? 'left' : 'right'} (${vm.include.join(', ')})`;
  }
  return s;
}

/** Prints `e` as Prometheus' `String()` does. */
export function exprToString(e: Expr): string {
  switch (e.type) {
    case 'AggregateExpr': {
      let s: string = e.op;
      if (e.without) s += ` without (${e.grouping.join(', ')}) `;
      else if (e.grouping.length > 0) s += ` by (${e.grouping.join(', ')}) `;
      s += '(';
      if (e.param !== undefined) s += `${exprToString(e.param)}, `;
      return `${s}${exprToString(e.expr)})`;
    }
    case 'BinaryExpr':
      return `${exprToString(e.lhs)} ${e.op}${e.returnBool ? ' bool' : ''}${matchingString(e.matching)} ${exprToString(e.rhs)}`;
    case 'Call':
      return `${e.func.name}(${e.args.map(exprToString).join(', ')})`;
    case 'MatrixSelector': {
      const vs = e.vectorSelector;
      return `${selectorString(vs, false)}[${formatDuration(e.range)}]${atSuffix(vs)}${offsetSuffix(vs.offset)}`;
    }
    case 'SubqueryExpr': {
      const step = e.step !== 0 ? formatDuration(e.step) : '';
      return `${exprToString(e.expr)}[${formatDuration(e.range)}:${step}]${atSuffix(e)}${offsetSuffix(e.offset)}`;
    }
    case 'NumberLiteral':
      return goFormatFloat(e.val);
    case 'StringLiteral':
      return goQuote(e.val);
    case 'ParenExpr':
      return `(${exprToString(e.expr)})`;
    case 'UnaryExpr':
      return `${e.op}${exprToString(e.expr)}`;
    case 'VectorSelector':
      return selectorString(e, true);
    case 'StepInvariantExpr':
      return exprToString(e.expr);
  }
}
