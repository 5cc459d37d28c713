/**
 * Reads segment objects: the footer, the series table, and the chunk bytes
 * of chosen series, with CRC checks. Layout in FORMAT.md.
 */
import type { BucketReader } from '../objstore/bucket.ts';
import { ByteReader } from '../util/bytes.ts';
import { crc32c } from '../util/crc32c.ts';
import { CorruptionError } from '../util/errors.ts';
import { FooterSize, HeaderSize, SegmentMagic, SegmentVersion, SeriesIdSize, type SegmentMeta } from './format.ts';

/** Parses the 44-byte footer at the end of a segment. */
export function parseFooter(footer: Uint8Array, size: number, what = 'segment'): SegmentMeta {
  if (footer.length !== FooterSize) throw new CorruptionError(`${what}: footer is ${footer.length} bytes, want ${FooterSize}`);
  const r = new ByteReader(footer, 0, footer.length, `${what} footer`);
  const tableOffset = r.f64();
  const tableLength = r.u32();
  r.u32(); // table CRC, checked when the table is parsed
  const minTime = r.f64();
  const maxTime = r.f64();
  const numSeries = r.u32();
  const numSamples = r.u32();
  const magic = r.u32();
  if (magic !== SegmentMagic) throw new CorruptionError(`${what}: bad footer magic 0x${magic.toString(16)}`);
  if (!Number.isSafeInteger(tableOffset) || tableOffset < HeaderSize || tableOffset + tableLength + FooterSize !== size) {
    throw new CorruptionError(`${what}: footer table range ${tableOffset}+${tableLength} does not fit object size ${size}`);
  }
  return { size, tableOffset, tableLength, minTime, maxTime, numSeries, numSamples };
}

/**
 * The parsed series table of one segment. Series are in ascending id order;
 * per-series and per-chunk fields live in flat typed arrays.
 */
export class SegmentTable {
  /** Series ids, 16 bytes each, ascending. */
  readonly ids: Uint8Array;
  readonly labelsOff: Uint32Array;
  readonly labelsLen: Uint32Array;
  /** Absolute offset of the series' first chunk in the object. */
  readonly dataOffset: Float64Array;
  /** Total chunk bytes of the series (its chunks are contiguous). */
  readonly dataLength: Uint32Array;
  readonly crc: Uint32Array;
  /** Chunks of series i are [chunkStart[i], chunkStart[i+1]). */
  readonly chunkStart: Uint32Array;
  readonly chunkMinT: Float64Array;
  readonly chunkMaxT: Float64Array;
  readonly chunkLen: Uint32Array;
  readonly chunkEnc: Uint8Array;

  private constructor(
    /** The table bytes (labels are views into them). */
    readonly bytes: Uint8Array,
    readonly numSeries: number,
    numChunks: number,
  ) {
    this.ids = new Uint8Array(numSeries * SeriesIdSize);
    this.labelsOff = new Uint32Array(numSeries);
    this.labelsLen = new Uint32Array(numSeries);
    this.dataOffset = new Float64Array(numSeries);
    this.dataLength = new Uint32Array(numSeries);
    this.crc = new Uint32Array(numSeries);
    this.chunkStart = new Uint32Array(numSeries + 1);
    this.chunkMinT = new Float64Array(numChunks);
    this.chunkMaxT = new Float64Array(numChunks);
    this.chunkLen = new Uint32Array(numChunks);
    this.chunkEnc = new Uint8Array(numChunks);
  }

  /**
   * Parses table bytes (exactly `meta.tableLength` bytes starting at
   * `meta.tableOffset`), checking their CRC against the footer's when the
   * footer is given.
   */
  static parse(table: Uint8Array, what = 'segment', expectedCrc?: number): SegmentTable {
    if (expectedCrc !== undefined && crc32c(table) !== expectedCrc) {
      throw new CorruptionError(`${what}: series table CRC mismatch`);
    }
    // First pass counts chunks so the arrays are sized once.
    const r = new ByteReader(table, 0, table.length, `${what} table`);
    const n = r.uvarint();
    const start = r.pos;
    let numChunks = 0;
    for (let i = 0; i < n; i++) {
      r.bytes(SeriesIdSize);
      r.bytes(r.uvarint());
      r.uvarint();
      const c = r.uvarint();
      for (let j = 0; j < c; j++) {
        r.f64();
        r.uvarint();
        r.uvarint();
        r.u8();
      }
      r.u32();
      numChunks += c;
    }
    if (r.pos !== table.length) throw new CorruptionError(`${what}: ${table.length - r.pos} trailing bytes after series table`);

    const t = new SegmentTable(table, n, numChunks);
    r.pos = start;
    let ci = 0;
    for (let i = 0; i < n; i++) {
      t.ids.set(r.bytes(SeriesIdSize), i * SeriesIdSize);
      if (i > 0 && compareIds(t.ids, (i - 1) * SeriesIdSize, i * SeriesIdSize) >= 0) {
        throw new CorruptionError(`${what}: series ids out of order at series ${i}`);
      }
      const ll = r.uvarint();
      t.labelsOff[i] = r.pos;
      t.labelsLen[i] = ll;
      r.pos += ll;
      t.dataOffset[i] = r.uvarint();
      const c = r.uvarint();
      t.chunkStart[i] = ci;
      let total = 0;
      for (let j = 0; j < c; j++, ci++) {
        const minT = r.f64();
        t.chunkMinT[ci] = minT;
        t.chunkMaxT[ci] = minT + r.uvarint();
        const len = r.uvarint();
        t.chunkLen[ci] = len;
        total += len;
        t.chunkEnc[ci] = r.u8();
      }
      t.dataLength[i] = total;
      t.crc[i] = r.u32();
    }
    t.chunkStart[n] = ci;
    return t;
  }

  /** Index of the series with this id, or -1. Binary search. */
  find(id: Uint8Array): number {
    let lo = 0;
    let hi = this.numSeries - 1;
    const ids = this.ids;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const base = mid * SeriesIdSize;
      let c = 0;
      for (let k = 0; k < SeriesIdSize; k++) {
        const d = ids[base + k]! - id[k]!;
        if (d !== 0) {
          c = d;
          break;
        }
      }
      if (c === 0) return mid;
      if (c < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** The id bytes of series i (a view). */
  idAt(i: number): Uint8Array {
    return this.ids.subarray(i * SeriesIdSize, (i + 1) * SeriesIdSize);
  }

  /**
   * The canonical label bytes of series i (a view); empty when the segment
   * does not carry them (an earlier segment of the same writer does).
   */
  labelsAt(i: number): Uint8Array {
    return this.bytes.subarray(this.labelsOff[i]!, this.labelsOff[i]! + this.labelsLen[i]!);
  }

  /** Smallest and largest sample time of series i. */
  seriesMinT(i: number): number {
    return this.chunkMinT[this.chunkStart[i]!]!;
  }

  seriesMaxT(i: number): number {
    return this.chunkMaxT[this.chunkStart[i + 1]! - 1]!;
  }

  /** Approximate heap bytes held, for cache accounting. */
  get byteSize(): number {
    return this.bytes.length + this.numSeries * 48 + this.chunkLen.length * 21;
  }
}

/** Checks a series' chunk bytes against the table's CRC. */
export function verifySeriesData(table: SegmentTable, i: number, data: Uint8Array, what: string): void {
  if (data.length !== table.dataLength[i]) {
    throw new CorruptionError(`${what}: series ${i} has ${data.length} chunk bytes, table says ${table.dataLength[i]}`);
  }
  if (crc32c(data) !== table.crc[i]) throw new CorruptionError(`${what}: series ${i} chunk CRC mismatch`);
}

/** Reads and parses a segment's footer and table straight from a bucket. */
export async function readSegmentTable(bkt: BucketReader, key: string, meta?: SegmentMeta): Promise<{ meta: SegmentMeta; table: SegmentTable }> {
  if (meta === undefined) {
    const { size } = await bkt.head(key);
    if (size < HeaderSize + FooterSize) throw new CorruptionError(`${key}: ${size} bytes is too small for a segment`);
    meta = parseFooter(await bkt.getRange(key, size - FooterSize, FooterSize), size, key);
  }
  // Table and footer are adjacent: one ranged read gets both, so the CRC
  // recorded in the footer can be checked.
  const tail = await bkt.getRange(key, meta.tableOffset, meta.tableLength + FooterSize);
  if (tail.length !== meta.tableLength + FooterSize) {
    throw new CorruptionError(`${key}: object shorter than its catalog entry says`);
  }
  const footer = tail.subarray(meta.tableLength);
  const fm = parseFooter(footer, meta.size, key);
  if (fm.tableOffset !== meta.tableOffset || fm.tableLength !== meta.tableLength) {
    throw new CorruptionError(`${key}: footer disagrees with catalog entry`);
  }
  const crc = new DataView(footer.buffer, footer.byteOffset, footer.byteLength).getUint32(12);
  return { meta, table: SegmentTable.parse(tail.subarray(0, meta.tableLength), key, crc) };
}

/**
 * Reads a whole segment with one request and parses its table: the header,
 * footer and table CRC are checked as {@link readSegmentTable} checks them.
 * `data` is a copy of the bytes before the table (header and chunks; chunk
 * offsets in the table index it directly), so the object read can be freed.
 * For small segments a reader keeps: one request instead of a table read
 * and one ranged read per later select.
 */
export async function readSegmentObject(bkt: BucketReader, key: string, meta: SegmentMeta): Promise<{ table: SegmentTable; data: Uint8Array }> {
  const obj = await bkt.getRange(key, 0, meta.size);
  if (obj.length !== meta.size) throw new CorruptionError(`${key}: object is ${obj.length} bytes, its catalog entry says ${meta.size}`);
  checkHeader(obj, key);
  const footer = obj.subarray(meta.size - FooterSize);
  const fm = parseFooter(footer, meta.size, key);
  if (fm.tableOffset !== meta.tableOffset || fm.tableLength !== meta.tableLength) {
    throw new CorruptionError(`${key}: footer disagrees with catalog entry`);
  }
  const crc = new DataView(footer.buffer, footer.byteOffset, footer.byteLength).getUint32(12);
  const table = SegmentTable.parse(obj.subarray(meta.tableOffset, meta.tableOffset + meta.tableLength), key, crc);
  return { table, data: obj.slice(0, meta.tableOffset) };
}

/** Checks the 8-byte header of a whole segment. */
export function checkHeader(obj: Uint8Array, what = 'segment'): void {
  const r = new ByteReader(obj, 0, obj.length, what);
  const magic = r.u32();
  const version = r.u8();
  if (magic !== SegmentMagic) throw new CorruptionError(`${what}: bad header magic 0x${magic.toString(16)}`);
  if (version !== SegmentVersion) throw new CorruptionError(`${what}: unsupported version ${version}`);
}

function compareIds(ids: Uint8Array, a: number, b: number): number {
  for (let k = 0; k < SeriesIdSize; k++) {
    const d = ids[a + k]! - ids[b + k]!;
    if (d !== 0) return d;
  }
  return 0;
}
