/**
 * What the read path keeps of a segment in the table cache: its parsed
 * series table without the label bytes (reads find series by id; their
 * labels come from the label index), a hash of the ids for lookups in one
 * probe, and, for small segments, the chunk bytes
 * themselves.
 *
 * Uncompacted data is read one segment at a time: a read of the last hour
 * visits hundreds of segments and takes a few bytes from each. Keeping a
 * small segment's bytes (read with the table, in the same request) turns
 * every later read of it into memory reads: no file open and read locally,
 * no S3 GET in AWS mode. Segments are immutable, so nothing goes stale; the
 * bytes count against the cache's budget. A series' CRC is checked the
 * first time a read takes its bytes from the cached copy, not on every read.
 */
import type { SegmentEntry } from '../catalog/catalog.ts';
import { readSegmentObject, readSegmentTable, type SegmentTable } from '../segment/reader.ts';
import { SeriesIdSize } from '../segment/format.ts';
import { crc32c } from '../util/crc32c.ts';
import { CorruptionError } from '../util/errors.ts';
import type { Sized } from './table-cache.ts';

/** Segments up to this size are read whole and kept with their chunk bytes. */
export const CachedSegmentMaxBytes = 4 * 1024 * 1024;

/** The cached, label-free form of one segment's table (and bytes, when small). */
export class CachedSegment implements Sized {
  readonly numSeries: number;
  /** Series ids, 16 bytes each, ascending. */
  readonly ids: Uint8Array;
  /** Absolute offset of the series' first chunk in the object (32 bits when the object is under 4 GiB). */
  readonly dataOffset: Uint32Array | Float64Array;
  readonly dataLength: Uint32Array;
  readonly crc: Uint32Array;
  readonly chunkStart: Uint32Array;
  readonly chunkMinT: Float64Array;
  readonly chunkMaxT: Float64Array;
  readonly chunkLen: Uint32Array;
  readonly chunkEnc: Uint8Array;
  /** Open-addressing hash of the ids (by their first four bytes): row + 1, 0 for an empty slot. */
  private readonly slots: Uint32Array;
  private readonly mask: number;
  /** Series whose cached bytes passed their CRC check (1), per series. */
  private readonly verified: Uint8Array | undefined;

  constructor(
    t: SegmentTable,
    /** The object's bytes before its table, when kept (chunk offsets index it). */
    readonly data: Uint8Array | undefined,
  ) {
    this.numSeries = t.numSeries;
    this.ids = t.ids;
    const n = t.numSeries;
    // Offsets fit 32 bits unless the object is 4 GiB or more (it never is: segments are one request).
    const last = n > 0 ? t.dataOffset[n - 1]! + t.dataLength[n - 1]! : 0;
    let fits = last < 2 ** 32;
    for (let i = 0; fits && i < n; i++) fits = t.dataOffset[i]! < 2 ** 32;
    this.dataOffset = fits ? Uint32Array.from(t.dataOffset) : t.dataOffset;
    this.dataLength = t.dataLength;
    this.crc = t.crc;
    this.chunkStart = t.chunkStart;
    this.chunkMinT = t.chunkMinT;
    this.chunkMaxT = t.chunkMaxT;
    this.chunkLen = t.chunkLen;
    this.chunkEnc = t.chunkEnc;
    const ids = t.ids;
    this.verified = data === undefined ? undefined : new Uint8Array(n);
    let size = 16;
    while (size < n * 1.25) size *= 2;
    this.slots = new Uint32Array(size);
    this.mask = size - 1;
    for (let i = 0; i < n; i++) {
      let h = slotOf(prefixAt(ids, i * SeriesIdSize), this.mask);
      while (this.slots[h] !== 0) h = (h + 1) & this.mask;
      this.slots[h] = i + 1;
    }
  }

  /** Approximate heap bytes held, for cache accounting. */
  get byteSize(): number {
    return (this.data?.length ?? 0) + this.numSeries * (SeriesIdSize + this.dataOffset.BYTES_PER_ELEMENT + 4 * 3 + 1) + this.slots.length * 4 + this.chunkLen.length * 21 + 400;
  }

  seriesMinT(i: number): number {
    return this.chunkMinT[this.chunkStart[i]!]!;
  }

  seriesMaxT(i: number): number {
    return this.chunkMaxT[this.chunkStart[i + 1]! - 1]!;
  }

  /**
   * Row of the series whose id is at `at` in `want` (16 bytes; `p` is its
   * first four bytes big-endian), or -1: a hash probe on the prefix, then a
   * check of the full id.
   */
  find(want: Uint8Array, at: number, p: number): number {
    const slots = this.slots;
    const ids = this.ids;
    for (let h = slotOf(p, this.mask); ; h = (h + 1) & this.mask) {
      const r = slots[h]!;
      if (r === 0) return -1;
      const b = (r - 1) * SeriesIdSize;
      let k = 0;
      while (k < SeriesIdSize && ids[b + k] === want[at + k]) k++;
      if (k === SeriesIdSize) return r - 1;
    }
  }

  /**
   * Checks the cached chunk bytes of series `i` against its CRC, once;
   * false when the bytes are not kept.
   */
  checkCached(i: number, what: string): boolean {
    const v = this.verified;
    if (v === undefined) return false;
    if (v[i] === 0) {
      this.seriesData(i, what);
    }
    return true;
  }

  /**
   * The chunk bytes of series `i` from the cached copy (a view), checked
   * against its CRC the first time; undefined when the bytes are not kept.
   */
  seriesData(i: number, what: string): Uint8Array | undefined {
    const data = this.data;
    if (data === undefined) return undefined;
    const off = this.dataOffset[i]!;
    const len = this.dataLength[i]!;
    if (off + len > data.length) throw new CorruptionError(`${what}: series ${i} chunk bytes ${off}+${len} lie outside the chunk data`);
    const view = data.subarray(off, off + len);
    if (this.verified![i] === 0) {
      checkSeriesData(this, i, view, what);
      this.verified![i] = 1;
    }
    return view;
  }
}

/** The first four bytes of the id at `b`, big-endian. */
function prefixAt(ids: Uint8Array, b: number): number {
  return ((ids[b]! << 24) | (ids[b + 1]! << 16) | (ids[b + 2]! << 8) | ids[b + 3]!) >>> 0;
}

/** Slot of a prefix (ids are hashes; the multiply spreads crafted ones too). */
function slotOf(p: number, mask: number): number {
  return (Math.imul(p, 0x9e3779b1) >>> 7) & mask;
}

/** Checks a series' chunk bytes against the table's length and CRC (as lib/segment/reader.ts verifySeriesData). */
export function checkSeriesData(t: CachedSegment, i: number, data: Uint8Array, what: string): void {
  if (data.length !== t.dataLength[i]) {
    throw new CorruptionError(`${what}: series ${i} has ${data.length} chunk bytes, table says ${t.dataLength[i]}`);
  }
  if (crc32c(data) !== t.crc[i]) throw new CorruptionError(`${what}: series ${i} chunk CRC mismatch`);
}

/**
 * Reads a segment for the cache: whole (one request) when it is at most
 * `maxWhole` bytes, else its table only (chunks are then read per select).
 */
export async function loadCachedSegment(
  bkt: Parameters<typeof readSegmentTable>[0],
  entry: SegmentEntry,
  maxWhole = CachedSegmentMaxBytes,
): Promise<CachedSegment> {
  if (entry.size <= maxWhole) {
    const { table, data } = await readSegmentObject(bkt, entry.key, entry);
    return new CachedSegment(table, data);
  }
  return new CachedSegment((await readSegmentTable(bkt, entry.key, entry)).table, undefined);
}
