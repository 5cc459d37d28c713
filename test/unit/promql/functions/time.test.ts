import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { functions } from '../../../../lib/promql/functions/index.ts';
import { ctxAt, lj, shape, vec } from './helpers.ts';

const fields = ['year', 'month', 'day_of_month', 'day_of_year', 'days_in_month', 'day_of_week', 'hour', 'minute'] as const;
type Field = (typeof fields)[number];

/** Unix seconds of a UTC date (Date.UTC is an independent calendar). */
const utc = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0) => Date.UTC(y, mo - 1, d, h, mi, s) / 1000;

const cases: { name: string; secs: number; want: Record<Field, number> }[] = [
  // 2024-02-29 was a Thursday (4), the 60th day of a leap year.
  { name: 'leap day', secs: utc(2024, 2, 29, 13, 45, 30), want: { year: 2024, month: 2, day_of_month: 29, day_of_year: 60, days_in_month: 29, day_of_week: 4, hour: 13, minute: 45 } },
  { name: 'epoch', secs: 0, want: { year: 1970, month: 1, day_of_month: 1, day_of_year: 1, days_in_month: 31, day_of_week: 4, hour: 0, minute: 0 } },
  // 1969-12-31T23:59:59Z, a Wednesday
  { name: 'one second before the epoch', secs: -1, want: { year: 1969, month: 12, day_of_month: 31, day_of_year: 365, days_in_month: 31, day_of_week: 3, hour: 23, minute: 59 } },
  // int64(-0.5) truncates toward zero: the epoch
  { name: 'fractions truncate toward zero', secs: -0.5, want: { year: 1970, month: 1, day_of_month: 1, day_of_year: 1, days_in_month: 31, day_of_week: 4, hour: 0, minute: 0 } },
  { name: '1900 is not a leap year', secs: utc(1900, 3, 1, 0, 0, 59.9), want: { year: 1900, month: 3, day_of_month: 1, day_of_year: 60, days_in_month: 31, day_of_week: 4, hour: 0, minute: 0 } },
  { name: 'February 1900', secs: utc(1900, 2, 10), want: { year: 1900, month: 2, day_of_month: 10, day_of_year: 41, days_in_month: 28, day_of_week: 6, hour: 0, minute: 0 } },
  { name: 'February 2000', secs: utc(2000, 2, 10, 23, 1), want: { year: 2000, month: 2, day_of_month: 10, day_of_year: 41, days_in_month: 29, day_of_week: 4, hour: 23, minute: 1 } },
  { name: 'last day of a leap year', secs: utc(2020, 12, 31, 12), want: { year: 2020, month: 12, day_of_month: 31, day_of_year: 366, days_in_month: 31, day_of_week: 4, hour: 12, minute: 0 } },
  // The latest instant Date can hold; our calendar is not bounded by it.
  { name: 'year 275760', secs: 8.64e12, want: { year: 275760, month: 9, day_of_month: 13, day_of_year: 257, days_in_month: 30, day_of_week: 6, hour: 0, minute: 0 } },
  // Go (amd64) converts NaN to the minimum int64; its calendar then wraps by 2^64 s, landing on
  // 2^63 s after the epoch: 292277026596-12-04T15:30:08Z, a Sunday (Go's famous maximum time).
  { name: 'NaN', secs: NaN, want: { year: 292277026596, month: 12, day_of_month: 4, day_of_year: 339, days_in_month: 31, day_of_week: 0, hour: 15, minute: 30 } },
  { name: '+Inf, as NaN', secs: Infinity, want: { year: 292277026596, month: 12, day_of_month: 4, day_of_year: 339, days_in_month: 31, day_of_week: 0, hour: 15, minute: 30 } },
];

describe('calendar functions', () => {
  for (const c of cases) {
    it(`of a sample value: ${c.name}`, () => {
      // Prepare
      const input = vec([[{ __name__: 'ts', job: 'j' }, c.secs]]);
      for (const f of fields) {
        // Act
        const out = functions[f]!([input], ctxAt(1));
        // Assess
        assert.deepEqual(shape(out), [{ labels: lj({ job: 'j' }), v: c.want[f] }], f);
      }
    });
  }

  it('without an argument: of the evaluation time, no labels', () => {
    // Prepare: 2024-02-29T13:45:30.999Z in ms; seconds are truncated
    const ts = utc(2024, 2, 29, 13, 45, 30) * 1000 + 999;
    for (const f of fields) {
      // Act
      const out = functions[f]!([], ctxAt(ts));
      // Assess
      assert.deepEqual(shape(out), [{ labels: '{}', v: cases[0]!.want[f] }], f);
    }
  });

  it('without an argument, negative times truncate toward zero like Go integer division', () => {
    assert.equal(functions.hour!([], ctxAt(-1))[0]!.v, 0);
    assert.equal(functions.hour!([], ctxAt(-1000))[0]!.v, 23);
  });
});

describe('time and timestamp', () => {
  it('time() is the evaluation time in seconds, as a scalar', () => {
    assert.deepEqual(functions.time!([], ctxAt(1_234_567)), [{ metric: [], t: 1_234_567, v: 1234.567 }]);
  });

  it('timestamp() gives each sample own time in seconds and drops __name__', () => {
    // Prepare: samples stored at different times (as the evaluator passes a selector's samples)
    const input = [
      { metric: vec([[{ __name__: 'a', x: '1' }, 5]])[0]!.metric, t: 1500, v: 5 },
      { metric: vec([[{ x: '2' }, 6]])[0]!.metric, t: -2000, v: 6 },
    ];
    // Act
    const out = functions.timestamp!([input], ctxAt(9000));
    // Assess
    assert.deepEqual(shape(out), [
      { labels: lj({ x: '1' }), v: 1.5 },
      { labels: lj({ x: '2' }), v: -2 },
    ]);
  });
});
