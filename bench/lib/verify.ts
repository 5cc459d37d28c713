/**
 * After a replay: read back what the server stored and compare it with what
 * was sent, per metric name, by series count, sample count and the
 * order-free checksum of {@link sampleHash}.
 *
 * Stratus and Prometheus are read with remote_read (our own client);
 * VictoriaMetrics, which has no remote_read, through its `/api/v1/export`.
 */
import { remoteRead } from '../../lib/remote/client.ts';
import { decodeChunkedReadResponse, encodeReadRequest } from '../../lib/prompb/read.ts';
import { readFrames } from '../../lib/prompb/frames.ts';
import { snappyEncode } from '../../lib/prompb/snappy.ts';
import { MatcherType, ResponseType, type Query } from '../../lib/prompb/types.ts';
import { XORChunk } from '../../lib/chunkenc/xor.ts';
import { Encoding } from '../../lib/chunkenc/chunk.ts';
import { SampleBuffer } from '../../lib/storage/sample-buffer.ts';
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
  /** Series and sample counts equal. */
  countsEqual: boolean;
  /** Counts and checksum all equal (every value bit-exact). */
  exact: boolean;
}

/** What a verification found. */
export interface VerifyResult {
  /** The sampled metric, read with remote_read SAMPLES (export for VictoriaMetrics). */
  sampled: MetricCheck;
  /** One read of everything (`{job="node"}`), compared per metric name; incomplete if the time budget ran out. */
  broad: {
    metricsChecked: number;
    metricsTotal: number;
    samples: number;
    expectedSamples: number;
    /** Metrics whose series or sample counts differ. */
    mismatched: string[];
    /** Metrics with equal counts but different timestamps or values. */
    valuesDiffer: string[];
    seconds: number;
    complete: boolean;
  };
}

interface Accum {
  series: number;
  samples: number;
  checksum: number;
}

/** Adds a series' samples to the accumulator of its metric name. */
function add(acc: Map<string, Accum>, labels: readonly BenchLabel[], ts: ArrayLike<number>, vs: ArrayLike<number>): void {
  const name = labels.find((l) => l.name === '__name__')?.value ?? '';
  let a = acc.get(name);
  if (a === undefined) {
    a = { series: 0, samples: 0, checksum: 0 };
    acc.set(name, a);
  }
  const sh = seriesHash(labels);
  a.series++;
  a.samples += ts.length;
  for (let i = 0; i < ts.length; i++) a.checksum = (a.checksum + sampleHash(sh, ts[i]!, vs[i]!)) >>> 0;
}

/** Reads every series matching `name="value"` over the payload's time range; totals per metric name. */
async function readMatching(
  kind: string,
  base: string,
  index: PayloadIndex,
  name: string,
  value: string,
  responseType: number,
  signal?: AbortSignal,
): Promise<Map<string, Accum>> {
  const acc = new Map<string, Accum>();
  if (kind === TargetName.VICTORIAMETRICS) {
    const q = new URLSearchParams({
      'match[]': `{${name}=${JSON.stringify(value)}}`,
      start: String((index.minT - 1) / 1000),
      end: String((index.maxT + 1) / 1000),
    });
    const res = await fetch(`${base}/api/v1/export?${q}`, { signal });
    if (!res.ok) throw new Error(`export {${name}="${value}"}: HTTP ${res.status}: ${await res.text()}`);
    const text = await res.text();
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const row = JSON.parse(line) as { metric: Record<string, string>; values: number[]; timestamps: number[] };
      const labels = Object.entries(row.metric)
        .map(([n, v]) => ({ name: n, value: v }))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      add(acc, labels, row.timestamps, row.values);
    }
    return acc;
  }
  const query: Query = { startTimestampMs: index.minT, endTimestampMs: index.maxT, matchers: [{ type: MatcherType.EQ, name, value }] };
  if (responseType === ResponseType.STREAMED_XOR_CHUNKS) {
    await readStreamed(`${base}/api/v1/read`, query, acc, signal);
    return acc;
  }
  const { results } = await remoteRead(
    `${base}/api/v1/read`,
    [query],
    responseType,
    { signal },
  );
  for (const s of results[0] ?? []) add(acc, s.labels, s.timestamps, s.values);
  return acc;
}

/**
 * One STREAMED_XOR_CHUNKS query, decoded frame by frame as it arrives:
 * only the series being read is held (remoteRead would keep every chunk of
 * the answer, 12 M objects for the whole 50k payload).
 */
async function readStreamed(url: string, query: Query, acc: Map<string, Accum>, signal?: AbortSignal): Promise<void> {
  const res = await fetch(url, {
    method: 'POST',
    body: snappyEncode(encodeReadRequest({ queries: [query], acceptedResponseTypes: [ResponseType.STREAMED_XOR_CHUNKS] })),
    signal,
    headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Read-Version': '0.1.0' },
  });
  if (!res.ok) throw new Error(`remote read {${query.matchers.map((m) => `${m.name}="${m.value}"`).join(',')}}: HTTP ${res.status}: ${await res.text()}`);
  // A series may span consecutive frames (same labels).
  const buf = new SampleBuffer(1024);
  let labels: readonly BenchLabel[] | undefined;
  let key = '';
  const flush = () => {
    if (labels === undefined) return;
    const { timestamps, values } = buf.take();
    add(acc, labels, timestamps, values);
  };
  for await (const msg of readFrames(res.body as unknown as AsyncIterable<Uint8Array>)) {
    for (const s of decodeChunkedReadResponse(msg.slice()).chunkedSeries) {
      const k = JSON.stringify(s.labels);
      if (k !== key) {
        flush();
        key = k;
        labels = s.labels;
      }
      for (const c of s.chunks) {
        if (c.type !== Encoding.XOR) throw new Error(`unexpected chunk type ${c.type}`);
        buf.drain(XORChunk.fromBytes(c.data).iterator());
      }
    }
  }
  flush();
}

function check(metric: string, got: Accum | undefined, index: PayloadIndex): MetricCheck {
  const e = index.metrics[metric] ?? { series: 0, samples: 0, checksum: 0 };
  const g = got ?? { series: 0, samples: 0, checksum: 0 };
  return {
    metric,
    ...g,
    expected: { series: e.series, samples: e.samples, checksum: e.checksum },
    countsEqual: g.series === e.series && g.samples === e.samples,
    exact: g.series === e.series && g.samples === e.samples && g.checksum === e.checksum,
  };
}

/** Forces VictoriaMetrics to make recent writes searchable (no-op for the others). */
export async function flushIfNeeded(kind: string, base: string): Promise<void> {
  if (kind !== TargetName.VICTORIAMETRICS) return;
  const res = await fetch(`${base}/internal/force_flush`);
  await res.arrayBuffer();
}

/**
 * Reads back `sampledMetric` in full (SAMPLES), then everything the job
 * wrote with one broad query (`{job="node"}`, STREAMED_XOR_CHUNKS) that may
 * run for at most `budgetMs`, and compares both per metric name.
 */
export async function verify(kind: string, base: string, index: PayloadIndex, sampledMetric: string, budgetMs: number): Promise<VerifyResult> {
  await flushIfNeeded(kind, base);
  const one = await readMatching(kind, base, index, '__name__', sampledMetric, ResponseType.SAMPLES);
  const sampled = check(sampledMetric, one.get(sampledMetric), index);

  const names = Object.keys(index.metrics);
  const t0 = performance.now();
  const broad: VerifyResult['broad'] = {
    metricsChecked: 0,
    metricsTotal: names.length,
    samples: 0,
    expectedSamples: index.samples,
    mismatched: [],
    valuesDiffer: [],
    seconds: 0,
    complete: false,
  };
  const signal = AbortSignal.timeout(budgetMs);
  try {
    const all = await readMatching(kind, base, index, 'job', 'node', ResponseType.STREAMED_XOR_CHUNKS, signal);
    for (const name of new Set([...names, ...all.keys()])) {
      const c = check(name, all.get(name), index);
      broad.metricsChecked++;
      broad.samples += c.samples;
      if (!c.countsEqual) broad.mismatched.push(name);
      else if (!c.exact) broad.valuesDiffer.push(name);
    }
    broad.complete = true;
  } catch (err) {
    if (!signal.aborted) throw err;
  }
  broad.seconds = (performance.now() - t0) / 1000;
  return { sampled, broad };
}
