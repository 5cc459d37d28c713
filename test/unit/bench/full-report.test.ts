/**
 * Tests of the `npm run bench` report and chart on synthetic results:
 * `node --import tsx --test bench/lib/full-report.test.ts`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderChart } from '../../../bench/lib/chart-svg.ts';
import { likeForLike, renderReport, scheduledTable, sizeTable, targetChecks, type Combined, type RunFigures, type SizeResult } from '../../../bench/lib/full-report.ts';
import type { ScheduledState } from '../../../bench/lib/scheduled.ts';
import type { VerifyResult } from '../../../bench/lib/verify.ts';

function run(target: string, i: number, cpu: number, bps: number, variants: Record<string, number>, extra?: number): RunFigures {
  return {
    target,
    run: i,
    failed: 0,
    acceptedSamples: 1000,
    samplesPerSecond: 1e5,
    cpuPerMillion: cpu,
    sidecarCpuPerMillion: extra,
    clientCpuSeconds: 1,
    peakRssBytes: 100 * 1048576,
    bytesPerSample: 50,
    after: {
      compacted: true,
      what: '',
      diskBytes: bps * 1000,
      diskApparentBytes: bps * 1000,
      bytesPerSample: bps,
      variants,
      compactSeconds: 1,
      reads: [{ kind: 'chunks', series: 100, samples: 24000, checksum: 1, responseBytes: 1, runs: 20, minMs: 1, medianMs: cpu * 2, p90Ms: 1, maxMs: 1, selected: 100, expectedSamples: 24000 }],
    },
  };
}

function size(results: RunFigures[]): SizeResult {
  return {
    series: 10000,
    runs: 3,
    exitCode: 0,
    wallSeconds: 1,
    data: {
      machine: { nproc: 2, cpuModel: 'x', memTotalGiB: 1, kernel: 'k', node: 'v20' },
      params: { series: 10000, rounds: 240, batch: 2000, shards: 4 },
      payload: { samples: 2_400_000, hosts: 48 },
      results,
    },
  };
}

const S = 'without the downsampled (5m, 1h) blocks';

/** A read-back that matched: 3 metrics, 100 samples. */
const exact: VerifyResult = {
  sampled: { metric: 'm', series: 1, samples: 10, checksum: 1, expected: { series: 1, samples: 10, checksum: 1 }, countsEqual: true, exact: true },
  broad: { metricsChecked: 3, metricsTotal: 3, complete: true, samples: 100, expectedSamples: 100, mismatched: [], valuesDiffer: [], seconds: 1 },
};

/** A scheduled state: `ms` for the 100-series chunk read, `left` segments left beside 5 blocks of 10 minutes. */
function sched(ms: number, cpu: number, left: number, emulators?: number): ScheduledState {
  const counts = { jobs: 5, blocksWritten: 5, inputsReplaced: 250, samplesWritten: 2_000_000, objectsDeleted: 0, orphansDeleted: 0 };
  return {
    atMs: 1,
    compactSeconds: 9,
    compactCpuSeconds: cpu,
    compactPeakRssBytes: 1,
    ...(emulators === undefined ? {} : { compactSidecarCpuSeconds: { s3rver: emulators / 2, dynalite: emulators / 2 } }),
    result: {
      nowMs: 1,
      summary: 'x',
      totals: counts,
      failed: 0,
      before: { segments: 250 + left, blocks: 0, blocksByWindow: {} },
      after: { segments: left, blocks: 5, blocksByWindow: { '10m': 5 } },
    },
    verify: exact,
    reads: [{ kind: 'chunks', series: 100, samples: 24000, checksum: 1, responseBytes: 1, runs: 20, minMs: 1, medianMs: ms, p90Ms: 1, maxMs: 1, selected: 100, expectedSamples: 24000 }],
  };
}

/** `sample` with a scheduled state on the Stratus runs. */
function withScheduled(): SizeResult {
  const add: Record<string, ScheduledState> = {
    'stratus 1': sched(5, 10, 60),
    'stratus 2': sched(7, 12, 60),
    'stratus 3': sched(6, 11, 60),
    'stratus-aws 1': sched(20, 30, 61, 8),
  };
  return size(sample.data!.results.map((r) => ({ ...r, scheduled: add[`${r.target} ${r.run}`] })));
}
const sample = size([
  run('stratus', 1, 2.0, 2.1, { [S]: 1.4 }),
  run('stratus', 2, 3.0, 2.1, { [S]: 1.4 }),
  run('stratus', 3, 2.5, 2.1, { [S]: 1.4 }),
  run('stratus-aws', 1, 7.0, 2.0, { [S]: 1.3 }, 5.5),
  run('prometheus', 1, 4.5, 2.8, {}),
  run('victoriametrics', 1, 1.2, 3.7, { 'without cache/': 2.0 }),
]);

describe('full-report', () => {
  it('shows min / median / max per target and the emulators apart', () => {
    // Act
    const md = sizeTable(sample, ['stratus', 'stratus-aws', 'prometheus', 'victoriametrics']);
    // Assess
    const cpuRow = md.split('\n').find((l) => l.startsWith('| **server CPU-s'))!;
    assert.deepEqual(cpuRow.split(' | ').slice(1, 5), ['2.00 / **2.50** / 3.00', '7.00', '4.50', '1.20 |']);
    const emu = md.split('\n').find((l) => l.startsWith("| emulators'"))!;
    assert.equal(emu.split(' | ')[2], '5.50');
  });

  it('judges the issue targets on medians, like for like as well as all-in', () => {
    // Act
    const lines = targetChecks(sample);
    // Assess
    assert.ok(lines.includes('- stratus: ingest CPU-s/M 2.50 vs VictoriaMetrics 1.20: **not met**'), lines.join('\n'));
    assert.ok(lines.includes('- stratus: bytes/sample after compaction 2.10 all-in vs VictoriaMetrics 3.70: met; like for like 1.40 vs 2.00: met'), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith('- stratus-aws: remote_read 100 series chunks 14.0 ms vs Prometheus 9.0 ms (1.6x): **not met**')), lines.join('\n'));
  });

  it('tabulates the last hour under the schedule next to Prometheus\' head, and judges it', () => {
    // Prepare
    const sz = withScheduled();
    // Act
    const md = scheduledTable(sz, ['stratus', 'stratus-aws', 'prometheus', 'victoriametrics']);
    const checks = targetChecks(sz);
    // Assess: Stratus columns from the scheduled state, Prometheus' from its head reads; no VictoriaMetrics column.
    const lines = md.split('\n');
    assert.equal(lines[0], '| last hour, compaction on its schedule | Stratus local (fs + LevelDB), scheduled | Stratus AWS mode (s3rver + dynalite), scheduled | Prometheus 2.42 head |');
    const cells = (prefix: string) => lines.find((l) => l.startsWith(`| ${prefix}`))!.split(' | ').slice(1);
    assert.deepEqual(cells('remote_read 100 series x 1 h, XOR_CHUNKS'), ['5.0 / **6.0** / 7.0', '20.0', '9.0 |']);
    assert.deepEqual(cells('scheduled compaction'), ['10.00 / **11.00** / 12.00', '30.00', '– |']);
    assert.deepEqual(cells("&nbsp;&nbsp;emulators' CPU"), ['–', '8.00', '– |']);
    assert.deepEqual(cells('catalog entries of the hour after it: segments left'), ['60', '61', '– |']);
    assert.deepEqual(cells('&nbsp;&nbsp;blocks by window'), ['5 x 10m', '5 x 10m', ' |']);
    assert.deepEqual(cells('read back'), ['all 100 samples, values bit-exact', 'all 100 samples, values bit-exact', ' |']);
    assert.equal(lines.filter((l) => l.includes('SAMPLES')).length, 0, 'rows without figures are left out');
    assert.ok(checks.includes("- stratus: last hour under the compaction schedule, remote_read 100 series chunks 6.0 ms vs Prometheus' head 9.0 ms (0.7x): met"), checks.join('\n'));
    assert.ok(checks.includes("- stratus-aws: last hour under the compaction schedule, remote_read 100 series chunks 20.0 ms vs Prometheus' head 9.0 ms (2.2x): **not met**"), checks.join('\n'));
  });

  it('has no schedule table without a scheduled state (--no-scheduled, --no-compact)', () => {
    // Act
    const md = scheduledTable(sample, ['stratus', 'stratus-aws', 'prometheus']);
    const report = renderReport({ started: 'x'.repeat(20), finished: 'x'.repeat(20), commit: 'c', machine: sample.data!.machine, load1: { min: 1, median: 1, max: 1, samples: 1 }, targets: ['stratus', 'prometheus'], sizes: [sample, withScheduled()] });
    // Assess
    assert.equal(md, '');
    assert.equal((report.match(/\*\*Reads of the last hour under the compaction schedule\.\*\*/g) ?? []).length, 1, 'one size has it');
  });

  it('takes the like-for-like variant of each system', () => {
    // Assess
    assert.equal(likeForLike(sample.data!.results[0]!), 1.4);
    assert.equal(likeForLike(sample.data!.results[5]!), 2.0);
    assert.equal(likeForLike(sample.data!.results[4]!), 2.8);
  });

  it('draws one bar per target and size, whiskers where runs differ, the emulators hatched', () => {
    // Prepare
    const c: Combined = {
      started: '2026-01-01T00:00:00Z',
      finished: '2026-01-01T01:00:00Z',
      commit: 'abc',
      machine: sample.data!.machine,
      load1: { min: 1, median: 2, max: 3, samples: 3 },
      targets: ['stratus', 'stratus-aws', 'prometheus', 'victoriametrics'],
      sizes: [sample, { ...sample, series: 50000 }],
    };
    // Act
    const svg = renderChart(c);
    const md = renderReport(c);
    // Assess
    assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.equal((svg.match(/<rect x="[^"]*" y="[^"]*" width="[^"]*" height="[^"]*" fill="#/g) ?? []).length, 2 * 2 * 4 + 4, 'bars of both panels and the legend');
    assert.equal((svg.match(/fill="url\(#hatch\)"/g) ?? []).length, 2, 'emulator CPU on the AWS bar of each size');
    assert.equal((svg.match(/stroke="#111" stroke-width="1.3"/g) ?? []).length, 2, 'a whisker for Stratus CPU (3 runs that differ) per size');
    assert.equal((md.match(/^#### /gm) ?? []).length, 2);
  });
});
