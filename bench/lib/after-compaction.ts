/**
 * The second half of an ingest run: each server's data in its compacted form
 * (see compaction.ts), its size on disk, the read-back check repeated on the
 * compacted data, and read latency for selections of exact series counts
 * (see read-latency.ts and selections.ts).
 *
 * - Stratus: the server is stopped (its usual "before" size is taken by the
 *   caller), `stratus compact` runs on the data directory, the server is
 *   restarted on it, verified, read, stopped; the size is `du` after that
 *   stop (objects/ and index/ also apart).
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
import { basename, join } from 'node:path';
import { openLocalStorage } from '../../lib/server/app.ts';
import { compactStratus, prometheusSnapshot, vmForceMerge } from './compaction.ts';
import { diskUsage } from './proc.ts';
import type { Payloads } from './payloads.ts';
import { measureRead, ReadKind, type ReadLatency } from './read-latency.ts';
import type { Selection } from './selections.ts';
import { startServer, TargetName, type RunningServer, type Target } from './server.ts';
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
  readLatency: boolean;
  selections: readonly Selection[];
  readRuns: number;
  readWarmup: number;
  verifyBudgetS: number;
  sampledMetric: string;
  log: (msg: string) => void;
}

/** The ways `t` is read for latency. */
function readKinds(t: Target): ReadKind[] {
  return t.name === TargetName.VICTORIAMETRICS ? [ReadKind.EXPORT] : [ReadKind.SAMPLES, ReadKind.CHUNKS];
}

async function readAll(t: Target, url: string, o: AfterOptions, out: AfterCompaction, into: SelectionRead[] = out.reads): Promise<void> {
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

async function verifyInto(t: Target, url: string, p: Payloads, o: AfterOptions, out: AfterCompaction): Promise<void> {
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
  const isStratus = t.name === TargetName.STRATUS;
  const out = empty(o.compact, isStratus ? 'data dir after `stratus compact` (objects + index)' : 'data dir after force_merge');
  let server: RunningServer | undefined;
  try {
    if (o.compact && isStratus) {
      const c = await compactStratus(stopped.dataDir, join(stopped.runDir, 'compact.log'));
      out.compactSeconds = c.wallSeconds;
      out.compactCpuSeconds = c.cpuSeconds;
      out.compactPeakRssBytes = c.peakRssBytes;
      out.compactSummary = c.summary;
      o.log(`  stratus compact: exit ${c.exitCode} in ${c.wallSeconds.toFixed(1)} s: ${c.summary}`);
      if (c.exitCode !== 0) throw new Error(`stratus compact exited with ${c.exitCode}; log ${c.logFile}`);
      out.diskBytesAfterCommand = diskUsage(stopped.dataDir).allocated;
    }
    server = await startServer(t, { reuse: { runDir: stopped.runDir, dataDir: stopped.dataDir } });
    o.log(`  ${t.name} restarted: pid ${server.pid}, ${server.url}`);
    if (o.compact && !isStratus) {
      const m = await vmForceMerge(server.url);
      out.compactSeconds = m.seconds;
      out.settled = m.settled;
      o.log(`  force_merge ${m.settled ? 'settled' : 'NOT settled'} after ${m.seconds.toFixed(1)} s`);
    }
    await verifyInto(t, server.url, p, o, out);
    await readAll(t, server.url, o, out);
  } catch (err) {
    out.error = String(err);
  } finally {
    if (server) {
      const s = await server.stop();
      if (s.code !== 0 && s.code !== null) o.log(`  ${t.name} exited with code ${s.code}; log ${server.logFile}`);
    }
  }
  if (out.error === undefined) {
    const du = diskUsage(stopped.dataDir);
    out.diskBytes = du.allocated;
    out.diskApparentBytes = du.apparent;
    out.bytesPerSample = du.allocated / acceptedSamples;
    try {
      if (isStratus) {
        out.parts = await stratusParts(stopped.dataDir, du.allocated);
        const downsampled = (out.parts['blocks 5m'] ?? 0) + (out.parts['blocks 1h'] ?? 0);
        out.variants = { 'without the downsampled (5m, 1h) blocks': (du.allocated - downsampled) / acceptedSamples };
      } else {
        out.parts = Object.fromEntries(readdirSync(stopped.dataDir).map((d) => [d, diskUsage(join(stopped.dataDir, d)).allocated]));
        out.variants = {
          'without cache/': (du.allocated - (out.parts.cache ?? 0)) / acceptedSamples,
          'data/ only (samples, no index)': (out.parts.data ?? NaN) / acceptedSamples,
        };
      }
    } catch (err) {
      out.error = `breaking down the size: ${String(err)}`;
    }
  }
  return out;
}

/** Allocated bytes of every file under `dir`, by file name. */
function allocatedByName(dir: string, into = new Map<string, number>()): Map<string, number> {
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, d.name);
    if (d.isDirectory()) allocatedByName(path, into);
    else into.set(d.name, statSync(path).blocks * 512);
  }
  return into;
}

/**
 * Stratus' data directory by part: block objects by resolution and
 * segments (from the catalog of every tenant), the index (LevelDB) and
 * whatever else is there.
 */
async function stratusParts(dataDir: string, total: number): Promise<Record<string, number>> {
  const files = allocatedByName(join(dataDir, 'objects'));
  const storage = await openLocalStorage(dataDir);
  const parts: Record<string, number> = {};
  try {
    for (const tenant of await storage.tenantIds()) {
      for (const { entry } of await storage.tenant(tenant).stores.catalog.all()) {
        const res = entry.kind === 'segment' ? 'segments' : entry.resolution === 0 ? 'blocks raw' : `blocks ${entry.resolution === 300_000 ? '5m' : entry.resolution === 3_600_000 ? '1h' : entry.resolution}`;
        parts[res] = (parts[res] ?? 0) + (files.get(basename(entry.key)) ?? NaN);
      }
    }
  } finally {
    await storage.close();
  }
  parts.index = diskUsage(join(dataDir, 'index')).allocated;
  parts.other = total - Object.values(parts).reduce((a, b) => a + b, 0);
  return parts;
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
