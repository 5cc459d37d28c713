/**
 * Local mode answers label-index queries from memory (lib/server/app.ts
 * isCachedPartition over lib/catalog/query-cache.ts): which partitions are
 * cached, and that a series new in its week is seen by the next read
 * after its write was acknowledged, through postings, names and values.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isCachedPartition, openLocalStorage } from '../../../lib/server/app.ts';
import { IndexKeys } from '../../../lib/index/keys.ts';
import { newSeriesEntry, tenantIndexPrefix } from '../../../lib/tsdb/db.ts';
import { labelsFromPairs, labelsToString } from '../../../lib/labels/labels.ts';
import { MatchType, newMatcher } from '../../../lib/labels/matcher.ts';
import { D0, Minute, Model, dump, writeRequests } from '../compact/helpers.ts';

describe('local mode label-index cache', () => {
  it('caches the catalog and the label index names, values and token; not postings (the label index keeps them decoded), series records or other partitions', () => {
    const t = (pk: string) => `${tenantIndexPrefix('team-a')}${pk}`;
    const cases: [string, boolean][] = [
      [t('catalog'), true],
      [t(IndexKeys.postings(D0, 'job', 'node')), false],
      [t(IndexKeys.postings(D0, '__name__', 'up/x')), false],
      [t(IndexKeys.token(D0)), true],
      [t(IndexKeys.names(D0)), true],
      [t(IndexKeys.values(D0, 'instance')), true],
      [t(IndexKeys.series(D0)), false],
      [t('deletions'), false],
      [t('leases'), false],
    ];
    for (const [pk, want] of cases) assert.equal(isCachedPartition(pk), want, pk);
  });

  it('a read sees a series that is new in its week right after its write, postings, names and values included', async (t) => {
    // Prepare
    const dir = await mkdtemp(join(tmpdir(), 'stratus-index-cache-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const storage = await openLocalStorage(dir);
    t.after(() => storage.close());
    const db = storage.tenant('t');
    const model = new Model();
    const a = newSeriesEntry(labelsFromPairs({ __name__: 'up', job: 'a' }));
    await writeRequests(db, [[[a, D0, 1]]], model);
    const select = async () => {
      const q = await db.querier(D0 - Minute, D0 + Minute);
      const set = q.select(true, undefined, newMatcher(MatchType.Regexp, 'job', 'a|b'));
      const out: string[] = [];
      while (await set.next()) out.push(labelsToString(set.at().labels));
      return out;
    };
    // Act: read (answers cached), then a new series with a new label value and a new label name.
    assert.deepEqual(await select(), ['{__name__="up", job="a"}']);
    const b = newSeriesEntry(labelsFromPairs({ __name__: 'up', job: 'b', zone: 'z1' }));
    await writeRequests(db, [[[b, D0 + 1000, 2]]], model);
    // Assess
    assert.deepEqual(await select(), ['{__name__="up", job="a"}', '{__name__="up", job="b", zone="z1"}']);
    const q = await db.querier(D0 - Minute, D0 + Minute);
    assert.deepEqual(await q.labelNames(), ['__name__', 'job', 'zone']);
    assert.deepEqual(await q.labelValues('job'), ['a', 'b']);
    assert.deepEqual(await dump(db, D0 - Minute, D0 + Minute), model.lines(D0 - Minute, D0 + Minute));
  });
});
