import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { seriesFrames } from '../../../lib/remote/chunked.ts';
import { FrameReader } from '../../../lib/prompb/frames.ts';
import { decodeChunkedReadResponse } from '../../../lib/prompb/read.ts';
import type { ReadChunk } from '../../../lib/prompb/types.ts';

function chunks(n: number, size: (i: number) => number): ReadChunk[] {
  return Array.from({ length: n }, (_, i) => ({ minTimeMs: i * 1000, maxTimeMs: i * 1000 + 999, type: 1, data: new Uint8Array(size(i)).fill(i & 0xff) }));
}

describe('seriesFrames', () => {
  const labels = [{ name: '__name__', value: 'x'.repeat(300) }, { name: 'job', value: 'node' }];
  const cases: { name: string; chunks: ReadChunk[]; max: number; minFrames: number }[] = [
    { name: 'many tiny chunks (per-chunk overhead counts)', chunks: chunks(100_000, () => 14), max: 1024 * 1024, minFrames: 3 },
    { name: 'mixed sizes at a small limit', chunks: chunks(500, (i) => 50 + ((i * 37) % 400)), max: 4096, minFrames: 30 },
    { name: 'one frame when it fits', chunks: chunks(10, () => 100), max: 1024 * 1024, minFrames: 1 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const frames = [...seriesFrames(labels, c.chunks, 3, c.max)];
      assert.ok(frames.length >= c.minFrames, `${frames.length} frames`);
      const r = new FrameReader();
      const back: ReadChunk[] = [];
      for (const f of frames) {
        assert.ok(f.length <= c.max, `frame of ${f.length} bytes exceeds ${c.max}`);
        r.push(f);
        const msg = r.next()!;
        const cr = decodeChunkedReadResponse(msg);
        assert.equal(cr.queryIndex, 3);
        assert.equal(cr.chunkedSeries.length, 1);
        assert.deepEqual(cr.chunkedSeries[0]!.labels, labels);
        back.push(...cr.chunkedSeries[0]!.chunks);
      }
      assert.equal(back.length, c.chunks.length);
      for (let i = 0; i < back.length; i++) {
        assert.equal(back[i]!.minTimeMs, c.chunks[i]!.minTimeMs);
        assert.deepEqual(back[i]!.data, c.chunks[i]!.data);
      }
    });
  }
});
