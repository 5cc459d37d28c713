/**
 * After a replay: read back what the server stored and compare it with what
 * was sent, per metric name, by series count, sample count and the
 * order-free checksum of {@link sampleHash}.
 *
 * Stratus and Prometheus are read with remote_read (our own client);
 * VictoriaMetrics, which has no remote_read, through its `/api/v1/export`.
 */
import { remoteRead } from '../../lib/remote/client.ts';
import { MatcherType, ResponseType } from '../../lib/prompb/types.ts';
import type { PayloadIndex } from './payloads.ts';
import { sampleHash, seriesHash } from './payloads.ts';
import { TargetName } from './server.ts';
import type { BenchLabel } from './node-exporter.ts';

/** What was read back for one metric name. */
export interface MetricCheck {
  metric: string;
  series: number;
  samples: number;
  checksum: number;
  expected: { series: number; samples: number; checksum: number };
  /** Counts and checksum all equal. */
  exact: boolean;
}

/** What a verification found. */
export interface VerifyResult {
  /** The sampled metric, read with remote_read SAMPLES (export for VictoriaMetrics). */
  sampled: MetricCheck;
  /** Per-metric reads over every metric name, until the time budget ran out. */
  broad: {
    metricsChecked: number;
    metricsTotal: number;
    samples: number;
    expectedSamples: number;
    mismatched: string[];
    seconds: number;
    complete: boolean;
  };
}

interface Accum {
  series: number;
  samples: number;
  checksum: number;
}

function add(acc: Accum, labels: readonly BenchLabel[], ts: ArrayLike<number>, vs: ArrayLike<number>): void {
  const sh = seriesHash(labels);
  acc.series++;
  acc.samples += ts.length;
  for (let i = 0; i < ts.length; i++) acc.checksum = (acc.checksum + sampleHash(sh, ts[i]!, vs[i]!)) >>> 0;
}

async function readMetric(kind: string, base: string, index: PayloadIndex, metric: string, responseType: number, signal?: AbortSignal): Promise<Accum> {
  const acc: Accum = { series: 0, samples: 0, checksum: 0 };
  if (kind === TargetName.VICTORIAMETRICS) {
    const q = new URLSearchParams({
      'match[]': `{__name__=${JSON.stringify(metric)}}`,
      start: String((index.minT - 1) / 1000),
      end: String((index.maxT + 1) / 1000),
    });
    const res = await fetch(`${base}/api/v1/export?${q}`, { signal });
    if (!res.ok) throw new Error(`export ${metric}: HTTP ${res.status}: ${await res.text()}`);
    const text = await res.text();
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const row = JSON.parse(line) as { metric: Record<string, string>; values: number[]; timestamps: number[] };
      const labels = Object.entries(row.metric)
        .map(([name, value]) => ({ name, value }))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      add(acc, labels, row.timestamps, row.values);
    }
    return acc;
  }
  const { results } = await remoteRead(
    `${base}/api/v1/read`,
    [{ startTimestampMs: index.minT, endTimestampMs: index.maxT, matchers: [{ type: MatcherType.EQ, name: '__name__', value: metric }] }],
    responseType,
    { signal },
  );
  for (const s of results[0] ?? []) add(acc, s.labels, s.timestamps, s.values);
  return acc;
}

function check(metric: string, got: Accum, index: PayloadIndex): MetricCheck {
  const e = index.metrics[metric] ?? { series: 0, samples: 0, checksum: 0 };
  return {
    metric,
    ...got,
    expected: { series: e.series, samples: e.samples, checksum: e.checksum },
    exact: got.series === e.series && got.samples === e.samples && got.checksum === e.checksum,
  };
}

/** Forces VictoriaMetrics to make recent writes searchable (no-op for the others). */
export async function flushIfNeeded(kind: string, base: string): Promise<void> {
  if (kind !== TargetName.VICTORIAMETRICS) return;
  const res = await fetch(`${base}/internal/force_flush`);
  await res.arrayBuffer();
}

/**
 * Reads back `sampledMetric` in full (SAMPLES), then every metric name one
 * query at a time (STREAMED_XOR_CHUNKS) until `budgetMs` is spent.
 */
export async function verify(kind: string, base: string, index: PayloadIndex, sampledMetric: string, budgetMs: number): Promise<VerifyResult> {
  await flushIfNeeded(kind, base);
  const sampled = check(sampledMetric, await readMetric(kind, base, index, sampledMetric, ResponseType.SAMPLES), index);

  const names = Object.keys(index.metrics);
  const t0 = performance.now();
  const broad: VerifyResult['broad'] = {
    metricsChecked: 0,
    metricsTotal: names.length,
    samples: 0,
    expectedSamples: index.samples,
    mismatched: [],
    seconds: 0,
    complete: false,
  };
  const signal = AbortSignal.timeout(budgetMs);
  try {
    for (const name of names) {
      const c = check(name, await readMetric(kind, base, index, name, ResponseType.STREAMED_XOR_CHUNKS, signal), index);
      broad.metricsChecked++;
      broad.samples += c.samples;
      if (!c.exact) broad.mismatched.push(name);
    }
    broad.complete = true;
  } catch (err) {
    if (!signal.aborted) throw err;
  }
  broad.seconds = (performance.now() - t0) / 1000;
  return { sampled, broad };
}
