/**
 * The ingest replay against a Stratus server started with extra Node/V8
 * flags, for trying runtime settings (e.g. `--trace-gc`, semi-space size):
 * `node --import tsx bench/ingest-flags.ts [--runs N] [--dir REPO] -- <node flags...>`.
 *
 * Starts `node <flags> bin/stratus.js serve` on a fresh data directory
 * (from REPO, default this repository), replays the default payloads, and
 * prints CPU seconds per million samples with the per-thread-id split
 * (bench/lib/threads.ts); the server's output goes to `<run dir>/server.log`,
 * kept with `--keep`. Every request must be answered 204.
 */
import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_PARAMS, loadOrGenerate } from './lib/payloads.ts';
import { processCpuSeconds, waitQuiet } from './lib/proc.ts';
import { replay } from './lib/replay.ts';
import { freePort, REPO_ROOT } from './lib/server.ts';
import { formatTidCpu, tidCpuSeconds } from './lib/threads.ts';

const { values, positionals } = parseArgs({
  options: { runs: { type: 'string', default: '1' }, dir: { type: 'string' }, keep: { type: 'boolean' } },
  allowPositionals: true,
});
const repo = values.dir ?? REPO_ROOT;
const p = await loadOrGenerate(join(REPO_ROOT, 'bench', 'payloads'), DEFAULT_PARAMS, () => {});
for (let run = 1; run <= Number(values.runs); run++) {
  const runDir = await mkdtemp(join(tmpdir(), 'stratus-flags-'));
  const port = await freePort();
  const log = openSync(join(runDir, 'server.log'), 'a');
  const child = spawn(process.execPath, [...positionals, join(repo, 'bin', 'stratus.js'), 'serve', `--listen-address=127.0.0.1:${port}`, `--data-dir=${join(runDir, 'data')}`, '--compact.interval=0s'], { cwd: repo, stdio: ['ignore', log, log] });
  closeSync(log);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/-/ready`)).ok) break;
    } catch {
      // not listening yet
    }
    if (i > 300) throw new Error('server did not become ready');
    await sleep(100);
  }
  const pid = child.pid!;
  const cpu0 = processCpuSeconds(pid);
  const tids0 = tidCpuSeconds(pid);
  const rr = await replay({ url: `${url}/api/v1/write`, bodies: p.bodies, samplesPerRequest: p.index.samplesPerRequest, shardOfRequest: p.index.shardOfRequest });
  await waitQuiet(pid, 5000);
  const cpu = processCpuSeconds(pid) - cpu0;
  const tids = formatTidCpu(pid, tids0, tidCpuSeconds(pid));
  console.log(`run ${run} [${positionals.join(' ')}]: ${(cpu / (rr.acceptedSamples / 1e6)).toFixed(2)} CPU-s/M, ${rr.failed} failed, wall ${rr.wallSeconds.toFixed(1)} s; threads: ${tids}`);
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  if (values.keep) console.log(`  kept ${runDir}`);
  else await rm(runDir, { recursive: true, force: true });
}
