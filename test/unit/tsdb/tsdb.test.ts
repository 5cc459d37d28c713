import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemBucket } from '../../../lib/objstore/mem.ts';
import { MemKVStore } from '../../../lib/kvstore/mem.ts';
import { Storage, newSeriesEntry } from '../../../lib/tsdb/db.ts';
import { labelsFromPairs, labelsGet, labelsToString, type Labels } from '../../../lib/labels/labels.ts';
import { MatchType, newMatcher, type Matcher } from '../../../lib/labels/matcher.ts';
import { sortDedup } from '../../../lib/tsdb/appender.ts';
import { BucketMs, IndexBucketMs } from '../../../lib/index/keys.ts';

async function selectAll(storage: Storage, tenant: string, mint: number, maxt: number, ms: Matcher[]) {
  const q = await storage.tenant(tenant).querier(mint, maxt);
  const set = q.select(true, undefined, ...ms);
  const out: { labels: string; samples: [number, number][] }[] = [];
  while (await set.next()) {
    const s = set.at();
    const it = s.iterator();
    const samples: [number, number][] = [];
    while (it.next()) samples.push([it.atT(), it.atV()]);
    assert.equal(it.err(), null);
    out.push({ labels: labelsToString(s.labels), samples });
  }
  return out;
}

function newStorage() {
  return new Storage({ bucket: new MemBucket(), kv: new MemKVStore() });
}

describe('tsdb', () => {
  it('reads back what was committed, merged across segments', async () => {
    const st = newStorage();
    const a = newSeriesEntry(labelsFromPairs({ __name__: 'up', job: 'a' }));
    const b = newSeriesEntry(labelsFromPairs({ __name__: 'up', job: 'b' }));
    let app = st.tenant('t1').appender();
    app.append(a, 2000, 1);
    app.append(a, 1000, 0.5); // out of order within a request
    app.append(b, 1000, 7);
    await app.commit();
    app = st.tenant('t1').appender();
    app.append(a, 1500, 0.75); // late sample in a later request
    app.append(a, 2000, 2); // rewrites t=2000: the later write wins
    await app.commit();

    const got = await selectAll(st, 't1', 0, 10_000, [newMatcher(MatchType.Equal, '__name__', 'up')]);
    assert.deepEqual(got, [
      { labels: '{__name__="up", job="a"}', samples: [[1000, 0.5], [1500, 0.75], [2000, 2]] },
      { labels: '{__name__="up", job="b"}', samples: [[1000, 7]] },
    ]);
    // Time range cut.
    const cut = await selectAll(st, 't1', 1200, 1800, [newMatcher(MatchType.Equal, 'job', 'a')]);
    assert.deepEqual(cut, [{ labels: '{__name__="up", job="a"}', samples: [[1500, 0.75]] }]);
  });

  it('keeps tenants apart', async () => {
    const st = newStorage();
    const s = newSeriesEntry(labelsFromPairs({ __name__: 'x' }));
    const app = st.tenant('one').appender();
    app.append(s, 1, 1);
    await app.commit();
    assert.equal((await selectAll(st, 'one', 0, 10, [newMatcher(MatchType.Equal, '__name__', 'x')])).length, 1);
    assert.equal((await selectAll(st, 'two', 0, 10, [newMatcher(MatchType.Equal, '__name__', 'x')])).length, 0);
    assert.throws(() => st.tenant('../evil'), /invalid tenant/);
  });

  it('spans index buckets, before 1970 too', async () => {
    const st = newStorage();
    const s = newSeriesEntry(labelsFromPairs({ __name__: 'x' }));
    const app = st.tenant('t').appender();
    const ts = [-3 * BucketMs - 5, -1, 0, BucketMs, 40 * BucketMs];
    for (const t of ts) app.append(s, t, t);
    await app.commit();
    const got = await selectAll(st, 't', -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, [newMatcher(MatchType.Equal, '__name__', 'x')]);
    assert.deepEqual(got[0]!.samples, ts.map((t) => [t, t]));
    const mid = await selectAll(st, 't', -1, BucketMs, [newMatcher(MatchType.Equal, '__name__', 'x')]);
    assert.deepEqual(mid[0]!.samples, [[-1, -1], [0, 0], [BucketMs, BucketMs]]);
  });

  it('indexes each series in every week it has samples in, when series of one segment alternate days and weeks', async () => {
    // Prepare: times on both sides of day and week boundaries (a Monday is
    // day 4 + 7k), given to 40 series in seeded random subsets, so that
    // consecutive series of the segment start on other days than the
    // previous one ended (the layout caches the last day and its week).
    const monday = (4 + 7 * 2900) * BucketMs;
    const times = [-1, 0, monday - BucketMs, monday - 1, monday, monday + BucketMs - 1, monday + BucketMs, monday + IndexBucketMs - 1, monday + IndexBucketMs, monday + 3 * IndexBucketMs + 5];
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const st = newStorage();
    const want = new Map<string, number[]>();
    const app = st.tenant('t').appender();
    for (let i = 0; i < 40; i++) {
      const ts = times.filter(() => rnd() < 0.35);
      if (ts.length === 0) ts.push(times[i % times.length]!);
      const name = `s${String(i).padStart(2, '0')}`;
      want.set(name, ts);
      const e = newSeriesEntry(labelsFromPairs({ __name__: 'w', s: name }));
      for (const t of [...ts].reverse()) app.append(e, t, i); // out of order too
    }
    // Act
    await app.commit();
    // Assess: per week (and per day around the boundary), the series with samples there and their samples.
    const weekOf = (t: number) => Math.floor((t - 4 * BucketMs) / IndexBucketMs);
    const windows = [...new Set(times.map(weekOf))].map((w) => [4 * BucketMs + w * IndexBucketMs, 4 * BucketMs + (w + 1) * IndexBucketMs - 1] as const);
    const weeks = windows.length;
    windows.push([monday - BucketMs, monday - 1], [monday, monday + BucketMs - 1]);
    for (const [n, [mint, maxt]] of windows.entries()) {
      const expect = [...want].map(([name, ts]) => ({ name, ts: ts.filter((t) => t >= mint && t <= maxt) })).filter((x) => x.ts.length > 0);
      // (The querier may also list series of the same week with no samples in a shorter range.)
      const got = (await selectAll(st, 't', mint, maxt, [newMatcher(MatchType.Equal, '__name__', 'w')])).filter((g) => g.samples.length > 0);
      assert.deepEqual(
        got.map((g) => g.labels),
        expect.map((x) => `{__name__="w", s="${x.name}"}`),
        `series in [${mint}, ${maxt}]`,
      );
      for (let k = 0; k < got.length; k++) assert.deepEqual(got[k]!.samples.map(([t]) => t), expect[k]!.ts, `samples of ${expect[k]!.name}`);
      if (n >= weeks) continue;
      const q = await st.tenant('t').querier(mint, maxt);
      assert.deepEqual(await q.labelValues('s'), expect.map((x) => x.name), `label values of week [${mint}, ${maxt}]`);
    }
  });

  it('selects exactly what a brute-force filter over all series selects', async () => {
    // Prepare: random series over a few labels, some lacking some labels.
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const st = newStorage();
    const all: Labels[] = [];
    const app = st.tenant('t').appender();
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const pairs: Record<string, string> = { __name__: `m${rnd(3)}` };
      if (rnd(4) > 0) pairs.job = ['api', 'db', 'web', 'api-2'][rnd(4)]!;
      if (rnd(2) > 0) pairs.instance = `h${rnd(6)}:9100`;
      if (rnd(5) === 0) pairs.mode = ['', 'idle', 'user\nx'][rnd(3)]!;
      const ls = labelsFromPairs(pairs);
      const key = labelsToString(ls);
      if (seen.has(key)) continue;
      seen.add(key);
      all.push(ls);
      app.append(newSeriesEntry(ls), 1000 + i, i);
    }
    await app.commit();

    const matcherSets: Matcher[][] = [
      [newMatcher(MatchType.Equal, 'job', 'api')],
      [newMatcher(MatchType.NotEqual, 'job', 'api')],
      [newMatcher(MatchType.Equal, 'job', '')],
      [newMatcher(MatchType.NotEqual, 'job', '')],
      [newMatcher(MatchType.Regexp, 'job', 'api|db')],
      [newMatcher(MatchType.Regexp, 'job', 'a.*')],
      [newMatcher(MatchType.Regexp, 'job', '.*')],
      [newMatcher(MatchType.Regexp, 'job', '|web')],
      [newMatcher(MatchType.NotRegexp, 'job', 'api.*')],
      [newMatcher(MatchType.NotRegexp, 'job', '')],
      [newMatcher(MatchType.Regexp, 'mode', 'user.*')],
      [newMatcher(MatchType.Regexp, 'mode', '(?s)user.*')],
      [newMatcher(MatchType.Equal, '__name__', 'm1'), newMatcher(MatchType.Regexp, 'instance', 'h[0-2]:.*'), newMatcher(MatchType.NotEqual, 'job', 'db')],
      [newMatcher(MatchType.Regexp, '__name__', 'm0|m2'), newMatcher(MatchType.NotRegexp, 'instance', '.+')],
      [newMatcher(MatchType.Equal, 'nonexistent', 'x')],
      [newMatcher(MatchType.NotEqual, 'nonexistent', 'x')],
    ];
    for (const ms of matcherSets) {
      const want = all
        .filter((ls) => ms.every((m) => m.matches(labelsGet(ls, m.name))))
        .map(labelsToString)
        .sort();
      const got = (await selectAll(st, 't', 0, 10_000, ms)).map((s) => s.labels).sort();
      assert.deepEqual(got, want, ms.map(String).join(','));
    }
  });

  it('sortDedup sorts stably and keeps the last of equal timestamps', () => {
    const t = Float64Array.from([5, 1, 3, 1, 5, 2]);
    const v = Float64Array.from([50, 10, 30, 11, 51, 20]);
    const end = sortDedup(t, v, 0, 6);
    assert.deepEqual([...t.subarray(0, end)], [1, 2, 3, 5]);
    assert.deepEqual([...v.subarray(0, end)], [11, 20, 30, 51]);
  });
});

describe('labels in segments', () => {
  it('are carried by the first committed segment of a process per series and bucket, then only ids', async () => {
    const { readSegmentTable } = await import('../../../lib/segment/reader.ts');
    const bucket = new MemBucket();
    const kv = new MemKVStore();
    const write = async (st: Storage, t: number) => {
      const app = st.tenant('t').appender();
      app.append(newSeriesEntryCached(st, 'a'), t, 1);
      await app.commit();
    };
    const cache = new Map<Storage, ReturnType<typeof newSeriesEntry>>();
    const newSeriesEntryCached = (st: Storage, v: string) => {
      if (!cache.has(st)) cache.set(st, newSeriesEntry(labelsFromPairs({ __name__: 'm', v })));
      return cache.get(st)!;
    };
    const p1 = new Storage({ bucket, kv });
    await write(p1, 1000);
    await write(p1, 2000);
    await write(p1, IndexBucketMs); // a new index bucket (the next week): labels again
    // A second process. Its ULIDs start in a later millisecond, so object
    // order below is write order (within one ms, two processes' ids order
    // by their random part).
    await new Promise((r) => setTimeout(r, 5));
    const p2 = new Storage({ bucket, kv });
    await write(p2, 3000);

    const labelBytes: number[] = [];
    for await (const key of bucket.iter('tenants/t/segments/')) {
      const { table } = await readSegmentTable(bucket, key);
      labelBytes.push(table.labelsAt(0).length);
    }
    assert.equal(labelBytes.length, 4);
    assert.ok(labelBytes[0]! > 0, 'first segment defines the series');
    assert.equal(labelBytes[1], 0, 'second segment refers by id');
    assert.ok(labelBytes[2]! > 0, 'new bucket: defined again');
    assert.ok(labelBytes[3]! > 0, 'new process: defined again');
    const got = await selectAll(p2, 't', 0, 2 * IndexBucketMs, [newMatcher(MatchType.Equal, '__name__', 'm')]);
    assert.deepEqual(got[0]!.samples, [[1000, 1], [2000, 1], [3000, 1], [IndexBucketMs, 1]]);
  });
});

describe('idOrder', () => {
  it('orders series by full id, also when the 36-bit prefixes tie', async () => {
    const { idOrder } = await import('../../../lib/tsdb/appender.ts');
    const mk = (hex: string) => {
      const idBytes = Uint8Array.from(Buffer.from(hex, 'hex'));
      let sortKey = 0;
      for (let i = 0; i < 6; i++) sortKey = sortKey * 256 + idBytes[i]!;
      const w = (i: number) => idBytes.slice(i, i + 4).reduce((a, b) => a * 256 + b, 0) | 0;
      return { ...newSeriesEntry(labelsFromPairs({ a: hex })), id: hex, idBytes, sortKey, w0: w(0), w1: w(4), w2: w(8), w3: w(12) };
    };
    const ids = [
      'ffffffffff00000000000000000000aa',
      '000000000100000000000000000000ff', // same 36-bit prefix as the next two
      '000000000200000000000000000000aa',
      '000000000000000000000000000000bb',
      '7f00000000000000000000000000000a',
      '00000000000000000000000000000001',
    ];
    let seed = 3;
    for (let round = 0; round < 50; round++) {
      const shuffled = [...ids].sort(() => ((seed = (seed * 48271) % 2147483647) % 3) - 1);
      const entries = shuffled.map(mk);
      const got = [...idOrder(entries)].map((i) => entries[i]!.id);
      assert.deepEqual(got, [...ids].sort());
      // The same order from the prefixes an appender keeps (PendingWrite.keys).
      const top = Uint32Array.from(entries, (e) => e.w0 >>> 0);
      assert.deepEqual([...idOrder(entries, entries.length, top)].map((i) => entries[i]!.id), [...ids].sort());
    }
  });

  it('is what a commit sorts by: runs of one and of several appenders come out in id order', async () => {
    // Prepare: 300 series appended in a different shuffled order by each of
    // three appenders of a storage with group commit.
    const st = new Storage({ bucket: new MemBucket(), kv: new MemKVStore(), groupCommit: true });
    const entries = Array.from({ length: 300 }, (_, i) => newSeriesEntry(labelsFromPairs({ __name__: 'm', i: String(i) })));
    const apps = [0, 1, 2].map((a) => {
      const app = st.tenant('t').appender();
      let seed = 7 + a;
      const shuffled = [...entries].sort(() => ((seed = (seed * 48271) % 2147483647) % 3) - 1);
      shuffled.forEach((e, k) => app.append(e, 1000 * (a + 1), k));
      return app;
    });
    // Act: commit them together (one segment), then one more alone.
    const results = await Promise.all(apps.map((app) => app.commit()));
    const alone = st.tenant('t').appender();
    for (const e of [...entries].reverse()) alone.append(e, 4000, 1);
    await alone.commit();
    // Assess: one shared segment; every series reads back with its four
    // samples (a segment table out of id order would not parse).
    assert.deepEqual(results.map((r) => r.groupSize), [3, 3, 3]);
    const got = await selectAll(st, 't', 0, 10_000, [newMatcher(MatchType.Equal, '__name__', 'm')]);
    assert.equal(got.length, 300);
    for (const g of got) assert.deepEqual(g.samples.map(([t]) => t), [1000, 2000, 3000, 4000], g.labels);
  });
});

describe('label names and values', () => {
  it('come from the series with data in the range, filtered by matchers, sorted', async () => {
    // Prepare: two index buckets (weeks from Monday: days -3..3 and 4..10), series differing by labels.
    const st = newStorage();
    const app = st.tenant('t').appender();
    app.append(newSeriesEntry(labelsFromPairs({ __name__: 'up', job: 'b', zone: 'z1' })), 1000, 1);
    app.append(newSeriesEntry(labelsFromPairs({ __name__: 'up', job: 'a' })), 1000, 1);
    app.append(newSeriesEntry(labelsFromPairs({ __name__: 'mem', job: 'c', host: 'h' })), IndexBucketMs + 1000, 1);
    await app.commit();
    // Act + Assess.
    const all = await st.tenant('t').querier(0, 2 * IndexBucketMs);
    assert.deepEqual(await all.labelNames(), ['__name__', 'host', 'job', 'zone']);
    assert.deepEqual(await all.labelValues('job'), ['a', 'b', 'c']);
    assert.deepEqual(await all.labelValues('nope'), []);
    const up = [newMatcher(MatchType.Equal, '__name__', 'up')];
    assert.deepEqual(await all.labelNames(...up), ['__name__', 'job', 'zone']);
    assert.deepEqual(await all.labelValues('job', ...up), ['a', 'b']);
    const day1 = await st.tenant('t').querier(0, 4 * BucketMs - 1); // the first week only
    assert.deepEqual(await day1.labelValues('__name__'), ['up']);
    const empty = await st.tenant('other').querier(0, 2 * BucketMs);
    assert.deepEqual(await empty.labelNames(), []);
  });
});
