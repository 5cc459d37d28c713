/**
 * OwnedQueryCache (lib/catalog/query-cache.ts): catalog range queries
 * answered from memory in local mode. Every answer must be what the store
 * itself would give at that moment: checked against the bare store after
 * random writes, with queries and writes interleaved, with callers that
 * stop early, and through a real Storage that is written, read, compacted
 * and written again.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemKVStore } from '../../../lib/kvstore/mem.ts';
import type { KVItem, KVQueryOptions, KVStore } from '../../../lib/kvstore/kvstore.ts';
import { inRange, OwnedQueryCache } from '../../../lib/catalog/query-cache.ts';
import { openLocalStorage } from '../../../lib/server/app.ts';
import { Compactor } from '../../../lib/compact/compactor.ts';
import { UlidFactory } from '../../../lib/tsdb/ulid.ts';
import { prng } from '../../helpers/prng.ts';
import { assertReadsModel, Clock, D0, dataset, Hour, Model, storesOn, writeRequests } from '../compact/helpers.ts';

async function answer(kv: KVStore, pk: string, opts: KVQueryOptions): Promise<string[]> {
  const out: string[] = [];
  for await (const it of kv.query(pk, opts)) out.push(`${it.pk} ${it.sk}=${Buffer.from(it.value).toString('hex')}`);
  return out;
}

const Keys = ['a', 'a/1', 'a/2', 'b', 'b/1', 'b\u{e000}', 'b\u{1f600}', 'c', 'd/x'];
const Queries: KVQueryOptions[] = [
  {},
  { prefix: 'a' },
  { prefix: 'b' },
  { start: 'a/', end: 'b' },
  { start: 'b', end: 'b\u{e000}' },
  { start: 'b\u{e000}', end: 'b\u{1f600}' },
  { start: 'b', reverse: true },
  { end: 'b/1', limit: 2 },
  { start: 'a', limit: 1, reverse: true },
];

describe('inRange', () => {
  const cases: { sk: string; opts: KVQueryOptions; want: boolean }[] = [
    { sk: 'a/1', opts: { prefix: 'a' }, want: true },
    { sk: 'b', opts: { prefix: 'a' }, want: false },
    { sk: 'b', opts: { start: 'a', end: 'b' }, want: true },
    { sk: 'b/1', opts: { start: 'a', end: 'b' }, want: false },
    // By code point (UTF-8 order, as the stores sort), not UTF-16 units: U+E000 < U+1F600.
    { sk: 'b\u{e000}', opts: { start: 'b', end: 'b\u{1f600}' }, want: true },
    { sk: 'b\u{1f600}', opts: { start: 'b', end: 'b\u{e000}' }, want: false },
    { sk: 'zzz', opts: {}, want: true },
  ];
  for (const c of cases) {
    it(`${JSON.stringify(c.sk)} in ${JSON.stringify(c.opts)}: ${c.want}`, () => {
      assert.equal(inRange(c.sk, c.opts), c.want);
    });
  }
});

describe('OwnedQueryCache', () => {
  it('answers like the bare store after every random write, and serves repeats from memory', async () => {
    for (const seed of [1, 2, 3]) {
      // Prepare: the same writes go through the cache and straight to a second store.
      const rnd = prng(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
      const ref = new MemKVStore();
      const kv = new OwnedQueryCache(new MemKVStore(), { cacheable: (pk) => pk === 'cat' });
      for (let step = 0; step < 300; step++) {
        // Act: a random write, to the cached partition or another one.
        const pk = rnd() < 0.8 ? 'cat' : 'other';
        const item = (): KVItem => ({ pk, sk: pick(Keys), value: Uint8Array.of(step & 0xff, Math.floor(rnd() * 256)) });
        const op = Math.floor(rnd() * 5);
        if (op === 0) {
          const its = [...new Map([item(), item()].map((i) => [i.sk, i])).values()];
          await Promise.all([ref.batchPut(its), kv.batchPut(its)]);
        } else if (op === 1) {
          const it = item();
          assert.equal(await kv.putIfAbsent(it), await ref.putIfAbsent(it));
        } else if (op === 2) {
          const it = item();
          const cur = await ref.get(pk, it.sk);
          const expected = cur !== undefined && rnd() < 0.7 ? cur : Uint8Array.of(9, 9, 9);
          assert.equal(await kv.replaceIf(it, expected), await ref.replaceIf(it, expected));
        } else if (op === 3) {
          const keys = [{ pk, sk: pick(Keys) }];
          await Promise.all([ref.batchDelete(keys), kv.batchDelete(keys)]);
        }
        // Assess: a few queries (some repeated, so served from memory) equal the store's.
        for (let q = 0; q < 3; q++) {
          const opts = pick(Queries);
          const qpk = rnd() < 0.9 ? 'cat' : 'other';
          assert.deepEqual(await answer(kv, qpk, opts), await answer(ref, qpk, opts), `seed ${seed} step ${step} ${qpk} ${JSON.stringify(opts)}`);
          // Point reads too (in the cached partition, cached as one-key queries).
          const sk = pick(Keys);
          assert.deepEqual(await kv.get(qpk, sk), await ref.get(qpk, sk), `seed ${seed} step ${step} get ${qpk} ${sk}`);
        }
      }
      assert.ok(kv.hits > 100, `seed ${seed}: only ${kv.hits} answers from memory`);
    }
  });

  it('keeps answers across writes to other partitions only, and drops them for a batch mixing in one of theirs', async () => {
    // Prepare: a cached answer of 'cat' (writes without a cacheable
    // partition take a path of their own, lib/catalog/query-cache.ts #write).
    const kv = new OwnedQueryCache(new MemKVStore(), { cacheable: (pk) => pk === 'cat' });
    await kv.batchPut([{ pk: 'cat', sk: 'a', value: Uint8Array.of(1) }]);
    await answer(kv, 'cat', {});
    const others = Array.from({ length: 500 }, (_, i): KVItem => ({ pk: 'other', sk: `k${i}`, value: Uint8Array.of(2) }));

    // Act: a large batch of another partition, then one that also holds a 'cat' item.
    await kv.batchPut(others);
    const kept = await answer(kv, 'cat', {});
    const hitsAfterOthers = kv.hits;
    await kv.batchPut([...others.slice(0, 10), { pk: 'cat', sk: 'b', value: Uint8Array.of(3) }]);

    // Assess: served from memory after the first, read again (and right) after the second.
    assert.deepEqual(kept, ['cat a=01']);
    assert.equal(hitsAfterOthers, 1);
    assert.deepEqual(await answer(kv, 'cat', {}), ['cat a=01', 'cat b=03']);
    assert.equal(kv.hits, 1);
  });

  it('does not keep an answer read while a write of its partition ran', async () => {
    // Prepare: a store whose query stops after its first item until released.
    const inner = new MemKVStore();
    await inner.batchPut([{ pk: 'cat', sk: 'a', value: Uint8Array.of(1) }, { pk: 'cat', sk: 'c', value: Uint8Array.of(3) }]);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let hold = true;
    const slow: KVStore = Object.assign(Object.create(inner) as KVStore, {
      async *query(pk: string, opts?: KVQueryOptions) {
        let first = true;
        for await (const it of inner.query(pk, opts)) {
          yield it;
          if (first && hold) await gate;
          first = false;
        }
      },
      batchPut: (items: readonly KVItem[]) => inner.batchPut(items),
    });
    const kv = new OwnedQueryCache(slow, { cacheable: () => true });
    // Act: a query starts, a write into its range completes, then the query ends.
    const early = answer(kv, 'cat', {});
    await new Promise((r) => setImmediate(r));
    await kv.batchPut([{ pk: 'cat', sk: 'b', value: Uint8Array.of(2) }]);
    release();
    hold = false;
    await early;
    // Assess: the next query sees the write (the early answer was not kept).
    assert.deepEqual(await answer(kv, 'cat', {}), ['cat a=01', 'cat b=02', 'cat c=03']);
    assert.deepEqual(await answer(kv, 'cat', {}), ['cat a=01', 'cat b=02', 'cat c=03']);
    assert.equal(kv.hits, 1);
  });

  it('does not keep an answer read while a write was in flight', async () => {
    // Prepare: a store whose writes wait until released.
    const inner = new MemKVStore();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow: KVStore = Object.assign(Object.create(inner) as KVStore, {
      query: (pk: string, opts?: KVQueryOptions) => inner.query(pk, opts),
      batchPut: async (items: readonly KVItem[]) => {
        await gate;
        await inner.batchPut(items);
      },
    });
    const kv = new OwnedQueryCache(slow, { cacheable: () => true });
    // Act: a write is sent; a query runs (and ends) before the write lands.
    const write = kv.batchPut([{ pk: 'cat', sk: 'x', value: Uint8Array.of(7) }]);
    const during = await answer(kv, 'cat', {});
    release();
    await write;
    // Assess
    assert.deepEqual(during, []);
    assert.deepEqual(await answer(kv, 'cat', {}), ['cat x=07']);
  });

  it('keeps only answers read to the end, and hands out copies', async () => {
    // Prepare
    const inner = new MemKVStore();
    await inner.batchPut([{ pk: 'cat', sk: 'a', value: Uint8Array.of(1) }, { pk: 'cat', sk: 'b', value: Uint8Array.of(2) }]);
    const kv = new OwnedQueryCache(inner, { cacheable: () => true });
    // Act: a caller stops after one item; another changes what it was given.
    for await (const _ of kv.query('cat')) break;
    const whole = await answer(kv, 'cat', {});
    for await (const it of kv.query('cat')) it.value[0] = 0xff;
    // Assess
    assert.deepEqual(whole, ['cat a=01', 'cat b=02']);
    assert.deepEqual(await answer(kv, 'cat', {}), ['cat a=01', 'cat b=02']);
    assert.equal(kv.hits, 2);
  });

  it('answers point reads of a cached partition from memory, as copies, and reads them again after a write', async () => {
    // Prepare: a value read once through the cache.
    const inner = new MemKVStore();
    await inner.batchPut([{ pk: 'p', sk: 'a', value: Uint8Array.of(1, 2) }]);
    const kv = new OwnedQueryCache(inner, { cacheable: (pk) => pk === 'p' });
    await kv.get('p', 'a');
    // Act: a caller changes what it was given from memory; another read; a write of the key; one of another partition.
    const first = await kv.get('p', 'a');
    first![0] = 0xff;
    const second = await kv.get('p', 'a');
    await kv.batchPut([{ pk: 'p', sk: 'a', value: Uint8Array.of(3) }]);
    const third = await kv.get('p', 'a');
    const absent = await kv.get('p', 'b');
    await inner.batchPut([{ pk: 'q', sk: 'a', value: Uint8Array.of(4) }]);
    // Assess: two reads from memory; the write seen at once; other partitions read through every time.
    assert.deepEqual(second, Uint8Array.of(1, 2));
    assert.deepEqual(third, Uint8Array.of(3));
    assert.equal(absent, undefined);
    assert.equal(kv.hits, 2);
    assert.deepEqual(await kv.get('q', 'a'), Uint8Array.of(4));
    assert.equal(kv.hits, 2);
  });

  it('keeps reads of a local data dir equal to what was written, across writes and a compaction', async () => {
    // Prepare: the real wiring (openLocalStorage caches the catalog partitions).
    const dir = await mkdtemp(join(tmpdir(), 'stratus-query-cache-'));
    let cached: OwnedQueryCache | undefined;
    const storage = await openLocalStorage(dir, (s) => {
      cached = s.kv as OwnedQueryCache;
      return s;
    });
    try {
      assert.ok(cached instanceof OwnedQueryCache);
      const db = storage.tenant('t1');
      const clock = new Clock(D0 + 40 * Hour);
      const model = new Model();
      const [first, second] = [dataset(0), dataset(1)];
      // Act + Assess: each step must be visible to the next read, and repeated reads hit memory.
      await writeRequests(db, first.requests.slice(0, 4), model);
      await assertReadsModel(db, model, 'after the first writes');
      const hits = cached.hits;
      await assertReadsModel(db, model, 'read again');
      assert.ok(cached.hits > hits, 'repeated reads were not answered from memory');
      await writeRequests(db, first.requests.slice(4), model);
      await assertReadsModel(db, model, 'after more writes');
      await new Compactor(storesOn(db, new UlidFactory(clock.now)), { now: clock.now, quality: 4, deleteGraceMs: 0 }).run({ force: true });
      await assertReadsModel(db, model, 'after compaction');
      await writeRequests(db, second.requests, model);
      await assertReadsModel(db, model, 'after writes over the blocks');
    } finally {
      await storage.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
