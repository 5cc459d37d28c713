import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { functions } from '../../../../lib/promql/functions/index.ts';
import { PromQLError } from '../../../../lib/promql/errors.ts';
import { assertClose, ctxAt, series } from './helpers.ts';

interface Case {
  name: string;
  /** [seconds, value] points of the one series. */
  pts: [number, number][];
  /** Window [start, end] in seconds; the evaluation time is its end. */
  window: [number, number];
  /** Expected values by function; `undefined` = no output sample. */
  want: Partial<Record<'rate' | 'increase' | 'delta' | 'irate' | 'idelta', number | undefined>>;
}

// Expectations worked out from Prometheus 2.42's extrapolatedRate:
// sampled = last.t - first.t, avg = sampled / (n-1), threshold = 1.1 * avg;
// each end extends by its gap to the window if the gap is under the
// threshold, else by avg/2; counters never extend past the zero crossing;
// result * (extended / sampled), per second divided by the range.
const cases: Case[] = [
  {
    name: 'evenly spaced, 5 s from each end: extrapolated to the full 60 s',
    pts: [[5, 100], [15, 110], [25, 120], [35, 130], [45, 140], [55, 150]],
    window: [0, 60],
    // sampled 50, ends 5 < 11 each: 60/50 * 50 = 60
    want: { increase: 60, rate: 1, delta: 60, irate: 1, idelta: 10 },
  },
  {
    name: 'counter reset adds the value before the drop; delta ignores resets',
    pts: [[0, 10], [10, 20], [20, 5], [30, 15]],
    window: [0, 30],
    // 15 - 10 + 20 = 25; no gap at either end; zero point 30*10/25 = 12 s back, not used
    want: { increase: 25, rate: 25 / 30, delta: 5, irate: 1, idelta: 10 },
  },
  {
    name: 'irate after a reset takes the new value as the increase',
    pts: [[0, 10], [10, 20], [20, 5]],
    window: [0, 20],
    // increase: 5 - 10 + 20 = 15 over exactly the window
    want: { increase: 15, irate: 0.5, idelta: -15, delta: -5 },
  },
  {
    name: 'counter extrapolation stops at the zero crossing',
    pts: [[20, 1], [30, 11], [40, 21]],
    window: [0, 40],
    // counter: zero reached 20*(1/20) = 1 s before the first point -> 20+1; delta: gap 20 >= 11 -> +avg/2 = 5
    want: { increase: 21, rate: 21 / 40, delta: 25 },
  },
  {
    name: 'gaps beyond 1.1 intervals extend by half an interval only',
    pts: [[20, 100], [30, 110]],
    window: [0, 60],
    // sampled 10, start gap 20 and end gap 30 both >= 11: 10 + 5 + 5 = 20
    want: { increase: 20, rate: 20 / 60, delta: 20, irate: 1, idelta: 10 },
  },
  {
    name: 'a gap just under 1.1 intervals is extrapolated in full',
    pts: [[10.5, 100], [20.5, 110], [30.5, 120]],
    window: [0, 30.5],
    want: { increase: 20 * (30.5 / 20), delta: 20 * (30.5 / 20) },
  },
  {
    name: 'a gap of exactly 1.1 intervals (10 * 1.1 == 11 in float64) extends by half an interval only',
    pts: [[11, 100], [21, 110], [31, 120]],
    window: [0, 31],
    want: { increase: 25, delta: 25 },
  },
  {
    name: 'a negative first value disables the zero-point rule',
    pts: [[0, -5], [10, 5]],
    window: [-10, 10],
    // start gap 10 < 11: 10 + 10 = 20 -> 10 * 2
    want: { increase: 20, delta: 20, rate: 1 },
  },
  {
    name: 'fewer than two points: no output',
    pts: [[5, 1]],
    window: [0, 60],
    want: { increase: undefined, rate: undefined, delta: undefined, irate: undefined, idelta: undefined },
  },
  {
    name: 'two points at the same time: irate/idelta give nothing',
    pts: [[0, 1], [10, 2], [10, 3]],
    window: [0, 10],
    want: { irate: undefined, idelta: undefined },
  },
];

describe('rate, increase, delta, irate, idelta', () => {
  for (const c of cases) {
    for (const [fn, want] of Object.entries(c.want)) {
      it(`${fn}: ${c.name}`, () => {
        // Prepare
        const ctx = ctxAt(c.window[1] * 1000, c.window[0] * 1000, c.window[1] * 1000);
        // Act
        const out = functions[fn]!([series(c.pts)], ctx);
        // Assess
        if (want === undefined) return assert.deepEqual(out, []);
        assert.equal(out.length, 1);
        assertClose(out[0]!.v, want, fn);
        assert.deepEqual(out[0]!.metric, [], 'range functions leave labels to the evaluator');
      });
    }
  }

  it('rate divides by the range from the context, not by the sampled span', () => {
    // Prepare: points fill [0, 60], range is 120 s (window [-60, 60])
    const pts: [number, number][] = [[0, 0], [30, 30], [60, 60]];
    // Act: counter starting at 0: zero point at the first sample, so no extension at the start;
    // start gap 60 >= 33 -> would be +15 but the zero rule caps durationToStart to 0 first.
    const out = functions.rate!([series(pts)], ctxAt(60_000, -60_000, 60_000));
    // Assess: 60 * (60 / 60) / 120
    assertClose(out[0]!.v, 0.5);
  });

  it('an empty matrix gives no output', () => {
    assert.deepEqual(functions.rate!([[]], ctxAt(0, -60_000, 0)), []);
  });
});

describe('deriv and predict_linear', () => {
  const cases: { name: string; pts: [number, number][]; ts: number; dur: number; deriv: number; predict: number }[] = [
    // v = 2 t + 3: slope 2; at ts = 30 s the line is at 63, 60 s later at 183.
    { name: 'exact line', pts: [[10, 23], [20, 43], [30, 63]], ts: 30, dur: 60, deriv: 2, predict: 183 },
    // x from ts = 20 s: -20, -10, 0; sums X -30, Y 10, XY -100, X2 500 -> cov 0, slope 0, intercept 10/3.
    { name: 'symmetric bump has zero slope', pts: [[0, 0], [10, 10], [20, 0]], ts: 20, dur: 100, deriv: 0, predict: 10 / 3 },
    // Intercept time 40 s (after the last point): x = -30, -20, -10; y = 0, 10, 30.
    // sumX -60, sumY 40, sumXY -500, sumX2 1400: cov = -500 + 800 = 300, var = 1400 - 1200 = 200,
    // slope 1.5, intercept 40/3 + 1.5*20 = 43.333...
    { name: 'least squares, intercept at the evaluation time', pts: [[10, 0], [20, 10], [30, 30]], ts: 40, dur: 10, deriv: 1.5, predict: 40 / 3 + 30 + 15 },
    { name: 'constant series', pts: [[0, 7], [10, 7]], ts: 10, dur: 1000, deriv: 0, predict: 7 },
    { name: 'constant +Inf gives NaN', pts: [[0, Infinity], [10, Infinity]], ts: 10, dur: 1, deriv: NaN, predict: NaN },
  ];
  for (const c of cases) {
    it(c.name, () => {
      // Prepare
      const ctx = ctxAt(c.ts * 1000, (c.ts - 60) * 1000, c.ts * 1000);
      // Act
      const d = functions.deriv!([series(c.pts)], ctx);
      const p = functions.predict_linear!([series(c.pts), c.dur], ctx);
      // Assess
      assertClose(d[0]!.v, c.deriv, 'deriv');
      assertClose(p[0]!.v, c.predict, 'predict_linear');
    });
  }

  it('needs two points', () => {
    assert.deepEqual(functions.deriv!([series([[0, 1]])], ctxAt(0)), []);
    assert.deepEqual(functions.predict_linear!([series([[0, 1]]), 10], ctxAt(0)), []);
  });

  it('deriv keeps precision at large timestamps (times taken relative to the first point)', () => {
    // Prepare: slope 1e-3 per second around t = 1.7e9 s
    const base = 1_700_000_000;
    const pts: [number, number][] = [0, 15, 30, 45, 60].map((s) => [base + s, 5 + s * 1e-3]);
    // Act
    const d = functions.deriv!([series(pts)], ctxAt((base + 60) * 1000));
    // Assess
    assertClose(d[0]!.v, 1e-3);
  });
});

describe('holt_winters', () => {
  // s1 = v0, b = v1 - v0; for i >= 1: b = i>1 ? tf(s1 - s0) + (1-tf)b : b; s1' = sf v_i + (1-sf)(s1 + b)
  const cases: { name: string; vals: number[]; sf: number; tf: number; want: number | undefined }[] = [
    { name: 'linear data is followed exactly', vals: [1, 2, 3], sf: 0.5, tf: 0.5, want: 3 },
    // s1=1,b=2 -> i=1: 0.5*3 + 0.5*(1+2) = 3; i=2: b = 0.5*2 + 0.5*2 = 2; 0.5*2 + 0.5*(3+2) = 3.5
    { name: 'worked example', vals: [1, 3, 2], sf: 0.5, tf: 0.5, want: 3.5 },
    // s1=10,b=-5 -> i=1: 0.2*5 + 0.8*(10-5) = 5; i=2: b = 0.9*(5-10) + 0.1*(-5) = -5; 0.2*0 + 0.8*(5-5) = 0
    { name: 'other factors', vals: [10, 5, 0], sf: 0.2, tf: 0.9, want: 0.2 * 0 + 0.8 * (5 + (0.9 * (5 - 10) + 0.1 * -5)) },
    { name: 'one point: nothing', vals: [1], sf: 0.5, tf: 0.5, want: undefined },
    { name: 'NaN factors pass the checks', vals: [1, 2], sf: NaN, tf: 0.5, want: NaN },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const out = functions.holt_winters!([series(c.vals.map((v, i) => [i * 10, v])), c.sf, c.tf], ctxAt(0));
      if (c.want === undefined) return assert.deepEqual(out, []);
      assertClose(out[0]!.v, c.want);
    });
  }

  const errors: { sf: number; tf: number; msg: string }[] = [
    { sf: 0, tf: 0.5, msg: 'invalid smoothing factor. Expected: 0 < sf < 1, got: 0.000000' },
    { sf: 1, tf: 0.5, msg: 'invalid smoothing factor. Expected: 0 < sf < 1, got: 1.000000' },
    { sf: -Infinity, tf: 0.5, msg: 'invalid smoothing factor. Expected: 0 < sf < 1, got: -Inf' },
    { sf: 0.5, tf: 1.5, msg: 'invalid trend factor. Expected: 0 < tf < 1, got: 1.500000' },
    { sf: 2, tf: 2, msg: 'invalid smoothing factor. Expected: 0 < sf < 1, got: 2.000000' },
    // %f rounds the exact binary value half to even: 0.0078125 -> 0.007812
    { sf: 0.5, tf: -0.0078125, msg: 'invalid trend factor. Expected: 0 < tf < 1, got: -0.007812' },
  ];
  for (const e of errors) {
    it(`rejects sf=${e.sf} tf=${e.tf} with Prometheus' message`, () => {
      assert.throws(
        () => functions.holt_winters!([series([[0, 1], [10, 2]]), e.sf, e.tf], ctxAt(0)),
        (err: unknown) => err instanceof PromQLError && err.errorType === 'execution' && err.message === e.msg,
      );
    });
  }
});

describe('changes and resets', () => {
  const cases: { name: string; vals: number[]; changes: number; resets: number }[] = [
    { name: 'steady counter', vals: [1, 2, 3], changes: 2, resets: 0 },
    { name: 'repeats are not changes', vals: [1, 1, 2, 2, 1], changes: 2, resets: 1 },
    // NaN -> NaN is no change; any comparison with NaN is not a reset
    { name: 'NaN handling', vals: [1, NaN, NaN, 3, 2], changes: 3, resets: 1 },
    { name: 'single point', vals: [5], changes: 0, resets: 0 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const m = series(c.vals.map((v, i) => [i, v]));
      assert.equal(functions.changes!([m], ctxAt(0))[0]!.v, c.changes);
      assert.equal(functions.resets!([m], ctxAt(0))[0]!.v, c.resets);
    });
  }
});
