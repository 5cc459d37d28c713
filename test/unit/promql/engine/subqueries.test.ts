/**
 * Subqueries (absolute step alignment, the default step, offset and `@`,
 * nesting), step-invariant evaluation of `@` parts in range queries, calls
 * with range and scalar arguments, and absent()/absent_over_time().
 * `fine` has a sample every 15 s whose value is its time in seconds.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Engine, type EngineOptions } from '../../../../lib/promql/index.ts';
import type { Storage, TenantDB } from '../../../../lib/tsdb/db.ts';
import { fixture, M } from './fixture.ts';
import { close, load, plain } from './helpers.ts';

let db: TenantDB;
let storage: Storage;
before(async () => ({ db, storage } = await load(fixture)));
after(async () => storage.close());

const FINE = '{__name__="fine"}';

interface Case {
  name: string;
  query: string;
  /** Instant query at `t`, or range query over `range`. */
  t?: number;
  range?: [number, number, number];
  opts?: EngineOptions;
  /** Matrix (range query or matrix result) or vector [labels, [t, v][]] in label order. */
  want: [string, [number, number][]][];
}

const cases: Case[] = [
  { name: 'steps are multiples of the subquery step', query: 'fine[1m:15s]', t: M,
    want: [[FINE, [[0, 0], [15_000, 15], [30_000, 30], [45_000, 45], [60_000, 60]]]] },
  { name: 'the first step is the first multiple inside the range', query: 'fine[1m:20s]', t: 70_000,
    want: [[FINE, [[20_000, 15], [40_000, 30], [60_000, 60]]]] },
  { name: 'without a step, the default 1m', query: 'fine[3m:]', t: 200_000,
    want: [[FINE, [[60_000, 60], [120_000, 120], [180_000, 180]]]] },
  { name: 'the default step is an option', query: 'fine[3m:]', t: 200_000, opts: { noStepSubqueryIntervalMs: 90_000 },
    want: [[FINE, [[90_000, 90], [180_000, 180]]]] },
  { name: 'offset shifts the whole subquery', query: 'fine[1m:30s] offset 30s', t: 2 * M,
    want: [[FINE, [[30_000, 30], [60_000, 60], [90_000, 90]]]] },
  { name: 'negative offset', query: 'fine[1m:30s] offset -1m', t: 2 * M,
    want: [[FINE, [[120_000, 120], [150_000, 150], [180_000, 180]]]] },
  { name: '@ fixes the subquery end', query: 'fine[1m:30s] @ 300', t: 0,
    want: [[FINE, [[240_000, 240], [270_000, 270], [300_000, 300]]]] },
  { name: 'alignment below zero', query: 'fine[1m:40s]', t: 10_000, want: [[FINE, [[0, 0]]]] },
  { name: 'a function over a subquery', query: 'sum_over_time(fine[1m:15s])', t: M, want: [['{}', [[M, 150]]]] },
  { name: '@ inside a subquery', query: 'max_over_time((fine @ 300)[1m:15s])', t: 10 * M, want: [['{}', [[10 * M, 300]]]] },
  { name: 'nested subqueries and range functions', query: 'max_over_time(rate(http_requests{job="api",instance="a"}[2m])[4m:1m])', t: 6 * M,
    want: [['{instance="a", job="api"}', [[6 * M, 1 / 6]]]] },
  { name: 'a range query over a subquery: windows include both ends', query: 'count_over_time(fine[1m:20s])', range: [0, 2 * M, M],
    want: [['{}', [[0, 1], [M, 4], [2 * M, 4]]]] },
  { name: 'a range query over a subquery with default step', query: 'max_over_time(fine[2m:])', range: [0, 4 * M, 2 * M],
    want: [['{}', [[0, 0], [2 * M, 120], [4 * M, 240]]]] },
  // Step-invariant parts are evaluated once and repeated at every step.
  { name: 'a selector with @ in a range query', query: 'fine @ 300', range: [0, 2 * M, M],
    want: [[FINE, [[0, 300], [M, 300], [2 * M, 300]]]] },
  { name: 'one invariant side of a binary operation', query: 'http_requests{job="api",instance="a"} @ 120 + http_requests{job="api",instance="a"}',
    range: [0, 2 * M, M], want: [['{instance="a", job="api"}', [[0, 20], [M, 30], [2 * M, 40]]]] },
  { name: 'an aggregation of an @ selector', query: 'sum(http_requests @ 120)', range: [0, 2 * M, M],
    want: [['{}', [[0, 26], [M, 26], [2 * M, 26]]]] },
  { name: 'a range function with @', query: 'rate(http_requests{job="api",instance="a"}[2m] @ 300)', range: [0, M, M],
    want: [['{instance="a", job="api"}', [[0, 1 / 6], [M, 1 / 6]]]] },
  { name: '@ end() in a subquery', query: 'sum_over_time(fine[1m:30s] @ end())', range: [0, M, M],
    want: [['{}', [[0, 90], [M, 90]]]] },
  // Calls with other arguments.
  { name: 'a scalar before the range argument', query: 'quantile_over_time(0.5, fine[1m])', t: M, want: [['{}', [[M, 30]]]] },
  { name: 'a scalar after the range argument', query: 'predict_linear(fine[1m], 60)', t: M, want: [['{}', [[M, 120]]]] },
  { name: 'a scalar that changes per step', query: 'clamp_max(fine, scalar(http_requests{instance="b"}) * 10)', range: [0, 2 * M, M],
    want: [['{}', [[0, 0], [M, 10], [2 * M, 20]]]] },
  // absent and absent_over_time.
  { name: 'absent of a missing selector takes its equality labels', query: 'absent(nonexistent{job="x", a=~"b"})', t: M,
    want: [['{job="x"}', [[M, 1]]]] },
  { name: 'absent of a present selector', query: 'absent(http_requests)', t: M, want: [] },
  { name: 'absent_over_time marks the steps without samples', query: 'absent_over_time(flappy{job="x"}[1m])', range: [0, 10 * M, M],
    want: [['{job="x"}', [[3 * M, 1], [4 * M, 1], [7 * M, 1], [8 * M, 1], [9 * M, 1], [10 * M, 1]]]] },
  { name: 'absent_over_time of a subquery has no labels', query: 'absent_over_time(nonexistent{job="x"}[1m:30s])', t: M,
    want: [['{}', [[M, 1]]]] },
  { name: 'absent_over_time with a series present at every step', query: 'absent_over_time(fine[1m])', range: [0, 2 * M, M], want: [] },
];

describe('subqueries, step invariance and calls', () => {
  for (const c of cases) {
    it(c.name, async () => {
      // Prepare
      const engine = new Engine(c.opts);
      // Act
      const res = c.range ? await engine.rangeQuery(db, c.query, ...c.range) : await engine.instantQuery(db, c.query, c.t!);
      // Assess
      let got = plain(res.value) as [string, [number, number][]][] | [string, number, number][];
      if (res.value.type === 'vector') got = (got as [string, number, number][]).map(([l, v, t]) => [l, [[t, v]]]);
      const g = got as [string, [number, number][]][];
      assert.deepEqual(g.map(([l, pts]) => [l, pts.map((p) => p[0])]), c.want.map(([l, pts]) => [l, pts.map((p) => p[0])]));
      g.forEach(([l, pts], i) => pts.forEach(([t, v], j) => close(v, c.want[i]![1][j]![1], `${l} @ ${t}`)));
    });
  }
});
