/**
 * Termination signals, the Prometheus way: the first SIGTERM or SIGINT starts
 * a graceful shutdown (in-flight requests finish), a second one forces the
 * process out at once.
 */

import { nopLogger, type Logger } from '../util/logger.ts';

/** The part of `process` this module uses; tests pass an `EventEmitter`. */
export interface SignalSource {
  on(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  off(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
}

/** Options of {@link waitForShutdownSignal}. */
export interface ShutdownSignalOptions {
  /** @default ['SIGTERM', 'SIGINT'] */
  signals?: readonly NodeJS.Signals[];
  /** @default nopLogger */
  logger?: Logger;
  /** @default process */
  source?: SignalSource;
  /** Called on the second signal. @default () => process.exit(1) */
  force?: (signal: NodeJS.Signals) => void;
}

/** A pending wait for a termination signal. */
export interface ShutdownSignal {
  /** Resolves with the first signal received. */
  readonly received: Promise<NodeJS.Signals>;
  /** Stops listening (the second-signal guard included); call it once shutdown is complete. */
  dispose(): void;
}

/**
 * Listens for termination signals. The first one resolves `received`; any
 * later one logs and calls `force` (by default exiting with status 1), so a
 * stuck shutdown can always be cut short. While listening, the signals no
 * longer kill the process by themselves.
 *
 * @example
 * const sig = waitForShutdownSignal({ logger });
 * logger.info('shutting down', { signal: await sig.received });
 * await server.shutdown(30_000);
 * sig.dispose();
 */
export function waitForShutdownSignal(opts: ShutdownSignalOptions = {}): ShutdownSignal {
  const signals = opts.signals ?? ['SIGTERM', 'SIGINT'];
  const logger = opts.logger ?? nopLogger;
  const source: SignalSource = opts.source ?? process;
  const force = opts.force ?? (() => process.exit(1));
  let first: NodeJS.Signals | undefined;
  let resolve!: (signal: NodeJS.Signals) => void;
  const received = new Promise<NodeJS.Signals>((r) => {
    resolve = r;
  });
  const listener = (signal: NodeJS.Signals): void => {
    if (first === undefined) {
      first = signal;
      logger.info('received signal; shutting down gracefully (send it again to force)', { signal });
      resolve(signal);
      return;
    }
    logger.warn('received second signal; exiting without finishing shutdown', { signal, first });
    force(signal);
  };
  for (const s of signals) source.on(s, listener);
  return {
    received,
    dispose: () => {
      for (const s of signals) source.off(s, listener);
    },
  };
}
