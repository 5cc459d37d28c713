import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  type Expr, Functions, exprToString, formatDuration, goFormatFloat, parseExpr, parseModelDuration,
} from '../../../../lib/promql/parser/index.ts';
// The engine's preprocessing (one implementation, which copies the tree instead of changing it).
import { preprocessExpr } from '../../../../lib/promql/eval/preprocess.ts';

describe('exprToString', () => {
  // Expected forms read from Prometheus 2.42's /api/v1/rules for the same expressions.
  const cases: [string, string][] = [
    ['1e6 + 1234567 + 123456 + 0.0001 + 0.00001 + 1e21 + 123456789012345678 + -0.5 + Inf + NaN + 0x10 + 017',
      '1e+06 + 1.234567e+06 + 123456 + 0.0001 + 1e-05 + 1e+21 + 1.2345678901234568e+17 + -0.5 + +Inf + NaN + 16 + 15'],
    ['sum by (a,b) (rate({c="d",__name__="x",b=~"e"}[90d] offset -5m @ 1.5)) / on() group_left rate(x[5m:] @ end() offset 1w)',
      'sum by (a, b) (rate({__name__="x",b=~"e",c="d"}[90d] @ 1.500 offset -5m)) / on () group_left () rate(x[5m:] @ end() offset 1w)'],
    ['topk without () (1, -x ^ - 2) and ignoring(a) y < bool 1', 'topk without () (1, -x ^ -2) and ignoring (a) y < bool 1'],
    ['foo{a="b\\n"}[1h30m:5m]', 'foo{a="b\\n"}[1h30m:5m]'],
    ['count_values("v", foo) + foo offset 2w', 'count_values("v", foo) + foo offset 2w'],
  ];
  for (const [q, want] of cases) {
    it(`prints ${q}`, () => {
      // Prepare / Act / Assess
      assert.equal(exprToString(parseExpr(q)), want);
    });
  }

  it('formats floats and durations as Go and prometheus/common do', () => {
    // Prepare
    const floats: [number, string][] = [[0, '0'], [-0, '-0'], [100000, '100000'], [1e6, '1e+06'], [1.5e-7, '1.5e-07'], [0.0001, '0.0001']];
    const durations: [number, string][] = [[0, '0s'], [90 * 86_400_000, '90d'], [5_400_000, '1h30m'], [1_209_600_000, '2w'], [1001, '1s1ms']];
    // Act / Assess
    for (const [v, s] of floats) assert.equal(goFormatFloat(v), s);
    for (const [v, s] of durations) assert.equal(formatDuration(v), s);
  });
});

describe('parseModelDuration', () => {
  it('reads and refuses like model.ParseDuration', () => {
    // Prepare
    const cases: [string, number | string][] = [
      ['1h30m', 5_400_000], ['0', 0], ['5ms', 5], ['1m1h', 'not a valid duration string: "1m1h"'],
      ['292y', 292 * 31_536_000_000], ['293y', 'duration out of range'], ['', 'empty duration string'],
    ];
    for (const [s, want] of cases) {
      // Act
      const got = parseModelDuration(s);
      // Assess
      assert.deepEqual(got, typeof want === 'number' ? { ok: true, value: want } : { ok: false, error: want }, s);
    }
  });
});

describe('Functions', () => {
  it('holds the 70 functions of Prometheus 2.42 with their signatures', () => {
    // Prepare / Act / Assess
    assert.equal(Functions.size, 70);
    assert.deepEqual(Functions.get('label_join')?.variadic, -1);
    assert.deepEqual(Functions.get('round')?.argTypes, ['vector', 'scalar']);
    assert.deepEqual(Functions.get('histogram_fraction')?.argTypes, ['scalar', 'scalar', 'vector']);
    assert.equal(Functions.get('year')?.variadic, 1);
    assert.equal(Functions.get('pi')?.returnType, 'scalar');
    assert.equal(Functions.has('sort_by_label'), false);
  });
});

/** Renders where StepInvariantExpr wrappers sit, e.g. `SI(foo @ 1.000) + bar`. */
function shape(e: Expr): string {
  switch (e.type) {
    case 'StepInvariantExpr':
      return `SI(${shape(e.expr)})`;
    case 'BinaryExpr':
      return `${shape(e.lhs)} ${e.op} ${shape(e.rhs)}`;
    case 'Call':
      return `${e.func.name}(${e.args.map(shape).join(', ')})`;
    case 'SubqueryExpr':
      return `${shape(e.expr)}[sq]`;
    default:
      return exprToString(e);
  }
}

describe('preprocessExpr', () => {
  // Placement follows Prometheus 2.42's PreprocessExpr (engine.go).
  const cases: [string, string][] = [
    ['foo @ 1 + bar', 'SI(foo @ 1.000) + bar'],
    ['foo @ 1 + bar @ 2', 'SI(foo @ 1.000 + bar @ 2.000)'],
    ['1 + 2', 'SI(1 + 2)'],
    ['foo', 'foo'],
    ['rate(foo[5m] @ end())', 'SI(rate(foo[5m] @ 10.000))'],
    ['timestamp(foo @ start())', 'timestamp(SI(foo @ 5.000))'],
    ['time() + foo', 'time() + foo'],
    ['sum_over_time(foo[1m:] @ 3)', 'SI(sum_over_time(foo[sq]))'],
    ['sum_over_time((foo @ 3)[1m:])', 'sum_over_time(SI((foo @ 3.000))[sq])'],
  ];
  for (const [q, want] of cases) {
    it(`wraps ${q}`, () => {
      // Prepare
      const e = parseExpr(q);
      // Act
      const out = preprocessExpr(e, 5000, 10_000);
      // Assess
      assert.equal(shape(out), want);
    });
  }

  it('resolves start() and end()', () => {
    // Prepare
    const e = parseExpr('foo @ start() + rate(bar[1m] @ end())');
    // Act
    const out = preprocessExpr(e, 5000, 10_000);
    // Assess
    assert.equal(out.type, 'StepInvariantExpr');
    assert.equal(exprToString(out), 'foo @ 5.000 + rate(bar[1m] @ 10.000)');
  });
});
