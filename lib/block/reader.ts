/**
 * Reads block objects: the index (one ranged read of index + footer), then
 * only the pages that hold wanted series.
 */
import { brotliDecompressSync } from 'node:zlib';
import type { BucketReader } from '../objstore/bucket.ts';
import { ByteReader } from '../util/bytes.ts';
import { crc32c } from '../util/crc32c.ts';
import { CorruptionError } from '../util/errors.ts';
import { BlockFooterSize, BlockHeaderSize, BlockMagic, type BlockMeta } from './format.ts';
import { decodeLabels, seriesIdToHex, type Labels } from '../labels/labels.ts';
import type { Matcher } from '../labels/matcher.ts';
import { matchersKey, setMatches } from '../labels/matcher.ts';

/** Matcher sets whose select() answers a block index keeps. */
const SelectMemoSize = 32;

const IdSize = 16;

/** Where a block's index lies in its object (from the catalog entry). */
export interface BlockLocation {
  size: number;
  indexOffset: number;
  indexLength: number;
}

/** The parsed index of one block. Immutable; shared through the table cache. */
export class BlockIndex {
  readonly numSeries: number;
  /** Per page: offset and length of its compressed bytes, raw length, CRC32C. */
  readonly pageOff: Float64Array;
  readonly pageLen: Uint32Array;
  readonly pageRawLen: Uint32Array;
  readonly pageCrc: Uint32Array;
  /** Per series, in label order. */
  readonly seriesPage: Uint32Array;
  readonly seriesOff: Uint32Array;
  readonly seriesLen: Uint32Array;
  readonly minT: Float64Array;
  readonly maxT: Float64Array;
  private readonly labelOff: Uint32Array;
  private readonly labelLen: Uint32Array;
  /** Series positions sorted by id, for find(). */
  private readonly byId: Uint32Array;
  private readonly idOff: Uint32Array;

  constructor(
    readonly meta: BlockMeta & { sources: string[] },
    readonly columns: number,
    private readonly raw: Uint8Array,
    r: ByteReader,
    what: string,
  ) {
    const numPages = r.uvarint();
    this.pageOff = new Float64Array(numPages);
    this.pageLen = new Uint32Array(numPages);
    this.pageRawLen = new Uint32Array(numPages);
    this.pageCrc = new Uint32Array(numPages);
    for (let p = 0; p < numPages; p++) {
      this.pageOff[p] = r.uvarint();
      this.pageLen[p] = r.uvarint();
      this.pageRawLen[p] = r.uvarint();
      this.pageCrc[p] = r.u32();
    }
    const n = r.uvarint();
    this.numSeries = n;
    this.seriesPage = new Uint32Array(n);
    this.seriesOff = new Uint32Array(n);
    this.seriesLen = new Uint32Array(n);
    this.minT = new Float64Array(n);
    this.maxT = new Float64Array(n);
    this.labelOff = new Uint32Array(n);
    this.labelLen = new Uint32Array(n);
    this.idOff = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      this.idOff[i] = r.pos;
      r.bytes(IdSize);
      const ll = r.uvarint();
      this.labelOff[i] = r.pos;
      this.labelLen[i] = ll;
      r.bytes(ll);
      const page = r.uvarint();
      if (page >= numPages) throw new CorruptionError(`${what}: series ${i} names page ${page} of ${numPages}`);
      this.seriesPage[i] = page;
      this.seriesOff[i] = r.uvarint();
      this.seriesLen[i] = r.uvarint();
      if (this.seriesOff[i]! + this.seriesLen[i]! > this.pageRawLen[page]!) throw new CorruptionError(`${what}: series ${i} overruns page ${page}`);
      this.minT[i] = r.f64();
      this.maxT[i] = r.f64();
    }
    if (r.pos !== r.end) throw new CorruptionError(`${what}: ${r.end - r.pos} trailing bytes in the index`);
    this.byId = new Uint32Array(n);
    for (let i = 0; i < n; i++) this.byId[i] = i;
    this.byId.sort((a, b) => compareIds(raw, this.idOff[a]!, raw, this.idOff[b]!));
  }

  /** Position (label order) of the series with this 16-byte id, or -1. */
  find(id: Uint8Array): number {
    let lo = 0;
    let hi = this.numSeries - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const i = this.byId[mid]!;
      const c = compareIds(this.raw, this.idOff[i]!, id, 0);
      if (c === 0) return i;
      if (c < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** Label sets decoded so far, by position (sparse: most reads decode a few series of a block). */
  private decoded: (Labels | undefined)[] | undefined;
  /** Postings: label name -> value -> ascending series positions (built on first select). */
  private byName: Map<string, Map<string, Uint32Array>> | undefined;

  /**
   * The decoded label set of series i, made once and kept with the index
   * (readers key per-series state on the object). Only the series read
   * are decoded: every label set of a 50k-series block took ~60 MB of
   * JS heap, which every major GC then marked (measured).
   */
  labelSet(i: number): Labels {
    const sets = (this.decoded ??= new Array<Labels | undefined>(this.numSeries));
    return (sets[i] ??= decodeLabels(this.raw, this.labelOff[i]!, this.labelLen[i]!));
  }

  private postings(): Map<string, Map<string, Uint32Array>> {
    if (this.byName === undefined) {
      // Label sets decoded here are dropped: only names, values and positions stay.
      const lists = new Map<string, Map<string, number[]>>();
      for (let i = 0; i < this.numSeries; i++) {
        for (const l of this.decoded?.[i] ?? decodeLabels(this.raw, this.labelOff[i]!, this.labelLen[i]!)) {
          let values = lists.get(l.name);
          if (values === undefined) lists.set(l.name, (values = new Map()));
          let list = values.get(l.value);
          if (list === undefined) values.set(l.value, (list = []));
          list.push(i);
        }
      }
      const m = new Map<string, Map<string, Uint32Array>>();
      for (const [name, values] of lists) m.set(name, new Map([...values].map(([v, list]) => [v, Uint32Array.from(list)])));
      this.byName = m;
    }
    return this.byName;
  }

  /**
   * Positions (ascending) of the series whose labels match every matcher,
   * with Prometheus' semantics: a matcher that matches the empty string
   * also selects series without the label. A block carries its own label
   * index, so compacted days need no entries in the index store.
   *
   * A matcher that does not match '' selects exactly the series holding a
   * value it matches: the union of those values' postings (each distinct
   * value tested once; literal alternations looked up directly). One that
   * matches '' selects every series but those holding a value it does not
   * match.
   */
  select(matchers: readonly Matcher[]): readonly number[] {
    // Blocks are immutable, so an answer holds for as long as the index is
    // cached: repeated reads (and the plan and batch of one read) match once.
    const key = matchersKey(matchers);
    const memo = (this.selected ??= new Map());
    const hit = memo.get(key);
    if (hit !== undefined) return hit;
    const out = this.match(matchers);
    if (memo.size >= SelectMemoSize) memo.delete(memo.keys().next().value!);
    memo.set(key, out);
    return out;
  }

  /** Answers of select() by matchers (as text), oldest first out. */
  private selected: Map<string, readonly number[]> | undefined;

  private match(matchers: readonly Matcher[]): number[] {
    const byName = this.postings();
    const n = this.numSeries;
    let restricting = 0;
    // Per series: how many restricting matchers select it, and whether another matcher excludes it.
    const count = new Uint16Array(n);
    const excluded = new Uint8Array(n);
    for (const mt of matchers) {
      const values = byName.get(mt.name);
      if (!mt.matches('')) {
        restricting++;
        if (values === undefined) return [];
        const literal = setMatches(mt);
        if (literal !== undefined) {
          for (const v of new Set(literal)) {
            const list = values.get(v);
            if (list !== undefined) for (const i of list) count[i]!++;
          }
        } else {
          for (const [v, list] of values) if (mt.matches(v)) for (const i of list) count[i]!++;
        }
      } else if (values !== undefined) {
        for (const [v, list] of values) if (!mt.matches(v)) for (const i of list) excluded[i] = 1;
      }
    }
    const out: number[] = [];
    for (let i = 0; i < n; i++) if (count[i] === restricting && excluded[i] === 0) out.push(i);
    return out;
  }

  idAt(i: number): Uint8Array {
    return this.raw.subarray(this.idOff[i]!, this.idOff[i]! + IdSize);
  }

  private hexIds: string[] | undefined;

  /**
   * The id of series i as hex (seriesIdToHex of idAt(i)), made once per
   * series and kept with the index: reads look block series up by it, and
   * building the string anew cost ~1 µs per series and read (measured).
   */
  hexIdAt(i: number): string {
    const ids = (this.hexIds ??= new Array<string>(this.numSeries));
    let h = ids[i];
    if (h === undefined) ids[i] = h = seriesIdToHex(this.idAt(i));
    return h;
  }

  /** Canonical label bytes of series i (a view). */
  labelsAt(i: number): Uint8Array {
    return this.raw.subarray(this.labelOff[i]!, this.labelOff[i]! + this.labelLen[i]!);
  }

  get byteSize(): number {
    return this.raw.length + this.numSeries * 40 + this.pageOff.length * 20;
  }
}

function compareIds(a: Uint8Array, ao: number, b: Uint8Array, bo: number): number {
  for (let k = 0; k < IdSize; k++) {
    const d = a[ao + k]! - b[bo + k]!;
    if (d !== 0) return d;
  }
  return 0;
}

/** Reads and checks a block's index with one ranged read of index + footer. */
export async function readBlockIndex(bkt: BucketReader, key: string, loc: BlockLocation): Promise<BlockIndex> {
  const tail = await bkt.getRange(key, loc.indexOffset, loc.indexLength + BlockFooterSize);
  return parseBlockIndex(tail, loc, key);
}

/** Parses index + footer bytes (the object's tail from `loc.indexOffset`). */
export function parseBlockIndex(tail: Uint8Array, loc: BlockLocation, what: string): BlockIndex {
  if (tail.length !== loc.indexLength + BlockFooterSize) throw new CorruptionError(`${what}: short read of the block index (${tail.length} bytes)`);
  const f = new ByteReader(tail, loc.indexLength, tail.length, what);
  const indexOffset = f.f64();
  const indexLength = f.u32();
  const rawLength = f.u32();
  const crc = f.u32();
  f.u32();
  if (f.u32() !== BlockMagic) throw new CorruptionError(`${what}: not a block (bad footer magic)`);
  if (indexOffset !== loc.indexOffset || indexLength !== loc.indexLength || indexOffset < BlockHeaderSize || indexOffset + indexLength + BlockFooterSize !== loc.size) {
    throw new CorruptionError(`${what}: footer (index at ${indexOffset}, ${indexLength} bytes) does not match the catalog entry (${loc.indexOffset}, ${loc.indexLength}, size ${loc.size})`);
  }
  const packed = tail.subarray(0, indexLength);
  if (crc32c(packed) !== crc) throw new CorruptionError(`${what}: block index checksum mismatch`);
  const raw = inflate(packed, rawLength, `${what} index`);
  const r = new ByteReader(raw, 0, raw.length, what);
  const metaLen = r.uvarint();
  let meta: BlockMeta & { sources: string[] };
  try {
    meta = JSON.parse(new TextDecoder().decode(r.bytes(metaLen))) as BlockMeta & { sources: string[] };
  } catch (cause) {
    throw new CorruptionError(`${what}: block metadata is not JSON`, { cause });
  }
  const columns = r.uvarint();
  return new BlockIndex(meta, columns, raw, r, what);
}

function inflate(packed: Uint8Array, rawLength: number, what: string): Uint8Array {
  let raw: Uint8Array;
  try {
    raw = brotliDecompressSync(packed, { maxOutputLength: rawLength + 1 });
  } catch (cause) {
    throw new CorruptionError(`${what}: does not decompress`, { cause });
  }
  if (raw.length !== rawLength) throw new CorruptionError(`${what}: decompressed to ${raw.length} bytes, want ${rawLength}`);
  return raw;
}

/** Two page ranges closer than this are fetched with one request. */
const CoalesceGapBytes = 64 * 1024;

/**
 * Fetches, checks and decompresses the given pages (ascending, distinct),
 * coalescing neighbouring pages into one ranged read.
 */
export async function readPages(bkt: BucketReader, key: string, ix: BlockIndex, pages: readonly number[]): Promise<Map<number, Uint8Array>> {
  const groups: number[][] = [];
  let gEnd = -Infinity;
  for (const p of pages) {
    const off = ix.pageOff[p]!;
    if (groups.length > 0 && off - gEnd <= CoalesceGapBytes) groups[groups.length - 1]!.push(p);
    else groups.push([p]);
    gEnd = off + ix.pageLen[p]!;
  }
  const out = new Map<number, Uint8Array>();
  await Promise.all(
    groups.map(async (g) => {
      const first = ix.pageOff[g[0]!]!;
      const last = g[g.length - 1]!;
      const buf = await bkt.getRange(key, first, ix.pageOff[last]! + ix.pageLen[last]! - first);
      for (const p of g) {
        const data = buf.subarray(ix.pageOff[p]! - first, ix.pageOff[p]! - first + ix.pageLen[p]!);
        if (data.length !== ix.pageLen[p]! || crc32c(data) !== ix.pageCrc[p]!) throw new CorruptionError(`${key}: page ${p} checksum mismatch`);
        out.set(p, inflate(data, ix.pageRawLen[p]!, `${key} page ${p}`));
      }
    }),
  );
  return out;
}
