/**
 * Printing and checking the after-compaction figures of the ingest
 * benchmark (see after-compaction.ts): per-run lines, summary rows
 * (min / median / max over runs) and the cross-server check that Stratus and
 * Prometheus returned the same series and samples for each selection; the
 * same for Stratus' scheduled state (scheduled.ts).
 */
import type { AfterCompaction, SelectionRead } from './after-compaction.ts';
import type { ScheduledState } from './scheduled.ts';
import { ReadKind } from './read-latency.ts';
import { TargetName } from './server.ts';
import { fmt, fmtInt, fmtMiB, spread } from './stats.ts';

/** What the summary needs of a run. */
export interface RunWithAfter {
  target: string;
  run: number;
  scheduled?: ScheduledState;
  after?: AfterCompaction;
}

const KIND_LABEL: Record<string, string> = {
  [ReadKind.SAMPLES]: 'remote_read SAMPLES',
  [ReadKind.CHUNKS]: 'remote_read STREAMED_XOR_CHUNKS',
  [ReadKind.EXPORT]: '/api/v1/export (reference, not remote_read)',
};

/** Whether a read returned what its selection must return. */
export function readComplete(r: SelectionRead): boolean {
  return r.series === r.selected && (r.expectedSamples === undefined || r.samples === r.expectedSamples);
}

function readLine(r: SelectionRead, from: string): string {
  return (
    `  ${KIND_LABEL[r.kind]}${from} ${r.selected} series x 1 h: ${fmtInt(r.series)} series, ${fmtInt(r.samples)} samples${readComplete(r) ? '' : ' (INCOMPLETE)'}, ` +
    `${fmt(r.responseBytes / 1024, 0)} KiB; ms over ${r.runs}: min ${fmt(r.minMs, 1)}, median ${fmt(r.medianMs, 1)}, p90 ${fmt(r.p90Ms, 1)}, max ${fmt(r.maxMs, 1)}`
  );
}

function verifyLine(v: AfterCompaction['verify'] & object, when: string): string {
  const s = v.sampled;
  const b = v.broad;
  return (
    `  read back ${when}: ${s.metric} ${s.checksum === s.expected.checksum && s.countsEqual ? 'equal' : 'DIFFERS'}; all ${b.metricsChecked}/${b.metricsTotal} metrics` +
    `${b.complete ? '' : ' (time budget spent)'}: ${b.mismatched.length === 0 ? 'counts equal' : `COUNTS DIFFER in ${b.mismatched.slice(0, 10).join(', ')}`}` +
    (b.valuesDiffer.length === 0 ? ', values bit-exact' : `, values differ in ${b.valuesDiffer.length} metrics`)
  );
}

/** Lines describing one run's scheduled state (scheduled.ts). */
export function scheduledLines(s: ScheduledState): string[] {
  const lines: string[] = [];
  const r = s.result;
  lines.push(
    `  scheduled state (compaction at ${new Date(s.atMs).toISOString()}, the last round): ${fmt(s.compactSeconds, 1)} s, ${fmt(s.compactCpuSeconds)} CPU-s, peak RSS ${fmtMiB(s.compactPeakRssBytes)} MiB` +
      (s.compactSidecarCpuSeconds ? `; emulators ${Object.entries(s.compactSidecarCpuSeconds).map(([k, v]) => `${k} ${fmt(v)} s`).join(', ')}` : ''),
  );
  if (r) {
    lines.push(
      `    ${r.summary}`,
      `    catalog in the hour: ${r.before.segments} segments -> ${r.after.segments} segments + ${r.after.blocks} blocks ${JSON.stringify(r.after.blocksByWindow)}`,
    );
  }
  if (s.verify) lines.push(verifyLine(s.verify, 'in the scheduled state'));
  else if (s.verifyError) lines.push(`  read back in the scheduled state FAILED: ${s.verifyError}`);
  for (const x of s.reads) lines.push(readLine(x, ' (scheduled)'));
  if (s.readError) lines.push(`  read latency (scheduled) FAILED: ${s.readError}`);
  if (s.error) lines.push(`  scheduled step FAILED: ${s.error}`);
  return lines;
}

/** Lines describing one run's after-compaction figures. */
export function afterLines(a: AfterCompaction): string[] {
  const lines: string[] = [];
  if (a.compacted) {
    const parts = a.parts ? ` (MiB by part: ${Object.entries(a.parts).map(([k, v]) => `${k} ${fmt(v / 1048576, 2)}`).join(', ')})` : '';
    const cost =
      a.compactCpuSeconds !== undefined ? `; compact took ${fmt(a.compactSeconds, 1)} s, ${fmt(a.compactCpuSeconds)} CPU-s, peak RSS ${fmtMiB(a.compactPeakRssBytes ?? NaN)} MiB` : `; took ${fmt(a.compactSeconds, 1)} s`;
    lines.push(
      `  after compaction: ${a.what}: ${fmtMiB(a.diskBytes)} MiB${parts} = ${fmt(a.bytesPerSample)} bytes/sample${cost}` +
        (a.settled === false ? ' (merges NOT settled in time)' : ''),
    );
    for (const [label, bps] of Object.entries(a.variants ?? {})) lines.push(`    ${label}: ${fmt(bps)} bytes/sample`);
    if (a.compactSummary) lines.push(`    ${a.compactSummary}`);
  }
  if (a.verify) {
    lines.push(verifyLine(a.verify, a.compacted ? 'after compaction' : 'after a restart (not compacted)'));
  } else if (a.verifyError) {
    lines.push(`  read back ${a.compacted ? 'after compaction' : 'after a restart'} FAILED: ${a.verifyError}`);
  }
  for (const r of a.reads) lines.push(readLine(r, a.blockReads ? ' (head)' : ''));
  for (const r of a.blockReads ?? []) lines.push(readLine(r, ' (block)'));
  if (a.readError) lines.push(`  read latency FAILED: ${a.readError}`);
  if (a.error) lines.push(`  after-compaction step FAILED: ${a.error}`);
  return lines;
}

/** Summary rows `[figure, min, median, max]` over the runs of each target. */
export function afterSummaryRows(results: readonly RunWithAfter[]): string[][] {
  const rows: string[][] = [];
  const byTarget = new Map<string, RunWithAfter[]>();
  for (const r of results) if (r.after || r.scheduled) byTarget.set(r.target, [...(byTarget.get(r.target) ?? []), r]);
  for (const [tgt, runs] of byTarget) {
    const row = (label: string, xs: number[], digits: number): void => {
      const s = spread(xs);
      rows.push([`${tgt}: ${label}`, fmt(s.min, digits), fmt(s.median, digits), fmt(s.max, digits)]);
    };
    const as = runs.flatMap((r) => (r.after ? [r.after] : []));
    if (as.some((a) => a.compacted)) {
      row('bytes/sample after compaction', as.map((a) => a.bytesPerSample), 2);
      for (const label of new Set(as.flatMap((a) => Object.keys(a.variants ?? {})))) row(`  ${label}`, as.map((a) => a.variants?.[label] ?? NaN), 2);
    }
    const ss = runs.flatMap((r) => (r.scheduled ? [r.scheduled] : []));
    if (ss.length > 0) {
      row('scheduled compaction CPU s', ss.map((s) => s.compactCpuSeconds), 2);
      row('  segments left in the hour', ss.map((s) => s.result?.after.segments ?? NaN), 0);
    }
    const sources = [
      ['scheduled ', (r: RunWithAfter) => r.scheduled?.reads ?? []],
      ['', (r: RunWithAfter) => r.after?.reads ?? []],
      ['block ', (r: RunWithAfter) => r.after?.blockReads ?? []],
    ] as const;
    for (const [from, pick] of sources) {
      const keys = new Set(runs.flatMap((a) => pick(a).map((r) => `${r.kind}|${r.selected}`)));
      for (const key of keys) {
        const [kind, sel] = key.split('|');
        const rs = runs.flatMap((a) => pick(a).filter((r) => `${r.kind}|${r.selected}` === key));
        row(`${from}${kind} ${sel} series median ms`, rs.map((r) => r.medianMs), 1);
        row(`${from}${kind} ${sel} series p90 ms`, rs.map((r) => r.p90Ms), 1);
      }
    }
  }
  return rows;
}

/**
 * Problems with the reads: incomplete answers, and Stratus and Prometheus
 * answers for the same selection and kind that differ in series, samples
 * or checksum. Empty when all is well.
 */
export function readProblems(results: readonly RunWithAfter[]): string[] {
  const problems: string[] = [];
  const ref = new Map<string, { target: string; r: SelectionRead }>();
  for (const res of results) {
    for (const r of [...(res.scheduled?.reads ?? []), ...(res.after?.reads ?? []), ...(res.after?.blockReads ?? [])]) {
      if (!readComplete(r)) problems.push(`${res.target} run ${res.run}: ${r.kind} ${r.selected} series returned ${r.series} series, ${r.samples} samples`);
      if (res.target === TargetName.VICTORIAMETRICS) continue;
      const key = `${r.kind}|${r.selected}`;
      const first = ref.get(key);
      if (first === undefined) ref.set(key, { target: `${res.target} run ${res.run}`, r });
      else if (first.r.series !== r.series || first.r.samples !== r.samples || first.r.checksum !== r.checksum) {
        problems.push(`${res.target} run ${res.run}: ${r.kind} ${r.selected} series differs from ${first.target} (${r.series}/${r.samples}/${r.checksum} vs ${first.r.series}/${first.r.samples}/${first.r.checksum})`);
      }
    }
  }
  return problems;
}
