import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { functions } from '../../../../lib/promql/functions/index.ts';
import { assertClose, ctxAt, series } from './helpers.ts';

type Fn =
  | 'avg_over_time' | 'sum_over_time' | 'min_over_time' | 'max_over_time' | 'count_over_time'
  | 'last_over_time' | 'present_over_time' | 'stddev_over_time' | 'stdvar_over_time';

const cases: { name: string; vals: number[]; want: Partial<Record<Fn, number>> }[] = [
  {
    name: 'plain values',
    vals: [1, 2, 3, 4],
    want: { avg_over_time: 2.5, sum_over_time: 10, min_over_time: 1, max_over_time: 4, count_over_time: 4, last_over_time: 4, present_over_time: 1, stdvar_over_time: 1.25, stddev_over_time: Math.sqrt(1.25) },
  },
  {
    name: 'textbook deviation: mean 5, variance 4',
    vals: [2, 4, 4, 4, 5, 5, 7, 9],
    want: { avg_over_time: 5, stdvar_over_time: 4, stddev_over_time: 2 },
  },
  { name: 'single point', vals: [7], want: { avg_over_time: 7, stdvar_over_time: 0, count_over_time: 1, last_over_time: 7 } },
  // Neumaier's compensation recovers the 1s that a naive sum loses.
  { name: 'compensated sum', vals: [1, 1e100, 1, -1e100], want: { sum_over_time: 2 } },
  // The incremental mean never forms the overflowing sum.
  { name: 'mean of huge values does not overflow', vals: [1e308, 1e308], want: { avg_over_time: 1e308, sum_over_time: Infinity } },
  { name: 'an infinity dominates a finite mean', vals: [1, Infinity, 2], want: { avg_over_time: Infinity, sum_over_time: Infinity, max_over_time: Infinity } },
  { name: 'infinities of both signs', vals: [Infinity, -Infinity], want: { avg_over_time: NaN, sum_over_time: NaN } },
  { name: 'same-sign infinities', vals: [-Infinity, 5, -Infinity], want: { avg_over_time: -Infinity, min_over_time: -Infinity } },
  // A leading NaN is replaced by the first comparable value; a later NaN never wins.
  { name: 'leading NaN', vals: [NaN, 3, 1], want: { min_over_time: 1, max_over_time: 3, avg_over_time: NaN, last_over_time: 1 } },
  { name: 'NaN in the middle', vals: [2, NaN, 1], want: { min_over_time: 1, max_over_time: 2, sum_over_time: NaN } },
  { name: 'all NaN', vals: [NaN, NaN], want: { min_over_time: NaN, max_over_time: NaN, count_over_time: 2, present_over_time: 1 } },
];

describe('*_over_time aggregations', () => {
  for (const c of cases) {
    for (const [fn, want] of Object.entries(c.want)) {
      it(`${fn}: ${c.name}`, () => {
        // Prepare
        const m = series(c.vals.map((v, i) => [i * 15, v]));
        // Act
        const out = functions[fn]!([m], ctxAt(100_000, 0, 100_000));
        // Assess
        assert.equal(out.length, 1);
        assertClose(out[0]!.v, want!, fn);
        assert.equal(out[0]!.t, 100_000);
      });
    }
  }

  it('no points, no output (the evaluator does not call, but empty input is safe)', () => {
    for (const fn of ['avg_over_time', 'sum_over_time', 'min_over_time', 'max_over_time', 'count_over_time', 'last_over_time', 'stddev_over_time']) {
      assert.deepEqual(functions[fn]!([[]], ctxAt(0)), [], fn);
      assert.deepEqual(functions[fn]!([series([])], ctxAt(0)), [], fn);
    }
  });
});

describe('quantile_over_time', () => {
  const cases: { q: number; vals: number[]; want: number; why: string }[] = [
    { q: 0.5, vals: [4, 1, 3, 2], want: 2.5, why: 'rank 1.5 between 2 and 3 (input unsorted)' },
    { q: 0, vals: [4, 1, 3, 2], want: 1, why: 'minimum' },
    { q: 1, vals: [4, 1, 3, 2], want: 4, why: 'maximum' },
    { q: 0.9, vals: [10, 20], want: 19, why: 'rank 0.9: 10*0.1 + 20*0.9' },
    { q: -0.1, vals: [1, 2], want: -Infinity, why: 'phi below 0' },
    { q: 1.1, vals: [1, 2], want: Infinity, why: 'phi above 1' },
    { q: NaN, vals: [1, 2], want: NaN, why: 'phi NaN' },
    { q: 0.75, vals: [2, NaN, 1], want: 1.5, why: 'NaN sorts first: [NaN, 1, 2], rank 1.5' },
    { q: 0, vals: [2, NaN, 1], want: NaN, why: 'NaN is the minimum' },
    { q: 0.3, vals: [5], want: 5, why: 'single value' },
  ];
  for (const c of cases) {
    it(`q=${c.q} of [${c.vals}]: ${c.why}`, () => {
      const out = functions.quantile_over_time!([c.q, series(c.vals.map((v, i) => [i, v]))], ctxAt(0));
      assertClose(out[0]!.v, c.want);
    });
  }
});
