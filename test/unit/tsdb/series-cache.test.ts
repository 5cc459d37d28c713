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
  const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
  const entry = (v: string) => newSeriesEntry(labelsFromPairs({ __name__: v }));

  it('finds series by their bytes, never another one', () => {
    const cache = new SeriesCache(100);
    const a = entry('a');
    const raw = Buffer.from('--label-bytes--');
    cache.add(raw, dv(raw), 2, 13, a);
    raw.fill(0); // the cache keeps its own copy
    const probe = Buffer.from('label-bytes');
    assert.equal(cache.find(probe, dv(probe), 0, probe.length)?.entry, a);
    const other = Buffer.from('label-bytez');
    assert.equal(cache.find(other, dv(other), 0, other.length), undefined);
    assert.equal(cache.find(probe, dv(probe), 0, 5), undefined, 'a prefix is another series');
  });

  it('tries the last follower first, and a wrong guess is only a guess', () => {
    const cache = new SeriesCache(100);
    const bytes = ['series-a', 'series-b', 'series-c'].map((s) => Buffer.from(s));
    const [a, b] = [entry('a'), entry('b')];
    const ha = cache.add(bytes[0]!, dv(bytes[0]!), 0, 8, a);
    const hb = cache.add(bytes[1]!, dv(bytes[1]!), 0, 8, b, ha); // b followed a
    assert.equal(cache.find(bytes[1]!, dv(bytes[1]!), 0, 8, ha), hb, 'the guess');
    assert.equal(cache.find(bytes[2]!, dv(bytes[2]!), 0, 8, ha), undefined, 'c is not b, and not cached');
    assert.equal(cache.find(bytes[0]!, dv(bytes[0]!), 0, 8, hb)?.entry, a, 'found by hash; a now follows b');
    assert.equal(cache.find(bytes[0]!, dv(bytes[0]!), 0, 8, hb)?.entry, a);
  });

  it('stays bounded and keeps recently used entries', () => {
    const cache = new SeriesCache(10);
    const first = Buffer.from('k0');
    cache.add(first, dv(first), 0, 2, entry('k0'));
    for (let i = 1; i < 100; i++) {
      const b = Buffer.from(`k${i}`);
      cache.add(b, dv(b), 0, b.length, entry(`k${i}`));
      assert.ok(cache.find(first, dv(first), 0, 2) !== undefined, 'kept warm, never dropped');
    }
    assert.ok(cache.size <= 10);
  });
});
