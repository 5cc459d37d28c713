/**
 * remote_read A/B loop on data ingested once: `node --import tsx bench/read-ab.ts [flags]`.
 *
 * Starts one `stratus serve` per code tree (e.g. the last commit extracted
 * with `git archive HEAD | tar -x -C DIR`, and the working tree), each on
 * its own copy of one kept, compacted local data directory, plus optionally
 * Prometheus on its kept data directory (head) and on its snapshot (block);
 * then, round after round, times the benchmark's remote_read selections
 * (bench/lib/selections.ts, the requests of bench/lib/read-latency.ts) on
 * every server in turn, interleaved, so that load from other processes hits
 * all of them alike. Reports per server and read the median over rounds of
 * each round's median latency, and the server's CPU ms per request (from
 * /proc, warm-up included), and checks that every answer holds the same
 * series, samples and checksum.
 *
 * Make the kept directories with
 * `npm run bench:ingest -- --target stratus,prometheus --runs 1 --keep`.
 *
 * Flags:
 *   --stratus-data DIR   compacted Stratus data dir (copied per tree)
 *   --aws-run DIR        instead: a kept `stratus-aws` run directory (its s3/ and
 *                        dynamodb/ are copied once; s3rver and dynalite are started
 *                        on the copy and every tree reads them in AWS mode)
 *   --tree NAME=DIR      a Stratus code tree; repeatable (default: new=<this repo>)
 *   --prom-head DIR      Prometheus data dir to serve from its head (optional)
 *   --prom-block DIR     Prometheus snapshot dir to serve from its block (optional)
 *   --rounds N           rounds (default 5)
 *   --runs N             timed requests per read and round (default 20, after 3 untimed)
 *   --sizes LIST         selection sizes (default 100,1000)
 *   --kinds LIST         samples,chunks (default both)
 *   --cpu-prof NAME      run that tree under `node --cpu-prof` and print its top functions
 *   --series N           payload series (default 10000; picks the payload for the selections)
 */
import { cp, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AWS_STORAGE_ARGS, awsEnv, emulatorsOf, startAwsEmulators, stopAwsEmulators } from './lib/aws-emulators.ts';
import { profileReport, readCpuProfile, summarizeProfile } from './lib/cpuprofile.ts';
import { DEFAULT_PARAMS, payloadKey, type PayloadIndex } from './lib/payloads.ts';
import { processCpuSeconds } from './lib/proc.ts';
import { measureRead, ReadKind, type ReadLatency } from './lib/read-latency.ts';
import { quantile } from './lib/replay.ts';
import { REPO_ROOT, startServer, target, TargetName, type RunningServer, type Target } from './lib/server.ts';
import { selectSeries } from './lib/selections.ts';
import { table } from './lib/stats.ts';

interface Served {
  name: string;
  server: RunningServer;
  profDir?: string;
}

/** A Stratus server's backend operations so far, by `service operation` (none for other servers). */
async function backendOps(url: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const res = await fetch(`${url}/metrics`);
  if (!res.ok) return out;
  for (const line of (await res.text()).split('\n')) {
    if (!line.startsWith('stratus_tenant_backend_operations_total{')) continue;
    const service = /service="([^"]*)"/.exec(line)?.[1];
    const op = /operation="([^"]*)"/.exec(line)?.[1];
    const n = Number(line.slice(line.lastIndexOf(' ') + 1));
    const key = `${service} ${op}`;
    out.set(key, (out.get(key) ?? 0) + n);
  }
  return out;
}

function log(msg: string): void {
  process.stderr.write(`[read-ab] ${msg}\n`);
}

/** A Stratus target running the code of `tree` (in AWS mode on the emulators of `awsRun`, when given). */
function stratusTree(tree: string, awsRun?: string): Target {
  const base = target(TargetName.STRATUS);
  return {
    ...base,
    ...(awsRun === undefined ? {} : { env: () => awsEnv(awsRun) }),
    args: (port, _runDir, dataDir, cpuProfDir) => [
      ...(cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : []),
      join(tree, 'bin', 'stratus.js'),
      'serve',
      `--listen-address=127.0.0.1:${port}`,
      `--data-dir=${dataDir}`,
      '--compact.interval=0s',
      ...(awsRun === undefined ? [] : AWS_STORAGE_ARGS),
    ],
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      'stratus-data': { type: 'string' },
      'aws-run': { type: 'string' },
      tree: { type: 'string', multiple: true },
      'prom-head': { type: 'string' },
      'prom-block': { type: 'string' },
      rounds: { type: 'string' },
      runs: { type: 'string' },
      sizes: { type: 'string' },
      kinds: { type: 'string' },
      'cpu-prof': { type: 'string' },
      series: { type: 'string' },
    },
    strict: true,
  });
  if ((values['stratus-data'] === undefined) === (values['aws-run'] === undefined)) throw new Error('give one of --stratus-data DIR and --aws-run DIR');
  const trees = (values.tree ?? [`new=${REPO_ROOT}`]).map((s) => {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new Error(`--tree wants NAME=DIR, got ${s}`);
    return { name: s.slice(0, eq), dir: s.slice(eq + 1) };
  });
  const rounds = Number(values.rounds ?? 5);
  const runs = Number(values.runs ?? 20);
  const sizes = (values.sizes ?? '100,1000').split(',').map(Number);
  const kinds = (values.kinds ?? 'samples,chunks').split(',') as ReadKind[];
  const params = { ...DEFAULT_PARAMS, series: Number(values.series ?? DEFAULT_PARAMS.series) };
  const index = JSON.parse(readFileSync(join(REPO_ROOT, 'bench', 'payloads', payloadKey(params), 'index.json'), 'utf8')) as PayloadIndex;
  const selections = sizes.map((n) => selectSeries(index, n));

  const work = await mkdtemp(join(tmpdir(), 'stratus-read-ab-'));
  const served: Served[] = [];
  let awsRun: string | undefined;
  try {
    if (values['aws-run'] !== undefined) {
      awsRun = join(work, 'aws');
      for (const d of ['s3', 'dynamodb']) await cp(join(values['aws-run'], d), join(awsRun, d), { recursive: true });
      await startAwsEmulators(awsRun);
      log(`emulators: ${JSON.stringify(emulatorsOf(awsRun).pids)}`);
    }
    for (const t of trees) {
      const runDir = join(work, t.name);
      if (awsRun === undefined) await cp(values['stratus-data']!, join(runDir, 'data'), { recursive: true });
      else await mkdir(join(runDir, 'data'), { recursive: true });
      const profDir = values['cpu-prof'] === t.name ? join(work, `prof-${t.name}`) : undefined;
      const server = await startServer(stratusTree(t.dir, awsRun), { reuse: { runDir, dataDir: join(runDir, 'data') }, cpuProfDir: profDir });
      log(`${t.name}: pid ${server.pid} ${server.url} (${t.dir})`);
      served.push({ name: t.name, server, profDir });
    }
    const prom = target(TargetName.PROMETHEUS);
    for (const [name, dir] of [['prom-head', values['prom-head']], ['prom-block', values['prom-block']]] as const) {
      if (dir === undefined) continue;
      const runDir = join(work, name);
      await cp(dir, join(runDir, 'data'), { recursive: true });
      await prom.prepare!(runDir);
      const server = await startServer(prom, { reuse: { runDir, dataDir: join(runDir, 'data') } });
      log(`${name}: pid ${server.pid} ${server.url}`);
      served.push({ name, server });
    }

    // name -> read -> per-round medians and CPU ms per request.
    const med = new Map<string, number[]>();
    const cpu = new Map<string, number[]>();
    /** name -> read -> backend operations, summed over rounds; and the requests they served. */
    const ops = new Map<string, Map<string, number>>();
    const requests = new Map<string, number>();
    const sums = new Map<string, string>();
    let mismatch = false;
    for (let r = 0; r < rounds; r++) {
      for (const sel of selections) {
        for (const kind of kinds) {
          const read = `${sel.series} ${kind}`;
          // Rotate the order per round.
          const order = served.map((_, i) => served[(i + r) % served.length]!);
          for (const s of order) {
            const o0 = await backendOps(s.server.url);
            const c0 = processCpuSeconds(s.server.pid);
            const got: ReadLatency = await measureRead(s.server.url, kind, sel, { runs, warmup: 3 });
            const c1 = processCpuSeconds(s.server.pid);
            const o1 = await backendOps(s.server.url);
            const key = `${s.name}\u0000${read}`;
            // The first round loads what every later read finds cached: counted from the second on.
            if (r > 0 || rounds === 1) {
              const acc = ops.get(key) ?? new Map<string, number>();
              for (const [op, n] of o1) acc.set(op, (acc.get(op) ?? 0) + n - (o0.get(op) ?? 0));
              ops.set(key, acc);
              requests.set(key, (requests.get(key) ?? 0) + runs + 3);
            }
            med.set(key, [...(med.get(key) ?? []), got.medianMs]);
            cpu.set(key, [...(cpu.get(key) ?? []), ((c1 - c0) * 1000) / (runs + 3)]);
            const sum = `${got.series}/${got.samples}/${got.checksum}`;
            const want = sums.get(read);
            if (want === undefined) sums.set(read, sum);
            else if (want !== sum) {
              mismatch = true;
              log(`MISMATCH ${s.name} ${read}: ${sum} vs ${want}`);
            }
          }
        }
      }
      log(`round ${r + 1}/${rounds} done`);
    }
    const rows: string[][] = [];
    for (const sel of selections) {
      for (const kind of kinds) {
        const read = `${sel.series} ${kind}`;
        const row = [read];
        for (const s of served) {
          const ms = Float64Array.from(med.get(`${s.name}\u0000${read}`)!).sort();
          const c = Float64Array.from(cpu.get(`${s.name}\u0000${read}`)!).sort();
          row.push(`${quantile(ms, 0.5).toFixed(1)} (${ms[0]!.toFixed(1)}-${ms[ms.length - 1]!.toFixed(1)}) cpu ${quantile(c, 0.5).toFixed(1)}`);
        }
        rows.push(row);
      }
    }
    console.log(`\nremote_read ms: median over ${rounds} rounds of the median of ${runs} (min-max of the round medians); server CPU ms per request`);
    console.log(table(['read', ...served.map((s) => s.name)], rows));
    for (const [read, sum] of sums) console.log(`${read}: series/samples/checksum ${sum}`);
    for (const [key, acc] of ops) {
      const per = [...acc].filter(([, n]) => n > 0).map(([op, n]) => `${op} ${(n / requests.get(key)!).toFixed(2)}`);
      if (per.length > 0) console.log(`backend operations per request, ${key.replace('\u0000', ' ')}: ${per.join(', ')}`);
    }
    for (const s of served) await s.server.stop();
    for (const s of served) {
      if (s.profDir === undefined) continue;
      const files = (await readdir(s.profDir)).filter((f) => f.endsWith('.cpuprofile') && f.split('.')[4] === '0');
      if (files[0] === undefined) continue;
      const file = join(s.profDir, files[0]);
      const summary = summarizeProfile(readCpuProfile(file), REPO_ROOT);
      console.log(profileReport(`${s.name} (whole run)`, { file, summary, others: [] }, 40));
    }
    return mismatch ? 1 : 0;
  } finally {
    for (const s of served) await s.server.stop();
    if (awsRun !== undefined) await stopAwsEmulators(awsRun);
    if (values['cpu-prof'] === undefined) await rm(work, { recursive: true, force: true });
    else log(`kept ${work}`);
  }
}

process.exitCode = await main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  return 1;
});
