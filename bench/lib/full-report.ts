/**
 * The combined results of `npm run bench` (bench/full.ts) and their
 * Markdown rendering: one table per payload size, a column per target, each
 * cell min / median / max over the runs, then a table of the last hour's
 * reads under the compaction schedule (Stratus' scheduled state against
 * Prometheus' head, see scheduled.ts) and a check of the targets
 * against the peers measured in the same run.
 */
import type { AfterCompaction, SelectionRead } from './after-compaction.ts';
import type { ScheduledState } from './scheduled.ts';
import type { VerifyResult } from './verify.ts';
import { ReadKind } from './read-latency.ts';
import { fmt, fmtInt, spread, type Spread } from './stats.ts';

/** The parts of one bench/ingest.ts run result the report uses. */
export interface RunFigures {
  target: string;
  run: number;
  failed: number;
  acceptedSamples: number;
  samplesPerSecond: number;
  cpuPerMillion: number;
  sidecarCpuPerMillion?: number;
  sidecarCpuSeconds?: Record<string, number>;
  clientCpuSeconds: number;
  peakRssBytes: number;
  bytesPerSample: number;
  verify?: VerifyResult;
  verifyError?: string;
  /** Stratus: the state the compaction schedule leaves at the payload's end. */
  scheduled?: ScheduledState;
  after?: AfterCompaction;
}

/** What bench/ingest.ts writes with --json (the parts used here). */
export interface IngestJson {
  machine: { nproc: number; cpuModel: string; memTotalGiB: number; kernel: string; node: string };
  params: { series: number; rounds: number; batch: number; shards: number };
  payload: { samples: number; hosts: number };
  results: RunFigures[];
}

/** One payload size of a full run. */
export interface SizeResult {
  series: number;
  runs: number;
  exitCode: number | null;
  wallSeconds: number;
  data?: IngestJson;
}

/** The combined JSON of `npm run bench`. */
export interface Combined {
  started: string;
  finished: string;
  commit: string;
  machine: IngestJson['machine'];
  /** 1-minute load average sampled every 15 s during the runs. */
  load1: Spread & { samples: number };
  targets: string[];
  sizes: SizeResult[];
}

/** Column titles of the targets. */
export const TARGET_TITLE: Record<string, string> = {
  stratus: 'Stratus local (fs + LevelDB)',
  'stratus-aws': 'Stratus AWS mode (s3rver + dynalite)',
  prometheus: 'Prometheus 2.42',
  victoriametrics: 'VictoriaMetrics 1.79',
};

/** Runs of `target` in `size`. */
export function runsOf(size: SizeResult, target: string): RunFigures[] {
  return (size.data?.results ?? []).filter((r) => r.target === target);
}

/** min / median / max of a figure over runs. */
export function figure(rs: readonly RunFigures[], pick: (r: RunFigures) => number | undefined): Spread {
  return spread(rs.map((r) => pick(r) ?? NaN));
}

/** A table cell: `min / **median** / max` (one figure when they agree), `digits` < 0 for whole numbers. */
export function cell(s: Spread, digits: number): string {
  const f = (x: number): string => (digits < 0 ? fmtInt(x) : fmt(x, digits));
  if (Number.isNaN(s.median)) return '–';
  return s.min === s.max ? f(s.median) : `${f(s.min)} / **${f(s.median)}** / ${f(s.max)}`;
}

/** The like-for-like after-compaction figure: without what the others do not keep. */
export function likeForLike(r: RunFigures): number | undefined {
  const v = r.after?.variants;
  if (v === undefined) return r.after?.bytesPerSample;
  return v['without the downsampled (5m, 1h) blocks'] ?? v['without cache/'] ?? r.after?.bytesPerSample;
}

/** Where a read was timed: after the forced compaction, Prometheus' persisted block, Stratus' scheduled state. */
type ReadState = 'after' | 'block' | 'scheduled';

function readMs(r: RunFigures, kind: string, selected: number, from: ReadState = 'after'): number | undefined {
  const reads: SelectionRead[] = (from === 'scheduled' ? r.scheduled?.reads : from === 'block' ? r.after?.blockReads : r.after?.reads) ?? [];
  return reads.find((x) => x.kind === kind && x.selected === selected)?.medianMs;
}

/** The last hour as read under the schedule: Stratus' scheduled state, Prometheus' head (what it reads the last hours from). */
function lastHourMs(r: RunFigures, kind: string, selected: number): number | undefined {
  return readMs(r, kind, selected, r.target === 'prometheus' ? 'after' : 'scheduled');
}

function verdict(v: VerifyResult | undefined, vm: boolean): string {
  if (v === undefined) return 'FAILED';
  const b = v.broad;
  if (!b.complete) return `incomplete (${b.metricsChecked}/${b.metricsTotal} metrics in budget)`;
  if (b.mismatched.length > 0 || !v.sampled.countsEqual) return `COUNTS DIFFER (${b.mismatched.length} metrics)`;
  if (b.valuesDiffer.length > 0 || !v.sampled.exact) return `all ${fmtInt(b.samples)} samples; values rounded in ${b.valuesDiffer.length} metrics${vm ? '' : ' (NOT bit-exact)'}`;
  return `all ${fmtInt(b.samples)} samples, values bit-exact`;
}

function readBack(rs: readonly RunFigures[], target: string): string {
  if (rs.length === 0) return '–';
  const vm = target === 'victoriametrics';
  const before = new Set(rs.map((r) => (r.failed > 0 ? `${r.failed} requests FAILED` : verdict(r.verify, vm))));
  const after = new Set(rs.filter((r) => r.after?.compacted).map((r) => verdict(r.after?.verify, vm)));
  const join = (s: Set<string>): string => [...s].join('; ');
  if (after.size === 0) return join(before);
  return join(after) === join(before) ? `${join(before)} (before and after compaction)` : `${join(before)}; after compaction: ${join(after)}`;
}

/** The Markdown table of one size. */
export function sizeTable(size: SizeResult, targets: readonly string[]): string {
  const present = targets.filter((t) => runsOf(size, t).length > 0);
  const rows: string[][] = [];
  const row = (label: string, pick: (r: RunFigures) => number | undefined, digits: number, only?: (t: string) => boolean): void => {
    const cells = present.map((t) => (only && !only(t) ? '' : cell(figure(runsOf(size, t), pick), digits)));
    if (cells.some((c) => c !== '' && c !== '–')) rows.push([label, ...cells]);
  };
  row('accepted samples/s', (r) => r.samplesPerSecond, -1);
  row('**server CPU-s per million samples**', (r) => r.cpuPerMillion, 2);
  row("emulators' CPU-s per million (s3rver + dynalite, not Stratus')", (r) => r.sidecarCpuPerMillion, 2);
  row('peak RSS MiB', (r) => r.peakRssBytes / 1048576, 0);
  row('bytes/sample as ingested', (r) => r.bytesPerSample, 2);
  row('**bytes/sample after compaction**, all of it', (r) => r.after?.bytesPerSample, 2);
  row('&nbsp;&nbsp;like for like (Stratus: no 5m/1h blocks; VM: no `cache/`)', likeForLike, 2, (t) => t !== 'prometheus');
  for (const n of [100, 1000]) {
    for (const [kind, label] of [[ReadKind.SAMPLES, 'SAMPLES'], [ReadKind.CHUNKS, 'XOR_CHUNKS']] as const) {
      row(`remote_read ${n} series x 1 h, ${label}, median ms`, (r) => readMs(r, kind, n), 1);
      row(`&nbsp;&nbsp;Prometheus from its persisted block`, (r) => readMs(r, kind, n, 'block'), 1, (t) => t === 'prometheus');
    }
    row(`VictoriaMetrics /api/v1/export ${n} series (reference, not remote_read), median ms`, (r) => readMs(r, ReadKind.EXPORT, n), 1, (t) => t === 'victoriametrics');
  }
  rows.push(['read back (every metric, count and checksum)', ...present.map((t) => readBack(runsOf(size, t), t))]);
  const header = ['figure', ...present.map((t) => TARGET_TITLE[t] ?? t)];
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/**
 * The Markdown table of the last hour's reads under the compaction
 * schedule in `size`: Stratus targets in their scheduled state, Prometheus
 * from its head (same selections), with what the scheduled compaction
 * cost and left; empty when no Stratus run has a scheduled state.
 */
export function scheduledTable(size: SizeResult, targets: readonly string[]): string {
  const stratus = targets.filter((t) => t !== 'prometheus' && runsOf(size, t).some((r) => r.scheduled !== undefined));
  if (stratus.length === 0) return '';
  const present = [...stratus, ...targets.filter((t) => t === 'prometheus' && runsOf(size, t).length > 0)];
  const rows: string[][] = [];
  const row = (label: string, pick: (r: RunFigures) => number | undefined, digits: number): void => {
    const cells = present.map((t) => cell(figure(runsOf(size, t), pick), digits));
    if (cells.some((c) => c !== '–')) rows.push([label, ...cells]);
  };
  for (const n of [100, 1000]) {
    for (const [kind, label] of [[ReadKind.SAMPLES, 'SAMPLES'], [ReadKind.CHUNKS, 'XOR_CHUNKS']] as const) {
      row(`remote_read ${n} series x 1 h, ${label}, median ms`, (r) => lastHourMs(r, kind, n), 1);
    }
  }
  row('after the restart, before the timed reads: merged runs built', (r) => r.scheduled?.settle?.runsBuilt, -1);
  row('&nbsp;&nbsp;untimed reads until built: s', (r) => r.scheduled?.settle?.seconds, 1);
  row("&nbsp;&nbsp;server CPU s meanwhile", (r) => r.scheduled?.settle?.cpuSeconds, 2);
  const done = (r: RunFigures) => r.scheduled?.result;
  row('scheduled compaction (at the last round): CPU s', (r) => r.scheduled?.compactCpuSeconds, 2);
  row("&nbsp;&nbsp;emulators' CPU s during it (not Stratus')", (r) => (r.scheduled?.compactSidecarCpuSeconds ? Object.values(r.scheduled.compactSidecarCpuSeconds).reduce((a, b) => a + b, 0) : undefined), 2);
  row('&nbsp;&nbsp;blocks written', (r) => done(r)?.totals.blocksWritten, -1);
  row('&nbsp;&nbsp;segments merged into them', (r) => done(r)?.totals.inputsReplaced, -1);
  row('catalog entries of the hour before it: segments', (r) => done(r)?.before.segments, -1);
  row('catalog entries of the hour after it: segments left', (r) => done(r)?.after.segments, -1);
  row('&nbsp;&nbsp;blocks', (r) => done(r)?.after.blocks, -1);
  const windows = (t: string): string => {
    const all = new Set(runsOf(size, t).map((r) => Object.entries(done(r)?.after.blocksByWindow ?? {}).map(([w, k]) => `${k} x ${w}`).join(' + ')));
    return [...all].filter((x) => x !== '').join('; ') || '–';
  };
  if (stratus.some((t) => windows(t) !== '–')) rows.push(['&nbsp;&nbsp;blocks by window', ...present.map((t) => (t === 'prometheus' ? '' : windows(t)))]);
  rows.push([
    'read back (every metric, count and checksum)',
    ...present.map((t) => {
      if (t === 'prometheus') return '';
      const vs = new Set(runsOf(size, t).map((r) => (r.scheduled?.error ? `FAILED: ${r.scheduled.error.slice(0, 80)}` : verdict(r.scheduled?.verify, false))));
      return [...vs].join('; ');
    }),
  ]);
  const header = ['last hour, compaction on its schedule', ...present.map((t) => (t === 'prometheus' ? `${TARGET_TITLE[t]} head` : `${TARGET_TITLE[t] ?? t}, scheduled`))];
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** Whether the targets are met in `size`, judged on medians; one line each. */
export function targetChecks(size: SizeResult): string[] {
  const med = (t: string, pick: (r: RunFigures) => number | undefined): number => figure(runsOf(size, t), pick).median;
  const lines: string[] = [];
  const vmCpu = med('victoriametrics', (r) => r.cpuPerMillion);
  const vmAll = med('victoriametrics', (r) => r.after?.bytesPerSample);
  const vmLike = med('victoriametrics', likeForLike);
  const yes = (ok: boolean): string => (ok ? 'met' : '**not met**');
  for (const s of ['stratus', 'stratus-aws']) {
    if (runsOf(size, s).length === 0) continue;
    const cpu = med(s, (r) => r.cpuPerMillion);
    if (!Number.isNaN(vmCpu)) lines.push(`- ${s}: ingest CPU-s/M ${fmt(cpu)} vs VictoriaMetrics ${fmt(vmCpu)}: ${yes(cpu <= vmCpu)}`);
    const all = med(s, (r) => r.after?.bytesPerSample);
    const like = med(s, likeForLike);
    if (!Number.isNaN(vmAll)) {
      lines.push(`- ${s}: bytes/sample after compaction ${fmt(all)} all-in vs VictoriaMetrics ${fmt(vmAll)}: ${yes(all < vmAll)}; like for like ${fmt(like)} vs ${fmt(vmLike)}: ${yes(like < vmLike)}`);
    }
    for (const n of [100, 1000]) {
      for (const kind of [ReadKind.SAMPLES, ReadKind.CHUNKS]) {
        const ours = med(s, (r) => readMs(r, kind, n));
        const prom = med('prometheus', (r) => readMs(r, kind, n));
        if (!Number.isNaN(ours) && !Number.isNaN(prom)) lines.push(`- ${s}: remote_read ${n} series ${kind} ${fmt(ours, 1)} ms vs Prometheus ${fmt(prom, 1)} ms (${fmt(ours / prom, 1)}x): ${yes(ours <= prom)}`);
      }
    }
    for (const n of [100, 1000]) {
      for (const kind of [ReadKind.SAMPLES, ReadKind.CHUNKS]) {
        const ours = med(s, (r) => readMs(r, kind, n, 'scheduled'));
        const prom = med('prometheus', (r) => readMs(r, kind, n));
        if (!Number.isNaN(ours) && !Number.isNaN(prom)) {
          lines.push(`- ${s}: last hour under the compaction schedule, remote_read ${n} series ${kind} ${fmt(ours, 1)} ms vs Prometheus' head ${fmt(prom, 1)} ms (${fmt(ours / prom, 1)}x): ${yes(ours <= prom)}`);
        }
      }
    }
  }
  return lines;
}

/** The whole Markdown report. */
export function renderReport(c: Combined): string {
  const m = c.machine;
  const out = [
    `Measured ${c.started.slice(0, 16).replace('T', ' ')}–${c.finished.slice(11, 16)} UTC at commit ${c.commit}; ` +
      `${m.nproc} CPUs (${m.cpuModel}), ${fmt(m.memTotalGiB, 1)} GiB RAM, Linux ${m.kernel}, Node.js ${m.node}; ` +
      `1-min load average during the runs ${fmt(c.load1.min, 1)} / ${fmt(c.load1.median, 1)} / ${fmt(c.load1.max, 1)} (min / median / max of ${c.load1.samples} samples).`,
    '',
    'Cells: min / **median** / max over the runs (one figure when they agree or there was one run).',
  ];
  for (const s of c.sizes) {
    const p = s.data?.params;
    out.push('', `#### ${fmtInt(s.series)} series x ${p?.rounds ?? '?'} rounds (${fmtInt(s.data?.payload.samples ?? NaN)} samples), ${s.runs} run(s) per target`, '');
    if (s.data === undefined) {
      out.push(`No results (bench/ingest.ts exited with ${s.exitCode}).`);
      continue;
    }
    out.push(sizeTable(s, c.targets));
    const sched = scheduledTable(s, c.targets);
    if (sched !== '') {
      out.push(
        '',
        "**Reads of the last hour under the compaction schedule.** Stratus before the forced compaction: compacted as its schedule would have left it when the payload's last round was written " +
          "(library default levels, not forced; settled windows in blocks, the rest in segments), restarted, read back; Prometheus from its head, the same selections.",
        '',
        sched,
      );
    }
    if (s.exitCode !== 0) out.push('', `bench/ingest.ts exited with ${s.exitCode}: some request failed or a read-back differed (see the log).`);
    const checks = targetChecks(s);
    if (checks.length > 0) out.push('', 'Issue targets (medians):', '', ...checks);
  }
  return out.join('\n') + '\n';
}
