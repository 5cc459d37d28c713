/**
 * What a benchmark target stores, measured the way that fits it:
 *
 * - local servers (Stratus local, Prometheus, VictoriaMetrics): `du` of the
 *   data directory (allocated blocks; apparent length beside it);
 * - `stratus-aws`: S3 object bytes + DynamoDB item bytes with DynamoDB's
 *   100-byte per-item overhead (aws-emulators.ts); `apparent` is the same
 *   without the overhead.
 *
 * And Stratus' size by part (block objects by resolution, segments, index),
 * from the catalog of every tenant, for either storage.
 */
import { readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { openLocalStorage } from '../../lib/server/app.ts';
import { Storage } from '../../lib/tsdb/db.ts';
import { S3Bucket } from '../../lib/objstore/s3/s3-bucket.ts';
import { DynamoKVStore } from '../../lib/kvstore/dynamodb/dynamo-store.ts';
import { AWS_BUCKET, AWS_TABLE, awsStoredSize, DDB_ITEM_OVERHEAD_BYTES, emulatorsOf } from './aws-emulators.ts';
import { diskUsage } from './proc.ts';
import { TargetName, type Target } from './server.ts';

/** The `stratus-aws` breakdown kept in the results (no per-object list). */
export interface AwsSizeSummary {
  s3ObjectBytes: number;
  s3Objects: number;
  ddbItems: number;
  ddbItemBytes: number;
  ddbOverheadBytes: number;
  s3DirAllocated: number;
  ddbDirAllocated: number;
}

/** A stored size. */
export interface StoredSize {
  /** The figure bytes/sample is computed from. */
  allocated: number;
  apparent: number;
  aws?: AwsSizeSummary;
  /** `stratus-aws`: object bytes by basename (for {@link stratusParts}). */
  objects?: Map<string, number>;
}

/** What `t` stores now under `runDir` / `dataDir` (`exclude`: a `du --exclude` pattern). */
export async function storedSize(t: Target, runDir: string, dataDir: string, exclude?: string): Promise<StoredSize> {
  if (t.name !== TargetName.STRATUS_AWS) return diskUsage(dataDir, exclude);
  const a = await awsStoredSize(runDir);
  const objects = new Map<string, number>();
  for (const [key, size] of a.objects) objects.set(basename(key), size);
  return {
    allocated: a.total,
    apparent: a.s3ObjectBytes + a.ddbItemBytes,
    aws: {
      s3ObjectBytes: a.s3ObjectBytes,
      s3Objects: a.s3Objects,
      ddbItems: a.ddbItems,
      ddbItemBytes: a.ddbItemBytes,
      ddbOverheadBytes: a.ddbItems * DDB_ITEM_OVERHEAD_BYTES,
      s3DirAllocated: a.s3DirAllocated,
      ddbDirAllocated: a.ddbDirAllocated,
    },
    objects,
  };
}

/** Allocated bytes of every file under `dir`, by file name. */
function allocatedByName(dir: string, into = new Map<string, number>()): Map<string, number> {
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, d.name);
    if (d.isDirectory()) allocatedByName(path, into);
    else into.set(d.name, statSync(path).blocks * 512);
  }
  return into;
}

/** Opens the `stratus-aws` storage of `runDir` in this process; `close` releases it. */
async function openAws(runDir: string): Promise<{ storage: Storage; close(): Promise<void> }> {
  const e = emulatorsOf(runDir);
  const s3 = new S3Client({
    endpoint: e.s3Endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const ddb = new DynamoDBClient({ endpoint: e.ddbEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  const storage = new Storage({ bucket: new S3Bucket({ client: s3, bucket: AWS_BUCKET }), kv: new DynamoKVStore({ client: ddb, table: AWS_TABLE }) });
  return {
    storage,
    async close() {
      await storage.close();
      s3.destroy();
      ddb.destroy();
    },
  };
}

/**
 * Stratus' stored size by part: block objects by resolution and segments
 * (from the catalog of every tenant), the index (local: LevelDB directory;
 * aws: DynamoDB items with overhead) and the rest.
 */
export async function stratusParts(t: Target, runDir: string, dataDir: string, size: StoredSize): Promise<Record<string, number>> {
  const aws = t.name === TargetName.STRATUS_AWS;
  const files = aws ? (size.objects ?? new Map<string, number>()) : allocatedByName(join(dataDir, 'objects'));
  const opened = aws ? await openAws(runDir) : { storage: await openLocalStorage(dataDir), close: async () => {} };
  const parts: Record<string, number> = {};
  try {
    const storage = opened.storage;
    for (const tenant of await storage.tenantIds()) {
      for (const { entry } of await storage.tenant(tenant).stores.catalog.all()) {
        const res = entry.kind === 'segment' ? 'segments' : entry.resolution === 0 ? 'blocks raw' : `blocks ${entry.resolution === 300_000 ? '5m' : entry.resolution === 3_600_000 ? '1h' : entry.resolution}`;
        parts[res] = (parts[res] ?? 0) + (files.get(basename(entry.key)) ?? NaN);
      }
    }
  } finally {
    if (aws) await opened.close();
    else await opened.storage.close();
  }
  parts.index = aws ? (size.aws!.ddbItemBytes + size.aws!.ddbOverheadBytes) : diskUsage(join(dataDir, 'index')).allocated;
  parts.other = size.allocated - Object.values(parts).reduce((a, b) => a + b, 0);
  return parts;
}
