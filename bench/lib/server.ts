/**
 * Starting and stopping the server under test: a fresh temporary data
 * directory, a free port on 127.0.0.1, output captured to a log file,
 * readiness by polling, and a bounded stop by PID (SIGTERM, then SIGKILL).
 *
 * Four kinds of server can be run on the same payloads: Stratus itself
 * (`node bin/stratus.js serve`) in local mode (filesystem + LevelDB) and in
 * AWS mode against s3rver + dynalite started for the run
 * (aws-emulators.ts), Prometheus' own remote-write receiver and
 * VictoriaMetrics (both peers are optional and skipped when absent; see
 * install.ts for installing them).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AWS_STORAGE_ARGS, awsEnv, emulatorsOf, startAwsEmulators, stopAwsEmulators } from './aws-emulators.ts';

/** Which server to benchmark. */
export const TargetName = {
  STRATUS: 'stratus',
  STRATUS_AWS: 'stratus-aws',
  PROMETHEUS: 'prometheus',
  VICTORIAMETRICS: 'victoriametrics',
} as const;
export type TargetName = (typeof TargetName)[keyof typeof TargetName];

/** How to launch one kind of server. */
export interface Target {
  name: TargetName;
  /** Executable, or undefined when it is not installed. */
  binary: string | undefined;
  /** Arguments for a port and a run directory (data lives in `dataDir`). */
  args(port: number, runDir: string, dataDir: string, cpuProfDir?: string): string[];
  /** Written into the run directory before the start (configs). */
  prepare?(runDir: string): Promise<void>;
  readyPath: string;
  writePath: string;
  /** Extra environment of the server (and of `stratus compact`) for a run directory. */
  env?(runDir: string): Record<string, string>;
  /** Stops what `prepare` started (called once the run is over). */
  release?(runDir: string): Promise<void>;
  /** Helper processes whose CPU is reported apart from the server's: name -> pid. */
  sidecarPids?(runDir: string): Record<string, number>;
  /** Stratus: the storage flags `stratus compact` needs besides `--data-dir`. */
  storageArgs?: readonly string[];
}

/** Whether `name` is Stratus (either storage). */
export function isStratus(name: TargetName): boolean {
  return name === TargetName.STRATUS || name === TargetName.STRATUS_AWS;
}

/** The repository root (bench/lib/../..). */
export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');

function which(candidates: string[]): string | undefined {
  return candidates.find((c) => existsSync(c));
}

/** The launch description of `name`. */
export function target(name: TargetName): Target {
  switch (name) {
    case TargetName.STRATUS_AWS: {
      const local = target(TargetName.STRATUS);
      return {
        ...local,
        name,
        args: (port, runDir, dataDir, cpuProfDir) => [...local.args(port, runDir, dataDir, cpuProfDir), ...AWS_STORAGE_ARGS],
        prepare: async (runDir) => void (await startAwsEmulators(runDir)),
        env: awsEnv,
        release: stopAwsEmulators,
        sidecarPids: (runDir) => emulatorsOf(runDir).pids,
        storageArgs: AWS_STORAGE_ARGS,
      };
    }
    case TargetName.STRATUS:
      return {
        name,
        binary: process.execPath,
        args: (port, _runDir, dataDir, cpuProfDir) => [
          ...(cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : []),
          join(REPO_ROOT, 'bin', 'stratus.js'),
          'serve',
          `--listen-address=127.0.0.1:${port}`,
          `--data-dir=${dataDir}`,
          // No compaction on a timer: the benchmark compacts when it means to (bench/lib/compaction.ts).
          '--compact.interval=0s',
        ],
        readyPath: '/-/ready',
        writePath: '/api/v1/write',
      };
    case TargetName.PROMETHEUS:
      return {
        name,
        binary: which(['/usr/bin/prometheus', '/usr/local/bin/prometheus']),
        prepare: (runDir) => writeFile(join(runDir, 'prometheus.yml'), 'global:\n  scrape_interval: 15s\nscrape_configs: []\n'),
        args: (port, runDir, dataDir) => [
          `--config.file=${join(runDir, 'prometheus.yml')}`,
          `--storage.tsdb.path=${dataDir}`,
          `--web.listen-address=127.0.0.1:${port}`,
          '--web.enable-remote-write-receiver',
          // For the snapshot taken as its compacted form (bench/lib/compaction.ts).
          '--web.enable-admin-api',
          // Keep everything: the payloads are timestamped in the past.
          '--storage.tsdb.retention.time=100y',
        ],
        readyPath: '/-/ready',
        writePath: '/api/v1/write',
      };
    case TargetName.VICTORIAMETRICS:
      return {
        name,
        binary: which(['/usr/bin/victoria-metrics', '/usr/local/bin/victoria-metrics', '/usr/bin/victoria-metrics-prod']),
        args: (port, _runDir, dataDir) => [
          `-storageDataPath=${dataDir}`,
          `-httpListenAddr=127.0.0.1:${port}`,
          // The payloads are timestamped in the past; the default retention (1 month) would drop them.
          '-retentionPeriod=100y',
          '-loggerLevel=WARN',
        ],
        readyPath: '/health',
        writePath: '/api/v1/write',
      };
  }
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

/** A started server. */
export interface RunningServer {
  url: string;
  pid: number;
  runDir: string;
  dataDir: string;
  logFile: string;
  exited(): boolean;
  logTail(lines?: number): string;
  /** SIGTERM, then SIGKILL after `termTimeoutMs`; resolves once it has exited. Idempotent. */
  stop(termTimeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((done) => {
    const timer = setTimeout(() => done(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      done(true);
    });
  });
}

/** Options of {@link startServer}. */
export interface StartOptions {
  cpuProfDir?: string;
  readyTimeoutMs?: number;
  /** Restart on the run and data directories of an earlier (stopped) server instead of fresh ones. */
  reuse?: { runDir: string; dataDir: string };
}

/**
 * Starts `t` on a free port with a fresh data directory under the system
 * temp dir (or the directories of `reuse`) and waits (at most
 * `readyTimeoutMs`) until `readyPath` answers 200.
 */
export async function startServer(t: Target, opts: StartOptions = {}): Promise<RunningServer> {
  if (t.binary === undefined) throw new Error(`${t.name} is not installed`);
  const port = await freePort();
  const runDir = opts.reuse?.runDir ?? (await mkdtemp(join(tmpdir(), `stratus-bench-${t.name}-`)));
  const dataDir = opts.reuse?.dataDir ?? join(runDir, 'data');
  if (t.prepare && opts.reuse === undefined) await t.prepare(runDir);
  const logFile = join(runDir, `${t.name}.log`);
  const fd = openSync(logFile, 'a');
  const env = t.env ? { ...process.env, ...t.env(runDir) } : process.env;
  const child = spawn(t.binary, t.args(port, runDir, dataDir, opts.cpuProfDir), { cwd: REPO_ROOT, stdio: ['ignore', fd, fd], env });
  closeSync(fd);
  live.add(child);
  child.once('exit', () => live.delete(child));
  let spawnError: Error | undefined;
  child.once('error', (err) => (spawnError = err));
  const url = `http://127.0.0.1:${port}`;
  const logTail = (lines = 30): string => {
    try {
      return readFileSync(logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  };
  const exited = (): boolean => child.exitCode !== null || child.signalCode !== null;
  let stopping: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;
  const server: RunningServer = {
    url,
    pid: child.pid ?? -1,
    runDir,
    dataDir,
    logFile,
    exited,
    logTail,
    stop(termTimeoutMs = 60_000) {
      stopping ??= (async () => {
        if (!exited() && child.pid !== undefined) {
          process.kill(child.pid, 'SIGTERM');
          if (!(await waitExit(child, termTimeoutMs))) {
            process.kill(child.pid, 'SIGKILL');
            await waitExit(child, 5000);
          }
        }
        live.delete(child);
        return { code: child.exitCode, signal: child.signalCode };
      })();
      return stopping;
    },
  };

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
  for (;;) {
    await sleep(100);
    if (spawnError) throw new Error(`${t.name} did not start (${t.binary}): ${spawnError.message}`);
    if (exited()) throw new Error(`${t.name} exited before becoming ready; log ${logFile}:\n${logTail()}`);
    try {
      const res = await fetch(url + t.readyPath, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return server;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await server.stop(5000);
      throw new Error(`${t.name} not ready at ${url}${t.readyPath} in time; log ${logFile}:\n${logTail()}`);
    }
  }
}
