/**
 * A {@link PromQLTarget} over the Prometheus HTTP API (`/api/v1/query`,
 * `/api/v1/query_range`), for a real Prometheus used as the oracle or any
 * server speaking the same API. Loading and clearing are delegated: the
 * caller knows how to write to the server (remote_write) and how to empty
 * it (restart on a fresh directory). The API's `invalid parameter "query": `
 * prefix of parse errors is removed, leaving the engine's own message.
 */
import { labelsFromPairs } from '../../labels/labels.ts';
import type { Matrix, Value, Vector } from '../value.ts';
import type { PromQLTarget, TargetSeries } from './runner.ts';

/** How {@link HttpTarget} reaches and manages the server. */
export interface HttpTargetOptions {
  /** The server's base URL now (it may change after `reset`). */
  url(): string;
  /** Writes series (e.g. by remote_write); resolves once they are queryable. */
  write(series: TargetSeries[]): Promise<void>;
  /** Empties the server (e.g. restarts it on a fresh data directory). */
  reset(): Promise<void>;
  /** @default 30000 */
  timeoutMs?: number;
}

/** Decodes a sample value as the API renders it ("NaN", "+Inf", "-Inf", "1.5"). */
export function decodeSampleValue(s: string): number {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (s === 'NaN') return NaN;
  const v = Number(s);
  if (Number.isNaN(v)) throw new Error(`bad sample value ${JSON.stringify(s)}`);
  return v;
}

/** An API time (float seconds) to milliseconds. */
function ms(t: number): number {
  return Math.round(t * 1000);
}

/** What the API puts before a query's parse error; the engine's message follows it. */
const ApiPrefix = /^invalid parameter "query": /;

type ApiPair = [number, string];
interface ApiBody {
  status: 'success' | 'error';
  error?: string;
  errorType?: string;
  data?: { resultType: string; result: unknown };
}

/** Turns the `data` of a query answer into a {@link Value}. */
export function decodeQueryData(data: { resultType: string; result: unknown }): Value {
  switch (data.resultType) {
    case 'vector': {
      const r = data.result as { metric: Record<string, string>; value: ApiPair }[];
      const vec: Vector = r.map((x) => ({ metric: labelsFromPairs(x.metric), t: ms(x.value[0]), v: decodeSampleValue(x.value[1]) }));
      return { type: 'vector', value: vec };
    }
    case 'matrix': {
      const r = data.result as { metric: Record<string, string>; values: ApiPair[] }[];
      const mat: Matrix = r.map((x) => ({ metric: labelsFromPairs(x.metric), points: x.values.map((p) => ({ t: ms(p[0]), v: decodeSampleValue(p[1]) })) }));
      return { type: 'matrix', value: mat };
    }
    case 'scalar': {
      const p = data.result as ApiPair;
      return { type: 'scalar', value: { t: ms(p[0]), v: decodeSampleValue(p[1]) } };
    }
    case 'string': {
      const p = data.result as ApiPair;
      return { type: 'string', value: { t: ms(p[0]), v: p[1] } };
    }
    default:
      throw new Error(`unknown resultType ${data.resultType}`);
  }
}

/** Seconds with millisecond precision, as the API expects. */
function secs(t: number): string {
  return (t / 1000).toFixed(3);
}

export class HttpTarget implements PromQLTarget {
  private dirty = true;

  constructor(private readonly opts: HttpTargetOptions) {}

  async load(series: TargetSeries[]): Promise<void> {
    this.dirty = true;
    await this.opts.write(series);
  }

  async clear(): Promise<void> {
    // Nothing was loaded since the last reset: the server is still empty.
    if (!this.dirty) return;
    await this.opts.reset();
    this.dirty = false;
  }

  instant(query: string, tMs: number): Promise<Value | Error> {
    return this.post('/api/v1/query', { query, time: secs(tMs) });
  }

  range(query: string, startMs: number, endMs: number, stepMs: number): Promise<Value | Error> {
    return this.post('/api/v1/query_range', { query, start: secs(startMs), end: secs(endMs), step: secs(stepMs) });
  }

  private async post(path: string, form: Record<string, string>): Promise<Value | Error> {
    const res = await fetch(`${this.opts.url()}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
      signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000),
    });
    const text = await res.text();
    let body: ApiBody;
    try {
      body = JSON.parse(text) as ApiBody;
    } catch {
      throw new Error(`${path}: HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`);
    }
    if (body.status === 'error') return new Error((body.error ?? `HTTP ${res.status}`).replace(ApiPrefix, ''));
    if (body.data === undefined) throw new Error(`${path}: HTTP ${res.status} without data: ${text.slice(0, 200)}`);
    return decodeQueryData(body.data);
  }
}
