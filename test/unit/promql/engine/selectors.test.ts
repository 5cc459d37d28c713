/**
 * Instant and range selectors: lookback window edges, stale markers,
 * offset (also negative), `@` (with start()/end()), range windows with both
 * ends included, timestamp() of a selector, and the result shapes.
 * Expected values follow Prometheus 2.42 and were checked against the real
 * Prometheus on the same data (fixture.ts).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '../../../../lib/promql/index.ts';
import type { TenantDB } from '../../../../lib/tsdb/db.ts';
import type { Storage } from '../../../../lib/tsdb/db.ts';
import { fixture, M } from './fixture.ts';
import { load, plain, vecMap } from './helpers.ts';

let db: TenantDB;
let storage: Storage;
before(async () => ({ db, storage } = await load(fixture)));
after(async () => storage.close());
const engine = new Engine();

const F = '{__name__="flappy", job="x"}';
const G = '{__name__="gappy"}';
const A = '{__name__="http_requests", instance="a", job="api"}';

interface InstantCase {
  name: string;
  query: string;
  t: number;
  /** labels -> value; {} = empty vector. */
  want: Record<string, number>;
  opts?: ConstructorParameters<typeof Engine>[0];
}

const instantCases: InstantCase[] = [
  { name: 'latest sample before a stale marker', query: 'flappy', t: 2 * M - 1, want: { [F]: 1.5 } },
  { name: 'a stale marker at t hides the series', query: 'flappy', t: 2 * M, want: {} },
  { name: 'still stale while the marker is the latest sample', query: 'flappy', t: 5 * M - 1, want: {} },
  { name: 'back after the marker', query: 'flappy', t: 5 * M, want: { [F]: 2 } },
  { name: 'stale again, even with lookback left', query: 'flappy', t: 6 * M, want: {} },
  { name: 'lookback includes its start: t - 5m exactly', query: 'gappy', t: 300_000, want: { [G]: 1 } },
  { name: 'one ms further nothing is found', query: 'gappy', t: 300_001, want: {} },
  { name: 'a sample exactly at t is used', query: 'gappy', t: 400_000, want: { [G]: 2 } },
  { name: 'lookback from the last sample ends 5m later', query: 'gappy', t: 700_000, want: { [G]: 2 } },
  { name: 'after that, gone', query: 'gappy', t: 700_001, want: {} },
  { name: 'a shorter lookback delta', query: 'gappy', t: M, want: { [G]: 1 }, opts: { lookbackDeltaMs: M } },
  { name: 'a shorter lookback delta, just past it', query: 'gappy', t: M + 1, want: {}, opts: { lookbackDeltaMs: M } },
  { name: 'offset reads earlier', query: 'http_requests{job="api",instance="a"} offset 1m', t: 5 * M, want: { [A]: 40 } },
  { name: 'negative offset reads later', query: 'http_requests{job="api",instance="a"} offset -1m', t: 5 * M, want: { [A]: 60 } },
  { name: '@ fixes the time', query: 'http_requests{job="api",instance="a"} @ 120', t: 10 * M, want: { [A]: 20 } },
  { name: '@ with offset', query: 'http_requests{job="api",instance="a"} @ 120 offset 1m', t: 10 * M, want: { [A]: 10 } },
  { name: '@ in the future of the query time', query: 'http_requests{job="api",instance="a"} @ 300', t: 0, want: { [A]: 50 } },
  { name: 'metric name kept by a plain selector', query: 'http_requests{instance="b"}', t: M, want: { '{__name__="http_requests", instance="b", job="api"}': 1 } },
  { name: 'regex matcher on the name', query: '{__name__=~"req|limit", method="post"}', t: M, want: {
    '{__name__="limit", method="post", team="t2"}': 50,
    '{__name__="req", code="200", method="post"}': 4,
  } },
  { name: 'timestamp() of a selector gives the stored sample time', query: 'timestamp(gappy)', t: 300_000, want: { '{}': 0 } },
  { name: 'timestamp() of a selector in parentheses too', query: 'timestamp((gappy))', t: 450_000, want: { '{}': 400 } },
  { name: 'timestamp() of other expressions gives the step time', query: 'timestamp(abs(gappy))', t: 450_000, want: { '{}': 450 } },
  // Checked against the real Prometheus 2.42 (Debian): the offset applies after @.
  { name: 'timestamp() with @ and offset', query: 'timestamp(fine @ 300 offset 1m)', t: 0, want: { '{}': 240 } },
  { name: 'timestamp() with @ alone', query: 'timestamp(fine @ 300)', t: 600_000, want: { '{}': 300 } },
];

describe('instant selectors', () => {
  for (const c of instantCases) {
    it(c.name, async () => {
      // Prepare
      const eng = c.opts ? new Engine(c.opts) : engine;
      // Act
      const res = await eng.instantQuery(db, c.query, c.t);
      // Assess
      assert.deepEqual(vecMap(res.value), c.want);
      if (res.value.type === 'vector') for (const s of res.value.value) assert.equal(s.t, c.t, 'samples carry the query time');
    });
  }
});

interface RangeCase {
  name: string;
  query: string;
  start: number;
  end: number;
  step: number;
  /** Series in label order: labels and [t, v] points. */
  want: [string, [number, number][]][];
}

const rangeCases: RangeCase[] = [
  {
    name: 'stale markers end a series until the next sample',
    query: 'flappy', start: 0, end: 7 * M, step: M,
    want: [[F, [[0, 1], [M, 1.5], [5 * M, 2]]]],
  },
  {
    name: 'lookback fills steps between sparse samples',
    query: 'gappy', start: 0, end: 12 * M, step: 2 * M,
    want: [[G, [[0, 1], [2 * M, 1], [4 * M, 1], [8 * M, 2], [10 * M, 2]]]],
  },
  {
    name: 'series sorted by labels, steps not aligned to samples',
    query: 'http_requests{job="api"} offset 30s', start: 90_000, end: 210_000, step: 60_000,
    want: [
      [A, [[90_000, 10], [150_000, 20], [210_000, 30]]],
      ['{__name__="http_requests", instance="b", job="api"}', [[90_000, 1], [150_000, 2], [210_000, 3]]],
    ],
  },
  {
    name: '@ start() and @ end() are the range bounds',
    query: 'http_requests{job="api",instance="a"} @ start() - http_requests{job="api",instance="a"} @ end()', start: M, end: 3 * M, step: M,
    want: [['{instance="a", job="api"}', [[M, -20], [2 * M, -20], [3 * M, -20]]]],
  },
];

describe('range queries of selectors', () => {
  for (const c of rangeCases) {
    it(c.name, async () => {
      // Act
      const res = await engine.rangeQuery(db, c.query, c.start, c.end, c.step);
      // Assess
      assert.deepEqual(plain(res.value), c.want);
    });
  }
});

describe('range vectors', () => {
  it('include both ends of [t - range, t]', async () => {
    // Act
    const res = await engine.instantQuery(db, 'fine[1m]', M);
    // Assess: samples every 15 s, value = seconds
    assert.deepEqual(plain(res.value), [['{__name__="fine"}', [[0, 0], [15_000, 15], [30_000, 30], [45_000, 45], [60_000, 60]]]]);
  });

  it('drop stale markers and shift with offset', async () => {
    // Act
    const flappy = await engine.instantQuery(db, 'flappy[10m]', 10 * M);
    const shifted = await engine.instantQuery(db, 'fine[30s] offset 1m', 2 * M);
    // Assess
    assert.deepEqual(plain(flappy.value), [[F, [[0, 1], [M, 1.5], [5 * M, 2]]]]);
    assert.deepEqual(plain(shifted.value), [['{__name__="fine"}', [[30_000, 30], [45_000, 45], [60_000, 60]]]]);
  });

  it('feed range functions; last_over_time alone keeps the name', async () => {
    // Act
    const last = await engine.instantQuery(db, 'last_over_time(flappy[10m])', 10 * M);
    const max = await engine.instantQuery(db, 'max_over_time(flappy[10m])', 10 * M);
    const count = await engine.instantQuery(db, 'count_over_time(fine[1m] offset -1m)', M);
    // Assess
    assert.deepEqual(vecMap(last.value), { [F]: 2 });
    assert.deepEqual(vecMap(max.value), { '{job="x"}': 2 });
    assert.deepEqual(vecMap(count.value), { '{}': 5 });
  });

  it('rate over a range query: no output where the window holds under two samples', async () => {
    // Act
    const res = await engine.rangeQuery(db, 'rate(flappy[1m])', 0, 6 * M, M);
    // Assess: samples 0 (1), 1m (1.5), 2m (stale), 5m (2), 6m (stale); windows [t-1m, t]
    assert.deepEqual(plain(res.value), [['{job="x"}', [[M, 0.5 / 60]]]]);
  });
});

describe('result types', () => {
  it('returns scalars, strings and matrices as the expression type', async () => {
    // Act
    const scalar = await engine.instantQuery(db, '1.5', 7000);
    const str = await engine.instantQuery(db, '"foo"', 7000);
    const time = await engine.rangeQuery(db, 'time()', 0, 2000, 1000);
    // Assess
    assert.deepEqual(plain(scalar.value), { scalar: 1.5, t: 7000 });
    assert.deepEqual(plain(str.value), { string: 'foo', t: 7000 });
    assert.deepEqual(plain(time.value), [['{}', [[0, 0], [1000, 1], [2000, 2]]]]);
  });

  it('fails like Prometheus 2.42 on a parenthesised string and on range queries of matrices', async () => {
    // Act / Assess
    await assert.rejects(engine.instantQuery(db, '("foo")', 0), {
      errorType: 'execution',
      message: 'unexpected result in StepInvariantExpr evaluation: *parser.StepInvariantExpr',
    });
    await assert.rejects(engine.rangeQuery(db, 'fine[1m]', 0, M, 1000), {
      errorType: 'bad_data',
      message: 'invalid expression type "range vector" for range query, must be Scalar or instant Vector',
    });
    await assert.rejects(engine.rangeQuery(db, '"x"', 0, M, 1000), { errorType: 'bad_data', message: /invalid expression type "string"/ });
  });
});
