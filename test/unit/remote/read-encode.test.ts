import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { encodeSamplesResponse, FrameWriter, labelFieldBytes, ScratchBuffer } from '../../../lib/remote/read-encode.ts';
import { seriesFrames } from '../../../lib/remote/chunked.ts';
import { encodeReadResponse } from '../../../lib/prompb/read.ts';
import type { Label, ReadSeries } from '../../../lib/prompb/types.ts';
import type { ColumnSlice } from '../../../lib/storage/merge.ts';
import type { ChunkMeta } from '../../../lib/storage/interface.ts';
import { BadInputError } from '../../../lib/util/errors.ts';
import { STALE } from '../../helpers/bits.ts';
import { prng } from '../../helpers/prng.ts';

const specials = [STALE, 0x8000_0000_0000_0000n, 0x7ff8_0000_dead_beefn, 0n, 0x7ff0_0000_0000_0000n];

function randomLabels(rnd: () => number): Label[] {
  const n = Math.floor(rnd() * 5);
  const out: Label[] = [];
  for (let i = 0; i < n; i++) {
    const long = rnd() < 0.1 ? 'x'.repeat(200) : '';
    out.push({ name: `l${i}${long}`, value: rnd() < 0.1 ? 'héllo wörld ✓' : rnd() < 0.1 ? '' : `v${Math.floor(rnd() * 1000)}` });
  }
  return out;
}

/** Sorted timestamps of every size class (0, negative, 1..8 varint bytes) and values with special bits. */
function randomColumns(rnd: () => number, n: number): { t: Float64Array; v: Float64Array } {
  const t = new Float64Array(n);
  const v = new Float64Array(n);
  const vb = new BigUint64Array(v.buffer);
  const starts = [-(2 ** 40), -5, 0, 1, 100, 20_000, 2 ** 28 - 3, 2 ** 29, 1_704_067_200_000, 2 ** 45, 2 ** 50];
  let x = starts[Math.floor(rnd() * starts.length)]!;
  for (let i = 0; i < n; i++) {
    t[i] = x;
    x += 1 + Math.floor(rnd() * (rnd() < 0.1 ? 2 ** 30 : 30_000));
    v[i] = rnd() < 0.5 ? Math.round(rnd() * 1e6) / 100 : rnd() * 1e300;
    if (rnd() < 0.2) vb[i] = specials[Math.floor(rnd() * specials.length)]!;
  }
  return { t, v };
}

/** Splits [0, n) into 1..3 slices at random points, some with an offset into a larger array. */
function slicesOf(rnd: () => number, t: Float64Array, v: Float64Array): ColumnSlice[] {
  const n = t.length;
  const cuts = [0, ...[Math.floor(rnd() * n), Math.floor(rnd() * n)].sort((a, b) => a - b), n];
  const out: ColumnSlice[] = [];
  for (let k = 0; k + 1 < cuts.length; k++) if (cuts[k + 1]! > cuts[k]!) out.push({ t, v, from: cuts[k]!, to: cuts[k + 1]! });
  return out;
}

describe('encodeSamplesResponse', () => {
  it('writes the bytes encodeReadResponse writes (randomized), into a fresh array or a reused scratch', () => {
    const rnd = prng(11);
    const scratch = new ScratchBuffer(64 * 1024);
    for (let round = 0; round < 100; round++) {
      // Prepare
      const nResults = Math.floor(rnd() * 3) + (round === 0 ? 0 : 1);
      const ref: { timeseries: ReadSeries[] }[] = [];
      const fast: { labels: Uint8Array; cols: ColumnSlice[] }[][] = [];
      for (let r = 0; r < nResults; r++) {
        const series: ReadSeries[] = [];
        const mine: { labels: Uint8Array; cols: ColumnSlice[] }[] = [];
        const nSeries = Math.floor(rnd() * 6);
        for (let s = 0; s < nSeries; s++) {
          const labels = randomLabels(rnd);
          const n = 1 + Math.floor(rnd() * (rnd() < 0.2 ? 3000 : 30));
          const { t, v } = randomColumns(rnd, n);
          series.push({ labels, timestamps: t, values: v });
          mine.push({ labels: labelFieldBytes(labels), cols: slicesOf(rnd, t, v) });
        }
        ref.push({ timeseries: series });
        fast.push(mine);
      }
      // Act
      const got = encodeSamplesResponse(fast);
      const viaScratch = Buffer.from(encodeSamplesResponse(fast, scratch));
      // Assess
      const want = Buffer.from(encodeReadResponse({ results: ref }));
      assert.deepEqual(Buffer.from(got), want, `round ${round}`);
      assert.deepEqual(viaScratch, want, `round ${round}: through the scratch buffer`);
    }
  });

  const badTimes: { name: string; t: number }[] = [
    { name: 'fractional', t: 1.5 },
    { name: 'beyond 2^53', t: 2 ** 54 },
    { name: 'NaN', t: NaN },
  ];
  for (const b of badTimes) {
    it(`rejects a ${b.name} timestamp as the reference encoder does`, () => {
      // Prepare
      const t = Float64Array.from([1, b.t]);
      const v = new Float64Array(2);
      // Act + Assess
      assert.throws(() => encodeSamplesResponse([[{ labels: new Uint8Array(0), cols: [{ t, v, from: 0, to: 2 }] }]]), BadInputError);
      assert.throws(() => encodeReadResponse({ results: [{ timeseries: [{ labels: [], timestamps: t, values: v }] }] }), BadInputError);
    });
  }
});

describe('FrameWriter', () => {
  const limits = [1024 * 1024, 4096, 300, 1];
  for (const max of limits) {
    it(`writes seriesFrames' frames byte for byte (limit ${max}, randomized)`, () => {
      const rnd = prng(max);
      for (let round = 0; round < 30; round++) {
        // Prepare
        const w = new FrameWriter(max, 64);
        const want: Buffer[] = [];
        const got: Buffer[] = [];
        const nSeries = Math.floor(rnd() * 20);
        for (let s = 0; s < nSeries; s++) {
          const labels = randomLabels(rnd);
          const qi = rnd() < 0.5 ? 0 : Math.floor(rnd() * 300);
          const chunks: ChunkMeta[] = [];
          const nChunks = Math.floor(rnd() * (rnd() < 0.2 ? 200 : 5));
          let t = rnd() < 0.2 ? -1_000_000 : rnd() < 0.1 ? 0 : 1_704_067_200_000;
          for (let c = 0; c < nChunks; c++) {
            const data = new Uint8Array(rnd() < 0.05 ? 0 : Math.floor(rnd() * 400)).map(() => Math.floor(rnd() * 256));
            const span = Math.floor(rnd() * 100_000);
            chunks.push({ minTime: t, maxTime: t + span, encoding: rnd() < 0.9 ? 1 : 0, data });
            t += span + 1;
          }
          // Act
          w.addSeries(labelFieldBytes(labels), chunks, qi);
          if (rnd() < 0.3) got.push(Buffer.from(w.take()));
          const ref = chunks.map((c) => ({ minTimeMs: c.minTime, maxTimeMs: c.maxTime, type: c.encoding, data: c.data }));
          for (const f of seriesFrames(labels, ref, qi, max)) want.push(Buffer.from(f));
        }
        got.push(Buffer.from(w.take()));
        // Assess
        assert.deepEqual(Buffer.concat(got), Buffer.concat(want), `round ${round}`);
      }
    });
  }
});
