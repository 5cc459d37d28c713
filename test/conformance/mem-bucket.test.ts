import { MemBucket } from '../../lib/objstore/mem.ts';
import { prefixedBucket } from '../../lib/objstore/prefixed.ts';
import { bucketAcceptance } from './bucket.ts';

bucketAcceptance('MemBucket', async () => ({ bucket: new MemBucket(), cleanup: async () => {} }));

bucketAcceptance('prefixedBucket over MemBucket', async () => {
  const inner = new MemBucket();
  // A sibling tenant whose objects must stay invisible.
  await inner.put('tenant-10/a/b', Uint8Array.of(1));
  await inner.put('tenant-1x', Uint8Array.of(1));
  return { bucket: prefixedBucket(inner, 'tenant-1'), cleanup: async () => {} };
});
