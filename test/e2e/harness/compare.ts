/**
 * Comparing remote-read answers of Stratus and of a real Prometheus: both
 * become maps from series to "t:value-bits" strings.
 */
import assert from 'node:assert/strict';
import { XORChunk } from '../../../lib/chunkenc/xor.ts';
import type { SampleSeries } from '../../../lib/remote/client.ts';

const bitsView = new DataView(new ArrayBuffer(8));
export function bitsOf(v: number): string {
  bitsView.setFloat64(0, v);
  return bitsView.getBigUint64(0).toString(16).padStart(16, '0');
}
export const StaleBits = '7ff0000000000002';

/** series key -> list of "t:bits" strings, in time order. */
export type Answer = Map<string, string[]>;

export function keyOf(labels: Record<string, string>): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export function fromOracleSamples(series: { labels: Record<string, string>; samples: { t: number; v: number }[] }[]): Answer {
  const out: Answer = new Map();
  for (const s of series) out.set(keyOf(s.labels), s.samples.map((x) => `${x.t}:${bitsOf(x.v)}`));
  return out;
}

export function fromOracleChunks(series: { labels: Record<string, string>; chunks: { data: Uint8Array; type: number }[] }[], start: number, end: number): Answer {
  const out: Answer = new Map();
  for (const s of series) {
    const key = keyOf(s.labels);
    const list = out.get(key) ?? [];
    for (const c of s.chunks) {
      assert.equal(c.type, 1, 'Prometheus sends XOR chunks');
      const it = XORChunk.fromBytes(c.data).iterator();
      // Prometheus sends whole chunks overlapping the window: cut them.
      while (it.next()) if (it.atT() >= start && it.atT() <= end) list.push(`${it.atT()}:${bitsOf(it.atV())}`);
      assert.equal(it.err(), null);
    }
    if (list.length > 0) out.set(key, list);
  }
  return out;
}

export function fromOurs(series: SampleSeries[]): Answer {
  const out: Answer = new Map();
  for (const s of series) {
    const labels: Record<string, string> = {};
    for (const l of s.labels) labels[l.name] = l.value;
    out.set(keyOf(labels), [...s.timestamps].map((t, i) => `${t}:${bitsOf(s.values[i]!)}`));
  }
  return out;
}

/**
 * Compares two answers; in SAMPLES mode Prometheus' encoder turns -0.0 into
 * +0.0 (proto3 omits a zero double), so there our -0.0 may meet its +0.0.
 */
export function assertSameAnswer(ours: Answer, theirs: Answer, what: string, samplesMode: boolean): number {
  assert.deepEqual([...ours.keys()].sort(), [...theirs.keys()].sort(), `${what}: same series`);
  let n = 0;
  for (const [key, want] of theirs) {
    let got = ours.get(key)!;
    if (samplesMode) got = got.map((s) => s.replace(/:8000000000000000$/, ':0000000000000000'));
    assert.deepEqual(got, want, `${what}: samples of ${key}`);
    n += want.length;
  }
  return n;
}

export function remoteStorageMetric(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(name + '{') || line.startsWith(name + ' ')) sum += Number(line.split(' ').pop());
  return sum;
}

