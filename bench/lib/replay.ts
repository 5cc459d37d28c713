/**
 * Sends pre-encoded remote-write bodies to a server over keep-alive
 * connections (the global fetch, i.e. undici) the way Prometheus' queue
 * shards do: one sender per shard, each sending its shard's requests one
 * after another, all shards at once. The client does no work per request
 * beyond the fetch itself, so that it takes as little CPU as possible from
 * the server it shares the machine with.
 */

/** Outcome of one replay. */
export interface ReplayResult {
  /** Requests answered with the expected status. */
  ok: number;
  /** Requests that got another status or no answer. */
  failed: number;
  /** Requests never sent (deadline passed). */
  skipped: number;
  /** Samples in the requests answered as expected. */
  acceptedSamples: number;
  /** Status code (or error name) -> count, for the failures. */
  failures: Record<string, number>;
  /** First failure's detail, for the report. */
  firstFailure?: string;
  /** Wall time from the first send to the last answer, seconds. */
  wallSeconds: number;
  /** Request latencies in ms, sorted. */
  latenciesMs: Float64Array;
}

/** Options of {@link replay}. */
export interface ReplayOptions {
  url: string;
  bodies: readonly Uint8Array[];
  samplesPerRequest: readonly number[];
  /** Shard of each request: one sender per distinct shard, in request order within a shard. */
  shardOfRequest: readonly number[];
  /** The status a successful write gets. @default 204 */
  expectStatus?: number;
  /** Per-request timeout. @default 60_000 */
  requestTimeoutMs?: number;
  /** No new request starts after this much time. @default 1_800_000 */
  deadlineMs?: number;
  /** Called every `progressEvery` requests with the count done. */
  onProgress?: (done: number) => void;
  progressEvery?: number;
}

const HEADERS = {
  'Content-Type': 'application/x-protobuf',
  'Content-Encoding': 'snappy',
  'User-Agent': 'stratus-bench/ingest',
  'X-Prometheus-Remote-Write-Version': '0.1.0',
} as const;

/** Sends every body once: shards concurrently, each shard's requests in order. */
export async function replay(o: ReplayOptions): Promise<ReplayResult> {
  const expect = o.expectStatus ?? 204;
  const timeoutMs = o.requestTimeoutMs ?? 60_000;
  const n = o.bodies.length;
  const latencies = new Float64Array(n);
  const res: ReplayResult = {
    ok: 0,
    failed: 0,
    skipped: 0,
    acceptedSamples: 0,
    failures: {},
    wallSeconds: 0,
    latenciesMs: latencies,
  };
  const queues = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const q = o.shardOfRequest[i]!;
    const list = queues.get(q) ?? [];
    list.push(i);
    queues.set(q, list);
  }
  let done = 0;
  const t0 = performance.now();
  const deadline = t0 + (o.deadlineMs ?? 1_800_000);
  const every = o.progressEvery ?? 100;

  const fail = (key: string, detail: string): void => {
    res.failed++;
    res.failures[key] = (res.failures[key] ?? 0) + 1;
    res.firstFailure ??= detail;
  };

  const sender = async (queue: readonly number[]): Promise<void> => {
    for (const i of queue) {
      if (performance.now() > deadline) {
        res.skipped++;
        continue;
      }
      const start = performance.now();
      try {
        const r = await fetch(o.url, {
          method: 'POST',
          body: o.bodies[i]!,
          headers: HEADERS,
          signal: AbortSignal.timeout(timeoutMs),
        });
        if (r.status === expect) {
          await r.arrayBuffer();
          res.ok++;
          res.acceptedSamples += o.samplesPerRequest[i]!;
        } else {
          const text = await r.text().catch(() => '');
          fail(String(r.status), `request ${i}: HTTP ${r.status}: ${text.slice(0, 300)}`);
        }
      } catch (err) {
        const e = err as Error & { cause?: { code?: string } };
        fail(e.cause?.code ?? e.name, `request ${i}: ${e.message}${e.cause ? ` (${String(e.cause)})` : ''}`);
      }
      latencies[i] = performance.now() - start;
      done++;
      if (o.onProgress && done % every === 0) o.onProgress(done);
    }
  };

  await Promise.all([...queues.values()].map(sender));
  res.wallSeconds = (performance.now() - t0) / 1000;
  // Skipped requests have no latency; leave them out.
  res.latenciesMs = latencies.filter((ms) => ms > 0).sort();
  return res;
}

/** The q-quantile (0..1) of a sorted array, nearest rank; NaN when empty. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}
