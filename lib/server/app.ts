/**
 * The pieces `stratus serve` (and later the container) assemble: the
 * embedded storage and the remote_write / remote_read routes.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import { FsBucket } from '../objstore/fs/fs-bucket.ts';
import { LevelKVStore } from '../kvstore/leveldb/leveldb-store.ts';
import { Storage, type StorageOptions } from '../tsdb/db.ts';
import { CatalogPartition } from '../catalog/catalog.ts';
import { OwnedQueryCache } from '../catalog/query-cache.ts';
import type { Bucket } from '../objstore/bucket.ts';
import type { KVStore } from '../kvstore/kvstore.ts';
import { newRemoteMetrics } from '../remote/metrics.ts';
import { newWriteHandler, type WriteLimits } from '../remote/write-handler.ts';
import { newReadHandler } from '../remote/read-handler.ts';
import type { Logger } from '../util/logger.ts';
import type { Route } from './http.ts';
import { apiEndpoints, type QueryEngine } from '../api/index.ts';

/** Largest compressed remote_write body accepted (Prometheus sends a few MiB at most). */
export const MaxWriteBodyBytes = 32 * 1024 * 1024;
/** Largest compressed remote_read request accepted. */
export const MaxReadBodyBytes = 4 * 1024 * 1024;
/** Largest form-encoded API request body accepted (long queries and many match[]). */
export const MaxApiBodyBytes = 4 * 1024 * 1024;

/**
 * Opens the embedded storage under `dataDir`: objects in `objects/` on the
 * filesystem, the index and catalog in a LevelDB under `index/`.
 */
export async function openLocalStorage(dataDir: string, decorate: StoreDecorator = (s) => s, options: Pick<StorageOptions, 'segmentRuns'> = {}): Promise<Storage> {
  await mkdir(dataDir, { recursive: true });
  const bucket = new FsBucket({ dir: join(dataDir, 'objects') });
  // LevelDB's lock makes this process the only writer of the index store, so
  // catalog and label-index queries can be answered from memory until a write
  // of this process touches their range (lib/catalog/query-cache.ts).
  const kv = new OwnedQueryCache(await LevelKVStore.open({ dir: join(dataDir, 'index') }), { cacheable: isCachedPartition });
  // Concurrent writes share a segment file and its fsyncs (lib/tsdb/group-commit.ts).
  return new Storage({ ...decorate({ bucket, kv }), groupCommit: { soleWriter: true }, postingsCache: { soleWriter: true }, ...options });
}

/**
 * Partitions whose queries (and point reads) local mode answers from
 * memory: a tenant's catalog (`<tenant>/catalog`: lib/tsdb/db.ts prefixes
 * each tenant's partitions), and its label index's names, values and
 * postings token (lib/index/keys.ts), which a read of data still in
 * segments reads once per matcher or week; they change only when a series
 * is new in its week. Postings lists are kept by the label index itself,
 * decoded, while the token holds (`postingsCache`).
 */
export function isCachedPartition(pk: string): boolean {
  return pk.endsWith(`/${CatalogPartition}`) || LabelIndexQueried.test(pk);
}

const LabelIndexQueried = /\/ix\/w[^/]+\/(?:values\/|names$|token$)/;

/**
 * Wraps the root object store and index store before the storage is built
 * on them (e.g. lib/cost's metering decorators, which read the tenant off
 * every key).
 */
export type StoreDecorator = (stores: { bucket: Bucket; kv: KVStore }) => { bucket: Bucket; kv: KVStore };

/** Storage flags of `stratus serve` (see cli.ts). */
export interface StorageConfig {
  storage: 'local' | 'aws';
  dataDir: string;
  bucket: string;
  table: string;
  createResources: boolean;
}

/**
 * Opens the storage `stratus serve` was told to use. For `aws`, the SDK
 * finds endpoints (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL_DYNAMODB), region
 * and credentials in its standard places. Path-style S3 addressing works on
 * AWS (for bucket names without dots) and on every S3-compatible server.
 */
export async function openStorage(cfg: StorageConfig, decorate: StoreDecorator = (s) => s): Promise<Storage> {
  if (cfg.storage === 'local') return openLocalStorage(cfg.dataDir, decorate);
  const [{ S3Client }, { DynamoDBClient }, { S3Bucket }, { ensureBucket }, { DynamoKVStore }, { ensureTable }, { sdkClientDefaults }] = await Promise.all([
    import('@aws-sdk/client-s3'),
    import('@aws-sdk/client-dynamodb'),
    import('../objstore/s3/s3-bucket.ts'),
    import('../objstore/s3/ensure-bucket.ts'),
    import('../kvstore/dynamodb/dynamo-store.ts'),
    import('../kvstore/dynamodb/ensure-table.ts'),
    import('../aws/client-config.ts'),
  ]);
  // A logger without `info`: less SDK CPU per request (lib/aws/client-config.ts).
  const sdk = sdkClientDefaults();
  const s3 = new S3Client({ ...sdk, forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
  const ddb = new DynamoDBClient({ ...sdk });
  if (cfg.createResources) {
    await ensureBucket(s3, cfg.bucket);
    await ensureTable(ddb, cfg.table);
  }
  return new Storage({ ...decorate({ bucket: new S3Bucket({ client: s3, bucket: cfg.bucket }), kv: new DynamoKVStore({ client: ddb, table: cfg.table }) }), ...AwsServeOptions });
}

/**
 * What `stratus serve --storage=aws` adds to the stores: concurrent
 * requests of a tenant share a segment, hence one PutObject and one
 * catalog write per group instead of per request (lib/tsdb/group-commit.ts;
 * not the sole writer: Lambda functions may write beside it), and postings
 * are kept across reads while their week's token holds.
 */
export const AwsServeOptions = { groupCommit: { soleWriter: false }, postingsCache: true } as const satisfies Partial<StorageOptions>;

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

/** Options of {@link apiRoutes}. */
export interface ApiRoutesOptions {
  storage: Storage;
  /** The PromQL engine (lib/promql's `Engine`). */
  engine: QueryEngine;
  registry: Registry;
  logger: Logger;
}

/**
 * The Prometheus HTTP API for Grafana (`/api/v1/query`, `query_range`,
 * `series`, `labels`, `label/<name>/values`, ...; see lib/api/README.md)
 * over `storage`, the tenant taken from `X-Scope-OrgID`.
 */
export function apiRoutes(opts: ApiRoutesOptions): Route[] {
  const endpoints = apiEndpoints({
    storage: opts.storage,
    engine: opts.engine,
    registry: opts.registry,
    logger: opts.logger.child({ component: 'api' }),
  });
  return endpoints.map((e) => ({ method: e.methods, path: e.path, name: e.name, handler: e.handler, maxBodyBytes: MaxApiBodyBytes }));
}
