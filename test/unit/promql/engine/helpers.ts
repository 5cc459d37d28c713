/**
 * Helpers of the engine tests: an in-memory storage loaded through the
 * appender, and plain views of query results for assertions.
 */
import assert from 'node:assert/strict';
import { MemKVStore } from '../../../../lib/kvstore/mem.ts';
import { MemBucket } from '../../../../lib/objstore/mem.ts';
import { labelsFromPairs, labelsToString, type Labels } from '../../../../lib/labels/labels.ts';
import { newSeriesEntry, Storage, type TenantDB } from '../../../../lib/tsdb/db.ts';
import type { Value } from '../../../../lib/promql/value.ts';
import { fromBits, STALE } from '../../../helpers/bits.ts';
import type { Engine } from '../../../../lib/promql/index.ts';
import type { Queryable } from '../../../../lib/storage/interface.ts';

/** The stale marker as a number (its payload survives when passed straight to the appender). */
export const staleNaN = (): number => fromBits(STALE);

/** A series to load: labels and [t ms, v] samples. Use the string 'stale' for a stale marker. */
export interface SeriesSpec {
  labels: Record<string, string>;
  samples: [number, number | 'stale'][];
}

/** `n` samples from `start` every `step` ms with values `f(i)`. */
export function every(start: number, step: number, n: number, f: (i: number) => number | 'stale'): [number, number | 'stale'][] {
  const out: [number, number | 'stale'][] = [];
  for (let i = 0; i < n; i++) out.push([start + i * step, f(i)]);
  return out;
}

/** A fresh in-memory tenant holding `series`. */
export async function load(series: SeriesSpec[]): Promise<{ db: TenantDB; storage: Storage }> {
  const storage = new Storage({ bucket: new MemBucket(), kv: new MemKVStore() });
  const db = storage.tenant('anonymous');
  const app = db.appender();
  for (const s of series) {
    const entry = newSeriesEntry(labelsFromPairs(s.labels));
    for (const [t, v] of s.samples) app.append(entry, t, v === 'stale' ? staleNaN() : v);
  }
  if (series.length > 0) await app.commit();
  return { db, storage };
}

/** `{a="1", b="2"}` style key of labels. */
export const ls = (l: Labels): string => labelsToString(l);

/** A result as plain data: vector/matrix keyed by label string. */
export function plain(v: Value): unknown {
  switch (v.type) {
    case 'scalar':
      return { scalar: v.value.v, t: v.value.t };
    case 'string':
      return { string: v.value.v, t: v.value.t };
    case 'vector':
      return v.value.map((s) => [ls(s.metric), s.v, s.t]);
    case 'matrix':
      return v.value.map((s) => [ls(s.metric), s.points.map((p) => [p.t, p.v])]);
  }
}

/** Vector result as a map labels -> value (order ignored). */
export function vecMap(v: Value): Record<string, number> {
  assert.equal(v.type, 'vector', `expected a vector, got ${v.type}`);
  const out: Record<string, number> = {};
  if (v.type === 'vector') for (const s of v.value) out[ls(s.metric)] = s.v;
  return out;
}

/** Asserts two numbers agree to 1e-12 relative (NaN equals NaN). */
export function close(actual: number, expected: number, msg?: string): void {
  if (Number.isNaN(expected)) return assert.ok(Number.isNaN(actual), `${msg ?? ''}: expected NaN, got ${actual}`);
  if (!Number.isFinite(expected)) return assert.equal(actual, expected, msg);
  const tol = 1e-12 * Math.max(1, Math.abs(expected));
  assert.ok(Math.abs(actual - expected) <= tol, `${msg ?? ''}: expected ${expected}, got ${actual}`);
}

/** What an instant-query table case expects: an execution error's text (or pattern), or the vector by labels string. */
export type InstantWant = { error: string | RegExp } | Record<string, number>;

/**
 * Runs `query` at `timeMs` and checks it: the execution error with exactly
 * that message, or the same label sets with values close to the expected.
 */
export async function assertInstant(engine: Engine, db: Queryable, query: string, timeMs: number, want: InstantWant): Promise<void> {
  // Act
  const run = engine.instantQuery(db, query, timeMs);
  // Assess
  if ('error' in want && (typeof want.error === 'string' || want.error instanceof RegExp)) {
    await assert.rejects(run, { errorType: 'execution', message: want.error });
    return;
  }
  const got = vecMap((await run).value);
  const expected = want as Record<string, number>;
  assert.deepEqual(Object.keys(got).sort(), Object.keys(expected).sort());
  for (const [k, v] of Object.entries(expected)) close(got[k]!, v, k);
}
