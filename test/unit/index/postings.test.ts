import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { intersect, merge, without } from '../../../lib/index/postings.ts';
import { bucketKey, bucketOf, keyString, parseBucketKey } from '../../../lib/index/keys.ts';

describe('postings', () => {
  const cases: { name: string; lists: string[][]; inter: string[]; union: string[] }[] = [
    { name: 'empty', lists: [], inter: [], union: [] },
    { name: 'one', lists: [['a', 'b']], inter: ['a', 'b'], union: ['a', 'b'] },
    { name: 'overlap', lists: [['a', 'c', 'e', 'g'], ['b', 'c', 'g', 'h'], ['c', 'd', 'g']], inter: ['c', 'g'], union: ['a', 'b', 'c', 'd', 'e', 'g', 'h'] },
    { name: 'disjoint', lists: [['a'], ['b']], inter: [], union: ['a', 'b'] },
    { name: 'with empty', lists: [['a'], []], inter: [], union: ['a'] },
  ];
  for (const c of cases) {
    it(`intersect and merge: ${c.name}`, () => {
      assert.deepEqual(intersect(c.lists), c.inter);
      assert.deepEqual(merge(c.lists), c.union);
    });
  }

  it('without', () => {
    assert.deepEqual(without(['a', 'b', 'c', 'd'], ['b', 'd', 'e']), ['a', 'c']);
    assert.deepEqual(without(['a'], []), ['a']);
    assert.deepEqual(without([], ['a']), []);
  });

  it('intersect agrees with a set-based oracle on random lists', () => {
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 200; round++) {
      const lists = Array.from({ length: 1 + Math.floor(rnd() * 4) }, () =>
        [...new Set(Array.from({ length: Math.floor(rnd() * 30) }, () => Math.floor(rnd() * 40).toString(16).padStart(2, '0')))].sort(),
      );
      const want = lists[0]!.filter((x) => lists.every((l) => l.includes(x)));
      assert.deepEqual(intersect(lists), want);
    }
  });
});

describe('index keys', () => {
  it('bucket keys sort like bucket numbers, before 1970 too', () => {
    const buckets = [-100_000_000, -20000, -1, 0, 1, 20413, 100_000_000];
    const keys = buckets.map(bucketKey);
    assert.deepEqual([...keys].sort(), keys);
    for (const b of buckets) assert.equal(parseBucketKey(bucketKey(b)), b);
    assert.equal(bucketOf(-1), -1);
    assert.equal(bucketOf(0), 0);
    assert.equal(bucketOf(86_399_999), 0);
  });

  it('long strings are shortened with a hash', () => {
    const long = 'x'.repeat(600);
    const k = keyString(long);
    assert.ok(Buffer.byteLength(k) < 200);
    assert.notEqual(keyString(long + 'y'), k);
    assert.equal(keyString('short'), 'short');
  });
});
