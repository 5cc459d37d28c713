import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidKeyError, NotFoundError } from '../../../lib/objstore/errors.ts';
import { MemBucket } from '../../../lib/objstore/mem.ts';
import { prefixedBucket } from '../../../lib/objstore/prefixed.ts';

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('prefixedBucket', () => {
  it('stores every key under "<prefix>/" of the inner bucket', async () => {
    // Prepare
    const inner = new MemBucket();
    const bkt = prefixedBucket(inner, 't1');
    // Act
    await bkt.put('a/b', Uint8Array.of(1));
    await bkt.put('c', Uint8Array.of(2));
    // Assess
    assert.deepEqual(await collect(inner.iter('')), ['t1/a/b', 't1/c']);
    assert.deepEqual(await bkt.get('a/b'), Uint8Array.of(1));
    assert.deepEqual(await bkt.getRange('c', 0, 5), Uint8Array.of(2));
    assert.equal((await bkt.head('c')).size, 1);
    assert.equal(await bkt.exists('c'), true);
    await bkt.delete('c');
    assert.equal(await inner.exists('t1/c'), false);
  });

  it('iter strips the prefix and never shows sibling tenants', async () => {
    const inner = new MemBucket();
    for (const k of ['t1/x', 't1/y/z', 't10/x', 't1x', 't2/x']) await inner.put(k, Uint8Array.of(0));
    const bkt = prefixedBucket(inner, 't1');
    assert.deepEqual(await collect(bkt.iter('')), ['x', 'y/z']);
    assert.deepEqual(await collect(bkt.iter('y')), ['y/z']);
  });

  it('keeps callers inside the prefix: ".." keys and prefixes are refused', async () => {
    const inner = new MemBucket();
    await inner.put('t2/secret', Uint8Array.of(0));
    const bkt = prefixedBucket(inner, 't1');
    await assert.rejects(bkt.get('../t2/secret'), InvalidKeyError);
    await assert.rejects(bkt.put('../t2/secret', Uint8Array.of(1)), InvalidKeyError);
    await assert.rejects(bkt.delete('../t2/secret'), InvalidKeyError);
    assert.deepEqual(await collect(bkt.iter('../t2/')), []);
    assert.deepEqual(await collect(bkt.iter('/')), []);
    assert.deepEqual(await inner.get('t2/secret'), Uint8Array.of(0));
  });

  const prefixes: { prefix: string; stored: string }[] = [
    { prefix: 'tenant', stored: 'tenant/k' },
    { prefix: '/tenant/', stored: 'tenant/k' },
    { prefix: 'a/b', stored: 'a/b/k' },
  ];
  for (const p of prefixes) {
    it(`trims slashes around the prefix ${JSON.stringify(p.prefix)}`, async () => {
      const inner = new MemBucket();
      await prefixedBucket(inner, p.prefix).put('k', Uint8Array.of(0));
      assert.deepEqual(await collect(inner.iter('')), [p.stored]);
    });
  }

  it('returns the inner bucket for an empty prefix and rejects an invalid one', () => {
    const inner = new MemBucket();
    assert.equal(prefixedBucket(inner, ''), inner);
    assert.equal(prefixedBucket(inner, '//'), inner);
    assert.throws(() => prefixedBucket(inner, 'a/../b'), InvalidKeyError);
    assert.throws(() => prefixedBucket(inner, 'a\0'), InvalidKeyError);
  });

  it('passes isNotFound through to the inner bucket', async () => {
    const bkt = prefixedBucket(new MemBucket(), 't');
    const err = await bkt.get('missing').catch((e: unknown) => e);
    assert.ok(err instanceof NotFoundError);
    assert.equal(bkt.isNotFound(err), true);
    assert.match((err as Error).message, /t\/missing/);
  });
});
