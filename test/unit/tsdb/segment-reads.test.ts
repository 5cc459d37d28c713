/**
 * Reads over many segments through the lean path (lib/tsdb/cached-segment.ts,
 * series-merge.ts, xor-flat.ts): the same answers as merge.ts's iterators,
 * bit for bit and byte for byte.
 *
 * - The flat XOR decoder yields what XORIterator yields, on random chunks
 *   (stale markers, NaN payloads, -0, large gaps, negative times) and on
 *   corrupted ones (where it must give up exactly when the iterator errs).
 * - mergeColumns / mergeChunks equal drainColumns(SeriesIterator) /
 *   seriesChunks on random chunk sets: overlapping chunks of different
 *   ranks, equal timestamps (the later-written object wins), decoded
 *   block columns, ranges that cut.
 * - Through a tenant: random writes over many segments read back as a
 *   reference merge holds them, with segments cached whole or not and a
 *   table cache too small to hold them (eviction); a warm read of cached
 *   segments makes no bucket request; a corrupted chunk is reported.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { Encoding } from '../../../lib/chunkenc/chunk.ts';
import { XORChunk, XORIterator } from '../../../lib/chunkenc/xor.ts';
import { XorColumnEncoder } from '../../../lib/chunkenc/xor-columns.ts';
import { drainColumns, seriesChunks, SeriesIterator, type ColumnarSeries, type SourceChunk } from '../../../lib/storage/merge.ts';
import { ChunkList, mergeChunks, mergeColumns } from '../../../lib/tsdb/series-merge.ts';
import { decodeXorInto } from '../../../lib/tsdb/xor-flat.ts';
import { newSeriesEntry, type TenantDB } from '../../../lib/tsdb/db.ts';
import { TenantChunkQuerier, TenantQuerier, type QuerierDeps } from '../../../lib/tsdb/querier.ts';
import { TableCache } from '../../../lib/tsdb/table-cache.ts';
import type { BucketReader } from '../../../lib/objstore/bucket.ts';
import { labelsFromPairs, labelsToString } from '../../../lib/labels/labels.ts';
import { MatchType, newMatcher } from '../../../lib/labels/matcher.ts';
import { CorruptionError } from '../../../lib/util/errors.ts';
import { prng } from '../../helpers/prng.ts';
import { D0, MaxT, Minute, OtherNaN, Stale, hexBits, memStorage } from '../compact/helpers.ts';

const Values = [Stale, OtherNaN, -0, 0, Infinity, -Infinity, 1.5, 42, Number.MIN_VALUE, -1e300];

/** A random value: special ones, repeats of the previous, or random doubles. */
function value(rand: () => number, prev: number): number {
  const r = rand();
  if (r < 0.25) return Values[Math.floor(rand() * Values.length)]!;
  if (r < 0.45) return prev;
  if (r < 0.7) return Math.round(rand() * 1e4) / 8;
  return (rand() - 0.5) * 2 ** Math.floor(rand() * 120 - 60);
}

/** An XOR chunk of `times` with random values; returns the chunk and its samples. */
function chunkOf(rand: () => number, times: number[]): { bytes: Uint8Array; t: number[]; v: number[] } {
  const c = new XORChunk();
  const app = c.appender();
  const v: number[] = [];
  let prev = 1;
  for (const t of times) {
    prev = value(rand, prev);
    app.append(t, prev);
    v.push(prev);
  }
  return { bytes: c.bytes().slice(), t: times, v };
}

/** Increasing timestamps: mostly regular, sometimes jittered, sometimes huge gaps (every dod bucket). */
function times(rand: () => number, n: number, start: number): number[] {
  const out: number[] = [];
  let t = start;
  let d = 15_000;
  for (let k = 0; k < n; k++) {
    out.push(t);
    const r = rand();
    if (r < 0.5) d = 15_000;
    else if (r < 0.8) d = 15_000 + Math.floor((rand() - 0.5) * 2 ** (1 + Math.floor(rand() * 20)));
    else d = Math.floor(rand() * 2 ** (10 + Math.floor(rand() * 30)));
    t += Math.max(1, d);
  }
  return out;
}

function iteratorSamples(bytes: Uint8Array): { t: number[]; v: string[]; err: boolean } {
  const it = new XORIterator();
  it.reset(bytes);
  const t: number[] = [];
  const v: string[] = [];
  while (it.next()) {
    t.push(it.atT());
    v.push(hexBits(it.atV()));
  }
  return { t, v, err: it.err() !== null };
}

function flatSamples(buf: Uint8Array, off: number, len: number): { t: number[]; v: string[]; ok: boolean } {
  const t: number[] = [];
  const v: string[] = [];
  const ok = decodeXorInto(buf, off, len, { push: (a, b) => (t.push(a), v.push(hexBits(b))) });
  return { t, v, ok };
}

describe('flat XOR decoding', () => {
  it('yields what XORIterator yields, and gives up exactly where it errs', () => {
    const rand = prng(11);
    let corruptErrs = 0;
    for (let c = 0; c < 3000; c++) {
      // Prepare: a chunk of 1-130 samples, placed at an offset inside a larger buffer.
      const n = 1 + Math.floor(rand() * (rand() < 0.5 ? 4 : 130));
      const start = Math.floor((rand() - 0.3) * 2 ** Math.floor(rand() * 50));
      const { bytes, t, v } = chunkOf(rand, times(rand, n, start));
      const pad = Math.floor(rand() * 7);
      const buf = new Uint8Array(bytes.length + 2 * pad).fill(0xa5);
      buf.set(bytes, pad);
      // Act
      const got = flatSamples(buf, pad, bytes.length);
      // Assess: what the iterator yields, bit for bit (NaN payloads too), and the times written.
      const ref = iteratorSamples(bytes);
      assert.ok(got.ok && !ref.err, `chunk ${c}`);
      assert.deepEqual(got.t, t, `chunk ${c}: times`);
      assert.deepEqual(got.v, ref.v, `chunk ${c}: values`);
      assert.equal(got.v.length, v.length);

      // Prepare 2: corrupted copies (truncated, a flipped byte, a wrong sample count).
      const bad = [bytes.slice(0, Math.floor(rand() * bytes.length)), bytes.slice(), bytes.slice()];
      bad[1]![Math.floor(rand() * bad[1]!.length)]! ^= 1 << Math.floor(rand() * 8);
      if (bad[2]!.length >= 2) bad[2]![1] = (bad[2]![1]! + 1 + Math.floor(rand() * 5)) & 0xff;
      for (const b of bad) {
        const buf2 = new Uint8Array(b.length + 8).fill(0xff);
        buf2.set(b, 3);
        // Act 2
        const want = iteratorSamples(b);
        const flat = flatSamples(buf2, 3, b.length);
        // Assess 2: no error -> same samples; error -> the flat decoder refuses.
        if (want.err) corruptErrs++;
        assert.equal(flat.ok, !want.err && b.length >= 2, `chunk ${c}, corrupted: ok`);
        if (flat.ok) {
          assert.deepEqual(flat.t, want.t);
          assert.deepEqual(flat.v, want.v);
        }
      }
    }
    assert.ok(corruptErrs > 1000, `corruptions the iterator rejects: ${corruptErrs}`);
  });
});

/** Random chunk sets of one series: segments' chunks (some overlapping, some with equal timestamps), block columns, block XOR chunks. */
function randomSources(rand: () => number): SourceChunk[] {
  const out: SourceChunk[] = [];
  const k = 1 + Math.floor(rand() * 40);
  const orders = Array.from({ length: k }, (_, i) => i).sort(() => rand() - 0.5);
  let t0 = D0;
  for (let i = 0; i < k; i++) {
    // Mostly one chunk after another; sometimes back in time (overlaps), on a coarse grid (equal timestamps).
    if (rand() < 0.3) t0 -= Math.floor(rand() * 8) * 15_000;
    const n = rand() < 0.6 ? 1 + Math.floor(rand() * 3) : 1 + Math.floor(rand() * 150);
    // (An XOR chunk's timestamps strictly increase: its appender refuses anything else.)
    const ts = times(rand, n, t0).map((t) => (rand() < 0.5 ? t - (t % 15_000) : t));
    for (let j = 1; j < ts.length; j++) if (ts[j]! < ts[j - 1]!) ts[j] = ts[j - 1]!;
    const dedup = ts.filter((t, j) => j === 0 || t !== ts[j - 1]);
    const { bytes, v } = chunkOf(rand, dedup);
    const minTime = dedup[0]!;
    const maxTime = dedup[dedup.length - 1]!;
    const r = rand();
    if (r < 0.1) {
      out.push({ minTime, maxTime, encoding: Encoding.XOR, data: new Uint8Array(0), order: orders[i]!, samples: { t: Float64Array.from(dedup), v: Float64Array.from(v), from: 0, to: dedup.length } });
    } else out.push({ minTime, maxTime, encoding: Encoding.XOR, data: bytes, order: orders[i]! });
    t0 = maxTime + (rand() < 0.5 ? 15_000 : 1);
  }
  return out;
}

/** The same chunks as a ChunkList: rows (segment chunks) in shared buffers, at offsets, behind other rows when `view`. */
function listOf(srcs: SourceChunk[], view: boolean): ChunkList {
  if (!view || srcs.some((c) => c.samples !== undefined)) {
    const list = new ChunkList(srcs.length);
    for (const c of srcs) {
      if (c.samples !== undefined) list.pushSource(c);
      else {
        const buf = new Uint8Array(c.data.length + 5);
        buf.set(c.data, 5);
        list.push(c.minTime, c.maxTime, c.order, c.encoding, buf, 5, c.data.length);
      }
    }
    return list;
  }
  const n = srcs.length + 3;
  const rows = { minT: new Float64Array(n), maxT: new Float64Array(n), order: new Uint32Array(n), enc: new Uint8Array(n), off: new Uint32Array(n), len: new Uint32Array(n), arena: new Uint32Array(n) };
  const shared = new Uint8Array(srcs.reduce((a, c) => a + c.data.length, 0) + 9).fill(0x5a);
  let at = 9;
  srcs.forEach((c, i) => {
    const k = i + 3;
    rows.minT[k] = c.minTime;
    rows.maxT[k] = c.maxTime;
    rows.order[k] = c.order;
    rows.enc[k] = c.encoding;
    rows.off[k] = at;
    rows.len[k] = c.data.length;
    shared.set(c.data, at);
    at += c.data.length;
  });
  rows.arena.fill(1);
  return ChunkList.view({ first: 3, n: srcs.length, ...rows, bufs: [new Uint8Array(1), shared] });
}

function chunkLines(cs: readonly { minTime: number; maxTime: number; data: Uint8Array }[]): string[] {
  return cs.map((c) => `${c.minTime} ${c.maxTime} ${Buffer.from(c.data).toString('hex')}`);
}

describe('series merge on flat chunk lists', () => {
  it('equals merge.ts: samples bit for bit, chunk answers byte for byte', () => {
    const rand = prng(5);
    let overlapping = 0;
    let equalTimes = 0;
    // Every answer, to recheck at the end: merged columns share slabs, and a later merge must not overwrite an earlier answer.
    const answers: { got: ReturnType<typeof mergeColumns>; want: ReturnType<typeof drainColumns>; what: string }[] = [];
    for (let c = 0; c < 1500; c++) {
      // Prepare
      const srcs = randomSources(rand);
      const lo = Math.min(...srcs.map((s) => s.minTime));
      const hi = Math.max(...srcs.map((s) => s.maxTime));
      const r = rand();
      const mint = r < 0.3 ? -MaxT : lo + Math.floor(rand() * (hi - lo + 1));
      const maxt = r < 0.3 ? MaxT : mint + Math.floor(rand() * (hi - mint + 2));
      const sorted = [...srcs].sort((a, b) => a.minTime - b.minTime);
      if (sorted.some((s, i) => i > 0 && s.minTime <= sorted[i - 1]!.maxTime)) overlapping++;
      const want = drainColumns(new SeriesIterator(srcs, mint, maxt));
      const wantChunks = chunkLines(seriesChunks(srcs, mint, maxt, new XorColumnEncoder()));
      for (const view of [false, true]) {
        const list = listOf(srcs, view);
        // Act
        const got = mergeColumns(list, mint, maxt);
        const gotChunks = chunkLines(mergeChunks(list, mint, maxt, new XorColumnEncoder()));
        // Assess
        const what = `case ${c} (${view ? 'view' : 'copy'}) [${mint}, ${maxt}]`;
        assert.equal(got.to - got.from, want.to, `${what}: sample count`);
        for (let i = 0; i < want.to; i++) {
          assert.equal(got.t[got.from + i], want.t[i], `${what}: t[${i}]`);
          assert.equal(hexBits(got.v[got.from + i]!), hexBits(want.v[i]!), `${what}: v[${i}]`);
        }
        assert.deepEqual(gotChunks, wantChunks, `${what}: chunks`);
        answers.push({ got, want, what });
      }
      if (new Set(srcs.flatMap((s) => [s.minTime, s.maxTime])).size < 2 * srcs.length) equalTimes++;
    }
    assert.ok(overlapping > 300 && equalTimes > 300, `cases with overlaps ${overlapping}, with shared timestamps ${equalTimes}`);
    const slabs = new Set(answers.map((a) => a.got.t));
    assert.ok(slabs.size > 1, `answers came from ${slabs.size} slab(s)`);
    for (const { got, want, what } of answers) {
      assert.equal(got.to - got.from, want.to, `${what}, rechecked: sample count`);
      for (let i = 0; i < want.to; i++) assert.equal(hexBits(got.v[got.from + i]!), hexBits(want.v[i]!), `${what}, rechecked: v[${i}]`);
    }
  });
});

/** Counts bucket reads; corrupts the bytes of `corrupt` (a key) at every read. */
function countingBucket(inner: BucketReader, corrupt?: { key: string; at: number }): BucketReader & { gets: number } {
  const b = {
    gets: 0,
    async getRange(key: string, offset: number, length: number) {
      b.gets++;
      const out = await inner.getRange(key, offset, length);
      if (corrupt !== undefined && key === corrupt.key && corrupt.at >= offset && corrupt.at < offset + out.length) out[corrupt.at - offset]! ^= 0x10;
      return out;
    },
    get: (key: string) => inner.get(key),
    head: (key: string) => inner.head(key),
    exists: (key: string) => inner.exists(key),
    iter: (prefix: string) => inner.iter(prefix),
  };
  return b as unknown as BucketReader & { gets: number };
}

/** Every sample a tenant read answers, as `labels t bits` lines, three ways (iterator, columns, XOR chunks). */
async function readLines(deps: QuerierDeps, mint: number, maxt: number): Promise<string[][]> {
  const m = newMatcher(MatchType.Regexp, '__name__', '.+');
  const iter: string[] = [];
  const cols: string[] = [];
  const chunks: string[] = [];
  const set = new TenantQuerier(deps, mint, maxt).select(true, undefined, m);
  while (await set.next()) {
    const s = set.at();
    const it = s.iterator();
    while (it.next()) iter.push(`${labelsToString(s.labels)} ${it.atT()} ${hexBits(it.atV())}`);
    assert.equal(it.err(), null);
    for (const c of (s as unknown as ColumnarSeries).columns()) for (let k = c.from; k < c.to; k++) cols.push(`${labelsToString(s.labels)} ${c.t[k]} ${hexBits(c.v[k]!)}`);
  }
  const cset = new TenantChunkQuerier(deps, mint, maxt).select(true, undefined, m);
  while (await cset.next()) {
    const s = cset.at();
    for (const c of s.chunks) {
      const it = XORChunk.fromBytes(c.data).iterator();
      while (it.next()) chunks.push(`${labelsToString(s.labels)} ${it.atT()} ${hexBits(it.atV())}`);
    }
  }
  return [iter, cols, chunks];
}

async function writeSegments(db: TenantDB, requests: number, rand: () => number): Promise<Map<string, Map<number, string>>> {
  const series = Array.from({ length: 30 }, (_, i) => newSeriesEntry(labelsFromPairs({ __name__: `m${i % 3}`, i: String(i) })));
  const ref = new Map<string, Map<number, string>>();
  for (let r = 0; r < requests; r++) {
    const app = db.appender();
    for (const s of series) {
      if (rand() < 0.5) continue; // a series in some segments only
      const key = labelsToString(s.labels);
      const m = ref.get(key) ?? new Map<number, string>();
      ref.set(key, m);
      for (let k = 0; k < 1 + Math.floor(rand() * 2); k++) {
        // A coarse grid: later segments rewrite earlier timestamps.
        const t = D0 + Math.floor(rand() * 40) * Minute;
        const v = rand() < 0.2 ? Stale : Math.round(rand() * 1e5) / 10;
        app.append(s, t, v);
        m.set(t, hexBits(v));
      }
    }
    await app.commit();
  }
  return ref;
}

function refLines(ref: Map<string, Map<number, string>>, mint: number, maxt: number): string[] {
  const out: string[] = [];
  for (const key of [...ref.keys()].sort()) {
    const m = ref.get(key)!;
    for (const t of [...m.keys()].filter((x) => x >= mint && x <= maxt).sort((a, b) => a - b)) out.push(`${key} ${t} ${m.get(t)}`);
  }
  return out;
}

describe('reads over many segments', () => {
  it('answer the later write, cached whole or not, with a cache too small for the tables', async () => {
    // Prepare: 80 segments of up to 30 series with rewrites and stale markers.
    const db = memStorage().tenant('t');
    const ref = await writeSegments(db, 80, prng(3));
    const s = db.stores;
    const cases = [
      { what: 'whole, large cache', whole: undefined, cache: 64 << 20 },
      { what: 'whole, 8 KB cache', whole: undefined, cache: 8 << 10 },
      { what: 'ranged reads, large cache', whole: 0, cache: 64 << 20 },
      { what: 'ranged reads, 8 KB cache', whole: 0, cache: 8 << 10 },
    ];
    for (const { what, whole, cache } of cases) {
      const deps: QuerierDeps = { bucket: s.bucket, index: s.index, catalog: s.catalog, tables: new TableCache(cache), cacheScope: 't/', wholeSegmentBytes: whole };
      for (const [mint, maxt] of [[-MaxT, MaxT], [D0 + 7 * Minute, D0 + 23 * Minute]] as const) {
        const want = refLines(ref, mint, maxt);
        // Act: twice (cold, then warm or evicted).
        for (const pass of [1, 2]) {
          const [iter, cols, chunks] = await readLines(deps, mint, maxt);
          // Assess (labels strings sort as the querier's label order here: one or two label pairs, same names).
          const label = `${what}, [${mint}, ${maxt}], pass ${pass}`;
          assert.ok(want.length > 100, label);
          assert.deepEqual(iter.sort(), [...want].sort(), `${label}: iterators`);
          assert.deepEqual(cols.sort(), [...want].sort(), `${label}: columns`);
          assert.deepEqual(chunks.sort(), [...want].sort(), `${label}: chunks`);
        }
      }
    }
  });

  it('read a cached segment with one request, then none; report corrupt chunk bytes', async () => {
    // Prepare
    const db = memStorage().tenant('t');
    await writeSegments(db, 20, prng(9));
    const s = db.stores;
    const segs = (await s.catalog.entries(-MaxT, MaxT)).entries.filter((e) => e.kind === 'segment');
    const cases = [
      { what: 'whole', whole: undefined, cold: segs.length, warm: 0 },
      { what: 'ranged', whole: 0, cold: 2 * segs.length, warm: segs.length },
    ];
    for (const { what, whole, cold, warm } of cases) {
      const bucket = countingBucket(s.bucket);
      const deps: QuerierDeps = { bucket, index: s.index, catalog: s.catalog, tables: new TableCache(), cacheScope: 't/', wholeSegmentBytes: whole };
      // Act
      const set = new TenantQuerier(deps, -MaxT, MaxT).select(true, undefined, newMatcher(MatchType.Equal, '__name__', 'm1'));
      while (await set.next()) set.at().iterator().next();
      const afterCold = bucket.gets;
      const set2 = new TenantQuerier(deps, -MaxT, MaxT).select(true, undefined, newMatcher(MatchType.Equal, '__name__', 'm1'));
      while (await set2.next()) set2.at().iterator().next();
      // Assess: requests per segment (each segment holds some m1 series: 10 series, half of them per request).
      assert.equal(afterCold, cold, `${what}: cold read requests`);
      assert.equal(bucket.gets - afterCold, warm, `${what}: warm read requests`);
    }
    // Prepare 2: a bit flipped in the first chunk byte of a segment.
    const seg = segs[0]!;
    for (const whole of [undefined, 0]) {
      const bucket = countingBucket(s.bucket, { key: seg.key, at: 8 });
      const deps: QuerierDeps = { bucket, index: s.index, catalog: s.catalog, tables: new TableCache(), cacheScope: 't/', wholeSegmentBytes: whole };
      // Act + Assess
      await assert.rejects(readLines(deps, -MaxT, MaxT), (e: Error) => e instanceof CorruptionError && /chunk CRC mismatch/.test(e.message), `whole ${whole}`);
    }
  });
});
