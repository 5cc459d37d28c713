/**
 * `stratus serve`: the local server. PLACEHOLDER — only the HTTP shell for
 * now; the lead wires storage and the remote_write/remote_read routes here.
 */

import { createLogger } from '../util/logger.ts';
import type { ServeConfig } from './cli.ts';
import { HttpServer } from './http.ts';
import { createMetricsRegistry } from './metrics.ts';
import { waitForShutdownSignal } from './signals.ts';

/** How long in-flight requests may run on after SIGTERM/SIGINT. */
export const SHUTDOWN_GRACE_MS = 30_000;

/**
 * Runs the local server until SIGTERM or SIGINT, then shuts down gracefully
 * and resolves (a second signal exits at once). Rejects if it cannot start.
 */
export async function runServe(cfg: ServeConfig): Promise<void> {
  const logger = createLogger({ level: cfg.logLevel });
  const sig = waitForShutdownSignal({ logger });
  try {
    const server = new HttpServer({
      listenAddress: cfg.listenAddress,
      logger: logger.child({ component: 'http' }),
      registry: createMetricsRegistry(),
    });
    await server.listen();
    server.setReady(true);
    logger.info('Stratus is ready', { dataDir: cfg.dataDir });
    await sig.received;
    await server.shutdown(SHUTDOWN_GRACE_MS);
    logger.info('Stratus stopped');
  } finally {
    sig.dispose();
  }
}
