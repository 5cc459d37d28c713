import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SeriesCache } from '../../../lib/tsdb/series-cache.ts';
import { newSeriesEntry } from '../../../lib/tsdb/db.ts';
import { labelsFromPairs } from '../../../lib/labels/labels.ts';
import { hashBytes } from '../../../lib/util/hash.ts';

const h = (b: Uint8Array, s = 0, e = b.length) => hashBytes(new DataView(b.buffer, b.byteOffset, b.byteLength), b, s, e);

describe('hashBytes', () => {
  it('depends on every byte and on the length, tails included', () => {
    const seen = new Set<number>();
    for (let len = 0; len < 12; len++) {
      for (let pos = 0; pos < len; pos++) {
        const b = new Uint8Array(len);
        b[pos] = 1;
        seen.add(h(b));
      }
      seen.add(h(new Uint8Array(len)));
    }
    assert.equal(seen.size, 1 + 11 * 12 / 2 + 11, 'all distinct');
    const b = Buffer.from('xxabcdefghij');
    assert.equal(h(b, 2), h(Buffer.from('abcdefghij')), 'only the range counts');
    assert.ok(Number.isSafeInteger(h(b)));
  });
});

describe('SeriesCache', () => {
  it('hits on equal bytes and never returns a series for other bytes with the same hash', () => {
    const cache = new SeriesCache(100);
    const e = newSeriesEntry(labelsFromPairs({ __name__: 'a' }));
    const raw = Buffer.from('--label-bytes--');
    cache.set(42, raw, 2, 13, e);
    raw.fill(0); // the cache keeps its own copy
    const probe = Buffer.from('label-bytes');
    const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
    assert.equal(cache.get(42, probe, dv(probe), 0, probe.length), e);
    const other = Buffer.from('label-bytez');
    assert.equal(cache.get(42, other, dv(other), 0, other.length), undefined, 'a colliding hash is a miss');
    assert.equal(cache.get(43, probe, dv(probe), 0, probe.length), undefined);
    // Two series whose hashes collide both stay reachable.
    const e2 = newSeriesEntry(labelsFromPairs({ __name__: 'b' }));
    cache.set(42 + 2 ** 30, other, 0, other.length, e2);
    assert.equal(cache.get(42 + 2 ** 30, other, dv(other), 0, other.length), e2);
    assert.equal(cache.get(42, probe, dv(probe), 0, probe.length), e);
  });

  it('stays bounded and keeps recently used entries', () => {
    const cache = new SeriesCache(10);
    const e = newSeriesEntry(labelsFromPairs({ __name__: 'a' }));
    const b = Buffer.from('k');
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    cache.set(0, b, 0, 1, e);
    for (let i = 1; i < 100; i++) {
      cache.set(i, b, 0, 1, e);
      assert.equal(cache.get(0, b, dv, 0, 1), e, 'kept warm, never dropped');
    }
    assert.ok(cache.size <= 10);
  });
});
