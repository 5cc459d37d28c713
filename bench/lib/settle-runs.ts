/**
 * After a restart, Stratus reads the last hour through segments until the
 * merged runs of them (lib/tsdb/segment-runs.ts) are built again, in the
 * background, from the reads that meet them. Timing reads while that
 * happens times the restart, not the read path; Prometheus, the peer, is
 * read warm (its head was built by its WAL replay before it was ready).
 *
 * So before the timed reads of the scheduled state, the selections are read
 * untimed, each twice per round (a run is built the second time a read
 * meets it), and the server's `/metrics` is polled until no build is
 * pending (`stratus_segment_run_builds_pending`); rounds repeat until one
 * builds nothing new (level-2 runs are asked for only once their level-1
 * runs are built). What that cost is kept: wall time and the server's CPU
 * from just after its read-back to settled, and runs built. Bounded in
 * rounds and time; a server still building at the end is reported as such.
 */
import type { ReadKind } from './read-latency.ts';
import { requester } from './read-latency.ts';
import { processCpuSeconds } from './proc.ts';
import type { Selection } from './selections.ts';

/** What settling the runs after a restart took. */
export interface RunSettle {
  seconds: number;
  /** The server's CPU over the same interval (user + system). */
  cpuSeconds: number;
  rounds: number;
  /** Runs built by the server, from its start to settled (the read-back's included). */
  runsBuilt: number;
  /** Whether a round built nothing new and no build was pending, within the bounds. */
  settled: boolean;
}

const MaxRounds = 12;
const PollMs = 100;

/** The server's run figures from its `/metrics`. */
async function runFigures(url: string): Promise<{ built: number; pending: number }> {
  const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  if (!res.ok) throw new Error(`GET /metrics: HTTP ${res.status}`);
  let built = 0;
  for (const m of text.matchAll(/^stratus_segment_runs_built_total\{level="\d+"\} (\d+)$/gm)) built += Number(m[1]);
  const pending = /^stratus_segment_run_builds_pending (\d+)$/m.exec(text);
  if (pending === null) throw new Error('the server exports no stratus_segment_run_builds_pending (runs off?)');
  return { built, pending: Number(pending[1]) };
}

/** Reads `selections` untimed until the server at `url` (process `pid`) has built every run they meet; see the module comment. */
export async function settleRuns(url: string, pid: number, selections: readonly Selection[], kinds: readonly ReadKind[], budgetMs = 180_000): Promise<RunSettle> {
  const t0 = performance.now();
  const cpu0 = processCpuSeconds(pid);
  const deadline = t0 + budgetMs;
  const sends = selections.flatMap((sel) => kinds.map((kind) => requester(url, kind, sel, 60_000)));
  let rounds = 0;
  let settled = false;
  let now = await runFigures(url);
  while (rounds < MaxRounds && performance.now() < deadline) {
    rounds++;
    const before = now.built;
    for (const send of sends) {
      await send();
      await send();
    }
    now = await runFigures(url);
    while (now.pending > 0 && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, PollMs));
      now = await runFigures(url);
    }
    if (now.pending === 0 && now.built === before) {
      settled = true;
      break;
    }
  }
  return { seconds: (performance.now() - t0) / 1000, cpuSeconds: processCpuSeconds(pid) - cpu0, rounds, runsBuilt: now.built, settled };
}
