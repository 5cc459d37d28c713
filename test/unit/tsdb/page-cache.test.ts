import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PageCache } from '../../../lib/tsdb/page-cache.ts';

describe('PageCache', () => {
  it('keeps pages within its byte budget, evicting the least recently used', () => {
    // Prepare
    const c = new PageCache(100);
    const page = (n: number, fill: number) => new Uint8Array(n).fill(fill);
    c.set('a', page(20, 1));
    c.set('b', page(20, 2));
    c.set('c', page(20, 3));
    // Act: touch a, then overflow.
    assert.equal(c.get('a')![0], 1);
    c.set('d', page(20, 4));
    c.set('e', page(25, 5));
    // Assess: b (least recently used) went; the rest fit in 100 bytes.
    assert.equal(c.get('b'), undefined);
    assert.deepEqual(['a', 'c', 'd', 'e'].map((k) => c.get(k)?.[0]), [1, 3, 4, 5]);
    assert.ok(c.size <= 100);
    // A page over a quarter of the budget is not kept.
    c.set('big', page(26, 9));
    assert.equal(c.get('big'), undefined);
    // Replacing a key does not count it twice.
    c.set('a', page(10, 7));
    assert.equal(c.get('a')![0], 7);
    assert.equal(c.size, 10 + 20 + 20 + 25);
  });
});
