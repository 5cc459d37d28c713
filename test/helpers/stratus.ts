/**
 * Starts Stratus in-process on 127.0.0.1 (random port) over a given storage,
 * with the same routes `stratus serve` mounts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpServer } from '../../lib/server/http.ts';
import { createMetricsRegistry } from '../../lib/server/metrics.ts';
import { AwsServeOptions, openLocalStorage, remoteRoutes } from '../../lib/server/app.ts';
import { Storage } from '../../lib/tsdb/db.ts';
import { MemBucket } from '../../lib/objstore/mem.ts';
import { MemKVStore } from '../../lib/kvstore/mem.ts';
import { nopLogger } from '../../lib/util/logger.ts';
import type { Registry } from 'prom-client';
import type { WriteLimits } from '../../lib/remote/write-handler.ts';
import { S3Bucket } from '../../lib/objstore/s3/s3-bucket.ts';
import { ensureBucket } from '../../lib/objstore/s3/ensure-bucket.ts';
import { DynamoKVStore } from '../../lib/kvstore/dynamodb/dynamo-store.ts';
import { ensureTable } from '../../lib/kvstore/dynamodb/ensure-table.ts';
import { startS3rver, type S3rverHandle } from '../integration/s3/s3rver.ts';
import { startDynalite, type Dynalite } from '../integration/dynamodb/dynalite.ts';

export interface RunningStratus {
  url: string;
  storage: Storage;
  registry: Registry;
  close(): Promise<void>;
}

export type StorageKind = 'mem' | 'local' | 'aws';

/** S3 (s3rver) and DynamoDB (dynalite) servers on loopback, with a bucket and a table. */
export async function startAwsEmulators(): Promise<{ s3: S3rverHandle; ddb: Dynalite; bucket: string; table: string; stop(): Promise<void> }> {
  const s3 = await startS3rver();
  const ddb = await startDynalite();
  const bucket = 'stratus-test';
  const table = 'stratus-test';
  const s3c = s3.client();
  await ensureBucket(s3c, bucket);
  s3c.destroy();
  await ensureTable(ddb.client(), table);
  return { s3, ddb, bucket, table, stop: async () => void (await Promise.all([s3.stop(), ddb.stop()])) };
}

/**
 * A storage of the given kind: `mem`, `local` (filesystem + LevelDB in a
 * temp dir) or `aws` (S3 + DynamoDB backends on s3rver + dynalite, with
 * the options `stratus serve --storage=aws` adds).
 */
export async function makeStorage(kind: StorageKind): Promise<{ storage: Storage; cleanup(): Promise<void> }> {
  if (kind === 'aws') {
    const emu = await startAwsEmulators();
    const client = emu.s3.client();
    // As `stratus serve --storage=aws` builds it (group commit, postings cache).
    const storage = new Storage({ bucket: new S3Bucket({ client, bucket: emu.bucket }), kv: new DynamoKVStore({ client: emu.ddb.client(), table: emu.table }), ...AwsServeOptions });
    return {
      storage,
      cleanup: async () => {
        await storage.close();
        client.destroy();
        await emu.stop();
      },
    };
  }
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
