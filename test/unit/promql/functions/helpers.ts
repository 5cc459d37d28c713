/**
 * Shared builders for the function-library tests: contexts, vectors,
 * single-series matrices, and a closeness check (Prometheus agreement is
 * required to 1e-12 relative).
 */
import assert from 'node:assert/strict';
import { type Labels, labelsFromPairs } from '../../../../lib/labels/labels.ts';
import type { Expr } from '../../../../lib/promql/parser/ast.ts';
import type { FunctionContext } from '../../../../lib/promql/functions/types.ts';
import type { Matrix, Sample, Vector } from '../../../../lib/promql/value.ts';

/** A context at `ts` (ms), with an optional range window and argument expressions. */
export function ctxAt(ts: number, rangeStart = 0, rangeEnd = 0, args: Expr[] = []): FunctionContext {
  return { ts, rangeStart, rangeEnd, args };
}

/** Labels from an object. */
export function ls(pairs: Record<string, string> = {}): Labels {
  return labelsFromPairs(pairs);
}

/** An instant vector of `[labels, value]` entries, all at time `t`. */
export function vec(entries: [Record<string, string>, number][], t = 0): Vector {
  return entries.map(([l, v]) => ({ metric: ls(l), t, v }));
}

/** A one-series matrix from `[seconds, value]` pairs (times given in seconds for readability). */
export function series(pts: [number, number][], labels: Record<string, string> = { __name__: 'x' }): Matrix {
  return [{ metric: ls(labels), points: pts.map(([s, v]) => ({ t: s * 1000, v })) }];
}

/** Asserts `got` equals `want` within 1e-12 relative (NaN equals NaN, signed infinities exact). */
export function assertClose(got: number, want: number, what = ''): void {
  if (Number.isNaN(want)) return assert.ok(Number.isNaN(got), `${what}: want NaN, got ${got}`);
  if (!Number.isFinite(want)) return assert.equal(got, want, what);
  const tol = 1e-12 * Math.max(Math.abs(want), Number.MIN_VALUE);
  assert.ok(Math.abs(got - want) <= tol, `${what}: want ${want}, got ${got}`);
}

/** The values and labels of a vector, labels printed as `{a="b"}` for readable diffs. */
export function shape(v: Vector): { labels: string; v: number }[] {
  return v.map((s: Sample) => ({ labels: JSON.stringify(Object.fromEntries(s.metric.map((l) => [l.name, l.value]))), v: s.v }));
}

/** `{...}` as a JSON string, the label form {@link shape} produces. */
export function lj(pairs: Record<string, string> = {}): string {
  return JSON.stringify(Object.fromEntries(Object.entries(pairs).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}
