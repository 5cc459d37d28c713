/**
 * Bringing each server's data into its compacted form after an ingest run:
 *
 * - Stratus: `stratus compact --force --compact.delete-grace=0s` on the
 *   stopped server's data directory (the replaced segments are deleted in
 *   the same run, and the compactor has LevelDB compact the index after it);
 * - Prometheus: `POST /api/v1/admin/tsdb/snapshot` (needs
 *   `--web.enable-admin-api`), which writes the head as a persisted block
 *   under `<data>/snapshots/<name>`: what the hour would become on disk;
 * - VictoriaMetrics: `/internal/force_flush`, `/internal/force_merge`, then a
 *   bounded wait until its merge gauges are back at zero.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { REPO_ROOT } from './server.ts';
import { DefaultCompactMemoryMb } from '../../infra/constructs/stratus-compactor.ts';
import { heapLimitMb } from '../../infra/constructs/stratus-function.ts';

/** What a `stratus compact` run cost and said (its summary: the command's last stderr line). */
export type StratusCompaction = TimedChild;

const TIME_BIN = '/usr/bin/time';

/** What a timed child command cost and said. */
export interface TimedChild {
  exitCode: number | null;
  wallSeconds: number;
  /** User + system CPU of the command (from /usr/bin/time, i.e. the kernel's rusage of the child), NaN when unavailable. */
  cpuSeconds: number;
  /** Its peak RSS (from /usr/bin/time), NaN when unavailable. */
  peakRssBytes: number;
  /** The command's last output line. */
  summary: string;
  logFile: string;
}

/**
 * Runs `cmd` (a Node command line) under /usr/bin/time when it is there,
 * its output appended to `logFile`, killed after `timeoutMs`, with the
 * compact Lambda's V8 heap (infra: three quarters of its default memory) so
 * that the benchmark shows that the largest job fits in it; `env` is added
 * to the environment.
 */
export async function runTimed(cmd: readonly string[], logFile: string, timeoutMs: number, env: Record<string, string> = {}): Promise<TimedChild> {
  const timeFile = `${logFile}.time`;
  let useTime = true;
  try {
    readFileSync(TIME_BIN);
  } catch {
    useTime = false;
  }
  const [bin, ...args] = useTime ? [TIME_BIN, '-f', '%e %U %S %M', '-o', timeFile, ...cmd] : cmd;
  const fd = openSync(logFile, 'a');
  const t0 = performance.now();
  const childEnv = { ...process.env, NODE_OPTIONS: `--max-old-space-size=${heapLimitMb(DefaultCompactMemoryMb)}`, ...env };
  const child = spawn(bin!, args, { cwd: REPO_ROOT, stdio: ['ignore', fd, fd], env: childEnv });
  closeSync(fd);
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
  const wallSeconds = (performance.now() - t0) / 1000;
  let cpuSeconds = NaN;
  let peakRssBytes = NaN;
  if (useTime) {
    try {
      const last = readFileSync(timeFile, 'utf8').trim().split('\n').pop() ?? '';
      const [, user, sys, maxKb] = last.split(' ').map(Number);
      cpuSeconds = user! + sys!;
      peakRssBytes = maxKb! * 1024;
    } catch {
      // leave NaN
    }
  }
  const lines = readFileSync(logFile, 'utf8').trim().split('\n');
  return { exitCode, wallSeconds, cpuSeconds, peakRssBytes, summary: lines[lines.length - 1] ?? '', logFile };
}

/**
 * Runs `stratus compact --force --compact.delete-grace=0s` on `dataDir`
 * (which no server may hold open), logging to `logFile`, killed after
 * `timeoutMs`. `storage` adds storage flags and environment (the
 * `stratus-aws` target: `--storage=aws --bucket ... --table ...` and the
 * emulators' endpoints).
 */
export function compactStratus(
  dataDir: string,
  logFile: string,
  timeoutMs = 600_000,
  storage: { args?: readonly string[]; env?: Record<string, string> } = {},
): Promise<StratusCompaction> {
  const cmd = [process.execPath, join(REPO_ROOT, 'bin', 'stratus.js'), 'compact', '--force', '--compact.delete-grace=0s', `--data-dir=${dataDir}`, ...(storage.args ?? [])];
  return runTimed(cmd, logFile, timeoutMs, storage.env);
}

/** Takes a Prometheus snapshot (head included); returns its directory. */
export async function prometheusSnapshot(base: string, dataDir: string): Promise<string> {
  const res = await fetch(`${base}/api/v1/admin/tsdb/snapshot`, { method: 'POST', signal: AbortSignal.timeout(300_000) });
  const text = await res.text();
  if (!res.ok) throw new Error(`snapshot: HTTP ${res.status}: ${text.slice(0, 300)} (is --web.enable-admin-api set?)`);
  const name = (JSON.parse(text) as { data?: { name?: string } }).data?.name;
  if (!name) throw new Error(`snapshot: no name in ${text.slice(0, 300)}`);
  return join(dataDir, 'snapshots', name);
}

/** Sum of the samples of the Prometheus-text metric `name` (any labels) in `text`. */
function metricSum(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(name + ' ') || line.startsWith(name + '{')) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/**
 * Flushes and force-merges VictoriaMetrics, then waits (at most
 * `maxWaitMs`) until `vm_active_force_merges` and `vm_active_merges` have
 * read zero twice in a row, 500 ms apart. Returns the seconds waited and
 * whether it settled.
 */
export async function vmForceMerge(base: string, maxWaitMs = 120_000): Promise<{ seconds: number; settled: boolean }> {
  const get = async (path: string): Promise<string> => {
    const res = await fetch(base + path, { signal: AbortSignal.timeout(60_000) });
    const text = await res.text();
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status}: ${text.slice(0, 300)}`);
    return text;
  };
  const t0 = performance.now();
  await get('/internal/force_flush');
  await get('/internal/force_merge');
  let zeros = 0;
  while (performance.now() - t0 < maxWaitMs) {
    await sleep(500);
    const m = await get('/metrics');
    const active = metricSum(m, 'vm_active_force_merges') + metricSum(m, 'vm_active_merges');
    zeros = active === 0 ? zeros + 1 : 0;
    if (zeros >= 2) return { seconds: (performance.now() - t0) / 1000, settled: true };
  }
  return { seconds: (performance.now() - t0) / 1000, settled: false };
}
