/**
 * Binary and unary operators: arithmetic (incl. ^ % atan2 with Go's special
 * cases), comparisons as filters and with bool, set operators, vector
 * matching (on/ignoring, group_left/group_right with extra labels), where
 * the metric name is dropped, and Prometheus' error messages. Values at 1m
 * of fixture.ts; expectations follow Prometheus 2.42 (checked against it).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '../../../../lib/promql/index.ts';
import type { Storage, TenantDB } from '../../../../lib/tsdb/db.ts';
import { fixture, M } from './fixture.ts';
import { close, load } from './helpers.ts';
import { assertInstant } from './helpers.ts';

let db: TenantDB;
let storage: Storage;
before(async () => ({ db, storage } = await load(fixture)));
after(async () => storage.close());
const engine = new Engine();

const get200 = '{code="200", method="get"}';
const get500 = '{code="500", method="get"}';
const post200 = '{code="200", method="post"}';
const req = (l: string) => '{__name__="req", ' + l.slice(1);

describe('scalar operators', () => {
  const cases: [string, number][] = [
    ['1 + 2 * 3', 7],
    ['2 ^ 3 ^ 2', 512],
    ['-7 % 3', -1],
    ['7 % -3', 1],
    ['5 % 0', NaN],
    ['1 / 0', Infinity],
    ['0 / 0', NaN],
    ['1 atan2 2', Math.atan2(1, 2)],
    ['(-1) ^ Inf', 1], // Go's math.Pow, where JS gives NaN
    ['1 ^ NaN', 1],
    ['NaN ^ 0', 1],
    ['2 > bool 1', 1],
    ['1 == bool 2', 0],
    ['NaN != bool NaN', 1],
    ['-(2)', -2],
  ];
  for (const [query, want] of cases) {
    it(query, async () => {
      // Act
      const res = await engine.instantQuery(db, query, M);
      // Assess
      assert.equal(res.value.type, 'scalar');
      if (res.value.type === 'scalar') close(res.value.value.v, want, query);
    });
  }
});

interface Case {
  query: string;
  want: Record<string, number> | { error: string | RegExp };
}

const vectorCases: Case[] = [
  // Vector and scalar.
  { query: 'req * 2', want: { [get200]: 20, [get500]: 4, [post200]: 8 } },
  { query: 'req > 3', want: { [req(get200)]: 10, [req(post200)]: 4 } },
  { query: '3 < req', want: { [req(get200)]: 10, [req(post200)]: 4 } },
  { query: 'req > bool 3', want: { [get200]: 1, [get500]: 0, [post200]: 1 } },
  { query: '2 ^ req{code="500"}', want: { [get500]: 4 } },
  { query: '1 - req{code="500"}', want: { [get500]: -1 } },
  { query: 'special{kind="one"} atan2 1', want: { '{__name__="special", kind="one"}': Math.PI / 4 } },
  { query: 'vals{group="g2"} % 3', want: { '{group="g2", inst="f"}': 2, '{group="g2", inst="g"}': NaN, '{group="g2", inst="h"}': 0.5 } },
  { query: 'special == 1', want: { '{__name__="special", kind="one"}': 1 } },
  // Vector and vector.
  { query: 'req{code="200"} / on(method) limit', want: { '{method="get"}': 0.1, '{method="post"}': 0.08 } },
  { query: 'req{code="200"} - ignoring(code, team) limit', want: { '{method="get"}': -90, '{method="post"}': -46 } },
  { query: 'req / on(method) group_left limit', want: { [get200]: 0.1, [get500]: 0.02, [post200]: 0.08 } },
  {
    query: 'req / on(method) group_left(team) limit',
    want: { '{code="200", method="get", team="t1"}': 0.1, '{code="500", method="get", team="t1"}': 0.02, '{code="200", method="post", team="t2"}': 0.08 },
  },
  { query: 'limit / on(method) group_right req', want: { [get200]: 10, [get500]: 50, [post200]: 12.5 } },
  // A comparison keeps the "many" side's labels, name included, and the left-hand value.
  { query: 'limit > on(method) group_right req', want: { [req(get200)]: 100, [req(get500)]: 100, [req(post200)]: 50 } },
  { query: 'req > bool on(method) group_left limit', want: { [get200]: 0, [get500]: 0, [post200]: 0 } },
  { query: 'vals == vals', want: {
    '{__name__="vals", group="g1", inst="a"}': 5, '{__name__="vals", group="g1", inst="b"}': 1, '{__name__="vals", group="g1", inst="c"}': 5,
    '{__name__="vals", group="g1", inst="d"}': 3, '{__name__="vals", group="g1", inst="e"}': -2,
    '{__name__="vals", group="g2", inst="f"}': 8, '{__name__="vals", group="g2", inst="h"}': 0.5,
  } },
  { query: 'special{kind="inf"} + ignoring(kind) special{kind="neginf"}', want: { '{}': NaN } },
  // Set operators keep the sides' labels.
  { query: 'req and on(method) limit{method="get"}', want: { [req(get200)]: 10, [req(get500)]: 2 } },
  { query: 'req{code="200"} or on(method) limit', want: { [req(get200)]: 10, [req(post200)]: 4, '{__name__="limit", method="put", team="t3"}': 7 } },
  { query: 'req unless on(method) limit{method="post"}', want: { [req(get200)]: 10, [req(get500)]: 2 } },
  { query: 'req{code="500"} or limit{method="put"}', want: { [req(get500)]: 2, '{__name__="limit", method="put", team="t3"}': 7 } },
  { query: 'req and nonexistent', want: {} },
  { query: 'nonexistent or req{code="500"}', want: { [req(get500)]: 2 } },
  { query: 'req{code="500"} unless nonexistent', want: { [req(get500)]: 2 } },
  { query: 'req{code="500"} unless ignoring(code) req{code="200"}', want: {} },
  // Unary.
  { query: '-req{code="500"}', want: { [get500]: -2 } },
  { query: '+req{code="500"}', want: { [req(get500)]: 2 } },
  // Errors.
  {
    query: 'limit / on(method) req',
    want: {
      error:
        'found duplicate series for the match group {method="get"} on the right hand-side of the operation: ' +
        '[{__name__="req", code="500", method="get"}, {__name__="req", code="200", method="get"}]' +
        ';many-to-many matching not allowed: matching labels must be unique on one side',
    },
  },
  {
    query: 'req / on(method) group_right limit',
    want: { error: /^found duplicate series for the match group \{method="get"\} on the left hand-side of the operation: / },
  },
  { query: 'req / on(method) limit', want: { error: 'multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)' } },
  { query: '{__name__=~"dup_a|dup_b"} + on(x) group_left dup_b', want: { error: 'multiple matches for labels: grouping labels must ensure unique matches' } },
  { query: '-{__name__=~"dup_a|dup_b"}', want: { error: 'vector cannot contain metrics with the same labelset' } },
  { query: '{__name__=~"dup_a|dup_b"} * 2', want: { error: 'vector cannot contain metrics with the same labelset' } },
  { query: 'abs({__name__=~"dup_a|dup_b"})', want: { error: 'vector cannot contain metrics with the same labelset' } },
  { query: 'rate({__name__=~"dup_a|dup_b"}[5m])', want: { error: 'vector cannot contain metrics with the same labelset' } },
  { query: '{__name__=~"dup_a|dup_b"} > 0', want: { '{__name__="dup_a", x="1"}': 1, '{__name__="dup_b", x="1"}': 2 } },
];

describe('vector operators', () => {
  for (const c of vectorCases) {
    it(c.query, () => assertInstant(engine, db, c.query, M, c.want));
  }

  it('applies per step in range queries, filtering steps out', async () => {
    // Act: http_requests{instance="b"} is 0, 1, ..., 10 over 0..10m
    const res = await engine.rangeQuery(db, 'http_requests{instance="b"} > 2 < 5', 0, 10 * M, M);
    // Assess
    assert.equal(res.value.type, 'matrix');
    if (res.value.type !== 'matrix') return;
    assert.deepEqual(res.value.value.map((s) => s.points.map((p) => [p.t, p.v])), [[[3 * M, 3], [4 * M, 4]]]);
  });
});
