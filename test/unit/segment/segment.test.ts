import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SegmentBuilder } from '../../../lib/segment/writer.ts';
import { parseFooter, readSegmentTable, SegmentTable, verifySeriesData, checkHeader } from '../../../lib/segment/reader.ts';
import { FooterSize } from '../../../lib/segment/format.ts';
import { MemBucket } from '../../../lib/objstore/mem.ts';
import { XORChunk } from '../../../lib/chunkenc/xor.ts';
import { CorruptionError } from '../../../lib/util/errors.ts';

function id(n: number): Uint8Array {
  const b = new Uint8Array(16);
  b[15] = n;
  b[0] = n >> 4;
  return b;
}

function samples(n: number, t0: number): { t: Float64Array; v: Float64Array } {
  const t = new Float64Array(n);
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    t[i] = t0 + i * 15_000;
    v[i] = i * 1.5;
  }
  return { t, v };
}

describe('segment', () => {
  it('round-trips series, chunks and metadata through a bucket', async () => {
    // Prepare: three series, one long enough to need three chunks.
    const b = new SegmentBuilder();
    const s1 = samples(3, 1000);
    const s2 = samples(250, -5_000_000);
    const s3 = samples(1, 2 ** 52);
    b.addSeries(id(1), new Uint8Array([1, 2, 3]), s1.t, s1.v, 0, 3);
    b.addSeries(id(2), new Uint8Array([4]), s2.t, s2.v, 0, 250);
    b.addSeries(id(3), new Uint8Array([]), s3.t, s3.v, 0, 1);
    const { bytes, meta } = b.finish();
    const bkt = new MemBucket();
    await bkt.put('seg', bytes);

    // Act
    const viaFooter = await readSegmentTable(bkt, 'seg');
    const viaMeta = await readSegmentTable(bkt, 'seg', meta);

    // Assess
    checkHeader(bytes);
    assert.deepEqual(viaFooter.meta, meta);
    assert.equal(meta.numSeries, 3);
    assert.equal(meta.numSamples, 254);
    assert.equal(meta.minTime, -5_000_000);
    assert.equal(meta.maxTime, 2 ** 52);
    const t = viaMeta.table;
    assert.equal(t.find(id(2)), 1);
    assert.equal(t.find(id(9)), -1);
    assert.deepEqual([...t.labelsAt(0)], [1, 2, 3]);
    assert.equal(t.chunkStart[2]! - t.chunkStart[1]!, 3, '250 samples make chunks of 120+120+10');
    // Every sample comes back from the chunks.
    const i = t.find(id(2));
    const data = bytes.subarray(t.dataOffset[i]!, t.dataOffset[i]! + t.dataLength[i]!);
    verifySeriesData(t, i, data, 'seg');
    let pos = 0;
    let k = 0;
    for (let c = t.chunkStart[i]!; c < t.chunkStart[i + 1]!; c++) {
      const it = XORChunk.fromBytes(data.subarray(pos, pos + t.chunkLen[c]!)).iterator();
      while (it.next()) {
        assert.equal(it.atT(), s2.t[k]);
        assert.equal(it.atV(), s2.v[k]);
        k++;
      }
      pos += t.chunkLen[c]!;
    }
    assert.equal(k, 250);
  });

  it('a table with series out of id order does not parse', () => {
    const b = new SegmentBuilder();
    const s = samples(1, 0);
    b.addSeries(id(2), new Uint8Array(), s.t, s.v, 0, 1);
    b.addSeries(id(1), new Uint8Array(), s.t, s.v, 0, 1);
    const { bytes, meta } = b.finish();
    assert.throws(() => SegmentTable.parse(bytes.subarray(meta.tableOffset, meta.tableOffset + meta.tableLength)), /out of order/);
  });

  it('writes single-sample chunks exactly as the XOR appender does', () => {
    const bits = new DataView(new ArrayBuffer(8));
    const fromBits = (hi: number, lo: number) => (bits.setUint32(0, hi), bits.setUint32(4, lo), bits.getFloat64(0));
    const times = [0, 1, -1, 63, 64, -64, -65, 1_700_000_000_123, -1_700_000_000_123, 2 ** 52 - 1, -(2 ** 52 - 1), 2 ** 52, -(2 ** 52), 2 ** 53 - 1, -(2 ** 53 - 1)];
    const values = [0, -0, 1.5, NaN, fromBits(0x7ff00000, 2), fromBits(0x7ff80000, 0xbeef), Infinity, -Infinity, 5e-324, -Number.MAX_VALUE];
    for (const t of times) {
      for (const v of values) {
        const b = new SegmentBuilder();
        b.addSeries(id(1), new Uint8Array(), Float64Array.of(t), Float64Array.of(v), 0, 1);
        const { bytes, meta } = b.finish();
        const table = SegmentTable.parse(bytes.subarray(meta.tableOffset, meta.tableOffset + meta.tableLength));
        const got = bytes.subarray(table.dataOffset[0]!, table.dataOffset[0]! + table.dataLength[0]!);
        const want = new XORChunk();
        want.appender().append(t, v);
        assert.deepEqual([...got], [...want.bytes()], `t=${t} v=${v}`);
        assert.equal(table.chunkMinT[0], t);
        assert.equal(table.chunkMaxT[0], t);
      }
    }
  });

  it('detects corruption of the table, the chunks and the footer', async () => {
    const b = new SegmentBuilder();
    const s = samples(10, 0);
    b.addSeries(id(1), new Uint8Array([7]), s.t, s.v, 0, 10);
    const { bytes, meta } = b.finish();

    const badTable = bytes.slice();
    badTable[meta.tableOffset + 3]! ^= 0xff;
    const bkt = new MemBucket();
    await bkt.put('t', badTable);
    await assert.rejects(readSegmentTable(bkt, 't', meta), CorruptionError);

    const table = SegmentTable.parse(bytes.subarray(meta.tableOffset, meta.tableOffset + meta.tableLength));
    const chunk = bytes.slice(table.dataOffset[0]!, table.dataOffset[0]! + table.dataLength[0]!);
    chunk[4]! ^= 1;
    assert.throws(() => verifySeriesData(table, 0, chunk, 'x'), /CRC/);

    const footer = bytes.slice(bytes.length - FooterSize);
    footer[FooterSize - 1]! ^= 1;
    assert.throws(() => parseFooter(footer, bytes.length), /magic/);
    assert.throws(() => parseFooter(bytes.slice(bytes.length - FooterSize), bytes.length + 1), /does not fit/);
  });
});
