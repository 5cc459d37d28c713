/**
 * The "scheduled" state of a Stratus run: the data as a deployment reads
 * the last hour, while compaction runs on its schedule, rather than after a
 * forced compaction of everything (after-compaction.ts).
 *
 * After the ingest and the first read-back, with the server stopped (local
 * mode: LevelDB lets one process open the data directory), the compaction
 * that a schedule would have run at the moment the payload's last round was
 * written runs in a child process of its own (compact-at.ts): the library's
 * default levels and settle times, not forced, the clock set to the
 * payload's last sample. Windows settled by then become blocks; the rest
 * stays in segments, as it would in production at that moment (a schedule
 * running every few minutes leaves at most the settle time plus one
 * window plus one interval uncompacted). The server is then restarted on
 * the result and the read-back is repeated. Before the same selections
 * are timed as after the forced compaction, they are read untimed until
 * the server has built its merged runs of segments again (settle-runs.ts;
 * what that took is reported beside the reads): timed is the read path,
 * not the restart. The caller goes on with the forced compaction
 * afterwards.
 *
 * In AWS mode dynalite's LevelDB is compacted after the run, as after the
 * forced compaction (aws-emulators.ts compactDynaliteStore: DynamoDB keeps
 * no deleted items around to wade through).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { compactDynaliteStore } from './aws-emulators.ts';
import { readKinds, restartAndRead, type AfterOptions, type SelectionRead } from './after-compaction.ts';
import type { CompactAtResult } from './compact-at.ts';
import { runTimed } from './compaction.ts';
import type { Payloads } from './payloads.ts';
import { processCpuSeconds } from './proc.ts';
import { REPO_ROOT, TargetName, type RunningServer, type Target } from './server.ts';
import type { VerifyResult } from './verify.ts';
import { settleRuns, type RunSettle } from './settle-runs.ts';

/** Figures of the scheduled state of one run. */
export interface ScheduledState {
  /** The compaction's clock: the payload's last sample, ms. */
  atMs: number;
  compactSeconds: number;
  /** CPU of the compaction's child process (user + system). */
  compactCpuSeconds: number;
  compactPeakRssBytes: number;
  /** `stratus-aws`: the emulators' CPU during the compaction, apart from Stratus'. */
  compactSidecarCpuSeconds?: Record<string, number>;
  /** What the compaction did and the catalog entries of the payload's range before and after it. */
  result?: CompactAtResult;
  verify?: VerifyResult;
  verifyError?: string;
  /** Before the timed reads: what building the merged runs of segments again after the restart took (settle-runs.ts). */
  settle?: RunSettle;
  reads: SelectionRead[];
  readError?: string;
  error?: string;
}

const COMPACT_AT = join(REPO_ROOT, 'bench', 'lib', 'compact-at.ts');

/**
 * Brings the stopped Stratus server's data into the state the compaction
 * schedule leaves at the payload's end, restarts the server on it,
 * verifies, times the reads and stops it again. Never throws: failures
 * are in `error`, `verifyError`, `readError`.
 */
export async function scheduledState(t: Target, stopped: RunningServer, p: Payloads, o: AfterOptions): Promise<ScheduledState> {
  const out: ScheduledState = { atMs: p.index.maxT, compactSeconds: NaN, compactCpuSeconds: NaN, compactPeakRssBytes: NaN, reads: [] };
  try {
    const resultFile = join(stopped.runDir, 'compact-at.json');
    const cmd = [
      process.execPath,
      '--import',
      'tsx',
      COMPACT_AT,
      `--now=${p.index.maxT}`,
      `--from=${p.index.minT}`,
      `--to=${p.index.maxT}`,
      `--out=${resultFile}`,
      `--data-dir=${stopped.dataDir}`,
      ...(t.storageArgs ?? []),
    ];
    const sidecars = t.sidecarPids?.(stopped.runDir) ?? {};
    const cpu0 = Object.fromEntries(Object.entries(sidecars).map(([k, pid]) => [k, processCpuSeconds(pid)]));
    const c = await runTimed(cmd, join(stopped.runDir, 'compact-at.log'), 600_000, t.env?.(stopped.runDir));
    if (Object.keys(sidecars).length > 0) {
      out.compactSidecarCpuSeconds = Object.fromEntries(Object.entries(sidecars).map(([k, pid]) => [k, processCpuSeconds(pid) - cpu0[k]!]));
    }
    out.compactSeconds = c.wallSeconds;
    out.compactCpuSeconds = c.cpuSeconds;
    out.compactPeakRssBytes = c.peakRssBytes;
    if (c.exitCode !== 0) throw new Error(`the scheduled compaction exited with ${c.exitCode}: ${c.summary}; log ${c.logFile}`);
    out.result = JSON.parse(await readFile(resultFile, 'utf8')) as CompactAtResult;
    const a = out.result.after;
    o.log(
      `  scheduled compaction at ${new Date(out.atMs).toISOString()}: ${c.wallSeconds.toFixed(1)} s, ${c.cpuSeconds.toFixed(2)} CPU-s: ${out.result.summary}; ` +
        `left in the hour: ${a.segments} segments, ${a.blocks} blocks ${JSON.stringify(a.blocksByWindow)} (before: ${out.result.before.segments} segments)`,
    );
    if (t.name === TargetName.STRATUS_AWS) {
      const d = await compactDynaliteStore(stopped.runDir);
      o.log(`  dynalite's LevelDB compacted: ${(d.beforeBytes / 2 ** 20).toFixed(1)} -> ${(d.afterBytes / 2 ** 20).toFixed(1)} MiB`);
    }
    await restartAndRead(t, stopped, p, o, out, 'restarted on the scheduled state', undefined, async (server) => {
      if (!o.readLatency) return;
      const s = await settleRuns(server.url, server.pid, o.selections, readKinds(t));
      out.settle = s;
      o.log(
        `  merged runs after the restart: ${s.runsBuilt} built, ${s.settled ? 'settled' : 'NOT settled'} after ${s.rounds} round(s) of untimed reads, ` +
          `${s.seconds.toFixed(1)} s, ${s.cpuSeconds.toFixed(2)} server CPU-s`,
      );
    });
  } catch (err) {
    out.error = String(err);
  }
  return out;
}
