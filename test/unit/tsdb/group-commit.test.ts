/**
 * Group commit (lib/tsdb/group-commit.ts): concurrent commits share a
 * segment, and every one of them is acknowledged only once that segment is
 * durable (the object written) and recorded (catalog entry written); a
 * failure rejects every commit of the group and none of their samples is
 * visible; no commit is lost or written twice.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemBucket } from '../../../lib/objstore/mem.ts';
import { MemKVStore } from '../../../lib/kvstore/mem.ts';
import type { Bucket } from '../../../lib/objstore/bucket.ts';
import type { KVItem, KVStore } from '../../../lib/kvstore/kvstore.ts';
import { Storage, newSeriesEntry } from '../../../lib/tsdb/db.ts';
import { labelsFromPairs, labelsToString } from '../../../lib/labels/labels.ts';
import { MatchType, newMatcher } from '../../../lib/labels/matcher.ts';
import type { CommitResult } from '../../../lib/tsdb/appender.ts';
import { GroupCommitter } from '../../../lib/tsdb/group-commit.ts';
import { writeSegment, type PendingWrite, type SegmentDeps } from '../../../lib/tsdb/segment-commit.ts';

/** A latch: `wait()` resolves once `open()` is called. */
function latch(): { wait: () => Promise<void>; open: () => void; opened: () => boolean } {
  let open!: () => void;
  let isOpen = false;
  const p = new Promise<void>((r) => (open = () => ((isOpen = true), r())));
  return { wait: () => p, open, opened: () => isOpen };
}

/** A bucket whose segment puts wait for `gate` and can be made to fail; it records completed puts. */
function gatedBucket(inner: Bucket, gate: { wait: () => Promise<void> }, fail: (key: string) => boolean) {
  const done: string[] = [];
  const bucket: Bucket = Object.assign(Object.create(Object.getPrototypeOf(inner)) as Bucket, inner, {
    get: inner.get.bind(inner),
    getRange: inner.getRange.bind(inner),
    head: inner.head.bind(inner),
    exists: inner.exists.bind(inner),
    iter: inner.iter.bind(inner),
    isNotFound: inner.isNotFound.bind(inner),
    delete: inner.delete.bind(inner),
    close: inner.close.bind(inner),
    put: async (key: string, data: Uint8Array) => {
      if (key.includes('segments/')) {
        await gate.wait();
        if (fail(key)) throw new Error(`injected put failure ${key}`);
      }
      await inner.put(key, data);
      done.push(key);
    },
  });
  return { bucket, done };
}

/** A KV store that records catalog writes as they complete, optionally held by a gate. */
function recordingKV(inner: KVStore, gate?: { wait: () => Promise<void> }) {
  const catalogWrites: string[] = [];
  const kv: KVStore = Object.assign(Object.create(Object.getPrototypeOf(inner)) as KVStore, {
    get: inner.get.bind(inner),
    query: inner.query.bind(inner),
    putIfAbsent: inner.putIfAbsent.bind(inner),
    replaceIf: inner.replaceIf.bind(inner),
    batchDelete: inner.batchDelete.bind(inner),
    close: inner.close.bind(inner),
    batchPut: async (items: readonly KVItem[]) => {
      const catalog = items.filter((i) => i.pk.endsWith('catalog'));
      if (catalog.length > 0 && gate !== undefined) await gate.wait();
      await inner.batchPut(items);
      for (const i of catalog) catalogWrites.push(i.sk);
    },
  });
  return { kv, catalogWrites };
}

/** Request r: 3 series x 2 samples at timestamps unique to r. */
function appendRequest(st: Storage, r: number) {
  const app = st.tenant('t').appender();
  for (let s = 0; s < 3; s++) {
    const e = newSeriesEntry(labelsFromPairs({ __name__: 'gc_test', series: String(s) }));
    app.appendMany(e, Float64Array.of(r * 1000, r * 1000 + 1), Float64Array.of(r, r + 0.5), 0, 2);
  }
  return app;
}

async function readAll(st: Storage): Promise<Map<string, [number, number][]>> {
  const q = await st.tenant('t').querier(0, 1e9);
  const set = q.select(true, undefined, newMatcher(MatchType.Equal, '__name__', 'gc_test'));
  const out = new Map<string, [number, number][]>();
  while (await set.next()) {
    const it = set.at().iterator();
    const samples: [number, number][] = [];
    while (it.next()) samples.push([it.atT(), it.atV()]);
    out.set(labelsToString(set.at().labels), samples);
  }
  return out;
}

describe('group commit', () => {
  it('acknowledges no commit before its shared segment is written and recorded', async () => {
    // Prepare: puts and catalog writes held back.
    const putGate = latch();
    const catalogGate = latch();
    const { bucket, done } = gatedBucket(new MemBucket(), putGate, () => false);
    const { kv, catalogWrites } = recordingKV(new MemKVStore(), catalogGate);
    const st = new Storage({ bucket, kv, groupCommit: true });
    const acked: number[] = [];
    // Act: five commits issued in one turn of the event loop.
    const commits = [0, 1, 2, 3, 4].map((r) => appendRequest(st, r).commit().then((res) => (acked.push(r), res)));
    await new Promise((r) => setTimeout(r, 20));
    // Assess: nothing acknowledged while the segment put waits.
    assert.equal(acked.length, 0);
    assert.equal(done.length, 0);
    putGate.open();
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(done.filter((k) => k.includes('segments/')).length, 1, 'one shared segment object');
    assert.equal(acked.length, 0, 'segment durable but not yet in the catalog: still no ack');
    catalogGate.open();
    const results = await Promise.all(commits);
    assert.deepEqual(acked.sort(), [0, 1, 2, 3, 4]);
    assert.equal(catalogWrites.length, 1, 'one catalog write for the group');
    assert.equal(new Set(results.map((r) => r.segmentId)).size, 1);
    assert.deepEqual(results.map((r) => r.groupSize), [5, 5, 5, 5, 5]);
    assert.deepEqual(results.map((r) => r.numSamples), [6, 6, 6, 6, 6]);
    assert.equal(results.filter((r) => r.bytes > 0).length, 1, 'the object counted once');
    // Every sample of every request, once.
    const got = await readAll(st);
    assert.equal(got.size, 3);
    for (const samples of got.values()) {
      assert.deepEqual(samples, [0, 1, 2, 3, 4].flatMap((r) => [[r * 1000, r], [r * 1000 + 1, r + 0.5]]));
    }
  });

  it('rejects every commit of a failed group, shows none of its samples, and goes on with the next', async () => {
    // Prepare: the first segment put fails.
    let puts = 0;
    const { bucket } = gatedBucket(new MemBucket(), { wait: async () => {} }, () => ++puts === 1);
    const st = new Storage({ bucket, kv: new MemKVStore(), groupCommit: true });
    // Act: a group of three fails; then two more commits.
    const first = await Promise.allSettled([0, 1, 2].map((r) => appendRequest(st, r).commit()));
    const second = await Promise.all([3, 4].map((r) => appendRequest(st, r).commit()));
    // Assess
    assert.deepEqual(first.map((x) => x.status), ['rejected', 'rejected', 'rejected']);
    assert.match(String((first[0] as PromiseRejectedResult).reason), /injected put failure/);
    assert.equal(second.length, 2);
    const got = await readAll(st);
    for (const samples of got.values()) assert.deepEqual(samples.map(([t]) => t), [3000, 3001, 4000, 4001]);
  });

  it('covers each commit by exactly one group, in order, within the limits, while a group is in flight', async () => {
    // Prepare: an instrumented writer that records which commits each segment covered.
    const groups: number[][] = [];
    const gate = latch();
    const st = new Storage({ bucket: new MemBucket(), kv: new MemKVStore() });
    const db = st.tenant('t');
    const ids = new Map<PendingWrite, number>();
    const write = async (deps: SegmentDeps, members: readonly PendingWrite[]): Promise<CommitResult[]> => {
      groups.push(members.map((m) => ids.get(m)!));
      if (groups.length === 1) await gate.wait();
      return writeSegment(deps, members);
    };
    const committer = new GroupCommitter({ ...db.stores }, { maxCommits: 3 }, write);
    const pending = (r: number): PendingWrite => {
      const e = newSeriesEntry(labelsFromPairs({ __name__: 'gc_test', series: String(r % 2) }));
      const w: PendingWrite = { entries: [e], runStart: Int32Array.of(0, 1), runs: 1, t: Float64Array.of(r * 10), v: Float64Array.of(r), n: 1 };
      ids.set(w, r);
      return w;
    };
    // Act: one commit, then eight more while its group waits.
    const all = [committer.commit(pending(0))];
    await new Promise((r) => setImmediate(r));
    for (let r = 1; r <= 8; r++) all.push(committer.commit(pending(r)));
    assert.equal(committer.queued, 8);
    gate.open();
    await Promise.all(all);
    // Assess: [0], then the eight queued ones in order, at most three per group.
    assert.deepEqual(groups, [[0], [1, 2, 3], [4, 5, 6], [7, 8]]);
    const got = await readAll(st);
    assert.deepEqual([...got.values()].map((s) => s.length).sort(), [4, 5]);
  });

  it('keeps the later of two equal timestamps across commits of one group, and counts the dropped one', async () => {
    // Prepare
    const st = new Storage({ bucket: new MemBucket(), kv: new MemKVStore(), groupCommit: true });
    const e1 = newSeriesEntry(labelsFromPairs({ __name__: 'gc_test', series: 'x' }));
    const e2 = newSeriesEntry(labelsFromPairs({ __name__: 'gc_test', series: 'x' })); // same series, another entry
    const a = st.tenant('t').appender();
    a.append(e1, 100, 1);
    a.append(e1, 200, 2);
    const b = st.tenant('t').appender();
    b.append(e2, 200, 20);
    b.append(e2, 300, 30);
    // Act
    const [ra, rb] = await Promise.all([a.commit(), b.commit()]);
    // Assess
    assert.equal(ra.segmentId, rb.segmentId);
    assert.deepEqual([ra.numSamples, ra.duplicatesDropped, rb.numSamples, rb.duplicatesDropped], [1, 1, 2, 0]);
    assert.deepEqual([...(await readAll(st)).values()], [[[100, 1], [200, 20], [300, 30]]]);
  });

  it('skips point reads of series records only in buckets that were empty, and still indexes every series', async () => {
    // Prepare: a KV store that counts series-record reads.
    const inner = new MemKVStore();
    let seriesReads = 0;
    const counting: KVStore = Object.assign(Object.create(Object.getPrototypeOf(inner)) as KVStore, {
      query: inner.query.bind(inner),
      putIfAbsent: inner.putIfAbsent.bind(inner),
      replaceIf: inner.replaceIf.bind(inner),
      batchPut: inner.batchPut.bind(inner),
      batchDelete: inner.batchDelete.bind(inner),
      close: inner.close.bind(inner),
      get: (pk: string, sk: string) => {
        if (pk.endsWith('/series')) seriesReads++;
        return inner.get(pk, sk);
      },
    });
    const bucket = new MemBucket();
    // Act 1: a fresh store, three series (one bucket).
    const first = new Storage({ bucket, kv: counting, groupCommit: { soleWriter: true } });
    await appendRequest(first, 1).commit();
    const readsFresh = seriesReads;
    // Act 2: a new process on the same stores: the bucket is not empty any more.
    const second = new Storage({ bucket, kv: counting, groupCommit: { soleWriter: true } });
    const app = second.tenant('t').appender();
    for (const s of ['0', 'new']) app.append(newSeriesEntry(labelsFromPairs({ __name__: 'gc_test', series: s })), 5000, 5);
    const res = await app.commit();
    // Assess
    assert.equal(readsFresh, 0, 'no point reads in a bucket found empty');
    assert.equal(seriesReads, 2, 'a process that finds the bucket in use asks per new series');
    assert.equal(res.seriesIndexed, 1, 'only the series not indexed before is written');
    const q = await second.tenant('t').querier(0, 1e9);
    assert.deepEqual((await q.labelValues('series')).sort(), ['0', '1', '2', 'new']);

    // A writer that may not be alone (AWS mode's serve) asks even in a bucket
    // it found empty: another writer may have indexed the series since.
    seriesReads = 0;
    const shared = new Storage({ bucket: new MemBucket(), kv: counting, groupCommit: { soleWriter: false } });
    const other = shared.tenant('u').appender();
    for (const s of ['a', 'b']) other.append(newSeriesEntry(labelsFromPairs({ __name__: 'gc_test', series: s })), 5000, 5);
    assert.equal((await other.commit()).seriesIndexed, 2);
    assert.equal(seriesReads, 2, 'not the sole writer: one point read per new series');
  });

  describe('waiting for the senders of the last group (lingerMs)', () => {
    /** A committer on a fresh store whose writer records each group's commit numbers; the first group can be held. */
    function recordingCommitter(opts: { lingerMs: number; maxCommits?: number }, hold?: { wait: () => Promise<void> }) {
      const groups: number[][] = [];
      const st = new Storage({ bucket: new MemBucket(), kv: new MemKVStore() });
      const ids = new Map<PendingWrite, number>();
      const write = async (deps: SegmentDeps, members: readonly PendingWrite[]): Promise<CommitResult[]> => {
        groups.push(members.map((m) => ids.get(m)!));
        if (groups.length === 1 && hold !== undefined) await hold.wait();
        return writeSegment(deps, members);
      };
      const committer = new GroupCommitter({ ...st.tenant('t').stores }, opts, write);
      const commit = (r: number): Promise<CommitResult> => {
        const e = newSeriesEntry(labelsFromPairs({ __name__: 'gc_test', series: String(r % 3) }));
        const w: PendingWrite = { entries: [e], runStart: Int32Array.of(0, 1), runs: 1, t: Float64Array.of(r * 10), v: Float64Array.of(r), n: 1 };
        ids.set(w, r);
        return committer.commit(w);
      };
      return { groups, commit, st };
    }
    const turn = () => new Promise((r) => setImmediate(r));

    it('holds a group until as many commits as were in flight are queued: the count releases it, not the timer', { timeout: 10_000 }, async () => {
      // Prepare: a wait far longer than the test waits, so only the count can release a group in time.
      const gate = latch();
      const { groups, commit, st } = recordingCommitter({ lingerMs: 3000 }, gate);
      const done = new Set<number>();
      const track = (r: number) => commit(r).then((res) => (done.add(r), res));
      // Act 1: commit 0 is written alone; 1, 2, 3 arrive meanwhile (4 in flight).
      const all = [track(0)];
      await turn();
      for (const r of [1, 2, 3]) all.push(track(r));
      gate.open();
      await all[0];
      await new Promise((r) => setTimeout(r, 30));
      // Assess 1: 1..3 wait for a fourth commit.
      assert.deepEqual(groups, [[0]]);
      assert.deepEqual([...done], [0]);
      // Act 2: the fourth arrives; then four more, one per turn, after that group.
      const t4 = performance.now();
      all.push(track(4));
      await Promise.all(all);
      const released = performance.now() - t4;
      assert.ok(released < 2000, `the fourth commit released the group only after ${released} ms (the timer did)`);
      const next: Promise<CommitResult>[] = [];
      for (const r of [5, 6, 7, 8]) {
        next.push(track(r));
        await turn();
      }
      const res = await Promise.all(next);
      // Assess 2: groups of four, every commit once, in order.
      assert.deepEqual(groups, [[0], [1, 2, 3, 4], [5, 6, 7, 8]]);
      assert.deepEqual(res.map((x) => x.groupSize), [4, 4, 4, 4]);
      const got = await readAll(st);
      assert.deepEqual([...got.values()].map((x) => x.length).sort(), [3, 3, 3]);
    });

    it('writes fewer commits than expected once lingerMs is over, then expects fewer', { timeout: 10_000 }, async () => {
      // Prepare: a group of two sets the expectation to two.
      const { groups, commit } = recordingCommitter({ lingerMs: 300 });
      await Promise.all([commit(0), commit(1)]);
      // Act: one commit alone, then another alone.
      const t0 = performance.now();
      const lone = await commit(2);
      const waited = performance.now() - t0;
      const t1 = performance.now();
      const next = await commit(3);
      const waitedNext = performance.now() - t1;
      // Assess: the lone commit went after the wait (timers never fire early); the next one did not wait.
      assert.deepEqual(groups, [[0, 1], [2], [3]]);
      assert.deepEqual([lone.groupSize, next.groupSize], [1, 1]);
      assert.ok(waited >= 250, `lone commit written after ${waited} ms, before lingerMs`);
      assert.ok(waitedNext < 250, `a single sender waited ${waitedNext} ms`);
    });

    it('never holds a single sender, and with lingerMs 0 never waits', { timeout: 10_000 }, async () => {
      for (const lingerMs of [3000, 0]) {
        // Prepare
        const { groups, commit } = recordingCommitter({ lingerMs });
        // Act: five commits one after another (each awaited), as one sender sends.
        for (let r = 0; r < 5; r++) await commit(r);
        // Assess: would time out if any of them waited for a second sender.
        assert.deepEqual(groups, [[0], [1], [2], [3], [4]], `lingerMs ${lingerMs}`);
      }
    });
  });
});
