/**
 * Every aggregation with by/without and its parameter, with Prometheus
 * 2.42's numeric algorithms: incremental avg without overflow, Welford
 * stddev/stdvar, min/max replacing NaN, quantile interpolation, topk/bottomk
 * selection and order among ties (Go's heap), count_values' label format.
 * Values at 1m of fixture.ts: vals g1 = {a 5, b 1, c 5, d 3, e -2},
 * g2 = {f 8, g NaN, h 0.5}.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '../../../../lib/promql/index.ts';
import type { Storage, TenantDB } from '../../../../lib/tsdb/db.ts';
import { fixture, M } from './fixture.ts';
import { load, ls } from './helpers.ts';
import { assertInstant } from './helpers.ts';

let db: TenantDB;
let storage: Storage;
before(async () => ({ db, storage } = await load(fixture)));
after(async () => storage.close());
const engine = new Engine();

const g1 = '{group="g1"}';
const g2 = '{group="g2"}';

interface Case {
  query: string;
  want: Record<string, number> | { error: string };
}

const cases: Case[] = [
  { query: 'sum by (group) (vals)', want: { [g1]: 12, [g2]: NaN } },
  { query: 'sum without (inst) (vals)', want: { [g1]: 12, [g2]: NaN } },
  { query: 'sum(vals{group="g1"})', want: { '{}': 12 } },
  { query: 'sum without () (req)', want: { '{code="200", method="get"}': 10, '{code="500", method="get"}': 2, '{code="200", method="post"}': 4 } },
  { query: 'sum by (__name__) ({__name__=~"req|limit"})', want: { '{__name__="req"}': 16, '{__name__="limit"}': 157 } },
  { query: 'sum(big)', want: { '{}': Infinity } },
  { query: 'avg by (group) (vals)', want: { [g1]: 2.4, [g2]: NaN } },
  // The mean is updated as mean += v/n - mean/n, so 1.5e308 and 1.7e308 average without overflowing.
  { query: 'avg(big)', want: { '{}': 1.6e308 } },
  { query: 'avg(special{kind=~"inf|one"})', want: { '{}': Infinity } },
  { query: 'avg(special{kind=~"inf|neginf"})', want: { '{}': NaN } },
  { query: 'count by (group) (vals)', want: { [g1]: 5, [g2]: 3 } },
  { query: 'min by (group) (vals)', want: { [g1]: -2, [g2]: 0.5 } },
  { query: 'max by (group) (vals)', want: { [g1]: 5, [g2]: 8 } },
  // A NaN is replaced by the next value; a value is never replaced by NaN.
  { query: 'max(vals{inst=~"g|h"})', want: { '{}': 0.5 } },
  { query: 'min(special)', want: { '{}': -Infinity } },
  { query: 'stdvar(vals{group="g1"})', want: { '{}': 7.04 } },
  { query: 'stddev by (group) (vals)', want: { [g1]: Math.sqrt(7.04), [g2]: NaN } },
  { query: 'stddev(http_requests{instance="b"})', want: { '{}': 0 } },
  { query: 'group by (group) (vals)', want: { [g1]: 1, [g2]: 1 } },
  // Sorted g1 = [-2, 1, 3, 5, 5]; rank = q * 4.
  { query: 'quantile(0.5, vals{group="g1"})', want: { '{}': 3 } },
  { query: 'quantile(0.9, vals{group="g1"})', want: { '{}': 5 } },
  { query: 'quantile(0.3, vals{group="g1"})', want: { '{}': 1.4 } },
  { query: 'quantile(0, vals{group="g1"})', want: { '{}': -2 } },
  { query: 'quantile(-1, vals)', want: { '{}': -Infinity } },
  { query: 'quantile(2, vals)', want: { '{}': Infinity } },
  { query: 'quantile(NaN, vals)', want: { '{}': NaN } },
  { query: 'count_values("v", vals{group="g1"})', want: { '{v="5"}': 2, '{v="1"}': 1, '{v="3"}': 1, '{v="-2"}': 1 } },
  {
    query: 'count_values by (group) ("value", vals{inst=~"a|b|c|g"})',
    want: { '{group="g1", value="5"}': 2, '{group="g1", value="1"}': 1, '{group="g2", value="NaN"}': 1 },
  },
  { query: 'count_values without (inst) ("value", vals{inst=~"a|c"})', want: { '{group="g1", value="5"}': 2 } },
  // Go's FormatFloat(v, 'f', -1): never an exponent.
  { query: 'count_values("v", http_requests{instance="b"} * 1e21)', want: { '{v="1000000000000000000000"}': 1 } },
  { query: 'count_values("v", http_requests{instance="b"} / 1e7)', want: { '{v="0.0000001"}': 1 } },
  { query: 'count_values("v", special)', want: { '{v="+Inf"}': 1, '{v="NaN"}': 1, '{v="-Inf"}': 1, '{v="1"}': 1 } },
  { query: 'sum(nonexistent)', want: {} },
  { query: 'count(nonexistent)', want: {} },
  { query: 'topk(0, vals)', want: {} },
  { query: 'count_values("1bad", vals)', want: { error: 'invalid label name "1bad"' } },
  { query: 'topk(scalar(nonexistent), vals)', want: { error: 'Scalar value NaN overflows int64' } },
  { query: 'bottomk(1e19, vals)', want: { error: 'Scalar value 1e+19 overflows int64' } },
];

describe('aggregations', () => {
  for (const c of cases) {
    it(c.query, () => assertInstant(engine, db, c.query, M, c.want));
  }
});

describe('topk and bottomk', () => {
  const v = (inst: string, group: string) => `{__name__="vals", group="${group}", inst="${inst}"}`;
  // Order as Prometheus lists it: which of equal values survive and their
  // order follow Go's container/heap and sort.Sort.
  const ordered: [string, [string, number][]][] = [
    ['topk(3, vals)', [[v('f', 'g2'), 8], [v('c', 'g1'), 5], [v('a', 'g1'), 5]]],
    ['bottomk(3, vals)', [[v('e', 'g1'), -2], [v('h', 'g2'), 0.5], [v('b', 'g1'), 1]]],
    ['topk by (group) (2, vals)', [[v('a', 'g1'), 5], [v('c', 'g1'), 5], [v('f', 'g2'), 8], [v('h', 'g2'), 0.5]]],
    ['bottomk by (group) (2, vals)', [[v('e', 'g1'), -2], [v('b', 'g1'), 1], [v('h', 'g2'), 0.5], [v('f', 'g2'), 8]]],
    ['topk(2.9, vals{group="g1"})', [[v('a', 'g1'), 5], [v('c', 'g1'), 5]]],
    ['topk(1, vals{group="g2"})', [[v('f', 'g2'), 8]]],
    ['bottomk(1, vals{group="g2"})', [[v('h', 'g2'), 0.5]]],
  ];
  for (const [query, want] of ordered) {
    it(query, async () => {
      // Act
      const res = await engine.instantQuery(db, query, M);
      // Assess
      assert.equal(res.value.type, 'vector');
      if (res.value.type === 'vector') assert.deepEqual(res.value.value.map((s) => [ls(s.metric), s.v]), want);
    });
  }

  it('choose per step in range queries', async () => {
    // Act: http_requests at t: api/a = 10t, api/b = t, db/a = 3,1,4,1,5,9,2,6,5,3,5
    const res = await engine.rangeQuery(db, 'topk(1, http_requests{instance="a"} offset 1m)', M, 3 * M, M);
    // Assess
    assert.equal(res.value.type, 'matrix');
    if (res.value.type !== 'matrix') return;
    assert.deepEqual(
      res.value.value.map((s) => [ls(s.metric), s.points.map((p) => [p.t, p.v])]),
      [
        ['{__name__="http_requests", instance="a", job="api"}', [[2 * M, 10], [3 * M, 20]]],
        ['{__name__="http_requests", instance="a", job="db"}', [[M, 3]]],
      ],
    );
  });
});
