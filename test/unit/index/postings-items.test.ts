/**
 * Postings items (lib/index/postings-items.ts): one item per label pair
 * and `LabelIndex.add` call holding the call's ids, split at IdsPerItem;
 * reads take the union of every item of a partition, per-commit and
 * per-series (written before) alike, with repeats removed. A value that
 * is neither form is refused by name.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemKVStore } from '../../../lib/kvstore/mem.ts';
import { IndexKeys } from '../../../lib/index/keys.ts';
import { LabelIndex, type IndexEntry } from '../../../lib/index/label-index.ts';
import { commitSk, encodePostingsValues, IdsPerItem, PackedTag, PostingsUnion } from '../../../lib/index/postings-items.ts';
import { newSeriesEntry } from '../../../lib/tsdb/db.ts';
import { labelsFromPairs } from '../../../lib/labels/labels.ts';
import { MatchType, newMatcher } from '../../../lib/labels/matcher.ts';
import { prng } from '../../helpers/prng.ts';

/** Monday 2024-10-07 (day 20003), the first day of an index bucket. */
const Mon = 20_003;

function randomIds(rnd: () => number, n: number): string[] {
  const ids = new Set<string>();
  while (ids.size < n) {
    let id = '';
    for (let i = 0; i < 32; i++) id += '0123456789abcdef'[Math.floor(rnd() * 16)];
    ids.add(id);
  }
  return [...ids].sort();
}

function union(items: [string, Uint8Array][]): string[] {
  const u = new PostingsUnion();
  for (const [sk, v] of items) u.add(sk, v);
  return u.ids();
}

describe('postings items', () => {
  it('encodes ids as a tag byte and 16 bytes each, split at IdsPerItem, and reads them back', () => {
    // Prepare
    const ids = randomIds(prng(1), IdsPerItem + 3);
    // Act
    const values = encodePostingsValues(ids);
    // Assess
    assert.deepEqual(values.map((v) => v.length), [1 + 16 * IdsPerItem, 1 + 16 * 3]);
    assert.ok(values.every((v) => v[0] === PackedTag));
    assert.equal(Buffer.from(values[0]!.subarray(1, 17)).toString('hex'), ids[0]);
    assert.deepEqual(union(values.map((v, i) => [`@x.${i}`, v])), ids);
    assert.deepEqual(encodePostingsValues([]), []);
  });

  it('unions per-commit and per-series items, repeats removed, sorted', () => {
    // Prepare: three commits overlapping, and series written one item each before.
    const ids = randomIds(prng(2), 400);
    const commits = [ids.slice(0, 150), ids.slice(100, 300), ids.slice(0, 10)];
    const perSeries = ids.slice(250, 400);
    const items: [string, Uint8Array][] = [
      ...commits.map((c, i): [string, Uint8Array] => [`@c${i}`, encodePostingsValues(c)[0]!]),
      ...perSeries.map((id): [string, Uint8Array] => [id, Uint8Array.of(1)]),
    ];
    // Act and assess: in any item order.
    assert.deepEqual(union(items), ids);
    assert.deepEqual(union([...items].reverse().sort(() => 0)), ids);
    assert.deepEqual(union(perSeries.map((id) => [id, Uint8Array.of(1)])), perSeries);
    assert.deepEqual(union([]), []);
  });

  it('refuses ids that are not 32 lowercase hex digits, and values that are not whole ids', () => {
    assert.throws(() => encodePostingsValues(['abc']), /series id "abc" is not 32 hex digits/);
    assert.throws(() => encodePostingsValues(['G'.repeat(32)]), /is not lowercase hex/);
    assert.throws(() => union([['@c', Uint8Array.of(PackedTag, 1, 2)]]), /postings item of 3 bytes/);
  });

  it('makes a new sort key per call that no series id can take', () => {
    const a = commitSk(1_700_000_000_000);
    const b = commitSk(1_700_000_000_000);
    assert.notEqual(a, b);
    assert.match(a, /^@[0-9a-z]+\.[0-9a-f]{16}$/);
  });

  it('LabelIndex.add splits a pair of more than IdsPerItem new series into several items, and select finds them all', async () => {
    // Prepare: IdsPerItem + 2 series sharing job="big", and an older series of the same pair in the per-series form.
    const kv = new MemKVStore();
    const index = new LabelIndex(kv);
    const entries: IndexEntry[] = Array.from({ length: IdsPerItem + 2 }, (_, i) => {
      const s = newSeriesEntry(labelsFromPairs({ job: 'big', i: String(i) }));
      return { bucket: Mon, id: s.id, labels: s.labels, canonical: s.canonical };
    });
    const old = newSeriesEntry(labelsFromPairs({ job: 'big', i: 'old' }));
    await kv.batchPut([
      { pk: IndexKeys.postings(Mon, 'job', 'big'), sk: old.id, value: Uint8Array.of(1) },
      { pk: IndexKeys.series(Mon), sk: old.id, value: old.canonical },
    ]);
    // Act
    await index.add(entries);
    // Assess
    const items: string[] = [];
    for await (const it of kv.query(IndexKeys.postings(Mon, 'job', 'big'))) items.push(it.sk);
    assert.equal(items.length, 3, `two items of this call and the old one: ${items.join(' ')}`);
    const want = [...entries.map((e) => e.id), old.id].sort();
    assert.deepEqual(await index.postings(Mon, 'job', 'big'), want);
    assert.deepEqual([...(await index.select(Mon + 3, [newMatcher(MatchType.Equal, 'job', 'big')])).keys()].sort(), want);
  });
});
