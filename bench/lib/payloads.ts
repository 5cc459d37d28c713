/**
 * Remote-write payloads for the ingest benchmark: the scrapes of a synthetic
 * node_exporter fleet ({@link buildFleet}), cut into requests the way
 * Prometheus' remote-write queue cuts them: each series belongs to one of
 * `shards` queues (by a hash of its labels), each queue batches its samples
 * in scrape order, a fixed number per request, one `TimeSeries` per sample;
 * a queue's requests are sent one after another, so no series ever has two
 * requests in flight. Encoded as remote write 1.0 protobuf and
 * snappy-compressed.
 *
 * They are generated once per parameter set and kept under
 * `bench/payloads/<key>/`: `bodies.bin` (the compressed bodies, back to back)
 * and `index.json` ({@link PayloadIndex}: offsets, counts and per-metric
 * checksums for verifying what a server returns).
 */
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeWriteRequest } from '../../lib/prompb/write-v1.ts';
import { snappyEncode } from '../../lib/prompb/snappy.ts';
import type { WriteSeries } from '../../lib/prompb/types.ts';
import { advance, buildFleet, type BenchLabel } from './node-exporter.ts';
import { fmix32, fnv1a, Prng } from './prng.ts';

/**
 * Bumped whenever the generator's output changes, so stale payload
 * directories are not reused.
 */
export const GENERATOR_VERSION = 2;

/** 2024-01-01T00:00:00Z: rounds start here (aligned to Prometheus' 2h blocks). */
export const START_MS = 1_704_067_200_000;

/** What a payload set is made from. */
export interface PayloadParams {
  /** Distinct series (whole hosts, the last one cut short). */
  series: number;
  /** Scrapes per series. */
  rounds: number;
  /** Samples per request. */
  batch: number;
  /** Remote-write queue shards (= concurrent senders when replayed). */
  shards: number;
  /** Scrape interval, ms. */
  intervalMs: number;
  /** Share of scrapes that run a few ms late. */
  lateShare: number;
  seed: number;
}

/** Defaults from the benchmark issue: 10k series x 240 rounds, 2000 samples per request. */
export const DEFAULT_PARAMS: PayloadParams = {
  series: 10_000,
  rounds: 240,
  batch: 2000,
  shards: 4,
  intervalMs: 15_000,
  lateShare: 0.02,
  seed: 1,
};

/** Samples and checksum of one metric name (see {@link sampleHash}). */
export interface MetricTotals {
  series: number;
  samples: number;
  /** Sum modulo 2^32 of {@link sampleHash} over its samples: order-free, duplicate-sensitive. */
  checksum: number;
}

/** Contents of `index.json`. */
export interface PayloadIndex {
  version: number;
  params: PayloadParams;
  hosts: number;
  series: number;
  samples: number;
  /** Inclusive time range of all samples, ms. */
  minT: number;
  maxT: number;
  /** Per request, in the order the batches filled up: byte offset and length in `bodies.bin`, sample count and shard. */
  offsets: number[];
  lengths: number[];
  samplesPerRequest: number[];
  shardOfRequest: number[];
  /** Uncompressed protobuf bytes over all requests. */
  rawBytes: number;
  /** Compressed bytes over all requests (size of `bodies.bin`). */
  compressedBytes: number;
  /** Samples per series label-set size: how many series carry n labels. */
  labelsPerSeries: Record<string, number>;
  metrics: Record<string, MetricTotals>;
}

/** A payload set loaded into memory. */
export interface Payloads {
  dir: string;
  index: PayloadIndex;
  /** Compressed request bodies, views into one buffer. */
  bodies: Uint8Array[];
}

/** The directory name of a parameter set. */
export function payloadKey(p: PayloadParams): string {
  return `node-s${p.series}-r${p.rounds}-b${p.batch}-q${p.shards}-i${p.intervalMs}-l${p.lateShare}-seed${p.seed}-g${GENERATOR_VERSION}`;
}

/** FNV-1a of a sorted label set in `name\xffvalue\xff` form: the series part of {@link sampleHash}. */
export function seriesHash(labels: readonly BenchLabel[]): number {
  let s = '';
  for (const l of labels) s += l.name + '\xff' + l.value + '\xff';
  return fnv1a(s);
}

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

/**
 * A 32-bit hash of one sample: its series, its timestamp relative to
 * {@link START_MS} and the exact bits of its value. Summing these over a
 * metric gives a checksum that does not depend on order but changes when a
 * sample is lost, duplicated, moved to another series or altered.
 */
export function sampleHash(series: number, tMs: number, v: number): number {
  f64[0] = v;
  return fmix32(series ^ fmix32(((tMs - START_MS) | 0) ^ fmix32(u32[0]! ^ fmix32(u32[1]!))));
}

/** Loads the payload set for `p` from `root`, generating it first if absent. */
export async function loadOrGenerate(root: string, p: PayloadParams, log: (msg: string) => void): Promise<Payloads> {
  const dir = join(root, payloadKey(p));
  let index: PayloadIndex | undefined;
  try {
    index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as PayloadIndex;
    const st = await stat(join(dir, 'bodies.bin'));
    if (index.version !== GENERATOR_VERSION || st.size !== index.compressedBytes) index = undefined;
  } catch {
    index = undefined;
  }
  if (index === undefined) {
    log(`generating payloads into ${dir} ...`);
    const t0 = performance.now();
    index = await generate(dir, p);
    log(`generated ${index.offsets.length} requests, ${index.samples} samples in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  } else {
    log(`reusing payloads in ${dir}`);
  }
  const buf = await readFile(join(dir, 'bodies.bin'));
  const bodies = index.offsets.map((off, i) => buf.subarray(off, off + index.lengths[i]!));
  return { dir, index, bodies };
}

/** Generates the payload set into `dir` (atomically: a temp dir renamed at the end). */
async function generate(dir: string, p: PayloadParams): Promise<PayloadIndex> {
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  const out = await open(join(tmp, 'bodies.bin'), 'w');

  const fleet = buildFleet(p.series, p.seed);
  const rng = new Prng(p.seed ^ 0x5eed5eed);
  const hosts = [...fleet.hosts].sort((a, b) => a.offsetMs - b.offsetMs);
  const n = fleet.labels.length;
  const sHash = new Uint32Array(n);
  for (let i = 0; i < n; i++) sHash[i] = seriesHash(fleet.labels[i]!);
  const mSeries = new Float64Array(fleet.metricNames.length);
  const mSamples = new Float64Array(fleet.metricNames.length);
  const mSum = new Uint32Array(fleet.metricNames.length);
  for (let i = 0; i < n; i++) mSeries[fleet.metric[i]!]!++;
  const labelsPerSeries: Record<string, number> = {};
  for (const ls of fleet.labels) labelsPerSeries[ls.length] = (labelsPerSeries[ls.length] ?? 0) + 1;
  const lastT = new Float64Array(hosts.length).fill(NaN);

  const index: PayloadIndex = {
    version: GENERATOR_VERSION,
    params: p,
    hosts: hosts.length,
    series: n,
    samples: 0,
    minT: Infinity,
    maxT: -Infinity,
    offsets: [],
    lengths: [],
    samplesPerRequest: [],
    shardOfRequest: [],
    rawBytes: 0,
    compressedBytes: 0,
    labelsPerSeries,
    metrics: {},
  };

  // Prometheus picks a series' shard from its labels hash.
  const shardOf = new Uint8Array(n);
  for (let i = 0; i < n; i++) shardOf[i] = fmix32(sHash[i]!) % p.shards;
  const pending: WriteSeries[][] = Array.from({ length: p.shards }, () => []);
  const flush = async (shard: number): Promise<void> => {
    const batch = pending[shard]!;
    if (batch.length === 0) return;
    const raw = encodeWriteRequest(batch);
    const body = snappyEncode(raw);
    index.offsets.push(index.compressedBytes);
    index.lengths.push(body.length);
    index.samplesPerRequest.push(batch.length);
    index.shardOfRequest.push(shard);
    index.rawBytes += raw.length;
    index.compressedBytes += body.length;
    await out.write(body);
    pending[shard] = [];
  };

  try {
    for (let round = 0; round < p.rounds; round++) {
      for (let h = 0; h < hosts.length; h++) {
        const host = hosts[h]!;
        const late = rng.chance(p.lateShare) ? rng.int(3, 40) : 0;
        const t = START_MS + round * p.intervalMs + host.offsetMs + late;
        const dtS = Number.isNaN(lastT[h]!) ? 0 : (t - lastT[h]!) / 1000;
        lastT[h] = t;
        if (t < index.minT) index.minT = t;
        if (t > index.maxT) index.maxT = t;
        for (let i = host.firstSeries; i < host.firstSeries + host.numSeries; i++) {
          const v = advance(fleet, i, t, dtS, rng);
          const m = fleet.metric[i]!;
          mSamples[m]!++;
          mSum[m] = (mSum[m]! + sampleHash(sHash[i]!, t, v)) >>> 0;
          const q = shardOf[i]!;
          pending[q]!.push({ labels: fleet.labels[i]!, timestamps: [t], values: [v] });
          if (pending[q]!.length === p.batch) await flush(q);
        }
      }
    }
    for (let q = 0; q < p.shards; q++) await flush(q);
  } finally {
    await out.close();
  }

  index.samples = index.samplesPerRequest.reduce((a, b) => a + b, 0);
  fleet.metricNames.forEach((name, m) => {
    index.metrics[name] = { series: mSeries[m]!, samples: mSamples[m]!, checksum: mSum[m]! };
  });
  await writeFile(join(tmp, 'index.json'), JSON.stringify(index));
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
  return index;
}
