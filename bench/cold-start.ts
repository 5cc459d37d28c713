/**
 * `npm run bench:cold-start`: what a Lambda cold start of each Stratus
 * function costs, on the code `cdk deploy` would ship.
 *
 * 1. `cdk synth` into a temporary directory; from the template, each
 *    function's bundle (the esbuild asset), memory size and NODE_OPTIONS.
 * 2. s3rver + dynalite on loopback, primed with the payload's first two
 *    rounds (10k series) in the default tenant, which the read and query
 *    functions read, and in the write function's own tenant, so that it is
 *    measured on known series (its steady state) and its writes do not
 *    grow what the others read.
 * 3. Per function and run: a fresh `node <NODE_OPTIONS> cold-child.mjs`
 *    (bench/lib/cold-child.mjs) imports the bundle, as Lambda's runtime does
 *    at INIT, and invokes the handler 20 times with real events (remote_write
 *    of 2000 samples; remote_read of 100 series x 1 h; an instant query;
 *    the compaction schedule's event). Reported: Node's own start-up, module
 *    init (wall and CPU: what we add to INIT, billed since 2025-08), the
 *    first and second invocation, the median of the last ten, RSS.
 * 4. The same with `--enable-source-maps` taken out of NODE_OPTIONS, to
 *    show what readable stack traces cost at start-up.
 *
 * Not measured: AWS' part of INIT (fetching the code, starting the
 * runtime), network round trips to real S3/DynamoDB (loopback here) and
 * the ARM CPUs Lambda runs on. Bounded: runs x 4 functions x 2 variants
 * child processes (default 5 runs, about a minute).
 *
 * Flags: --runs N (default 5), --json FILE (raw results), --cpu-prof DIR
 * (each child also writes a V8 CPU profile there, named after the function).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { EnvVars } from '../lib/config/env.ts';
import { encodeReadRequest, ResponseType } from '../lib/prompb/read.ts';
import { snappyEncode } from '../lib/prompb/snappy.ts';
import { functionUrlEvent } from '../test/helpers/lambda-event.ts';
import { startAwsEmulators } from '../test/helpers/stratus.ts';
import { DEFAULT_PARAMS, loadOrGenerate, type Payloads } from './lib/payloads.ts';
import { selectSeries } from './lib/selections.ts';
import { REPO_ROOT } from './lib/server.ts';
import { cell as spreadCell } from './lib/full-report.ts';
import { spread } from './lib/stats.ts';

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '5' }, json: { type: 'string' }, 'cpu-prof': { type: 'string' } } });
const Runs = Math.max(1, Math.min(50, Number(args.runs) || 5));
const CHILD = join(REPO_ROOT, 'bench', 'lib', 'cold-child.mjs');
/** Rounds of the payload written before measuring (late scrapes spill a round's series into the next requests). */
const PrimeRounds = 2;
/**
 * The write function's tenant. Its writes must not grow what the read and
 * query functions read (the default tenant: the primed rounds only), or
 * later runs would time bigger reads, not cold starts.
 */
const WriteTenant = 'cold-write';
const writeHeaders = (tenant?: string) => ({ 'x-prometheus-remote-write-version': '0.1.0', ...(tenant === undefined ? {} : { 'x-scope-orgid': tenant }) });
const log = (msg: string) => process.stderr.write(`${msg}\n`);

/** A function of the synthesized stack. */
interface SynthFunction {
  /** Write, Read, Query, Compact (from the construct path). */
  name: string;
  bundle: string;
  bundleBytes: number;
  memoryMb: number;
  nodeOptions: string;
}

/** What one child reported (bench/lib/cold-child.mjs). */
interface ChildResult {
  startMs: number;
  initMs: number;
  initCpuMs: number;
  invokes: { ms: number; cpuMs: number; status: number | undefined; bytes: number }[];
  rssMiB: number;
}

function run(cmd: string, argv: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${argv.join(' ')} exited ${code}:\n${out.slice(-2000)}`));
    });
  });
}

/** `cdk synth` into `outDir`; the template's Lambda functions. */
async function synth(outDir: string): Promise<SynthFunction[]> {
  await run(join(REPO_ROOT, 'node_modules', '.bin', 'cdk'), ['synth', '-q', '-o', outDir], process.env, 300_000);
  const template = JSON.parse(await readFile(join(outDir, 'Stratus.template.json'), 'utf8')) as {
    Resources: Record<string, { Type: string; Metadata?: Record<string, string>; Properties: { MemorySize: number; Environment: { Variables: Record<string, unknown> } } }>;
  };
  const out: SynthFunction[] = [];
  for (const r of Object.values(template.Resources)) {
    if (r.Type !== 'AWS::Lambda::Function' || r.Metadata?.['aws:asset:path'] === undefined) continue;
    const path = r.Metadata['aws:cdk:path'] ?? '';
    const name = path.split('/').at(-3) ?? path;
    const bundle = join(outDir, r.Metadata['aws:asset:path'], 'index.mjs');
    out.push({ name, bundle, bundleBytes: (await stat(bundle)).size, memoryMb: r.Properties.MemorySize, nodeOptions: String(r.Properties.Environment.Variables.NODE_OPTIONS ?? '') });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** Invocations per cold start: the first, the second, and the last ten as the warm figure. */
const Invocations = 20;

/** The {@link Invocations} events a function is invoked with in run `run`. */
function eventsFor(name: string, p: Payloads, run: number): { events: unknown[]; streaming: boolean } {
  const times = <T>(e: T): T[] => Array.from({ length: Invocations }, () => e);
  const perRound = Math.floor(p.index.offsets.length / p.index.params.rounds);
  switch (name) {
    case 'Write': {
      // Requests of later rounds: their series are indexed (primed), as in steady state.
      const k = perRound * (PrimeRounds + run * Invocations);
      const events = Array.from({ length: Invocations }, (_, i) => functionUrlEvent('/api/v1/write', p.bodies[k + i * perRound]!, writeHeaders(WriteTenant)));
      return { streaming: false, events };
    }
    case 'Read': {
      const sel = selectSeries(p.index, 100);
      const body = snappyEncode(encodeReadRequest({
        queries: [{ startTimestampMs: sel.startMs, endTimestampMs: sel.endMs, matchers: sel.matchers }],
        acceptedResponseTypes: [ResponseType.SAMPLES],
      }));
      const e = functionUrlEvent('/api/v1/read', body, { 'x-prometheus-remote-read-version': '0.1.0' });
      return { streaming: true, events: times(e) };
    }
    case 'Query': {
      const qs = `query=${encodeURIComponent('sum by (mode) (rate(node_cpu_seconds_total[5m]))')}&time=${(p.index.minT + PrimeRounds * p.index.params.intervalMs) / 1000}`;
      const e: LambdaFunctionURLEvent = {
        ...functionUrlEvent('/api/v1/query', new Uint8Array(0), {}),
        headers: { accept: 'application/json' },
        rawQueryString: qs,
        queryStringParameters: Object.fromEntries(new URLSearchParams(qs)),
        body: undefined,
        isBase64Encoded: false,
      };
      e.requestContext.http.method = 'GET';
      return { streaming: true, events: times(e) };
    }
    default: {
      // The compaction schedule's event (EventBridge); nothing is settled yet, so it lists and stops.
      const e = { version: '0', id: 'cold', 'detail-type': 'Scheduled Event', source: 'aws.events', time: new Date(p.index.minT + 3_600_000).toISOString(), detail: {} };
      return { streaming: false, events: times(e) };
    }
  }
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'stratus-cold-'));
  const emu = await startAwsEmulators();
  try {
    log('cdk synth ...');
    const fns = await synth(join(dir, 'cdk.out'));
    if (fns.length === 0) throw new Error('cdk synth produced no Lambda functions');
    const p = await loadOrGenerate(join(REPO_ROOT, 'bench', 'payloads'), DEFAULT_PARAMS, log);
    const baseEnv: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      [EnvVars.bucket]: emu.bucket,
      [EnvVars.table]: emu.table,
      [EnvVars.logLevel]: 'info',
      [EnvVars.indexTtlAttribute]: 'expires',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_ENDPOINT_URL_S3: emu.s3.endpoint,
      AWS_ENDPOINT_URL_DYNAMODB: emu.ddb.endpoint,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };

    const invoke = async (fn: SynthFunction, nodeOptions: string, events: unknown[], streaming: boolean): Promise<ChildResult> => {
      const tag = `${fn.name}-${Math.random().toString(36).slice(2)}`;
      const eventsFile = join(dir, `${tag}.events.json`);
      const resultFile = join(dir, `${tag}.result.json`);
      await writeFile(eventsFile, JSON.stringify({ events, streaming, memoryMb: fn.memoryMb }));
      const flags = nodeOptions.split(/\s+/).filter((f) => f !== '');
      if (args['cpu-prof'] !== undefined) flags.push('--cpu-prof', `--cpu-prof-dir=${args['cpu-prof']}`, `--cpu-prof-name=${tag}.cpuprofile`);
      await run(process.execPath, [...flags, CHILD, fn.bundle, eventsFile, resultFile], {
        ...baseEnv,
        AWS_LAMBDA_FUNCTION_NAME: `stratus-${fn.name.toLowerCase()}`,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
      }, 120_000);
      const r = JSON.parse(await readFile(resultFile, 'utf8')) as ChildResult;
      for (const [i, inv] of r.invokes.entries()) {
        if (inv.status !== undefined && (inv.status < 200 || inv.status > 299)) throw new Error(`${fn.name} invocation ${i + 1} answered ${inv.status}`);
      }
      return r;
    };

    // Prime: the first rounds, in both tenants, through the write function, unmeasured.
    const write = fns.find((f) => f.name === 'Write');
    if (write === undefined) throw new Error('no Write function in the template');
    const perRound = Math.floor(p.index.offsets.length / p.index.params.rounds);
    for (const tenant of [undefined, WriteTenant]) {
      const prime = Array.from({ length: perRound * PrimeRounds }, (_, i) => functionUrlEvent('/api/v1/write', p.bodies[i]!, writeHeaders(tenant)));
      await invoke(write, write.nodeOptions, prime, false);
    }

    const variants = [
      { label: 'as deployed', options: (f: SynthFunction) => f.nodeOptions },
      { label: 'without --enable-source-maps', options: (f: SynthFunction) => f.nodeOptions.replace('--enable-source-maps', '').trim() },
    ];
    const results: Record<string, Record<string, ChildResult[]>> = {};
    // Interleaved: run r of every function and variant before run r + 1.
    for (let r = 0; r < Runs; r++) {
      for (const fn of fns) {
        for (const v of variants) {
          const { events, streaming } = eventsFor(fn.name, p, r);
          ((results[v.label] ??= {})[fn.name] ??= []).push(await invoke(fn, v.options(fn), events, streaming));
        }
      }
      log(`run ${r + 1}/${Runs} done`);
    }

    // Median over the last ten invocations of one cold start.
    const warm = (x: ChildResult, k: 'ms' | 'cpuMs') => spread(x.invokes.slice(-10).map((i) => i[k])).median;
    const cell = (xs: number[]) => spreadCell(spread(xs), 1);
    const header = ['function', 'bundle KiB', 'memory MB', 'Node start ms', 'module init ms', 'module init CPU ms', '1st invocation ms', 'its CPU ms', '2nd invocation ms', 'its CPU ms', `warm (${Invocations - 10}th-${Invocations}th) ms`, 'its CPU ms', 'RSS MiB after'];
    for (const v of variants) {
      console.log(`\n#### ${v.label} (NODE_OPTIONS from the template${v.label === 'as deployed' ? '' : ', less --enable-source-maps'}), ${Runs} cold starts each\n`);
      console.log(`| ${header.join(' | ')} |\n|${header.map((_, i) => (i === 0 ? '---' : '--:')).join('|')}|`);
      console.log(
        fns.map((fn) => {
          const rs = results[v.label]![fn.name]!;
          return [
            fn.name, (fn.bundleBytes / 1024).toFixed(0), String(fn.memoryMb),
            cell(rs.map((x) => x.startMs)), cell(rs.map((x) => x.initMs)), cell(rs.map((x) => x.initCpuMs)),
            cell(rs.map((x) => x.invokes[0]!.ms)), cell(rs.map((x) => x.invokes[0]!.cpuMs)), cell(rs.map((x) => x.invokes[1]!.ms)), cell(rs.map((x) => x.invokes[1]!.cpuMs)),
            cell(rs.map((x) => warm(x, 'ms'))), cell(rs.map((x) => warm(x, 'cpuMs'))), cell(rs.map((x) => x.rssMiB)),
          ];
        }).map((row) => `| ${row.join(' | ')} |`).join('\n'),
      );
    }
    if (args.json !== undefined) await writeFile(args.json, JSON.stringify({ runs: Runs, functions: fns.map(({ bundle: _b, ...f }) => f), results }, null, 1));
  } finally {
    await emu.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
