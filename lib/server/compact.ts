/**
 * Compaction as the `stratus` process offers it: the `stratus compact`
 * command, the `POST /api/v1/admin/compact` endpoint of `stratus serve`, and
 * the clearing of stale leases in local mode. The work itself is
 * lib/compact/service.ts.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { LeasePartition } from '../compact/lease.ts';
import {
  CompactionFailedError,
  compactTenants,
  describeSummary,
  TenantOutcome,
  type CompactionScheduler,
  type CompactionSummary,
} from '../compact/service.ts';
import { ErrorType, invalidParam, type ApiError } from '../api/errors.ts';
import { errorJson } from '../api/json.ts';
import { FormValues } from '../api/params.ts';
import type { Storage } from '../tsdb/db.ts';
import { StratusError } from '../util/errors.ts';
import { LogLevel } from '../util/logger.ts';
import { openStorage } from './app.ts';
import type { CompactConfig } from './cli.ts';
import type { Route } from './http.ts';
import type { SignalSource } from './signals.ts';
import type { HttpResponse } from './types.ts';

/** The admin endpoint's path. */
export const AdminCompactPath = '/api/v1/admin/compact';

/** Text of Prometheus 2.42's answer to admin endpoints when `--web.enable-admin-api` is off. */
export const AdminDisabledText = 'admin APIs disabled';

const StopSignals: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

/** The data directory is open in another process (LevelDB allows one). */
export class DataDirInUseError extends StratusError {}

/** Whether `err` (or a cause of it) is LevelDB's "lock held" error. */
export function isLevelLocked(err: unknown): boolean {
  for (let e = err; e instanceof Error; e = e.cause) {
    if ((e as { code?: unknown }).code === 'LEVEL_LOCKED') return true;
  }
  return false;
}

/**
 * Clears the compaction leases of `tenants`. Only for local storage, where
 * LevelDB's lock gives the process that opened it the data directory
 * alone: a lease found there was left by a process that is gone (killed in
 * the middle of a run), and would otherwise block compaction until it
 * expires (16 minutes).
 */
export async function clearStaleLeases(storage: Storage, tenants: readonly string[]): Promise<void> {
  for (const t of tenants) await storage.tenant(t).stores.kv.batchDelete([{ pk: LeasePartition, sk: 'compact' }]);
}

/** What {@link runCompact} needs from its surroundings. */
export interface CompactIO {
  /** Receives progress lines and the summary (with their newlines). */
  stderr(text: string): void;
  /** Where SIGINT/SIGTERM come from. @default process */
  signals?: SignalSource;
  /** Called with 130 on a second signal. @default process.exit */
  exit?: (code: number) => void;
  /** @default Date.now */
  now?: () => number;
}

/**
 * `stratus compact`: opens the storage, compacts the chosen tenants (every
 * tenant by default) with a line on stderr per block written, object
 * deleted and tenant skipped, prints a summary and closes the storage. The
 * first SIGINT or SIGTERM ends the run at its next safe point.
 *
 * @throws DataDirInUseError when a running `stratus serve` holds the data directory.
 * @throws CompactionFailedError when a tenant failed (after the summary).
 * @throws StratusError for a missing data directory, unknown tenants or an interrupted run.
 */
export async function runCompact(cfg: CompactConfig, io: CompactIO): Promise<CompactionSummary> {
  const verbose = LogLevel[cfg.logLevel] <= LogLevel.info;
  const line = (text: string) => io.stderr(`${text}\n`);
  if (cfg.storage === 'local') {
    const index = join(cfg.dataDir, 'index');
    const found = await stat(index).then((s) => s.isDirectory(), () => false);
    if (!found) throw new StratusError(`no Stratus data in ${cfg.dataDir} (it has no index/ directory); check --data-dir`);
  }
  let storage: Storage;
  try {
    storage = await openStorage(cfg);
  } catch (err) {
    if (!isLevelLocked(err)) throw err;
    throw new DataDirInUseError(
      `${cfg.dataDir} is in use by another process (a running "stratus serve"?); LevelDB lets one process open it. ` +
        `Stop that process, or compact inside it: it compacts every --compact.interval, and with --web.enable-admin-api ` +
        `"curl -X POST 'http://<host>:9201${AdminCompactPath}?force=true'" runs a compaction now`,
      { cause: err },
    );
  }
  // The first SIGINT/SIGTERM stops the run at its next safe point (set at
  // once, not on a later tick, so the step under way is the last); a second
  // one quits at once, which is safe too, only slower to recover from.
  const source = io.signals ?? process;
  let interrupted: string | undefined;
  const onSignal = (s: NodeJS.Signals): void => {
    if (interrupted !== undefined) {
      line(`received ${s} again; quitting at once`);
      (io.exit ?? process.exit)(130);
      return;
    }
    interrupted = s;
    line(`received ${s}; stopping after the step under way (send it again to quit at once)`);
  };
  for (const s of StopSignals) source.on(s, onSignal);
  try {
    const known = await storage.tenantIds();
    const unknown = cfg.tenants.filter((t) => !known.includes(t));
    if (unknown.length > 0) {
      throw new StratusError(`no data for tenant ${unknown.map((t) => JSON.stringify(t)).join(', ')}; tenants with data: ${known.length === 0 ? 'none' : known.join(', ')}`);
    }
    const tenants = cfg.tenants.length > 0 ? cfg.tenants : known;
    if (cfg.storage === 'local') await clearStaleLeases(storage, tenants);
    if (verbose) {
      const when = cfg.force
        ? ', every window (--force)'
        : ` in windows of ${cfg.levels.map((l) => formatDuration(l.windowMs)).join(', ')} once they ended ${cfg.levels.map((l) => formatDuration(l.settleMs)).join(', ')} ago`;
      line(`compacting ${tenants.length} tenant${tenants.length === 1 ? '' : 's'}${when}; replaced objects are deleted ${formatDuration(cfg.deleteGraceMs)} after replacement`);
    }
    const summary = await compactTenants(storage, {
      tenants,
      force: cfg.force,
      levels: cfg.levels,
      deleteGraceMs: cfg.deleteGraceMs,
      downsample: true,
      ...(cfg.retention === undefined ? {} : { retentionConfig: cfg.retention }),
      now: io.now,
      onProgress: verbose ? line : undefined,
      shouldStop: () => interrupted !== undefined,
    });
    if (!verbose) {
      for (const t of summary.tenants) if (t.outcome === TenantOutcome.skipped) line(`tenant ${t.tenant}: another compactor holds the lease; skipped`);
    }
    for (const t of summary.tenants) if (t.error !== undefined) line(`tenant ${t.tenant}: failed: ${t.error}`);
    line(describeSummary(summary));
    if (summary.failed > 0) throw new CompactionFailedError(summary);
    if (interrupted !== undefined) throw new StratusError(`stopped by ${interrupted} before the end; run it again to finish (what was done is kept)`);
    return summary;
  } finally {
    for (const s of StopSignals) source.off(s, onSignal);
    await storage.close();
  }
}

/** A duration in ms as Prometheus writes one (`1h30m`, `0s`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000], ['ms', 1]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out;
}

/** Go's `strconv.ParseBool`. */
function parseGoBool(name: string, v: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  throw invalidParam(name, `unable to parse boolean: strconv.ParseBool: parsing ${JSON.stringify(v)}: invalid syntax`);
}

/** An error answer in Prometheus' envelope, with its status for the error type in 2.42. */
function errorAnswer(e: ApiError | { errorType: ErrorType; message: string }, status: number, data?: unknown): HttpResponse {
  const body =
    data === undefined
      ? errorJson(e.errorType, e.message)
      : JSON.stringify({ status: 'error', data, errorType: e.errorType, error: e.message }); // Go's field order
  return { status, headers: { 'content-type': 'application/json' }, body };
}

/** Options of {@link adminRoutes}. */
export interface AdminRoutesOptions {
  /** `--web.enable-admin-api`: when false, the endpoints answer as Prometheus' disabled ones. */
  enabled: boolean;
  /** Runs the compactions (shared with the timer, so they never overlap). */
  scheduler: CompactionScheduler;
}

/**
 * `POST` (or `PUT`, as Prometheus' admin endpoints) `/api/v1/admin/compact`
 * with optional `force=true` (query or form): runs a compaction of every
 * tenant after any run under way and answers its summary as
 * `{"status":"success","data":{...}}`.
 *
 * Disabled, it answers exactly what Prometheus 2.42 answers for its admin
 * endpoints: HTTP 500 with `{"status":"error","errorType":"unavailable",
 * "error":"admin APIs disabled"}` (its `respondError` has no case for
 * `unavailable`, so the status falls to 500; checked against the real
 * binary). A failed tenant makes a 500 `internal` answer that still
 * carries the summary in `data`.
 */
export function adminRoutes(opts: AdminRoutesOptions): Route[] {
  return [
    {
      method: ['POST', 'PUT'],
      path: AdminCompactPath,
      name: 'admin_compact',
      maxBodyBytes: 64 * 1024,
      handler: async (req) => {
        if (!opts.enabled) return errorAnswer({ errorType: ErrorType.unavailable, message: AdminDisabledText }, 500);
        let force = false;
        const v = new FormValues(req).get('force');
        try {
          if (v !== '') force = parseGoBool('force', v);
        } catch (err) {
          return errorAnswer(err as ApiError, 400);
        }
        let summary: CompactionSummary;
        try {
          summary = await opts.scheduler.runNow({ force });
        } catch (err) {
          return errorAnswer({ errorType: ErrorType.unavailable, message: (err as Error).message }, 500);
        }
        if (summary.failed > 0) return errorAnswer({ errorType: ErrorType.internal, message: new CompactionFailedError(summary).message }, 500, summary);
        return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 'success', data: summary }) };
      },
    },
  ];
}
