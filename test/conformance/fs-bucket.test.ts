import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsBucket } from '../../lib/objstore/fs/fs-bucket.ts';
import { prefixedBucket } from '../../lib/objstore/prefixed.ts';
import { bucketAcceptance } from './bucket.ts';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'stratus-fs-bucket-'));
}

bucketAcceptance('FsBucket', async () => {
  const dir = await tempDir();
  return { bucket: new FsBucket({ dir: join(dir, 'root') }), cleanup: () => rm(dir, { recursive: true, force: true }) };
});

bucketAcceptance('prefixedBucket over FsBucket', async () => {
  const dir = await tempDir();
  const inner = new FsBucket({ dir });
  await inner.put('tenant-10/a/b', Uint8Array.of(1));
  await inner.put('tenant-1x', Uint8Array.of(1));
  return { bucket: prefixedBucket(inner, 'tenant-1'), cleanup: () => rm(dir, { recursive: true, force: true }) };
});
