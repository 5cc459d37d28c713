/**
 * The servers of the query benchmark and how they are loaded and asked:
 * Stratus with in-process compaction off (so none runs while queries are
 * timed) and the admin API on (so the benchmark can compact on demand),
 * Prometheus 2.42 with the remote-write receiver and an out-of-order window
 * wide enough for the payload's concurrent shards (the head moves on while
 * a lagging shard still sends older samples), both on fresh data
 * directories. Queries are timed on the client from the request to the
 * last byte of the answer, together with the server's CPU time.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { processCpuSeconds } from './proc.ts';
import type { Payloads } from './payloads.ts';
import type { RangeAnswer } from './query-compare.ts';
import { replay } from './replay.ts';
import { target, TargetName, type RunningServer, type Target } from './server.ts';

/** Stratus as the query benchmark runs it. */
export function stratusTarget(): Target {
  const t = target(TargetName.STRATUS);
  return {
    ...t,
    // The shared launcher may already set these (bench/lib/server.ts is shared): set them once.
    args: (port, runDir, dataDir, prof) => [
      ...t.args(port, runDir, dataDir, prof).filter((a) => !/^--(compact\.interval|web\.enable-admin-api)\b/.test(a)),
      '--compact.interval=0s',
      '--web.enable-admin-api',
    ],
  };
}

/** Prometheus' config for the benchmark: a 100-year out-of-order window. */
export const PrometheusConfig = [
  'global:',
  '  scrape_interval: 15s',
  '  evaluation_interval: 1m',
  'scrape_configs: []',
  'storage:',
  '  tsdb:',
  '    out_of_order_time_window: 100y',
  '',
].join('\n');

/** Prometheus as the query benchmark runs it (undefined binary when not installed). */
export function prometheusTarget(): Target {
  const t = target(TargetName.PROMETHEUS);
  return { ...t, prepare: (runDir) => writeFile(join(runDir, 'prometheus.yml'), PrometheusConfig) };
}

/** Sends every payload request; throws unless every one was accepted. */
export async function load(server: RunningServer, t: Target, p: Payloads, log: (m: string) => void): Promise<{ seconds: number; samples: number }> {
  const rr = await replay({
    url: server.url + t.writePath,
    bodies: p.bodies,
    samplesPerRequest: p.index.samplesPerRequest,
    shardOfRequest: p.index.shardOfRequest,
    onProgress: (done) => log(`  ${t.name}: ${done}/${p.bodies.length} requests`),
    progressEvery: Math.max(100, Math.ceil(p.bodies.length / 4)),
  });
  if (rr.failed > 0 || rr.skipped > 0) {
    throw new Error(`${t.name}: ${rr.failed} requests failed, ${rr.skipped} skipped: ${JSON.stringify(rr.failures)} ${rr.firstFailure ?? ''}`);
  }
  return { seconds: rr.wallSeconds, samples: rr.acceptedSamples };
}

/**
 * Waits until the server's CPU time stops moving (deferred work after a
 * load: Prometheus' head compaction, LevelDB compaction, GC): quiet for
 * `quietMs`, at most `maxMs`. Returns the seconds waited.
 */
export async function waitQuiet(pid: number, maxMs: number, quietMs = 2000): Promise<number> {
  const t0 = performance.now();
  let last = processCpuSeconds(pid);
  let quietSince = performance.now();
  while (performance.now() - t0 < maxMs) {
    await sleep(250);
    const c = processCpuSeconds(pid);
    if (c - last > 0.02) {
      last = c;
      quietSince = performance.now();
    } else if (performance.now() - quietSince >= quietMs) {
      break;
    }
  }
  return (performance.now() - t0) / 1000;
}

/** One timed request. */
export interface Timed {
  /** Client wall time, request sent to answer fully read, ms. */
  ms: number;
  /** Server CPU time (user + system, all threads) over the request, ms; 10 ms granularity. */
  cpuMs: number;
  status: number;
  bytes: number;
  body: string;
}

/** POSTs a query_range form to `server` and times it. */
export async function timedRangeQuery(server: RunningServer, form: URLSearchParams, timeoutMs: number): Promise<Timed> {
  const cpu0 = processCpuSeconds(server.pid);
  const t0 = performance.now();
  const res = await fetch(`${server.url}/api/v1/query_range`, {
    method: 'POST',
    body: form,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = await res.text();
  const ms = performance.now() - t0;
  const cpuMs = (processCpuSeconds(server.pid) - cpu0) * 1000;
  return { ms, cpuMs, status: res.status, bytes: Buffer.byteLength(body), body };
}

/** Parses an answer body; a body that is not JSON becomes an error answer. */
export function parseAnswer(t: Timed): RangeAnswer {
  try {
    return JSON.parse(t.body) as RangeAnswer;
  } catch {
    return { status: 'error', errorType: `HTTP ${t.status}`, error: t.body.slice(0, 200) };
  }
}

/** POSTs to Stratus' admin compaction endpoint (every window, now) and waits for its answer. */
export async function compactNow(server: RunningServer): Promise<{ seconds: number; answer: string }> {
  const t0 = performance.now();
  const res = await fetch(`${server.url}/api/v1/admin/compact?force=true`, { method: 'POST', signal: AbortSignal.timeout(1_800_000) });
  const answer = await res.text();
  if (res.status !== 200) throw new Error(`compaction: HTTP ${res.status}: ${answer.slice(0, 500)}`);
  return { seconds: (performance.now() - t0) / 1000, answer };
}

/**
 * Prometheus' count of TSDB compactions so far (`prometheus_tsdb_compactions_total`
 * from its /metrics), to tell whether one ran while queries were timed.
 */
export async function prometheusCompactions(server: RunningServer): Promise<number> {
  const res = await fetch(`${server.url}/metrics`, { signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  const m = /^prometheus_tsdb_compactions_total\s+(\S+)$/m.exec(text);
  return m ? Number(m[1]) : NaN;
}
