import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { XORChunk } from '../../../lib/chunkenc/xor.ts';
import { XorColumnEncoder } from '../../../lib/chunkenc/xor-columns.ts';
import { Encoding } from '../../../lib/chunkenc/chunk.ts';
import { mergedChunks, SeriesIterator, seriesChunks, seriesColumns, type SourceChunk } from '../../../lib/storage/merge.ts';
import { STALE } from '../../helpers/bits.ts';
import { prng } from '../../helpers/prng.ts';

/**
 * Random sources of one series: encoded XOR chunks (as segments hold, full
 * or of a few samples) and decoded column slices (as block reads produce,
 * several sharing one array), overlapping or not, with equal timestamps
 * across sources.
 */
function sources(rnd: () => number): SourceChunk[] {
  const out: SourceChunk[] = [];
  const shared = { t: new Float64Array(4096), v: new Float64Array(4096), n: 0 };
  const n = 1 + Math.floor(rnd() * 5);
  for (let s = 0; s < n; s++) {
    const len = 1 + Math.floor(rnd() * 300);
    let t = Math.floor(rnd() * (rnd() < 0.5 ? 100 : 5000)) * 10;
    const step = rnd() < 0.5 ? 10 : 1 + Math.floor(rnd() * 40);
    const ts = new Float64Array(len);
    const vs = new Float64Array(len);
    const bits = new BigUint64Array(vs.buffer);
    for (let i = 0; i < len; i++) {
      ts[i] = t;
      t += step;
      vs[i] = s * 1000 + i;
      if (rnd() < 0.05) bits[i] = STALE;
    }
    const order = Math.floor(rnd() * 10);
    if (rnd() < 0.5 && shared.n + len <= 4096) {
      const from = shared.n;
      shared.t.set(ts, from);
      shared.v.set(vs, from);
      shared.n += len;
      out.push({ minTime: ts[0]!, maxTime: ts[len - 1]!, encoding: Encoding.XOR, data: new Uint8Array(0), order, samples: { t: shared.t, v: shared.v, from, to: from + len } });
    } else {
      // Full chunks as blocks and long segments hold, or chunks of 1-3 samples as uncompacted segments do.
      const per = rnd() < 0.25 ? 1 + Math.floor(rnd() * 3) : 120;
      for (let i = 0; i < len; i += per) {
        const c = new XORChunk();
        const app = c.appender();
        const end = Math.min(len, i + per);
        for (let k = i; k < end; k++) app.append(ts[k]!, vs[k]!);
        out.push({ minTime: ts[i]!, maxTime: ts[end - 1]!, encoding: Encoding.XOR, data: c.bytes().slice(), order });
      }
    }
  }
  return out;
}

/** Samples as "t:bits" strings, bit-exact. */
function fromIterator(it: SeriesIterator): string[] {
  const out: string[] = [];
  const f = new Float64Array(1);
  const b = new BigUint64Array(f.buffer);
  while (it.next()) {
    f[0] = it.atV();
    out.push(`${it.atT()}:${b[0]!.toString(16)}`);
  }
  assert.equal(it.err(), null);
  return out;
}

describe('seriesColumns and seriesChunks', () => {
  it('yield what SeriesIterator and mergedChunks yield (randomized)', () => {
    const rnd = prng(5);
    const enc = new XorColumnEncoder(32, 1);
    for (let round = 0; round < 400; round++) {
      // Prepare
      const chunks = sources(rnd);
      const mint = rnd() < 0.3 ? -Infinity : Math.floor(rnd() * 3000);
      const maxt = rnd() < 0.3 ? Infinity : mint + Math.floor(rnd() * 60000);
      const want = fromIterator(new SeriesIterator(chunks, mint, maxt));
      // Act
      const cols = seriesColumns(chunks, mint, maxt);
      const out = seriesChunks(chunks, mint, maxt, enc);
      // Assess: the same samples, bit for bit.
      const got: string[] = [];
      const b = new BigUint64Array(1);
      const f = new Float64Array(b.buffer);
      for (const c of cols) {
        for (let k = c.from; k < c.to; k++) {
          f[0] = c.v[k]!;
          got.push(`${c.t[k]}:${b[0]!.toString(16)}`);
        }
      }
      assert.deepEqual(got, want, `round ${round}: columns`);
      // ... and the same chunks, byte for byte.
      const ref = mergedChunks(chunks, mint, maxt);
      assert.equal(out.length, ref.length, `round ${round}: chunk count`);
      for (let k = 0; k < ref.length; k++) {
        assert.deepEqual(Buffer.from(out[k]!.data), Buffer.from(ref[k]!.data), `round ${round} chunk ${k}`);
        assert.deepEqual([out[k]!.minTime, out[k]!.maxTime, out[k]!.encoding], [ref[k]!.minTime, ref[k]!.maxTime, ref[k]!.encoding]);
        // Passed through where mergedChunks passes through.
        assert.equal(out[k]!.data === ref[k]!.data, chunks.some((c) => c.data === ref[k]!.data && c.data.length > 0), `round ${round} chunk ${k}: pass-through`);
      }
      if (rnd() < 0.2) enc.reset();
    }
  });

  it('hands out a lone decoded chunk as a view of its columns (no copy)', () => {
    // Prepare
    const t = Float64Array.from([10, 20, 30, 40]);
    const v = Float64Array.from([1, 2, 3, 4]);
    const c: SourceChunk = { minTime: 20, maxTime: 30, encoding: Encoding.XOR, data: new Uint8Array(0), order: 0, samples: { t, v, from: 1, to: 3 } };
    // Act
    const whole = seriesColumns([c], 0, 100);
    const cut = seriesColumns([c], 25, 100);
    // Assess
    assert.equal(whole[0], c.samples);
    assert.equal(cut[0]!.t, t);
    assert.deepEqual([cut[0]!.from, cut[0]!.to], [2, 3]);
  });

  it('passes stored full chunks through as mergedChunks does, in every shape near the fast path', () => {
    // Prepare: series made of stored chunks of 120 (or fewer) samples, one per step of 1000 ms.
    const chunkAt = (t0: number, n: number, order = 0): SourceChunk => {
      const c = new XORChunk();
      const app = c.appender();
      for (let k = 0; k < n; k++) app.append(t0 + k * 10, t0 + k);
      return { minTime: t0, maxTime: t0 + (n - 1) * 10, encoding: Encoding.XOR, data: c.bytes().slice(), order };
    };
    const full = [chunkAt(0, 120), chunkAt(2000, 120), chunkAt(4000, 120)];
    const cases: { name: string; chunks: SourceChunk[]; mint: number; maxt: number }[] = [
      { name: 'full chunks in range (fast path)', chunks: full, mint: 0, maxt: 10_000 },
      { name: 'no chunks', chunks: [], mint: 0, maxt: 10_000 },
      { name: 'out of order in the array', chunks: [full[2]!, full[0]!, full[1]!], mint: 0, maxt: 10_000 },
      { name: 'touching: next starts where one ends', chunks: [chunkAt(0, 120), chunkAt(1190, 120, 1)], mint: 0, maxt: 10_000 },
      { name: 'overlapping, later order wins', chunks: [chunkAt(0, 120), chunkAt(500, 120, 1)], mint: 0, maxt: 10_000 },
      { name: 'range cuts the first', chunks: full, mint: 5, maxt: 10_000 },
      { name: 'range cuts the last', chunks: full, mint: 0, maxt: 5000 },
      { name: 'range leaves one out', chunks: full, mint: 1500, maxt: 10_000 },
      { name: 'a lone small chunk last', chunks: [...full, chunkAt(6000, 3)], mint: 0, maxt: 10_000 },
      { name: 'two small chunks in a row', chunks: [...full, chunkAt(6000, 3), chunkAt(7000, 2)], mint: 0, maxt: 10_000 },
      { name: 'exactly SmallChunkSamples', chunks: [chunkAt(0, 30), chunkAt(1000, 30)], mint: 0, maxt: 10_000 },
      { name: 'one fewer than SmallChunkSamples', chunks: [chunkAt(0, 29), chunkAt(1000, 29)], mint: 0, maxt: 10_000 },
    ];
    for (const c of cases) {
      // Act
      const out = seriesChunks(c.chunks, c.mint, c.maxt, new XorColumnEncoder());
      // Assess: what mergedChunks gives, byte for byte, and the stored bytes themselves where it passes them.
      const ref = mergedChunks(c.chunks, c.mint, c.maxt);
      assert.equal(out.length, ref.length, `${c.name}: chunk count`);
      for (let k = 0; k < ref.length; k++) {
        assert.deepEqual([out[k]!.minTime, out[k]!.maxTime, out[k]!.encoding], [ref[k]!.minTime, ref[k]!.maxTime, ref[k]!.encoding], `${c.name} ${k}`);
        assert.deepEqual(Buffer.from(out[k]!.data), Buffer.from(ref[k]!.data), `${c.name} ${k}: bytes`);
        assert.equal(out[k]!.data === ref[k]!.data, c.chunks.some((s) => s.data === ref[k]!.data), `${c.name} ${k}: pass-through`);
      }
    }
  });
});
