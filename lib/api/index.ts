/**
 * The Prometheus v1 HTTP API (query, query_range, series, labels, label
 * values, and what Grafana calls besides) over a PromQL engine and the
 * tenants' storage. See README.md.
 */
export { ApiError, ErrorType, statusOfErrorType, toApiError } from './errors.ts';
export { apiEndpoints, ApiPrefix, matchEndpoint, newApiRouter, type ApiEndpoint } from './router.ts';
export { apiErrorResponse } from './respond.ts';
export { MaxSourceResolutionParam, type ResolutionHints } from './resolution.ts';
export { CompatibleVersion } from './status.ts';
export type { ApiOptions, QueryEngine, QueryEvalOptions, QueryResult, TenantStorage } from './types.ts';
