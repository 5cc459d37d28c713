/**
 * Retention and index GC: duration and override parsing with clear errors;
 * expired segments and blocks (raw and downsampled) leave the catalog at
 * once and the bucket after the grace period while the rest stays; per-
 * tenant overrides; the label index stays bounded under many days of
 * series churn; a crash in the middle of index GC is finished by a rerun;
 * GC reaches postings that no value item names.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Compactor } from '../../../lib/compact/compactor.ts';
import { UlidFactory } from '../../../lib/tsdb/ulid.ts';
import { Storage, newSeriesEntry, tenantIndexPrefix, type TenantDB } from '../../../lib/tsdb/db.ts';
import { MemBucket } from '../../../lib/objstore/mem.ts';
import { MemKVStore } from '../../../lib/kvstore/mem.ts';
import { faultyKVStore } from '../../../lib/kvstore/faulty.ts';
import type { KVItem, KVQueryOptions, KVStore } from '../../../lib/kvstore/kvstore.ts';
import { labelsFromPairs } from '../../../lib/labels/labels.ts';
import { MatchType, newMatcher } from '../../../lib/labels/matcher.ts';
import { Resolution } from '../../../lib/block/format.ts';
import { bucketOf, indexBucketKey, indexBucketOfDay, indexBucketRange, IndexKeys } from '../../../lib/index/keys.ts';
import { resolutionOf } from '../../../lib/catalog/catalog.ts';
import { applyRetention, parseDuration, parseRetentionOverrides, policyFor, type RetentionPolicy } from '../../../lib/compact/retention.ts';
import { IndexGcPartition, pendingIndexGc, removeBucketIndex, runIndexGc, scheduleIndexGc } from '../../../lib/compact/index-gc.ts';
import { encodePostingsValues } from '../../../lib/index/postings-items.ts';
import { BadInputError } from '../../../lib/util/errors.ts';
import { parseArgs, UsageError } from '../../../lib/server/cli.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Clock, Day, Hour, Minute, objectKeys, storesOn, tombstoneCount } from './helpers.ts';

/** A Monday about 60 days ago: the first day of an index bucket (week). */
const B = indexBucketOfDay(Math.floor(Date.now() / Day) - 60) * Day;

/** A KVStore that counts the live items of the label index (pk `<tenant>/ix/...`). */
class CountingKV implements KVStore {
  readonly live = new Set<string>();
  constructor(private readonly inner: KVStore = new MemKVStore()) {}
  get(pk: string, sk: string) {
    return this.inner.get(pk, sk);
  }
  query(pk: string, opts?: KVQueryOptions) {
    return this.inner.query(pk, opts);
  }
  async batchPut(items: readonly KVItem[]) {
    await this.inner.batchPut(items);
    for (const it of items) this.live.add(`${it.pk}\u0000${it.sk}`);
  }
  async putIfAbsent(item: KVItem) {
    const ok = await this.inner.putIfAbsent(item);
    this.live.add(`${item.pk}\u0000${item.sk}`);
    return ok;
  }
  replaceIf(item: KVItem, expected: Uint8Array) {
    return this.inner.replaceIf(item, expected);
  }
  async batchDelete(keys: readonly { pk: string; sk: string }[]) {
    await this.inner.batchDelete(keys);
    for (const k of keys) this.live.delete(`${k.pk}\u0000${k.sk}`);
  }
  close() {
    return this.inner.close();
  }
  /** Index items per bucket. */
  indexBuckets(): Map<number, number> {
    const out = new Map<number, number>();
    for (const k of this.live) {
      const m = /^[^/]+\/ix\/w(\d{9})\//.exec(k);
      if (m !== null) out.set(Number(m[1]) - 200_000_000, (out.get(Number(m[1]) - 200_000_000) ?? 0) + 1);
    }
    return out;
  }
}

/** Writes one sample per minute for `hours` hours from `from` for `n` series named after `tag` (one request per hour). */
async function write(db: TenantDB, from: number, hours: number, tag: string, n = 3): Promise<void> {
  const series = Array.from({ length: n }, (_, k) => newSeriesEntry(labelsFromPairs({ __name__: 'churn', pod: `${tag}-${k}`, long: `${tag}-${'x'.repeat(600)}` })));
  for (let h = 0; h < hours; h++) {
    const app = db.appender();
    for (const s of series) for (let m = 0; m < 60; m += 5) app.append(s, from + h * Hour + m * Minute, h * 60 + m);
    await app.commit();
  }
}

async function countSamples(db: TenantDB, mint: number, maxt: number): Promise<number> {
  const set = (await db.querier(mint, maxt)).select(true, undefined, newMatcher(MatchType.Equal, '__name__', 'churn'));
  let n = 0;
  while (await set.next()) {
    const it = set.at().iterator();
    while (it.next()) n++;
  }
  return n;
}

describe('parseDuration', () => {
  const good: [string, number][] = [['0', 0], ['90d', 90 * Day], ['1y', 365 * Day], ['1w3d12h', 10 * Day + 12 * Hour], ['30m', 30 * Minute], ['1h30m15s500ms', Hour + 30 * Minute + 15_500]];
  for (const [s, want] of good) it(`parses ${s}`, () => assert.equal(parseDuration(s), want));
  for (const s of ['', '1x', '-1d', '1.5d', 'd', '1d1y', '90 d']) {
    it(`rejects ${JSON.stringify(s)}`, () => assert.throws(() => parseDuration(s, '--retention.raw'), (e: Error) => e instanceof BadInputError && e.message === `--retention.raw: not a valid duration string: ${JSON.stringify(s)} (want e.g. 90d, 1y, 12h, or 0 to keep forever)`));
  }
});

describe('parseRetentionOverrides', () => {
  it('parses tenants and inherits missing fields', () => {
    const o = parseRetentionOverrides('{"short": {"raw": "2d", "5m": "30d"}, "forever": {"raw": 0, "1h": "0"}}');
    const defaults: RetentionPolicy = { raw: 90 * Day, fiveMinutes: 365 * Day, oneHour: 0 };
    const cfg = { defaults, overrides: o };
    assert.deepEqual(policyFor(cfg, 'short'), { raw: 2 * Day, fiveMinutes: 30 * Day, oneHour: 0 });
    assert.deepEqual(policyFor(cfg, 'forever'), { raw: 0, fiveMinutes: 365 * Day, oneHour: 0 });
    assert.deepEqual(policyFor(cfg, 'other'), defaults);
    assert.deepEqual(policyFor(cfg, 'toString'), defaults);
  });
  const bad: [string, RegExp][] = [
    ['{', /not valid JSON/],
    ['[]', /want a JSON object of tenant/],
    ['{"a/b": {}}', /invalid tenant id "a\/b"/],
    ['{"t": 5}', /tenant "t": want an object/],
    ['{"t": {"2h": "1d"}}', /tenant "t": unknown field "2h"/],
    ['{"t": {"raw": "1q"}}', /tenant "t": "raw": not a valid duration string: "1q"/],
    ['{"t": {"raw": 86400}}', /tenant "t": "raw" must be a duration string/],
  ];
  for (const [json, re] of bad) it(`rejects ${json}`, () => assert.throws(() => parseRetentionOverrides(json), (e: Error) => e instanceof BadInputError && re.test(e.message)));
});

describe('retention', () => {
  it('expires segments older than the raw retention, deletes their objects after the grace period', async () => {
    // Prepare: segments on days 0..4, no compaction.
    const st = new Storage({ bucket: new MemBucket(), kv: new MemKVStore() });
    const db = st.tenant('t');
    for (let d = 0; d < 5; d++) await write(db, B + d * Day, 2, `d${d}`);
    const now = B + 5 * Day;
    // Act
    const res = await applyRetention(db.stores, { raw: 3 * Day, fiveMinutes: 0, oneHour: 0 }, now, Hour);
    // Assess: days 0 and 1 (maxTime < now - 3 d) are out of the catalog, their objects wait.
    assert.equal(res.expired, 4);
    assert.equal(await countSamples(db, B, B + 2 * Day - 1), 0);
    assert.equal(await countSamples(db, B + 2 * Day, B + 5 * Day), 3 * 3 * 24);
    assert.equal(await tombstoneCount(db.stores), 4);
    assert.equal((await objectKeys(db.stores)).length, 10);
    // Index GC is off while a resolution is kept forever.
    assert.deepEqual(await pendingIndexGc(db.stores.kv), []);
    // After the grace period the deletions run removes the objects.
    const c = new Compactor(db.stores, { now: () => now + 2 * Hour, levels: [2 * Hour, Day].map((windowMs) => ({ windowMs, settleMs: 1000 * Day })) });
    await c.run();
    assert.equal((await objectKeys(db.stores)).length, 6);
    assert.equal(await countSamples(db, B + 2 * Day, B + 5 * Day), 3 * 3 * 24);
  });

  it('expires raw, 5 m and 1 h blocks by their own retention through the compactor', async () => {
    // Prepare: 12 days of data, compacted and downsampled as it goes.
    const clock = new Clock(B);
    const st = new Storage({ bucket: new MemBucket(), kv: new MemKVStore() });
    const db = st.tenant('t');
    const s = storesOn(db, new UlidFactory(clock.now));
    const policy: RetentionPolicy = { raw: 4 * Day, fiveMinutes: 12 * Day, oneHour: 0 };
    const c = new Compactor(s, { now: clock.now, downsample: true, retention: policy });
    for (let d = 0; d < 14; d++) {
      await write(db, B + d * Day, 24, 'a');
      clock.t = B + (d + 1) * Day + 2 * Hour;
      await c.run();
    }
    clock.t = B + 26 * Day;
    await c.run();
    clock.t += 2 * Hour;
    await c.run();
    // Assess: what is left of each resolution ends within its retention; objects match the catalog.
    const all = await s.catalog.all();
    const byRes = (r: number) => all.filter((x) => resolutionOf(x.entry) === r).map((x) => x.entry);
    for (const [r, ret] of [[0, policy.raw], [Resolution.FIVE_MINUTES, policy.fiveMinutes]] as const) for (const e of byRes(r)) assert.ok(e.maxTime >= clock.t - 2 * Hour - ret, `res ${r} entry ${e.id} is within retention`);
    assert.equal(byRes(0).length, 0);
    assert.equal(byRes(Resolution.FIVE_MINUTES).length, 0);
    assert.equal(byRes(Resolution.ONE_HOUR).length, 14); // kept forever
    assert.deepEqual(await objectKeys(s), all.map((x) => x.entry.key).sort());
    // The 1 h data still answers for the whole span.
    const q = await db.downsampledQuerier(Resolution.ONE_HOUR, B, B + 14 * Day - 1);
    const set = q.select(true, { start: B, end: B + 14 * Day - 1, func: 'count_over_time' }, newMatcher(MatchType.Equal, '__name__', 'churn'));
    let total = 0;
    while (await set.next()) {
      const it = set.at().iterator();
      while (it.next()) total += it.atV();
    }
    assert.equal(total, 14 * 24 * 12 * 3);
  });

  it('applies per-tenant overrides', async () => {
    const st = new Storage({ bucket: new MemBucket(), kv: new MemKVStore() });
    const cfg = { defaults: { raw: 0, fiveMinutes: 0, oneHour: 0 }, overrides: parseRetentionOverrides('{"short": {"raw": "2d"}}') };
    const now = B + 6 * Day;
    for (const t of ['short', 'long']) {
      const db = st.tenant(t);
      for (let d = 0; d < 5; d++) await write(db, B + d * Day, 1, t);
      await new Compactor(db.stores, { now: () => now, retention: policyFor(cfg, t) }).run();
    }
    assert.equal(await countSamples(st.tenant('short'), B, now), 1 * 3 * 12); // day 4 only
    assert.equal(await countSamples(st.tenant('long'), B, now), 5 * 3 * 12);
  });
});

describe('index GC', () => {
  it('keeps the label index bounded while series churn for many days', async () => {
    // Prepare: new series every day, segments only (no compaction), retention 3 d everywhere.
    const kv = new CountingKV();
    const st = new Storage({ bucket: new MemBucket(), kv });
    const db = st.tenant('t');
    const policy: RetentionPolicy = { raw: 3 * Day, fiveMinutes: 3 * Day, oneHour: 3 * Day };
    const sizes: number[] = [];
    for (let d = 0; d < 20; d++) {
      await write(db, B + d * Day, 2, `day${d}`, 4);
      // Act
      const now = B + (d + 1) * Day;
      await applyRetention(db.stores, policy, now, Hour);
      await runIndexGc(db.stores.kv, policy, now);
      // Assess: only the weeks holding data within retention keep index items.
      const buckets = kv.indexBuckets();
      for (const b of buckets.keys()) assert.ok(indexBucketRange(b)[1] >= now - 4 * Day, `day ${d}: week ${b} still indexed`);
      sizes.push([...buckets.values()].reduce((a, b) => a + b, 0));
    }
    // A week's index is kept until 3 days after the week: at most 9 days of churn at once, in every cycle.
    assert.ok(Math.max(...sizes.slice(10)) <= Math.max(...sizes.slice(0, 10)) * 1.01, `index items bounded: ${sizes.join(' ')}`);
    assert.ok(sizes[19]! > 0);
    // Recent data still reads.
    assert.equal(await countSamples(db, B + 19 * Day, B + 20 * Day), 4 * 2 * 12);
  });

  it('finishes after a crash in the middle', async () => {
    // Prepare: an old, expired bucket with index items and a pending item.
    const inner = new CountingKV();
    let deletes = 0;
    let crashAt = 7;
    const kv = faultyKVStore(inner, { failOn: () => undefined, failAfter: (op) => (op === 'batchDelete' && ++deletes === crashAt ? new Error('crash') : undefined) });
    const st = new Storage({ bucket: new MemBucket(), kv });
    const db = st.tenant('t');
    await write(db, B, 1, 'old', 5);
    await write(db, B + 8 * Day, 1, 'new', 2); // the next week
    const policy: RetentionPolicy = { raw: Day, fiveMinutes: Day, oneHour: Day };
    const now = B + 9 * Day;
    const before = inner.indexBuckets();
    assert.ok(before.get(bucketOf(B))! > 20);
    // Act: retention schedules the old bucket, GC crashes part way, then a rerun.
    await applyRetention(db.stores, policy, now, Hour);
    assert.deepEqual(await pendingIndexGc(db.stores.kv), [bucketOf(B)]);
    await assert.rejects(runIndexGc(db.stores.kv, policy, now), /crash/);
    const mid = inner.indexBuckets().get(bucketOf(B)) ?? 0;
    assert.ok(mid > 0 && mid < before.get(bucketOf(B))!, `crashed part way: ${mid} of ${before.get(bucketOf(B))}`);
    crashAt = -1;
    const res = await runIndexGc(db.stores.kv, policy, now);
    // Assess: the old bucket is gone, the new one untouched, nothing pending.
    assert.equal(res.buckets, 1);
    assert.equal(inner.indexBuckets().get(bucketOf(B)), undefined);
    assert.equal(inner.indexBuckets().get(bucketOf(B) + 7), before.get(bucketOf(B) + 7));
    assert.ok(before.get(bucketOf(B) + 7)! > 0);
    assert.deepEqual(await pendingIndexGc(db.stores.kv), []);
    assert.equal(await countSamples(db, B, now), 2 * 12);
  });

  it('removes postings that no value item names, in both postings forms', async () => {
    // Prepare: a week indexed as usual, plus a series whose postings items
    // were written without their name and value items, one per-commit item
    // and one of the per-series form written before issue 5's ninth round.
    const kv = new CountingKV();
    const st = new Storage({ bucket: new MemBucket(), kv });
    const db = st.tenant('t');
    await write(db, B, 1, 'kept', 3);
    const prefix = tenantIndexPrefix('t');
    const week = bucketOf(B);
    const stray = newSeriesEntry(labelsFromPairs({ __name__: 'stray_metric', zone: 'nowhere' }));
    await kv.batchPut([
      { pk: prefix + IndexKeys.postings(week, '__name__', 'stray_metric'), sk: '@0.0000000000000000', value: encodePostingsValues([stray.id])[0]! },
      { pk: prefix + IndexKeys.postings(week, 'zone', 'nowhere'), sk: stray.id, value: new Uint8Array([1]) },
      { pk: prefix + IndexKeys.series(week), sk: stray.id, value: stray.canonical },
    ]);
    assert.ok(kv.indexBuckets().get(week)! > 10);
    // Act
    const n = await removeBucketIndex(db.stores.kv, week);
    // Assess: nothing of the week is left, the stray postings included.
    assert.equal(kv.indexBuckets().get(week), undefined, [...kv.live].join('\n'));
    assert.ok(n > 10);
  });

  it('drops a pending week that still has catalog entries on another day, and waits for a young one', async () => {
    const st = new Storage({ bucket: new MemBucket(), kv: new MemKVStore() });
    const db = st.tenant('t');
    await write(db, B + 3 * Day, 1, 'x');
    const policy: RetentionPolicy = { raw: Day, fiveMinutes: Day, oneHour: Day };
    // Day B + 1 has no catalog entry, but its week has (day B + 3); the next week is empty but young.
    await scheduleIndexGc(db.stores.kv, [bucketOf(B) + 1, bucketOf(B) + 7]);
    await db.stores.kv.batchPut([{ pk: IndexGcPartition, sk: '200020000', value: new Uint8Array([1]) }]); // a day-layout item
    const res = await runIndexGc(db.stores.kv, policy, B + 14 * Day);
    assert.equal(res.buckets, 0);
    // The week with data lost its item; the empty but young one keeps it; the day-layout item is dropped.
    const left: string[] = [];
    for await (const it of db.stores.kv.query(IndexGcPartition)) left.push(it.sk);
    assert.deepEqual(left, [indexBucketKey(bucketOf(B) + 7)]);
    assert.equal(await countSamples(db, B, B + 7 * Day), 3 * 12);
  });
});

describe('retention flags', () => {
  it('parse for serve and compact, with an overrides file', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'stratus-retention-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'overrides.json');
    writeFileSync(file, '{"t1": {"raw": "7d"}}');
    for (const cmd of ['serve', 'compact']) {
      const got = parseArgs([cmd, '--retention.raw=90d', '--retention.1h', '2y', `--retention.overrides=${file}`]);
      assert.ok(got.command === cmd && 'config' in got);
      assert.deepEqual(got.config.retention, { defaults: { raw: 90 * Day, fiveMinutes: 0, oneHour: 730 * Day }, overrides: { t1: { raw: 7 * Day } } });
      const none = parseArgs([cmd]);
      assert.ok('config' in none && none.config.retention === undefined);
    }
    const bad: [string[], RegExp][] = [
      [['compact', '--retention.5m=5 days'], /^flag --retention.5m: not a valid duration string: "5 days"/],
      [['serve', '--retention.overrides=/nonexistent/x.json'], /^flag --retention.overrides: cannot read "\/nonexistent\/x.json"/],
    ];
    writeFileSync(file, '{"t1": {"raw": "7 d"}}');
    bad.push([['serve', `--retention.overrides=${file}`], /tenant "t1": "raw": not a valid duration string: "7 d"/]);
    for (const [argv, re] of bad) assert.throws(() => parseArgs(argv), (e: Error) => e instanceof UsageError && re.test(e.message), argv.join(' '));
  });
});

describe('parseRetentionConfig (the compact function setting)', () => {
  it('reads defaults and tenant overrides; missing fields keep data forever; errors name the field', async () => {
    const { parseRetentionConfig } = await import('../../../lib/compact/retention.ts');
    const c = parseRetentionConfig('{"raw":"90d","1h":"5y","tenants":{"team-a":{"raw":"30d"}}}');
    assert.equal(c.defaults.raw, 90 * 86_400_000);
    assert.equal(c.defaults.fiveMinutes, 0);
    assert.equal(c.defaults.oneHour, 5 * 365 * 86_400_000);
    assert.equal(c.overrides['team-a']!.raw, 30 * 86_400_000);
    assert.throws(() => parseRetentionConfig('{"raw":"90x"}'), /retention: defaults/);
    assert.throws(() => parseRetentionConfig('{"tenants":{"a":{"2h":"1d"}}}'), /unknown field "2h"/);
    assert.throws(() => parseRetentionConfig('['), /not valid JSON/);
  });
});
