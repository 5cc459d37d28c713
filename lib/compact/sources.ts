/**
 * Loads the inputs of a compaction job into per-series chunk lists: whole
 * segments (one GET each) and whole blocks (index + every page).
 */
import type { Bucket } from '../objstore/bucket.ts';
import type { BlockEntry, CatalogEntry, SegmentEntry } from '../catalog/catalog.ts';
import { readSegmentTable, verifySeriesData } from '../segment/reader.ts';
import { readBlockIndex, readPages } from '../block/reader.ts';
import { ColumnBuffer, decodeColumns } from '../block/columns.ts';
import type { Encoding } from '../chunkenc/chunk.ts';
import { columnsToChunks, type SourceChunk } from '../storage/merge.ts';
import { seriesIdFromHex, seriesIdToHex } from '../labels/labels.ts';

/** One series gathered from all inputs. */
export interface GatheredSeries {
  id: Uint8Array;
  /** Canonical label bytes, if some input carried them. */
  labels: Uint8Array | undefined;
  chunks: SourceChunk[];
}

/**
 * Adds the series of one input to `out`; `order` ranks it for equal
 * timestamps. With `only` (hex ids), just those series are added, and of a
 * block only the pages holding them are read (for a job's shadows).
 */
export async function gather(bucket: Bucket, entry: CatalogEntry, order: number, out: Map<string, GatheredSeries>, only?: ReadonlyMap<string, unknown>): Promise<void> {
  if (entry.kind === 'segment') await gatherSegment(bucket, entry, order, out, only);
  else await gatherBlock(bucket, entry, order, out, only);
}

function slot(out: Map<string, GatheredSeries>, id: Uint8Array): GatheredSeries {
  const hex = seriesIdToHex(id);
  let s = out.get(hex);
  if (s === undefined) out.set(hex, (s = { id: id.slice(), labels: undefined, chunks: [] }));
  return s;
}

async function gatherSegment(bucket: Bucket, entry: SegmentEntry, order: number, out: Map<string, GatheredSeries>, only?: ReadonlyMap<string, unknown>): Promise<void> {
  const { table } = await readSegmentTable(bucket, entry.key, entry);
  if (table.numSeries === 0) return;
  const first = table.dataOffset[0]!;
  let end = first;
  for (let i = 0; i < table.numSeries; i++) end = Math.max(end, table.dataOffset[i]! + table.dataLength[i]!);
  const data = await bucket.getRange(entry.key, first, end - first);
  for (let i = 0; i < table.numSeries; i++) {
    if (only !== undefined && !only.has(seriesIdToHex(table.idAt(i)))) continue;
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

async function gatherBlock(bucket: Bucket, entry: BlockEntry, order: number, out: Map<string, GatheredSeries>, only?: ReadonlyMap<string, unknown>): Promise<void> {
  const ix = await readBlockIndex(bucket, entry.key, entry);
  let want: number[];
  if (only === undefined) want = Array.from({ length: ix.numSeries }, (_, i) => i);
  else want = [...only.keys()].map((hex) => ix.find(seriesIdFromHex(hex))).filter((i) => i >= 0);
  if (want.length === 0) return;
  const pages = await readPages(bucket, entry.key, ix, [...new Set(want.map((i) => ix.seriesPage[i]!))].sort((a, b) => a - b));
  const buf = new ColumnBuffer(1, 512);
  for (const i of want) {
    const s = slot(out, ix.idAt(i));
    if (s.labels === undefined) s.labels = ix.labelsAt(i).slice();
    buf.n = 0;
    const off = ix.seriesOff[i]!;
    decodeColumns(pages.get(ix.seriesPage[i]!)!, off, off + ix.seriesLen[i]!, buf, `${entry.key} series ${i}`);
    columnsToChunks(buf.t, buf.v, 0, buf.n, order, s.chunks);
  }
}
