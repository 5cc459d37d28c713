/**
 * The endpoints Grafana's Prometheus data source calls besides queries and
 * listings, answered with Prometheus 2.42's shapes: build information
 * (Grafana reads `version` to pick features), metric metadata and
 * exemplars (Stratus keeps neither: empty answers), and rules and alerts
 * (the query API evaluates none: empty lists).
 */
import { ApiError, ErrorType, invalidParam } from './errors.ts';
import { parseTimeParam, MaxTimeMs, MinTimeMs, type FormValues } from './params.ts';
import type { ApiResult } from './respond.ts';
import { extractSelectors, parseQuery } from './selectors.ts';
import { goQuote } from '../labels/quote.ts';
import type { HttpRequest } from '../server/types.ts';

/**
 * The Prometheus version whose API and PromQL Stratus implements, reported
 * by `/api/v1/status/buildinfo`.
 */
export const CompatibleVersion = '2.42.0';

/** `/api/v1/status/buildinfo`: Prometheus' `PrometheusVersion` fields. */
export const buildInfoJson = JSON.stringify({
  version: CompatibleVersion,
  revision: 'stratus',
  branch: 'stratus',
  buildUser: 'stratus',
  buildDate: '',
  goVersion: 'none (Stratus, TypeScript on Node.js)',
});

/** The endpoints of this file. */
export function statusFuncs() {
  async function buildInfo(): Promise<ApiResult> {
    return { data: buildInfoJson };
  }

  /** `/api/v1/metadata`: no metadata is stored, so `{}`; `limit` is still checked as Prometheus does. */
  async function metadata(_req: HttpRequest, form: FormValues): Promise<ApiResult> {
    const limit = form.get('limit');
    if (limit !== '' && !/^[+-]?[0-9]+$/.test(limit)) throw new ApiError(ErrorType.badData, 'limit must be a number');
    return { data: '{}' };
  }

  /**
   * `/api/v1/query_exemplars`: parameters checked as Prometheus does; no
   * exemplars are stored, so `[]`, or no content for a query without
   * selectors (Prometheus answers 204 then).
   */
  async function queryExemplars(_req: HttpRequest, form: FormValues): Promise<ApiResult> {
    const start = parseTimeParam(form, 'start', MinTimeMs);
    const end = parseTimeParam(form, 'end', MaxTimeMs);
    if (end < start) throw new ApiError(ErrorType.badData, 'end timestamp must not be before start timestamp');
    const expr = parseQuery(form.get('query'));
    if (extractSelectors(expr).length === 0) return {};
    return { data: '[]' };
  }

  /** `/api/v1/rules`: `type` checked as Prometheus does (query string only); no rule groups. */
  async function rules(req: HttpRequest): Promise<ApiResult> {
    const typ = (req.query.get('type') ?? '').toLowerCase();
    if (typ !== '' && typ !== 'alert' && typ !== 'record') throw invalidParam('type', `not supported value ${goQuote(typ)}`);
    return { data: '{"groups":[]}' };
  }

  /** `/api/v1/alerts`: no alerts. */
  async function alerts(): Promise<ApiResult> {
    return { data: '{"alerts":[]}' };
  }

  return { buildInfo, metadata, queryExemplars, rules, alerts };
}
