/**
 * Builds one immutable segment object: the samples of one accepted write
 * request, as per-series XOR chunks plus a series table and a footer.
 * Layout in FORMAT.md.
 */
import { XORChunk } from '../chunkenc/xor.ts';
import { Encoding } from '../chunkenc/chunk.ts';
import { ByteWriter } from '../util/bytes.ts';
import { crc32c, crc32cRange } from '../util/crc32c.ts';
import {
  FooterSize,
  HeaderSize,
  MaxChunkSpanMs,
  SamplesPerChunk,
  SegmentMagic,
  SegmentVersion,
  SeriesIdSize,
  type SegmentMeta,
} from './format.ts';

/**
 * Collects series (added in ascending series-id order) and lays out the
 * segment. Not reusable: call `finish()` once.
 */
export class SegmentBuilder {
  private readonly data = new ByteWriter(64 * 1024);
  private readonly table = new ByteWriter(64 * 1024);
  private numSeries = 0;
  private numSamples = 0;
  private minTime = Infinity;
  private maxTime = -Infinity;
  // Per-series chunk descriptors, reused between series.
  private cMin = new Float64Array(8);
  private cMax = new Float64Array(8);
  private cLen = new Uint32Array(8);
  /** One chunk encoder, reset for every chunk (its bytes are copied out). */
  private readonly chunk = new XORChunk();

  constructor() {
    this.data.u32(SegmentMagic);
    this.data.u8(SegmentVersion);
    this.data.u8(0);
    this.data.u8(0);
    this.data.u8(0);
  }

  /**
   * Adds one series with samples `t[from..to)`, `v[from..to)`, which must be
   * in strictly increasing time order (sorted and deduplicated by the
   * caller). `id` is the 16-byte series id; ids must ascend between calls
   * (the appender sorts them; not checked here, `SegmentTable.parse` does).
   * `labels` are the canonical label bytes, or empty when an earlier
   * segment of the same writer already carries them (see FORMAT.md).
   */
  addSeries(id: Uint8Array, labels: Uint8Array, t: Float64Array, v: Float64Array, from: number, to: number): void {
    if (id.length !== SeriesIdSize) throw new Error(`series id must be ${SeriesIdSize} bytes`);
    if (to <= from) throw new Error('series without samples');
    const dataOffset = this.data.len;
    let nc = 0;

    if (to - from === 1 && Math.abs(t[from]!) < SingleSampleFastPathLimit) {
      // One sample (the common case: one per series per request): the XOR
      // chunk is just the header, the timestamp as a varint and the value's
      // 64 bits, written straight into the data section.
      this.data.u8(0);
      this.data.u8(1);
      this.data.varint(t[from]!);
      this.data.f64bits(v[from]!);
      this.cMin[0] = t[from]!;
      this.cMax[0] = t[from]!;
      this.cLen[0] = this.data.len - dataOffset;
      nc = 1;
    } else {
      let i = from;
      while (i < to) {
        const app = this.chunk.reset();
        const first = t[i]!;
        let n = 0;
        let last = first;
        while (i < to && n < SamplesPerChunk && t[i]! - first <= MaxChunkSpanMs) {
          last = t[i]!;
          app.append(last, v[i]!);
          i++;
          n++;
        }
        const bytes = this.chunk.bytes();
        this.data.bytes(bytes);
        if (nc === this.cMin.length) this.growChunkScratch();
        this.cMin[nc] = first;
        this.cMax[nc] = last;
        this.cLen[nc] = bytes.length;
        nc++;
      }
    }

    const tb = this.table;
    tb.bytes(id);
    tb.uvarint(labels.length);
    tb.bytes(labels);
    tb.uvarint(dataOffset);
    tb.uvarint(nc);
    for (let c = 0; c < nc; c++) {
      tb.f64(this.cMin[c]!);
      tb.uvarint(this.cMax[c]! - this.cMin[c]!); // exact: a chunk spans at most 2^51 ms
      tb.uvarint(this.cLen[c]!);
      tb.u8(Encoding.XOR);
    }
    tb.u32(crc32cRange(this.data.raw(), dataOffset, this.data.len));

    this.numSeries++;
    this.numSamples += to - from;
    if (t[from]! < this.minTime) this.minTime = t[from]!;
    if (t[to - 1]! > this.maxTime) this.maxTime = t[to - 1]!;
  }

  private growChunkScratch(): void {
    const n = this.cMin.length * 2;
    const min = new Float64Array(n);
    min.set(this.cMin);
    const max = new Float64Array(n);
    max.set(this.cMax);
    const len = new Uint32Array(n);
    len.set(this.cLen);
    this.cMin = min;
    this.cMax = max;
    this.cLen = len;
  }

  /** Lays out table and footer; returns the object bytes and its metadata. */
  finish(): { bytes: Uint8Array; meta: SegmentMeta } {
    if (this.numSeries === 0) throw new Error('empty segment');
    const tableBody = this.table.finish();
    const head = new ByteWriter(16);
    head.uvarint(this.numSeries);
    const tableLength = head.len + tableBody.length;
    const dataLen = this.data.len;
    const size = dataLen + tableLength + FooterSize;

    const out = new Uint8Array(size);
    out.set(this.data.finish(), 0);
    out.set(head.finish(), dataLen);
    out.set(tableBody, dataLen + head.len);
    const tableCrc = crc32c(out.subarray(dataLen, dataLen + tableLength));

    const footer = new ByteWriter(FooterSize);
    footer.f64(dataLen);
    footer.u32(tableLength);
    footer.u32(tableCrc);
    footer.f64(this.minTime);
    footer.f64(this.maxTime);
    footer.u32(this.numSeries);
    footer.u32(this.numSamples);
    footer.u32(SegmentMagic);
    out.set(footer.finish(), dataLen + tableLength);

    return {
      bytes: out,
      meta: {
        size,
        tableOffset: dataLen,
        tableLength,
        minTime: this.minTime,
        maxTime: this.maxTime,
        numSeries: this.numSeries,
        numSamples: this.numSamples,
      },
    };
  }
}

/**
 * Timestamps below this magnitude take the single-sample fast path; larger
 * ones go through the XOR appender (same bytes, exact 64-bit varints).
 */
const SingleSampleFastPathLimit = 2 ** 52;

/** Bytewise comparison (the order of hex ids, too). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!;
  }
  return a.length - b.length;
}

export { HeaderSize };
