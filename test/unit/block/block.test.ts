/**
 * Block objects end to end: BlockWriter -> bytes in a bucket ->
 * readBlockIndex / readPages -> decodeColumns, and the integrity checks
 * (page and index CRCs, footer against the catalog entry).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BlockWriter } from '../../../lib/block/writer.ts';
import { readBlockIndex, readPages, type BlockLocation } from '../../../lib/block/reader.ts';
import { ColumnBuffer, decodeColumns } from '../../../lib/block/columns.ts';
import { BlockFooterSize, BlockHeaderSize, blockKey } from '../../../lib/block/format.ts';
import { MemBucket } from '../../../lib/objstore/mem.ts';
import { compareLabels, decodeLabels, encodeLabels, labelsFromPairs, labelsToString, seriesIdBytes, type Labels } from '../../../lib/labels/labels.ts';
import { CorruptionError } from '../../../lib/util/errors.ts';
import { STALE, fromBits } from '../../helpers/bits.ts';

interface TestSeries {
  labels: Labels;
  canonical: Uint8Array;
  id: Uint8Array;
  t: Float64Array;
  v: Float64Array;
}

function makeSeries(count: number, samples: (i: number) => number): TestSeries[] {
  const out: TestSeries[] = [];
  for (let i = 0; i < count; i++) {
    const labels = labelsFromPairs({ __name__: 'm', instance: `host-${String(i).padStart(4, '0')}`, job: i % 2 === 0 ? 'even' : 'odd' });
    const canonical = encodeLabels(labels);
    const n = samples(i);
    const t = Float64Array.from({ length: n }, (_, k) => -3_600_000 + i * 7 + k * 15_000);
    const v = Float64Array.from({ length: n }, (_, k) => (k % 17 === 0 ? fromBits(STALE) : k % 5 === 0 ? -0 : (i * 1000 + k) / 100));
    if (n > 3) new DataView(v.buffer).setBigUint64(8 * 3, STALE, true); // keep the signalling NaN intact
    out.push({ labels, canonical, id: seriesIdBytes(canonical), t, v });
  }
  return out.sort((a, b) => compareLabels(a.labels, b.labels));
}

const meta = { id: '01JD3Q5Z8W0000000000000000', windowStart: -7_200_000, windowEnd: 0, level: 1, resolution: 0, orderKey: '01JD3Q5Z8W0000000000000001', numSources: 2 };

async function writeBlock(series: readonly TestSeries[], pageBytes?: number): Promise<{ bucket: MemBucket; key: string; loc: BlockLocation; bytes: Uint8Array }> {
  const w = new BlockWriter({ pageBytes, quality: 5 });
  for (const s of series) w.add(s.id, s.canonical, s.t, [s.v], s.t.length);
  const { bytes, indexOffset, indexLength } = w.finish(meta, ['a', 'b']);
  const bucket = new MemBucket();
  const key = blockKey(meta.id);
  await bucket.put(key, bytes);
  return { bucket, key, loc: { size: bytes.length, indexOffset, indexLength }, bytes };
}

function bytesOf(a: Float64Array, n: number): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, n * 8);
}

/** Reads every series back through the index and pages; asserts equality with `series`. */
async function assertReadsBack(bucket: MemBucket, key: string, loc: BlockLocation, series: readonly TestSeries[]): Promise<number> {
  const ix = await readBlockIndex(bucket, key, loc);
  assert.equal(ix.numSeries, series.length);
  const pages = await readPages(bucket, key, ix, Array.from({ length: ix.pageOff.length }, (_, p) => p));
  const buf = new ColumnBuffer(1, 8);
  for (let k = 0; k < series.length; k++) {
    const s = series[k]!;
    const i = ix.find(s.id);
    assert.equal(i, k, `${labelsToString(s.labels)} is at its label position`);
    assert.deepEqual(new Uint8Array(ix.idAt(i)), s.id);
    assert.equal(labelsToString(decodeLabels(ix.labelsAt(i), 0, ix.labelsAt(i).length)), labelsToString(s.labels));
    assert.equal(ix.minT[i], s.t[0]);
    assert.equal(ix.maxT[i], s.t[s.t.length - 1]);
    buf.n = 0;
    decodeColumns(pages.get(ix.seriesPage[i]!)!, ix.seriesOff[i]!, ix.seriesOff[i]! + ix.seriesLen[i]!, buf, 'x');
    assert.deepEqual(bytesOf(buf.t, buf.n), bytesOf(s.t, s.t.length));
    assert.deepEqual(bytesOf(buf.v, buf.n), bytesOf(s.v, s.v.length));
  }
  return ix.pageOff.length;
}

describe('block writer and reader', () => {
  const cases = [
    { name: 'one series, one sample', count: 1, samples: () => 1, pageBytes: undefined, minPages: 1, maxPages: 1 },
    { name: '50 series in one page', count: 50, samples: (i: number) => 1 + ((i * 37) % 300), pageBytes: undefined, minPages: 1, maxPages: 1 },
    { name: '50 series over many small pages', count: 50, samples: (i: number) => 1 + ((i * 37) % 300), pageBytes: 512, minPages: 10, maxPages: 50 },
    { name: 'one page per series', count: 20, samples: () => 130, pageBytes: 1, minPages: 20, maxPages: 20 },
  ];
  for (const c of cases) {
    it(`reads back exactly: ${c.name}`, async () => {
      // Prepare
      const series = makeSeries(c.count, c.samples);
      // Act
      const { bucket, key, loc } = await writeBlock(series, c.pageBytes);
      const pages = await assertReadsBack(bucket, key, loc, series);
      // Assess
      assert.ok(pages >= c.minPages && pages <= c.maxPages, `${pages} pages`);
      const ix = await readBlockIndex(bucket, key, loc);
      assert.equal(ix.meta.minTime, Math.min(...series.map((s) => s.t[0]!)));
      assert.equal(ix.meta.maxTime, Math.max(...series.map((s) => s.t[s.t.length - 1]!)));
      assert.equal(ix.meta.numSeries, c.count);
      assert.equal(ix.meta.numSamples, series.reduce((n, s) => n + s.t.length, 0));
      assert.equal(ix.meta.numPages, pages);
      assert.equal(ix.meta.orderKey, meta.orderKey);
      assert.deepEqual(ix.meta.sources, ['a', 'b']);
      assert.equal(ix.columns, 1);
      assert.equal(ix.find(seriesIdBytes(encodeLabels(labelsFromPairs({ __name__: 'absent' })))), -1);
    });
  }

  it('reads only the pages asked for', async () => {
    // Prepare
    const series = makeSeries(30, () => 200);
    const { bucket, key, loc } = await writeBlock(series, 1024);
    const ix = await readBlockIndex(bucket, key, loc);
    const want = [1, 3, ix.pageOff.length - 1];
    // Act
    const got = await readPages(bucket, key, ix, want);
    // Assess
    assert.deepEqual([...got.keys()].sort((a, b) => a - b), want);
  });

  it('refuses an empty block and a wrong column count', () => {
    assert.throws(() => new BlockWriter().finish(meta, []), RangeError);
    const s = makeSeries(1, () => 2)[0]!;
    assert.throws(() => new BlockWriter({ columns: 5 }).add(s.id, s.canonical, s.t, [s.v], 2), RangeError);
  });

  it('detects a catalog entry that does not match the footer', async () => {
    // Prepare
    const series = makeSeries(5, () => 50);
    const { bucket, key, loc } = await writeBlock(series, 256);
    const wrong: { name: string; loc: BlockLocation }[] = [
      { name: 'size too large', loc: { ...loc, size: loc.size + 1 } },
      { name: 'size too small', loc: { ...loc, size: loc.size - 1 } },
      { name: 'index offset off by one', loc: { ...loc, indexOffset: loc.indexOffset - 1, indexLength: loc.indexLength + 1 } },
      { name: 'index length short', loc: { ...loc, indexLength: loc.indexLength - 1, size: loc.size - 1 } },
    ];
    for (const w of wrong) {
      // Act + Assess
      await assert.rejects(readBlockIndex(bucket, key, w.loc), CorruptionError, w.name);
    }
    // A truncated object (its tail lost) is detected as well.
    const all = await bucket.get(key);
    await bucket.put(key, all.subarray(0, all.length - 3));
    await assert.rejects(readBlockIndex(bucket, key, loc), CorruptionError);
  });

  it('detects every changed byte of pages, index and footer (CRC, lengths, magic)', async () => {
    // Prepare: a block of several pages; flip each byte in turn.
    const series = makeSeries(6, (i) => 20 + i * 10);
    const { bytes, key, loc } = await writeBlock(series, 200);
    const reserved = loc.indexOffset + loc.indexLength + 20; // 4 reserved footer bytes, not interpreted
    let detected = 0;
    for (let at = 0; at < bytes.length; at++) {
      const bad = bytes.slice();
      bad[at] = bad[at]! ^ 0x41;
      const bucket = new MemBucket();
      await bucket.put(key, bad);
      // Act
      let err: unknown;
      try {
        await assertReadsBack(bucket, key, loc, series);
      } catch (e) {
        err = e;
      }
      // Assess: the header and the reserved footer word are not interpreted;
      // every other byte is covered by a check.
      const unchecked = at < BlockHeaderSize || (at >= reserved && at < reserved + 4);
      if (unchecked) {
        assert.equal(err, undefined, `byte ${at} is not interpreted`);
      } else {
        assert.ok(err instanceof CorruptionError, `byte ${at} of ${bytes.length}: ${String(err)}`);
        detected++;
      }
    }
    assert.equal(detected, bytes.length - BlockHeaderSize - 4);
    assert.equal(bytes.length - loc.indexOffset - loc.indexLength, BlockFooterSize);
  });
});
