/**
 * Compaction of every tenant, for all the places that start it: the
 * `stratus compact` command, the timer and the admin endpoint of
 * `stratus serve`, and the scheduled Lambda function. Each tenant is one
 * {@link Compactor} run; this module adds the tenant loop, a summary, a way
 * to stop early at a safe point, and (for the server) a timer that never
 * overlaps itself.
 *
 * Stopping early: the compactor reports progress only after a step is
 * complete and durable (a block committed and its inputs switched out of the
 * catalog, an object deleted with its tombstone, an orphan deleted), and
 * every step is idempotent. So `shouldStop` is asked after each progress
 * report, and when it says yes the run is ended right there (the lease is
 * released by the compactor's own `finally`); the rest is done by the next
 * run. TODO(lead): a `signal` option on `Compactor.run` would make this an
 * explicit contract instead of one resting on when progress is reported. #4
 */
import { StratusError } from '../util/errors.ts';
import { nopLogger, type Logger } from '../util/logger.ts';
import type { Storage } from '../tsdb/db.ts';
import { Compactor, type CompactionCounts, type CompactionRun, type CompactorOptions } from './compactor.ts';
import { policyFor, type RetentionConfig } from './retention.ts';

/** What one tenant's compaction came to. */
export const TenantOutcome = {
  /** The run finished (possibly with nothing to do). */
  done: 'done',
  /** Another compactor held the tenant's lease: nothing was done. */
  skipped: 'skipped',
  /** Stopped early at a safe point (shutdown, Lambda deadline). */
  stopped: 'stopped',
  /** The run failed; `error` says why. Work committed before the failure stays. */
  failed: 'failed',
} as const;
/** One of {@link TenantOutcome}. */
export type TenantOutcome = (typeof TenantOutcome)[keyof typeof TenantOutcome];

/** Work counts of a run (lib/compact/compactor.ts; {@link CompactionRun} extends it). */
export type { CompactionCounts };

/** The compaction of one tenant. */
export interface TenantCompaction extends CompactionCounts {
  tenant: string;
  outcome: TenantOutcome;
  durationMs: number;
  /** Why it failed (outcome `failed`). */
  error?: string;
}

/** The result of {@link compactTenants}. */
export interface CompactionSummary {
  force: boolean;
  /** Start time, ms since the epoch. */
  startedAt: number;
  durationMs: number;
  /** Tenants handled, in order. */
  tenants: TenantCompaction[];
  /** Tenants not started because of a stop. */
  notStarted: string[];
  /** Sums over {@link tenants}. */
  totals: CompactionCounts;
  /** Whether a stop cut the run short. */
  stopped: boolean;
  /** How many tenants failed. */
  failed: number;
}

/** Options of {@link compactTenants}. */
export interface CompactTenantsOptions extends Omit<CompactorOptions, 'onProgress'> {
  /** Tenants to compact, in this order. @default every tenant in `storage.tenantIds()` */
  tenants?: readonly string[];
  /** Compact every window now, settled or not. @default false */
  force?: boolean;
  /** Progress lines: one per block written, object deleted and tenant skipped. */
  onProgress?: (msg: string) => void;
  /**
   * Asked before each tenant and after each completed step; `true` ends
   * the run at that point (see the module comment). @default never
   */
  shouldStop?: () => boolean;
  /** Retention with per-tenant overrides (`--retention.*`); each tenant's policy replaces `retention`. */
  retentionConfig?: RetentionConfig;
}

/** Thrown from the progress hook to end a tenant's run at a safe point. */
export class CompactionStoppedError extends StratusError {}

/** A failed compaction (the summary says which tenants and why). */
export class CompactionFailedError extends StratusError {
  constructor(readonly summary: CompactionSummary) {
    const failed = summary.tenants.filter((t) => t.outcome === TenantOutcome.failed);
    super(`compaction failed for ${failed.length} of ${summary.tenants.length} tenants: ${failed.map((t) => `tenant ${t.tenant}: ${t.error}`).join('; ')}`);
  }
}

/** All-zero counts. */
export function zeroCounts(): CompactionCounts {
  return { jobs: 0, blocksWritten: 0, inputsReplaced: 0, samplesWritten: 0, objectsDeleted: 0, orphansDeleted: 0 };
}

function addCounts(into: CompactionCounts, c: CompactionCounts): void {
  into.jobs += c.jobs;
  into.blocksWritten += c.blocksWritten;
  into.inputsReplaced += c.inputsReplaced;
  into.samplesWritten += c.samplesWritten;
  into.objectsDeleted += c.objectsDeleted;
  into.orphansDeleted += c.orphansDeleted;
}

// The compactor's progress texts (lib/compact/compactor.ts); a test checks
// that counts taken from them equal the run's own result.
const JobLine = /: (\d+) objects -> \S+ \(\d+ series, (\d+) samples,/;
const OrphanLine = /: deleted orphan /;
const DeleteLine = /: deleted /;
const SkipLine = /holds the lease/;

/** What a progress line reports. */
export type ProgressKind = 'block' | 'deleted' | 'orphan' | 'skipped' | 'other';

/** Classifies a progress line of the compactor. */
export function progressKind(msg: string): ProgressKind {
  if (JobLine.test(msg)) return 'block';
  if (OrphanLine.test(msg)) return 'orphan';
  if (DeleteLine.test(msg)) return 'deleted';
  if (SkipLine.test(msg)) return 'skipped';
  return 'other';
}

/**
 * Counts work from progress lines, for a run that ended without its
 * result (stopped or failed part-way).
 */
export function countProgress(into: CompactionCounts, msg: string): void {
  const job = JobLine.exec(msg);
  if (job !== null) {
    into.jobs++;
    into.blocksWritten++;
    into.inputsReplaced += Number(job[1]);
    into.samplesWritten += Number(job[2]);
  } else if (OrphanLine.test(msg)) into.orphansDeleted++;
  else if (DeleteLine.test(msg)) into.objectsDeleted++;
}

function countsOf(r: CompactionRun): CompactionCounts {
  const { jobs, blocksWritten, inputsReplaced, samplesWritten, objectsDeleted, orphansDeleted } = r;
  return { jobs, blocksWritten, inputsReplaced, samplesWritten, objectsDeleted, orphansDeleted };
}

function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  let text = err.message;
  for (let c = err.cause; c instanceof Error && !text.includes(c.message); c = c.cause) text += `: ${c.message}`;
  return text;
}

/**
 * Compacts the tenants one after the other, each with its own
 * {@link Compactor}. A tenant that fails is recorded and the next one is
 * compacted; the caller decides what a failure means (see
 * {@link CompactionFailedError}). Never throws for a tenant's failure.
 */
export async function compactTenants(storage: Storage, opts: CompactTenantsOptions = {}): Promise<CompactionSummary> {
  const { tenants, force = false, onProgress, shouldStop = () => false, retentionConfig, ...compactorOpts } = opts;
  const now = opts.now ?? Date.now;
  const progress = onProgress ?? (() => {});
  const startedAt = now();
  const ids = tenants ?? (await storage.tenantIds());
  const summary: CompactionSummary = { force, startedAt, durationMs: 0, tenants: [], notStarted: [], totals: zeroCounts(), stopped: false, failed: 0 };
  for (let i = 0; i < ids.length; i++) {
    const tenant = ids[i]!;
    if (shouldStop()) {
      summary.stopped = true;
      summary.notStarted = ids.slice(i);
      break;
    }
    const t0 = now();
    const seen = zeroCounts();
    const compactor = new Compactor(storage.tenant(tenant).stores, {
      ...compactorOpts,
      ...(retentionConfig === undefined ? {} : { retention: policyFor(retentionConfig, tenant) }),
      now,
      onProgress: (msg) => {
        countProgress(seen, msg);
        progress(msg);
        if (shouldStop()) throw new CompactionStoppedError(`tenant ${tenant}: compaction stopped early`);
      },
    });
    let result: TenantCompaction;
    try {
      const run = await compactor.run({ force });
      result = { tenant, outcome: run.leased ? TenantOutcome.done : TenantOutcome.skipped, ...countsOf(run), durationMs: now() - t0 };
    } catch (err) {
      const stopped = err instanceof CompactionStoppedError;
      result = { tenant, outcome: stopped ? TenantOutcome.stopped : TenantOutcome.failed, ...seen, durationMs: now() - t0 };
      if (!stopped) result.error = errorText(err);
    }
    summary.tenants.push(result);
    addCounts(summary.totals, result);
    if (result.outcome === TenantOutcome.failed) summary.failed++;
    if (result.outcome === TenantOutcome.stopped) {
      summary.stopped = true;
      summary.notStarted = ids.slice(i + 1);
      break;
    }
  }
  summary.durationMs = now() - startedAt;
  return summary;
}

/**
 * One line for people: what was done, per outcome. Used by the CLI and the
 * server's log.
 */
export function describeSummary(s: CompactionSummary): string {
  const t = s.totals;
  const by = (o: TenantOutcome) => s.tenants.filter((x) => x.outcome === o).length;
  const parts = [`${s.tenants.length} tenant${s.tenants.length === 1 ? '' : 's'}`];
  const notes: string[] = [];
  if (by(TenantOutcome.skipped) > 0) notes.push(`${by(TenantOutcome.skipped)} skipped: lease held elsewhere`);
  if (by(TenantOutcome.stopped) > 0 || s.notStarted.length > 0) notes.push(`stopped early, ${s.notStarted.length} not started`);
  if (s.failed > 0) notes.push(`${s.failed} failed`);
  if (notes.length > 0) parts[0] += ` (${notes.join(', ')})`;
  parts.push(`${t.blocksWritten} block${t.blocksWritten === 1 ? '' : 's'} written from ${t.inputsReplaced} objects (${t.samplesWritten} samples)`);
  parts.push(`${t.objectsDeleted} replaced objects deleted`);
  parts.push(`${t.orphansDeleted} orphans deleted`);
  return `compaction ${s.force ? '(forced) ' : ''}${s.failed > 0 ? 'failed' : s.stopped ? 'stopped' : 'done'} in ${(s.durationMs / 1000).toFixed(1)} s: ${parts.join(', ')}`;
}

/** Whether a run found nothing to do (every tenant done, no work counted). */
function idle(s: CompactionSummary): boolean {
  const t = s.totals;
  return s.tenants.every((x) => x.outcome === TenantOutcome.done) && !s.stopped && t.jobs + t.objectsDeleted + t.orphansDeleted === 0;
}

/** Timer functions, injectable for tests. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Options of {@link CompactionScheduler}. */
export interface CompactionSchedulerOptions {
  storage: Storage;
  /** Time between the end of one timed run and the start of the next, ms; 0 disables the timer. */
  intervalMs: number;
  /** Delay of the first timed run after {@link CompactionScheduler.start}. @default min(intervalMs, 60 s) */
  firstDelayMs?: number;
  /** Passed to every {@link Compactor}. */
  compactor?: Omit<CompactTenantsOptions, 'tenants' | 'force' | 'onProgress' | 'shouldStop'>;
  /** @default nopLogger */
  logger?: Logger;
  /** @default the global setTimeout / clearTimeout */
  timers?: Timers;
}

/**
 * Runs compaction in the server process: every `intervalMs` on a timer,
 * and on demand ({@link runNow}, for the admin endpoint). Runs never
 * overlap: an on-demand run waits for the one under way, and the timer
 * schedules its next run only when the previous one has ended. Failures
 * are logged, never thrown from the timer; runs with nothing to do log at
 * debug level only. {@link stop} ends the timer and
 * the run under way at its next safe point.
 */
export class CompactionScheduler {
  readonly #opts: CompactionSchedulerOptions;
  readonly #logger: Logger;
  readonly #timers: Timers;
  #timer: unknown;
  /** The end of the last run started (runs are chained on it). */
  #tail: Promise<unknown> = Promise.resolve();
  /** Runs queued or under way. */
  #pending = 0;
  #stopping = false;

  constructor(opts: CompactionSchedulerOptions) {
    if (!(opts.intervalMs >= 0)) throw new StratusError(`compaction interval ${opts.intervalMs} ms; want 0 (off) or more`);
    this.#opts = opts;
    this.#logger = opts.logger ?? nopLogger;
    this.#timers = opts.timers ?? { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) };
  }

  /** Whether a run is under way or waiting for one. */
  get running(): boolean {
    return this.#pending > 0;
  }

  /** Starts the timer (nothing happens when the interval is 0). */
  start(): void {
    if (this.#opts.intervalMs === 0 || this.#stopping) return;
    this.#schedule(this.#opts.firstDelayMs ?? Math.min(this.#opts.intervalMs, 60_000));
  }

  /**
   * Runs a compaction of every tenant after any run under way, and
   * resolves with its summary (failures of tenants are in the summary).
   *
   * @throws StratusError once {@link stop} was called.
   */
  runNow(opts: { force?: boolean } = {}): Promise<CompactionSummary> {
    if (this.#stopping) return Promise.reject(new StratusError('the server is shutting down'));
    return this.#enqueue(opts.force ?? false, 'request');
  }

  /** Stops the timer, lets the run under way end at its next safe point, and waits for it. */
  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#tail.catch(() => {});
  }

  #schedule(ms: number): void {
    this.#timer = this.#timers.setTimeout(() => {
      this.#timer = undefined;
      if (this.#stopping) return;
      // Skip the tick if an on-demand run is under way: the next tick comes an interval after it.
      const run = this.#pending > 0 ? this.#tail : this.#enqueue(false, 'timer');
      void run.catch(() => {}).finally(() => {
        if (!this.#stopping) this.#schedule(this.#opts.intervalMs);
      });
    }, ms);
  }

  #enqueue(force: boolean, trigger: 'timer' | 'request'): Promise<CompactionSummary> {
    this.#pending++;
    const run = this.#tail
      .catch(() => {})
      .then(() => this.#run(force, trigger))
      .finally(() => this.#pending--);
    this.#tail = run;
    return run;
  }

  async #run(force: boolean, trigger: 'timer' | 'request'): Promise<CompactionSummary> {
    const log = this.#logger;
    try {
      const summary = await compactTenants(this.#opts.storage, {
        ...this.#opts.compactor,
        force,
        // Blocks and skipped tenants at info; deletions (one per replaced object) at debug.
        onProgress: (msg) => {
          const kind = progressKind(msg);
          if (kind === 'block' || kind === 'skipped') log.info('compaction progress', { detail: msg });
          else log.debug('compaction progress', { detail: msg });
        },
        shouldStop: () => this.#stopping,
      });
      const fields = { trigger, force, summary: describeSummary(summary), tenants: summary.tenants.length, ...summary.totals, ms: summary.durationMs };
      if (summary.failed > 0) {
        for (const t of summary.tenants) if (t.error !== undefined) log.error('compaction of a tenant failed', { trigger, tenant: t.tenant, err: t.error });
        log.error('compaction finished with failures', fields);
      } else if (idle(summary)) {
        log.debug('compaction finished', fields); // nothing to do: keep the log quiet
      } else {
        log.info('compaction finished', fields);
      }
      return summary;
    } catch (err) {
      // Listing the tenants failed (the storage is down): log it, the next run retries.
      log.error('compaction could not start', { trigger, err });
      throw err;
    }
  }
}
