/**
 * PromQL query latency benchmark: `npm run bench:query [-- flags]`.
 *
 * Loads the same remote-write payload (a node_exporter-like fleet, by
 * default 1000 series scraped every 15 s for 24 h = 5.76 M samples) into a
 * fresh `stratus serve` and a fresh Prometheus 2.42, then times typical
 * dashboard panels (bench/lib/query-cases.ts) as range queries over the
 * last hour (15 s step) and the last day (5 m step) through
 * `/api/v1/query_range` on both: sequentially, one warm-up request per
 * query and server, then up to `--runs` timed requests alternating between
 * the servers. It reports first / min / median / p90 ms per query and
 * server, the server CPU per request, and checks that both answers agree
 * (same series and timestamps, values within `--tolerance`, relative above
 * magnitude 1 and absolute below).
 *
 * With `--compact` it then compacts Stratus (`POST /api/v1/admin/compact
 * ?force=true`) and times both again, Stratus now reading its blocks.
 *
 * Flags:
 *   --series N      distinct series (default 1000)
 *   --rounds N      scrapes per series, 15 s apart (default 5760 = 24 h)
 *   --runs N        timed requests per query and server (default 7)
 *   --budget S      stop a query's runs on a server after S seconds of them,
 *                   once 3 are done (default 30)
 *   --tolerance X   value tolerance of the agreement check (default 1e-6)
 *   --compact       also time Stratus after compacting it
 *   --no-prometheus time Stratus alone
 *   --json FILE     also write all results as JSON
 *   --keep          keep the servers' data directories
 */
import { rm, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_PARAMS, loadOrGenerate, type PayloadParams } from './lib/payloads.ts';
import { diskUsage, machineInfo } from './lib/proc.ts';
import { casesFor, rangeForm, type QueryCase } from './lib/query-cases.ts';
import { compareMatrices, type MatrixComparison, type RangeAnswer } from './lib/query-compare.ts';
import {
  compactNow,
  load,
  parseAnswer,
  prometheusCompactions,
  prometheusTarget,
  stratusTarget,
  timedRangeQuery,
  waitQuiet,
} from './lib/query-servers.ts';
import { quantile } from './lib/replay.ts';
import { REPO_ROOT, startServer, type RunningServer } from './lib/server.ts';
import { fmt, fmtInt, fmtMiB } from './lib/stats.ts';

/** Runs that always happen before the time budget may end a query's runs. */
const MinRuns = 3;
/** Per-request timeout (both servers' own query timeout is 2 minutes). */
const RequestTimeoutMs = 180_000;
/** Longest wait for a server to go quiet after loading or compacting. */
const MaxSettleMs = 180_000;
/** How long a server's CPU must stay still to count as quiet. */
const QuietMs = 5000;
/**
 * Least wait after loading Prometheus: its TSDB checks for head compaction
 * once a minute, so a minute and a bit lets that run before the timing.
 */
const PrometheusMinSettleMs = 65_000;

function log(msg: string): void {
  process.stderr.write(`[bench:query] ${msg}\n`);
}

function intFlag(v: string | undefined, name: string, def: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} wants a positive integer, got ${JSON.stringify(v)}`);
  return n;
}

/** Timings of one query on one server. */
interface Measured {
  firstMs: number;
  ms: number[];
  cpuMs: number[];
  bytes: number;
  answer: RangeAnswer;
}

/** One query over one range. */
interface CaseResult {
  query: string;
  expr: string;
  range: string;
  steps: number;
  stratus: Measured;
  prometheus?: Measured;
  agreement?: MatrixComparison;
  compacted?: Measured;
  /** Prometheus measured again alongside the compacted Stratus (same machine conditions). */
  prometheusAgain?: Measured;
  compactedAgreement?: MatrixComparison;
}

/** A named server under test. */
interface Sut {
  name: string;
  server: RunningServer;
}

/**
 * Times `c` on every server: a warm-up request each, then runs alternating
 * between the servers until `runs` are done or, after {@link MinRuns}, a
 * server's runs have taken `budgetMs`.
 */
async function measure(c: QueryCase, suts: readonly Sut[], runs: number, budgetMs: number): Promise<Measured[]> {
  const form = rangeForm(c);
  const out: Measured[] = [];
  for (const s of suts) {
    const first = await timedRangeQuery(s.server, form, RequestTimeoutMs);
    out.push({ firstMs: first.ms, ms: [], cpuMs: [], bytes: first.bytes, answer: parseAnswer(first) });
  }
  const spent = suts.map(() => 0);
  for (let i = 0; i < runs; i++) {
    let any = false;
    for (let k = 0; k < suts.length; k++) {
      if (i >= MinRuns && spent[k]! >= budgetMs) continue;
      any = true;
      const t = await timedRangeQuery(suts[k]!.server, form, RequestTimeoutMs);
      if (t.status !== 200) throw new Error(`${suts[k]!.name}: ${c.query.name} ${c.range.name}: HTTP ${t.status}: ${t.body.slice(0, 300)}`);
      out[k]!.ms.push(t.ms);
      out[k]!.cpuMs.push(t.cpuMs);
      spent[k]! += t.ms;
    }
    if (!any) break;
  }
  return out;
}

function figures(m: Measured | undefined): string[] {
  if (m === undefined) return ['-', '-', '-', '-', '-'];
  const s = Float64Array.from(m.ms).sort();
  const cpu = Float64Array.from(m.cpuMs).sort();
  return [fmt(m.firstMs, 0), fmt(s[0] ?? NaN, 0), fmt(quantile(s, 0.5), 0), fmt(quantile(s, 0.9), 0), fmt(quantile(cpu, 0.5), 0)];
}

function median(m: Measured | undefined): number {
  return m === undefined ? NaN : quantile(Float64Array.from(m.ms).sort(), 0.5);
}

function agreeCell(a: MatrixComparison | undefined): string {
  if (a === undefined) return '-';
  return a.problems.length === 0 ? 'yes' : `NO (${a.valuesDiffer} values; ${a.problems[0]})`;
}

/** Prints one markdown table of `results` for the Stratus measurement `pick`. */
function printTable(
  title: string,
  results: readonly CaseResult[],
  pick: (r: CaseResult) => Measured | undefined,
  pickProm: (r: CaseResult) => Measured | undefined,
  agree: (r: CaseResult) => MatrixComparison | undefined,
): void {
  console.log(`\n${title}\n`);
  console.log('| range | query | series x steps | Stratus first / min / median / p90 ms | CPU ms | Prometheus first / min / median / p90 ms | CPU ms | median ratio | runs | agree |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    const s = figures(pick(r));
    const p = figures(pickProm(r));
    const series = pickProm(r)?.answer.data?.result.length ?? pick(r)?.answer.data?.result.length ?? 0;
    const ratio = median(pick(r)) / median(pickProm(r));
    const runs = `${pick(r)?.ms.length ?? 0}/${pickProm(r)?.ms.length ?? 0}`;
    console.log(
      `| ${r.range} | ${r.query} | ${series} x ${r.steps} | ${s.slice(0, 4).join(' / ')} | ${s[4]} | ${p.slice(0, 4).join(' / ')} | ${p[4]} | ` +
        `${Number.isNaN(ratio) ? '-' : fmt(ratio, 1) + 'x'} | ${runs} | ${agreeCell(agree(r))} |`,
    );
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      series: { type: 'string' },
      rounds: { type: 'string' },
      runs: { type: 'string' },
      budget: { type: 'string' },
      tolerance: { type: 'string' },
      compact: { type: 'boolean' },
      'no-prometheus': { type: 'boolean' },
      json: { type: 'string' },
      keep: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log('usage: npm run bench:query -- [--series N] [--rounds N] [--runs N] [--budget S] [--tolerance X] [--compact] [--no-prometheus] [--json FILE] [--keep]');
    return 0;
  }
  const params: PayloadParams = {
    ...DEFAULT_PARAMS,
    series: intFlag(values.series, 'series', 1000),
    rounds: intFlag(values.rounds, 'rounds', 5760),
  };
  const runs = intFlag(values.runs, 'runs', 7);
  const budgetMs = intFlag(values.budget, 'budget', 30) * 1000;
  const tolerance = values.tolerance === undefined ? 1e-6 : Number(values.tolerance);
  if (!(tolerance >= 0)) throw new Error(`--tolerance wants a number >= 0, got ${JSON.stringify(values.tolerance)}`);

  const mi = machineInfo();
  const load0 = loadavg();
  console.log(`machine: ${mi.nproc} CPUs (${mi.cpuModel}), ${fmt(mi.memTotalGiB, 1)} GiB RAM, Linux ${mi.kernel}, node ${mi.node}; load average ${load0.map((x) => fmt(x)).join(' ')}`);
  const p = await loadOrGenerate(join(REPO_ROOT, 'bench', 'payloads'), params, log);
  const ix = p.index;
  console.log(
    `payload: ${fmtInt(ix.series)} series on ${ix.hosts} hosts x ${ix.params.rounds} scrapes at ${ix.params.intervalMs / 1000} s = ${fmtInt(ix.samples)} samples, ` +
      `${new Date(ix.minT).toISOString()} .. ${new Date(ix.maxT).toISOString()}, ${ix.offsets.length} requests`,
  );
  const cases = casesFor(ix);

  const stratusT = stratusTarget();
  const promT = prometheusTarget();
  const withProm = values['no-prometheus'] !== true && promT.binary !== undefined;
  if (!withProm) console.log(values['no-prometheus'] ? 'Prometheus: left out (--no-prometheus)' : 'Prometheus: SKIPPED, not installed (no agreement check)');

  const servers: RunningServer[] = [];
  const results: CaseResult[] = [];
  let compaction: { seconds: number; answer: string } | undefined;
  let promCompactionsDuringTiming = NaN;
  let disagree = 0;
  try {
    // Prepare: load both, one after the other, and let each settle.
    const stratus = await startServer(stratusT);
    servers.push(stratus);
    log(`stratus: pid ${stratus.pid}, ${stratus.url}`);
    const ls = await load(stratus, stratusT, p, log);
    log(`stratus: loaded in ${fmt(ls.seconds, 1)} s; quiet after ${fmt(await waitQuiet(stratus.pid, MaxSettleMs, QuietMs), 1)} s`);
    const suts: Sut[] = [{ name: 'stratus', server: stratus }];
    if (withProm) {
      const prom = await startServer(promT);
      servers.push(prom);
      log(`prometheus: pid ${prom.pid}, ${prom.url}`);
      const lp = await load(prom, promT, p, log);
      const t0 = performance.now();
      await new Promise((r) => setTimeout(r, PrometheusMinSettleMs));
      await waitQuiet(prom.pid, MaxSettleMs, QuietMs);
      log(`prometheus: loaded in ${fmt(lp.seconds, 1)} s; quiet after ${fmt((performance.now() - t0) / 1000, 1)} s`);
      suts.push({ name: 'prometheus', server: prom });
    }
    const du = diskUsage(stratus.dataDir);
    console.log(`stratus data dir before compaction: ${fmtMiB(du.allocated)} MiB`);

    // Act: every case on both servers.
    const promServer = suts[1]?.server;
    const compactions0 = promServer ? await prometheusCompactions(promServer) : NaN;
    for (const c of cases) {
      log(`${c.range.name}: ${c.query.name}`);
      const [s, pr] = await measure(c, suts, runs, budgetMs);
      const r: CaseResult = {
        query: c.query.name,
        expr: c.query.expr,
        range: c.range.name,
        steps: Math.floor((c.range.endMs - c.range.startMs) / c.range.stepMs) + 1,
        stratus: s!,
        prometheus: pr,
      };
      if (pr !== undefined) r.agreement = compareMatrices(s!.answer, pr.answer, tolerance);
      results.push(r);
    }

    if (promServer) {
      promCompactionsDuringTiming = (await prometheusCompactions(promServer)) - compactions0;
      console.log(`prometheus TSDB compactions while queries were timed: ${promCompactionsDuringTiming}`);
    }

    if (values.compact) {
      compaction = await compactNow(stratus);
      log(`stratus: compacted in ${fmt(compaction.seconds, 1)} s; quiet after ${fmt(await waitQuiet(stratus.pid, MaxSettleMs, QuietMs), 1)} s`);
      console.log(`stratus compaction: ${fmt(compaction.seconds, 1)} s; data dir after: ${fmtMiB(diskUsage(stratus.dataDir).allocated)} MiB; ${compaction.answer.slice(0, 400)}`);
      for (let i = 0; i < cases.length; i++) {
        const c = cases[i]!;
        log(`compacted ${c.range.name}: ${c.query.name}`);
        const [s, pr] = await measure(c, suts, runs, budgetMs);
        const r = results[i]!;
        r.compacted = s;
        r.prometheusAgain = pr;
        if (pr !== undefined) r.compactedAgreement = compareMatrices(s!.answer, pr.answer, tolerance);
      }
      if (promServer) {
        promCompactionsDuringTiming = (await prometheusCompactions(promServer)) - compactions0;
        console.log(`prometheus TSDB compactions while queries were timed (both phases): ${promCompactionsDuringTiming}`);
      }
    }
  } finally {
    for (const s of servers) {
      await s.stop();
      if (!values.keep) await rm(s.runDir, { recursive: true, force: true });
      else log(`kept ${s.runDir}`);
    }
  }

  // Assess: print, and fail on any disagreement.
  console.log(`\nload average at the end: ${loadavg().map((x) => fmt(x)).join(' ')}`);
  printTable('Stratus before compaction vs Prometheus 2.42', results, (r) => r.stratus, (r) => r.prometheus, (r) => r.agreement);
  if (values.compact) {
    printTable('Stratus after compaction vs Prometheus 2.42 (measured again)', results, (r) => r.compacted, (r) => r.prometheusAgain, (r) => r.compactedAgreement);
  }
  for (const r of results) {
    for (const [label, a] of [['', r.agreement], [' (compacted)', r.compactedAgreement]] as const) {
      if (a === undefined) continue;
      if (a.problems.length > 0) {
        disagree++;
        console.log(`\nDISAGREE${label} ${r.range} ${r.query}: ${a.problems.join('; ')}`);
      } else if (a.maxRelDiff > 0) {
        console.log(`note${label}: ${r.range} ${r.query}: largest relative difference ${a.maxRelDiff.toExponential(2)}`);
      }
    }
  }
  if (values.json) {
    const strip = (m: Measured | undefined) => m && { ...m, answer: undefined };
    await writeFile(
      values.json,
      JSON.stringify(
        {
          machine: mi,
          params,
          runs,
          budgetMs,
          tolerance,
          compaction,
          promCompactionsDuringTiming,
          results: results.map((r) => ({
            ...r,
            stratus: strip(r.stratus),
            prometheus: strip(r.prometheus),
            compacted: strip(r.compacted),
            prometheusAgain: strip(r.prometheusAgain),
          })),
        },
        null,
        2,
      ),
    );
    log(`results written to ${values.json}`);
  }
  if (disagree > 0) {
    console.log(`\nBENCH FAILED: ${disagree} answers disagree with Prometheus`);
    return 1;
  }
  return 0;
}

process.exitCode = await main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  return 1;
});
