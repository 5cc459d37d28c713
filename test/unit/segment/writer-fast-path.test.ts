/**
 * The segment writer's inline encoders (single-sample chunks, varints from
 * 32-bit halves, ids from words, scratch buffers shared between builders)
 * must lay out exactly the bytes the format defines. The reference here is
 * the straightforward writer the format was first written with: ByteWriter
 * calls and the XOR appender for every chunk.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SegmentBuilder } from '../../../lib/segment/writer.ts';
import { FooterSize, HeaderSize, MaxChunkSpanMs, SamplesPerChunk, SegmentMagic, SegmentVersion } from '../../../lib/segment/format.ts';
import { SegmentTable } from '../../../lib/segment/reader.ts';
import { XORChunk } from '../../../lib/chunkenc/xor.ts';
import { Encoding } from '../../../lib/chunkenc/chunk.ts';
import { ByteWriter } from '../../../lib/util/bytes.ts';
import { crc32c, crc32cRange } from '../../../lib/util/crc32c.ts';

interface Series {
  id: Uint8Array;
  labels: Uint8Array;
  t: Float64Array;
  v: Float64Array;
}

/** The segment of `series` (ids ascending) as the format describes it, written the plain way. */
function referenceSegment(series: Series[]): Uint8Array {
  const data = new ByteWriter();
  data.u32(SegmentMagic);
  data.u8(SegmentVersion);
  data.u8(0);
  data.u8(0);
  data.u8(0);
  const table = new ByteWriter();
  let samples = 0;
  let minT = Infinity;
  let maxT = -Infinity;
  for (const s of series) {
    const dataOffset = data.len;
    const chunks: { min: number; max: number; len: number }[] = [];
    let i = 0;
    while (i < s.t.length) {
      const c = new XORChunk();
      const app = c.appender();
      const first = s.t[i]!;
      let last = first;
      let n = 0;
      while (i < s.t.length && n < SamplesPerChunk && s.t[i]! - first <= MaxChunkSpanMs) {
        last = s.t[i]!;
        app.append(last, s.v[i]!);
        i++;
        n++;
      }
      data.bytes(c.bytes());
      chunks.push({ min: first, max: last, len: c.bytes().length });
    }
    table.bytes(s.id);
    table.uvarint(s.labels.length);
    table.bytes(s.labels);
    table.uvarint(dataOffset);
    table.uvarint(chunks.length);
    for (const c of chunks) {
      table.f64(c.min);
      table.uvarint(c.max - c.min);
      table.uvarint(c.len);
      table.u8(Encoding.XOR);
    }
    table.u32(crc32cRange(data.raw(), dataOffset, data.len));
    samples += s.t.length;
    minT = Math.min(minT, s.t[0]!);
    maxT = Math.max(maxT, s.t[s.t.length - 1]!);
  }
  const head = new ByteWriter();
  head.uvarint(series.length);
  const tableBytes = new Uint8Array([...head.finish(), ...table.finish()]);
  const footer = new ByteWriter();
  footer.f64(data.len);
  footer.u32(tableBytes.length);
  footer.u32(crc32c(tableBytes));
  footer.f64(minT);
  footer.f64(maxT);
  footer.u32(series.length);
  footer.u32(samples);
  footer.u32(SegmentMagic);
  return new Uint8Array([...data.finish(), ...tableBytes, ...footer.finish()]);
}

/** A seeded generator (xorshift32). */
function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

const bits = new DataView(new ArrayBuffer(8));
const fromBits = (hi: number, lo: number) => (bits.setUint32(0, hi), bits.setUint32(4, lo), bits.getFloat64(0));

/** Timestamps around every varint length boundary, both signs, up to the safe-integer limit. */
const edgeTimes = [0, 1, 63, 64, 127, 128, 8191, 8192, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 35, 1_704_067_200_000, 2 ** 45 + 3, 2 ** 49, 2 ** 52 - 1, 2 ** 52, 2 ** 53 - 1].flatMap((t) => [t, -t]);
const edgeValues = [0, -0, 1.5, -2.25, NaN, fromBits(0x7ff00000, 2), fromBits(0xfff80000, 0xbeef), Infinity, -Infinity, 5e-324, Number.MAX_VALUE];

function randomSeries(r: () => number, count: number): Series[] {
  const out: Series[] = [];
  for (let k = 0; k < count; k++) {
    const id = new Uint8Array(16);
    for (let i = 0; i < 16; i++) id[i] = Math.floor(r() * 256);
    const kind = r();
    // Mostly single samples (the hot path), some multi-sample series, some
    // long enough to need several chunks, some with labels.
    const n = kind < 0.7 ? 1 : kind < 0.95 ? 2 + Math.floor(r() * 30) : 121 + Math.floor(r() * 200);
    const t = new Float64Array(n);
    const v = new Float64Array(n);
    let ts = r() < 0.5 ? edgeTimes[Math.floor(r() * edgeTimes.length)]! : Math.floor((r() - 0.5) * 2 ** 50);
    for (let i = 0; i < n; i++) {
      t[i] = ts;
      v[i] = r() < 0.3 ? edgeValues[Math.floor(r() * edgeValues.length)]! : (r() - 0.5) * 1e6;
      ts += 1 + Math.floor(r() * 30_000);
      if (ts > Number.MAX_SAFE_INTEGER) break;
    }
    const labels = r() < 0.2 ? Uint8Array.from({ length: Math.floor(r() * 300) }, () => Math.floor(r() * 256)) : new Uint8Array(0);
    out.push({ id, labels, t, v });
  }
  // Drop series whose samples were cut short by the safe-integer limit, sort by id.
  return out
    .filter((s) => s.t.every((x, i) => i === 0 || x > s.t[i - 1]!))
    .sort((a, b) => Buffer.compare(Buffer.from(a.id), Buffer.from(b.id)));
}

describe('segment writer fast paths', () => {
  it('write the same bytes as the reference writer (random and edge-case series)', () => {
    for (let seed = 1; seed <= 40; seed++) {
      // Prepare
      const series = randomSeries(rng(seed * 7919), 1 + (seed % 5) * 300);
      const want = referenceSegment(series);
      // Act: half through addSeries, half through addSeriesWords.
      const b = new SegmentBuilder();
      for (const s of series) {
        if (seed % 2 === 0) {
          b.addSeries(s.id, s.labels, s.t, s.v, 0, s.t.length);
        } else {
          const dv = new DataView(s.id.buffer);
          b.addSeriesWords(dv.getInt32(0), dv.getInt32(4), dv.getUint32(8), dv.getInt32(12), s.labels, s.t, s.v, 0, s.t.length);
        }
      }
      const { bytes, meta } = b.finish();
      // Assess
      assert.equal(bytes.length, want.length, `seed ${seed}: size`);
      assert.ok(Buffer.from(bytes).equals(Buffer.from(want)), `seed ${seed}: bytes differ`);
      assert.equal(meta.size, want.length);
      assert.equal(meta.numSeries, series.length);
      SegmentTable.parse(bytes.subarray(meta.tableOffset, meta.tableOffset + meta.tableLength));
    }
  });

  it('every edge timestamp and value of a one-sample series encodes as the reference does', () => {
    for (const t of edgeTimes) {
      for (const v of edgeValues) {
        const s: Series = { id: new Uint8Array(16).fill(0xab), labels: new Uint8Array(0), t: Float64Array.of(t), v: Float64Array.of(v) };
        const b = new SegmentBuilder();
        b.addSeries(s.id, s.labels, s.t, s.v, 0, 1);
        assert.ok(Buffer.from(b.finish().bytes).equals(Buffer.from(referenceSegment([s]))), `t=${t} v=${v}`);
      }
    }
  });

  it('builders that overlap (one not finished) do not share buffers; a finished one cannot be reused', () => {
    // Prepare: builder a takes the shared scratch, b must get its own.
    const mk = (n: number): Series => ({ id: new Uint8Array(16).fill(n), labels: new Uint8Array([n]), t: Float64Array.of(n * 1000), v: Float64Array.of(n) });
    const a = new SegmentBuilder();
    const b = new SegmentBuilder();
    // Act: interleave.
    a.addSeries(mk(1).id, mk(1).labels, mk(1).t, mk(1).v, 0, 1);
    b.addSeries(mk(2).id, mk(2).labels, mk(2).t, mk(2).v, 0, 1);
    a.addSeries(mk(3).id, mk(3).labels, mk(3).t, mk(3).v, 0, 1);
    const ra = a.finish().bytes;
    // A third builder reuses a's scratch while b is still open.
    const c = new SegmentBuilder();
    c.addSeries(mk(9).id, mk(9).labels, mk(9).t, mk(9).v, 0, 1);
    const rc = c.finish().bytes;
    b.addSeries(mk(4).id, mk(4).labels, mk(4).t, mk(4).v, 0, 1);
    const rb = b.finish().bytes;
    // Assess
    assert.ok(Buffer.from(ra).equals(Buffer.from(referenceSegment([mk(1), mk(3)]))));
    assert.ok(Buffer.from(rb).equals(Buffer.from(referenceSegment([mk(2), mk(4)]))));
    assert.ok(Buffer.from(rc).equals(Buffer.from(referenceSegment([mk(9)]))));
    assert.throws(() => a.addSeries(mk(5).id, mk(5).labels, mk(5).t, mk(5).v, 0, 1), /finished/);
    assert.throws(() => a.finish(), /finished/);
    assert.equal(HeaderSize + FooterSize, 52);
  });
});
