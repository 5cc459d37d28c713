/**
 * Prometheus metrics of a Stratus process.
 *
 * Each server gets its own prom-client `Registry` (never the global one), so
 * tests can run several servers in one process and other modules register
 * their own metrics (samples received, rejected by reason, objects written…)
 * on the registry they are handed.
 */

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Options of {@link createMetricsRegistry}. */
export interface MetricsRegistryOptions {
  /**
   * Register prom-client's standard process and Node.js metrics
   * (`process_cpu_seconds_total`, `nodejs_heap_size_used_bytes`, …).
   * @default true
   */
  defaultMetrics?: boolean;
}

/** Creates a fresh registry, with the standard process metrics unless told otherwise. */
export function createMetricsRegistry(opts: MetricsRegistryOptions = {}): Registry {
  const registry = new Registry();
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  return registry;
}

/** Metric names owned by the HTTP transport. */
export const HttpMetricNames = {
  requestsTotal: 'stratus_http_requests_total',
  requestDuration: 'stratus_http_request_duration_seconds',
  inFlight: 'stratus_http_requests_in_flight',
} as const;

/**
 * Upper bounds (seconds) of the request-duration histogram: 5 ms to 60 s,
 * roughly ×2–2.5 per step, covering quick health checks as well as large
 * remote_read streams.
 */
export const HTTP_DURATION_BUCKETS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60,
];

/** The HTTP transport's metrics. */
export interface HttpMetrics {
  /** Requests answered, by route name (`handler`) and status code (`code`). */
  requestsTotal: Counter<'handler' | 'code'>;
  /** Time from the request's arrival until its response ended, by route name. */
  requestDuration: Histogram<'handler'>;
  /** Requests being served right now. */
  inFlight: Gauge;
}

/**
 * Registers the HTTP metrics on `registry`, or returns the ones already
 * there (so two servers sharing a registry share the series).
 */
export function createHttpMetrics(registry: Registry): HttpMetrics {
  const existing = registry.getSingleMetric(HttpMetricNames.requestsTotal);
  if (existing !== undefined) {
    return {
      requestsTotal: existing as Counter<'handler' | 'code'>,
      requestDuration: registry.getSingleMetric(HttpMetricNames.requestDuration) as Histogram<'handler'>,
      inFlight: registry.getSingleMetric(HttpMetricNames.inFlight) as Gauge,
    };
  }
  return {
    requestsTotal: new Counter({
      name: HttpMetricNames.requestsTotal,
      help: 'HTTP requests answered, by handler and status code.',
      labelNames: ['handler', 'code'] as const,
      registers: [registry],
    }),
    requestDuration: new Histogram({
      name: HttpMetricNames.requestDuration,
      help: 'Time from receiving an HTTP request to the end of its response, in seconds.',
      labelNames: ['handler'] as const,
      buckets: [...HTTP_DURATION_BUCKETS],
      registers: [registry],
    }),
    inFlight: new Gauge({
      name: HttpMetricNames.inFlight,
      help: 'HTTP requests currently being served.',
      registers: [registry],
    }),
  };
}

/** What {@link registerSegmentRunMetrics} reads: lib/tsdb/segment-runs.ts `SegmentRuns`. */
export interface SegmentRunFigures {
  /** Runs built since the process started, by level (index 0 unused). */
  readonly builtByLevel: readonly number[];
  /** Builds queued or under way. */
  readonly pending: number;
}

/**
 * Metrics of the merged runs of segments a reading process builds in the
 * background (lib/tsdb/segment-runs.ts), read at scrape time: after a
 * restart, reads of the last hour are fast once `pending` is back to 0.
 * Nothing is registered when runs are off.
 */
export function registerSegmentRunMetrics(registry: Registry, runs: SegmentRunFigures | undefined): void {
  if (runs === undefined) return;
  new Counter({
    name: 'stratus_segment_runs_built_total',
    help: 'Merged runs of segments built for reads of recent data, by level.',
    labelNames: ['level'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (let level = 1; level < runs.builtByLevel.length; level++) this.inc({ level: String(level) }, runs.builtByLevel[level]!);
    },
  });
  new Gauge({
    name: 'stratus_segment_run_builds_pending',
    help: 'Builds of merged runs of segments queued or under way.',
    registers: [registry],
    collect() {
      this.set(runs.pending);
    },
  });
}
