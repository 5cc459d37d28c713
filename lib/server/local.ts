/**
 * `stratus serve` (`npm start`): one process serving remote_write,
 * remote_read and the Prometheus query API for Grafana (lib/api) over the
 * embedded storage (filesystem + LevelDB under
 * --data-dir) or over S3 + DynamoDB (--storage=aws), plus /metrics and the
 * health endpoints.
 *
 * Compaction runs in the process every --compact.interval, and on demand
 * through POST /api/v1/admin/compact with --web.enable-admin-api.
 *
 * Shutdown order (SIGTERM/SIGINT): stop accepting and stop the compaction
 * timer (a run under way ends at its next safe point), let in-flight
 * requests finish (bounded), wait for the compaction, then close the
 * storage, so every acknowledged write is already durable and nothing is
 * cut mid-commit.
 */
import { createLogger } from '../util/logger.ts';
import type { ServeConfig } from './cli.ts';
import { HttpServer } from './http.ts';
import { createMetricsRegistry, registerSegmentRunMetrics } from './metrics.ts';
import { waitForShutdownSignal } from './signals.ts';
import { apiRoutes, openStorage, remoteRoutes } from './app.ts';
import { Engine } from '../promql/index.ts';
import { CompactionScheduler } from '../compact/service.ts';
import { adminRoutes, clearStaleLeases } from './compact.ts';
import { meterStores, TenantCostMetrics } from '../cost/index.ts';

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
    const registry = createMetricsRegistry();
    // Per-tenant backend requests and their estimated AWS cost on /metrics (lib/cost/metrics.ts).
    const costs = new TenantCostMetrics(registry);
    const storage = await openStorage(cfg, (stores) => meterStores(stores, costs));
    registerSegmentRunMetrics(registry, storage.runs);
    const compaction = new CompactionScheduler({
      storage,
      intervalMs: cfg.compactIntervalMs,
      logger: logger.child({ component: 'compactor' }),
      compactor: { downsample: true, levels: cfg.levels, ...(cfg.retention === undefined ? {} : { retentionConfig: cfg.retention }) },
    });
    const server = new HttpServer({
      listenAddress: cfg.listenAddress,
      logger: logger.child({ component: 'http' }),
      registry,
      routes: [...remoteRoutes({ storage, registry, logger }), ...apiRoutes({ storage, engine: new Engine(), registry, logger })],
    });
    for (const route of adminRoutes({ enabled: cfg.enableAdminApi, scheduler: compaction })) server.addRoute(route);
    try {
      // LevelDB's lock makes this process the only one using the data dir: a lease left there is stale.
      if (cfg.storage === 'local') await clearStaleLeases(storage, await storage.tenantIds());
      await server.listen();
      server.setReady(true);
      logger.info('Stratus is ready', cfg.storage === 'local' ? { storage: 'local', dataDir: cfg.dataDir } : { storage: 'aws', bucket: cfg.bucket, table: cfg.table });
      compaction.start();
      await sig.received;
      server.setReady(false);
      void compaction.stop(); // a run under way ends at its next safe point
      await server.shutdown(SHUTDOWN_GRACE_MS);
    } finally {
      await compaction.stop();
      await storage.close();
    }
    logger.info('Stratus stopped');
  } finally {
    sig.dispose();
  }
}
