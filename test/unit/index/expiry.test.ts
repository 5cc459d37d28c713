/**
 * Label-index expiry by DynamoDB Time to Live (lib/index/expiry.ts,
 * lib/kvstore/dynamodb/dynamo-store.ts `expiry`): which items get the
 * attribute and with which time, that reads hide expired items, that
 * sealing deletes nothing when items expire, that reads stay exact with and
 * without the items, and the refresh after a long compaction outage.
 * dynalite does not expire items: "TTL ran" is simulated by deleting them.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { startDynalite, type Dynalite } from '../../integration/dynamodb/dynalite.ts';
import { ensureTable } from '../../../lib/kvstore/dynamodb/ensure-table.ts';
import { DynamoKVStore } from '../../../lib/kvstore/dynamodb/dynamo-store.ts';
import type { KVStore } from '../../../lib/kvstore/kvstore.ts';
import { MemBucket } from '../../../lib/objstore/mem.ts';
import { Storage, newSeriesEntry, type TenantDB } from '../../../lib/tsdb/db.ts';
import { Compactor } from '../../../lib/compact/compactor.ts';
import { IndexRefreshPartition } from '../../../lib/compact/index-refresh.ts';
import { IndexExpiryMs, IndexTtlAttribute, indexBucketOfPk, indexItemExpiresAt, indexRefreshDue, labelIndexExpiry } from '../../../lib/index/expiry.ts';
import { BucketMs, IndexKeys, bucketKey, indexBucketKey, indexBucketOfDay } from '../../../lib/index/keys.ts';
import { labelsFromPairs, labelsToString } from '../../../lib/labels/labels.ts';
import { MatchType, newMatcher } from '../../../lib/labels/matcher.ts';

const Day = BucketMs;
const Hour = 3_600_000;
const D = 20_000; // the day bucket of the data (2024-10-04, a Friday)
const T0 = D * Day;
/** The index bucket (week) of the data: Monday 2024-09-30 (day 19996) to Sunday 2024-10-06. */
const W = indexBucketOfDay(D);
/** The end of that week (exclusive): Monday 2024-10-07 00:00 UTC. */
const WeekEnd = (W + 7) * Day;

describe('label-index expiry policy', () => {
  const cases: { pk: string; bucket: number | undefined }[] = [
    { pk: `ix/${indexBucketKey(D)}/series`, bucket: W },
    { pk: `t1/ix/${indexBucketKey(W)}/p/job=a`, bucket: W },
    { pk: `ix/ix/${indexBucketKey(D + 7)}/names`, bucket: W + 7 }, // tenant named "ix"
    { pk: `t1/ix/${indexBucketKey(-1)}/values/job`, bucket: -3 }, // the week of 1969-12-29 .. 1970-01-04
    { pk: `t1/ix/${bucketKey(D)}/series`, bucket: undefined }, // the day layout: never written any more
    { pk: 't1/catalog', bucket: undefined },
    { pk: 'catalog', bucket: undefined },
    { pk: 't1/deletions', bucket: undefined },
    { pk: 't1/sealed', bucket: undefined },
    { pk: 't1/ix/12345/series', bucket: undefined }, // not a bucket key
    { pk: '_tenants', bucket: undefined },
  ];
  for (const c of cases) {
    it(`${c.pk} -> ${String(c.bucket)}`, () => {
      // Act / Assess
      assert.equal(indexBucketOfPk(c.pk), c.bucket);
      const at = labelIndexExpiry().expiresAt(c.pk, 'x', T0 + Hour);
      assert.equal(at, c.bucket === undefined ? undefined : Math.max((c.bucket + 7) * Day, T0 + Hour) + IndexExpiryMs);
    });
  }

  it('expires 30 days after the later of the week end and the write; refresh is due 10 days before', () => {
    for (const day of [W, D, W + 6]) {
      assert.equal(indexItemExpiresAt(day, T0 + Hour), WeekEnd + 30 * Day);
      assert.equal(indexRefreshDue(day, WeekEnd + 20 * Day - 1), false);
      assert.equal(indexRefreshDue(day, WeekEnd + 20 * Day), true);
    }
    assert.equal(indexItemExpiresAt(W + 7, T0 + Hour), WeekEnd + 7 * Day + 30 * Day); // the next week
    assert.equal(indexItemExpiresAt(D, T0 + 40 * Day), T0 + 70 * Day); // a late write gets a full horizon
  });
});

/** A store decorator counting the keys each batchDelete names, by partition kind. */
function countingDeletes(kv: KVStore, counts: { ix: number; other: number }): KVStore {
  return {
    get: (pk, sk) => kv.get(pk, sk),
    query: (pk, o) => kv.query(pk, o),
    batchPut: (items) => kv.batchPut(items),
    putIfAbsent: (item) => kv.putIfAbsent(item),
    replaceIf: (item, e) => kv.replaceIf(item, e),
    batchDelete: async (keys) => {
      for (const k of keys) (indexBucketOfPk(k.pk) === undefined ? counts.other++ : counts.ix++);
      await kv.batchDelete(keys);
    },
    close: () => kv.close(),
  };
}

describe('label-index expiry on DynamoDB (dynalite)', () => {
  let ddb: Dynalite;
  let n = 0;
  before(async () => {
    ddb = await startDynalite();
  });
  after(async () => {
    await ddb.stop();
  });

  async function table(): Promise<{ name: string; scan(): Promise<Record<string, { S?: string; N?: string }>[]> }> {
    const client = ddb.client();
    const name = `expiry${n++}`;
    await ensureTable(client, name);
    return {
      name,
      async scan() {
        const out = await client.send(new ScanCommand({ TableName: name }));
        return (out.Items ?? []) as Record<string, { S?: string; N?: string }>[];
      },
    };
  }

  it('stamps index items (only them) with the expiry in epoch seconds and hides them from reads once expired', async () => {
    // Prepare
    const t = await table();
    let now = T0 + Hour;
    const kv = new DynamoKVStore({ client: ddb.client(), table: t.name, expiry: labelIndexExpiry(), now: () => now });
    const one = new Uint8Array([1]);
    // Act
    await kv.batchPut([
      { pk: `t/${IndexKeys.series(D)}`, sk: 'a', value: one },
      { pk: `t/${IndexKeys.postings(D, 'job', 'x')}`, sk: 'a', value: one },
      { pk: 't/catalog', sk: `${bucketKey(D)}/01`, value: one },
    ]);
    assert.equal(await kv.putIfAbsent({ pk: `t/${IndexKeys.names(D)}`, sk: 'job', value: one }), true);
    assert.equal(await kv.putIfAbsent({ pk: 't/sealed', sk: indexBucketKey(D), value: one }), true);
    // Assess: the attribute
    const items = await t.scan();
    const expect = String((WeekEnd + IndexExpiryMs) / 1000);
    for (const it of items) {
      const isIndex = indexBucketOfPk(it.pk!.S!) !== undefined;
      assert.equal(it[IndexTtlAttribute]?.N, isIndex ? expect : undefined, it.pk!.S);
    }
    assert.equal(items.filter((it) => it[IndexTtlAttribute] !== undefined).length, 3);
    // Visible until the expiry, gone from reads at it (DynamoDB may delete later).
    now = WeekEnd + IndexExpiryMs - 1;
    assert.ok((await kv.get(`t/${IndexKeys.series(D)}`, 'a')) !== undefined);
    now += 1;
    assert.equal(await kv.get(`t/${IndexKeys.series(D)}`, 'a'), undefined);
    const q: string[] = [];
    for await (const it of kv.query(`t/${IndexKeys.series(D)}`)) q.push(it.sk);
    assert.deepEqual(q, []);
    assert.ok((await kv.get('t/catalog', `${bucketKey(D)}/01`)) !== undefined, 'other items never expire');
    assert.equal((await t.scan()).length, 5, 'dynalite keeps them: nothing was deleted');
  });

  async function writeDays(db: TenantDB): Promise<void> {
    const series = Array.from({ length: 9 }, (_, i) => newSeriesEntry(labelsFromPairs({ __name__: i % 2 === 0 ? 'up' : 'mem', job: i % 3 === 0 ? 'a' : 'b', i: String(i) })));
    for (let r = 0; r < 30; r++) {
      const app = db.appender();
      for (const s of series) app.append(s, T0 + r * 2 * Hour, r * 10 + s.labels.length);
      await app.commit();
    }
  }

  async function dump(db: TenantDB): Promise<string> {
    const q = await db.querier(T0 - Day, T0 + 5 * Day);
    const set = q.select(true, undefined, newMatcher(MatchType.Equal, 'job', 'a'), newMatcher(MatchType.NotEqual, '__name__', 'mem'));
    let out = '';
    while (await set.next()) {
      const it = set.at().iterator();
      out += labelsToString(set.at().labels);
      while (it.next()) out += ` ${it.atT()}:${it.atV()}`;
      out += '\n';
    }
    const names = await q.labelNames();
    return `${out}${names.join(',')}`;
  }

  for (const expire of [true, false]) {
    it(`sealing ${expire ? 'skips the deletes when items expire' : 'deletes the items when they do not'}; reads stay exact with and without the items`, async () => {
      // Prepare: three days of one week written (Friday to Sunday), compacted on the Tuesday after.
      const t = await table();
      let now = T0 + Hour;
      const counts = { ix: 0, other: 0 };
      const root = new DynamoKVStore({ client: ddb.client(), table: t.name, ...(expire ? { expiry: labelIndexExpiry(), now: () => now } : {}) });
      const db = new Storage({ bucket: new MemBucket(), kv: countingDeletes(root, counts) }).tenant('t');
      await writeDays(db);
      const want = await dump(db);
      // The week is one index bucket, sealed once it ended before yesterday began.
      const sealable = (it: Record<string, { S?: string }>) => indexBucketOfPk(it.pk!.S!) === W;
      const ixBefore = (await t.scan()).filter(sealable).length;
      assert.ok(ixBefore > 30 && want.split('\n').length === 3, want);
      assert.equal((await t.scan()).filter((it) => indexBucketOfPk(it.pk!.S!) !== undefined).length, ixBefore, 'every index item is in the one week');
      now = WeekEnd + Day;
      // Act
      const run = await new Compactor(db.stores, { now: () => now, deleteGraceMs: 0, indexItemsExpire: expire }).run({ force: true });
      // Assess
      assert.equal(run.indexWeeksSealed, 1);
      const ixAfter = (await t.scan()).filter(sealable).length;
      if (expire) {
        assert.equal(counts.ix, 0, 'no index item deleted');
        assert.equal(ixAfter, ixBefore, 'the items stay until TTL removes them');
        assert.ok((await db.stores.seals.markedAt(D)) !== undefined, 'the week is marked: writers re-index late samples');
      } else {
        assert.equal(counts.ix, ixBefore);
        assert.equal(ixAfter, 0);
      }
      assert.equal(await dump(db), want, 'reads right after sealing');
      // Reads past the items' expiry (hidden), and after TTL deleted them.
      now = T0 + 40 * Day;
      assert.equal(await dump(db), want, 'reads once the items expired');
      const { dropBucketIndex } = await import('../../../lib/index/gc.ts');
      await dropBucketIndex(new DynamoKVStore({ client: ddb.client(), table: t.name }), W);
      assert.equal(await dump(db), want, 'reads once the items are deleted');
      // A later run has nothing left to seal, and deletes nothing with expiry.
      const before = counts.ix;
      const run2 = await new Compactor(db.stores, { now: () => now, deleteGraceMs: 0, indexItemsExpire: expire }).run({ force: true });
      assert.equal(run2.indexWeeksSealed, 0);
      if (expire) assert.equal(counts.ix, before);
      assert.equal(await dump(db), want, 'reads at the end');
    });
  }

  it('compacts a week whose index expired (compaction down 36 days): labels come from the week\'s block', async () => {
    // Prepare: one process writes a series in two 2 h windows of day D; only
    // its first segment carries the labels. The first window is compacted
    // into a block; then compaction stops.
    const t = await table();
    let now = T0 + Hour;
    const root = new DynamoKVStore({ client: ddb.client(), table: t.name, expiry: labelIndexExpiry(), now: () => now });
    const db = new Storage({ bucket: new MemBucket(), kv: root }).tenant('t');
    const s1 = newSeriesEntry(labelsFromPairs({ __name__: 'up', job: 'a' }));
    for (const [ts, v] of [[T0, 1], [T0 + 30 * 60_000, 2], [T0 + 3 * Hour, 3]] as const) {
      const app = db.appender();
      app.append(s1, ts, v);
      await app.commit();
    }
    const want = `{__name__="up", job="a"} ${T0}:1 ${T0 + 1_800_000}:2 ${T0 + 3 * Hour}:3\n__name__,job`;
    assert.equal(await dump(db), want);
    now = T0 + 3 * Hour + 30 * 60_000;
    // Levels of 2 h and 1 d (the defaults when this case was written): the first window settles alone.
    const levels = [2 * Hour, Day].map((windowMs) => ({ windowMs, settleMs: Hour }));
    const first = await new Compactor(db.stores, { now: () => now, indexItemsExpire: true, levels }).run();
    assert.equal(first.jobs, 1, 'only the settled first window');
    // Compaction is down for 36 days: the items have expired 30 days after the week (reads hide them).
    now = T0 + 37 * Day;
    assert.ok(now > WeekEnd + IndexExpiryMs);
    // Without its index the segment's series is found only if a block of the range holds it too (lib/tsdb/batch-load.ts); the block's samples are read either way.
    assert.ok((await dump(db)).startsWith(`{__name__="up", job="a"} ${T0}:1 ${T0 + 1_800_000}:2`), 'the block is read');
    // Act: compaction comes back.
    const run = await new Compactor(db.stores, { now: () => now, indexItemsExpire: true, levels }).run();
    // Assess: the unlabelled segment was compacted with the labels of the block.
    assert.ok(run.jobs >= 1);
    assert.equal(await dump(db), want);
    assert.equal((await db.stores.catalog.all()).filter((r) => r.entry.kind === 'segment').length, 0);
  });

  /**
   * Every item of the week carries the expiry of a write at `now`, except
   * postings items of earlier writes (postings are written per commit,
   * under a new sort key each time: the old ones expire on their own), and
   * every postings partition has one written at `now`.
   */
  function assertRefreshed(ix: Record<string, { S?: string; N?: string }>[], now: number): void {
    const fresh = String((now + IndexExpiryMs) / 1000);
    const postings = new Map<string, boolean>();
    for (const it of ix) {
      const pk = it.pk!.S!;
      if (!pk.includes('/p/')) assert.equal(it[IndexTtlAttribute]?.N, fresh, pk);
      else postings.set(pk, postings.get(pk) === true || it[IndexTtlAttribute]?.N === fresh);
    }
    assert.ok(postings.size > 10);
    for (const [pk, refreshed] of postings) assert.ok(refreshed, `${pk}: no postings item written by the refresh`);
  }

  it('refreshes the index of a week still holding segments 20 days after it when its compaction keeps failing', async () => {
    // Prepare: three days of segments; compaction down until 21 days after the week, then every block upload fails.
    const t = await table();
    let now = T0 + Hour;
    const root = new DynamoKVStore({ client: ddb.client(), table: t.name, expiry: labelIndexExpiry(), now: () => now });
    const db = new Storage({ bucket: new MemBucket(), kv: root }).tenant('t');
    await writeDays(db);
    const want = await dump(db);
    now = WeekEnd + 21 * Day;
    const { faultyBucket } = await import('../../../lib/objstore/faulty.ts');
    const broken = { ...db.stores, bucket: faultyBucket(db.stores.bucket, { failOn: (op, key) => (op === 'put' && key.startsWith('blocks/') ? new Error('S3 down') : undefined) }) };
    const progress: string[] = [];
    // Act
    await assert.rejects(new Compactor(broken, { now: () => now, indexItemsExpire: true, onProgress: (m) => progress.push(m) }).run(), /S3 down/);
    // Assess: the week (due) refreshed once; its items carry a new horizon; reads after the old expiry are exact.
    assert.equal(progress.filter((m) => /week of 2024-09-30 .*refreshed the label index of 9 series/.test(m)).length, 1, progress.join('\n'));
    const ix = (await t.scan()).filter((it) => indexBucketOfPk(it.pk!.S!) === W);
    assert.ok(ix.length > 40);
    assertRefreshed(ix, now);
    now = T0 + 45 * Day;
    assert.equal(await dump(db), want, 'same reads past the old expiry');
    assert.ok((await t.scan()).some((it) => it.pk!.S === `t/${IndexRefreshPartition}`));
  });

  it('refreshes a week due but not expired from its own index, once per 20 days', async () => {
    // Prepare: a week with segments only, compaction down until 20 days after it.
    const t = await table();
    let now = T0 + Hour;
    const root = new DynamoKVStore({ client: ddb.client(), table: t.name, expiry: labelIndexExpiry(), now: () => now });
    const db = new Storage({ bucket: new MemBucket(), kv: root }).tenant('t');
    await writeDays(db);
    const want = await dump(db);
    now = WeekEnd + 20 * Day;
    const { refreshExpiringIndexes } = await import('../../../lib/compact/index-refresh.ts');
    // Act
    const entries = await db.stores.catalog.all();
    const done = await refreshExpiringIndexes(db.stores, entries, now);
    const again = await refreshExpiringIndexes(db.stores, entries, now + Hour);
    // Assess: the week refreshed once (not a minute earlier); its items carry the new expiry.
    assert.deepEqual(await refreshExpiringIndexes(db.stores, entries, now - 1), []);
    assert.deepEqual(done, [W]);
    assert.deepEqual(again, []);
    const ix = (await t.scan()).filter((it) => indexBucketOfPk(it.pk!.S!) === W);
    assert.ok(ix.length > 40);
    assertRefreshed(ix, now);
    assert.deepEqual(await refreshExpiringIndexes(db.stores, entries, now + 20 * Day), [W], 'again 20 days later');
    now = T0 + 45 * Day; // past the old expiries, before the new ones
    assert.equal(await dump(db), want);
  });
});
