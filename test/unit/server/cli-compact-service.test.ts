/**
 * lib/compact/service.ts over in-memory storage: every tenant compacted
 * with reads staying bit-exact, a chosen subset, a tenant skipped while
 * another compactor holds its lease, a failing tenant recorded while the
 * others go on, an early stop at a safe point and a rerun that finishes,
 * the summary text, and the server's timer (injected timers): no overlap,
 * failures logged, stop waits for the run.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CompactionFailedError,
  CompactionScheduler,
  compactTenants,
  countProgress,
  describeSummary,
  progressKind,
  zeroCounts,
  type CompactionSummary,
  type Timers,
} from '../../../lib/compact/service.ts';
import { Lease, LeasePartition } from '../../../lib/compact/lease.ts';
import { Storage } from '../../../lib/tsdb/db.ts';
import { MemBucket } from '../../../lib/objstore/mem.ts';
import { MemKVStore } from '../../../lib/kvstore/mem.ts';
import { BackendError } from '../../../lib/util/errors.ts';
import { createLogger } from '../../../lib/util/logger.ts';
import { Model, assertReadsModel, catalogState, dataset, objectKeys, writeRequests } from '../compact/helpers.ts';

/** A bucket whose puts under `failPrefix` fail. */
class FailingBucket extends MemBucket {
  constructor(private readonly failPrefix: string) {
    super();
  }

  override async put(key: string, data: Uint8Array): Promise<void> {
    if (key.startsWith(this.failPrefix)) throw new BackendError(`put ${key}`, { cause: new Error('injected: disk full') });
    return super.put(key, data);
  }
}

/** Two tenants holding the compaction test data set (segments only). */
async function twoTenants(bucket = new MemBucket()) {
  const storage = new Storage({ bucket, kv: new MemKVStore() });
  const tenants = ['alpha', 'beta'].map((name, variant) => ({ name, db: storage.tenant(name), model: new Model() }));
  for (const [i, t] of tenants.entries()) await writeRequests(t.db, dataset(i).requests, t.model);
  return { storage, tenants };
}

const fast = { quality: 4, deleteGraceMs: 0 };

describe('compactTenants', () => {
  it('compacts every tenant into blocks only, reads stay bit-exact, and progress counts equal the run results', async () => {
    // Prepare
    const { storage, tenants } = await twoTenants();
    const lines: string[] = [];
    // Act
    const s = await compactTenants(storage, { ...fast, onProgress: (m) => lines.push(m) });
    // Assess
    assert.deepEqual(s.tenants.map((t) => [t.tenant, t.outcome]), [['alpha', 'done'], ['beta', 'done']]);
    assert.equal(s.failed, 0);
    assert.equal(s.stopped, false);
    for (const t of s.tenants) {
      const fromLines = zeroCounts();
      for (const l of lines.filter((l) => l.startsWith(`tenant ${t.tenant}:`))) countProgress(fromLines, l);
      const { tenant: _t, outcome: _o, durationMs: _d, error: _e, ...counts } = t;
      assert.deepEqual(fromLines, counts, `${t.tenant}: counts from progress lines`);
      assert.ok(t.blocksWritten >= 2 && t.objectsDeleted === t.inputsReplaced, JSON.stringify(t));
    }
    assert.equal(s.totals.blocksWritten, s.tenants[0]!.blocksWritten + s.tenants[1]!.blocksWritten);
    for (const t of tenants) {
      await assertReadsModel(t.db, t.model, t.name);
      const cat = await catalogState(t.db.stores);
      assert.equal(cat.segments, 0, `${t.name}: no segment left in the catalog`);
      assert.deepEqual(cat.missing, []);
      assert.deepEqual((await objectKeys(t.db.stores)).filter((k) => !k.startsWith('blocks/')), [], `${t.name}: only blocks stored`);
    }
  });

  it('compacts only the tenants asked for', async () => {
    const { storage, tenants } = await twoTenants();
    const s = await compactTenants(storage, { ...fast, tenants: ['beta'] });
    assert.deepEqual(s.tenants.map((t) => t.tenant), ['beta']);
    assert.ok((await catalogState(tenants[0]!.db.stores)).segments > 0, 'alpha untouched');
    assert.equal((await catalogState(tenants[1]!.db.stores)).segments, 0);
  });

  it('skips a tenant whose lease another compactor holds, with a progress line', async () => {
    // Prepare: someone else holds alpha's lease.
    const { storage, tenants } = await twoTenants();
    const other = new Lease({ kv: tenants[0]!.db.stores.kv, name: 'compact', holder: 'elsewhere/1', ttlMs: 60_000 });
    assert.equal(await other.acquire(), true);
    const lines: string[] = [];
    // Act
    const s = await compactTenants(storage, { ...fast, onProgress: (m) => lines.push(m) });
    // Assess
    assert.deepEqual(s.tenants.map((t) => [t.tenant, t.outcome, t.blocksWritten]), [['alpha', 'skipped', 0], ['beta', 'done', s.tenants[1]!.blocksWritten]]);
    assert.ok(s.tenants[1]!.blocksWritten > 0);
    const skip = lines.filter((l) => progressKind(l) === 'skipped');
    assert.equal(skip.length, 1);
    assert.match(skip[0]!, /^tenant alpha: .*elsewhere\/1/);
    assert.match(describeSummary(s), /1 skipped: lease held elsewhere/);
  });

  it('records a failing tenant, goes on with the others, and loses nothing', async () => {
    // Prepare: block uploads of alpha fail.
    const { storage, tenants } = await twoTenants(new FailingBucket('tenants/alpha/blocks/'));
    // Act
    const s = await compactTenants(storage, fast);
    // Assess
    assert.deepEqual(s.tenants.map((t) => [t.tenant, t.outcome]), [['alpha', 'failed'], ['beta', 'done']]);
    assert.equal(s.failed, 1);
    assert.match(s.tenants[0]!.error!, /put tenants\/alpha\/blocks\/.*: injected: disk full/);
    assert.match(new CompactionFailedError(s).message, /^compaction failed for 1 of 2 tenants: tenant alpha: put tenants\/alpha\/blocks\//);
    assert.match(describeSummary(s), /^compaction failed in /);
    for (const t of tenants) await assertReadsModel(t.db, t.model, t.name);
    // The failed run released alpha's lease: another compactor may take it at once.
    assert.equal(await new Lease({ kv: tenants[0]!.db.stores.kv, name: 'compact', holder: 'next', ttlMs: 60_000 }).acquire(), true);
  });

  it('stops at a safe point when asked, releases the lease, and a rerun finishes with exact reads', async () => {
    // Prepare
    const { storage, tenants } = await twoTenants();
    let blocks = 0;
    // Act: stop after the first block.
    const s = await compactTenants(storage, { ...fast, onProgress: (m) => void (progressKind(m) === 'block' && blocks++), shouldStop: () => blocks >= 1 });
    // Assess
    assert.equal(s.stopped, true);
    assert.deepEqual(s.tenants.map((t) => [t.tenant, t.outcome, t.blocksWritten]), [['alpha', 'stopped', 1]]);
    assert.deepEqual(s.notStarted, ['beta']);
    assert.match(describeSummary(s), /stopped early, 1 not started/);
    assert.equal(await tenants[0]!.db.stores.kv.get(LeasePartition, 'compact').then((v) => JSON.parse(new TextDecoder().decode(v!)).expiresAt), 0, 'lease released');
    for (const t of tenants) await assertReadsModel(t.db, t.model, `${t.name} after the stop`);
    // Act 2: a rerun finishes.
    const again = await compactTenants(storage, fast);
    assert.deepEqual(again.tenants.map((t) => t.outcome), ['done', 'done']);
    for (const t of tenants) {
      await assertReadsModel(t.db, t.model, `${t.name} after the rerun`);
      assert.equal((await catalogState(t.db.stores)).segments, 0);
    }
  });

  it('stops before the first tenant when asked from the start', async () => {
    const { storage } = await twoTenants();
    const s = await compactTenants(storage, { shouldStop: () => true });
    assert.deepEqual([s.tenants.length, s.notStarted, s.stopped], [0, ['alpha', 'beta'], true]);
  });
});

describe('describeSummary', () => {
  const base: CompactionSummary = {
    force: false,
    startedAt: 0,
    durationMs: 1234,
    tenants: [{ tenant: 'a', outcome: 'done', durationMs: 1, jobs: 2, blocksWritten: 2, inputsReplaced: 7, samplesWritten: 99, objectsDeleted: 3, orphansDeleted: 1 }],
    notStarted: [],
    totals: { jobs: 2, blocksWritten: 2, inputsReplaced: 7, samplesWritten: 99, objectsDeleted: 3, orphansDeleted: 1 },
    stopped: false,
    failed: 0,
  };
  const cases: [string, CompactionSummary, string][] = [
    ['done', base, 'compaction done in 1.2 s: 1 tenant, 2 blocks written from 7 objects (99 samples), 3 replaced objects deleted, 1 orphans deleted'],
    ['forced', { ...base, force: true }, 'compaction (forced) done in 1.2 s: 1 tenant, 2 blocks written from 7 objects (99 samples), 3 replaced objects deleted, 1 orphans deleted'],
    ['stopped', { ...base, stopped: true, notStarted: ['b', 'c'] }, 'compaction stopped in 1.2 s: 1 tenant (stopped early, 2 not started), 2 blocks written from 7 objects (99 samples), 3 replaced objects deleted, 1 orphans deleted'],
  ];
  for (const [name, s, want] of cases) it(name, () => assert.equal(describeSummary(s), want));
});

/** Timers the test fires by hand. */
class ManualTimers implements Timers {
  readonly pending = new Map<number, { fn: () => void; ms: number }>();
  #next = 1;
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.#next++;
    this.pending.set(id, { fn, ms });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.pending.delete(h as number);
  }
  /** Fires the only pending timer and returns its delay. */
  fire(): number {
    assert.equal(this.pending.size, 1, 'exactly one timer pending');
    const [[id, t]] = [...this.pending];
    this.pending.delete(id!);
    t!.fn();
    return t!.ms;
  }
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(cond(), what);
}

function capture() {
  const lines: Record<string, any>[] = [];
  return { lines, logger: createLogger({ level: 'debug', write: (l) => lines.push(JSON.parse(l)) }) };
}

describe('CompactionScheduler', () => {
  it('runs on its timer, arms the next run only after a run ended, and logs each summary', async () => {
    // Prepare
    const { storage } = await twoTenants();
    const timers = new ManualTimers();
    const { lines, logger } = capture();
    const sched = new CompactionScheduler({ storage, intervalMs: 600_000, timers, logger, compactor: fast });
    // Act
    sched.start();
    // Assess: the first run comes a minute after start (the interval is longer).
    assert.equal(timers.fire(), 60_000);
    assert.equal(sched.running, true);
    assert.equal(timers.pending.size, 0, 'no timer while a run is under way');
    await until(() => !sched.running && timers.pending.size === 1, 'the run ends and re-arms');
    const done = lines.filter((l) => l.msg === 'compaction finished');
    assert.equal(done.length, 1);
    assert.equal(done[0]!.trigger, 'timer');
    assert.ok(done[0]!.blocksWritten > 0);
    assert.ok(lines.some((l) => l.msg === 'compaction progress' && /-> blocks\//.test(l.detail)));
    // The next run an interval later has nothing left to do.
    assert.equal(timers.fire(), 600_000);
    await until(() => lines.filter((l) => l.msg === 'compaction finished').length === 2, 'second run');
    assert.equal(lines.filter((l) => l.msg === 'compaction finished')[1]!.blocksWritten, 0);
    await sched.stop();
    assert.equal(timers.pending.size, 0, 'stop clears the timer');
  });

  it('makes an on-demand run wait for the timed run under way', async () => {
    const { storage } = await twoTenants();
    const timers = new ManualTimers();
    const { lines, logger } = capture();
    const sched = new CompactionScheduler({ storage, intervalMs: 1000, timers, logger, compactor: fast });
    sched.start();
    timers.fire();
    const forced = sched.runNow({ force: true });
    const s = await forced;
    const finished = lines.filter((l) => l.msg === 'compaction finished');
    assert.deepEqual(finished.map((l) => [l.trigger, l.force]), [['timer', false], ['request', true]]);
    assert.equal(s.force, true);
    await sched.stop();
  });

  it('logs a failure without throwing from the timer, and keeps its schedule', async () => {
    const storage = new Storage({ bucket: new MemBucket(), kv: new MemKVStore() });
    storage.tenantIds = async () => {
      throw new BackendError('query _tenants', { cause: new Error('injected: connection refused') });
    };
    const timers = new ManualTimers();
    const { lines, logger } = capture();
    const sched = new CompactionScheduler({ storage, intervalMs: 5000, firstDelayMs: 10, timers, logger });
    sched.start();
    assert.equal(timers.fire(), 10);
    await until(() => timers.pending.size === 1, 're-armed after the failure');
    assert.equal([...timers.pending.values()][0]!.ms, 5000);
    const err = lines.find((l) => l.msg === 'compaction could not start');
    assert.ok(err, JSON.stringify(lines));
    assert.equal(err!.level, 'error');
    await sched.stop();
  });

  it('stop ends a run under way at its next safe point and waits for it; later requests are refused', async () => {
    const { storage } = await twoTenants();
    const timers = new ManualTimers();
    let stopped: Promise<void> | undefined;
    // Shutdown begins as the first block is reported.
    const logger = createLogger({ write: (l) => void (JSON.parse(l).msg === 'compaction progress' && (stopped ??= sched.stop())) });
    const sched = new CompactionScheduler({ storage, intervalMs: 0, timers, logger, compactor: fast });
    sched.start();
    assert.equal(timers.pending.size, 0, 'interval 0: no timer');
    const s = await sched.runNow();
    await stopped;
    assert.deepEqual(s.tenants.map((t) => [t.tenant, t.outcome, t.blocksWritten]), [['alpha', 'stopped', 1]]);
    assert.equal(s.stopped, true);
    assert.equal(sched.running, false);
    await assert.rejects(sched.runNow(), /shutting down/);
  });
});
