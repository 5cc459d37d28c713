/**
 * Compaction on the real backends: filesystem + LevelDB ('local') and S3 +
 * DynamoDB on loopback servers ('aws'). Reads are exact before, after a
 * partial run, after a forced run, and after the grace period, when the
 * bucket holds exactly the objects the catalog names.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Compactor } from '../../lib/compact/compactor.ts';
import { UlidFactory } from '../../lib/tsdb/ulid.ts';
import { makeStorage, type StorageKind } from '../helpers/stratus.ts';
import { Clock, D0, Hour, Model, assertReadsModel, catalogState, dataset, objectKeys, storesOn, tombstoneCount, writeRequests } from '../unit/compact/helpers.ts';

const kinds: StorageKind[] = ['local', 'aws'];

describe('compaction on real backends', () => {
  for (const kind of kinds) {
    it(`reads stay exact through compaction on ${kind} storage`, { timeout: 240_000 }, async () => {
      // Prepare: two tenants.
      const { storage, cleanup } = await makeStorage(kind);
      try {
        const clock = new Clock(D0 + 13 * Hour);
        const ulids = new UlidFactory(clock.now);
        const tenants = ['one', 'two'].map((name, variant) => ({ name, db: storage.tenant(name), model: new Model(), variant }));
        for (const t of tenants) await writeRequests(t.db, dataset(t.variant).requests, t.model);
        const compact = (t: (typeof tenants)[number], force: boolean) => new Compactor(storesOn(t.db, ulids), { now: clock.now, quality: 4 }).run({ force });
        for (const t of tenants) await assertReadsModel(t.db, t.model, `${kind}/${t.name} before`);

        // Act + Assess: a partial run, a forced run, then the deletions.
        for (const t of tenants) {
          const run = await compact(t, false);
          assert.ok(run.leased && run.jobs > 0);
          assert.ok((await catalogState(t.db.stores)).segments > 0);
          await assertReadsModel(t.db, t.model, `${kind}/${t.name} after the partial run`);
          await compact(t, true);
          const st = await catalogState(t.db.stores);
          assert.equal(st.segments, 0);
          assert.deepEqual(st.missing, []);
          await assertReadsModel(t.db, t.model, `${kind}/${t.name} after force`);
        }
        clock.t += 2 * Hour;
        for (const t of tenants) {
          const run = await compact(t, true);
          assert.ok(run.objectsDeleted > 0);
          assert.deepEqual(await objectKeys(t.db.stores), (await catalogState(t.db.stores)).keys);
          assert.equal(await tombstoneCount(t.db.stores), 0);
          await assertReadsModel(t.db, t.model, `${kind}/${t.name} after the grace period`);
        }
      } finally {
        await cleanup();
      }
    });
  }
});
