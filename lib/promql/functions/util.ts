/**
 * Helpers shared by the function implementations: typed access to the
 * evaluated arguments, label-set edits, and Prometheus' compensated sum.
 */
import { type Label, type Labels, MetricName } from '../../labels/labels.ts';
import { compareUtf8 } from '../../util/utf8.ts';
import { PromQLError } from '../errors.ts';
import type { Matrix, Point, Vector } from '../value.ts';
import type { ArgValue } from './types.ts';

/** The empty label set; shared, never modified. */
export const noLabels: Labels = Object.freeze([]) as Labels;

function badArg(i: number, want: string, got: ArgValue | undefined): PromQLError {
  const kind = got === undefined ? 'nothing' : typeof got === 'object' ? 'a vector or matrix' : typeof got;
  return new PromQLError('internal', `function argument ${i}: expected ${want}, got ${kind}`);
}

/** Argument `i` as an instant vector (throws an `internal` error if the evaluator passed something else). */
export function vectorArg(args: readonly ArgValue[], i: number): Vector {
  const a = args[i];
  if (!Array.isArray(a)) throw badArg(i, 'an instant vector', a);
  return a as Vector;
}

/**
 * The points of the single series of range-vector argument `i`, or
 * `undefined` when the matrix holds no series.
 */
export function seriesPoints(args: readonly ArgValue[], i: number): Point[] | undefined {
  const a = args[i];
  if (!Array.isArray(a)) throw badArg(i, 'a range vector', a);
  const m = a as Matrix;
  return m.length === 0 ? undefined : m[0]!.points;
}

/** Argument `i` as a scalar. */
export function scalarArg(args: readonly ArgValue[], i: number): number {
  const a = args[i];
  if (typeof a !== 'number') throw badArg(i, 'a scalar', a);
  return a;
}

/** Argument `i` as a string. */
export function stringArg(args: readonly ArgValue[], i: number): string {
  const a = args[i];
  if (typeof a !== 'string') throw badArg(i, 'a string', a);
  return a;
}

/** A one-sample result with no labels (range-vector functions, scalars, `vector()`). */
export function single(v: number, t: number): Vector {
  return [{ metric: noLabels, t, v }];
}

/** `ls` without `__name__` (the same array when it has none). */
export function dropMetricName(ls: Labels): Labels {
  for (let i = 0; i < ls.length; i++) {
    if (ls[i]!.name === MetricName) return ls.slice(0, i).concat(ls.slice(i + 1));
  }
  return ls;
}

/** `ls` without the labels named in `names` (the same array when none is there). */
export function withoutLabels(ls: Labels, names: readonly string[]): Labels {
  let out: Label[] | undefined;
  for (let i = 0; i < ls.length; i++) {
    const drop = names.includes(ls[i]!.name);
    if (drop && out === undefined) out = ls.slice(0, i);
    else if (!drop && out !== undefined) out.push(ls[i]!);
  }
  return out ?? ls;
}

/**
 * `ls` with label `name` set to `value`, or removed when `value` is `''`
 * (Prometheus' `labels.Builder` semantics). Keeps the set sorted.
 */
export function setLabel(ls: Labels, name: string, value: string): Labels {
  const out: Label[] = [];
  let placed = value === '';
  for (const l of ls) {
    if (l.name === name) continue;
    if (!placed && compareUtf8(name, l.name) < 0) {
      out.push({ name, value });
      placed = true;
    }
    out.push(l);
  }
  if (!placed) out.push({ name, value });
  return out;
}

/**
 * One step of Kahan-Babuška-Neumaier summation, as Prometheus'
 * `kahanSumInc`: adds `inc` to `sum`, accumulating the lost low-order
 * bits in `c`. Returns the new sum; the new compensation is written to
 * `state[0]` (a reused scratch array, so the inner loops allocate nothing).
 */
export function kahanSumInc(inc: number, sum: number, c: number, state: Float64Array): number {
  const t = sum + inc;
  if (Math.abs(sum) >= Math.abs(inc)) c += sum - t + inc;
  else c += inc - t + sum;
  state[0] = c;
  return t;
}
