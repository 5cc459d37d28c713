/**
 * `stratus serve` (`npm start`): one process serving remote_write and
 * remote_read over the embedded storage (filesystem + LevelDB under
 * --data-dir) or over S3 + DynamoDB (--storage=aws), plus /metrics and the
 * health endpoints.
 *
 * Shutdown order (SIGTERM/SIGINT): stop accepting, let in-flight requests
 * finish (bounded), then close the storage, so every acknowledged write is
 * already durable and nothing is cut mid-commit.
 */
import { createLogger } from '../util/logger.ts';
import type { ServeConfig } from './cli.ts';
import { HttpServer } from './http.ts';
import { createMetricsRegistry } from './metrics.ts';
import { waitForShutdownSignal } from './signals.ts';
import { openStorage, remoteRoutes } from './app.ts';

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
    const storage = await openStorage(cfg);
    const registry = createMetricsRegistry();
    const server = new HttpServer({
      listenAddress: cfg.listenAddress,
      logger: logger.child({ component: 'http' }),
      registry,
      routes: remoteRoutes({ storage, registry, logger }),
    });
    try {
      await server.listen();
      server.setReady(true);
      logger.info('Stratus is ready', cfg.storage === 'local' ? { storage: 'local', dataDir: cfg.dataDir } : { storage: 'aws', bucket: cfg.bucket, table: cfg.table });
      await sig.received;
      server.setReady(false);
      await server.shutdown(SHUTDOWN_GRACE_MS);
    } finally {
      await storage.close();
    }
    logger.info('Stratus stopped');
  } finally {
    sig.dispose();
  }
}
