/**
 * Micro-benchmark of the remote-write 1.0 decode path:
 * `node --import tsx bench/decode.ts`.
 *
 * Builds a node_exporter-like WriteRequest (2000 series x 1 sample, about 10
 * labels each, sorted, with external labels as Prometheus adds them) and
 * prints ns/sample for protobuf decoding (ours, fresh and with recycled
 * columns, and protobufjs for scale) and for snappy decoding (native vs
 * snappyjs). No assertions; figures vary with the machine and its load, so
 * it also prints a plain byte-loop figure as a yardstick.
 */
import { createRequire } from 'node:module';
import protobuf from 'protobufjs';
import { decodeWriteRequest, encodeWriteRequest } from '../lib/prompb/write-v1.ts';
import type { WriteRequestColumns, WriteSeries } from '../lib/prompb/write-v1.ts';
import { jsSnappy, nativeSnappy } from '../lib/prompb/snappy.ts';

const SERIES = 2000;

function nodeExporterLike(): WriteSeries[] {
  const families: { name: string; labels: (i: number) => [string, string][] }[] = [
    { name: 'node_cpu_seconds_total', labels: (i) => [['cpu', String(i % 16)], ['mode', ['idle', 'user', 'system', 'iowait', 'irq', 'nice', 'softirq', 'steal'][i % 8]!]] },
    { name: 'node_filesystem_avail_bytes', labels: (i) => [['device', `/dev/sda${i % 4}`], ['fstype', 'ext4'], ['mountpoint', `/mnt/data${i % 7}`]] },
    { name: 'node_network_receive_bytes_total', labels: (i) => [['device', `eth${i % 4}`]] },
    { name: 'node_disk_io_time_seconds_total', labels: (i) => [['device', `nvme${i % 3}n1`]] },
    { name: 'node_memory_MemAvailable_bytes', labels: () => [] },
  ];
  const out: WriteSeries[] = [];
  for (let i = 0; i < SERIES; i++) {
    const f = families[i % families.length]!;
    const pairs: [string, string][] = [
      ['__name__', f.name],
      ['cluster', 'prod-eu-1'],
      ['datacenter', 'dub1'],
      ['env', 'production'],
      ['instance', `node-${Math.floor(i / 80)}.example.internal:9100`],
      ['job', 'node'],
      ['region', 'eu-west-1'],
      ['replica', 'prometheus-0'],
      ['team', 'infra'],
      ...f.labels(i),
    ];
    pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    out.push({
      labels: pairs.map(([name, value]) => ({ name, value })),
      timestamps: [1_700_000_000_000 + (i % 1000)],
      values: new Float64Array([i * 1.25]),
    });
  }
  return out;
}

/** Runs `fn` `iters` times per round; returns the best and median ns per sample. */
function measure(iters: number, fn: () => unknown): { best: number; median: number } {
  for (let i = 0; i < iters; i++) fn(); // warm-up
  const rounds: number[] = [];
  for (let r = 0; r < 15; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iters; i++) fn();
    rounds.push(Number(process.hrtime.bigint() - t0) / iters / SERIES);
  }
  rounds.sort((a, b) => a - b);
  return { best: rounds[0]!, median: rounds[Math.floor(rounds.length / 2)]! };
}

function report(name: string, m: { best: number; median: number }): void {
  console.log(`${name.padEnd(44)} ${m.best.toFixed(1).padStart(8)} ${m.median.toFixed(1).padStart(8)}`);
}

const series = nodeExporterLike();
const pb = encodeWriteRequest(series);
const labels = series.reduce((n, s) => n + s.labels.length, 0);
const snappyjs = createRequire(import.meta.url)('snappyjs') as { uncompress(b: Uint8Array): Uint8Array };
const compressed = (nativeSnappy ?? jsSnappy).encode(pb);

console.log(`payload: ${SERIES} series x 1 sample, ${(labels / SERIES).toFixed(1)} labels/series`);
console.log(`protobuf ${pb.length} bytes (${(pb.length / SERIES).toFixed(0)} B/series), snappy ${compressed.length} bytes`);
console.log(`native snappy: ${nativeSnappy === undefined ? 'NOT LOADED' : 'loaded'}`);
console.log(`${'ns per sample'.padEnd(44)} ${'best'.padStart(8)} ${'median'.padStart(8)}`);

let prev: WriteRequestColumns | undefined;
report('decodeWriteRequest (fresh columns)', measure(50, () => decodeWriteRequest(pb)));
report('decodeWriteRequest (reuse columns)', measure(50, () => (prev = decodeWriteRequest(pb, prev))));

const root = protobuf.parse(`
  syntax = "proto3";
  message WriteRequest { repeated TimeSeries timeseries = 1; }
  message TimeSeries { repeated Label labels = 1; repeated Sample samples = 2; }
  message Label { string name = 1; string value = 2; }
  message Sample { double value = 1; int64 timestamp = 2; }
`).root;
const PbWriteRequest = root.lookupType('WriteRequest');
report('protobufjs decode (objects + strings)', measure(10, () => PbWriteRequest.decode(pb)));

if (nativeSnappy !== undefined) {
  report('snappy decode, native', measure(50, () => nativeSnappy!.decode(compressed, 1 << 24)));
}
report('snappy decode, snappyjs + our validation', measure(20, () => jsSnappy.decode(compressed, 1 << 24)));
report('snappy decode, snappyjs alone (unsafe)', measure(20, () => snappyjs.uncompress(compressed)));

// Yardstick: a plain loop summing every byte of the protobuf body.
const copy = Uint8Array.from(pb);
report('yardstick: sum every protobuf byte', measure(50, () => {
  let s = 0;
  for (let i = 0; i < copy.length; i++) s += copy[i]!;
  return s;
}));
