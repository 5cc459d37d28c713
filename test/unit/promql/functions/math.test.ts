import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { functions } from '../../../../lib/promql/functions/index.ts';
import { assertClose, ctxAt, lj, shape, vec } from './helpers.ts';

const cases: { fn: string; extra?: number[]; in: number[]; want: number[] }[] = [
  { fn: 'abs', in: [-2, 0, 3, -Infinity, NaN], want: [2, 0, 3, Infinity, NaN] },
  { fn: 'ceil', in: [1.2, -1.2, 5], want: [2, -1, 5] },
  { fn: 'floor', in: [1.8, -1.2, 5], want: [1, -2, 5] },
  { fn: 'exp', in: [0, 1, -Infinity], want: [1, Math.E, 0] },
  { fn: 'sqrt', in: [4, 2, -1], want: [2, Math.SQRT2, NaN] },
  { fn: 'ln', in: [1, Math.E, 0, -1], want: [0, 1, -Infinity, NaN] },
  { fn: 'log2', in: [8, 0.5, 0, -1, 1024, 5e-324], want: [3, -1, -Infinity, NaN, 10, -1074] },
  // Go's Log10 is Log(x) * (1/Ln10); for 1000 that is exactly 3.
  { fn: 'log10', in: [1000, 1, 0], want: [3, 0, -Infinity] },
  { fn: 'sgn', in: [-3, 0, 2, NaN, -Infinity], want: [-1, 0, 1, NaN, -1] },
  { fn: 'sin', in: [0, Math.PI / 2], want: [0, 1] },
  { fn: 'cos', in: [0, Math.PI], want: [1, -1] },
  { fn: 'tan', in: [0, Math.PI / 4], want: [0, Math.tan(Math.PI / 4)] },
  { fn: 'asin', in: [1, 2], want: [Math.PI / 2, NaN] },
  { fn: 'acos', in: [1, -1], want: [0, Math.PI] },
  { fn: 'atan', in: [Infinity], want: [Math.PI / 2] },
  { fn: 'sinh', in: [0], want: [0] },
  { fn: 'cosh', in: [0], want: [1] },
  { fn: 'tanh', in: [Infinity], want: [1] },
  { fn: 'asinh', in: [0], want: [0] },
  { fn: 'acosh', in: [1, 0.5], want: [0, NaN] },
  { fn: 'atanh', in: [0, 1], want: [0, Infinity] },
  { fn: 'deg', in: [Math.PI, -Math.PI / 2], want: [180, -90] },
  { fn: 'rad', in: [180, 90], want: [Math.PI, Math.PI / 2] },
  // Ties round up, also for negatives.
  { fn: 'round', in: [2.5, -2.5, 1.49, -0.2], want: [3, -2, 1, 0] },
  // to_nearest: 0.15 * (1/0.1) = 1.5 rounds up to 0.2; dividing by 0.1 instead would give 0.1.
  { fn: 'round', extra: [0.1], in: [0.15, 1.234], want: [0.2, 1.2] },
  { fn: 'round', extra: [2], in: [5, 4.9, -3], want: [6, 4, -2] },
  { fn: 'clamp', extra: [0, 10], in: [-1, 5, 11, NaN], want: [0, 5, 10, NaN] },
  { fn: 'clamp_min', extra: [0], in: [-1, 5, NaN], want: [0, 5, NaN] },
  { fn: 'clamp_max', extra: [3], in: [-1, 5, Infinity], want: [-1, 3, 3] },
];

describe('element-wise math', () => {
  for (const c of cases) {
    it(`${c.fn}(${c.in.join(', ')}${c.extra ? '; ' + c.extra.join(', ') : ''})`, () => {
      // Prepare: each sample has a name and one more label
      const input = vec(c.in.map((v, i) => [{ __name__: 'm', i: String(i) }, v]));
      // Act
      const out = functions[c.fn]!([input, ...(c.extra ?? [])], ctxAt(5000));
      // Assess: same order, __name__ dropped, other labels kept
      assert.equal(out.length, c.want.length);
      out.forEach((s, i) => {
        assertClose(s.v, c.want[i]!, `${c.fn} #${i}`);
        if (Object.is(c.want[i], -0)) assert.ok(Object.is(s.v, -0), 'negative zero kept');
        assert.equal(shape([s])[0]!.labels, lj({ i: String(i) }));
        assert.equal(s.t, 5000);
      });
    });
  }

  it('sgn keeps the sign of zero', () => {
    const out = functions.sgn!([vec([[{}, -0]])], ctxAt(0));
    assert.ok(Object.is(out[0]!.v, -0));
  });

  it('clamp with max < min returns an empty vector', () => {
    assert.deepEqual(functions.clamp!([vec([[{ a: 'b' }, 1]]), 5, 4], ctxAt(0)), []);
  });

  it('pi() is a scalar', () => {
    assert.deepEqual(functions.pi!([], ctxAt(7)), [{ metric: [], t: 7, v: Math.PI }]);
  });

  it('an empty input gives an empty output', () => {
    for (const fn of ['abs', 'round', 'clamp_min', 'log2']) assert.deepEqual(functions[fn]!([[], 1], ctxAt(0)), []);
  });
});

describe("Go's amd64 Exp overflow", () => {
  // exp_amd64.s takes k = rint(x * log2e) and returns +Inf once k >= 1024, i.e. for
  // x >= 1023.5 * ln2 ≈ 709.436, although e^709.7 ≈ 1.65e308 is finite.
  const cases: [string, number, number][] = [
    ['exp', 709.43, Math.exp(709.43)],
    ['exp', 709.44, Infinity],
    ['exp', 709.7, Infinity],
    ['sinh', 709.5, Infinity],
    ['sinh', -709.5, -Infinity],
    ['cosh', -709.5, Infinity],
    ['sinh', 709.4, Math.exp(709.4) * 0.5],
    ['cosh', 30, Math.exp(30) * 0.5],
  ];
  for (const [fn, x, want] of cases) {
    it(`${fn}(${x}) = ${want}`, () => {
      assertClose(functions[fn]!([vec([[{}, x]])], ctxAt(0))[0]!.v, want);
    });
  }
});
