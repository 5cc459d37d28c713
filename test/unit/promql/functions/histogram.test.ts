import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { functions } from '../../../../lib/promql/functions/index.ts';
import { assertClose, ctxAt, lj, shape, vec } from './helpers.ts';

/** Buckets of one histogram `h{job="a"}` as [le, cumulative count]. */
function buckets(bs: [string, number][], labels: Record<string, string> = { __name__: 'h_bucket', job: 'a' }) {
  return vec(bs.map(([le, c]) => [{ ...labels, le }, c]));
}

const cases: { name: string; q: number; bs: [string, number][]; want: number }[] = [
  // rank = q * 20 = 10 falls in the first bucket: interpolated from 0 to 1.
  { name: 'first bucket, from a lower bound of 0', q: 0.5, bs: [['1', 10], ['2', 20], ['+Inf', 20]], want: 1 },
  // rank 15: bucket (1, 2], 5 of its 10 -> 1.5
  { name: 'interpolation inside a bucket', q: 0.75, bs: [['1', 10], ['2', 20], ['+Inf', 20]], want: 1.5 },
  { name: 'input order does not matter', q: 0.75, bs: [['+Inf', 20], ['2', 20], ['1', 10]], want: 1.5 },
  // rank 27 is beyond the last finite bucket (20): the highest finite bound
  { name: 'rank in the +Inf bucket gives the second-highest bound', q: 0.9, bs: [['1', 10], ['2', 20], ['+Inf', 30]], want: 2 },
  { name: 'no +Inf bucket: NaN', q: 0.5, bs: [['1', 10], ['2', 20]], want: NaN },
  { name: 'only the +Inf bucket: NaN', q: 0.5, bs: [['+Inf', 10]], want: NaN },
  { name: 'no observations: NaN', q: 0.5, bs: [['1', 0], ['+Inf', 0]], want: NaN },
  { name: 'q < 0: -Inf', q: -0.5, bs: [['1', 10], ['+Inf', 10]], want: -Infinity },
  { name: 'q > 1: +Inf', q: 1.5, bs: [['1', 10], ['+Inf', 10]], want: Infinity },
  { name: 'q NaN: NaN', q: NaN, bs: [['1', 10], ['+Inf', 10]], want: NaN },
  { name: 'q checks come before the +Inf check', q: 2, bs: [['1', 10]], want: Infinity },
  // Counts made monotonic: le=2 becomes 10. rank 10 -> first bucket -> 1.
  { name: 'non-monotonic counts are evened out (q=0.5)', q: 0.5, bs: [['1', 10], ['2', 8], ['+Inf', 20]], want: 1 },
  // rank 12: no finite bucket reaches 12 after the fix -> second-highest bound 2
  { name: 'non-monotonic counts are evened out (q=0.6)', q: 0.6, bs: [['1', 10], ['2', 8], ['+Inf', 20]], want: 2 },
  // rank 2 in the lowest bucket, whose bound is <= 0: that bound
  { name: 'lowest bucket with a non-positive bound returns the bound', q: 0.2, bs: [['-1', 5], ['0', 10], ['+Inf', 10]], want: -1 },
  // rank 7: bucket (-1, 0] holds 5, 2 of them: -1 + 1 * 2/5
  { name: 'interpolation above a negative bound', q: 0.7, bs: [['-1', 5], ['0', 10], ['+Inf', 10]], want: -0.6 },
  // "1" and "1.0" are the same bound: counts add up to 10; rank 5 -> 0.5
  { name: 'equal bounds are merged', q: 0.5, bs: [['1', 4], ['1.0', 6], ['+Inf', 10]], want: 0.5 },
  // Go's ParseFloat: 1e400 is out of range (skipped), "Inf" and "1_0" parse, " 2" and "x" do not.
  { name: 'le values Go cannot parse are skipped', q: 0.75, bs: [['1', 5], ['1e400', 10], ['x', 10], [' 2', 10], ['+Inf', 10]], want: 1 },
  { name: 'le spelled Inf and 1_0', q: 0.5, bs: [['1_0', 10], ['Inf', 20]], want: 10 },
  { name: 'exact quantile at a bucket edge', q: 0.25, bs: [['0.5', 25], ['1', 50], ['+Inf', 100]], want: 0.5 },
];

describe('histogram_quantile', () => {
  for (const c of cases) {
    it(c.name, () => {
      // Act
      const out = functions.histogram_quantile!([c.q, buckets(c.bs)], ctxAt(3000));
      // Assess: one result, labelled without __name__ and le
      assert.equal(out.length, 1);
      assertClose(out[0]!.v, c.want);
      assert.equal(shape(out)[0]!.labels, lj({ job: 'a' }));
      assert.equal(out[0]!.t, 3000);
    });
  }

  it('groups by all labels but le; samples without le are ignored', () => {
    // Prepare
    const input = [
      ...buckets([['1', 2], ['+Inf', 4]], { __name__: 'h_bucket', job: 'a' }),
      ...buckets([['1', 1], ['+Inf', 4]], { __name__: 'h_bucket', job: 'b' }),
      ...vec([[{ __name__: 'h_bucket', job: 'c' }, 5]]),
    ];
    // Act
    const out = functions.histogram_quantile!([0.5, input], ctxAt(0));
    // Assess: a: rank 2 -> 1; b: rank 2 -> 1 + (inf bucket) -> second-highest bound 1
    assert.deepEqual(shape(out), [
      { labels: lj({ job: 'a' }), v: 1 },
      { labels: lj({ job: 'b' }), v: 1 },
    ]);
  });

  it('histograms differing only by name stay separate (and collide once the name is dropped)', () => {
    const input = [
      ...buckets([['1', 2], ['+Inf', 4]], { __name__: 'x_bucket' }),
      ...buckets([['1', 1], ['+Inf', 2]], { __name__: 'y_bucket' }),
    ];
    const out = functions.histogram_quantile!([0.25, input], ctxAt(0));
    assert.deepEqual(shape(out), [
      { labels: '{}', v: 0.5 },
      { labels: '{}', v: 0.5 },
    ]);
  });

  it('an empty vector gives an empty result', () => {
    assert.deepEqual(functions.histogram_quantile!([0.5, []], ctxAt(0)), []);
  });
});

describe('native-histogram functions over float samples', () => {
  for (const [fn, args] of [
    ['histogram_count', [buckets([['1', 1]])]],
    ['histogram_sum', [buckets([['1', 1]])]],
    ['histogram_fraction', [0, 1, buckets([['1', 1]])]],
  ] as const) {
    it(`${fn} returns an empty vector`, () => {
      assert.deepEqual(functions[fn]!([...args], ctxAt(0)), []);
    });
  }
});
