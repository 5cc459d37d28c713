/**
 * The endpoints of the Prometheus HTTP API that Stratus serves, and a
 * router over them for transports that hand every path to one handler
 * (the query Lambda). The local server mounts the same endpoints as
 * routes (lib/server/app.ts `apiRoutes`).
 *
 * Paths Prometheus serves and Stratus does not (targets, status/config,
 * admin, ...) are answered as Prometheus answers unknown paths: 404 with
 * `404 page not found`.
 */
import type { HttpHandler, HttpRequest, HttpResponse } from '../server/types.ts';
import { nopLogger } from '../util/logger.ts';
import { queryFuncs, newQueryMetrics } from './query.ts';
import { apiHandler, type ApiFunc } from './respond.ts';
import { LabelValuesPathRe, seriesFuncs } from './series.ts';
import { statusFuncs } from './status.ts';
import type { ApiOptions } from './types.ts';

/** One endpoint: its path (a trailing `/*` matches every path below), methods and handler. */
export interface ApiEndpoint {
  /** Short, stable name for metrics and logs. */
  name: string;
  path: string;
  methods: readonly string[];
  handler: HttpHandler;
}

/** Prefix of every API path. */
export const ApiPrefix = '/api/v1';

const GetPost = ['GET', 'POST', 'OPTIONS'] as const;
const GetOnly = ['GET', 'OPTIONS'] as const;

/** Builds the API's endpoints over `opts`. */
export function apiEndpoints(opts: ApiOptions): ApiEndpoint[] {
  const logger = opts.logger ?? nopLogger;
  const q = queryFuncs(opts, newQueryMetrics(opts.registry));
  const s = seriesFuncs(opts);
  const st = statusFuncs();
  const ep = (name: string, path: string, methods: readonly string[], fn: ApiFunc): ApiEndpoint => ({
    name: `api_${name}`,
    path: ApiPrefix + path,
    methods,
    handler: apiHandler(name, fn, logger),
  });
  const labelValues = ep('label_values', '/label/*', GetOnly, s.labelValues);
  return [
    ep('query', '/query', GetPost, q.query),
    ep('query_range', '/query_range', GetPost, q.queryRange),
    ep('query_exemplars', '/query_exemplars', GetPost, st.queryExemplars),
    ep('series', '/series', GetPost, s.series),
    ep('labels', '/labels', GetPost, s.labelNames),
    { ...labelValues, handler: labelValuesGuard(labelValues.handler) },
    ep('metadata', '/metadata', GetOnly, st.metadata),
    ep('rules', '/rules', GetOnly, st.rules),
    ep('alerts', '/alerts', GetOnly, st.alerts),
    ep('buildinfo', '/status/buildinfo', GetOnly, st.buildInfo),
  ];
}

const NotFound: HttpResponse = { status: 404, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: '404 page not found\n' };

/** Paths under `/api/v1/label/` other than `<name>/values` are unknown to Prometheus' router: 404. */
function labelValuesGuard(h: HttpHandler): HttpHandler {
  return async (req) => (LabelValuesPathRe.test(req.path) ? h(req) : NotFound);
}

/** The endpoint serving `path`, if any. */
export function matchEndpoint(endpoints: readonly ApiEndpoint[], path: string): ApiEndpoint | undefined {
  let prefixMatch: ApiEndpoint | undefined;
  for (const e of endpoints) {
    if (e.path === path) return e;
    if (e.path.endsWith('/*') && path.startsWith(e.path.slice(0, -1))) prefixMatch ??= e;
  }
  return prefixMatch;
}

/**
 * One handler for every endpoint: routes by path, answers unknown paths
 * 404 and other methods 405 (with `Allow`), as the local server does.
 */
export function newApiRouter(endpoints: readonly ApiEndpoint[]): HttpHandler {
  return async (req: HttpRequest) => {
    const e = matchEndpoint(endpoints, req.path);
    if (e === undefined) return NotFound;
    if (!e.methods.includes(req.method)) {
      const allow = e.methods.join(', ');
      return { status: 405, headers: { 'content-type': 'text/plain; charset=utf-8', allow }, body: `method ${req.method} not allowed; allowed: ${allow}\n` };
    }
    return e.handler(req);
  };
}
