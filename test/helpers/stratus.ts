/**
 * Starts Stratus in-process on 127.0.0.1 (random port) over a given storage,
 * with the same routes `stratus serve` mounts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpServer } from '../../lib/server/http.ts';
import { createMetricsRegistry } from '../../lib/server/metrics.ts';
import { openLocalStorage, remoteRoutes } from '../../lib/server/app.ts';
import { Storage } from '../../lib/tsdb/db.ts';
import { MemBucket } from '../../lib/objstore/mem.ts';
import { MemKVStore } from '../../lib/kvstore/mem.ts';
import { nopLogger } from '../../lib/util/logger.ts';
import type { Registry } from 'prom-client';
import type { WriteLimits } from '../../lib/remote/write-handler.ts';

export interface RunningStratus {
  url: string;
  storage: Storage;
  registry: Registry;
  close(): Promise<void>;
}

export type StorageKind = 'mem' | 'local';

/** A storage of the given kind; `local` is filesystem + LevelDB in a temp dir. */
export async function makeStorage(kind: StorageKind): Promise<{ storage: Storage; cleanup(): Promise<void> }> {
  if (kind === 'mem') {
    const storage = new Storage({ bucket: new MemBucket(), kv: new MemKVStore() });
    return { storage, cleanup: () => storage.close() };
  }
  const dir = await mkdtemp(join(tmpdir(), 'stratus-test-'));
  const storage = await openLocalStorage(dir);
  return {
    storage,
    cleanup: async () => {
      await storage.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function startStratus(storage: Storage, writeLimits?: WriteLimits): Promise<RunningStratus> {
  const registry = createMetricsRegistry({ defaultMetrics: false });
  const server = new HttpServer({ listenAddress: '127.0.0.1:0', registry, routes: remoteRoutes({ storage, registry, logger: nopLogger, writeLimits }) });
  const { port } = await server.listen();
  server.setReady(true);
  return { url: `http://127.0.0.1:${port}`, storage, registry, close: () => server.shutdown(5000) };
}
