/**
 * The compaction lease (compare-and-swap on one index-store item), and two
 * compactors started together on one tenant.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Lease, LeasePartition } from '../../../lib/compact/lease.ts';
import { Compactor } from '../../../lib/compact/compactor.ts';
import { MemKVStore } from '../../../lib/kvstore/mem.ts';
import type { KVStore } from '../../../lib/kvstore/kvstore.ts';
import { UlidFactory } from '../../../lib/tsdb/ulid.ts';
import { Clock, D0, Day, MaxT, Model, assertReadsModel, catalogState, dataset, dump, memStorage, storesOn, writeRequests } from './helpers.ts';
import { prng } from '../../helpers/prng.ts';

const Ttl = 60_000;

function lease(kv: KVStore, holder: string, clock: Clock): Lease {
  return new Lease({ kv, name: 'compact', holder, ttlMs: Ttl, now: clock.now });
}

/** A store whose every call first yields a random number of times, to vary interleavings. */
function jittery(inner: KVStore, r: () => number): KVStore {
  const pause = async () => {
    for (let i = Math.floor(r() * 4); i > 0; i--) await new Promise<void>((res) => setImmediate(res));
  };
  return {
    get: async (pk, sk) => (await pause(), inner.get(pk, sk)),
    query: (pk, o) => inner.query(pk, o),
    batchPut: async (items) => (await pause(), inner.batchPut(items)),
    putIfAbsent: async (item) => (await pause(), inner.putIfAbsent(item)),
    replaceIf: async (item, expected) => (await pause(), inner.replaceIf(item, expected)),
    batchDelete: async (keys) => (await pause(), inner.batchDelete(keys)),
    close: () => inner.close(),
  };
}

describe('lease', () => {
  it('acquire, hold against others, renew, expire, take over by CAS, release', async () => {
    // Prepare
    const kv = new MemKVStore();
    const clock = new Clock(1_000_000);
    const a = lease(kv, 'a', clock);
    const b = lease(kv, 'b', clock);
    // Act + Assess, step by step.
    assert.equal(await a.acquire(), true, 'a takes the free lease');
    assert.deepEqual(await a.current(), { holder: 'a', expiresAt: clock.t + Ttl });
    assert.equal(await b.acquire(), false, 'b cannot take a held lease');
    assert.equal(await a.acquire(), true, 'the holder may take it again');
    clock.t += Ttl - 1;
    assert.equal(await b.acquire(), false, 'still held one ms before expiry');
    assert.equal(await a.renew(), true, 'a renews');
    assert.equal((await a.current())!.expiresAt, clock.t + Ttl);
    clock.t += Ttl - 1;
    assert.equal(await b.acquire(), false, 'the renewal extended it');
    clock.t += 1;
    assert.equal(await b.acquire(), true, 'b takes over the expired lease');
    assert.equal((await b.current())!.holder, 'b');
    assert.equal(await a.renew(), false, 'a learns it lost the lease');
    await a.release();
    assert.equal((await b.current())!.holder, 'b', "a's release does not free b's lease");
    await b.release();
    assert.equal((await b.current())!.expiresAt, 0, 'released');
    assert.equal(await a.acquire(), true, 'a released lease is free at once');
  });

  it('treats an unreadable lease item as expired', async () => {
    const kv = new MemKVStore();
    await kv.batchPut([{ pk: LeasePartition, sk: 'compact', value: new TextEncoder().encode('{not json') }]);
    assert.equal(await lease(kv, 'a', new Clock(5)).acquire(), true);
  });

  const races = [
    { name: 'a free lease', setup: async (_kv: KVStore, _clock: Clock) => {} },
    {
      name: 'an expired lease',
      setup: async (kv: KVStore, clock: Clock) => {
        assert.equal(await lease(kv, 'old', clock).acquire(), true);
        clock.t += Ttl;
      },
    },
    {
      name: 'a released lease',
      setup: async (kv: KVStore, clock: Clock) => {
        const l = lease(kv, 'old', clock);
        assert.equal(await l.acquire(), true);
        await l.release();
      },
    },
  ];
  for (const race of races) {
    it(`exactly one of four racing holders wins ${race.name}`, async () => {
      const r = prng(race.name.length);
      for (let iter = 0; iter < 25; iter++) {
        // Prepare
        const inner = new MemKVStore();
        const clock = new Clock(1_000_000);
        await race.setup(inner, clock);
        const kv = jittery(inner, r);
        const holders = ['w', 'x', 'y', 'z'].map((h) => lease(kv, h, clock));
        // Act
        const won = await Promise.all(holders.map((l) => l.acquire()));
        // Assess
        assert.equal(won.filter(Boolean).length, 1, `iteration ${iter}: ${won}`);
        const winner = ['w', 'x', 'y', 'z'][won.indexOf(true)];
        assert.equal((await holders[0]!.current())!.holder, winner);
        const renewed = await Promise.all(holders.map((l) => l.renew()));
        assert.deepEqual(renewed, won, 'only the winner can renew');
      }
    });
  }
});

describe('compactors sharing a tenant', () => {
  it('two compactors started together do the work once, and reads are exact', async () => {
    // Prepare
    const storage = memStorage();
    const db = storage.tenant('shared');
    const model = new Model();
    await writeRequests(db, dataset().requests, model);
    const clock = new Clock(D0 + 3 * Day);
    const ulids = new UlidFactory(clock.now);
    const make = () => new Compactor(storesOn(db, ulids), { now: clock.now, quality: 1 });
    // Act
    const runs = await Promise.all([make().run({ force: true }), make().run({ force: true })]);
    // Assess
    const leased = runs.filter((r) => r.leased);
    assert.equal(leased.length, 1, JSON.stringify(runs));
    assert.ok(leased[0]!.jobs > 0);
    const other = runs.find((r) => !r.leased)!;
    assert.equal(other.jobs, 0);
    assert.equal(other.blocksWritten, 0);
    const st = await catalogState(db.stores);
    assert.equal(st.segments, 0);
    assert.ok(st.blocks > 0 && st.blocks < leased[0]!.blocksWritten, `${st.blocks} blocks of ${leased[0]!.blocksWritten} written (level 1 replaced by level 2)`);
    assert.deepEqual(st.missing, []);
    await assertReadsModel(db, model, 'after two compactors');
  });

  it('a compactor that loses its lease mid-run stops, and nothing is lost', async () => {
    // Prepare: the first renewal finds the lease taken by someone else.
    const storage = memStorage();
    const db = storage.tenant('stolen');
    const model = new Model();
    await writeRequests(db, dataset().requests, model);
    const before = await dump(db, -MaxT, MaxT);
    const clock = new Clock(D0 + 3 * Day);
    const s = storesOn(db, new UlidFactory(clock.now));
    let stolen = false;
    const kv: KVStore = {
      ...s.kv,
      get: (pk, sk) => s.kv.get(pk, sk),
      query: (pk, o) => s.kv.query(pk, o),
      batchPut: (items) => s.kv.batchPut(items),
      putIfAbsent: (item) => s.kv.putIfAbsent(item),
      batchDelete: (keys) => s.kv.batchDelete(keys),
      close: () => s.kv.close(),
      replaceIf: async (item, expected) => {
        if (!stolen && item.pk === LeasePartition) {
          stolen = true;
          await s.kv.batchPut([{ pk: LeasePartition, sk: 'compact', value: new TextEncoder().encode(JSON.stringify({ holder: 'thief', expiresAt: clock.t + 1e9 })) }]);
        }
        return s.kv.replaceIf(item, expected);
      },
    };
    // Act + Assess
    await assert.rejects(new Compactor({ ...s, kv }, { now: clock.now, quality: 1 }).run({ force: true }), /compaction lease lost/);
    assert.equal(stolen, true);
    assert.deepEqual(await dump(db, -MaxT, MaxT), before);
    const lease = new Lease({ kv: s.kv, name: 'compact', holder: 'x', ttlMs: Ttl, now: clock.now });
    assert.equal((await lease.current())!.holder, 'thief', 'the loser does not release the new holder');
  });
});
