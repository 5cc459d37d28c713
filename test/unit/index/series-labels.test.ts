/**
 * LabelIndex.seriesLabels: the label bytes of given series, from a cache
 * kept across calls; the compactor's fillLabels uses it, so a scheduled run
 * every few minutes reads the week's series partition once, not per job.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LabelIndex } from '../../../lib/index/label-index.ts';
import { KnownLabels } from '../../../lib/index/known-labels.ts';
import { MemKVStore } from '../../../lib/kvstore/mem.ts';
import type { KVStore } from '../../../lib/kvstore/kvstore.ts';
import { observedKV } from '../../helpers/observed-kv.ts';
import { encodeLabels, labelsFromPairs, labelsToString, type Labels } from '../../../lib/labels/labels.ts';
import { MatchType, newMatcher } from '../../../lib/labels/matcher.ts';
import { newSeriesEntry } from '../../../lib/tsdb/db.ts';
import { Compactor } from '../../../lib/compact/compactor.ts';
import { UlidFactory } from '../../../lib/tsdb/ulid.ts';
import { Clock, D0, Minute, Model, assertReadsModel, storesOn, writeRequests } from '../compact/helpers.ts';
import { Storage } from '../../../lib/tsdb/db.ts';
import { MemBucket } from '../../../lib/objstore/mem.ts';

/** A store counting week series-partition queries (not the old day layout's) and point reads. */
function counting(kv: KVStore): { kv: KVStore; queries: () => number; points: () => number } {
  let queries = 0;
  let points = 0;
  const wrapped = observedKV(kv, {
    query: (pk) => void (/ix\/w[^/]*\/series$/.test(pk) && queries++),
    getMany: (keys) => void (points += keys.filter((k) => k.pk.endsWith('/series')).length),
  });
  return { kv: wrapped, queries: () => queries, points: () => points };
}

const series = (n: number) => Array.from({ length: n }, (_, i) => newSeriesEntry(labelsFromPairs({ __name__: 'm', i: String(i) })));

describe('LabelIndex.seriesLabels', () => {
  it('reads the partition once, then answers from the cache; a few new series are point reads, many a new read', async () => {
    // Prepare: 300 series indexed in one week.
    const c = counting(new MemKVStore());
    const idx = new LabelIndex(c.kv);
    const all = series(600);
    const day = D0;
    await idx.add(all.slice(0, 300).map((s) => ({ bucket: day, id: s.id, labels: s.labels, canonical: s.canonical })));
    const ids = all.slice(0, 300).map((s) => s.id);
    // Act / Assess: first call reads the partition.
    const first = await idx.seriesLabels(day, ids);
    assert.equal(first.size, 300);
    for (const s of all.slice(0, 300)) assert.deepEqual(first.get(s.id), encodeLabels(s.labels));
    assert.deepEqual([c.queries(), c.points()], [1, 0]);
    // Again: no read.
    assert.equal((await idx.seriesLabels(day, ids)).size, 300);
    assert.deepEqual([c.queries(), c.points()], [1, 0]);
    // 20 new series: point reads; an unknown id is absent, not an error.
    await idx.add(all.slice(300, 320).map((s) => ({ bucket: day, id: s.id, labels: s.labels, canonical: s.canonical })));
    const some = await idx.seriesLabels(day, [...all.slice(290, 320).map((s) => s.id), 'ffffffffffffffff']);
    assert.equal(some.size, 30);
    assert.deepEqual([c.queries(), c.points()], [1, 21]);
    // 280 new series (more than a tenth of those known): one partition read.
    await idx.add(all.slice(320).map((s) => ({ bucket: day, id: s.id, labels: s.labels, canonical: s.canonical })));
    assert.equal((await idx.seriesLabels(day, all.map((s) => s.id))).size, 600);
    assert.deepEqual([c.queries(), c.points()], [2, 21]);
  });

  it('KnownLabels drops whole weeks, furthest from the one written, beyond its bound', () => {
    const k = new KnownLabels(5);
    const b = new Uint8Array([1]);
    for (const [w, id] of [[10, 'a'], [10, 'b'], [20, 'c'], [30, 'd'], [30, 'e']] as const) k.set(w, id, b);
    assert.equal(k.size, 5);
    k.set(30, 'f', b); // 6 > 5: week 10 is furthest from 30
    assert.equal(k.size, 4);
    assert.deepEqual([[...k.week(10).keys()], [...k.week(20).keys()], [...k.week(30).keys()]], [[], ['c'], ['d', 'e', 'f']]);
    k.set(30, 'f', b); // already known: no change
    assert.equal(k.size, 4);
  });

  it('KnownLabels drops the oldest entries of one week that alone is over the bound', () => {
    const k = new KnownLabels<number>(3);
    for (const [i, id] of ['a', 'b', 'c', 'd', 'e'].entries()) k.set(7, id, i);
    assert.equal(k.size, 3);
    assert.deepEqual([...k.week(7)], [['c', 2], ['d', 3], ['e', 4]]);
  });

  it('select reads series records only for series it has not read before', async () => {
    // Prepare: 30 series of two jobs.
    const c = counting(new MemKVStore());
    const idx = new LabelIndex(c.kv);
    const day = D0;
    const mk = (job: string, i: number) => newSeriesEntry(labelsFromPairs({ __name__: 'm', job, i: String(i) }));
    const a = Array.from({ length: 20 }, (_, i) => mk('a', i));
    await idx.add(a.map((s) => ({ bucket: day, id: s.id, labels: s.labels, canonical: s.canonical })));
    const sel = [newMatcher(MatchType.Equal, 'job', 'a')];
    const names = (m: Map<string, Labels>) => [...m.values()].map((l) => labelsToString(l)).sort();
    // Act / Assess: the first select reads 20 records, the second none; a new series is read alone.
    const first = await idx.select(day, sel);
    assert.equal(c.points(), 20);
    assert.deepEqual(names(await idx.select(day, sel)), names(first));
    assert.equal(c.points(), 20);
    const late = mk('a', 99);
    await idx.add([{ bucket: day, id: late.id, labels: late.labels, canonical: late.canonical }]);
    const third = await idx.select(day, sel);
    assert.equal(c.points(), 21);
    assert.deepEqual(names(third), [...names(first), labelsToString(late.labels)].sort());
    // In postings (id) order, cached and newly read alike.
    assert.deepEqual([...third.keys()], [...third.keys()].sort());
  });

  it('scheduled compaction runs of consecutive 10-min windows read the series partition once', async () => {
    // Prepare: 50 series, one request a minute for 30 minutes; only the first request carries labels.
    const c = counting(new MemKVStore());
    const storage = new Storage({ bucket: new MemBucket(), kv: c.kv });
    const db = storage.tenant('t');
    const model = new Model();
    const ss = series(50);
    await writeRequests(db, Array.from({ length: 30 }, (_, m) => ss.map((s, i): [typeof s, number, number] => [s, D0 + m * Minute + i, m * 100 + i])), model);
    const clock = new Clock(D0);
    const ulids = new UlidFactory(clock.now);
    const run = async (t: number) => {
      clock.t = t;
      return new Compactor(storesOn(db, ulids), { now: clock.now, quality: 4 }).run();
    };
    // Act: runs as a 5-minute schedule would make them, 5 minutes after each window ends.
    const jobs: number[] = [];
    const reads: number[] = [];
    for (const t of [D0 + 15 * Minute, D0 + 25 * Minute, D0 + 35 * Minute]) {
      const before = c.queries();
      jobs.push((await run(t)).jobs);
      reads.push(c.queries() - before);
    }
    // Assess: three 10-min blocks; the first window's job has the labels in its inputs,
    // the second reads the partition, the third reads nothing.
    assert.deepEqual(jobs, [1, 1, 1]);
    assert.deepEqual(reads, [0, 1, 0]);
    await assertReadsModel(db, model, 'after three scheduled runs');
  });
});
