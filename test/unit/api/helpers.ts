/**
 * Shared setup of the lib/api tests: an in-memory Storage with a few
 * series appended, the real PromQL engine, and a way to call the API's
 * router the way a transport does.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { apiEndpoints, newApiRouter } from '../../../lib/api/index.ts';
import type { ResolutionHints } from '../../../lib/api/resolution.ts';
import type { TenantStorage } from '../../../lib/api/types.ts';
import { MemKVStore } from '../../../lib/kvstore/mem.ts';
import { labelsFromPairs } from '../../../lib/labels/labels.ts';
import type { Matcher } from '../../../lib/labels/matcher.ts';
import { MemBucket } from '../../../lib/objstore/mem.ts';
import { Engine } from '../../../lib/promql/index.ts';
import type { HttpHandler, HttpRequest, HttpResponse } from '../../../lib/server/types.ts';
import type { Queryable, SelectHints } from '../../../lib/storage/interface.ts';
import { newSeriesEntry, Storage } from '../../../lib/tsdb/db.ts';

/** First sample time of the test data: 2023-11-14T22:13:20Z. */
export const T0 = 1_700_000_000_000;

/** A series to append: labels and [t, v] samples. */
export interface TestSeries {
  labels: Record<string, string>;
  samples: [number, number][];
}

/**
 * The default data: `up` of three targets (one goes down at T0+60s) and a
 * counter per target, every 15 s for two minutes.
 */
export function defaultSeries(): TestSeries[] {
  const out: TestSeries[] = [];
  for (const [job, instance] of [['api', 'a:1'], ['api', 'b:1'], ['web', 'c:1']] as const) {
    const up: [number, number][] = [];
    const reqs: [number, number][] = [];
    for (let k = 0; k <= 8; k++) {
      const t = T0 + k * 15_000;
      up.push([t, instance === 'b:1' && k >= 4 ? 0 : 1]);
      reqs.push([t, k * 10 * (instance === 'c:1' ? 2 : 1)]);
    }
    out.push({ labels: { __name__: 'up', job, instance }, samples: up });
    out.push({ labels: { __name__: 'requests_total', job, instance }, samples: reqs });
  }
  return out;
}

/** Appends series to a tenant and commits. */
export async function appendSeries(storage: Storage, tenant: string, series: TestSeries[]): Promise<void> {
  const app = storage.tenant(tenant).appender();
  for (const s of series) {
    const e = newSeriesEntry(labelsFromPairs(s.labels));
    for (const [t, v] of s.samples) app.append(e, t, v);
  }
  await app.commit();
}

/** Every select's hints, recorded by {@link recordingStorage}. */
export type HintLog = ResolutionHints[];

/**
 * The storage as the API sees it, recording the hints of every select (a
 * decorator over the real TenantDB); with `delayMs`, each series read
 * waits that long first (a slow backend, for timeouts).
 */
export function recordingStorage(storage: Storage, log: HintLog, delayMs = 0): TenantStorage {
  return {
    tenant(id: string): Queryable {
      const db = storage.tenant(id);
      return {
        querier: async (mint, maxt) => {
          const q = await db.querier(mint, maxt);
          return {
            select: (sort: boolean, hints: SelectHints | undefined, ...ms: Matcher[]) => {
              if (hints !== undefined) log.push(hints as ResolutionHints);
              const set = q.select(sort, hints, ...ms);
              if (delayMs === 0) return set;
              return { ...set, next: async () => (await sleep(delayMs), set.next()), at: () => set.at(), warnings: () => set.warnings() };
            },
            labelNames: (...ms: Matcher[]) => q.labelNames(...ms),
            labelValues: (n: string, ...ms: Matcher[]) => q.labelValues(n, ...ms),
            close: () => q.close(),
          };
        },
        chunkQuerier: (mint, maxt) => db.chunkQuerier(mint, maxt),
      };
    },
  };
}

/** An API over fresh memory storage holding `series` for tenant `anonymous`. */
export async function newTestApi(series: TestSeries[] = defaultSeries(), now = T0 + 120_000, delayMs = 0) {
  const storage = new Storage({ bucket: new MemBucket(), kv: new MemKVStore() });
  await appendSeries(storage, 'anonymous', series);
  const hints: HintLog = [];
  const registry = new Registry();
  const route = newApiRouter(apiEndpoints({ engine: new Engine(), registry, now: () => now, storage: recordingStorage(storage, hints, delayMs) }));
  return { storage, hints, registry, route, call: (r: CallArgs) => call(route, r) };
}

/** What a test reads of a response. */
export interface TestResponse {
  status: number;
  headers: Record<string, string>;
  text: string;
  json: any;
}

/** A request: a GET with its query string in `qs`, or a form POST with its body in `form`. */
export type CallArgs = Partial<HttpRequest> & { path: string; qs?: string; form?: string };

/** Calls the handler as a transport would. */
export async function call(handler: HttpHandler, r: CallArgs): Promise<TestResponse> {
  const isForm = r.form !== undefined;
  const res: HttpResponse = await handler({
    method: r.method ?? (isForm ? 'POST' : 'GET'),
    path: r.path,
    query: r.query ?? new URLSearchParams(r.qs ?? ''),
    headers: { ...(isForm ? { 'content-type': 'application/x-www-form-urlencoded' } : {}), ...r.headers },
    body: r.body ?? new TextEncoder().encode(r.form ?? ''),
    signal: r.signal,
  });
  const text = typeof res.body === 'string' ? res.body : res.body === undefined ? '' : Buffer.from(res.body as Uint8Array).toString();
  let json: any;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers ?? {}, text, json };
}
