/**
 * Kill test (issue 4): a forced compaction is "killed" at every backend
 * operation k = 1..N — operation k and every later one fail, as when the
 * process dies — then rerun on healthy stores, and run again after the
 * grace period. Reads must equal the reads before compaction at every
 * stage (nothing lost, nothing doubled), no catalog entry may point to a
 * missing object, and nothing may be left unreferenced at the end.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Compactor } from '../../../lib/compact/compactor.ts';
import { faultyBucket } from '../../../lib/objstore/faulty.ts';
import { faultyKVStore } from '../../../lib/kvstore/faulty.ts';
import { Catalog } from '../../../lib/catalog/catalog.ts';
import { LabelIndex } from '../../../lib/index/label-index.ts';
import { UlidFactory } from '../../../lib/tsdb/ulid.ts';
import type { TenantDB, TenantStores } from '../../../lib/tsdb/db.ts';
import { Clock, D0, Day, Hour, MaxT, Model, catalogState, dataset, dump, memStorage, objectKeys, storesOn, tombstoneCount, writeRequests } from './helpers.ts';
import { prng } from '../../helpers/prng.ts';

const LeaseTtl = 10 * 60_000;
const Grace = Hour;
/** Ranges read at every check (a subset of helpers.readRanges, for speed). */
const Ranges: [number, number][] = [
  [-MaxT, MaxT],
  [D0 + 9 * Hour + 55 * 60_000, D0 + 24 * Hour + 10 * 60_000],
];

class Crash extends Error {}

interface World {
  db: TenantDB;
  model: Model;
  clock: Clock;
  ulids: UlidFactory;
  before: string[][];
}

async function world(): Promise<World> {
  const storage = memStorage();
  const db = storage.tenant('k');
  const model = new Model();
  await writeRequests(db, dataset().requests, model);
  const clock = new Clock(D0 + 10 * Day); // every window settled; the data's weeks ended before yesterday, so their label index gets sealed
  const before: string[][] = [];
  for (const [a, b] of Ranges) before.push(await dump(db, a, b));
  assert.deepEqual(before[0], model.lines(-MaxT, MaxT));
  return { db, model, clock, ulids: new UlidFactory(clock.now), before };
}

/**
 * The tenant's stores, failing from the `failAt`-th operation on (bucket
 * and kv calls counted together; each item of a batch counts). `log`
 * records the operations that went through.
 */
function killable(s: TenantStores, failAt: number, log: string[], partial: boolean): TenantStores {
  const crash = new Crash('killed');
  const step = (what: string): Error | undefined => {
    if (log.length + 1 >= failAt) return crash;
    log.push(what);
    return undefined;
  };
  const bucket = faultyBucket(s.bucket, { failOn: (op, key) => step(`${op} ${key}`) });
  const kv = faultyKVStore(s.kv, { failOn: (op, pk, sk) => step(`${op} ${pk} ${sk ?? ''}`), partial });
  return { ...s, bucket, kv, index: new LabelIndex(kv), catalog: new Catalog(kv) };
}

function compactor(w: World, s: TenantStores, graceMs: number, indexItemsExpire = false): Compactor {
  return new Compactor(s, { now: w.clock.now, quality: 1, deleteGraceMs: graceMs, leaseTtlMs: LeaseTtl, indexItemsExpire });
}

async function assertReads(w: World, what: string): Promise<void> {
  for (let i = 0; i < Ranges.length; i++) assert.deepEqual(await dump(w.db, Ranges[i]![0], Ranges[i]![1]), w.before[i], `${what}: range ${i}`);
  const st = await catalogState(w.db.stores);
  assert.deepEqual(st.missing, [], `${what}: catalog entries without objects`);
}

/** Healthy rerun after the dead holder's lease expired, then a run after the grace period; asserts the end state. */
async function recover(w: World, what: string, indexItemsExpire = false): Promise<void> {
  const s = storesOn(w.db, w.ulids);
  w.clock.t += LeaseTtl + 1;
  const rerun = await compactor(w, s, Grace, indexItemsExpire).run({ force: true });
  assert.equal(rerun.leased, true, `${what}: the rerun takes over the expired lease`);
  await assertReads(w, `${what}, after the rerun`);
  w.clock.t += Grace + 1;
  const last = await compactor(w, s, Grace, indexItemsExpire).run({ force: true });
  assert.equal(last.jobs, 0, `${what}: nothing left to compact`);
  await assertReads(w, `${what}, at the end`);
  const st = await catalogState(s);
  assert.equal(st.segments, 0, `${what}: only blocks`);
  assert.deepEqual(await objectKeys(s), st.keys, `${what}: the bucket holds exactly the catalog's objects`);
  assert.equal(await tombstoneCount(s), 0, `${what}: no tombstones left`);
}

describe('compaction kill test', () => {
  it('survives a kill at every backend operation of a forced run', async () => {
    // Prepare: count and log the operations of a full forced run (deletions due at once, grace 0).
    const ref = await world();
    const log: string[] = [];
    const run = await compactor(ref, killable(storesOn(ref.db, ref.ulids), Infinity, log, false), 0).run({ force: true });
    const N = log.length;
    assert.ok(run.jobs >= 10 && run.objectsDeleted > 0, JSON.stringify(run));
    assert.ok(N >= 50, `${N} operations`);
    // The points the issue asks for are among them: between a block upload and its catalog entry, and during deletion.
    const firstPut = log.findIndex((l) => l.startsWith('put blocks/'));
    const firstAdd = log.findIndex((l, i) => i > firstPut && l.startsWith('batchPut catalog'));
    const firstDelete = log.findIndex((l) => l.startsWith('delete segments/'));
    assert.ok(firstPut >= 0 && firstAdd === firstPut + 1 && firstDelete > firstAdd, `${firstPut} ${firstAdd} ${firstDelete}`);
    // One tombstone item per job (each naming all its inputs), not one per input.
    assert.equal(log.filter((l) => l.startsWith('batchPut deletions')).length, run.jobs);
    assert.ok(run.inputsReplaced > run.jobs, JSON.stringify(run));
    await assertReads(ref, 'reference run');

    for (let k = 1; k <= N; k++) {
      // Prepare
      const w = await world();
      const what = `killed at operation ${k} of ${N} (${log[k - 1]})`;
      // Act: the killed run, then recovery.
      await assert.rejects(compactor(w, killable(storesOn(w.db, w.ulids), k, [], k % 2 === 0), 0).run({ force: true }), Crash, what);
      // Assess
      await assertReads(w, `${what}, right after the kill`);
      await recover(w, what);
    }
  });

  it('survives a kill at every backend operation with label-index expiry on (sealing marks, deletes nothing)', async () => {
    // Prepare
    const ref = await world();
    const log: string[] = [];
    const run = await compactor(ref, killable(storesOn(ref.db, ref.ulids), Infinity, log, false), 0, true).run({ force: true });
    const N = log.length;
    assert.ok(run.indexWeeksSealed > 0 && !log.some((l) => /^batchDelete k\/ix\//.test(l) || /^batchDelete ix\//.test(l)), 'no index item deleted');
    for (let k = 1; k <= N; k++) {
      const w = await world();
      const what = `expiry on, killed at operation ${k} of ${N} (${log[k - 1]})`;
      // Act
      await assert.rejects(compactor(w, killable(storesOn(w.db, w.ulids), k, [], k % 2 === 1), 0, true).run({ force: true }), Crash, what);
      // Assess
      await assertReads(w, `${what}, right after the kill`);
      await recover(w, what, true);
    }
  });

  it('survives randomized double kills (kill, partial rerun killed elsewhere, rerun)', async () => {
    const r = prng(4242);
    const ref = await world();
    const log: string[] = [];
    await compactor(ref, killable(storesOn(ref.db, ref.ulids), Infinity, log, false), Grace).run({ force: true });
    const N = log.length;
    for (let iter = 0; iter < 8; iter++) {
      // Prepare
      const w = await world();
      const k1 = 1 + Math.floor(r() * N);
      const k2 = 1 + Math.floor(r() * N);
      const grace = r() < 0.5 ? 0 : Grace;
      const what = `kills at ${k1} then ${k2} (grace ${grace})`;
      // Act
      await assert.rejects(compactor(w, killable(storesOn(w.db, w.ulids), k1, [], r() < 0.5), grace).run({ force: true }), Crash, what);
      await assertReads(w, `${what}: after the first kill`);
      w.clock.t += LeaseTtl + 1;
      try {
        await compactor(w, killable(storesOn(w.db, w.ulids), k2, [], r() < 0.5), grace).run({ force: true });
      } catch (e) {
        assert.ok(e instanceof Crash, `${what}: ${String(e)}`);
      }
      // Assess
      await assertReads(w, `${what}: after the second kill`);
      await recover(w, what);
    }
  });
});
