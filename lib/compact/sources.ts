/**
 * Loads the inputs of a compaction job into per-series chunk lists: whole
 * segments (one GET each) and whole blocks (index + every page).
 */
import type { Bucket } from '../objstore/bucket.ts';
import type { BlockEntry, CatalogEntry, SegmentEntry } from '../catalog/catalog.ts';
import { checkHeader, parseFooter, SegmentTable, verifySeriesData } from '../segment/reader.ts';
import { FooterSize } from '../segment/format.ts';
import { CorruptionError } from '../util/errors.ts';
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
export async function gather(bucket: Bucket, entry: CatalogEntry, order: number, out: Map<string, GatheredSeries>, only?: ReadonlyMap<string, unknown>, prefetch?: SegmentPrefetch): Promise<void> {
  if (entry.kind === 'segment') await gatherSegment(bucket, entry, order, out, only, prefetch);
  else await gatherBlock(bucket, entry, order, out, only);
}

function slot(out: Map<string, GatheredSeries>, id: Uint8Array): GatheredSeries {
  const hex = seriesIdToHex(id);
  let s = out.get(hex);
  if (s === undefined) out.set(hex, (s = { id: id.slice(), labels: undefined, chunks: [] }));
  return s;
}

async function gatherSegment(bucket: Bucket, entry: SegmentEntry, order: number, out: Map<string, GatheredSeries>, only?: ReadonlyMap<string, unknown>, prefetch?: SegmentPrefetch): Promise<void> {
  // Merging reads nearly all of a segment: one GET of the whole object is
  // cheaper than a ranged GET of the table and another of the chunk data.
  const { table, obj } = await (prefetch?.take(entry) ?? readWholeSegment(bucket, entry));
  if (table.numSeries === 0) return;
  // The chunks are kept until the job ends: copy their range out, so the
  // table and the rest of the object are not retained with them.
  const first = table.dataOffset[0]!;
  let end = first;
  for (let i = 0; i < table.numSeries; i++) end = Math.max(end, table.dataOffset[i]! + table.dataLength[i]!);
  const data = obj.slice(first, end);
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

/**
 * A whole segment object with its table, checked as readSegmentTable
 * checks the ranged read: the size the catalog recorded, the footer
 * agreeing with it, the table's CRC.
 */
export async function readWholeSegment(bucket: Bucket, entry: SegmentEntry): Promise<{ table: SegmentTable; obj: Uint8Array }> {
  const obj = await bucket.get(entry.key);
  if (obj.length !== entry.size) throw new CorruptionError(`${entry.key}: object is ${obj.length} bytes, its catalog entry says ${entry.size}`);
  checkHeader(obj, entry.key);
  const end = entry.tableOffset + entry.tableLength;
  const footer = obj.subarray(end, end + FooterSize);
  const fm = parseFooter(footer, obj.length, entry.key);
  if (fm.tableOffset !== entry.tableOffset || fm.tableLength !== entry.tableLength) throw new CorruptionError(`${entry.key}: footer disagrees with catalog entry`);
  const crc = new DataView(footer.buffer, footer.byteOffset, footer.byteLength).getUint32(12);
  return { table: SegmentTable.parse(obj.subarray(entry.tableOffset, end), entry.key, crc), obj };
}

/**
 * Reads the segments of a job ahead of their use, at most `depth` at a
 * time, in the order they will be taken (a job reads its inputs one after
 * another; the GETs need not wait for each other). Holds at most `depth`
 * objects beyond the one in use.
 */
export class SegmentPrefetch {
  readonly #pending = new Map<string, Promise<{ table: SegmentTable; obj: Uint8Array }>>();
  #next = 0;

  constructor(
    private readonly bucket: Bucket,
    private readonly order: readonly SegmentEntry[],
    private readonly depth = 4,
  ) {
    this.#fill();
  }

  /** The segment, read ahead if it was announced, else now. */
  take(entry: SegmentEntry): Promise<{ table: SegmentTable; obj: Uint8Array }> {
    const p = this.#pending.get(entry.key);
    if (p === undefined) return readWholeSegment(this.bucket, entry);
    this.#pending.delete(entry.key);
    this.#fill();
    return p;
  }

  #fill(): void {
    while (this.#pending.size < this.depth && this.#next < this.order.length) {
      const e = this.order[this.#next++]!;
      if (this.#pending.has(e.key)) continue;
      const p = readWholeSegment(this.bucket, e);
      p.catch(() => {}); // surfaced by take(); not an unhandled rejection if never taken
      this.#pending.set(e.key, p);
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
