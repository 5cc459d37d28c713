import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Bucket } from '../../../lib/objstore/bucket.ts';
import { NotFoundError } from '../../../lib/objstore/errors.ts';
import { type BucketOp, BucketOps, faultyBucket } from '../../../lib/objstore/faulty.ts';
import { MemBucket } from '../../../lib/objstore/mem.ts';

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

const calls: Record<BucketOp, (b: Bucket) => Promise<unknown>> = {
  get: (b) => b.get('k'),
  getRange: (b) => b.getRange('k', 0, 1),
  head: (b) => b.head('k'),
  exists: (b) => b.exists('k'),
  iter: (b) => collect(b.iter('k')),
  put: (b) => b.put('k', Uint8Array.of(9)),
  delete: (b) => b.delete('k'),
};

describe('faultyBucket', () => {
  for (const op of BucketOps) {
    it(`failOn(${op}) rejects only that operation, with the chosen error`, async () => {
      // Prepare
      const inner = new MemBucket();
      await inner.put('k', Uint8Array.of(1));
      const boom = new Error(`injected ${op}`);
      const seen: [BucketOp, string][] = [];
      const bkt = faultyBucket(inner, {
        failOn: (o, key) => {
          seen.push([o, key]);
          return o === op ? boom : undefined;
        },
      });
      // Act + Assess
      for (const other of BucketOps) {
        if (other === op || other === 'delete' || other === 'put') continue;
        await calls[other](bkt);
      }
      await assert.rejects(calls[op](bkt), (err) => err === boom);
      assert.ok(seen.some(([o, key]) => o === op && key === 'k'));
      // The failed operation did not happen.
      assert.deepEqual(await inner.get('k'), Uint8Array.of(1));
    });
  }

  it('failAfter lets the operation happen but reports the error', async () => {
    const inner = new MemBucket();
    const lost = new Error('response lost');
    const bkt = faultyBucket(inner, { failOn: () => undefined, failAfter: (op) => (op === 'put' ? lost : undefined) });
    await assert.rejects(bkt.put('k', Uint8Array.of(7)), (err) => err === lost);
    assert.deepEqual(await inner.get('k'), Uint8Array.of(7));
    assert.deepEqual(await bkt.get('k'), Uint8Array.of(7));
  });

  it('can fail the n-th put only', async () => {
    const inner = new MemBucket();
    let puts = 0;
    const bkt = faultyBucket(inner, {
      failOn: (op) => (op === 'put' && ++puts === 2 ? new Error('second put') : undefined),
    });
    await bkt.put('a', Uint8Array.of(1));
    await assert.rejects(bkt.put('b', Uint8Array.of(1)), /second put/);
    await bkt.put('c', Uint8Array.of(1));
    assert.deepEqual(await collect(inner.iter('')), ['a', 'c']);
  });

  it('delegates isNotFound: injected NotFoundError counts, other errors do not', async () => {
    const bkt = faultyBucket(new MemBucket(), {
      failOn: (op) => (op === 'get' ? new NotFoundError('get k') : op === 'head' ? new Error('x') : undefined),
    });
    assert.equal(bkt.isNotFound(await bkt.get('k').catch((e: unknown) => e)), true);
    assert.equal(bkt.isNotFound(await bkt.head('k').catch((e: unknown) => e)), false);
  });
});
