/**
 * The second half of an ingest run: each server's data in its compacted form
 * (see compaction.ts), its size on disk, the read-back check repeated on the
 * compacted data, and read latency for selections of exact series counts
 * (see read-latency.ts and selections.ts).
 *
 * - Stratus: the server is stopped (its usual "before" size is taken by the
 *   caller), `stratus compact` runs on the data directory (`stratus-aws`: on
 *   the bucket and table, with the emulators' endpoints), the server is
 *   restarted on it, verified, read, stopped; the size is `du` after that
 *   stop (objects/ and index/ also apart; `stratus-aws`: S3 object bytes +
 *   DynamoDB item bytes, see stored-size.ts).
 * - Prometheus: while it runs, a snapshot writes the head as a block; the
 *   snapshot's size is its compacted size; reads go to the running server
 *   (the hour is in its head, as it would be in production), and then to a
 *   second Prometheus started on the snapshot directory, which reads the
 *   same hour from the persisted block (as it would once the hour is older
 *   than its head), and is verified there.
 * - VictoriaMetrics: restarted on its stopped data directory,
 *   flushed and force-merged, verified, read with /api/v1/export, stopped;
 *   the size is `du` after that stop.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { compactDynaliteStore } from './aws-emulators.ts';
import { compactStratus, prometheusSnapshot, vmForceMerge } from './compaction.ts';
import { diskUsage, processCpuSeconds } from './proc.ts';
import { storedSize, stratusParts, type AwsSizeSummary } from './stored-size.ts';
import type { Payloads } from './payloads.ts';
import { measureRead, ReadKind, type ReadLatency } from './read-latency.ts';
import type { Selection } from './selections.ts';
import { isStratus as isStratusTarget, startServer, TargetName, type RunningServer, type Target } from './server.ts';
import { verify, type VerifyResult } from './verify.ts';

/** One selection read one way. */
export interface SelectionRead extends ReadLatency {
  /** Series the selection is built to match. */
  selected: number;
  expectedSamples: number | undefined;
}

/** Figures of the compacted state of one run. */
export interface AfterCompaction {
  /** Whether compaction was done (false with --no-compact: reads on the data as ingested). */
  compacted: boolean;
  /** What `diskBytes` measures. */
  what: string;
  diskBytes: number;
  diskApparentBytes: number;
  bytesPerSample: number;
  /** Allocated bytes by part (Stratus: blocks by resolution, segments, index; Prometheus: chunks, index; VictoriaMetrics: top directories). */
  parts?: Record<string, number>;
  /** Bytes per sample counted other ways, for comparing like with like (label -> figure). */
  variants?: Record<string, number>;
  /** Stratus: size right after `stratus compact`, before the restart. */
  diskBytesAfterCommand?: number;
  compactSeconds: number;
  /** Stratus: CPU of the compact command. */
  compactCpuSeconds?: number;
  compactPeakRssBytes?: number;
  compactSummary?: string;
  /** `stratus-aws`: CPU seconds of the emulators (s3rver, dynalite) during `stratus compact`, apart from Stratus'. */
  compactSidecarCpuSeconds?: Record<string, number>;
  /** `stratus-aws`: the S3 / DynamoDB breakdown of `diskBytes`. */
  aws?: AwsSizeSummary;
  /** VictoriaMetrics: whether the merges went quiet in time. */
  settled?: boolean;
  verify?: VerifyResult;
  verifyError?: string;
  reads: SelectionRead[];
  /** Prometheus: the same reads from the snapshot's block (a second server on the snapshot directory). */
  blockReads?: SelectionRead[];
  readError?: string;
  error?: string;
}

/** Options of the functions here. */
export interface AfterOptions {
  compact: boolean;
  /**
   * Stratus: before the forced compaction, the state a compaction schedule
   * leaves at the end of the payload, read the same way (scheduled.ts).
   * Only with `compact`.
   */
  scheduled?: boolean;
  readLatency: boolean;
  selections: readonly Selection[];
  readRuns: number;
  readWarmup: number;
  verifyBudgetS: number;
  sampledMetric: string;
  log: (msg: string) => void;
}

/** The ways `t` is read for latency. */
export function readKinds(t: Target): ReadKind[] {
  return t.name === TargetName.VICTORIAMETRICS ? [ReadKind.EXPORT] : [ReadKind.SAMPLES, ReadKind.CHUNKS];
}

/** Times every selection the ways `t` is read; a failure is kept in `out.readError`. */
export async function readAll(t: Target, url: string, o: AfterOptions, out: { reads: SelectionRead[]; readError?: string }, into: SelectionRead[] = out.reads): Promise<void> {
  if (!o.readLatency) return;
  try {
    for (const sel of o.selections) {
      for (const kind of readKinds(t)) {
        const r = await measureRead(url, kind, sel, { runs: o.readRuns, warmup: o.readWarmup });
        into.push({ ...r, selected: sel.series, expectedSamples: sel.expectedSamples });
        o.log(`  ${t.name} ${kind} ${sel.series} series: ${r.series} series, ${r.samples} samples; median ${r.medianMs.toFixed(1)} ms`);
      }
    }
  } catch (err) {
    out.readError = String(err);
  }
}

/** Reads everything back into `out.verify` (a failure into `out.verifyError`). */
export async function verifyInto(t: Target, url: string, p: Payloads, o: AfterOptions, out: { verify?: VerifyResult; verifyError?: string }): Promise<void> {
  try {
    out.verify = await verify(t.name, url, p.index, o.sampledMetric, o.verifyBudgetS * 1000);
  } catch (err) {
    out.verifyError = String(err);
  }
}

function empty(compacted: boolean, what: string): AfterCompaction {
  return { compacted, what, diskBytes: NaN, diskApparentBytes: NaN, bytesPerSample: NaN, compactSeconds: NaN, reads: [] };
}

/** Prometheus, while its server still runs after the ingest and the first read-back. */
/**
 * Starts the stopped server again on its data, runs `first` (if given),
 * reads everything back, runs `beforeReads` (if given), times the
 * selections into `out`, and stops
 * the server, whatever failed (failures are thrown once it is stopped).
 */
export async function restartAndRead(
  t: Target,
  stopped: RunningServer,
  p: Payloads,
  o: AfterOptions,
  out: { reads: SelectionRead[]; readError?: string; verify?: VerifyResult; verifyError?: string },
  what: string,
  first?: (url: string) => Promise<void>,
  beforeReads?: (server: RunningServer) => Promise<void>,
): Promise<void> {
  const server = await startServer(t, { reuse: { runDir: stopped.runDir, dataDir: stopped.dataDir } });
  o.log(`  ${t.name} ${what}: pid ${server.pid}, ${server.url}`);
  try {
    await first?.(server.url);
    await verifyInto(t, server.url, p, o, out);
    await beforeReads?.(server);
    await readAll(t, server.url, o, out);
  } finally {
    const s = await server.stop();
    if (s.code !== 0 && s.code !== null) o.log(`  ${t.name} exited with code ${s.code}; log ${server.logFile}`);
  }
}

export async function prometheusAfter(server: RunningServer, p: Payloads, acceptedSamples: number, o: AfterOptions, t: Target): Promise<AfterCompaction> {
  const out = empty(o.compact, 'snapshot (head written as a block)');
  let snapshot: string | undefined;
  try {
    if (o.compact) {
      const t0 = performance.now();
      snapshot = await prometheusSnapshot(server.url, server.dataDir);
      out.compactSeconds = (performance.now() - t0) / 1000;
      const du = diskUsage(snapshot);
      out.diskBytes = du.allocated;
      out.diskApparentBytes = du.apparent;
      out.bytesPerSample = du.allocated / acceptedSamples;
      out.parts = prometheusParts(snapshot);
      o.log(`  snapshot ${snapshot}: ${(du.allocated / acceptedSamples).toFixed(2)} bytes/sample in ${out.compactSeconds.toFixed(1)} s`);
    }
    await readAll(t, server.url, o, out);
  } catch (err) {
    out.error = String(err);
  }
  if (snapshot === undefined || out.error !== undefined) return out;
  // A second Prometheus on the snapshot: the same hour from a persisted block.
  let second: RunningServer | undefined;
  try {
    second = await startServer(t, { reuse: { runDir: server.runDir, dataDir: snapshot } });
    o.log(`  prometheus on the snapshot: pid ${second.pid}, ${second.url}`);
    await verifyInto(t, second.url, p, o, out);
    out.blockReads = [];
    await readAll(t, second.url, o, out, out.blockReads);
  } catch (err) {
    out.error = String(err);
  } finally {
    await second?.stop();
  }
  return out;
}

/**
 * Stratus and VictoriaMetrics, after their server has stopped: compact
 * (Stratus offline, VictoriaMetrics after the restart), restart, verify,
 * read, stop, measure.
 */
export async function restartedAfter(t: Target, stopped: RunningServer, p: Payloads, acceptedSamples: number, o: AfterOptions): Promise<AfterCompaction> {
  const isStratus = isStratusTarget(t.name);
  const what =
    t.name === TargetName.STRATUS_AWS
      ? 'after `stratus compact`: S3 object bytes + DynamoDB item bytes (+100 B/item overhead)'
      : isStratus
        ? 'data dir after `stratus compact` (objects + index)'
        : 'data dir after force_merge';
  const out = empty(o.compact, what);
  try {
    if (o.compact && isStratus) {
      const sidecars = t.sidecarPids?.(stopped.runDir) ?? {};
      const cpu0 = Object.fromEntries(Object.entries(sidecars).map(([k, pid]) => [k, processCpuSeconds(pid)]));
      const c = await compactStratus(stopped.dataDir, join(stopped.runDir, 'compact.log'), undefined, { args: t.storageArgs, env: t.env?.(stopped.runDir) });
      if (Object.keys(sidecars).length > 0) {
        out.compactSidecarCpuSeconds = Object.fromEntries(Object.entries(sidecars).map(([k, pid]) => [k, processCpuSeconds(pid) - cpu0[k]!]));
      }
      out.compactSeconds = c.wallSeconds;
      out.compactCpuSeconds = c.cpuSeconds;
      out.compactPeakRssBytes = c.peakRssBytes;
      out.compactSummary = c.summary;
      o.log(`  stratus compact: exit ${c.exitCode} in ${c.wallSeconds.toFixed(1)} s: ${c.summary}`);
      if (c.exitCode !== 0) throw new Error(`stratus compact exited with ${c.exitCode}; log ${c.logFile}`);
      out.diskBytesAfterCommand = (await storedSize(t, stopped.runDir, stopped.dataDir)).allocated;
      if (t.name === TargetName.STRATUS_AWS) {
        const d = await compactDynaliteStore(stopped.runDir);
        o.log(`  dynalite's LevelDB compacted (DynamoDB keeps no deleted items around): ${(d.beforeBytes / 2 ** 20).toFixed(1)} -> ${(d.afterBytes / 2 ** 20).toFixed(1)} MiB`);
      }
    }
    await restartAndRead(t, stopped, p, o, out, 'restarted', async (url) => {
      if (!o.compact || isStratus) return;
      const m = await vmForceMerge(url);
      out.compactSeconds = m.seconds;
      out.settled = m.settled;
      o.log(`  force_merge ${m.settled ? 'settled' : 'NOT settled'} after ${m.seconds.toFixed(1)} s`);
    });
  } catch (err) {
    out.error = String(err);
  }
  if (out.error === undefined) {
    try {
      const du = await storedSize(t, stopped.runDir, stopped.dataDir);
      out.diskBytes = du.allocated;
      out.diskApparentBytes = du.apparent;
      out.bytesPerSample = du.allocated / acceptedSamples;
      out.aws = du.aws;
      if (isStratus) {
        out.parts = await stratusParts(t, stopped.runDir, stopped.dataDir, du);
        const downsampled = (out.parts['blocks 5m'] ?? 0) + (out.parts['blocks 1h'] ?? 0);
        out.variants = { 'without the downsampled (5m, 1h) blocks': (du.allocated - downsampled) / acceptedSamples };
        if (du.aws) {
          out.variants['without the DynamoDB per-item overhead'] = du.apparent / acceptedSamples;
          out.variants['without downsampled blocks and per-item overhead'] = (du.apparent - downsampled) / acceptedSamples;
        }
      } else {
        out.parts = Object.fromEntries(readdirSync(stopped.dataDir).map((d) => [d, diskUsage(join(stopped.dataDir, d)).allocated]));
        out.variants = {
          'without cache/': (du.allocated - (out.parts.cache ?? 0)) / acceptedSamples,
          'data/ only (samples, no index)': (out.parts.data ?? NaN) / acceptedSamples,
        };
      }
    } catch (err) {
      out.error = `measuring the size: ${String(err)}`;
    }
  }
  return out;
}

/** A Prometheus snapshot by part: chunk files, index files, the rest. */
function prometheusParts(dir: string): Record<string, number> {
  const parts: Record<string, number> = { chunks: 0, index: 0, other: 0 };
  const walk = (d: string, inChunks: boolean): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, e.name);
      if (e.isDirectory()) walk(path, e.name === 'chunks');
      else {
        const bytes = statSync(path).blocks * 512;
        if (inChunks) parts.chunks! += bytes;
        else if (e.name === 'index') parts.index! += bytes;
        else parts.other! += bytes;
      }
    }
  };
  walk(dir, false);
  return parts;
}
