/**
 * The per-query state every (sub-)evaluator shares: the sample budget,
 * the deadline and the caller's AbortSignal, and the warnings gathered.
 *
 * Prometheus counts the samples a query holds in memory at once
 * (`currentSamples`) and fails with "query processing would load too many
 * samples into memory in query execution" past `maxSamples`; the evaluator
 * updates {@link QueryContext.currentSamples} at the same points Prometheus
 * does, so the same queries fail.
 */
import { QueryCanceledError, QueryTimeoutError, TooManySamplesError } from '../errors.ts';

/** Where Prometheus says samples or steps were being processed. */
export const EnvQueryExecution = 'query execution';
export const EnvExpressionEvaluation = 'expression evaluation';

/** How often a long synchronous stretch yields to the event loop, ms. */
const YieldEveryMs = 20;

export class QueryContext {
  /** Samples held in memory now (Prometheus' `ev.currentSamples`). */
  currentSamples = 0;
  readonly warnings: string[] = [];
  private lastYield = performance.now();
  private readonly aborted: Promise<never>;
  private rejectAborted!: (e: Error) => void;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly onAbort = () => this.rejectAborted(new QueryCanceledError(EnvExpressionEvaluation));

  constructor(
    readonly maxSamples: number,
    private readonly deadline: number,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.aborted = new Promise<never>((_, reject) => {
      this.rejectAborted = reject;
    });
    this.aborted.catch(() => {}); // observed through race()
    signal?.addEventListener('abort', this.onAbort, { once: true });
    const left = deadline - Date.now();
    this.timer = setTimeout(() => this.rejectAborted(new QueryTimeoutError(EnvExpressionEvaluation)), Math.max(0, left));
  }

  /** Stops the timer and the abort listener. */
  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.signal?.removeEventListener('abort', this.onAbort);
  }

  /** Throws when the query was canceled or timed out (Prometheus' `contextDone`). */
  check(env: string = EnvExpressionEvaluation): void {
    if (this.signal?.aborted) throw new QueryCanceledError(env);
    if (Date.now() >= this.deadline) throw new QueryTimeoutError(env);
  }

  /**
   * Like {@link check}, and gives the event loop a turn when the evaluator
   * has run for a while without one, so that an abort can be delivered.
   */
  async checkAndYield(env: string = EnvExpressionEvaluation): Promise<void> {
    this.check(env);
    const now = performance.now();
    if (now - this.lastYield >= YieldEveryMs) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      this.lastYield = performance.now();
      this.check(env);
    }
  }

  /** Awaits `p`, or rejects as soon as the query is canceled or times out. */
  race<T>(p: Promise<T>): Promise<T> {
    return Promise.race([p, this.aborted]);
  }

  /** Throws Prometheus' ErrTooManySamples. */
  tooManySamples(): never {
    throw new TooManySamplesError(EnvQueryExecution);
  }

  /** Adds one sample, failing first when the budget is already spent (`< max` then `++`). */
  addOne(): void {
    if (this.currentSamples >= this.maxSamples) this.tooManySamples();
    this.currentSamples++;
  }
}
