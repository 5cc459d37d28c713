/**
 * The downsampling arithmetic (lib/compact/downsample.ts) against
 * aggregates computed directly from raw samples: randomized series with
 * counter resets (also at window edges), stale markers, other NaNs and
 * gaps; coarsening 5 m -> 1 h equals 1 h from raw; the counter column gives
 * Prometheus' increase between any two rows.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ColumnBuffer } from '../../../lib/block/columns.ts';
import { Aggr, downsampleAggr, downsampleRaw } from '../../../lib/compact/downsample.ts';
import { STALE, fromBits } from '../../helpers/bits.ts';
import { prng as rng } from '../../helpers/prng.ts';

const Min5 = 300_000;
const Hour = 3_600_000;
const Day = 24 * Hour;
const Stale = fromBits(STALE);


interface Raw {
  t: Float64Array;
  v: Float64Array;
}

/** A counter-like series over one day: random steps, resets, NaNs, gaps; integer or fractional values. */
function randomSeries(seed: number, integers: boolean): Raw {
  const r = rng(seed);
  const t: number[] = [];
  const v: number[] = [];
  let now = Day * 3 + Math.floor(r() * 60_000);
  let val = Math.floor(r() * 100);
  const n = 50 + Math.floor(r() * 600);
  for (let i = 0; i < n && now < Day * 4; i++) {
    const p = r();
    if (p < 0.05) val = Math.floor(r() * 10); // reset
    else val += integers ? Math.floor(r() * 20) : r() * 20;
    t.push(now);
    v.push(p > 0.97 ? Stale : p > 0.955 ? NaN : val);
    // Gaps: mostly 15 s..2 min, sometimes an hour; sometimes exactly onto a window edge.
    const q = r();
    now += q < 0.05 ? Hour : q < 0.1 ? Min5 - (now % Min5) : 15_000 + Math.floor(r() * 105_000);
  }
  return { t: Float64Array.from(t), v: Float64Array.from(v) };
}

function nonNaN(s: Raw): { t: number[]; v: number[] } {
  const t: number[] = [];
  const v: number[] = [];
  for (let i = 0; i < s.t.length; i++) {
    if (s.v[i] === s.v[i]) {
      t.push(s.t[i]!);
      v.push(s.v[i]!);
    }
  }
  return { t, v };
}

/** Prometheus' increase (no extrapolation) over the raw samples with times in [a, b]: deltas, a drop counts as a reset. */
function rawIncrease(t: number[], v: number[], a: number, b: number): number {
  let inc = 0;
  let prev: number | undefined;
  for (let i = 0; i < t.length; i++) {
    if (t[i]! < a || t[i]! > b) continue;
    if (prev !== undefined) inc += v[i]! < prev ? v[i]! : v[i]! - prev;
    prev = v[i]!;
  }
  return inc;
}

function rows(buf: ColumnBuffer): { t: number; count: number; sum: number; min: number; max: number; counter: number }[] {
  const out = [];
  for (let i = 0; i < buf.n; i++) {
    out.push({ t: buf.t[i]!, count: buf.vs[Aggr.COUNT]![i]!, sum: buf.vs[Aggr.SUM]![i]!, min: buf.vs[Aggr.MIN]![i]!, max: buf.vs[Aggr.MAX]![i]!, counter: buf.vs[Aggr.COUNTER]![i]! });
  }
  return out;
}

function close(a: number, b: number, what: string): void {
  assert.ok(Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b)), `${what}: ${a} != ${b}`);
}

describe('downsampleRaw', () => {
  for (let seed = 1; seed <= 40; seed++) {
    it(`seed ${seed}: rows agree with the raw samples`, () => {
      // Prepare
      const s = randomSeries(seed, seed % 2 === 0);
      const { t, v } = nonNaN(s);
      const out = new ColumnBuffer(5, 4);
      // Act
      const n = downsampleRaw(s.t, s.v, 0, s.t.length, Min5, out);
      const rs = rows(out);
      // Assess: row count, first and last rows are single raw samples.
      assert.equal(n, rs.length);
      assert.ok(rs.length >= Math.min(2, t.length));
      assert.deepEqual([rs[0]!.t, rs[0]!.count, rs[0]!.sum, rs[0]!.counter], [t[0], 1, v[0], v[0]]);
      const last = rs[rs.length - 1]!;
      assert.deepEqual([last.t, last.count, last.sum], [t[t.length - 1], 1, v[v.length - 1]]);
      // Stamps: strictly increasing, each at a raw sample time.
      for (let i = 1; i < rs.length; i++) assert.ok(rs[i]!.t > rs[i - 1]!.t);
      for (const r of rs) assert.ok(t.includes(r.t), `row stamp ${r.t} is a sample time`);
      // Per aligned window: rows' counts, sums, min and max equal the raw samples'.
      const windows = new Map<number, { count: number; sum: number; min: number; max: number }>();
      for (let i = 0; i < t.length; i++) {
        const w = Math.floor(t[i]! / Min5) * Min5;
        const a = windows.get(w) ?? { count: 0, sum: 0, min: Infinity, max: -Infinity };
        windows.set(w, { count: a.count + 1, sum: a.sum + v[i]!, min: Math.min(a.min, v[i]!), max: Math.max(a.max, v[i]!) });
      }
      const fromRows = new Map<number, { count: number; sum: number; min: number; max: number }>();
      for (const r of rs) {
        const w = Math.floor(r.t / Min5) * Min5;
        const a = fromRows.get(w) ?? { count: 0, sum: 0, min: Infinity, max: -Infinity };
        fromRows.set(w, { count: a.count + r.count, sum: a.sum + r.sum, min: Math.min(a.min, r.min), max: Math.max(a.max, r.max) });
      }
      assert.deepEqual([...fromRows.keys()], [...windows.keys()]);
      for (const [w, e] of windows) {
        const g = fromRows.get(w)!;
        assert.equal(g.count, e.count, `count of window ${w}`);
        close(g.sum, e.sum, `sum of window ${w}`);
        assert.equal(g.min, e.min);
        assert.equal(g.max, e.max);
      }
      // At most one row per window besides the first and last.
      const mid = rs.slice(1, -1).map((r) => Math.floor(r.t / Min5));
      assert.equal(new Set(mid).size, mid.length);
      // Counter: the difference of any two rows is the raw increase between their stamps.
      for (let i = 0; i < rs.length; i++) {
        for (let j = i + 1; j < rs.length; j += 1 + (j % 7)) {
          close(rs[j]!.counter - rs[i]!.counter, rawIncrease(t, v, rs[i]!.t, rs[j]!.t), `increase rows ${i}..${j}`);
        }
      }
    });
  }

  it('handles the edge cases table', () => {
    const cases: { name: string; t: number[]; v: number[]; want: number[][] }[] = [
      { name: 'only NaNs', t: [1, 2], v: [Stale, NaN], want: [] },
      { name: 'one sample', t: [5], v: [3], want: [[5, 1, 3, 3, 3, 3]] },
      { name: 'two samples in one window', t: [1, 2], v: [3, 4], want: [[1, 1, 3, 3, 3, 3], [2, 1, 4, 4, 4, 4]] },
      {
        name: 'reset exactly at a window edge',
        t: [0, Min5 - 1, Min5, Min5 + 1, 2 * Min5],
        v: [10, 20, 5, 6, 7],
        // rows: first alone; window 0 (t=Min5-1); window 1 (Min5, Min5+1: reset 20 -> 5 adds 20); last alone.
        want: [[0, 1, 10, 10, 10, 10], [Min5 - 1, 1, 20, 20, 20, 20], [Min5 + 1, 2, 11, 5, 6, 26], [2 * Min5, 1, 7, 7, 7, 27]],
      },
      { name: 'stale marker between', t: [0, 10, 20], v: [1, Stale, 2], want: [[0, 1, 1, 1, 1, 1], [20, 1, 2, 2, 2, 2]] },
    ];
    for (const c of cases) {
      const out = new ColumnBuffer(5, 1);
      downsampleRaw(Float64Array.from(c.t), Float64Array.from(c.v), 0, c.t.length, Min5, out);
      assert.deepEqual(rows(out).map((r) => [r.t, r.count, r.sum, r.min, r.max, r.counter]), c.want, c.name);
    }
  });
});

describe('downsampleAggr', () => {
  for (let seed = 100; seed < 120; seed++) {
    it(`seed ${seed}: 1 h from 5 m equals 1 h from raw`, () => {
      // Prepare: integer values, so sums are exact in any order.
      const s = randomSeries(seed, true);
      const five = new ColumnBuffer(5, 8);
      downsampleRaw(s.t, s.v, 0, s.t.length, Min5, five);
      // Act
      const viaFive = new ColumnBuffer(5, 8);
      downsampleAggr(five, 0, five.n, Hour, viaFive);
      const direct = new ColumnBuffer(5, 8);
      downsampleRaw(s.t, s.v, 0, s.t.length, Hour, direct);
      // Assess
      assert.deepEqual(rows(viaFive), rows(direct));
      assert.ok(direct.n < five.n);
    });
  }
});
