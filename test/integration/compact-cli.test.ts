/**
 * `stratus compact` end to end, as separate processes on one data dir:
 * the server takes writes (retries, rewrites, late samples, stale markers,
 * -0.0 and infinities included), refuses a concurrent `stratus compact`
 * with a message pointing to the admin endpoint, stops; `stratus compact
 * --force --compact.delete-grace=0s` prints its progress and summary and
 * leaves blocks only; the restarted server answers remote reads (SAMPLES
 * and STREAMED_XOR_CHUNKS) bit for bit as before. Then kill -9 of the
 * compactor at random moments (at most 5), a rerun to completion, and the
 * same check, plus: every stored object is in the catalog (nothing
 * orphaned) and every catalog entry's object exists. And `stratus serve`
 * compacting on its timer and through the admin endpoint.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { remoteRead, remoteWrite, type SampleSeries } from '../../lib/remote/client.ts';
import { MatcherType, ResponseType, type WriteSeries } from '../../lib/prompb/types.ts';
import { openLocalStorage } from '../../lib/server/app.ts';
import { startStratusChild } from '../helpers/child.ts';
import { fromBits, STALE } from '../helpers/bits.ts';
import { prng as rng } from '../helpers/prng.ts';

const bin = fileURLToPath(new URL('../../bin/stratus.js', import.meta.url));
const T0 = Date.UTC(2024, 0, 10); // long settled
const Minute = 60_000;
const Tenants = ['anonymous', 'team-b'] as const;

/** A value of series `s` at step `k`: counters, raw doubles, and the special bit patterns. */
function value(s: number, k: number): number {
  switch (s % 4) {
    case 0:
      return k * 3;
    case 1:
      return Math.sin(k) * 1e6;
    case 2:
      return [fromBits(STALE), -0, 0, Infinity, -Infinity, 1.5, NaN][k % 7]!;
    default:
      return k / 10;
  }
}

/** Request `r` of a tenant: `series` series, 60 samples each, 10 s apart, in the r-th 10-minute slot. */
function request(r: number, series: number, tenantSalt: number): WriteSeries[] {
  return Array.from({ length: series }, (_, s) => ({
    labels: [
      { name: '__name__', value: 'compact_e2e' },
      { name: 'series', value: String(s) },
    ],
    timestamps: Float64Array.from({ length: 60 }, (_, k) => T0 + r * 10 * Minute + k * 10_000),
    values: Float64Array.from({ length: 60 }, (_, k) => value(s + tenantSalt, r * 60 + k)),
  }));
}

/** Writes `requests` slots for each tenant, plus a retried request, a rewrite and late samples. */
async function writeData(url: string, requests: number, series: number): Promise<void> {
  for (const [ti, tenant] of Tenants.entries()) {
    const n = ti === 0 ? requests : Math.ceil(requests / 4);
    for (let r = 0; r < n; r++) await remoteWrite(`${url}/api/v1/write`, request(r, ti === 0 ? series : 3, ti), { tenant });
    await remoteWrite(`${url}/api/v1/write`, request(1, ti === 0 ? series : 3, ti), { tenant }); // a retry: same samples
    // Rewrite of existing samples (the later write wins) and late samples between existing ones.
    const late: WriteSeries = {
      labels: [{ name: '__name__', value: 'compact_e2e' }, { name: 'series', value: '0' }],
      timestamps: Float64Array.from([T0 + 20 * Minute, T0 + 20 * Minute + 5_000, T0 + 2 * Minute + 1]),
      values: Float64Array.from([-7, fromBits(STALE), 42]),
    };
    await remoteWrite(`${url}/api/v1/write`, [late], { tenant });
  }
}

const scratch = new DataView(new ArrayBuffer(8));
function bits(v: number): string {
  scratch.setFloat64(0, v);
  return `${scratch.getUint32(0).toString(16).padStart(8, '0')}${scratch.getUint32(4).toString(16).padStart(8, '0')}`;
}

function lines(series: SampleSeries[]): string[] {
  const out: string[] = [];
  for (const s of series) {
    const name = s.labels.map((l) => `${l.name}=${l.value}`).join(',');
    for (let i = 0; i < s.timestamps.length; i++) out.push(`${name} ${s.timestamps[i]} ${bits(s.values[i]!)}`);
  }
  return out;
}

/** Every sample of every tenant, through both response types (which must agree). */
async function readAll(url: string): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  const q = [{ startTimestampMs: T0 - Minute, endTimestampMs: T0 + 3 * 24 * 60 * Minute, matchers: [{ type: MatcherType.RE, name: '__name__', value: '.+' }] }];
  for (const tenant of Tenants) {
    const samples = lines((await remoteRead(`${url}/api/v1/read`, q, ResponseType.SAMPLES, { tenant })).results[0]!);
    const streamed = lines((await remoteRead(`${url}/api/v1/read`, q, ResponseType.STREAMED_XOR_CHUNKS, { tenant })).results[0]!);
    assert.deepEqual(streamed, samples, `${tenant}: STREAMED_XOR_CHUNKS equals SAMPLES`);
    out[tenant] = samples;
  }
  return out;
}

interface CompactChild {
  proc: ChildProcess;
  lines: string[];
  /** Resolves when `n` progress lines of blocks or deletions were printed. */
  progress(n: number): Promise<void>;
  exit: Promise<number | null>;
}

function startCompact(args: string[]): CompactChild {
  const proc = spawn(process.execPath, [bin, 'compact', ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } });
  const out: string[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const steps = () => out.filter((l) => / -> blocks\/|: deleted /.test(l)).length;
  createInterface({ input: proc.stderr! }).on('line', (l) => {
    out.push(l);
    for (const w of waiters.splice(0)) (steps() >= w.n ? w.resolve() : waiters.push(w));
  });
  const exit = once(proc, 'exit').then(([code]) => code as number | null);
  return {
    proc,
    lines: out,
    exit,
    progress: (n) =>
      new Promise<void>((resolve) => {
        if (steps() >= n) resolve();
        else waiters.push({ n, resolve });
        void exit.then(() => resolve());
      }),
  };
}

/** Object keys per tenant, and the catalog's keys, read in-process once no server holds the dir. */
async function storedState(dir: string): Promise<{ objects: string[]; catalog: string[] }> {
  const storage = await openLocalStorage(dir);
  try {
    const objects: string[] = [];
    const catalog: string[] = [];
    for (const t of await storage.tenantIds()) {
      const s = storage.tenant(t).stores;
      for await (const k of s.bucket.iter('')) objects.push(`${t}/${k}`);
      for (const r of await s.catalog.all()) catalog.push(`${t}/${r.entry.key}`);
    }
    return { objects: objects.sort(), catalog: [...new Set(catalog)].sort() };
  } finally {
    await storage.close();
  }
}


describe('stratus compact (child processes)', { timeout: 300_000 }, () => {
  it('compacts a data dir into blocks only; the restarted server reads exactly the same samples', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'stratus-compact-e2e-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    // Prepare: 16 h of data (8 windows of 2 h) written through the server.
    let server = await startStratusChild(dir);
    let before: Record<string, string[]>;
    try {
      await writeData(server.url, 96, 20);
      before = await readAll(server.url);
      // The server holds the data dir: compact refuses, pointing to the admin endpoint.
      const busy = startCompact([`--data-dir=${dir}`, '--force']);
      assert.equal(await busy.exit, 1);
      assert.match(busy.lines.join('\n'), /^stratus: error: .* is in use by another process \(a running "stratus serve"\?\).*\/api\/v1\/admin\/compact/);
    } finally {
      assert.equal(await server.stop(), 0);
    }
    assert.ok(before.anonymous!.length > 100_000, `${before.anonymous!.length} samples`);

    // Act
    const run = startCompact([`--data-dir=${dir}`, '--force', '--compact.delete-grace=0s']);
    const code = await run.exit;

    // Assess: output
    assert.equal(code, 0, run.lines.join('\n'));
    const out = run.lines;
    assert.equal(out[0], 'compacting 2 tenants, every window (--force); replaced objects are deleted 0s after replacement');
    const blockLines = out.filter((l) => / -> blocks\//.test(l));
    for (const tenant of Tenants) assert.ok(blockLines.some((l) => l.startsWith(`tenant ${tenant}: level 1 window `)), tenant);
    assert.ok(blockLines.some((l) => /^tenant anonymous: level 2 window 2024-01-10T00:00:00\.000Z: \d+ objects -> blocks\/[0-9A-Z]{26} \(20 series, \d+ samples, \d+ bytes/.test(l)), 'the day block');
    const deleted = out.filter((l) => /^tenant [a-z-]+: deleted (segments|blocks)\/[0-9A-Z]{26}$/.test(l));
    const summary = /^compaction \(forced\) done in [\d.]+ s: 2 tenants, (\d+) blocks written from (\d+) objects \(\d+ samples\), (\d+) replaced objects deleted, 0 orphans deleted$/.exec(out.at(-1)!);
    assert.ok(summary, out.at(-1));
    assert.deepEqual([Number(summary[1]), Number(summary[3])], [blockLines.length, deleted.length]);
    assert.equal(Number(summary[2]), deleted.length, 'every replaced object deleted (grace 0s)');
    // Blocks only: no segment object is left on disk.
    for (const tenant of Tenants) {
      const kinds = await readdir(join(dir, 'objects', 'tenants', tenant));
      assert.deepEqual(kinds, ['blocks'], `${tenant}: ${kinds}`);
    }
    const state = await storedState(dir);
    assert.deepEqual(state.objects, state.catalog, 'objects and catalog agree');

    // Assess: reads, bit for bit, from a restarted server.
    server = await startStratusChild(dir);
    try {
      const after = await readAll(server.url);
      for (const tenant of Tenants) assert.deepEqual(after[tenant], before[tenant], `${tenant}: reads after compaction`);
    } finally {
      await server.stop();
    }
  });

  it('stratus serve compacts on its timer and on POST /api/v1/admin/compact; reads stay exact; SIGTERM stops it cleanly', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'stratus-compact-serve-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const server = await startStratusChild(dir, ['--compact.interval=1s', '--web.enable-admin-api']);
    try {
      // Prepare: data, read before any block exists (the first timed run comes 1 s after startup; writes race it harmlessly).
      await writeData(server.url, 24, 5);
      const before = await readAll(server.url);
      // Act 1: the timer compacts the settled windows.
      const deadline = Date.now() + 30_000;
      const finished = () => server.logs.map((l) => JSON.parse(l) as Record<string, any>).filter((l) => l.msg === 'compaction finished' && l.blocksWritten > 0);
      while (finished().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.ok(finished().length > 0, server.logs.join('\n'));
      assert.equal(finished()[0]!.trigger, 'timer');
      assert.match(finished()[0]!.summary, /^compaction done in /);
      // Act 2: the admin endpoint runs one now.
      const res = await fetch(`${server.url}/api/v1/admin/compact?force=true`, { method: 'POST' });
      const body = (await res.json()) as { status: string; data: { force: boolean; tenants: { tenant: string; outcome: string }[] } };
      assert.equal(res.status, 200);
      assert.equal(body.status, 'success');
      assert.equal(body.data.force, true);
      assert.deepEqual(body.data.tenants.map((x) => x.outcome), ['done', 'done']);
      // Assess
      const after = await readAll(server.url);
      for (const tenant of Tenants) assert.deepEqual(after[tenant], before[tenant], `${tenant}: reads after in-server compaction`);
    } finally {
      assert.equal(await server.stop(), 0);
    }
    const levels = server.logs.map((l) => JSON.parse(l) as { level: string; msg: string });
    assert.deepEqual(levels.filter((l) => l.level === 'error'), [], 'no error logged');
    assert.ok(levels.some((l) => l.msg === 'Stratus stopped'));
  });

  it('survives kill -9 at random moments; a rerun finishes and reads stay exact', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'stratus-compact-kill-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const server = await startStratusChild(dir);
    let before: Record<string, string[]>;
    try {
      await writeData(server.url, 144, 30); // 24 h: 12 windows of 2 h, then the day
      before = await readAll(server.url);
    } finally {
      assert.equal(await server.stop(), 0);
    }
    // Kill after a random number of steps, up to 5 times.
    const seed = Number(process.env.STRATUS_KILL_SEED ?? Date.now() % 1_000_000);
    t.diagnostic(`kill seed ${seed} (set STRATUS_KILL_SEED to replay)`);
    const rand = rng(seed);
    let kills = 0;
    for (let attempt = 0; attempt < 5; attempt++) {
      const run = startCompact([`--data-dir=${dir}`, '--force', '--compact.delete-grace=0s']);
      // Kill after 1..12 more steps, plus 0..20 ms: inside a job, between steps, or in the middle of deletions.
      const steps = 1 + Math.floor(rand() * 12);
      await run.progress(steps);
      await new Promise((r) => setTimeout(r, Math.floor(rand() * 20)));
      if (run.proc.exitCode !== null) {
        t.diagnostic(`attempt ${attempt}: finished before the kill (exit ${run.proc.exitCode})`);
        break;
      }
      run.proc.kill('SIGKILL');
      await run.exit;
      kills++;
      t.diagnostic(`attempt ${attempt}: killed after ${run.lines.filter((l) => / -> blocks\/|: deleted /.test(l)).length} steps`);
    }
    assert.ok(kills >= 1, 'at least one kill landed mid-run');

    // Act: rerun to completion.
    const final = startCompact([`--data-dir=${dir}`, '--force', '--compact.delete-grace=0s']);
    assert.equal(await final.exit, 0, final.lines.join('\n'));
    assert.match(final.lines.at(-1)!, /^compaction \(forced\) done in /);

    // Assess: nothing orphaned or dangling, no segment left, reads exact.
    const state = await storedState(dir);
    assert.deepEqual(state.objects, state.catalog, 'objects and catalog agree after the kills');
    assert.ok(state.objects.every((k) => k.includes('/blocks/')), 'blocks only');
    const again = await startStratusChild(dir);
    try {
      const after = await readAll(again.url);
      for (const tenant of Tenants) assert.deepEqual(after[tenant], before[tenant], `${tenant}: reads after ${kills} kills and a rerun`);
    } finally {
      await again.stop();
    }
  });
});
