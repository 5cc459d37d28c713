/**
 * Tests of the `npm run bench` report and chart on synthetic results:
 * `node --import tsx --test bench/lib/full-report.test.ts`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderChart } from '../../../bench/lib/chart-svg.ts';
import { likeForLike, renderReport, sizeTable, targetChecks, type Combined, type RunFigures, type SizeResult } from '../../../bench/lib/full-report.ts';

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
