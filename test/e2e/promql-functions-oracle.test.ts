/**
 * The PromQL function library against a real Prometheus 2.42 as the oracle.
 *
 * Prometheus is started empty with the remote-write receiver; deterministic
 * series (counters with resets, irregular and late-starting counters,
 * gauges with NaN and infinities, classic histogram buckets, Unix-time
 * gauges) are remote-written to it. For many function calls and several
 * evaluation times, Prometheus' /api/v1/query answer is compared with our
 * functions applied directly to the same data (the windows and instant
 * vectors built here, by Prometheus' selection rules, without our
 * evaluator): same label sets, values equal to 1e-12 relative, and for
 * sort/sort_desc the same order. A second table checks functions on
 * literal inputs (`fn(vector(x))`), and a third that bad arguments fail
 * with Prometheus' error text.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { requireBinary, skipReason, startPrometheus, remoteWrite, type PrometheusProcess } from './harness/index.ts';
import type { OracleSeries } from './harness/remote-oracle.ts';
import { functions } from '../../lib/promql/functions/index.ts';
import type { FunctionContext } from '../../lib/promql/functions/types.ts';
import { labelsFromPairs, type Labels } from '../../lib/labels/labels.ts';
import { newMatcher, MatchType } from '../../lib/labels/matcher.ts';
import type { Expr, VectorSelector } from '../../lib/promql/parser/ast.ts';
import { PromQLError } from '../../lib/promql/errors.ts';
import type { Vector } from '../../lib/promql/value.ts';

const lookbackMs = 5 * 60_000;
const base = Math.floor(Date.now() / 60_000) * 60_000 - 30 * 60_000;

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function buildData(): OracleSeries[] {
  const r = rng(42);
  const out: OracleSeries[] = [];
  // A counter every 15 s with a reset at 10 min.
  const a: OracleSeries = { labels: { __name__: 'c_total', job: 'a' }, samples: [] };
  let v = 3.5;
  for (let s = 0; s <= 20 * 60; s += 15) {
    v = s === 600 ? 1.25 : v + r() * 10;
    a.samples.push({ t: base + s * 1000, v });
  }
  // A counter with irregular spacing that starts late (zero-point rule) and jitters in ms.
  const b: OracleSeries = { labels: { __name__: 'c_total', job: 'b' }, samples: [] };
  v = 0.5;
  for (let t = base + 7 * 60_000 + 321; t <= base + 20 * 60_000; t += 5_000 + Math.floor(r() * 20_000)) {
    v += Math.floor(r() * 5);
    b.samples.push({ t, v });
  }
  out.push(a, b);
  // Gauges: random walk, one with specials.
  const g1: OracleSeries = { labels: { __name__: 'g', job: 'a' }, samples: [] };
  const g2: OracleSeries = { labels: { __name__: 'g', job: 'special' }, samples: [] };
  let x = 0;
  for (let s = 0; s <= 20 * 60; s += 10) {
    x += (r() - 0.5) * 4;
    g1.samples.push({ t: base + s * 1000, v: x });
    const specials = [NaN, Infinity, -Infinity, 0, -0.5, 1e-300];
    g2.samples.push({ t: base + s * 1000 + 7, v: s % 70 === 0 ? specials[(s / 70) % specials.length]! : x * 3 });
  }
  out.push(g1, g2);
  // Classic histogram buckets (cumulative, counters), two label sets.
  const les = ['0.1', '0.5', '1', '2.5', '+Inf'];
  for (const job of ['a', 'b']) {
    const counts = les.map(() => 0);
    const series = les.map((le) => ({ labels: { __name__: 'h_bucket', job, le }, samples: [] as { t: number; v: number }[] }));
    for (let s = 0; s <= 20 * 60; s += 15) {
      const obs = Math.floor(r() * 6);
      for (let o = 0; o < obs; o++) {
        const val = r() * (job === 'a' ? 3 : 1);
        les.forEach((le, i) => { if (val <= Number(le.replace('+Inf', 'Infinity'))) counts[i]!++; });
      }
      series.forEach((sr, i) => sr.samples.push({ t: base + s * 1000, v: counts[i]! }));
    }
    out.push(...series);
  }
  // Unix times as values, for the calendar functions.
  const dates = [0, -1, 951782400 /* 2000-02-29 */, 1709214330.9, 4102444800 /* 2100-01-01 */, -2208988800 /* 1900 */, 1e11, -62135596801];
  dates.forEach((d, i) => out.push({ labels: { __name__: 'ts_secs', i: String(i) }, samples: [{ t: base + 60_000, v: d }, { t: base + 19 * 60_000, v: d }] }));
  return out;
}

const data = buildData();

function labelsOf(s: OracleSeries): Labels {
  return labelsFromPairs(s.labels);
}

function seriesNamed(name: string): OracleSeries[] {
  return data.filter((s) => s.labels.__name__ === name);
}

/** The instant vector `name` at `ts`: each series' latest sample within the lookback delta. */
function instant(name: string, ts: number): Vector {
  const out: Vector = [];
  for (const s of seriesNamed(name)) {
    const last = s.samples.filter((p) => p.t <= ts && p.t >= ts - lookbackMs).at(-1);
    if (last) out.push({ metric: labelsOf(s), t: last.t, v: last.v });
  }
  return out;
}

/** `fn(before..., name[range], after...)` at `ts`, labelled as the evaluator does. */
function overRange(fn: string, name: string, rangeMs: number, ts: number, pre: number[] = [], post: number[] = []): Vector {
  const out: Vector = [];
  const ctx: FunctionContext = { ts, rangeStart: ts - rangeMs, rangeEnd: ts, args: [] };
  for (const s of seriesNamed(name)) {
    const points = s.samples.filter((p) => p.t >= ts - rangeMs && p.t <= ts).map((p) => ({ t: p.t, v: p.v }));
    if (points.length === 0) continue;
    const res = functions[fn]!([...pre, [{ metric: labelsOf(s), points }], ...post], ctx);
    if (res.length === 0) continue;
    const metric = fn === 'last_over_time' ? labelsOf(s) : labelsOf(s).filter((l) => l.name !== '__name__');
    out.push({ metric, t: ts, v: res[0]!.v });
  }
  return out;
}

const ctxOf = (ts: number, args: Expr[] = []): FunctionContext => ({ ts, rangeStart: 0, rangeEnd: 0, args });
const pos = { start: 0, end: 0 };
const sel = (name: string, eq: Record<string, string>): VectorSelector => ({
  type: 'VectorSelector', name, offset: 0, posRange: pos,
  matchers: [newMatcher(MatchType.Equal, '__name__', name), ...Object.entries(eq).map(([k, v]) => newMatcher(MatchType.Equal, k, v))],
});

type Ours = Vector | { scalar: number };

const nanMixValues = [NaN, NaN, 1, NaN, 1, -2];
const nanMix = nanMixValues.map((v, i) => `label_replace(vector(${v}), "a", "${i + 1}", "", "")`).join(' or ');
const nanMixVector = (ts: number): Vector => nanMixValues.map((v, i) => ({ metric: labelsFromPairs({ a: String(i + 1) }), t: ts, v }));
interface DataCase { q: string; ours: (ts: number) => Ours; ordered?: boolean }

const dataCases: DataCase[] = [];
for (const range of [60_000, 150_000, 300_000]) {
  const r = `${range / 1000}s`;
  for (const fn of ['rate', 'increase', 'delta', 'irate', 'idelta', 'deriv', 'changes', 'resets']) {
    for (const name of ['c_total', 'g']) dataCases.push({ q: `${fn}(${name}[${r}])`, ours: (ts) => overRange(fn, name, range, ts) });
  }
  for (const fn of ['avg_over_time', 'sum_over_time', 'min_over_time', 'max_over_time', 'count_over_time', 'last_over_time', 'present_over_time', 'stddev_over_time', 'stdvar_over_time']) {
    dataCases.push({ q: `${fn}(g[${r}])`, ours: (ts) => overRange(fn, 'g', range, ts) });
  }
  for (const q of [0, 0.3, 0.99, -1, 2]) dataCases.push({ q: `quantile_over_time(${q}, g[${r}])`, ours: (ts) => overRange('quantile_over_time', 'g', range, ts, [q]) });
  dataCases.push({ q: `predict_linear(g[${r}], 600)`, ours: (ts) => overRange('predict_linear', 'g', range, ts, [], [600]) });
  dataCases.push({ q: `holt_winters(g[${r}], 0.3, 0.6)`, ours: (ts) => overRange('holt_winters', 'g', range, ts, [], [0.3, 0.6]) });
}
const simpleFns = ['abs', 'ceil', 'floor', 'exp', 'sqrt', 'ln', 'log2', 'log10', 'sgn', 'sin', 'cos', 'tan', 'asin', 'acos', 'atan', 'sinh', 'cosh', 'tanh', 'asinh', 'acosh', 'atanh', 'deg', 'rad', 'round', 'timestamp'];
for (const fn of simpleFns) dataCases.push({ q: `${fn}(g)`, ours: (ts) => functions[fn]!([instant('g', ts)], ctxOf(ts)) });
dataCases.push(
  { q: 'round(g, 0.3)', ours: (ts) => functions.round!([instant('g', ts), 0.3], ctxOf(ts)) },
  { q: 'clamp(g, -1, 1)', ours: (ts) => functions.clamp!([instant('g', ts), -1, 1], ctxOf(ts)) },
  { q: 'clamp_min(g, 0.5)', ours: (ts) => functions.clamp_min!([instant('g', ts), 0.5], ctxOf(ts)) },
  { q: 'clamp_max(g, 0.5)', ours: (ts) => functions.clamp_max!([instant('g', ts), 0.5], ctxOf(ts)) },
  { q: 'sort(g)', ours: (ts) => functions.sort!([instant('g', ts)], ctxOf(ts)), ordered: true },
  { q: 'sort_desc(c_total)', ours: (ts) => functions.sort_desc!([instant('c_total', ts)], ctxOf(ts)), ordered: true },
  {
    // `or` keeps its operands' order: a=1..5 is the input order sort sees.
    q: `sort_desc(${nanMix})`,
    ours: (ts) => functions.sort_desc!([nanMixVector(ts)], ctxOf(ts)),
    ordered: true,
  },
  { q: `sort(${nanMix})`, ours: (ts) => functions.sort!([nanMixVector(ts)], ctxOf(ts)), ordered: true },
  { q: 'scalar(g{job="a"})', ours: (ts) => ({ scalar: functions.scalar!([instant('g', ts).filter((s) => s.metric.some((l) => l.value === 'a'))], ctxOf(ts))[0]!.v }) },
  { q: 'scalar(g)', ours: (ts) => ({ scalar: functions.scalar!([instant('g', ts)], ctxOf(ts))[0]!.v }) },
  { q: 'time()', ours: (ts) => ({ scalar: functions.time!([], ctxOf(ts))[0]!.v }) },
  { q: 'label_replace(g, "x", "<$1>", "job", "(s)p.*")', ours: (ts) => functions.label_replace!([instant('g', ts), 'x', '<$1>', 'job', '(s)p.*'], ctxOf(ts)) },
  { q: 'label_join(c_total, "y", "-", "job", "__name__", "job")', ours: (ts) => functions.label_join!([instant('c_total', ts), 'y', '-', 'job', '__name__', 'job'], ctxOf(ts)) },
  { q: 'histogram_quantile(0.9, h_bucket)', ours: (ts) => functions.histogram_quantile!([0.9, instant('h_bucket', ts)], ctxOf(ts)) },
  ...[0, 0.25, 0.5, 0.99, 1].map((q) => ({
    q: `histogram_quantile(${q}, rate(h_bucket[2m]))`,
    ours: (ts: number) => functions.histogram_quantile!([q, overRange('rate', 'h_bucket', 120_000, ts)], ctxOf(ts)),
  })),
  { q: 'histogram_count(g)', ours: () => [] },
  { q: 'absent(nope{job="x",env=~"p"})', ours: (ts) => functions.absent!([[]], ctxOf(ts, [sel('nope', { job: 'x' })])) },
  { q: 'absent(g)', ours: (ts) => functions.absent!([instant('g', ts)], ctxOf(ts, [sel('g', {})])) },
  {
    q: 'absent_over_time(nope{job="x"}[1m])',
    ours: (ts) => functions.absent_over_time!([[]], ctxOf(ts, [{ type: 'MatrixSelector', vectorSelector: sel('nope', { job: 'x' }), range: 60_000, posRange: pos }])),
  },
);
for (const fn of ['year', 'month', 'day_of_month', 'day_of_year', 'days_in_month', 'day_of_week', 'hour', 'minute']) {
  dataCases.push({ q: `${fn}(ts_secs)`, ours: (ts) => functions[fn]!([instant('ts_secs', ts)], ctxOf(ts)) });
  dataCases.push({ q: `${fn}()`, ours: (ts) => functions[fn]!([], ctxOf(ts)) });
}

/** Literal-input cases: `fn(vector(x), extra...)`. */
const literalCases: { fn: string; xs: string[]; extra?: string[] }[] = [
  { fn: 'log10', xs: ['0.001', '1e-5', '7', '1e300'] },
  { fn: 'log2', xs: ['3', '1e-310', '0.1'] },
  // Go's amd64 Exp overflows from x ≈ 709.44 on; Sinh and Cosh go through it above 21.
  { fn: 'exp', xs: ['1', '-745.5', '-745.1', '-744.9', '709.7', '709.43', '709.44', '0.5', '-Inf'] },
  { fn: 'sinh', xs: ['709.5', '-709.5', '709.4', '30', '0.3', '-2'] },
  { fn: 'cosh', xs: ['-709.5', '709.4', '30', '0.3'] },
  { fn: 'tanh', xs: ['0.7', '-20', '50'] },
  { fn: 'asinh', xs: ['1e300', '-0.5'] },
  { fn: 'acosh', xs: ['1e300', '1.5'] },
  { fn: 'atanh', xs: ['0.5', '-0.999999'] },
  { fn: 'sin', xs: ['1e22', '3.141592653589793', '1'] },
  { fn: 'tan', xs: ['1.5707963267948966', '2'] },
  { fn: 'round', xs: ['0.15', '-2.5', '1e300'], extra: ['0.1'] },
  { fn: 'round', xs: ['5', '7.5'], extra: ['2'] },
  { fn: 'year', xs: ['NaN', '+Inf', '1e16', '-1e15', '9.3e18', '-9.2233720287e18', '2147483648.7'] },
  { fn: 'day_of_year', xs: ['1e18', '-1e12'] },
  { fn: 'day_of_week', xs: ['1e17', '-86401'] },
  { fn: 'hour', xs: ['-0.9', '1e13'] },
];

function parseValue(s: string): number {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (s === 'NaN') return NaN;
  return Number(s);
}

function close(a: number, b: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (!Number.isFinite(a) || !Number.isFinite(b)) return a === b;
  return Math.abs(a - b) <= 1e-12 * Math.max(Math.abs(a), Math.abs(b)) || Math.abs(a - b) < 1e-300;
}

interface Answer { type: string; result: unknown }

async function query(url: string, q: string, ts: number): Promise<{ ok: true; data: Answer } | { ok: false; errorType: string; error: string }> {
  const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(q)}&time=${new Date(ts).toISOString()}`);
  const body = (await res.json()) as { status: string; data: { resultType: string; result: unknown }; errorType: string; error: string };
  if (body.status !== 'success') return { ok: false, errorType: body.errorType, error: body.error };
  return { ok: true, data: { type: body.data.resultType, result: body.data.result } };
}

function keyOf(m: Record<string, string>): string {
  return JSON.stringify(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : 1)));
}

function compare(q: string, ts: number, theirs: Answer, ours: Ours, ordered: boolean): string[] {
  const bad: string[] = [];
  if ('scalar' in ours) {
    const [, s] = theirs.result as [number, string];
    if (theirs.type !== 'scalar' || !close(parseValue(s), ours.scalar)) bad.push(`${q} @${ts}: scalar ${s} vs ours ${ours.scalar}`);
    return bad;
  }
  const list = theirs.result as { metric: Record<string, string>; value: [number, string] }[];
  const mine = ours.map((s) => ({ key: keyOf(Object.fromEntries(s.metric.map((l) => [l.name, l.value]))), v: s.v }));
  const their = list.map((e) => ({ key: keyOf(e.metric), v: parseValue(e.value[1]) }));
  if (ordered) {
    // Small vectors: Go sorts by insertion, so even the order of ties is defined.
    const seq = (xs: { key: string; v: number }[]) => xs.map((x) => `${x.key}=${x.v}`).join(' ');
    if (seq(mine) !== seq(their)) bad.push(`${q} @${ts}: order ${seq(their)} vs ours ${seq(mine)}`);
  }
  const theirMap = new Map(their.map((t) => [t.key, t.v]));
  if (theirMap.size !== mine.length) bad.push(`${q} @${ts}: ${theirMap.size} series vs ours ${mine.length}: ${[...theirMap.keys()]} / ${mine.map((m) => m.key)}`);
  for (const m of mine) {
    if (!theirMap.has(m.key)) bad.push(`${q} @${ts}: ours has extra ${m.key}`);
    else if (!close(theirMap.get(m.key)!, m.v)) bad.push(`${q} @${ts} ${m.key}: prometheus ${theirMap.get(m.key)} vs ours ${m.v}`);
  }
  return bad;
}

describe('PromQL functions against a real Prometheus 2.42', () => {
  let prom: PrometheusProcess | undefined;
  const skip = requireBinary('prometheus') ? undefined : skipReason('prometheus');

  before(async () => {
    if (skip) return;
    prom = await startPrometheus({ extraArgs: ['--web.enable-remote-write-receiver'] });
    await remoteWrite(prom.url, data);
  });
  after(async () => {
    await prom?.stop();
  });

  // Times chosen around the reset, the late start of c_total{job="b"}, and with odd milliseconds.
  const times = [base + 5 * 60_000, base + 7 * 60_000 + 40_123, base + 10 * 60_000 + 7_777, base + 12 * 60_000 + 1, base + 19 * 60_000 + 59_999];

  it(`${dataCases.length} function calls over loaded data agree at ${times.length} evaluation times`, { timeout: 300_000 }, async (t) => {
    if (skip) return t.skip(skip);
    const bad: string[] = [];
    let compared = 0;
    for (const ts of times) {
      for (const c of dataCases) {
        const theirs = await query(prom!.url, c.q, ts);
        if (!theirs.ok) {
          bad.push(`${c.q} @${ts}: prometheus error ${theirs.error}`);
          continue;
        }
        const ours = c.ours(ts);
        if ('scalar' in ours || ours.length > 0) compared++;
        bad.push(...compare(c.q, ts, theirs.data, ours, c.ordered ?? false));
      }
    }
    assert.deepEqual(bad, []);
    // Most calls must have produced something, or the comparison proves little.
    assert.ok(compared > dataCases.length * times.length * 0.8, `only ${compared} non-empty comparisons`);
  });

  it('functions of literal values agree (Go float conversion and calendar edge cases)', { timeout: 60_000 }, async (t) => {
    if (skip) return t.skip(skip);
    const bad: string[] = [];
    const ts = base;
    for (const c of literalCases) {
      for (const x of c.xs) {
        const q = `${c.fn}(vector(${x})${(c.extra ?? []).map((e) => ', ' + e).join('')})`;
        const theirs = await query(prom!.url, q, ts);
        assert.ok(theirs.ok, q);
        const ours = functions[c.fn]!([[{ metric: [], t: ts, v: parseValue(x) }], ...(c.extra ?? []).map(Number)], ctxOf(ts));
        bad.push(...compare(q, ts, theirs.data, ours, false));
      }
    }
    assert.deepEqual(bad, []);
  });

  const errorCases: { q: string; ours: () => unknown }[] = [
    { q: 'holt_winters(g[1m], 0, 0.5)', ours: () => functions.holt_winters!([[{ metric: [], points: [{ t: 0, v: 1 }] }], 0, 0.5], ctxOf(0)) },
    { q: 'holt_winters(g[1m], 0.5, 1.0078125)', ours: () => functions.holt_winters!([[{ metric: [], points: [{ t: 0, v: 1 }] }], 0.5, 1.0078125], ctxOf(0)) },
    { q: 'holt_winters(g[1m], 1e23, 0.5)', ours: () => functions.holt_winters!([[{ metric: [], points: [{ t: 0, v: 1 }] }], 1e23, 0.5], ctxOf(0)) },
    { q: 'label_replace(g, "x", "y", "job", "a(")', ours: () => functions.label_replace!([[], 'x', 'y', 'job', 'a('], ctxOf(0)) },
    { q: 'label_replace(g, "x", "y", "job", "(?<n>a)")', ours: () => functions.label_replace!([[], 'x', 'y', 'job', '(?<n>a)'], ctxOf(0)) },
    { q: 'label_replace(g, "0x", "y", "job", "a")', ours: () => functions.label_replace!([[], '0x', 'y', 'job', 'a'], ctxOf(0)) },
    { q: 'label_join(g, "x", "-", "a", "b.c")', ours: () => functions.label_join!([[], 'x', '-', 'a', 'b.c'], ctxOf(0)) },
    { q: 'label_join(g, "é", "-", "a")', ours: () => functions.label_join!([[], 'é', '-', 'a'], ctxOf(0)) },
  ];

  it('bad arguments fail with the same execution error text', { timeout: 60_000 }, async (t) => {
    if (skip) return t.skip(skip);
    for (const c of errorCases) {
      const theirs = await query(prom!.url, c.q, base + 5 * 60_000);
      assert.ok(!theirs.ok, `${c.q} should fail in Prometheus`);
      assert.equal(theirs.errorType, 'execution');
      assert.throws(c.ours, (err: unknown) => err instanceof PromQLError && err.errorType === 'execution' && err.message === theirs.error, c.q);
    }
  });
});
