/**
 * The block side of a batch (lib/tsdb/batch-load.ts): the series of one
 * block that belong to the batch, as decoded columns or cached XOR chunks.
 */
import type { BlockEntry } from '../catalog/catalog.ts';
import { readBlockIndex, readPages, type BlockIndex } from '../block/reader.ts';
import { ColumnBuffer, decodeColumns, peekSampleCount } from '../block/columns.ts';
import type { Matcher } from '../labels/matcher.ts';
import { Encoding } from '../chunkenc/chunk.ts';
import type { SourceChunk } from '../storage/merge.ts';
import { XorColumnEncoder } from '../chunkenc/xor-columns.ts';
import { BlockEncodings, encodeSeries, pushCopy } from './series-chunks.ts';
import type { QuerierDeps } from './querier.ts';

const Empty = new Uint8Array(0);

/** Scratch of encodeSeries (used synchronously only, so one per process is enough). */
const scratchEncoder = new XorColumnEncoder();

/**
 * Loads the batch's series of one block, cut to [mint, maxt], into
 * `chunks` (by batch position): as decoded columns, or, when `xor` (chunk
 * answers) and a series lies wholly inside the range, as the XOR chunks of
 * the whole series, from the page cache or encoded once and cached there
 * (the block's {@link BlockEncodings}). Returns the bytes newly decoded.
 */
export async function readBlockSeries(
  deps: QuerierDeps,
  entry: BlockEntry,
  plan: { readonly mint: number; readonly maxt: number; readonly matchers: readonly Matcher[] },
  position: ReadonlyMap<string, number>,
  chunks: (SourceChunk[] | undefined)[],
  ord: number,
  xor: boolean,
): Promise<number> {
  const { mint, maxt } = plan;
  const ix = await loadBlockIndex(deps, entry);
  const hits: number[] = [];
  const owners: number[] = [];
  for (const i of ix.select(plan.matchers)) {
    if (ix.maxT[i]! < mint || ix.minT[i]! > maxt) continue;
    const j = position.get(ix.hexIdAt(i));
    if (j === undefined) continue;
    hits.push(i);
    owners.push(j);
  }
  if (hits.length === 0) return 0;
  const push = (k: number, c: SourceChunk) => (chunks[owners[k]!] ??= []).push(c);
  const cache = deps.pages;
  const encKey = `${deps.cacheScope}${entry.id}/xor`;
  const whole = (i: number) => xor && ix.minT[i]! >= mint && ix.maxT[i]! <= maxt;
  let encs = xor ? cache?.getDerived<BlockEncodings>(encKey) : undefined;
  // What is not cached gets decoded.
  const todo: number[] = [];
  let bytes = 0;
  for (let k = 0; k < hits.length; k++) {
    const i = hits[k]!;
    if (encs !== undefined && encs.has(i) && whole(i)) {
      encs.pushTo(i, (chunks[owners[k]!] ??= []), ord);
      bytes += encs.bytesOf(i);
    } else todo.push(k);
  }
  if (todo.length === 0) return bytes;
  const pages = [...new Set(todo.map((k) => ix.seriesPage[hits[k]!]!))].sort((a, b) => a - b);
  const raw = await readPagesCached(deps, entry, ix, pages);
  // Every series decoded into one pair of columns, sized up front; the
  // series' source chunks are views of it (no copy per series).
  let total = 0;
  for (const k of todo) {
    const i = hits[k]!;
    total += peekSampleCount(raw.get(ix.seriesPage[i]!)!, ix.seriesOff[i]!, ix.seriesOff[i]! + ix.seriesLen[i]!);
  }
  const buf = new ColumnBuffer(1, Math.max(16, total));
  bytes += 16 * Math.max(16, total);
  const from = new Uint32Array(todo.length);
  const to = new Uint32Array(todo.length);
  /** 1 when the range cut samples off the series (then it is never cached whole). */
  const cut = new Uint8Array(todo.length);
  for (let j = 0; j < todo.length; j++) {
    const i = hits[todo[j]!]!;
    const off = ix.seriesOff[i]!;
    const start = buf.n;
    decodeColumns(raw.get(ix.seriesPage[i]!)!, off, off + ix.seriesLen[i]!, buf, `${entry.key} series ${i}`);
    // Cut to [mint, maxt].
    const t = buf.t;
    let a = start;
    while (a < buf.n && t[a]! < mint) a++;
    let b = buf.n;
    while (b > a && t[b - 1]! > maxt) b--;
    from[j] = a;
    to[j] = b;
    cut[j] = a !== start || b !== buf.n ? 1 : 0;
  }
  const t = buf.t;
  const v = buf.v;
  let added = false;
  for (let j = 0; j < todo.length; j++) {
    const k = todo[j]!;
    const i = hits[k]!;
    if (from[j] === to[j]) continue;
    if (whole(i) && cut[j] === 0) {
      const out = (chunks[owners[k]!] ??= []);
      // (A concurrent read of the block may have added it meanwhile.)
      if (encs?.has(i) === true) {
        encs.pushTo(i, out, ord);
        continue;
      }
      encodeSeries(t, v, from[j]!, to[j]!, scratchEncoder);
      if (cache !== undefined && (encs ??= new BlockEncodings(ix.numSeries)).add(i, scratchEncoder, cache.maxValueBytes)) {
        encs.pushTo(i, out, ord);
        added = true;
      } else pushCopy(scratchEncoder, out, ord);
      continue;
    }
    // Kept decoded: sample answers read them as they are; chunk answers
    // encode them (seriesChunks).
    const samples = { t, v, from: from[j]!, to: to[j]! };
    push(k, { minTime: t[from[j]!]!, maxTime: t[to[j]! - 1]!, encoding: Encoding.XOR, data: Empty, order: ord, samples });
  }
  // (Again after growing: the cache counts the entry's new size.)
  if (added) cache!.setDerived(encKey, encs!);
  return bytes;
}

/** readPages through the page cache: only pages not cached are fetched (neighbours still in one read). */
async function readPagesCached(deps: QuerierDeps, entry: BlockEntry, ix: BlockIndex, pages: readonly number[]): Promise<Map<number, Uint8Array>> {
  const cache = deps.pages;
  if (cache === undefined) return readPages(deps.bucket, entry.key, ix, pages);
  const out = new Map<number, Uint8Array>();
  const missing: number[] = [];
  const key = (p: number) => `${deps.cacheScope}${entry.id}/${p}`;
  for (const p of pages) {
    const hit = cache.get(key(p));
    if (hit !== undefined) out.set(p, hit);
    else missing.push(p);
  }
  if (missing.length > 0) {
    for (const [p, bytes] of await readPages(deps.bucket, entry.key, ix, missing)) {
      cache.set(key(p), bytes);
      out.set(p, bytes);
    }
  }
  return out;
}

/** The index of a block, through the table cache. */
export function loadBlockIndex(deps: QuerierDeps, entry: BlockEntry): Promise<BlockIndex> {
  return deps.tables.get<BlockIndex>(deps.cacheScope + entry.id, () => readBlockIndex(deps.bucket, entry.key, entry));
}
