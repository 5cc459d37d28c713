/**
 * Running an external server process for a test: a free loopback port, a
 * temporary directory, stdout/stderr captured to a log file, readiness by
 * HTTP polling, and a bounded stop by PID (SIGTERM, then SIGKILL).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** A running server process started by {@link startProcess}. */
export interface ManagedProcess {
  /** Base URL, `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Temporary directory owned by this process; removed by `stop()`. */
  readonly dir: string;
  /** File receiving the process's stdout and stderr. */
  readonly logFile: string;
  /** The last `lines` lines of the log (for failure messages). */
  logTail(lines?: number): string;
  /** Whether the process has exited. */
  exited(): boolean;
  /**
   * Stops the process (SIGTERM, then SIGKILL after `termTimeoutMs`) and
   * removes `dir` unless `keep` is set or STRATUS_E2E_KEEP=1. Idempotent.
   */
  stop(opts?: { keep?: boolean }): Promise<void>;
}

/** How to start one process. */
export interface StartOptions {
  /** Short name for messages and the log file. */
  name: string;
  binary: string;
  /** Command-line arguments for a given port and temporary directory. */
  args: (port: number, dir: string) => string[];
  /** Called with the directory before the process starts (write configs). */
  prepare?: (dir: string, port: number) => Promise<void>;
  /** Path polled until it answers 200, e.g. `/-/ready`. */
  readyPath: string;
  /** @default 20000 */
  readyTimeoutMs?: number;
  /** @default 5000 */
  termTimeoutMs?: number;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  // Last resort if a test forgot to stop what it started.
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

async function startOnce(o: StartOptions, port: number): Promise<ManagedProcess> {
  const dir = await mkdtemp(join(tmpdir(), `stratus-e2e-${o.name}-`));
  if (o.prepare) await o.prepare(dir, port);
  const logFile = join(dir, `${o.name}.log`);
  const fd = openSync(logFile, 'a');
  const child = spawn(o.binary, o.args(port, dir), { cwd: dir, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  live.add(child);
  child.once('exit', () => live.delete(child));
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  let stopped = false;
  const url = `http://127.0.0.1:${port}`;
  const termTimeoutMs = o.termTimeoutMs ?? 5000;
  const proc: ManagedProcess = {
    url,
    port,
    pid: child.pid ?? -1,
    dir,
    logFile,
    logTail: (lines = 40) => tail(logFile, lines),
    exited: () => child.exitCode !== null || child.signalCode !== null,
    async stop(opts = {}) {
      if (stopped) return;
      stopped = true;
      if (!proc.exited() && child.pid !== undefined) {
        process.kill(child.pid, 'SIGTERM');
        if (!(await waitExit(child, termTimeoutMs))) {
          process.kill(child.pid, 'SIGKILL');
          await waitExit(child, 2000);
        }
      }
      live.delete(child);
      if (!opts.keep && process.env['STRATUS_E2E_KEEP'] !== '1') await rm(dir, { recursive: true, force: true });
    },
  };

  const deadline = Date.now() + (o.readyTimeoutMs ?? 20_000);
  for (;;) {
    const err = await Promise.race([spawnError, sleep(0).then(() => undefined)]);
    if (err) {
      await proc.stop();
      throw new Error(`${o.name} did not start (${o.binary}): ${err.message}`);
    }
    if (proc.exited()) {
      const log = proc.logTail();
      await proc.stop();
      throw Object.assign(new Error(`${o.name} exited before becoming ready; log tail:\n${log}`), { log });
    }
    try {
      const res = await fetch(url + o.readyPath, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return proc;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      const log = proc.logTail();
      await proc.stop();
      throw new Error(`${o.name} not ready at ${url}${o.readyPath} within ${o.readyTimeoutMs ?? 20_000} ms; log tail:\n${log}`);
    }
    await sleep(100);
  }
}

/**
 * Starts a process on a free port and waits until it is ready. Retries
 * twice on a new port if the port was taken between choosing and binding.
 */
export async function startProcess(o: StartOptions): Promise<ManagedProcess> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(o, await freePort());
    } catch (e) {
      const log = (e as { log?: string }).log ?? '';
      if (attempt < 3 && /address already in use/i.test(log)) continue;
      throw e;
    }
  }
}
