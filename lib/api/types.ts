/**
 * What the Prometheus HTTP API needs from the rest of Stratus: a PromQL
 * engine (lib/promql's `Engine` satisfies {@link QueryEngine}), the
 * storage, and the usual logger and clock. The engine is injected, so the
 * API depends on its shape only.
 */
import type { Registry } from 'prom-client';
import type { Value } from '../promql/value.ts';
import type { Queryable } from '../storage/interface.ts';
import type { Logger } from '../util/logger.ts';

/** Options of one query evaluation. */
export interface QueryEvalOptions {
  /**
   * Aborted when the query must stop. Its `reason` tells why: a
   * `DOMException` named `TimeoutError` when the request's `timeout`
   * expired (the engine reports Prometheus' `query timed out in ...`),
   * anything else when the client went away (`query was canceled in ...`).
   */
  signal?: AbortSignal;
}

/** The result of a query: its value and non-fatal warnings. */
export interface QueryResult {
  value: Value;
  warnings: string[];
}

/**
 * A PromQL engine. Both methods parse and check the query first: errors
 * found before evaluation (syntax, types, a range query of a non-vector
 * expression) are `PromQLError`s of type `bad_data`; errors during
 * evaluation are of the other types. Times and steps are ms.
 */
export interface QueryEngine {
  instantQuery(q: Queryable, query: string, timeMs: number, opts?: QueryEvalOptions): Promise<QueryResult>;
  rangeQuery(q: Queryable, query: string, startMs: number, endMs: number, stepMs: number, opts?: QueryEvalOptions): Promise<QueryResult>;
}

/** The storage as the API sees it: one Queryable per tenant (lib/tsdb's `Storage` fits). */
export interface TenantStorage {
  tenant(id: string): Queryable;
}

/** Options of the API handlers. */
export interface ApiOptions {
  storage: TenantStorage;
  engine: QueryEngine;
  /** Registry for the API's own metrics. @default none (no metrics) */
  registry?: Registry;
  /** @default nopLogger */
  logger?: Logger;
  /** The clock for `time` defaults, ms. @default Date.now */
  now?: () => number;
}
