/**
 * The compaction function: invoked by an EventBridge schedule (every 5
 * minutes), it compacts every tenant (settled windows only, never forced),
 * deletes objects whose grace period is over, and logs one summary line.
 * The stack reserves a concurrency of 2 for it: the per-tenant lease keeps
 * two runs (and a `stratus compact` run elsewhere) off each other's
 * tenants.
 *
 * It stops starting new steps when the function's remaining time gets
 * short, so it ends cleanly (lease released) instead of being cut off by
 * Lambda; the next run carries on. Tenants are taken in an order that
 * rotates every hour, so a tenant with a large backlog cannot keep the
 * others waiting run after run.
 *
 * Besides the summary line it writes one cost line per tenant compacted
 * (and one for shared work) in CloudWatch EMF (functions/cost.ts).
 */
import { performance } from 'node:perf_hooks';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { Hour } from '../lib/compact/planner.ts';
import { parseRetentionConfig } from '../lib/compact/retention.ts';
import { EnvVars } from '../lib/config/env.ts';
import {
  CompactionFailedError,
  compactTenants,
  describeSummary,
  progressKind,
  type CompactionSummary,
  type CompactTenantsOptions,
} from '../lib/compact/service.ts';
import { reportCost, type CostContext } from './cost.ts';
import { deps } from './deps.ts';

/**
 * Least time kept back from the deadline when deciding to start another
 * step; twice the longest step seen so far is kept if that is more.
 */
export const MinDeadlineMarginMs = 3 * 60_000;

/** What the handler uses of the Lambda context (absent in tests: no deadline). */
export type CompactContext = Partial<Pick<Context, 'getRemainingTimeInMillis' | 'awsRequestId'>> & CostContext;

/** Compactor settings for tests (a clock, a grace period); the function uses the defaults. */
export type CompactHandlerOptions = Omit<CompactTenantsOptions, 'tenants' | 'force' | 'onProgress' | 'shouldStop'>;

/** `ids` rotated to start at the tenant whose turn it is in the hour of `timeMs`. */
export function rotateTenants(ids: readonly string[], timeMs: number): string[] {
  if (ids.length === 0) return [];
  const k = Math.floor(timeMs / Hour) % ids.length;
  return [...ids.slice(k), ...ids.slice(0, k)];
}

/** A handler with the given compactor settings. */
export function newCompactHandler(opts: CompactHandlerOptions = {}) {
  return async (event: ScheduledEvent, context: CompactContext = {}): Promise<CompactionSummary> => {
    const begun = deps.meter.begin();
    deps.ops.take();
    const log = deps.logger;
    let last = performance.now();
    let longestStep = 0;
    const shouldStop = (): boolean => {
      const t = performance.now();
      longestStep = Math.max(longestStep, t - last);
      last = t;
      const remaining = context.getRemainingTimeInMillis?.();
      return remaining !== undefined && remaining < Math.max(MinDeadlineMarginMs, 2 * longestStep);
    };
    const scheduled = Date.parse(event.time);
    let summary: CompactionSummary | undefined;
    try {
      const tenants = rotateTenants(await deps.storage.tenantIds(), Number.isNaN(scheduled) ? Date.now() : scheduled);
      summary = await compactTenants(deps.storage, {
        indexItemsExpire: deps.indexItemsExpire,
        ...opts,
        tenants,
        shouldStop,
        onProgress: (msg) => {
          const kind = progressKind(msg);
          if (kind === 'block' || kind === 'skipped') log.info('compaction progress', { detail: msg });
          else log.debug('compaction progress', { detail: msg });
        },
      });
    } finally {
      // Each tenant is charged the time its compaction took; listing and the rest are shared.
      const tenantMs = new Map((summary?.tenants ?? []).map((t) => [t.tenant, t.durationMs]));
      // Written now, not summed for a minute: one line per run and tenant.
      reportCost(deps, begun, context, { tenantMs }, undefined, { flush: true });
    }
    for (const t of summary.tenants) if (t.error !== undefined) log.error('compaction of a tenant failed', { tenant: t.tenant, err: t.error });
    (summary.failed > 0 ? log.error : log.info).call(log, 'compaction', {
      requestId: context.awsRequestId,
      eventTime: event.time,
      summary: describeSummary(summary),
      tenants: summary.tenants.length,
      notStarted: summary.notStarted.length,
      stopped: summary.stopped,
      failed: summary.failed,
      ...summary.totals,
      ms: summary.durationMs,
      remainingMs: context.getRemainingTimeInMillis?.(),
      ops: deps.ops.take(),
    });
    // Failing the invocation counts in the function's Errors metric (alarmed).
    if (summary.failed > 0) throw new CompactionFailedError(summary);
    return summary;
  };
}

deps.meter.coldStart(performance.now());

/** The Lambda handler. */
export const handler = newCompactHandler({
  downsample: true,
  ...(process.env[EnvVars.retention] ? { retentionConfig: parseRetentionConfig(process.env[EnvVars.retention]!) } : {}),
});
