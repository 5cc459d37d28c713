/**
 * Binary operators, after Prometheus 2.42's promql/engine.go
 * (`scalarBinop`, `vectorElemBinop`, `VectorBinop`, `VectorAnd`,
 * `VectorOr`, `VectorUnless`, `VectorscalarBinop`, `resultMetric`): the
 * arithmetic, the comparison filters and `bool`, vector matching with
 * on/ignoring and group_left/group_right, and Prometheus' error messages.
 */
import { labelsToString, MetricName, type Labels } from '../../labels/labels.ts';
import type { BinaryOp, VectorMatching } from '../parser/ast.ts';
import { PromQLError } from '../errors.ts';
import type { Sample, Vector } from '../value.ts';
import { deleteLabels, dropMetricName, keepLabels, labelsKey, matchLabels, setLabel } from './label-ops.ts';

/** Go's `math.Pow`, whose special cases differ from `**` for bases ±1. */
export function goPow(x: number, y: number): number {
  if (y === 0 || x === 1) return 1;
  if (x === -1 && (y === Infinity || y === -Infinity)) return 1;
  return x ** y;
}

/** Reports whether `op` is a comparison (`==`, `!=`, `>`, `<`, `>=`, `<=`). */
export function isComparison(op: BinaryOp): boolean {
  return op === '==' || op === '!=' || op === '>' || op === '<' || op === '>=' || op === '<=';
}

/** Reports whether `op` is a set operator (`and`, `or`, `unless`). */
export function isSetOperator(op: BinaryOp): boolean {
  return op === 'and' || op === 'or' || op === 'unless';
}

/** Whether the result of `op` loses the metric name (arithmetic only, not atan2 or comparisons). */
export function shouldDropMetricName(op: BinaryOp): boolean {
  return op === '+' || op === '-' || op === '*' || op === '/' || op === '%' || op === '^';
}

/** Evaluates `lhs op rhs` for two scalars; comparisons yield 0 or 1. */
export function scalarBinop(op: BinaryOp, lhs: number, rhs: number): number {
  switch (op) {
    case '+': return lhs + rhs;
    case '-': return lhs - rhs;
    case '*': return lhs * rhs;
    case '/': return lhs / rhs;
    case '^': return goPow(lhs, rhs);
    case '%': return lhs % rhs; // JS `%` has Go math.Mod's special cases
    case '==': return lhs === rhs ? 1 : 0;
    case '!=': return lhs !== rhs ? 1 : 0;
    case '>': return lhs > rhs ? 1 : 0;
    case '<': return lhs < rhs ? 1 : 0;
    case '>=': return lhs >= rhs ? 1 : 0;
    case '<=': return lhs <= rhs ? 1 : 0;
    case 'atan2': return Math.atan2(lhs, rhs);
  }
  throw new PromQLError('internal', `operator "${op}" not allowed for Scalar operations`);
}

/** Whether the last {@link vectorElemBinop} keeps its element (a comparison's outcome; else true). */
let elemKeep = true;

/**
 * Evaluates `lhs op rhs` for two vector elements. Comparisons return `lhs`
 * and set `elemKeep` to the comparison's outcome (no allocation per element).
 */
export function vectorElemBinop(op: BinaryOp, lhs: number, rhs: number): number {
  elemKeep = true;
  switch (op) {
    case '+': return lhs + rhs;
    case '-': return lhs - rhs;
    case '*': return lhs * rhs;
    case '/': return lhs / rhs;
    case '^': return goPow(lhs, rhs);
    case '%': return lhs % rhs;
    case '==': elemKeep = lhs === rhs; return lhs;
    case '!=': elemKeep = lhs !== rhs; return lhs;
    case '>': elemKeep = lhs > rhs; return lhs;
    case '<': elemKeep = lhs < rhs; return lhs;
    case '>=': elemKeep = lhs >= rhs; return lhs;
    case '<=': elemKeep = lhs <= rhs; return lhs;
    case 'atan2': return Math.atan2(lhs, rhs);
  }
  throw new PromQLError('internal', `operator "${op}" not allowed for operations between Vectors`);
}

/** `vector op scalar` (or `scalar op vector` with `swap`). */
export function vectorScalarBinop(op: BinaryOp, vec: Vector, scalar: number, swap: boolean, returnBool: boolean): Vector {
  const out: Vector = [];
  const comparison = isComparison(op);
  const drop = shouldDropMetricName(op) || returnBool;
  for (const s of vec) {
    let lv = s.v;
    let rv = scalar;
    if (swap) {
      lv = scalar;
      rv = s.v;
    }
    let value = vectorElemBinop(op, lv, rv);
    let keep = elemKeep;
    // A scalar on the left of a comparison still yields the vector's value.
    if (comparison && swap) value = rv;
    if (returnBool) {
      value = keep ? 1 : 0;
      keep = true;
    }
    if (keep) out.push({ metric: drop ? dropMetricName(s.metric) : s.metric, t: s.t, v: value });
  }
  return out;
}

/** `lhs and rhs`: the lhs elements with a match on the right. */
export function vectorAnd(lhs: Vector, rhs: Vector, lsig: readonly string[], rsig: readonly string[]): Vector {
  if (lhs.length === 0 || rhs.length === 0) return [];
  const right = new Set(rsig);
  const out: Vector = [];
  for (let i = 0; i < lhs.length; i++) if (right.has(lsig[i]!)) out.push(lhs[i]!);
  return out;
}

/** `lhs or rhs`: every lhs element, then the rhs ones without a match on the left. */
export function vectorOr(lhs: Vector, rhs: Vector, lsig: readonly string[], rsig: readonly string[]): Vector {
  if (lhs.length === 0) return rhs.slice();
  if (rhs.length === 0) return lhs.slice();
  const left = new Set(lsig);
  const out: Vector = lhs.slice();
  for (let j = 0; j < rhs.length; j++) if (!left.has(rsig[j]!)) out.push(rhs[j]!);
  return out;
}

/** `lhs unless rhs`: the lhs elements without a match on the right. */
export function vectorUnless(lhs: Vector, rhs: Vector, lsig: readonly string[], rsig: readonly string[]): Vector {
  if (lhs.length === 0 || rhs.length === 0) return lhs.slice();
  const right = new Set(rsig);
  const out: Vector = [];
  for (let i = 0; i < lhs.length; i++) if (!right.has(lsig[i]!)) out.push(lhs[i]!);
  return out;
}

/** Caches of one binary expression node, kept across steps (Prometheus' EvalNodeHelper). */
export class BinopCache {
  /** Result labels by the identity of the two input label arrays (immutable, reused across steps). */
  readonly resultMetric = new WeakMap<Labels, WeakMap<Labels, Labels>>();
}

/**
 * `lhs op rhs` between two vectors with one-to-one, many-to-one or
 * one-to-many matching (not the set operators).
 */
export function vectorBinop(
  op: BinaryOp,
  lhs: Vector,
  rhs: Vector,
  matching: VectorMatching,
  returnBool: boolean,
  lsig: readonly string[],
  rsig: readonly string[],
  cache: BinopCache,
): Vector {
  if (matching.card === 'many-to-many') throw new PromQLError('internal', 'many-to-many only allowed for set operators');
  if (lhs.length === 0 || rhs.length === 0) return [];
  const oneToMany = matching.card === 'one-to-many';
  // The code below handles one-to-one and many-to-one; one-to-many swaps the sides.
  if (oneToMany) {
    [lhs, rhs] = [rhs, lhs];
    [lsig, rsig] = [rsig, lsig];
  }
  // The "one" side by signature; a second sample with the same signature is an error.
  const rightSigs = new Map<string, Sample>();
  for (let i = 0; i < rhs.length; i++) {
    const rs = rhs[i]!;
    const sig = rsig[i]!;
    const dup = rightSigs.get(sig);
    if (dup !== undefined) {
      const oneSide = oneToMany ? 'left' : 'right';
      const group = matchLabels(rs.metric, matching.on, matching.matchingLabels);
      throw new PromQLError(
        'execution',
        `found duplicate series for the match group ${labelsToString(group)} on the ${oneSide} hand-side of the operation: ` +
          `[${labelsToString(rs.metric)}, ${labelsToString(dup.metric)}]` +
          ';many-to-many matching not allowed: matching labels must be unique on one side',
      );
    }
    rightSigs.set(sig, rs);
  }

  // One-to-one: the signatures matched so far. Many-to-one: per signature, the result label sets.
  const matched = new Map<string, Set<string> | null>();
  const out: Vector = [];
  for (let i = 0; i < lhs.length; i++) {
    const ls = lhs[i]!;
    const sig = lsig[i]!;
    const rs = rightSigs.get(sig);
    if (rs === undefined) continue;
    let vl = ls.v;
    let vr = rs.v;
    if (oneToMany) {
      vl = rs.v;
      vr = ls.v;
    }
    let value = vectorElemBinop(op, vl, vr);
    const keep = elemKeep;
    if (returnBool) value = keep ? 1 : 0;
    else if (!keep) continue;
    let metric = resultMetric(ls.metric, rs.metric, op, matching, cache);
    if (returnBool) metric = dropMetricName(metric);
    const inserted = matched.get(sig);
    if (matching.card === 'one-to-one') {
      if (inserted !== undefined) {
        throw new PromQLError('execution', 'multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)');
      }
      matched.set(sig, null);
    } else {
      const key = labelsKey(metric);
      if (inserted === undefined || inserted === null) {
        matched.set(sig, new Set([key]));
      } else if (inserted.has(key)) {
        throw new PromQLError('execution', 'multiple matches for labels: grouping labels must ensure unique matches');
      } else {
        inserted.add(key);
      }
    }
    out.push({ metric, t: ls.t, v: value });
  }
  return out;
}

/** The labels of a vector-vector result (Prometheus' `resultMetric`). */
function resultMetric(lhs: Labels, rhs: Labels, op: BinaryOp, matching: VectorMatching, cache: BinopCache): Labels {
  let byRhs = cache.resultMetric.get(lhs);
  if (byRhs === undefined) {
    byRhs = new WeakMap();
    cache.resultMetric.set(lhs, byRhs);
  }
  const hit = byRhs.get(rhs);
  if (hit !== undefined) return hit;
  let m = lhs;
  if (shouldDropMetricName(op)) m = deleteLabels(m, [MetricName]);
  if (matching.card === 'one-to-one') {
    m = matching.on ? keepLabels(m, matching.matchingLabels) : deleteLabels(m, matching.matchingLabels);
  }
  for (const name of matching.include) {
    // Labels of group_x(...) come from the "one" side; missing there means absent.
    let v = '';
    for (const l of rhs) if (l.name === name) v = l.value;
    m = setLabel(m, name, v);
  }
  byRhs.set(rhs, m);
  return m;
}
