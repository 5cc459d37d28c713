/**
 * Runs the real `stratus` binary (bin/stratus.js) as a child process on
 * 127.0.0.1 with a random port, for tests that kill or restart it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/stratus.js', import.meta.url));

export interface StratusChild {
  url: string;
  proc: ChildProcess;
  /** Log lines seen so far (JSON strings). */
  logs: string[];
  /** SIGKILL, and wait for the exit. */
  kill(): Promise<void>;
  /** SIGTERM, and wait for the exit code (bounded). */
  stop(): Promise<number | null>;
}

export async function startStratusChild(dataDir: string, extraArgs: string[] = [], env: Record<string, string> = {}): Promise<StratusChild> {
  const proc = spawn(process.execPath, [bin, 'serve', '--listen-address=127.0.0.1:0', `--data-dir=${dataDir}`, ...extraArgs], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
  });
  const logs: string[] = [];
  const exited = once(proc, 'exit');
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`stratus did not start in 20 s; log:\n${logs.join('\n')}`)), 20_000);
    createInterface({ input: proc.stderr! }).on('line', (line) => {
      logs.push(line);
      try {
        const j = JSON.parse(line) as { msg?: string; port?: number };
        if (j.msg === 'listening' && typeof j.port === 'number') {
          clearTimeout(timer);
          resolve(j.port);
        }
      } catch {
        // not JSON: keep it in the log only
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`stratus exited with ${code} before listening; log:\n${logs.join('\n')}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    proc,
    logs,
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      const [code] = (await exited) as [number | null];
      clearTimeout(timer);
      return code;
    },
  };
}
