import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { intersect, intersectUnions, merge, without } from '../../../lib/index/postings.ts';
import { bucketKey, bucketOf, daysOfIndexBucket, IndexKeys, indexBucketKey, indexBucketOf, indexBucketOfDay, indexBucketRange, indexBucketsOfDays, keyString, parseBucketKey, parseIndexBucketKey } from '../../../lib/index/keys.ts';

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

describe('unions of postings', () => {
  // Sorted unique ids from a pool of `pool` ids, about `n` of them.
  const listOf = (rnd: () => number, n: number, pool: number): string[] =>
    [...new Set(Array.from({ length: n }, () => Math.floor(rnd() * pool).toString(16).padStart(4, '0')))].sort();

  it('merge and intersectUnions agree with set-based oracles, small and large groups alike', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 300; round++) {
      // Groups of 0-40 lists; some lists long (hosts' postings), some short (a metric's).
      const groups = Array.from({ length: 1 + Math.floor(rnd() * 3) }, () =>
        Array.from({ length: Math.floor(rnd() * 40) }, () => listOf(rnd, rnd() < 0.5 ? Math.floor(rnd() * 4) : Math.floor(rnd() * 400), 3000)),
      );
      const unions = groups.map((lists) => [...new Set(lists.flat())].sort());
      for (let g = 0; g < groups.length; g++) assert.deepEqual(merge(groups[g]!), unions[g]);
      const want = unions[0]!.filter((x) => unions.every((u) => u.includes(x)));
      assert.deepEqual(intersectUnions(groups), want, `round ${round}`);
    }
  });

  it('finds a few ids among many long lists, and leaves its inputs alone', () => {
    // Prepare: 100 wanted ids against 25 lists of 400 (the lookup path).
    let seed = 3;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const hosts = Array.from({ length: 25 }, () => listOf(rnd, 400, 20000));
    const metric = [...new Set([...hosts.map((h) => h[7]!), ...listOf(rnd, 75, 20000)])].sort();
    const copies = JSON.stringify([hosts, metric]);
    // Act
    const got = intersectUnions([[metric], hosts]);
    // Assess
    const all = new Set(hosts.flat());
    assert.deepEqual(got, metric.filter((x) => all.has(x)));
    assert.ok(got.length >= 25);
    assert.equal(JSON.stringify([hosts, metric]), copies);
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

  // Index buckets are weeks from Monday 00:00 UTC, named by the day bucket of that Monday.
  const weeks: { what: string; t: number; week: number }[] = [
    { what: 'Friday 2025-11-21', t: Date.UTC(2025, 10, 21, 12), week: Date.UTC(2025, 10, 17) / 86_400_000 },
    { what: 'Monday 2025-11-17 00:00', t: Date.UTC(2025, 10, 17), week: Date.UTC(2025, 10, 17) / 86_400_000 },
    { what: 'Sunday 2025-11-23 23:59:59.999', t: Date.UTC(2025, 10, 24) - 1, week: Date.UTC(2025, 10, 17) / 86_400_000 },
    { what: 'Monday 2025-11-24 00:00', t: Date.UTC(2025, 10, 24), week: Date.UTC(2025, 10, 24) / 86_400_000 },
    { what: 'the epoch (a Thursday)', t: 0, week: -3 },
    { what: 'the last ms of 1969', t: -1, week: -3 },
    { what: 'Sunday 1969-12-28', t: Date.UTC(1969, 11, 28, 5), week: -10 },
    { what: 'Monday 1970-01-05', t: Date.UTC(1970, 0, 5), week: 4 },
    { what: 'far before 1970', t: -8.6e15, week: indexBucketOfDay(Math.floor(-8.6e15 / 86_400_000)) },
  ];
  for (const c of weeks) {
    it(`index bucket of ${c.what}`, () => {
      // Act
      const w = indexBucketOf(c.t);
      // Assess
      assert.equal(w, c.week);
      assert.equal(new Date(w * 86_400_000).getUTCDay(), 1, 'a Monday');
      const [from, to] = indexBucketRange(w);
      assert.ok(from <= c.t && c.t <= to && to - from + 1 === 7 * 86_400_000);
      for (const d of daysOfIndexBucket(bucketOf(c.t))) {
        assert.equal(indexBucketOfDay(d), w);
        assert.equal(IndexKeys.series(d), IndexKeys.series(w), 'every day of the week names the same partition');
        assert.equal(indexBucketKey(d), indexBucketKey(w));
      }
      assert.notEqual(IndexKeys.series(w + 7), IndexKeys.series(w));
      assert.notEqual(IndexKeys.postings(w - 1, 'a', 'b'), IndexKeys.postings(w, 'a', 'b'));
      assert.equal(parseIndexBucketKey(indexBucketKey(w)), w);
    });
  }

  it('index bucket keys sort like weeks and differ from day keys', () => {
    const ws = [-100_000_000, -20000, -10, -3, 4, 20409, 20416, 100_000_000].map(indexBucketOfDay);
    const keys = ws.map(indexBucketKey);
    assert.deepEqual([...keys].sort(), keys);
    assert.equal(indexBucketKey(20413), 'w200020409');
    assert.equal(parseIndexBucketKey(bucketKey(20409)), undefined, 'a day-layout key is not an index bucket key');
    assert.equal(IndexKeys.series(20413), 'ix/w200020409/series');
    assert.deepEqual(indexBucketsOfDays([20417, 20413, 20409, 20415, 20416, -1, 0, -4]), [-10, -3, 20409, 20416]);
  });

  it('long strings are shortened with a hash', () => {
    const long = 'x'.repeat(600);
    const k = keyString(long);
    assert.ok(Buffer.byteLength(k) < 200);
    assert.notEqual(keyString(long + 'y'), k);
    assert.equal(keyString('short'), 'short');
  });
});
