import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { goFormatFloatF, goParseFloat } from '../../../../lib/promql/functions/go-format.ts';

describe("Go's %f", () => {
  const cases: [number, string][] = [
    [2, '2.000000'],
    [0.5, '0.500000'],
    [-0, '-0.000000'],
    [NaN, 'NaN'],
    [Infinity, '+Inf'],
    [-Infinity, '-Inf'],
    // Exact ties round half to even (toFixed would round up).
    [0.0078125, '0.007812'],
    [0.0234375, '0.023438'],
    [-0.0078125, '-0.007812'],
    // Not a tie: the double just below 5e-7 rounds down.
    [5e-7, '0.000000'],
    [0.9999999, '1.000000'],
    [123456.7890125, '123456.789012'],
    // Exact integer digits past 1e21 (toFixed switches to exponent form).
    [1e23, '99999999999999991611392.000000'],
    [5e-324, '0.000000'],
  ];
  for (const [x, want] of cases) {
    it(`${x} -> ${want}`, () => assert.equal(goFormatFloatF(x), want));
  }
});

describe("Go's ParseFloat", () => {
  const cases: [string, number | undefined][] = [
    ['1', 1], ['-2.5', -2.5], ['+Inf', Infinity], ['inf', Infinity], ['-Infinity', -Infinity], ['NaN', NaN], ['nan', NaN],
    ['+nan', undefined], ['1e3', 1000], ['.5', 0.5], ['1.', 1], ['1_000', 1000], ['0x1p3', 8], ['0x1.8p1', 3], ['0X_1P-1', 0.5],
    ['1e-400', 0],
    ['1e400', undefined], ['-1e400', undefined], ['_1', undefined], ['1__0', undefined], ['1_', undefined], ['0x10', undefined],
    [' 1', undefined], ['1 ', undefined], ['', undefined], ['.', undefined], ['1e', undefined], ['e5', undefined], ['0b1', undefined], ['infinit', undefined],
  ];
  for (const [s, want] of cases) {
    it(`${JSON.stringify(s)} -> ${want}`, () => assert.deepEqual(goParseFloat(s), want));
  }
});
