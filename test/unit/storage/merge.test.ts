import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { XORChunk } from '../../../lib/chunkenc/xor.ts';
import { Encoding } from '../../../lib/chunkenc/chunk.ts';
import { clusters, mergedChunks, SeriesIterator, SmallChunkSamples, type SourceChunk } from '../../../lib/storage/merge.ts';

function chunk(order: number, samples: [number, number][]): SourceChunk {
  const c = new XORChunk();
  const app = c.appender();
  for (const [t, v] of samples) app.append(t, v);
  return { minTime: samples[0]![0], maxTime: samples[samples.length - 1]![0], encoding: Encoding.XOR, data: c.bytes().slice(), order };
}

/** `n` samples at t = from, from + 1, ... with values t / 2. */
function samplesFrom(from: number, n: number): [number, number][] {
  return Array.from({ length: n }, (_, i) => [from + i, (from + i) / 2] as [number, number]);
}

function drain(it: SeriesIterator): [number, number][] {
  const out: [number, number][] = [];
  while (it.next()) out.push([it.atT(), it.atV()]);
  assert.equal(it.err(), null);
  return out;
}

describe('merge', () => {
  const cases: { name: string; chunks: SourceChunk[]; mint?: number; maxt?: number; want: [number, number][] }[] = [
    { name: 'disjoint chunks chain in time order', chunks: [chunk(1, [[10, 1], [20, 2]]), chunk(0, [[1, 0], [5, 0.5]])], want: [[1, 0], [5, 0.5], [10, 1], [20, 2]] },
    { name: 'interleaved chunks merge', chunks: [chunk(0, [[1, 1], [3, 3]]), chunk(1, [[2, 2], [4, 4]])], want: [[1, 1], [2, 2], [3, 3], [4, 4]] },
    { name: 'equal timestamps: the later write wins', chunks: [chunk(1, [[1, 10], [2, 20]]), chunk(0, [[1, 1], [2, 2], [3, 3]])], want: [[1, 10], [2, 20], [3, 3]] },
    { name: 'three-way duplicate', chunks: [chunk(0, [[5, 0]]), chunk(2, [[5, 2]]), chunk(1, [[5, 1]])], want: [[5, 2]] },
    { name: 'range cut', chunks: [chunk(0, [[1, 1], [2, 2], [3, 3], [4, 4]])], mint: 2, maxt: 3, want: [[2, 2], [3, 3]] },
    { name: 'range cut across merged', chunks: [chunk(0, [[1, 1], [4, 4]]), chunk(1, [[2, 2], [3, 3]])], mint: 3, maxt: 10, want: [[3, 3], [4, 4]] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(drain(new SeriesIterator(c.chunks, c.mint, c.maxt)), c.want);
      // The chunk view yields the same samples.
      const out = mergedChunks(c.chunks, c.mint ?? -Infinity, c.maxt ?? Infinity);
      const again = drain(new SeriesIterator(out.map((m, i) => ({ ...m, order: i }))));
      assert.deepEqual(again, c.want);
    });
  }

  it('passes a lone chunk inside the range through byte for byte', () => {
    const a = chunk(0, samplesFrom(1, SmallChunkSamples));
    const b = chunk(1, samplesFrom(1000, SmallChunkSamples));
    const out = mergedChunks([a, b], 0, 10_000);
    assert.equal(out.length, 2);
    assert.equal(out[0]!.data, a.data, 'same bytes object: passed through');
    assert.equal(out[1]!.data, b.data);
    const cut = mergedChunks([a, b], 2, 10_000);
    assert.notEqual(cut[0]!.data, a.data, 'a chunk sticking out of the range is re-encoded');
  });

  it('re-encodes runs of small chunks (uncompacted data) into full chunks, same samples', () => {
    // Prepare: 300 one-sample chunks from as many segments, in shuffled write order.
    const singles = samplesFrom(0, 300).map(([t, v], i) => chunk((i * 7919) % 300, [[t, v]]));
    // Act
    const out = mergedChunks(singles, -Infinity, Infinity);
    // Assess
    assert.deepEqual(out.map((c) => XORChunk.fromBytes(c.data).numSamples()), [120, 120, 60]);
    assert.deepEqual(drain(new SeriesIterator(out.map((m, i) => ({ ...m, order: i })))), samplesFrom(0, 300));
    const bytes = (cs: readonly { data: Uint8Array }[]) => cs.reduce((n, c) => n + c.data.length, 0);
    assert.ok(bytes(out) * 5 < bytes(singles), `${bytes(out)} bytes out for ${bytes(singles)} stored`);
  });

  it('joins only runs of two or more small chunks; a full chunk between them passes through', () => {
    // Prepare: small, small | full | small | full
    const s1 = chunk(0, [[1, 1]]);
    const s2 = chunk(1, [[2, 2], [3, 3]]);
    const full = chunk(2, samplesFrom(10, SmallChunkSamples));
    const s3 = chunk(3, [[500, 5]]);
    const full2 = chunk(4, samplesFrom(1000, 40));
    // Act
    const out = mergedChunks([full2, s3, full, s2, s1], -Infinity, Infinity);
    // Assess
    assert.equal(out.length, 4);
    assert.deepEqual([out[0]!.minTime, out[0]!.maxTime, XORChunk.fromBytes(out[0]!.data).numSamples()], [1, 3, 3], 'the first two joined');
    assert.equal(out[1]!.data, full.data, 'a full chunk passes through');
    assert.equal(out[2]!.data, s3.data, 'a small chunk alone passes through');
    assert.equal(out[3]!.data, full2.data);
  });

  it('clusters group overlapping ranges transitively', () => {
    const g = clusters([chunk(0, [[1, 0], [10, 0]]), chunk(1, [[5, 0], [20, 0]]), chunk(2, [[15, 0]]), chunk(3, [[21, 0]])]);
    assert.deepEqual(g.map((x) => x.length), [3, 1]);
  });

  it('re-encodes long merges into chunks of at most 120 samples', () => {
    const a: [number, number][] = [];
    const b: [number, number][] = [];
    for (let i = 0; i < 300; i++) (i % 2 ? a : b).push([i, i]);
    const out = mergedChunks([chunk(0, a), chunk(1, b)], -Infinity, Infinity);
    assert.deepEqual(out.map((c) => XORChunk.fromBytes(c.data).numSamples()), [120, 120, 60]);
  });
});

describe('SeriesIterator.seek', () => {
  it('seeks forward, stays put, and is false once exhausted', () => {
    const it = new SeriesIterator([chunk(0, [[1, 1], [5, 5]]), chunk(1, [[3, 3], [9, 9]])]);
    assert.equal(it.seek(4), true);
    assert.equal(it.atT(), 5);
    assert.equal(it.seek(2), true, 'seeking backwards stays put');
    assert.equal(it.atT(), 5);
    assert.equal(it.seek(9), true);
    assert.equal(it.atT(), 9);
    assert.equal(it.next(), false);
    assert.equal(it.seek(0), false, 'an exhausted iterator stays exhausted');
  });
});
