/**
 * The full ingest benchmark: `npm run bench [-- flags]`.
 *
 * Runs `bench/ingest.ts` (generation of the seeded payloads once, replay,
 * CPU / RSS / size, read-back, Stratus' scheduled state (the last hour as
 * its compaction schedule leaves it, read back and timed), forced
 * compaction, remote_read latency) for each
 * payload size against every target, each run on a fresh data directory,
 * and combines the results: a JSON file, a Markdown table (min / median /
 * max per figure, target and size) and an SVG chart (bench/lib/chart-svg.ts).
 * Missing peers (Prometheus, VictoriaMetrics) are installed from Debian's
 * packages when run as root (bench/lib/install.ts).
 *
 * Each size runs in its own child process so that the payload of one size is
 * not held in memory during the next. The load average of the machine is
 * sampled during the runs and reported with the results.
 *
 * Flags:
 *   --sizes LIST       series counts (default 10000,50000)
 *   --runs SPEC        runs per size: "N" for all sizes or "10000=3,50000=1"
 *                      (default 10000=3,50000=1: the 50k runs take several
 *                      minutes each, mostly reading 12 M samples back)
 *   --target LIST      default stratus,stratus-aws,prometheus,victoriametrics
 *   --verify-budget S  seconds allowed for reading everything back (default 600)
 *   --read-runs N      timed reads per selection (default 20)
 *   --no-scheduled     skip Stratus' scheduled state (bench/lib/scheduled.ts)
 *   --out DIR          where the per-size JSON and logs go (default bench/results/<time>)
 *   --no-docs          do not write docs/bench/ingest.{json,md,svg}
 *   --render FILE      only re-render the table and chart from a combined JSON
 */
import { execFileSync, spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { renderChart } from './lib/chart-svg.ts';
import { renderReport, type Combined, type SizeResult } from './lib/full-report.ts';
import { installMissing } from './lib/install.ts';
import { machineInfo } from './lib/proc.ts';
import { REPO_ROOT, target, TargetName } from './lib/server.ts';
import { spread } from './lib/stats.ts';

const DEFAULT_TARGETS = [TargetName.STRATUS, TargetName.STRATUS_AWS, TargetName.PROMETHEUS, TargetName.VICTORIAMETRICS];
const DEFAULT_RUNS = '10000=3,50000=1';

function log(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

function positiveInt(v: string, what: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${what} wants a positive integer, got ${JSON.stringify(v)}`);
  return n;
}

/** Runs per size from "N" or "size=N,size=N" (sizes not named: 1). */
export function parseRuns(spec: string, sizes: readonly number[]): Map<number, number> {
  const out = new Map<number, number>();
  if (!spec.includes('=')) {
    for (const s of sizes) out.set(s, positiveInt(spec, '--runs'));
    return out;
  }
  for (const part of spec.split(',')) {
    const [size, n] = part.split('=');
    out.set(positiveInt(size ?? '', '--runs size'), positiveInt(n ?? '', '--runs count'));
  }
  for (const s of sizes) if (!out.has(s)) out.set(s, 1);
  return out;
}

/** Runs bench/ingest.ts in a child, its output to the console and `logFile`; resolves with its exit code. */
function runIngest(args: string[], logFile: string): Promise<number | null> {
  const out = createWriteStream(logFile);
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'bench', 'ingest.ts'), ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (b: Buffer) => (process.stdout.write(b), out.write(b)));
  child.stderr.on('data', (b: Buffer) => (process.stderr.write(b), out.write(b)));
  const stop = (): void => void child.kill('SIGTERM');
  process.once('SIGINT', stop);
  return new Promise((done) =>
    child.once('exit', (code) => {
      process.off('SIGINT', stop);
      out.end(() => done(code));
    }),
  );
}

function gitCommit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${head} + uncommitted changes` : head;
  } catch {
    return 'unknown';
  }
}

async function writeOutputs(c: Combined, outDir: string | undefined, docs: boolean): Promise<void> {
  if (outDir) await writeFile(join(outDir, 'combined.json'), JSON.stringify(c, null, 1));
  const md = renderReport(c);
  const svg = renderChart(c);
  console.log('\n' + md);
  if (outDir) {
    await writeFile(join(outDir, 'results.md'), md);
    await writeFile(join(outDir, 'ingest.svg'), svg);
    log(`results in ${outDir}`);
  }
  if (docs) {
    const dir = join(REPO_ROOT, 'docs', 'bench');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'ingest.json'), JSON.stringify(c, null, 1));
    await writeFile(join(dir, 'ingest.md'), md);
    await writeFile(join(dir, 'ingest.svg'), svg);
    log(`docs/bench/ingest.{json,md,svg} written`);
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      sizes: { type: 'string' },
      runs: { type: 'string' },
      target: { type: 'string' },
      'verify-budget': { type: 'string' },
      'read-runs': { type: 'string' },
      'no-scheduled': { type: 'boolean' },
      out: { type: 'string' },
      'no-docs': { type: 'boolean' },
      render: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log('usage: npm run bench -- [--sizes 10000,50000] [--runs 10000=3,50000=1] [--target LIST] [--verify-budget S] [--read-runs N] [--no-scheduled] [--out DIR] [--no-docs] [--render FILE]');
    return 0;
  }
  const docs = values['no-docs'] !== true;
  if (values.render) {
    await writeOutputs(JSON.parse(readFileSync(values.render, 'utf8')) as Combined, undefined, docs);
    return 0;
  }
  const sizes = (values.sizes ?? '10000,50000').split(',').map((s) => positiveInt(s.trim(), '--sizes'));
  const runs = parseRuns(values.runs ?? DEFAULT_RUNS, sizes);
  const names = (values.target ?? DEFAULT_TARGETS.join(',')).split(',').map((s) => s.trim()) as TargetName[];
  for (const n of names) {
    if (!Object.values(TargetName).includes(n)) throw new Error(`unknown --target ${n}; want some of ${Object.values(TargetName).join(', ')}`);
  }
  const missing = names.filter((n) => target(n).binary === undefined);
  for (const msg of installMissing(missing, log)) console.log(`cannot install ${missing.join(', ')}: ${msg}`);

  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const outDir = values.out ?? join(REPO_ROOT, 'bench', 'results', stamp);
  await mkdir(outDir, { recursive: true });

  const load: number[] = [];
  const sampleLoad = (): void => void load.push(Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]));
  sampleLoad();
  const timer = setInterval(sampleLoad, 15_000);
  const started = new Date().toISOString();
  const results: SizeResult[] = [];
  try {
    for (const series of sizes) {
      const file = join(outDir, `ingest-${series}.json`);
      const args = [
        `--series=${series}`,
        `--runs=${runs.get(series)}`,
        `--target=${names.join(',')}`,
        `--verify-budget=${values['verify-budget'] ?? '600'}`,
        `--read-runs=${values['read-runs'] ?? '20'}`,
        `--json=${file}`,
        ...(values['no-scheduled'] === true ? ['--no-scheduled'] : []),
      ];
      log(`size ${series}: bench/ingest.ts ${args.join(' ')}`);
      const t0 = performance.now();
      const exitCode = await runIngest(args, join(outDir, `ingest-${series}.log`));
      let data: SizeResult['data'];
      try {
        data = JSON.parse(readFileSync(file, 'utf8')) as SizeResult['data'];
      } catch {
        log(`size ${series}: no JSON written (exit ${exitCode}); see ${join(outDir, `ingest-${series}.log`)}`);
      }
      results.push({ series, runs: runs.get(series)!, exitCode, wallSeconds: (performance.now() - t0) / 1000, data });
    }
  } finally {
    clearInterval(timer);
  }
  sampleLoad();
  const combined: Combined = {
    started,
    finished: new Date().toISOString(),
    commit: gitCommit(),
    machine: machineInfo(),
    load1: { ...spread(load), samples: load.length },
    targets: names,
    sizes: results,
  };
  await writeOutputs(combined, outDir, docs);
  return results.every((r) => r.exitCode === 0 && r.data !== undefined) ? 0 : 1;
}

process.exitCode = await main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  return 1;
});
