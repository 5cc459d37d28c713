/**
 * Loads the inputs of a compaction job into per-series chunk lists: whole
 * segments (one GET each) and whole blocks (index + every page).
 */
import type { Bucket } from '../objstore/bucket.ts';
import type { BlockEntry, CatalogEntry, SegmentEntry } from '../catalog/catalog.ts';
import { readSegmentTable, verifySeriesData } from '../segment/reader.ts';
import { readBlockIndex, readPages } from '../block/reader.ts';
import { ColumnBuffer, decodeColumns } from '../block/columns.ts';
import { XORChunk } from '../chunkenc/xor.ts';
import { Encoding } from '../chunkenc/chunk.ts';
import type { SourceChunk } from '../storage/merge.ts';
import { SamplesPerChunk } from '../segment/format.ts';
import { seriesIdToHex } from '../labels/labels.ts';

/** One series gathered from all inputs. */
export interface GatheredSeries {
  id: Uint8Array;
  /** Canonical label bytes, if some input carried them. */
  labels: Uint8Array | undefined;
  chunks: SourceChunk[];
}

/** Adds the series of one input to `out`; `order` ranks it for equal timestamps. */
export async function gather(bucket: Bucket, entry: CatalogEntry, order: number, out: Map<string, GatheredSeries>): Promise<void> {
  if (entry.kind === 'segment') await gatherSegment(bucket, entry, order, out);
  else await gatherBlock(bucket, entry, order, out);
}

function slot(out: Map<string, GatheredSeries>, id: Uint8Array): GatheredSeries {
  const hex = seriesIdToHex(id);
  let s = out.get(hex);
  if (s === undefined) out.set(hex, (s = { id: id.slice(), labels: undefined, chunks: [] }));
  return s;
}

async function gatherSegment(bucket: Bucket, entry: SegmentEntry, order: number, out: Map<string, GatheredSeries>): Promise<void> {
  const { table } = await readSegmentTable(bucket, entry.key, entry);
  if (table.numSeries === 0) return;
  const first = table.dataOffset[0]!;
  let end = first;
  for (let i = 0; i < table.numSeries; i++) end = Math.max(end, table.dataOffset[i]! + table.dataLength[i]!);
  const data = await bucket.getRange(entry.key, first, end - first);
  for (let i = 0; i < table.numSeries; i++) {
    const s = slot(out, table.idAt(i));
    const lb = table.labelsAt(i);
    if (lb.length > 0 && s.labels === undefined) s.labels = lb.slice();
    const start = table.dataOffset[i]! - first;
    const bytes = data.subarray(start, start + table.dataLength[i]!);
    verifySeriesData(table, i, bytes, entry.key);
    let pos = 0;
    for (let c = table.chunkStart[i]!; c < table.chunkStart[i + 1]!; c++) {
      const len = table.chunkLen[c]!;
      s.chunks.push({ minTime: table.chunkMinT[c]!, maxTime: table.chunkMaxT[c]!, encoding: table.chunkEnc[c]! as Encoding, data: bytes.subarray(pos, pos + len), order });
      pos += len;
    }
  }
}

async function gatherBlock(bucket: Bucket, entry: BlockEntry, order: number, out: Map<string, GatheredSeries>): Promise<void> {
  const ix = await readBlockIndex(bucket, entry.key, entry);
  const pages = await readPages(bucket, entry.key, ix, Array.from({ length: ix.pageOff.length }, (_, p) => p));
  const buf = new ColumnBuffer(1, 512);
  for (let i = 0; i < ix.numSeries; i++) {
    const s = slot(out, ix.idAt(i));
    if (s.labels === undefined) s.labels = ix.labelsAt(i).slice();
    buf.n = 0;
    const off = ix.seriesOff[i]!;
    decodeColumns(pages.get(ix.seriesPage[i]!)!, off, off + ix.seriesLen[i]!, buf, `${entry.key} series ${i}`);
    for (let k = 0; k < buf.n; ) {
      const c = new XORChunk();
      const app = c.appender();
      const from = k;
      for (let j = 0; j < SamplesPerChunk && k < buf.n; j++, k++) app.append(buf.t[k]!, buf.v[k]!);
      s.chunks.push({ minTime: buf.t[from]!, maxTime: buf.t[k - 1]!, encoding: Encoding.XOR, data: c.bytes(), order });
    }
  }
}
