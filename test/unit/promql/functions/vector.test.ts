import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { functions } from '../../../../lib/promql/functions/index.ts';
import { newMatcher, MatchType } from '../../../../lib/labels/matcher.ts';
import type { Expr, MatrixSelector, VectorSelector } from '../../../../lib/promql/parser/ast.ts';
import { ctxAt, lj, series, shape, vec } from './helpers.ts';

const pos = { start: 0, end: 0 };

function selector(...ms: [string, string, string][]): VectorSelector {
  return { type: 'VectorSelector', name: '', matchers: ms.map(([n, t, v]) => newMatcher(t as MatchType, n, v)), offset: 0, posRange: pos };
}

function matrixOf(vs: VectorSelector): MatrixSelector {
  return { type: 'MatrixSelector', vectorSelector: vs, range: 300_000, posRange: pos };
}

describe('absent', () => {
  const cases: { name: string; arg: Expr; want: Record<string, string> }[] = [
    {
      name: 'equality matchers become labels; __name__ and other matcher types do not',
      arg: selector(['__name__', '=', 'up'], ['job', '=', 'api'], ['env', '=~', 'prod'], ['instance', '!=', 'x']),
      want: { job: 'api' },
    },
    { name: 'a label matched twice by equality is dropped', arg: selector(['job', '=', 'a'], ['job', '=', 'b'], ['x', '=', 'y']), want: { x: 'y' } },
    { name: 'equality after a regex on the same label still sets it', arg: selector(['job', '=~', 'a.*'], ['job', '=', 'a']), want: { job: 'a' } },
    { name: 'a regex after an equality removes it', arg: selector(['job', '=', 'a'], ['job', '=~', 'a.*']), want: {} },
    { name: 'an empty equality value sets nothing', arg: selector(['job', '=', ''], ['a', '=', 'b']), want: { a: 'b' } },
    { name: 'parentheses are looked through', arg: { type: 'ParenExpr', expr: { type: 'ParenExpr', expr: selector(['a', '=', 'b']), posRange: pos }, posRange: pos }, want: { a: 'b' } },
    { name: 'a non-selector argument gives no labels', arg: { type: 'NumberLiteral', val: 1, posRange: pos }, want: {} },
  ];
  for (const c of cases) {
    it(c.name, () => {
      // Act
      const out = functions.absent!([[]], ctxAt(42, 0, 0, [c.arg]));
      // Assess
      assert.deepEqual(shape(out), [{ labels: lj(c.want), v: 1 }]);
      assert.equal(out[0]!.t, 42);
    });
  }

  it('a non-empty vector gives nothing', () => {
    assert.deepEqual(functions.absent!([vec([[{ a: 'b' }, 0]])], ctxAt(0, 0, 0, [selector(['a', '=', 'b'])])), []);
  });
});

describe('absent_over_time', () => {
  const arg = matrixOf(selector(['__name__', '=', 'up'], ['job', '=', 'api']));

  it('no series with points: 1, labelled from the selector', () => {
    const out = functions.absent_over_time!([[]], ctxAt(5, 0, 0, [arg]));
    assert.deepEqual(shape(out), [{ labels: lj({ job: 'api' }), v: 1 }]);
    const out2 = functions.absent_over_time!([series([])], ctxAt(5, 0, 0, [arg]));
    assert.deepEqual(shape(out2), [{ labels: lj({ job: 'api' }), v: 1 }]);
  });

  it('any series with a point: nothing', () => {
    const m = [...series([]), ...series([[1, 1]], { job: 'api' })];
    assert.deepEqual(functions.absent_over_time!([m], ctxAt(5, 0, 0, [arg])), []);
  });

  it('a subquery argument gives no labels', () => {
    const sq: Expr = { type: 'SubqueryExpr', expr: selector(['job', '=', 'api']), range: 60_000, offset: 0, step: 0, posRange: pos };
    assert.deepEqual(shape(functions.absent_over_time!([[]], ctxAt(5, 0, 0, [sq]))), [{ labels: '{}', v: 1 }]);
  });
});

describe('scalar and vector', () => {
  it('scalar of one element is its value, of zero or several NaN', () => {
    assert.deepEqual(functions.scalar!([vec([[{ a: 'b' }, 3]])], ctxAt(7)), [{ metric: [], t: 7, v: 3 }]);
    assert.ok(Number.isNaN(functions.scalar!([[]], ctxAt(7))[0]!.v));
    assert.ok(Number.isNaN(functions.scalar!([vec([[{ a: '1' }, 1], [{ a: '2' }, 2]])], ctxAt(7))[0]!.v));
  });

  it('vector of a scalar has no labels', () => {
    assert.deepEqual(functions.vector!([2.5], ctxAt(9)), [{ metric: [], t: 9, v: 2.5 }]);
  });
});

describe('sort and sort_desc', () => {
  const input = () => vec([
    [{ __name__: 'm', i: 'a' }, 3],
    [{ __name__: 'm', i: 'b' }, NaN],
    [{ __name__: 'm', i: 'c' }, 1],
    [{ __name__: 'm', i: 'd' }, 3],
    [{ __name__: 'm', i: 'e' }, -Infinity],
    [{ __name__: 'm', i: 'f' }, NaN],
  ]);
  // Go's insertion sort (used up to 12 elements) with Prometheus' NaN-first "less", reversed:
  // NaN last in both directions and in reverse input order; equal values keep their input order.
  const cases: { fn: string; order: string[] }[] = [
    { fn: 'sort', order: ['e', 'c', 'a', 'd', 'f', 'b'] },
    { fn: 'sort_desc', order: ['a', 'd', 'c', 'e', 'f', 'b'] },
  ];
  for (const c of cases) {
    it(`${c.fn} orders by value, NaN last, and keeps labels including __name__`, () => {
      // Prepare
      const inp = input();
      // Act
      const out = functions[c.fn]!([inp], ctxAt(0));
      // Assess
      assert.deepEqual(out.map((s) => s.metric.find((l) => l.name === 'i')!.value), c.order);
      assert.ok(out.every((s) => s.metric.some((l) => l.name === '__name__')));
      assert.deepEqual(inp.map((s) => s.metric[1]!.value), ['a', 'b', 'c', 'd', 'e', 'f'], 'input untouched');
    });
  }
});
