/**
 * `stratus compact` in-process: its flags (and the new flags of `serve`),
 * runCli's dispatch and exit codes, and runCompact on a local data dir:
 * progress and summary on stderr, reads bit-exact afterwards, a missing
 * dir, unknown tenants, a data dir held by another opener (LevelDB's lock),
 * a stale lease left by a killed run, and a stop on SIGINT followed by a
 * rerun that finishes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, runCli, UsageError, USAGE, type CliCommand, type CompactConfig } from '../../../lib/server/cli.ts';
import { DataDirInUseError, formatDuration, isLevelLocked, runCompact } from '../../../lib/server/compact.ts';
import { openLocalStorage } from '../../../lib/server/app.ts';
import { Lease } from '../../../lib/compact/lease.ts';
import { DefaultLevels } from '../../../lib/compact/planner.ts';
import { CompactionFailedError } from '../../../lib/compact/service.ts';
import { Model, assertReadsModel, catalogState, dataset, writeRequests } from '../compact/helpers.ts';
import type { SignalSource } from '../../../lib/server/signals.ts';

const COMPACT: CompactConfig = {
  dataDir: './data',
  logLevel: 'info',
  storage: 'local',
  bucket: '',
  table: '',
  createResources: false,
  force: false,
  tenants: [],
  levels: [...DefaultLevels],
  deleteGraceMs: 3_600_000,
};

describe('parseArgs compact', () => {
  const ok: { args: string[]; want: CliCommand }[] = [
    { args: ['compact'], want: { command: 'compact', config: COMPACT } },
    {
      args: ['compact', '--force', '--tenant=a', '--tenant', 'b', '--tenant=a', '--compact.settle=0s', '--compact.delete-grace', '1h30m', '--data-dir=/d'],
      want: { command: 'compact', config: { ...COMPACT, force: true, tenants: ['a', 'b'], levels: DefaultLevels.map((l) => ({ ...l, settleMs: 0 })), deleteGraceMs: 5_400_000, dataDir: '/d' } },
    },
    { args: ['compact', '--force=false', '--compact.delete-grace=0'], want: { command: 'compact', config: { ...COMPACT, deleteGraceMs: 0 } } },
    {
      args: ['compact', '--storage=aws', '--bucket=b', '--table=t', '--create-resources', '--log.level=warn'],
      want: { command: 'compact', config: { ...COMPACT, storage: 'aws', bucket: 'b', table: 't', createResources: true, logLevel: 'warn' } },
    },
    { args: ['compact', '--help'], want: { command: 'help' } },
  ];
  for (const c of ok) it(`${JSON.stringify(c.args)} parses`, () => assert.deepEqual(parseArgs(c.args), c.want));

  const bad: { args: string[]; err: RegExp }[] = [
    { args: ['compact', '--listen-address=:1'], err: /^flag --listen-address does not apply to compact$/ },
    { args: ['compact', '--compact.interval=1h'], err: /^flag --compact\.interval does not apply to compact$/ },
    { args: ['serve', '--force'], err: /^flag --force does not apply to serve$/ },
    { args: ['serve', '--tenant=a'], err: /^flag --tenant does not apply to serve$/ },
    { args: ['compact', '--compact.settle=1x'], err: /^flag --compact\.settle is "1x"; want a duration such as 1h/ },
    { args: ['compact', '--compact.delete-grace=-1s'], err: /^flag --compact\.delete-grace is "-1s"/ },
    { args: ['compact', '--force=yes'], err: /^flag --force is "yes"; want true or false$/ },
    { args: ['compact', '--tenant=a/b'], err: /^flag --tenant: invalid tenant id "a\/b"/ },
    { args: ['compact', '--compact.settle=1h', '--compact.settle=2h'], err: /^flag --compact\.settle is given more than once$/ },
    { args: ['compact', '--storage=aws'], err: /^--storage=aws needs --bucket and --table$/ },
  ];
  for (const c of bad) {
    it(`${JSON.stringify(c.args)} is a usage error`, () => {
      assert.throws(() => parseArgs(c.args), (err: unknown) => err instanceof UsageError && c.err.test(err.message));
    });
  }
});

describe('parseArgs serve: compaction flags', () => {
  const cases: { args: string[]; interval: number; admin: boolean }[] = [
    { args: ['serve'], interval: 5 * 60_000, admin: false },
    { args: ['serve', '--compact.interval=0s'], interval: 0, admin: false },
    { args: ['serve', '--compact.interval', '2h', '--web.enable-admin-api'], interval: 7_200_000, admin: true },
    { args: ['serve', '--web.enable-admin-api=false'], interval: 5 * 60_000, admin: false },
  ];
  for (const c of cases) {
    it(JSON.stringify(c.args), () => {
      const cmd = parseArgs(c.args);
      assert.equal(cmd.command, 'serve');
      if (cmd.command !== 'serve') return;
      assert.deepEqual([cmd.config.compactIntervalMs, cmd.config.enableAdminApi], [c.interval, c.admin]);
    });
  }

  it('lists each command with its flags in the usage', () => {
    const compactPart = USAGE.slice(USAGE.indexOf('Flags of compact:'));
    const servePart = USAGE.slice(USAGE.indexOf('Flags of serve:'), USAGE.indexOf('Flags of compact:'));
    for (const f of ['--force', '--tenant', '--compact.settle', '--compact.delete-grace', '--data-dir', '--storage']) assert.ok(compactPart.includes(f), f);
    for (const f of ['--compact.interval', '--web.enable-admin-api', '--listen-address']) assert.ok(servePart.includes(f) && !compactPart.includes(f), f);
  });
});

describe('runCli compact', () => {
  it('runs compact with the parsed config: 0 on success, 1 with the message on failure', async () => {
    const got: CompactConfig[] = [];
    let stderr = '';
    const deps = (fail: boolean) => ({
      serve: async () => assert.fail('serve must not run'),
      compact: async (cfg: CompactConfig) => {
        got.push(cfg);
        if (fail) throw new DataDirInUseError('/d is in use by another process');
      },
      stdout: () => {},
      stderr: (t: string) => (stderr += t),
    });
    assert.equal(await runCli(['compact', '--data-dir=/d'], deps(false)), 0);
    assert.equal(await runCli(['compact', '--data-dir=/d', '--force'], deps(true)), 1);
    assert.deepEqual(got, [{ ...COMPACT, dataDir: '/d' }, { ...COMPACT, dataDir: '/d', force: true }]);
    assert.equal(stderr, 'stratus: error: /d is in use by another process\n');
  });
});

describe('formatDuration and isLevelLocked', () => {
  const cases: [number, string][] = [[0, '0s'], [1, '1ms'], [3_600_000, '1h'], [5_400_000, '1h30m'], [90_061_001, '1d1h1m1s1ms']];
  for (const [ms, want] of cases) it(`${ms} ms is ${want}`, () => assert.equal(formatDuration(ms), want));

  it('finds LEVEL_LOCKED anywhere in the cause chain', () => {
    const locked = Object.assign(new Error('IO error: lock'), { code: 'LEVEL_LOCKED' });
    assert.equal(isLevelLocked(new Error('open', { cause: new Error('not open', { cause: locked }) })), true);
    assert.equal(isLevelLocked(new Error('open', { cause: new Error('ENOENT') })), false);
  });
});

/** A local data dir holding the compaction data set of two tenants. */
async function dataDir(t: { after(fn: () => Promise<void>): void }) {
  const dir = await mkdtemp(join(tmpdir(), 'stratus-compact-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const storage = await openLocalStorage(dir);
  const models = new Map<string, Model>();
  for (const [i, name] of ['alpha', 'beta'].entries()) {
    const m = new Model();
    await writeRequests(storage.tenant(name), dataset(i).requests, m);
    models.set(name, m);
  }
  await storage.close();
  return { dir, models };
}

/** Opens the dir and checks every tenant's reads against its model; returns the catalog's segment counts. */
async function checkReads(dir: string, models: Map<string, Model>, what: string): Promise<Record<string, number>> {
  const storage = await openLocalStorage(dir);
  const segments: Record<string, number> = {};
  try {
    for (const [name, m] of models) {
      await assertReadsModel(storage.tenant(name), m, `${what}: ${name}`);
      segments[name] = (await catalogState(storage.tenant(name).stores)).segments;
    }
  } finally {
    await storage.close();
  }
  return segments;
}

describe('runCompact on a local data dir', { timeout: 60_000 }, () => {
  it('prints one line per block and deletion and a summary; reads stay exact; only blocks remain', async (t) => {
    // Prepare
    const { dir, models } = await dataDir(t);
    let err = '';
    // Act
    const s = await runCompact({ ...COMPACT, dataDir: dir, deleteGraceMs: 0 }, { stderr: (x) => (err += x), signals: new EventEmitter() });
    // Assess
    const lines = err.trimEnd().split('\n');
    assert.equal(lines[0], 'compacting 2 tenants in windows of 10m, 2h, 1d once they ended 5m, 1h, 1h ago; replaced objects are deleted 0s after replacement');
    assert.equal(lines.filter((l) => / -> blocks\//.test(l)).length, s.totals.blocksWritten);
    assert.equal(lines.filter((l) => /: deleted (segments|blocks)\//.test(l)).length, s.totals.objectsDeleted);
    assert.match(lines.at(-1)!, /^compaction done in \d+\.\d s: 2 tenants, \d+ blocks written from \d+ objects \(\d+ samples\), \d+ replaced objects deleted, 0 orphans deleted$/);
    assert.ok(s.totals.blocksWritten > 0 && s.totals.objectsDeleted === s.totals.inputsReplaced);
    assert.deepEqual(await checkReads(dir, models, 'after'), { alpha: 0, beta: 0 });
  });

  it('with --log.level=warn prints the summary only', async (t) => {
    const { dir } = await dataDir(t);
    let err = '';
    await runCompact({ ...COMPACT, dataDir: dir, logLevel: 'warn', tenants: ['beta'] }, { stderr: (x) => (err += x), signals: new EventEmitter() });
    assert.match(err, /^compaction done in \d+\.\d s: 1 tenant, [1-9]\d* blocks written/);
    assert.equal(err.split('\n').filter(Boolean).length, 1);
  });

  it('refuses a missing data dir, unknown tenants, and a data dir another opener holds', async (t) => {
    const { dir } = await dataDir(t);
    const io = { stderr: () => {}, signals: new EventEmitter() };
    await assert.rejects(runCompact({ ...COMPACT, dataDir: join(dir, 'nope') }, io), /^StratusError: no Stratus data in .*nope \(it has no index\/ directory\)/);
    await assert.rejects(runCompact({ ...COMPACT, dataDir: dir, tenants: ['gamma', 'beta'] }, io), {
      message: 'no data for tenant "gamma"; tenants with data: alpha, beta',
    });
    const holder = await openLocalStorage(dir);
    try {
      await assert.rejects(runCompact({ ...COMPACT, dataDir: dir }, io), (e: unknown) => {
        assert.ok(e instanceof DataDirInUseError);
        assert.match(e.message, /is in use by another process \(a running "stratus serve"\?\).*--web\.enable-admin-api.*POST 'http:\/\/<host>:9201\/api\/v1\/admin\/compact\?force=true'/);
        return true;
      });
    } finally {
      await holder.close();
    }
  });

  it('takes over a lease left by a killed run (LevelDB lets only one process in)', async (t) => {
    // Prepare: a lease held by a process that died a moment ago.
    const { dir, models } = await dataDir(t);
    const storage = await openLocalStorage(dir);
    assert.equal(await new Lease({ kv: storage.tenant('alpha').stores.kv, name: 'compact', holder: 'dead/123', ttlMs: 16 * 60_000 }).acquire(), true);
    await storage.close();
    // Act
    const s = await runCompact({ ...COMPACT, dataDir: dir, deleteGraceMs: 0 }, { stderr: () => {}, signals: new EventEmitter() });
    // Assess
    assert.deepEqual(s.tenants.map((x) => x.outcome), ['done', 'done']);
    assert.deepEqual(await checkReads(dir, models, 'after'), { alpha: 0, beta: 0 });
  });

  it('stops at a safe point on SIGINT (exit 1, what was done kept), and a rerun finishes', async (t) => {
    const { dir, models } = await dataDir(t);
    const signals = new EventEmitter();
    let err = '';
    const stderr = (x: string) => {
      err += x;
      if (/ -> blocks\//.test(x) && signals.listenerCount('SIGINT') > 0) signals.emit('SIGINT', 'SIGINT');
    };
    await assert.rejects(runCompact({ ...COMPACT, dataDir: dir, deleteGraceMs: 0 }, { stderr, signals: signals as SignalSource }), {
      message: 'stopped by SIGINT before the end; run it again to finish (what was done is kept)',
    });
    assert.equal(err.split('\n').filter((l) => / -> blocks\//.test(l)).length, 1, 'one block, then the stop');
    assert.match(err, /received SIGINT; stopping after the step under way/);
    assert.match(err, /compaction stopped in .*: 1 tenant \(stopped early, 1 not started\)/);
    const mid = await checkReads(dir, models, 'after the stop');
    assert.ok(mid.alpha! > 0 && mid.beta! > 0, 'work left for the rerun');
    await runCompact({ ...COMPACT, dataDir: dir, deleteGraceMs: 0 }, { stderr: () => {}, signals: new EventEmitter() });
    assert.deepEqual(await checkReads(dir, models, 'after the rerun'), { alpha: 0, beta: 0 });
  });

  it('reports a tenant failure as CompactionFailedError after the summary', async (t) => {
    const { dir } = await dataDir(t);
    // The data of beta's only block window cannot be written: its objects dir is a file now.
    const { writeFile, mkdir } = await import('node:fs/promises');
    await mkdir(join(dir, 'objects/tenants/beta'), { recursive: true });
    await writeFile(join(dir, 'objects/tenants/beta/blocks'), 'not a directory');
    let err = '';
    await assert.rejects(runCompact({ ...COMPACT, dataDir: dir }, { stderr: (x) => (err += x), signals: new EventEmitter() }), (e: unknown) => {
      assert.ok(e instanceof CompactionFailedError);
      assert.match(e.message, /^compaction failed for 1 of 2 tenants: tenant beta: /);
      return true;
    });
    assert.match(err, /\ntenant beta: failed: .*\ncompaction failed in /);
  });
});
