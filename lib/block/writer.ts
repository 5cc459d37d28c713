/**
 * Builds a block object from series added in label order.
 */
import { brotliCompressSync, constants as zlib } from 'node:zlib';
import { ByteWriter } from '../util/bytes.ts';
import { crc32c } from '../util/crc32c.ts';
import { encodeColumns } from './columns.ts';
import { BlockHeaderSize, BlockMagic, BlockVersion, DefaultPageBytes, type BlockMeta } from './format.ts';

export interface BlockWriterOptions {
  /** Raw bytes per page before compression. */
  pageBytes?: number;
  /** Brotli quality 0..11. */
  quality?: number;
  /** Value columns per series: 1 for raw samples, 5 for aggregates. */
  columns?: number;
}

interface PageRef {
  off: number;
  len: number;
  rawLen: number;
  crc: number;
}

/** Compresses with brotli at `quality`, with the window sized to the input. */
export function compress(raw: Uint8Array, quality: number): Uint8Array {
  return brotliCompressSync(raw, {
    params: {
      [zlib.BROTLI_PARAM_QUALITY]: quality,
      [zlib.BROTLI_PARAM_SIZE_HINT]: raw.length,
      [zlib.BROTLI_PARAM_LGWIN]: Math.max(16, Math.min(24, Math.ceil(Math.log2(raw.length + 1)))),
    },
  });
}

/**
 * Collects series (strictly ascending by labels, each with samples in
 * strictly increasing time order) and produces the block's bytes.
 */
export class BlockWriter {
  private readonly parts: Uint8Array[] = [];
  private size = BlockHeaderSize;
  private readonly pages: PageRef[] = [];
  private page = new ByteWriter(64 * 1024);
  private readonly index = new ByteWriter(64 * 1024);
  private numSeries = 0;
  private numSamples = 0;
  private minTime = Infinity;
  private maxTime = -Infinity;
  private readonly pageBytes: number;
  private readonly quality: number;
  private readonly columns: number;

  constructor(opts: BlockWriterOptions = {}) {
    this.pageBytes = opts.pageBytes ?? DefaultPageBytes;
    this.quality = opts.quality ?? 5;
    this.columns = opts.columns ?? 1;
    const header = new Uint8Array(BlockHeaderSize);
    new DataView(header.buffer).setUint32(0, BlockMagic);
    header[4] = BlockVersion;
    this.parts.push(header);
  }

  /**
   * Adds one series: its id (16 bytes), canonical label bytes and `n`
   * samples. The arrays are read, not kept.
   */
  add(id: Uint8Array, labels: Uint8Array, t: Float64Array, vs: readonly Float64Array[], n: number): void {
    if (n === 0) return;
    if (vs.length !== this.columns) throw new RangeError(`BlockWriter: ${vs.length} value columns, want ${this.columns}`);
    const start = this.page.len;
    encodeColumns(this.page, t, vs, n);
    this.index.bytes(id);
    this.index.uvarint(labels.length);
    this.index.bytes(labels);
    this.index.uvarint(this.pages.length);
    this.index.uvarint(start);
    this.index.uvarint(this.page.len - start);
    this.index.f64(t[0]!);
    this.index.f64(t[n - 1]!);
    this.numSeries++;
    this.numSamples += n;
    if (t[0]! < this.minTime) this.minTime = t[0]!;
    if (t[n - 1]! > this.maxTime) this.maxTime = t[n - 1]!;
    if (this.page.len >= this.pageBytes) this.flushPage();
  }

  get seriesCount(): number {
    return this.numSeries;
  }

  get sampleCount(): number {
    return this.numSamples;
  }

  private flushPage(): void {
    if (this.page.len === 0) return;
    const raw = this.page.finish();
    const data = compress(raw, this.quality);
    this.pages.push({ off: this.size, len: data.length, rawLen: raw.length, crc: crc32c(data) });
    this.parts.push(data);
    this.size += data.length;
    this.page = new ByteWriter(Math.min(this.pageBytes * 2, 1 << 20));
  }

  /**
   * Finishes the block. `meta` gets the figures the writer knows (time
   * range, counts) filled in. Returns the bytes and the complete metadata,
   * with the index location for the catalog entry.
   */
  finish(meta: Omit<BlockMeta, 'minTime' | 'maxTime' | 'numSeries' | 'numSamples' | 'numPages'>, sources: readonly string[]): {
    bytes: Uint8Array;
    meta: BlockMeta;
    indexOffset: number;
    indexLength: number;
  } {
    if (this.numSeries === 0) throw new RangeError('BlockWriter: a block needs at least one series');
    this.flushPage();
    const full: BlockMeta = {
      ...meta,
      minTime: this.minTime,
      maxTime: this.maxTime,
      numSeries: this.numSeries,
      numSamples: this.numSamples,
      numPages: this.pages.length,
    };
    const head = new ByteWriter(1024 + this.pages.length * 16);
    const metaBytes = new TextEncoder().encode(JSON.stringify({ ...full, sources }));
    head.uvarint(metaBytes.length);
    head.bytes(metaBytes);
    head.uvarint(this.columns);
    head.uvarint(this.pages.length);
    for (const p of this.pages) {
      head.uvarint(p.off);
      head.uvarint(p.len);
      head.uvarint(p.rawLen);
      head.u32(p.crc);
    }
    head.uvarint(this.numSeries);
    const rawIndex = concat([head.finish(), this.index.finish()]);
    const index = compress(rawIndex, this.quality);
    const indexOffset = this.size;
    const footer = new ByteWriter(32);
    footer.f64(indexOffset);
    footer.u32(index.length);
    footer.u32(rawIndex.length);
    footer.u32(crc32c(index));
    footer.u32(0);
    footer.u32(BlockMagic);
    this.parts.push(index, footer.finish());
    return { bytes: concat(this.parts), meta: full, indexOffset, indexLength: index.length };
  }
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
