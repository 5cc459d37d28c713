import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemBucket } from '../../../lib/objstore/mem.ts';

describe('MemBucket', () => {
  it('takes lastModified from the injected clock', async () => {
    // Prepare
    let now = 1_700_000_000_123;
    const bkt = new MemBucket({ now: () => now });
    // Act
    await bkt.put('a', Uint8Array.of(1));
    now += 5000;
    await bkt.put('b', Uint8Array.of(1));
    // Assess
    assert.equal((await bkt.head('a')).lastModified.getTime(), 1_700_000_000_123);
    assert.equal((await bkt.head('b')).lastModified.getTime(), 1_700_000_005_123);
  });

  it('copies the data before put returns, even before it resolves', async () => {
    const bkt = new MemBucket();
    const data = Uint8Array.of(1, 2, 3);
    const done = bkt.put('k', data);
    data.fill(9);
    await done;
    assert.deepEqual(await bkt.get('k'), Uint8Array.of(1, 2, 3));
  });

  it('iter lists a snapshot: keys written during iteration do not appear', async () => {
    const bkt = new MemBucket();
    await bkt.put('a', Uint8Array.of(1));
    await bkt.put('c', Uint8Array.of(1));
    const seen: string[] = [];
    for await (const k of bkt.iter('')) {
      seen.push(k);
      await bkt.put('b', Uint8Array.of(1));
    }
    assert.deepEqual(seen, ['a', 'c']);
  });
});
