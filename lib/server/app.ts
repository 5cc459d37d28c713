/**
 * The pieces `stratus serve` (and later the container) assemble: the
 * embedded storage and the remote_write / remote_read routes.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import { FsBucket } from '../objstore/fs/fs-bucket.ts';
import { LevelKVStore } from '../kvstore/leveldb/leveldb-store.ts';
import { Storage } from '../tsdb/db.ts';
import { newRemoteMetrics } from '../remote/metrics.ts';
import { newWriteHandler, type WriteLimits } from '../remote/write-handler.ts';
import { newReadHandler } from '../remote/read-handler.ts';
import type { Logger } from '../util/logger.ts';
import type { Route } from './http.ts';

/** Largest compressed remote_write body accepted (Prometheus sends a few MiB at most). */
export const MaxWriteBodyBytes = 32 * 1024 * 1024;
/** Largest compressed remote_read request accepted. */
export const MaxReadBodyBytes = 4 * 1024 * 1024;

/**
 * Opens the embedded storage under `dataDir`: objects in `objects/` on the
 * filesystem, the index and catalog in a LevelDB under `index/`.
 */
export async function openLocalStorage(dataDir: string): Promise<Storage> {
  await mkdir(dataDir, { recursive: true });
  const bucket = new FsBucket({ dir: join(dataDir, 'objects') });
  const kv = await LevelKVStore.open({ dir: join(dataDir, 'index') });
  return new Storage({ bucket, kv });
}

export interface RemoteRoutesOptions {
  storage: Storage;
  registry: Registry;
  logger: Logger;
  writeLimits?: WriteLimits;
}

/** POST /api/v1/write and POST /api/v1/read over `storage`. */
export function remoteRoutes(opts: RemoteRoutesOptions): Route[] {
  const metrics = newRemoteMetrics(opts.registry);
  return [
    {
      method: 'POST',
      path: '/api/v1/write',
      name: 'write',
      maxBodyBytes: MaxWriteBodyBytes,
      handler: newWriteHandler({ storage: opts.storage, metrics, logger: opts.logger.child({ component: 'remote_write' }), limits: opts.writeLimits }),
    },
    {
      method: 'POST',
      path: '/api/v1/read',
      name: 'read',
      maxBodyBytes: MaxReadBodyBytes,
      handler: newReadHandler({ storage: opts.storage, metrics, logger: opts.logger.child({ component: 'remote_read' }) }),
    },
  ];
}
