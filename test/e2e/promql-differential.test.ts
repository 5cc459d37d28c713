/**
 * Differential test of the PromQL HTTP API against a real Prometheus
 * (Debian's 2.42) as the oracle.
 *
 * The same remote_write payloads (about 270 series over three hours at
 * 15 s: counters with resets, gauges with gaps and negative values,
 * classic histograms, an info metric, series that go stale, vanish and
 * come back) go to Prometheus (`--web.enable-remote-write-receiver`) and
 * to an in-process Stratus serving remote_write and the API over memory
 * storage. Then several hundred generated requests (instant and range
 * queries across functions, aggregations, binary operators with matching
 * modes and `bool`, offsets, `@`, subqueries; syntax, type and execution
 * errors; bad parameters; series and label listings) go to both, and the
 * JSON answers are compared: same HTTP status, status, errorType and error
 * text; same resultType; same series; same timestamps; values within a
 * relative 1e-5 (absolute 1e-9 near zero; NaN equals NaN). The order of
 * vector elements is compared only for sort() and sort_desc().
 *
 * It prints "agreed N of M" and every disagreement, and fails on any that
 * is not in {@link AllowList} (each entry says why the difference is
 * known and accepted).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { requireBinary, skipReason, startPrometheus, type PrometheusProcess } from './harness/index.ts';
import { remoteWrite, type OracleSeries } from './harness/remote-oracle.ts';
import { HttpServer } from '../../lib/server/http.ts';
import { createMetricsRegistry } from '../../lib/server/metrics.ts';
import { apiRoutes, remoteRoutes } from '../../lib/server/app.ts';
import { Storage } from '../../lib/tsdb/db.ts';
import { MemBucket } from '../../lib/objstore/mem.ts';
import { MemKVStore } from '../../lib/kvstore/mem.ts';
import { nopLogger } from '../../lib/util/logger.ts';
import { prng as mulberry32 } from '../helpers/prng.ts';

/** Start of the data: 2023-11-14T22:00:00Z. */
export const T0 = 1_699_999_200_000;
const Step = 15_000;
/** Samples per series: three hours. */
const N = 720;
const H = 3_600_000;
const M = 60_000;

/** Known, explained differences: request id -> reason. Empty: Stratus must agree on everything. */
const AllowList: ReadonlyMap<string, string> = new Map();

// ---------------------------------------------------------------- data


const StaleNaN = (() => {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setUint32(0, 0x7ff00000);
  dv.setUint32(4, 0x00000002);
  return dv.getFloat64(0);
})();

interface Target {
  job: string;
  instance: string;
  offset: number;
  /** Whether sample k exists (scrape succeeded and the target is up). */
  alive(k: number): boolean;
  /** Sample indexes at which a stale marker is written (the target disappeared). */
  staleAt: ReadonlySet<number>;
  /** Sample index at which the target restarted (counters reset to 0). */
  restartAt?: number;
}

/** The series of the test, each with its samples in time order. */
export function buildData(): OracleSeries[] {
  const rnd = mulberry32(42);
  const out: OracleSeries[] = [];
  const targets: Target[] = [];
  for (const job of ['api', 'web', 'batch']) {
    for (let i = 0; i < 4; i++) {
      const instance = `${job}-${i}:9100`;
      const offset = Math.floor(rnd() * Step);
      let t: Target = { job, instance, offset, alive: () => true, staleAt: new Set() };
      if (job === 'batch' && i === 3) t = { ...t, alive: (k) => k < 480, staleAt: new Set([480]) }; // gone at 2h
      if (job === 'web' && i === 2) t = { ...t, alive: (k) => k < 600 || k >= 640, staleAt: new Set([600]), restartAt: 640 };
      targets.push(t);
    }
  }
  const series = (labels: Record<string, string>, t: Target, value: (k: number) => number | undefined, from = 0): void => {
    const samples: { t: number; v: number }[] = [];
    for (let k = from; k < N; k++) {
      const ts = T0 + t.offset + k * Step;
      if (t.staleAt.has(k)) {
        samples.push({ t: ts, v: StaleNaN });
        continue;
      }
      if (!t.alive(k)) continue;
      const v = value(k);
      if (v !== undefined) samples.push({ t: ts, v });
    }
    out.push({ labels, samples });
  };
  /** A counter: increments of about `rate` per scrape, a random reset now and then, zero after a restart. */
  const counter = (t: Target, rate: number, resetP: number) => {
    let v = rnd() * 1000;
    return (k: number): number => {
      if (k === t.restartAt || rnd() < resetP) v = 0;
      else v += rate * (0.5 + rnd());
      return v;
    };
  };

  for (const t of targets) {
    const base = { job: t.job, instance: t.instance };
    series({ __name__: 'up', ...base }, t, (k) => (t.job === 'batch' && t.instance.startsWith('batch-1') && k >= 300 && k < 330 ? 0 : 1));
    for (const method of ['GET', 'POST']) {
      for (const code of ['200', '404', '500']) {
        const rate = code === '200' ? 40 : code === '404' ? 3 : 0.7;
        const from = t.job === 'api' && t.instance.startsWith('api-1') && code === '500' ? 100 : 0; // a series born mid-way
        series({ __name__: 'http_requests_total', ...base, method, code }, t, counter(t, method === 'GET' ? rate : rate / 3, 0.004), from);
      }
    }
    // A classic histogram: cumulative bucket counters, _sum and _count.
    const les = ['0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '+Inf'];
    const buckets = new Array<number>(les.length).fill(0);
    let sum = 0;
    let lastK = -1;
    const observe = (k: number): void => {
      if (k === lastK) return;
      lastK = k;
      if (k === t.restartAt) {
        buckets.fill(0);
        sum = 0;
      }
      const n = Math.floor(rnd() * 20);
      for (let j = 0; j < n; j++) {
        const x = -Math.log(1 - rnd()) * (t.job === 'batch' ? 1.5 : 0.3);
        sum += x;
        for (let b = 0; b < les.length; b++) if (x <= Number(les[b] === '+Inf' ? Infinity : les[b])) buckets[b]!++;
      }
    };
    const hist: OracleSeries[] = [];
    for (let b = 0; b < les.length; b++) hist.push({ labels: { __name__: 'request_duration_seconds_bucket', ...base, le: les[b]! }, samples: [] });
    hist.push({ labels: { __name__: 'request_duration_seconds_sum', ...base }, samples: [] });
    hist.push({ labels: { __name__: 'request_duration_seconds_count', ...base }, samples: [] });
    for (let k = 0; k < N; k++) {
      const ts = T0 + t.offset + k * Step;
      if (t.staleAt.has(k)) {
        for (const h of hist) h.samples.push({ t: ts, v: StaleNaN });
        continue;
      }
      if (!t.alive(k)) continue;
      observe(k);
      for (let b = 0; b < les.length; b++) hist[b]!.samples.push({ t: ts, v: buckets[b]! });
      hist[les.length]!.samples.push({ t: ts, v: sum });
      hist[les.length + 1]!.samples.push({ t: ts, v: buckets[les.length - 1]! });
    }
    out.push(...hist);
    let mem = 2e8 + rnd() * 1e9;
    series({ __name__: 'memory_usage_bytes', ...base }, t, () => (mem = Math.max(1e8, mem + (rnd() - 0.5) * 5e7)));
    // Gaps longer than the lookback delta on some targets.
    let q = 10;
    series({ __name__: 'queue_length', ...base }, t, (k) => {
      q = Math.max(0, q + Math.round((rnd() - 0.5) * 6));
      return t.instance.endsWith('-0:9100') && k >= 200 && k < 280 ? undefined : q;
    });
    if (t.job === 'web') {
      for (const sensor of ['inlet', 'outlet']) {
        let c = sensor === 'inlet' ? -3 : 40;
        series({ __name__: 'temperature_celsius', ...base, sensor }, t, () => (c += (rnd() - 0.5) * 2));
      }
    }
    if (t.job === 'api') {
      for (const cpu of ['0', '1']) {
        for (const mode of ['idle', 'user', 'system', 'iowait']) {
          const rate = mode === 'idle' ? 12 : mode === 'user' ? 2 : mode === 'system' ? 0.8 : 0.05;
          series({ __name__: 'node_cpu_seconds_total', ...base, cpu, mode }, t, counter(t, rate, 0));
        }
      }
    }
  }
  const infoTarget: Target = { job: 'info', instance: 'x', offset: 0, alive: () => true, staleAt: new Set() };
  for (const [job, region, team] of [['api', 'eu-west-1', 'core'], ['web', 'us-east-1', 'edge'], ['batch', 'eu-west-1', 'data']]) {
    series({ __name__: 'job_info', job: job!, region: region!, team: team! }, infoTarget, () => 1);
  }
  return out;
}

/** Splits the data into remote_write requests of `window` samples' time each, in time order. */
export function batches(data: OracleSeries[], windowMs = 10 * M): OracleSeries[][] {
  const out: OracleSeries[][] = [];
  for (let from = T0; from < T0 + N * Step; from += windowMs) {
    const batch: OracleSeries[] = [];
    for (const s of data) {
      const samples = s.samples.filter((x) => x.t >= from && x.t < from + windowMs);
      if (samples.length > 0) batch.push({ labels: s.labels, samples });
    }
    out.push(batch);
  }
  return out;
}

// ------------------------------------------------------------- requests

/** One API request, sent identically to both servers. */
export interface ApiRequest {
  id: string;
  path: string;
  method: 'GET' | 'POST';
  params: [string, string][];
  /** Vector order matters (sort, sort_desc). */
  ordered?: boolean;
}

const sec = (ms: number) => String(ms / 1000);
const rfc = (ms: number) => new Date(ms).toISOString();

const InstantTimes = [T0 + 47 * M + 13_500, T0 + 90 * M, T0 + 140 * M, T0 + 3 * H + 3 * M, T0 + 3 * H - 1, T0 + 60 * M + 7_250];
const Ranges: [number, number, string][] = [
  [T0, T0 + 3 * H + 10 * M, '300'],
  [T0 + H, T0 + H + 30 * M, '15s'],
  [T0 + 2 * H, T0 + 3 * H + 10 * M, '37'],
  [T0 - 10 * M, T0 + 20 * M, '1m'],
  [T0 + 95 * M, T0 + 155 * M, '90.5'],
];

const counters = [
  'http_requests_total',
  'http_requests_total{job="api"}',
  'http_requests_total{code=~"5..",method="GET"}',
  'node_cpu_seconds_total{mode!="idle"}',
  'request_duration_seconds_count{job=~"web|batch"}',
];
const gauges = ['memory_usage_bytes', 'temperature_celsius', 'queue_length', 'up', 'memory_usage_bytes{job!="batch"}'];
const windows = ['1m', '5m', '15m', '1h'];

/** The expressions to evaluate. */
export function buildExpressions(): string[] {
  const e: string[] = [];
  const T = sec(T0 + 100 * M);
  // Selectors.
  e.push(...counters, ...gauges, 'job_info', '{__name__=~"up|queue_length"}', 'request_duration_seconds_bucket{le="0.5"}', 'nonexistent_metric',
    'up{job=~".*"}', 'http_requests_total{code!~"2..",job!="web"}', 'up{job=""}', '{job="batch",__name__!="up",__name__=~"request.*"}');
  // Range functions over counters.
  const counterFns = ['rate', 'irate', 'increase', 'resets', 'changes'];
  counterFns.forEach((f, i) => counters.forEach((c, j) => {
    e.push(`${f}(${c}[${windows[(i + j) % 4]}])`, `${f}(${c}[${windows[(i + j + 2) % 4]}])`);
  }));
  // Range functions over gauges.
  const gaugeFns = ['delta', 'idelta', 'deriv', 'avg_over_time', 'min_over_time', 'max_over_time', 'sum_over_time', 'count_over_time',
    'last_over_time', 'stddev_over_time', 'stdvar_over_time', 'present_over_time', 'changes'];
  gaugeFns.forEach((f, i) => gauges.forEach((g, j) => e.push(`${f}(${g}[${windows[(i + j) % 4]}])`)));
  e.push('quantile_over_time(0.9, queue_length[10m])', 'quantile_over_time(0, temperature_celsius[5m])', 'quantile_over_time(1.5, up[5m])',
    'quantile_over_time(-1, memory_usage_bytes[5m])', 'predict_linear(memory_usage_bytes[15m], 600)', 'predict_linear(queue_length[1h], -300)',
    'holt_winters(temperature_celsius[10m], 0.3, 0.7)', 'holt_winters(memory_usage_bytes[30m], 0.9, 0.1)', 'absent_over_time(nonexistent[5m])',
    'absent_over_time(up[5m])', 'absent_over_time(nonexistent{job="x",instance=~"a.*"}[5m])', 'absent_over_time(up{job="batch",instance="batch-3:9100"}[10m])');
  // Instant math.
  const math = ['abs', 'ceil', 'floor', 'exp', 'ln', 'log2', 'log10', 'sqrt', 'sgn', 'round', 'deg', 'rad', 'sin', 'cos', 'tan', 'asin', 'acos',
    'atan', 'sinh', 'cosh', 'tanh', 'asinh', 'acosh', 'atanh'];
  math.forEach((f, i) => e.push(`${f}(${gauges[i % 5]})`));
  e.push('exp(temperature_celsius / 10)', 'ln(temperature_celsius)', 'round(temperature_celsius, 0.5)', 'round(memory_usage_bytes, 1e6)',
    'clamp(temperature_celsius, 0, 30)', 'clamp_min(queue_length, 12)', 'clamp_max(queue_length, 8)', 'clamp(queue_length, 10, 0)',
    'timestamp(up)', 'timestamp(rate(http_requests_total[5m]))', 'timestamp(queue_length)');
  // Time and date functions.
  e.push('time()', 'vector(time())', 'minute()', 'hour()', 'day_of_month()', 'day_of_week()', 'days_in_month()', 'month()', 'year()',
    'hour(timestamp(up))', 'minute(up)', 'year(vector(0))', 'days_in_month(vector(1709251200))', 'scalar(up{job="api",instance="api-0:9100"})',
    'scalar(up)', 'vector(scalar(sum(up)))', 'vector(1)', 'scalar(sum(up)) * 2');
  // Aggregations.
  const aggs = ['sum', 'avg', 'min', 'max', 'count', 'group', 'stddev', 'stdvar'];
  const groupings = ['', ' by (job)', ' without (instance)', ' by (job, code)', ' by ()'];
  const inners = ['rate(http_requests_total[5m])', 'memory_usage_bytes', 'temperature_celsius', 'http_requests_total', 'queue_length'];
  aggs.forEach((a, i) => groupings.forEach((g, j) => e.push(`${a}${g}(${inners[(i + j) % inners.length]})`)));
  e.push('topk(3, memory_usage_bytes)', 'bottomk(2, rate(http_requests_total[5m]))', 'topk(1, queue_length) by (job)',
    'bottomk(1, temperature_celsius) by (sensor)', 'topk(0, up)', 'quantile(0.9, memory_usage_bytes)', 'quantile by (job) (0.5, queue_length)',
    'quantile(2, up)', 'count_values("value", up)', 'count_values by (job) ("bucket", floor(temperature_celsius / 10))', 'sum(nonexistent)',
    'topk(scalar(count(job_info)), rate(http_requests_total[5m]))', 'max(temperature_celsius) by (sensor) - min(temperature_celsius) by (sensor)',
    'count by (job) (up == 1)', 'sum without (method, code) (rate(http_requests_total[10m]))', 'avg by (mode) (rate(node_cpu_seconds_total[5m]))');
  // Binary operators.
  e.push('memory_usage_bytes + 1', '2 * http_requests_total', 'queue_length / 0', '-temperature_celsius', 'queue_length % 7', 'temperature_celsius ^ 2',
    '1 - up', 'queue_length > 12', 'queue_length >= bool 12', '12 < queue_length', 'up == bool 1', 'up != 1', 'temperature_celsius atan2 10',
    '0 / 0', '1 / 0', '-1 / 0', '2 ^ 3 ^ 2', '-2 ^ 2', '1 + 2 * 3 - 4 / 5', '5 % 3', '1 == bool 1', '2 > bool 3', '7 % -2', '(1 + 2) * 3',
    'http_requests_total{code="500"} / ignoring(code) http_requests_total{code="200"}',
    'sum by (job) (rate(http_requests_total{code=~"5.."}[5m])) / sum by (job) (rate(http_requests_total[5m]))',
    'memory_usage_bytes * on(job, instance) up', 'up * on(job) group_left(region, team) job_info', 'job_info * on(job) group_right up',
    'rate(http_requests_total[5m]) * on(job) group_left(region) job_info', 'queue_length - on(instance, job) queue_length offset 10m',
    'memory_usage_bytes > on(job, instance) memory_usage_bytes offset 10m', 'memory_usage_bytes > bool on(job, instance) memory_usage_bytes offset 10m',
    'up and on(job) rate(http_requests_total[5m]) > 5', 'up or memory_usage_bytes', 'http_requests_total unless on(code) http_requests_total{code="500"}',
    'up and up{job="api"}', 'vector(1) or up', 'up unless up{instance=~".*-0:9100"}', 'queue_length > 10 and queue_length < 14',
    'sum(up) by (job) / on(job) count(up) by (job)', 'http_requests_total / on(job, instance, method, code) group_left http_requests_total offset 5m',
    'up + ignoring(job) group_left vector(1)', 'count(up) + count(job_info)', 'temperature_celsius < bool 0', '-temperature_celsius > 0');
  // Offsets and @.
  e.push('up offset 5m', `rate(http_requests_total[5m] offset 30m)`, 'sum(queue_length offset -10m)', `up @ ${T}`, 'rate(http_requests_total[5m] @ end())',
    'up @ start()', `max_over_time(queue_length[10m] @ ${T} offset 5m)`, `up offset 1h @ ${T}`, `sum(rate(http_requests_total[1m] @ ${sec(T0 + 30 * M)}))`,
    `timestamp(up @ ${sec(T0 + 30 * M + 500)})`, 'memory_usage_bytes - memory_usage_bytes offset 1h');
  // Subqueries.
  e.push('max_over_time(rate(http_requests_total[5m])[30m:1m])', 'avg_over_time(queue_length[1h:5m])', 'rate(http_requests_total{job="web"}[5m])[10m:]',
    'min_over_time(sum by (job) (rate(http_requests_total[1m]))[15m:30s] offset 5m)', 'deriv(memory_usage_bytes[10m:1m])',
    `sum_over_time(up[20m:2m] @ ${T})`, 'max_over_time(max_over_time(temperature_celsius[5m])[20m:5m])', 'queue_length[30m:7m]',
    'count_over_time(up[1h:])', 'rate(request_duration_seconds_count[5m:30s])');
  // Labels.
  e.push('label_replace(up, "foo", "$1", "job", "(.*)")', 'label_replace(up, "job", "x-$1", "instance", "(.+)-.*")', 'label_replace(up, "a", "b", "job", "nomatch")',
    'label_join(up, "new", "-", "job", "instance")', 'label_join(up, "job", ",", "instance")', 'label_join(job_info, "x", "", "team", "region")',
    'label_replace(rate(http_requests_total[5m]), "code_class", "${1}xx", "code", "(.).*")');
  // Histograms.
  e.push('histogram_quantile(0.9, sum by (le, job) (rate(request_duration_seconds_bucket[5m])))', 'histogram_quantile(0.5, request_duration_seconds_bucket)',
    'histogram_quantile(0, rate(request_duration_seconds_bucket[10m]))', 'histogram_quantile(1, sum by (le) (rate(request_duration_seconds_bucket[5m])))',
    'histogram_quantile(1.5, request_duration_seconds_bucket{job="api"})', 'histogram_quantile(0.99, rate(request_duration_seconds_bucket[1m]))',
    'rate(request_duration_seconds_sum[5m]) / rate(request_duration_seconds_count[5m])');
  // Misc.
  e.push('absent(nonexistent{job="x"})', 'absent(up)', 'absent(sum(nonexistent))', 'absent(nonexistent{job=~"x.*"})', 'sort(queue_length)',
    'sort_desc(rate(http_requests_total{job="api"}[5m]))', 'sort(up)', '"hello"', '1', '-1.5e-9', 'Inf', '-Inf', 'NaN', '0x1F', '1e21', '3.14159');
  // Errors: syntax and types.
  e.push('sum(', 'up{', 'up{job=}', '1 +', 'foo bar', 'rate(up)', 'sum(up[5m])', 'up[5m] + 1', 'nonexistent_function(up)', 'up[5m', 'up offset',
    'topk(up)', 'label_replace(up)', '1 > 2', 'up == bool', '{}', '{job=""}', '{job=~".*"}', 'up[5m][5m]', 'rate(up[5m])[5m]', 'up @ foo',
    'sum by (job) up', '"str" + 1', 'count_values(1, up)', 'quantile("a", up)', 'time(1)', 'up{__name__="x"}', 'up[1h:5m:1m]', '1 and 2',
    'up and 1', 'up + on(job) 1', '-"a"', ')', 'up{job="a" job="b"}', 'rate(up[5x])', 'up[0s]', '', 'holt_winters(up[5m], 2, 0.5)',
    'sort(1)', 'histogram_quantile(up, up)', 'up[5m] offset 1h @', 'abs(up, up)', '1 + bool 2', 'up unless on(job) group_left up');
  // Errors: execution.
  e.push('http_requests_total + on(job) http_requests_total', 'abs({__name__=~"memory_usage_bytes|queue_length"})',
    'label_replace(up, "instance", "", "instance", ".*")', 'label_replace(up, "", "x", "job", ".*")', 'label_replace(up, "a", "b", "job", "(")',
    'up * on(job) group_left http_requests_total', 'http_requests_total * on(job, instance) group_right up', 'job_info + ignoring(region, team) job_info');
  return e;
}

/** Every request: each expression as an instant and a range query, plus parameter errors and listings. */
export function buildRequests(): ApiRequest[] {
  const reqs: ApiRequest[] = [];
  buildExpressions().forEach((q, i) => {
    const ordered = /^sort(_desc)?\(/.test(q);
    const t = InstantTimes[i % InstantTimes.length]!;
    const method = i % 3 === 0 ? 'GET' : 'POST';
    reqs.push({ id: `instant#${i} ${q}`, path: '/api/v1/query', method, ordered, params: [['query', q], ['time', i % 5 === 0 ? rfc(t) : sec(t)]] });
    const [s, en, step] = Ranges[i % Ranges.length]!;
    reqs.push({ id: `range#${i} ${q}`, path: '/api/v1/query_range', method, params: [['query', q], ['start', sec(s)], ['end', i % 4 === 0 ? rfc(en) : sec(en)], ['step', step]] });
  });
  const p = (id: string, path: string, params: [string, string][]): ApiRequest => ({ id, path, method: 'GET', params });
  const q = '/api/v1/query';
  const r = '/api/v1/query_range';
  const s0 = sec(T0);
  const s1 = sec(T0 + H);
  reqs.push(
    p('param: bad time', q, [['query', 'up'], ['time', 'yesterday']]),
    p('param: bad rfc3339 time', q, [['query', 'up'], ['time', '2023-11-14T25:00:00Z']]),
    p('param: bad timeout', q, [['query', 'up'], ['time', s1], ['timeout', '5 minutes']]),
    p('param: missing query', q, [['time', s1]]),
    p('param: time with fraction', q, [['query', 'timestamp(vector(1))'], ['time', '1700003600.1234']]),
    p('param: rfc3339 with offset', q, [['query', 'time()'], ['time', '2023-11-15T01:30:00.5+02:00']]),
    p('param: missing start', r, [['query', 'up'], ['end', s1], ['step', '60']]),
    p('param: missing end', r, [['query', 'up'], ['start', s0], ['step', '60']]),
    p('param: bad start', r, [['query', 'up'], ['start', 'x'], ['end', s1], ['step', '60']]),
    p('param: end before start', r, [['query', 'up'], ['start', s1], ['end', s0], ['step', '60']]),
    p('param: missing step', r, [['query', 'up'], ['start', s0], ['end', s1]]),
    p('param: bad step', r, [['query', 'up'], ['start', s0], ['end', s1], ['step', 'often']]),
    p('param: zero step', r, [['query', 'up'], ['start', s0], ['end', s1], ['step', '0']]),
    p('param: negative step', r, [['query', 'up'], ['start', s0], ['end', s1], ['step', '-15']]),
    p('param: too many points', r, [['query', 'up'], ['start', s0], ['end', s1], ['step', '0.3']]),
    p('param: exactly 11000 points', r, [['query', 'vector(1)'], ['start', s0], ['end', sec(T0 + 11_000_000)], ['step', '1']]),
    p('param: duration step', r, [['query', 'sum(up)'], ['start', s0], ['end', s1], ['step', '5m']]),
    p('param: bad timeout range', r, [['query', 'up'], ['start', s0], ['end', s1], ['step', '60'], ['timeout', 'x']]),
    p('param: start equals end', r, [['query', 'sum(up)'], ['start', s1], ['end', s1], ['step', '60']]),
    p('param: step overflows', r, [['query', 'up'], ['start', s0], ['end', s1], ['step', '1e10']]),
    p('param: range query of a string', r, [['query', '"a"'], ['start', s0], ['end', s1], ['step', '60']]),
    p('param: sub-millisecond step', r, [['query', 'up'], ['start', s1], ['end', s1], ['step', '0.0001']]),
    p('param: time as exponent', q, [['query', 'sum(up)'], ['time', '1.7000036e9']]),
    // Prometheus ignores max_source_resolution; raw data is all there is, so answers must not change.
    p('param: max_source_resolution=5m', r, [['query', 'sum by (job) (rate(http_requests_total[5m]))'], ['start', s0], ['end', s1], ['step', '60'], ['max_source_resolution', '5m']]),
    p('param: max_source_resolution=raw', q, [['query', 'avg_over_time(queue_length[1h])'], ['time', s1], ['max_source_resolution', 'raw']]),
  );
  const seriesReqs: [string, string, [string, string][]][] = [
    ['series: up', '/api/v1/series', [['match[]', 'up']]],
    ['series: two matchers', '/api/v1/series', [['match[]', 'up{job="api"}'], ['match[]', 'job_info'], ['match[]', 'up']]],
    ['series: time range', '/api/v1/series', [['match[]', 'http_requests_total{job="batch"}'], ['start', s0], ['end', sec(T0 + 3 * H)]]],
    ['series: regex on name', '/api/v1/series', [['match[]', '{__name__=~"node_cpu.*",cpu="1"}']]],
    ['series: no match[]', '/api/v1/series', []],
    ['series: empty matcher', '/api/v1/series', [['match[]', '{job=~".*"}']]],
    ['series: bad selector', '/api/v1/series', [['match[]', 'up{']]],
    ['series: bad start', '/api/v1/series', [['match[]', 'up'], ['start', 'then']]],
    ['labels: all', '/api/v1/labels', []],
    ['labels: matched', '/api/v1/labels', [['match[]', 'temperature_celsius'], ['match[]', 'job_info']]],
    ['labels: bad end', '/api/v1/labels', [['end', 'soon']]],
    ['labels: bad selector', '/api/v1/labels', [['match[]', '{']]],
    ['label values: __name__', '/api/v1/label/__name__/values', []],
    ['label values: job', '/api/v1/label/job/values', []],
    ['label values: instance matched', '/api/v1/label/instance/values', [['match[]', 'up{job="web"}']]],
    ['label values: le', '/api/v1/label/le/values', [['start', s0], ['end', sec(T0 + 3 * H)]]],
    ['label values: unknown', '/api/v1/label/nothing/values', []],
    ['label values: invalid name', '/api/v1/label/not-valid/values', []],
    ['metadata', '/api/v1/metadata', []],
    ['metadata: bad limit', '/api/v1/metadata', [['limit', 'x']]],
    ['exemplars', '/api/v1/query_exemplars', [['query', 'up'], ['start', s0], ['end', s1]]],
    ['exemplars: bad query', '/api/v1/query_exemplars', [['query', 'up{'], ['start', s0], ['end', s1]]],
    ['exemplars: end before start', '/api/v1/query_exemplars', [['query', 'up'], ['start', s1], ['end', s0]]],
    ['rules', '/api/v1/rules', []],
    ['rules: bad type', '/api/v1/rules', [['type', 'Other']]],
    ['alerts', '/api/v1/alerts', []],
    ['unknown endpoint', '/api/v1/nothing', []],
  ];
  for (const [id, path, params] of seriesReqs) reqs.push(p(id, path, params));
  return reqs;
}

// ------------------------------------------------------------ comparing

/** What a server answered. */
export interface Answer {
  status: number;
  contentType: string;
  text: string;
  json?: any;
}

export async function send(base: string, r: ApiRequest): Promise<Answer> {
  const qs = new URLSearchParams(r.params).toString();
  const res =
    r.method === 'GET'
      ? await fetch(`${base}${r.path}${qs === '' ? '' : '?' + qs}`, { signal: AbortSignal.timeout(60_000) })
      : await fetch(`${base}${r.path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: qs,
          signal: AbortSignal.timeout(60_000),
        });
  const text = await res.text();
  let json: any;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text, json };
}

function num(s: string): number {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  return Number(s); // "NaN" -> NaN
}

/** Values within 1e-5 relative (1e-9 absolute near zero); NaN equals NaN. */
export function close(a: string, b: string): boolean {
  if (a === b) return true;
  const x = num(a);
  const y = num(b);
  if (Number.isNaN(x) || Number.isNaN(y)) return Number.isNaN(x) && Number.isNaN(y);
  if (!Number.isFinite(x) || !Number.isFinite(y)) return x === y;
  const d = Math.abs(x - y);
  return d <= 1e-9 || d <= 1e-5 * Math.max(Math.abs(x), Math.abs(y));
}

function keyOf(metric: Record<string, string>): string {
  return JSON.stringify(Object.entries(metric).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function comparePoint(where: string, p: [number, string], q: [number, string]): string | undefined {
  if (p[0] !== q[0]) return `${where}: time ${p[0]} vs ${q[0]}`;
  if (!close(p[1], q[1])) return `${where}: value ${p[1]} vs ${q[1]} at ${p[0]}`;
  return undefined;
}

/** Compares the `data` of two successful answers; returns the first difference. */
function compareData(path: string, ours: any, theirs: any, ordered: boolean): string | undefined {
  if (!path.startsWith('/api/v1/query') || path.endsWith('exemplars')) {
    // Listings: series as sets of label sets, names and values as sorted arrays, the rest as is.
    if (path.endsWith('/series')) {
      const a = (ours as Record<string, string>[]).map(keyOf).sort();
      const b = (theirs as Record<string, string>[]).map(keyOf).sort();
      return JSON.stringify(a) === JSON.stringify(b) ? undefined : `series differ: ${a.length} vs ${b.length}: ${diffSets(a, b)}`;
    }
    return JSON.stringify(ours) === JSON.stringify(theirs) ? undefined : `data ${JSON.stringify(ours).slice(0, 300)} vs ${JSON.stringify(theirs).slice(0, 300)}`;
  }
  if (ours.resultType !== theirs.resultType) return `resultType ${ours.resultType} vs ${theirs.resultType}`;
  switch (theirs.resultType) {
    case 'scalar':
      return comparePoint('scalar', ours.result, theirs.result);
    case 'string':
      return JSON.stringify(ours.result) === JSON.stringify(theirs.result) ? undefined : `string ${JSON.stringify(ours.result)} vs ${JSON.stringify(theirs.result)}`;
    case 'vector': {
      const a = ours.result as { metric: Record<string, string>; value: [number, string] }[];
      const b = theirs.result as typeof a;
      const ka = a.map((s) => keyOf(s.metric));
      const kb = b.map((s) => keyOf(s.metric));
      if (JSON.stringify([...ka].sort()) !== JSON.stringify([...kb].sort())) return `vector series differ (${a.length} vs ${b.length}): ${diffSets(ka, kb)}`;
      const mb = new Map(b.map((s, i) => [kb[i]!, s.value]));
      for (let i = 0; i < a.length; i++) {
        const d = comparePoint(ka[i]!, a[i]!.value, mb.get(ka[i]!)!);
        if (d !== undefined) return d;
        if (ordered && !close(a[i]!.value[1], b[i]!.value[1])) return `order differs at ${i}: ${a[i]!.value[1]} vs ${b[i]!.value[1]}`;
      }
      return undefined;
    }
    case 'matrix': {
      const a = ours.result as { metric: Record<string, string>; values?: [number, string][] }[];
      const b = theirs.result as typeof a;
      const ka = a.map((s) => keyOf(s.metric));
      const kb = b.map((s) => keyOf(s.metric));
      if (JSON.stringify([...ka].sort()) !== JSON.stringify([...kb].sort())) return `matrix series differ (${a.length} vs ${b.length}): ${diffSets(ka, kb)}`;
      if (JSON.stringify(ka) !== JSON.stringify(kb)) return 'matrix series in a different order';
      for (let i = 0; i < a.length; i++) {
        const pa = a[i]!.values ?? [];
        const pb = b[i]!.values ?? [];
        if (pa.length !== pb.length) return `${ka[i]}: ${pa.length} vs ${pb.length} points; first times ${pa[0]?.[0]} vs ${pb[0]?.[0]}`;
        for (let j = 0; j < pa.length; j++) {
          const d = comparePoint(ka[i]!, pa[j]!, pb[j]!);
          if (d !== undefined) return d;
        }
      }
      return undefined;
    }
  }
  return `unknown resultType ${theirs.resultType}`;
}

function diffSets(a: string[], b: string[]): string {
  const sa = new Set(a);
  const sb = new Set(b);
  const onlyA = a.filter((x) => !sb.has(x)).slice(0, 3);
  const onlyB = b.filter((x) => !sa.has(x)).slice(0, 3);
  return `only ours ${JSON.stringify(onlyA)}, only Prometheus' ${JSON.stringify(onlyB)}`;
}

/** Compares two answers; returns the first difference, or undefined when they agree. */
export function compareAnswers(r: ApiRequest, ours: Answer, theirs: Answer): string | undefined {
  if (ours.status !== theirs.status) return `HTTP ${ours.status} vs ${theirs.status}: ${ours.text.slice(0, 300)} | ${theirs.text.slice(0, 300)}`;
  if (theirs.json === undefined || ours.json === undefined) {
    return ours.text === theirs.text ? undefined : `body ${JSON.stringify(ours.text.slice(0, 200))} vs ${JSON.stringify(theirs.text.slice(0, 200))}`;
  }
  if (ours.contentType !== theirs.contentType) return `content-type ${ours.contentType} vs ${theirs.contentType}`;
  const a = ours.json;
  const b = theirs.json;
  if (a.status !== b.status) return `status ${a.status} vs ${b.status}: ${a.error ?? ''} | ${b.error ?? ''}`;
  if (b.status === 'error') {
    if (a.errorType !== b.errorType) return `errorType ${a.errorType} vs ${b.errorType}: ${a.error} | ${b.error}`;
    if (a.error !== b.error) return `error text:\n      ours: ${a.error}\n      prom: ${b.error}`;
    return undefined;
  }
  if (JSON.stringify(a.warnings ?? []) !== JSON.stringify(b.warnings ?? [])) return `warnings ${JSON.stringify(a.warnings)} vs ${JSON.stringify(b.warnings)}`;
  return compareData(r.path, a.data, b.data, r.ordered === true);
}

/** What kind of answer Prometheus gave: data, an empty result, or an error. */
function kindOf(a: Answer): 'data' | 'empty' | 'error' {
  if (a.json?.status !== 'success') return 'error';
  const d = a.json.data;
  if (d === undefined) return 'empty';
  if (Array.isArray(d)) return d.length > 0 ? 'data' : 'empty';
  if (Array.isArray(d.result) && (d.resultType === 'vector' || d.resultType === 'matrix')) return d.result.length > 0 ? 'data' : 'empty';
  return 'data';
}

// ----------------------------------------------------------------- test

async function startStratusWithApi(): Promise<{ url: string; close(): Promise<void> }> {
  const { Engine } = await import('../../lib/promql/index.ts');
  const storage = new Storage({ bucket: new MemBucket(), kv: new MemKVStore() });
  const registry = createMetricsRegistry({ defaultMetrics: false });
  const server = new HttpServer({
    listenAddress: '127.0.0.1:0',
    registry,
    routes: [...remoteRoutes({ storage, registry, logger: nopLogger }), ...apiRoutes({ storage, engine: new Engine(), registry, logger: nopLogger })],
  });
  const { port } = await server.listen();
  server.setReady(true);
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      await server.shutdown(5000);
      await storage.close();
    },
  };
}

describe('PromQL HTTP API: Stratus vs a real Prometheus', () => {
  it('answers hundreds of generated requests as Prometheus does', { timeout: 900_000 }, async (t) => {
    if (!requireBinary('prometheus')) return t.skip(skipReason('prometheus'));
    // Prepare
    const data = buildData();
    const requests = buildRequests();
    assert.ok(requests.length >= 500, `only ${requests.length} requests`);
    let prom: PrometheusProcess | undefined;
    let stratus: { url: string; close(): Promise<void> } | undefined;
    try {
      [prom, stratus] = await Promise.all([startPrometheus({ extraArgs: ['--web.enable-remote-write-receiver'] }), startStratusWithApi()]);
      let samples = 0;
      for (const batch of batches(data)) {
        await Promise.all([remoteWrite(prom.url, batch), remoteWrite(stratus.url, batch)]);
        for (const s of batch) samples += s.samples.length;
      }
      t.diagnostic(`wrote ${data.length} series, ${samples} samples to both`);

      // Act
      const disagreements: { id: string; diff: string; allowed?: string }[] = [];
      let agreed = 0;
      const kinds = { data: 0, empty: 0, error: 0 };
      for (const r of requests) {
        const [ours, theirs] = await Promise.all([send(stratus.url, r), send(prom.url, r)]);
        kinds[kindOf(theirs)]++;
        const diff = compareAnswers(r, ours, theirs);
        if (diff === undefined) agreed++;
        else disagreements.push({ id: r.id, diff, allowed: AllowList.get(r.id) });
      }

      // Assess
      const summary = `agreed ${agreed} of ${requests.length} (Prometheus answered ${kinds.data} with data, ${kinds.empty} empty, ${kinds.error} errors)`;
      t.diagnostic(summary);
      console.log(summary);
      // The comparison only means something if most answers carry data and the errors are a minority.
      assert.ok(kinds.data >= requests.length * 0.6, `only ${kinds.data} answers with data`);
      assert.ok(kinds.error >= 100 && kinds.error <= requests.length * 0.3, `${kinds.error} errors`);
      for (const d of disagreements) console.log(`${d.allowed === undefined ? 'DISAGREE' : 'ALLOWED'} ${d.id}\n    ${d.diff}${d.allowed ? `\n    (allowed: ${d.allowed})` : ''}`);
      const failing = disagreements.filter((d) => d.allowed === undefined);
      assert.equal(failing.length, 0, `${failing.length} disagreements with Prometheus (see the list above)`);
    } finally {
      await stratus?.close();
      await prom?.stop();
    }
  });
});
