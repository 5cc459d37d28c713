/**
 * Read latency on a running server: the same request sent sequentially,
 * after warm-up requests, N times; each timed from the send to the last
 * byte of the answer (the client only collects the bytes while timed; it
 * decodes one answer afterwards to check what came back).
 *
 * Stratus and Prometheus: remote_read (`/api/v1/read`) with SAMPLES or
 * STREAMED_XOR_CHUNKS. VictoriaMetrics, which has no remote_read: its
 * `/api/v1/export` (JSON lines) for the same selector, as a reference only.
 */
import { decodeChunkedReadResponse, decodeReadResponse, encodeReadRequest } from '../../lib/prompb/read.ts';
import { readFrames } from '../../lib/prompb/frames.ts';
import { snappyDecode, snappyEncode } from '../../lib/prompb/snappy.ts';
import { ChunkType, ResponseType } from '../../lib/prompb/types.ts';
import { XORChunk } from '../../lib/chunkenc/xor.ts';
import type { BenchLabel } from './node-exporter.ts';
import { sampleHash, seriesHash } from './payloads.ts';
import { quantile } from './replay.ts';
import type { Selection } from './selections.ts';

/** How a read is made. */
export const ReadKind = {
  SAMPLES: 'samples',
  CHUNKS: 'chunks',
  EXPORT: 'export',
} as const;
export type ReadKind = (typeof ReadKind)[keyof typeof ReadKind];

/** Timings and content of one selection read repeatedly. */
export interface ReadLatency {
  kind: ReadKind;
  series: number;
  samples: number;
  /** Order-free checksum of (series, timestamp, value bits), as verify.ts computes it. */
  checksum: number;
  /** Bytes of one answer body as sent (compressed where the server compresses). */
  responseBytes: number;
  runs: number;
  minMs: number;
  medianMs: number;
  p90Ms: number;
  maxMs: number;
}

/** Options of {@link measureRead}. */
export interface MeasureOptions {
  /** Untimed requests first. @default 3 */
  warmup?: number;
  /** Timed requests. @default 20 */
  runs?: number;
  /** Per-request timeout. @default 60_000 */
  timeoutMs?: number;
}

interface Accum {
  series: number;
  samples: number;
  checksum: number;
}

function addSeries(acc: Accum, labels: readonly BenchLabel[], ts: ArrayLike<number>, vs: ArrayLike<number>, sel: Selection): void {
  const sh = seriesHash(labels);
  acc.series++;
  for (let i = 0; i < ts.length; i++) {
    const t = ts[i]!;
    if (t < sel.startMs || t > sel.endMs) continue;
    acc.samples++;
    acc.checksum = (acc.checksum + sampleHash(sh, t, vs[i]!)) >>> 0;
  }
}

async function* once(buf: Uint8Array): AsyncIterable<Uint8Array> {
  yield buf;
}

/** Counts what one answer body holds. */
async function decodeBody(kind: ReadKind, body: Uint8Array, sel: Selection): Promise<Accum> {
  const acc: Accum = { series: 0, samples: 0, checksum: 0 };
  if (kind === ReadKind.SAMPLES) {
    const rr = decodeReadResponse(snappyDecode(body, 1 << 30));
    for (const s of rr.results[0]?.timeseries ?? []) addSeries(acc, s.labels, s.timestamps, s.values, sel);
  } else if (kind === ReadKind.CHUNKS) {
    // A series may continue in the next frame: join consecutive frames' parts with the same labels.
    let key = '';
    let labels: readonly BenchLabel[] = [];
    let ts: number[] = [];
    let vs: number[] = [];
    const flush = (): void => {
      if (key !== '') addSeries(acc, labels, ts, vs, sel);
      ts = [];
      vs = [];
    };
    for await (const msg of readFrames(once(body))) {
      for (const s of decodeChunkedReadResponse(msg.slice()).chunkedSeries) {
        const k = JSON.stringify(s.labels);
        if (k !== key) {
          flush();
          key = k;
          labels = s.labels;
        }
        for (const c of s.chunks) {
          if (c.type !== ChunkType.XOR) throw new Error(`unexpected chunk type ${c.type}`);
          const it = XORChunk.fromBytes(c.data).iterator();
          while (it.next()) {
            ts.push(it.atT());
            vs.push(it.atV());
          }
        }
      }
    }
    flush();
  } else {
    for (const line of new TextDecoder().decode(body).split('\n')) {
      if (line === '') continue;
      const row = JSON.parse(line) as { metric: Record<string, string>; values: number[]; timestamps: number[] };
      const labels = Object.entries(row.metric)
        .map(([name, value]) => ({ name, value }))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      addSeries(acc, labels, row.timestamps, row.values, sel);
    }
  }
  return acc;
}

/** A function sending the request once and resolving with the whole answer body. */
export function requester(base: string, kind: ReadKind, sel: Selection, timeoutMs: number): () => Promise<Uint8Array> {
  if (kind === ReadKind.EXPORT) {
    const q = new URLSearchParams({ 'match[]': sel.selector, start: String(sel.startMs / 1000), end: String(sel.endMs / 1000) });
    const url = `${base}/api/v1/export?${q}`;
    return async () => {
      const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
      const body = new Uint8Array(await res.arrayBuffer());
      if (!res.ok) throw new Error(`export ${sel.selector}: HTTP ${res.status}: ${new TextDecoder().decode(body).slice(0, 300)}`);
      return body;
    };
  }
  const body = snappyEncode(
    encodeReadRequest({
      queries: [{ startTimestampMs: sel.startMs, endTimestampMs: sel.endMs, matchers: sel.matchers }],
      acceptedResponseTypes: [kind === ReadKind.SAMPLES ? ResponseType.SAMPLES : ResponseType.STREAMED_XOR_CHUNKS],
    }),
  );
  const headers = {
    'Content-Type': 'application/x-protobuf',
    'Content-Encoding': 'snappy',
    'X-Prometheus-Remote-Read-Version': '0.1.0',
    'User-Agent': 'stratus-bench/read',
  };
  return async () => {
    const res = await fetch(`${base}/api/v1/read`, { method: 'POST', body, headers, signal: AbortSignal.timeout(timeoutMs) });
    const out = new Uint8Array(await res.arrayBuffer());
    if (!res.ok) throw new Error(`remote_read ${sel.selector}: HTTP ${res.status}: ${new TextDecoder().decode(out).slice(0, 300)}`);
    return out;
  };
}

/** Reads `sel` from the server at `base` repeatedly; see the module comment. */
export async function measureRead(base: string, kind: ReadKind, sel: Selection, o: MeasureOptions = {}): Promise<ReadLatency> {
  const send = requester(base, kind, sel, o.timeoutMs ?? 60_000);
  const warmup = o.warmup ?? 3;
  const runs = o.runs ?? 20;
  let last: Uint8Array = new Uint8Array(0);
  for (let i = 0; i < warmup; i++) last = await send();
  const ms = new Float64Array(runs);
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    last = await send();
    ms[i] = performance.now() - t0;
  }
  ms.sort();
  const got = await decodeBody(kind, last, sel);
  return {
    kind,
    ...got,
    responseBytes: last.length,
    runs,
    minMs: ms[0]!,
    medianMs: quantile(ms, 0.5),
    p90Ms: quantile(ms, 0.9),
    maxMs: ms[runs - 1]!,
  };
}
