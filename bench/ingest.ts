/**
 * Ingest benchmark: `npm run bench:ingest [-- flags]`.
 *
 * Replays generated node_exporter-like remote-write payloads (default 10k
 * series x 240 scrapes, 2000 samples per request, 4 concurrent senders)
 * against a freshly started local server and prints accepted samples/s, the
 * server's CPU seconds per million samples (utime + stime of the server
 * process only, from /proc), its peak RSS and the bytes it stored per
 * sample; then reads the data back to check that every sample is there.
 * Then each server's data is brought into its compacted form (Stratus:
 * `stratus compact`; Prometheus: a snapshot; VictoriaMetrics: force_merge)
 * and measured again, read back again, and read for latency: selections of
 * exactly 100 and 1000 series over one hour, sent N times in a row
 * (bench/lib/after-compaction.ts). Before that, Stratus is also read in the
 * state its compaction schedule leaves at the payload's end (the last hour
 * as a deployment reads it: settled windows in blocks, the rest in
 * segments; bench/lib/scheduled.ts).
 * Each run uses a fresh data directory; `--runs` repeats and the summary
 * gives min / median / max. See docs/benchmarks.md for method and results.
 *
 * Flags:
 *   --series N         distinct series (default 10000; 50000 also sensible)
 *   --rounds N         scrapes per series, 15 s apart (default 240)
 *   --batch N          samples per request (default 2000)
 *   --concurrency N    concurrent senders = remote-write queue shards; series
 *                      are spread over shards by label hash and each shard
 *                      sends its requests in order, as Prometheus does (default 4)
 *   --runs N           repetitions, each on a fresh server (default 3)
 *   --target LIST      stratus,stratus-aws,prometheus,victoriametrics (default stratus;
 *                      stratus-aws: on s3rver + dynalite started per run, their
 *                      CPU reported apart; missing peers are installed with
 *                      apt-get when run as root)
 *   --cpu-prof         run Stratus under `node --cpu-prof` and print the top
 *                      self-time functions of the ingest window
 *   --top N            rows of the profile tables (default 25)
 *   --verify-budget S  seconds for reading back every metric (default 120)
 *   --no-compact       skip compaction (reads then go to the data as ingested;
 *                      also skips the scheduled state)
 *   --no-scheduled     skip Stratus' scheduled state (the compaction a schedule
 *                      would have run when the last round was written)
 *   --no-read-latency  skip the read-latency measurement
 *   --read-runs N      timed reads per selection and response type (default 20, after 3 untimed)
 *   --json FILE        also write all results as JSON
 *   --keep             keep the servers' data directories
 *   --seed N           payload generator seed (default 1)
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { profileReport, readCpuProfile, summarizeProfile, type ProfileSummary } from './lib/cpuprofile.ts';
import { DEFAULT_PARAMS, loadOrGenerate, type PayloadParams, type Payloads } from './lib/payloads.ts';
import { diffThreadCpu, machineInfo, processCpu, processCpuSeconds, procStatusBytes, threadCpuSeconds, waitQuiet } from './lib/proc.ts';
import { quantile, replay } from './lib/replay.ts';
import { isStratus, REPO_ROOT, startServer, target, TargetName, type Target } from './lib/server.ts';
import { installMissing } from './lib/install.ts';
import { storedSize, type AwsSizeSummary } from './lib/stored-size.ts';
import { fmt, fmtInt, fmtMiB, spread, table } from './lib/stats.ts';
import { verify, type VerifyResult } from './lib/verify.ts';
import { prometheusAfter, restartedAfter, type AfterCompaction, type AfterOptions } from './lib/after-compaction.ts';
import { afterLines, afterSummaryRows, readProblems, scheduledLines } from './lib/after-report.ts';
import { scheduledState, type ScheduledState } from './lib/scheduled.ts';
import { selectSeries, type Selection } from './lib/selections.ts';
import { buildFleet } from './lib/node-exporter.ts';
import { formatTidCpu, tidCpuSeconds } from './lib/threads.ts';

/** Series counts of the read-latency selections. */
const READ_SELECTIONS = [100, 1000] as const;
/** The metric read back in full after each run. */
const SAMPLED_METRIC = 'node_cpu_seconds_total';
/** After the last answer, wait until the server's CPU time stops moving (deferred work: GC, LevelDB compaction), at most this long. */
const MAX_SETTLE_MS = 10_000;

/** Figures of one run. */
interface RunResult {
  target: TargetName;
  run: number;
  requests: number;
  failed: number;
  failures: Record<string, number>;
  firstFailure?: string;
  acceptedSamples: number;
  wallSeconds: number;
  samplesPerSecond: number;
  /** Server CPU from the first send to the last answer. */
  cpuSecondsAtEnd: number;
  /** Server CPU from the first send until it went quiet after the last answer. */
  cpuSeconds: number;
  /** The same, user and system parts. */
  cpuUserSeconds: number;
  cpuSystemSeconds: number;
  cpuPerMillion: number;
  cpuPerMillionAtEnd: number;
  settleSeconds: number;
  clientCpuSeconds: number;
  peakRssBytes: number;
  rssAfterBytes: number;
  diskBytes: number;
  diskApparentBytes: number;
  bytesPerSample: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  threadCpu: Record<string, number>;
  /** CPU seconds per thread id (offset from the pid), in creation order: see bench/lib/threads.ts. */
  tidCpu: string;
  /** Stratus local mode: segment objects after ingest (several requests share one under group commit). */
  segments?: number;
  /** `stratus-aws`: CPU seconds of the emulators (s3rver, dynalite) over the same window, not in `cpuSeconds`. */
  sidecarCpuSeconds?: Record<string, number>;
  /** Their sum per million accepted samples. */
  sidecarCpuPerMillion?: number;
  /** `stratus-aws`: the S3 / DynamoDB breakdown of `diskBytes`. */
  diskAws?: AwsSizeSummary;
  verify?: VerifyResult;
  verifyError?: string;
  profile?: { file: string; summary: ProfileSummary; others: string[] };
  /** Stratus: the state the compaction schedule leaves at the payload's end: what it did, read-back, read latency. */
  scheduled?: ScheduledState;
  /** The compacted state: size, read-back, read latency. */
  after?: AfterCompaction;
}

/** Segment objects of every tenant under a local-mode data directory. */
function countSegments(dataDir: string): number {
  let n = 0;
  let tenants: string[] = [];
  try {
    tenants = readdirSync(join(dataDir, 'objects', 'tenants'));
  } catch {
    return 0;
  }
  for (const t of tenants) {
    try {
      n += readdirSync(join(dataDir, 'objects', 'tenants', t, 'segments')).length;
    } catch {
      // no segments (yet)
    }
  }
  return n;
}

function log(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

function intFlag(v: string | undefined, name: string, def: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} wants a positive integer, got ${JSON.stringify(v)}`);
  return n;
}

function nowUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

async function oneRun(
  t: Target,
  run: number,
  p: Payloads,
  o: { cpuProf: boolean; verifyBudgetS: number; keep: boolean; after: AfterOptions | undefined },
): Promise<RunResult> {
  const profDir = o.cpuProf && isStratus(t.name) ? await mkdtemp(join(tmpdir(), 'stratus-bench-prof-')) : undefined;
  const server = await startServer(t, { cpuProfDir: profDir });
  log(`${t.name} run ${run}: pid ${server.pid}, ${server.url}, data ${server.dataDir}`);
  try {
    // Prepare: the baseline after startup (module loading is not ingest).
    const threadsBefore = threadCpuSeconds(server.pid);
    const tidsBefore = tidCpuSeconds(server.pid);
    const cpu0 = processCpuSeconds(server.pid);
    const split0 = processCpu(server.pid);
    const client0 = process.cpuUsage();
    const sidecars = t.sidecarPids?.(server.runDir) ?? {};
    const sidecar0 = Object.fromEntries(Object.entries(sidecars).map(([k, pid]) => [k, processCpuSeconds(pid)]));
    const fromUs = nowUs();

    // Act
    const rr = await replay({
      url: server.url + t.writePath,
      bodies: p.bodies,
      samplesPerRequest: p.index.samplesPerRequest,
      shardOfRequest: p.index.shardOfRequest,
      onProgress: (done) => log(`  ${done}/${p.bodies.length} requests`),
      progressEvery: Math.max(100, Math.ceil(p.bodies.length / 4)),
    });
    const toUs = nowUs();
    const cpuEnd = processCpuSeconds(server.pid);
    const clientUsage = process.cpuUsage(client0);
    const settleSeconds = await waitQuiet(server.pid, MAX_SETTLE_MS);
    const cpuSettled = processCpuSeconds(server.pid);
    const sidecarCpu = Object.fromEntries(Object.entries(sidecars).map(([k, pid]) => [k, processCpuSeconds(pid) - sidecar0[k]!]));
    const split1 = processCpu(server.pid);
    const threadCpu = Object.fromEntries(
      [...diffThreadCpu(threadsBefore, threadCpuSeconds(server.pid))].filter(([, s]) => s > 0).sort((a, b) => b[1] - a[1]),
    );
    const tidCpu = formatTidCpu(server.pid, tidsBefore, tidCpuSeconds(server.pid));
    const peakRss = procStatusBytes(server.pid, 'VmHWM');
    const rssAfter = procStatusBytes(server.pid, 'VmRSS');

    // Assess: read it back.
    let ver: VerifyResult | undefined;
    let verifyError: string | undefined;
    try {
      ver = await verify(t.name, server.url, p.index, SAMPLED_METRIC, o.verifyBudgetS * 1000);
    } catch (err) {
      verifyError = String(err);
    }

    // Prometheus: its snapshot and the reads, while it runs.
    let after: AfterCompaction | undefined;
    if (o.after && t.name === TargetName.PROMETHEUS) after = await prometheusAfter(server, p, rr.acceptedSamples, o.after, t);

    const stopped = await server.stop();
    if (stopped.code !== 0 && stopped.code !== null) log(`  ${t.name} exited with code ${stopped.code}; log ${server.logFile}`);
    // The data directory as ingested (without Prometheus' snapshot).
    const du = await storedSize(t, server.runDir, server.dataDir, t.name === TargetName.PROMETHEUS ? 'snapshots' : undefined);
    const segments = t.name === TargetName.STRATUS ? countSegments(server.dataDir) : undefined;
    // Stratus: first the state its compaction schedule leaves at the payload's end, read on a restarted server.
    const scheduled = o.after?.compact && o.after.scheduled && isStratus(t.name) ? await scheduledState(t, server, p, o.after) : undefined;
    // Stratus and VictoriaMetrics: compacted and read on a restarted server.
    if (o.after && t.name !== TargetName.PROMETHEUS) after = await restartedAfter(t, server, p, rr.acceptedSamples, o.after);

    let profile: RunResult['profile'];
    if (profDir) {
      // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: thread 0 is the main thread; others
      // are worker threads (in node 20 also tsx's module-loader thread).
      const files = (await readdir(profDir)).filter((f) => f.endsWith('.cpuprofile'));
      const main = files.find((f) => f.split('.')[4] === '0');
      if (main !== undefined) {
        const file = join(profDir, main);
        const others = files
          .filter((f) => f !== main)
          .map((f) => {
            const s = summarizeProfile(readCpuProfile(join(profDir, f)), REPO_ROOT, { fromUs, toUs });
            return `thread ${f.split('.')[4]}: ${fmt((s.totalMs - s.idleMs) / 1000)} s busy`;
          });
        profile = { file, summary: summarizeProfile(readCpuProfile(file), REPO_ROOT, { fromUs, toUs }), others };
      } else {
        log(`  no .cpuprofile in ${profDir} (did the server exit cleanly?)`);
      }
    }

    const cpuSeconds = cpuSettled - cpu0;
    const m = rr.acceptedSamples / 1e6;
    return {
      target: t.name,
      run,
      requests: p.bodies.length,
      failed: rr.failed + rr.skipped,
      failures: rr.skipped > 0 ? { ...rr.failures, skipped: rr.skipped } : rr.failures,
      firstFailure: rr.firstFailure,
      acceptedSamples: rr.acceptedSamples,
      wallSeconds: rr.wallSeconds,
      samplesPerSecond: rr.acceptedSamples / rr.wallSeconds,
      cpuSecondsAtEnd: cpuEnd - cpu0,
      cpuSeconds,
      cpuUserSeconds: split1.user - split0.user,
      cpuSystemSeconds: split1.system - split0.system,
      cpuPerMillion: cpuSeconds / m,
      cpuPerMillionAtEnd: (cpuEnd - cpu0) / m,
      settleSeconds,
      clientCpuSeconds: (clientUsage.user + clientUsage.system) / 1e6,
      peakRssBytes: peakRss,
      rssAfterBytes: rssAfter,
      diskBytes: du.allocated,
      diskApparentBytes: du.apparent,
      bytesPerSample: du.allocated / rr.acceptedSamples,
      latencyP50Ms: quantile(rr.latenciesMs, 0.5),
      latencyP99Ms: quantile(rr.latenciesMs, 0.99),
      threadCpu,
      tidCpu,
      segments,
      ...(Object.keys(sidecarCpu).length > 0
        ? { sidecarCpuSeconds: sidecarCpu, sidecarCpuPerMillion: Object.values(sidecarCpu).reduce((a, b) => a + b, 0) / m }
        : {}),
      diskAws: du.aws,
      verify: ver,
      verifyError,
      profile,
      scheduled,
      after,
    };
  } finally {
    await server.stop();
    await t.release?.(server.runDir);
    if (!o.keep) await rm(server.runDir, { recursive: true, force: true });
    else log(`  kept ${server.runDir}`);
  }
}

/**
 * Whether the read-back matched: counts everywhere, and values bit-exact
 * except for VictoriaMetrics, which stores floats with limited precision.
 */
function verifyOk(r: RunResult): boolean {
  // After compaction: read back again (Prometheus: from its snapshot, which exists only when compacting).
  const again = r.after !== undefined && (r.target !== TargetName.PROMETHEUS || r.after.compacted);
  return checkOk(r.target, r.verify) && (!again || checkOk(r.target, r.after!.verify)) && (r.scheduled === undefined || checkOk(r.target, r.scheduled.verify));
}

function checkOk(target: TargetName, v: VerifyResult | undefined): boolean {
  if (v === undefined || !v.sampled.countsEqual || v.broad.mismatched.length > 0) return false;
  if (target === TargetName.VICTORIAMETRICS) return true;
  return v.sampled.exact && v.broad.valuesDiffer.length === 0;
}

/** Whether the scheduled and after-compaction steps completed. */
function afterOk(r: RunResult): boolean {
  const a = r.after;
  const s = r.scheduled;
  return (a === undefined || (a.error === undefined && a.readError === undefined && a.settled !== false)) && (s === undefined || (s.error === undefined && s.readError === undefined));
}

function printRun(r: RunResult): void {
  const lines = [
    `${r.target} run ${r.run}: ${fmtInt(r.acceptedSamples)} samples accepted in ${fmt(r.wallSeconds)} s = ${fmtInt(r.samplesPerSecond)} samples/s` +
      (r.failed > 0 ? `; ${r.failed} FAILED requests ${JSON.stringify(r.failures)}: ${r.firstFailure}` : ''),
    `  server CPU ${fmt(r.cpuSeconds)} s (${fmt(r.cpuSecondsAtEnd)} s at last answer, quiet ${fmt(r.settleSeconds, 1)} s later) = ${fmt(r.cpuPerMillion)} CPU-s per million samples` +
      ` (${fmt(r.cpuPerMillionAtEnd)} at last answer); client CPU ${fmt(r.clientCpuSeconds)} s`,
    `  peak RSS ${fmtMiB(r.peakRssBytes)} MiB (RSS after ${fmtMiB(r.rssAfterBytes)} MiB); on disk ${fmtMiB(r.diskBytes)} MiB (apparent ${fmtMiB(r.diskApparentBytes)} MiB) = ${fmt(r.bytesPerSample)} bytes/sample`,
    ...(r.sidecarCpuSeconds
      ? [`  emulators' CPU (not in the server's): ${Object.entries(r.sidecarCpuSeconds).map(([k, v]) => `${k} ${fmt(v)} s`).join(', ')} = ${fmt(r.sidecarCpuPerMillion ?? NaN)} CPU-s per million samples`]
      : []),
    ...(r.diskAws
      ? [`  stored: S3 ${fmtInt(r.diskAws.s3Objects)} objects ${fmtMiB(r.diskAws.s3ObjectBytes)} MiB + DynamoDB ${fmtInt(r.diskAws.ddbItems)} items ${fmtMiB(r.diskAws.ddbItemBytes)} MiB (+ ${fmtMiB(r.diskAws.ddbOverheadBytes)} MiB overhead)`]
      : []),
    `  request latency p50 ${fmt(r.latencyP50Ms, 1)} ms, p99 ${fmt(r.latencyP99Ms, 1)} ms`,
    `  server CPU user ${fmt(r.cpuUserSeconds)} s + system ${fmt(r.cpuSystemSeconds)} s; by thread: ${Object.entries(r.threadCpu).map(([k, v]) => `${k} ${fmt(v)} s`).join(', ')}`,
    `  by thread id (creation order): ${r.tidCpu}` +
      (r.segments === undefined ? '' : `; ${fmtInt(r.segments)} segment objects for ${fmtInt(r.requests)} requests (${fmt(r.requests / r.segments)} per segment)`),
  ];
  if (r.verify) {
    const s = r.verify.sampled;
    const b = r.verify.broad;
    lines.push(
      `  read back ${s.metric}: ${fmtInt(s.series)}/${fmtInt(s.expected.series)} series, ${fmtInt(s.samples)}/${fmtInt(s.expected.samples)} samples, checksum ${s.checksum === s.expected.checksum ? 'equal' : 'DIFFERS'}`,
      `  read back all: ${b.metricsChecked}/${b.metricsTotal} metrics${b.complete ? '' : ' (time budget spent)'} in ${fmt(b.seconds, 1)} s, ${fmtInt(b.samples)}` +
        `${b.complete ? `/${fmtInt(b.expectedSamples)}` : ''} samples; ` +
        (b.mismatched.length === 0 ? 'counts equal' : `COUNTS DIFFER in ${b.mismatched.slice(0, 10).join(', ')}`) +
        (b.valuesDiffer.length === 0 ? ', values bit-exact' : `; values differ in ${b.valuesDiffer.length} metrics (${b.valuesDiffer.slice(0, 5).join(', ')}...)`),
    );
  } else if (r.verifyError) {
    lines.push(`  read back FAILED: ${r.verifyError}`);
  }
  if (r.scheduled) lines.push(...scheduledLines(r.scheduled));
  if (r.after) lines.push(...afterLines(r.after));
  console.log(lines.join('\n'));
}

function printProfile(r: RunResult, top: number): void {
  if (r.profile) console.log(profileReport(`${r.target} run ${r.run}`, r.profile, top));
}

function printSummary(results: RunResult[]): void {
  const byTarget = new Map<string, RunResult[]>();
  for (const r of results) byTarget.set(r.target, [...(byTarget.get(r.target) ?? []), r]);
  const rows: string[][] = [];
  const figure = (label: string, pick: (r: RunResult) => number, digits: number, tgt: string, rs: RunResult[]): void => {
    const s = spread(rs.map(pick));
    const f = (x: number): string => (digits < 0 ? fmtInt(x) : fmt(x, digits));
    rows.push([`${tgt}: ${label}`, f(s.min), f(s.median), f(s.max)]);
  };
  for (const [tgt, rs] of byTarget) {
    figure('samples/s', (r) => r.samplesPerSecond, -1, tgt, rs);
    figure('CPU-s per million samples', (r) => r.cpuPerMillion, 2, tgt, rs);
    figure('  at last answer', (r) => r.cpuPerMillionAtEnd, 2, tgt, rs);
    figure('server CPU s', (r) => r.cpuSeconds, 2, tgt, rs);
    figure('wall s', (r) => r.wallSeconds, 2, tgt, rs);
    figure('peak RSS MiB', (r) => r.peakRssBytes / 1048576, 1, tgt, rs);
    figure('disk MiB', (r) => r.diskBytes / 1048576, 1, tgt, rs);
    figure('bytes/sample', (r) => r.bytesPerSample, 2, tgt, rs);
    figure('p99 latency ms', (r) => r.latencyP99Ms, 1, tgt, rs);
    if (rs.some((r) => r.sidecarCpuPerMillion !== undefined)) figure("emulators' CPU-s per million samples", (r) => r.sidecarCpuPerMillion ?? NaN, 2, tgt, rs);
    figure('client CPU s', (r) => r.clientCpuSeconds, 2, tgt, rs);
  }
  rows.push(...afterSummaryRows(results));
  console.log('\n' + table(['figure', 'min', 'median', 'max'], rows));
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      series: { type: 'string' },
      rounds: { type: 'string' },
      batch: { type: 'string' },
      concurrency: { type: 'string' },
      runs: { type: 'string' },
      target: { type: 'string' },
      'cpu-prof': { type: 'boolean' },
      top: { type: 'string' },
      'verify-budget': { type: 'string' },
      'no-compact': { type: 'boolean' },
      'no-scheduled': { type: 'boolean' },
      'no-read-latency': { type: 'boolean' },
      'read-runs': { type: 'string' },
      json: { type: 'string' },
      keep: { type: 'boolean' },
      seed: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log('usage: npm run bench:ingest -- [--series N] [--rounds N] [--batch N] [--concurrency N] [--runs N]\n' +
      '       [--target stratus,stratus-aws,prometheus,victoriametrics] [--cpu-prof] [--top N] [--verify-budget S] [--no-compact] [--no-scheduled] [--no-read-latency]\n' +
      '       [--read-runs N] [--json FILE] [--keep] [--seed N]');
    return 0;
  }
  const params: PayloadParams = {
    ...DEFAULT_PARAMS,
    series: intFlag(values.series, 'series', DEFAULT_PARAMS.series),
    rounds: intFlag(values.rounds, 'rounds', DEFAULT_PARAMS.rounds),
    batch: intFlag(values.batch, 'batch', DEFAULT_PARAMS.batch),
    seed: intFlag(values.seed, 'seed', DEFAULT_PARAMS.seed),
    shards: intFlag(values.concurrency, 'concurrency', DEFAULT_PARAMS.shards),
  };
  const concurrency = params.shards;
  if (concurrency > 64) throw new Error(`--concurrency ${concurrency} is more than 64 shards`);
  const runs = intFlag(values.runs, 'runs', 3);
  const top = intFlag(values.top, 'top', 25);
  const verifyBudgetS = intFlag(values['verify-budget'], 'verify-budget', 120);
  const names = (values.target ?? 'stratus').split(',').map((s) => s.trim()) as TargetName[];
  for (const n of names) {
    if (!Object.values(TargetName).includes(n)) throw new Error(`unknown --target ${n}; want one of ${Object.values(TargetName).join(', ')}`);
  }

  const mi = machineInfo();
  console.log(`machine: ${mi.nproc} CPUs (${mi.cpuModel}), ${fmt(mi.memTotalGiB, 1)} GiB RAM, Linux ${mi.kernel}, node ${mi.node}`);
  const p = await loadOrGenerate(join(REPO_ROOT, 'bench', 'payloads'), params, log);
  const ix = p.index;
  console.log(
    `payloads: ${fmtInt(ix.series)} series on ${ix.hosts} hosts x ${ix.params.rounds} rounds = ${fmtInt(ix.samples)} samples in ${ix.offsets.length} requests` +
      ` of ${ix.params.batch}; ${fmtMiB(ix.compressedBytes)} MiB snappy (${fmtMiB(ix.rawBytes)} MiB protobuf); labels per series ${JSON.stringify(ix.labelsPerSeries)}`,
  );
  console.log(`replay: ${concurrency} concurrent senders (one per queue shard, each in order), ${runs} run(s) per target, fresh data dir each`);
  const compact = values['no-compact'] !== true;
  const readLatency = values['no-read-latency'] !== true;
  const fleet = readLatency ? buildFleet(ix.params.series, ix.params.seed) : undefined;
  const selections: Selection[] = fleet ? READ_SELECTIONS.map((n) => selectSeries(ix, n, fleet)) : [];
  for (const s of selections) {
    console.log(`read selection ${s.series} series (${s.metrics.length} metrics x ${s.hosts.length} hosts, ${s.expectedSamples ?? '?'} samples): ${s.selector.slice(0, 160)}...`);
  }
  const after: AfterOptions | undefined =
    compact || readLatency
      ? { compact, scheduled: values['no-scheduled'] !== true, readLatency, selections, readRuns: intFlag(values['read-runs'], 'read-runs', 20), readWarmup: 3, verifyBudgetS, sampledMetric: SAMPLED_METRIC, log }
      : undefined;

  const missing = names.filter((n) => target(n).binary === undefined);
  for (const msg of installMissing(missing, log)) console.log(`cannot install ${missing.join(', ')}: ${msg}`);

  const results: RunResult[] = [];
  let bad = false;
  for (const name of names) {
    const t = target(name);
    if (t.binary === undefined) {
      console.log(`SKIPPED ${name}: not installed`);
      continue;
    }
    for (let run = 1; run <= runs; run++) {
      const r = await oneRun(t, run, p, { cpuProf: values['cpu-prof'] === true, verifyBudgetS, keep: values.keep === true, after });
      results.push(r);
      printRun(r);
      if (run === 1) printProfile(r, top);
      if (r.failed > 0 || !verifyOk(r) || !afterOk(r)) bad = true;
    }
  }
  printSummary(results);
  const problems = readProblems(results);
  for (const pr of problems) console.log(`READ MISMATCH: ${pr}`);
  if (problems.length > 0) bad = true;
  if (values.json) {
    const out = results.map(({ profile, ...rest }) => ({ ...rest, profile: profile && { file: profile.file, others: profile.others, summary: { ...profile.summary, functions: profile.summary.functions.slice(0, 100) } } }));
    await writeFile(values.json, JSON.stringify({ machine: mi, params, concurrency, payload: { ...ix, offsets: undefined, lengths: undefined, samplesPerRequest: undefined, shardOfRequest: undefined }, results: out }, null, 2));
    log(`results written to ${values.json}`);
  }
  if (bad) {
    console.log('\nBENCH FAILED: some requests failed or the read-back did not match (see above)');
    return 1;
  }
  return 0;
}

process.exitCode = await main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  return 1;
});
