/**
 * Micro-benchmark of the XOR chunk: append and iterate cost per sample.
 * Run with `node --import tsx bench/chunkenc.ts`. Prints figures only.
 */
import { XORChunk, type XORIterator } from '../lib/chunkenc/index.ts';

const SAMPLES_PER_CHUNK = 120;
const CHUNKS = 2000;

/** Deterministic PRNG (mulberry32) so runs are comparable. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = s;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

interface Workload {
  name: string;
  ts: Float64Array;
  vs: Float64Array;
}

function workload(name: string, t: (i: number, r: () => number) => number, v: (i: number, r: () => number) => number): Workload {
  const r = rng(42);
  const n = SAMPLES_PER_CHUNK * CHUNKS;
  const ts = new Float64Array(n);
  const vs = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    ts[i] = t(i, r);
    vs[i] = v(i, r);
  }
  return { name, ts, vs };
}

const base = 1_700_000_000_000;
const workloads: Workload[] = [
  workload('regular 15s, constant value', (i) => base + i * 15_000, () => 1),
  workload('regular 15s, counter +1..10', (i) => base + i * 15_000, (i) => i * 5 + (i % 7)),
  workload('jittered 15s, gauge floats', (i, r) => base + i * 15_000 + Math.floor(r() * 50), (_i, r) => r() * 1000),
];

function encode(w: Workload): XORChunk[] {
  const chunks: XORChunk[] = [];
  for (let c = 0; c < CHUNKS; c++) {
    const chunk = new XORChunk();
    const app = chunk.appender();
    const off = c * SAMPLES_PER_CHUNK;
    for (let i = 0; i < SAMPLES_PER_CHUNK; i++) app.append(w.ts[off + i]!, w.vs[off + i]!);
    chunks.push(chunk);
  }
  return chunks;
}

// Sums are kept in locals: a module-level `let` holding doubles would box a
// heap number per sample and the benchmark would measure the allocator.
let reused: XORIterator | undefined;

function iterateAll(chunks: XORChunk[]): number {
  let sum = 0;
  let it = reused;
  for (const c of chunks) {
    it = c.iterator(it);
    while (it.next()) sum += it.atT() + it.atV();
  }
  reused = it;
  return sum;
}

/** Seeks each chunk to its last sample (decoding all but returning one). */
function seekAll(chunks: XORChunk[], ts: Float64Array): number {
  let sum = 0;
  let it = reused;
  for (let c = 0; c < chunks.length; c++) {
    it = chunks[c]!.iterator(it);
    if (it.seek(ts[(c + 1) * SAMPLES_PER_CHUNK - 1]!)) sum += it.atV();
  }
  reused = it;
  return sum;
}

function time(fn: () => void, rounds: number): number {
  fn(); // warm up
  fn();
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    fn();
    const dt = Number(process.hrtime.bigint() - t0);
    if (dt < best) best = dt;
  }
  return best;
}

const total = SAMPLES_PER_CHUNK * CHUNKS;
console.log(`XOR chunk, ${CHUNKS} chunks x ${SAMPLES_PER_CHUNK} samples, best of rounds, node ${process.version}`);
for (const w of workloads) {
  const appendNs = time(() => void encode(w), 10);
  const chunks = encode(w);
  let bytes = 0;
  for (const c of chunks) bytes += c.bytes().length;
  const iterNs = time(() => void iterateAll(chunks), 20);
  const seekNs = time(() => void seekAll(chunks, w.ts), 20);
  console.log(
    `${w.name.padEnd(30)} append ${(appendNs / total).toFixed(1).padStart(6)} ns/sample` +
      `  iterate ${(iterNs / total).toFixed(1).padStart(6)} ns/sample` +
      `  seek-to-last ${(seekNs / total).toFixed(1).padStart(5)} ns/sample` +
      `  ${(bytes / total).toFixed(2)} bytes/sample`,
  );
}
