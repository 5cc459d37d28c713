import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemBucket } from '../../../lib/objstore/mem.ts';
import { MemKVStore } from '../../../lib/kvstore/mem.ts';
import { Storage, newSeriesEntry, type TenantDB } from '../../../lib/tsdb/db.ts';
import { labelsFromPairs, labelsToString } from '../../../lib/labels/labels.ts';
import { MatchType, newMatcher, type Matcher } from '../../../lib/labels/matcher.ts';
import { BucketMs, IndexKeys, indexBucketOfDay } from '../../../lib/index/keys.ts';
import { Compactor } from '../../../lib/compact/compactor.ts';
import { sealIndexes } from '../../../lib/compact/seal.ts';
import { DefaultLevels } from '../../../lib/compact/planner.ts';

const Day = BucketMs;
const T0 = 20_000 * Day; // a day far from "now" in the injected clock: a Friday
/** The index bucket (week) of T0: Monday 19996 to Sunday 20002. */
const W0 = indexBucketOfDay(20_000);

async function dump(db: TenantDB, ms: Matcher[]): Promise<string> {
  const q = await db.querier(T0 - 10 * Day, T0 + 10 * Day);
  const set = q.select(true, undefined, ...ms);
  let out = '';
  while (await set.next()) {
    const s = set.at();
    const it = s.iterator();
    out += labelsToString(s.labels);
    while (it.next()) out += ` ${it.atT()}:${it.atV()}`;
    out += '\n';
  }
  return out;
}

async function countIndexItems(kv: MemKVStore, tenant: string, bucket: number): Promise<number> {
  let n = 0;
  for await (const _ of kv.query(`${tenant}/${IndexKeys.series(bucket)}`)) n++;
  for await (const _ of kv.query(`${tenant}/${IndexKeys.names(bucket)}`)) n++;
  for await (const _ of kv.query(`${tenant}/${IndexKeys.postings(bucket, 'job', 'a')}`)) n++;
  return n;
}

describe('sealing weeks into blocks', () => {
  it('drops the label index of compacted weeks; reads, names and values stay the same; late data is still found', async () => {
    // Prepare: two days of one week of data, written "now" = T0 + 5 days.
    let now = T0 + 5 * Day;
    const kv = new MemKVStore();
    const st = new Storage({ bucket: new MemBucket(), kv });
    const db = st.tenant('t');
    const series = Array.from({ length: 12 }, (_, i) => newSeriesEntry(labelsFromPairs({ __name__: i % 2 === 0 ? 'up' : 'mem', job: i % 3 === 0 ? 'a' : 'b', i: String(i) })));
    for (let r = 0; r < 40; r++) {
      const app = db.appender();
      for (const s of series) app.append(s, T0 + r * 3_600_000, r + Number(s.labels[1]!.value.length));
      await app.commit();
    }
    const all = [newMatcher(MatchType.Regexp, '__name__', '.+')];
    const sel = [newMatcher(MatchType.Equal, 'job', 'a'), newMatcher(MatchType.NotEqual, '__name__', 'mem')];
    const before = [await dump(db, all), await dump(db, sel)];
    const q0 = await db.querier(T0 - Day, T0 + 3 * Day);
    const namesBefore = await q0.labelNames();
    const valuesBefore = await q0.labelValues('i', ...sel);
    assert.ok((await countIndexItems(kv, 't', T0 / Day)) > 0);

    // Act: compact everything; the week ended before yesterday.
    const c = new Compactor(db.stores, { now: () => now, deleteGraceMs: 0 });
    const run = await c.run({ force: true });

    // Assess
    assert.equal(W0, 19_996);
    assert.equal(run.indexWeeksSealed, 1);
    assert.equal(await countIndexItems(kv, 't', T0 / Day), 0);
    assert.equal(await countIndexItems(kv, 't', T0 / Day + 1), 0);
    assert.deepEqual([await dump(db, all), await dump(db, sel)], before);
    const q1 = await db.querier(T0 - Day, T0 + 3 * Day);
    assert.deepEqual(await q1.labelNames(), namesBefore);
    assert.deepEqual(await q1.labelValues('i', ...sel), valuesBefore);

    // A late sample for the sealed day, by the same process (whose cache
    // says the series is indexed there), for an old and a new series.
    const fresh = newSeriesEntry(labelsFromPairs({ __name__: 'up', job: 'a', i: 'late' }));
    const app = db.appender();
    app.append(series[0]!, T0 + 30 * 60_000, 99);
    app.append(fresh, T0 + 30 * 60_000, 7);
    await app.commit();
    const withLate = await dump(db, sel);
    assert.match(withLate, /i="late".* \d+:7\n/);
    assert.match(withLate, new RegExp(` ${T0 + 30 * 60_000}:99`));
    // Compacting again folds the late segment into the day's block and seals the day again.
    now += Day;
    const run2 = await c.run({ force: true });
    assert.equal(run2.indexWeeksSealed, 1);
    assert.equal(await dump(db, sel), withLate);
  });

  it('does not seal a week before the day after its end, nor one with a segment on any of its days', async () => {
    const st = new Storage({ bucket: new MemBucket(), kv: new MemKVStore() });
    const db = st.tenant('t');
    const app = db.appender();
    app.append(newSeriesEntry(labelsFromPairs({ __name__: 'x' })), T0, 1);
    await app.commit();
    // Prepare: T0's day in blocks, the week not over yet.
    await new Compactor(db.stores, { now: () => T0 + Day + 3_600_000, deleteGraceMs: 0 }).run({ force: true });
    assert.deepEqual(await sealIndexes(db.stores, T0 + Day + 3_600_000, undefined, 0), []);
    // A segment on Saturday keeps the whole week unsealed, even days later.
    const app2 = db.appender();
    app2.append(newSeriesEntry(labelsFromPairs({ __name__: 'y' })), T0 + Day, 1);
    await app2.commit();
    assert.deepEqual(await sealIndexes(db.stores, (W0 + 20) * Day, undefined, 0), []);
    assert.equal(await db.stores.seals.markedAt(W0), undefined);
    // Compacted on Monday after the week: still not sealed that day (the week ended today)...
    await new Compactor(db.stores, { now: () => (W0 + 7) * Day + 3_600_000, deleteGraceMs: 0 }).run({ force: true });
    assert.deepEqual(await sealIndexes(db.stores, (W0 + 7) * Day + 23 * 3_600_000, undefined, 0), []);
    // ...but on Tuesday (the week ended before yesterday began), sealed as one bucket.
    assert.deepEqual(await sealIndexes(db.stores, (W0 + 8) * Day, undefined, 0), [W0]);
    assert.equal(await db.stores.seals.markedAt(T0 / Day + 1), (W0 + 8) * Day, 'any day of the week names the mark');
  });

  it('marks a day first and drops its index only after the delay; writers seeing the mark send labels', async () => {
    // Prepare: a writer process and a compactor process over the same stores.
    const kv = new MemKVStore();
    const bucket = new MemBucket();
    const writer = new Storage({ bucket, kv, sealCacheMs: 0 }).tenant('t');
    const compactor = new Storage({ bucket, kv }).tenant('t');
    const s1 = newSeriesEntry(labelsFromPairs({ __name__: 'up', job: 'a' }));
    for (let r = 0; r < 3; r++) {
      const app = writer.appender();
      app.append(s1, T0 + r * 60_000, r);
      await app.commit();
    }
    let now = T0 + 5 * Day;
    const c = new Compactor(compactor.stores, { now: () => now, deleteGraceMs: 0, levels: DefaultLevels.map((l) => ({ ...l, settleMs: 0 })) });
    const sel = [newMatcher(MatchType.Equal, 'job', 'a')];

    // Act 1: the first run compacts and marks, but keeps the index.
    const run1 = await c.run();
    assert.equal(run1.indexWeeksSealed, 0);
    assert.ok((await countIndexItems(kv, 't', T0 / Day)) > 0);
    assert.ok((await compactor.stores.seals.markedAt(T0 / Day)) === now);
    // A late write (the same series, the writer's cache says it is indexed) now carries its labels.
    const app = writer.appender();
    app.append(s1, T0 + 10 * 60_000, 42);
    await app.commit();
    const { entries } = await compactor.stores.catalog.entries(T0, T0 + Day - 1);
    const seg = entries.find((e) => e.kind === 'segment');
    assert.ok(seg !== undefined);
    const { readSegmentTable } = await import('../../../lib/segment/reader.ts');
    const { table } = await readSegmentTable(bucket, `tenants/t/${seg.key}`, seg as never);
    assert.ok(table.labelsAt(0).length > 0, 'the late segment carries the labels');

    // Act 2: after the delay, the late segment is compacted and the day sealed.
    now += 11 * 60_000;
    const run2 = await c.run();
    assert.equal(run2.indexWeeksSealed, 1);
    assert.equal(await countIndexItems(kv, 't', T0 / Day), 0);
    assert.equal(await dump(writer, sel), `{__name__="up", job="a"} ${T0}:0 ${T0 + 60_000}:1 ${T0 + 120_000}:2 ${T0 + 600_000}:42\n`);
  });
});
