/**
 * Selects answered batch by batch (lib/tsdb/batch-load.ts): the series of a
 * read over many uncompacted segments are loaded a batch of series at a
 * time, so the answer starts early and memory stays bounded.
 *
 * - Correctness: random writes over many segments (series spread over the
 *   segments, late and out-of-order samples, rewrites across segments and
 *   inside a request, stale markers, NaN payloads, -0.0, ±Inf), then the
 *   same after compaction with more segments on top, read through both
 *   queriers (iterators, SAMPLES columns, XOR chunks) with budgets that
 *   force one series per batch, a few batches, or one batch, and compared
 *   bit for bit with a reference merge (the later write wins).
 * - Bound: every batch stays near the budget, and a read of 400 segments
 *   of one-sample chunks fits a 48 MB heap in a child process (a read that
 *   keeps an object per stored chunk runs out of heap there).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { Compactor } from '../../../lib/compact/compactor.ts';
import { UlidFactory } from '../../../lib/tsdb/ulid.ts';
import { newSeriesEntry, type TenantDB } from '../../../lib/tsdb/db.ts';
import { BatchedSeriesSet, TenantChunkQuerier, TenantQuerier, type QuerierDeps } from '../../../lib/tsdb/querier.ts';
import { TableCache } from '../../../lib/tsdb/table-cache.ts';
import { PageCache } from '../../../lib/tsdb/page-cache.ts';
import type { SeriesEntry } from '../../../lib/tsdb/series-cache.ts';
import { compareLabels, labelsFromPairs, labelsGet, labelsToString, type Labels } from '../../../lib/labels/labels.ts';
import { MatchType, newMatcher, type Matcher } from '../../../lib/labels/matcher.ts';
import { XORChunk } from '../../../lib/chunkenc/xor.ts';
import type { ColumnarSeries } from '../../../lib/storage/merge.ts';
import { prng } from '../../helpers/prng.ts';
import { Clock, D0, Hour, MaxT, Minute, OtherNaN, Stale, hexBits, memStorage, storesOn } from '../compact/helpers.ts';

/** The reference: per series, time -> value bits; the later write wins. */
class Reference {
  readonly labels = new Map<string, Labels>();
  readonly samples = new Map<string, Map<number, string>>();

  apply(s: SeriesEntry, t: number, v: number): void {
    const key = labelsToString(s.labels);
    this.labels.set(key, s.labels);
    let m = this.samples.get(key);
    if (m === undefined) this.samples.set(key, (m = new Map()));
    m.set(t, hexBits(v));
  }

  /** Lines `labels t bits` of the series matching every matcher, in label order, then time order. */
  lines(mint: number, maxt: number, matchers: readonly Matcher[]): string[] {
    const keys = [...this.labels.keys()].filter((k) => matchers.every((m) => m.matches(labelsGet(this.labels.get(k)!, m.name))));
    keys.sort((a, b) => compareLabels(this.labels.get(a)!, this.labels.get(b)!));
    const out: string[] = [];
    for (const k of keys) {
      const m = this.samples.get(k)!;
      for (const t of [...m.keys()].filter((x) => x >= mint && x <= maxt).sort((a, b) => a - b)) out.push(`${k} ${t} ${m.get(t)}`);
    }
    return out;
  }
}

const Values = [Stale, OtherNaN, -0, 0, Infinity, -Infinity, 1.5, 42];

/** Writes `requests` random requests: each a random subset of `series`, 1-3 samples each, some rewriting earlier ones. */
async function writeRandom(db: TenantDB, series: SeriesEntry[], requests: number, ref: Reference, rand: () => number, from: number): Promise<void> {
  for (let r = 0; r < requests; r++) {
    const app = db.appender();
    for (const s of series) {
      if (rand() < 0.4) continue;
      const n = 1 + Math.floor(rand() * 3);
      for (let k = 0; k < n; k++) {
        // Times on a coarse grid, so segments overlap and rewrite each other.
        const t = from + Math.floor(rand() * 120) * Minute;
        const v = rand() < 0.3 ? Values[Math.floor(rand() * Values.length)]! : Math.round(rand() * 1e6) / 100;
        app.append(s, t, v);
        ref.apply(s, t, v);
      }
    }
    await app.commit();
  }
}

function depsOf(db: TenantDB, batchBytes: number | undefined): QuerierDeps {
  const s = db.stores;
  return { bucket: s.bucket, index: s.index, catalog: s.catalog, tables: new TableCache(), pages: new PageCache(), cacheScope: `${db.tenant}/`, batchBytes };
}

const bits = new Float64Array(1);
function line(labels: Labels, t: number, v: number): string {
  bits[0] = v;
  return `${labelsToString(labels)} ${t} ${hexBits(bits[0])}`;
}

/**
 * Reads [mint, maxt] three ways (sample iterators, SAMPLES columns, XOR
 * chunks) and checks the chunks are ordered, disjoint and inside the range.
 */
async function readAll(deps: QuerierDeps, mint: number, maxt: number, matchers: Matcher[]) {
  const iter: string[] = [];
  const cols: string[] = [];
  const chunks: string[] = [];
  const q = new TenantQuerier(deps, mint, maxt);
  const set = q.select(true, undefined, ...matchers);
  while (await set.next()) {
    const s = set.at();
    const it = s.iterator();
    while (it.next()) iter.push(line(s.labels, it.atT(), it.atV()));
    assert.equal(it.err(), null);
    for (const c of (s as unknown as ColumnarSeries).columns()) for (let k = c.from; k < c.to; k++) cols.push(line(s.labels, c.t[k]!, c.v[k]!));
  }
  const cq = new TenantChunkQuerier(deps, mint, maxt);
  const cset = cq.select(true, undefined, ...matchers);
  while (await cset.next()) {
    const s = cset.at();
    let prevMax = -Infinity;
    for (const c of s.chunks) {
      assert.ok(c.minTime > prevMax && c.minTime <= c.maxTime && c.minTime >= mint && c.maxTime <= maxt, `chunk [${c.minTime}, ${c.maxTime}] of ${labelsToString(s.labels)}`);
      prevMax = c.maxTime;
      const it = XORChunk.fromBytes(c.data).iterator();
      let first = true;
      while (it.next()) {
        if (first) assert.equal(it.atT(), c.minTime);
        first = false;
        chunks.push(line(s.labels, it.atT(), it.atV()));
      }
      assert.equal(it.err(), null);
    }
  }
  return { iter, cols, chunks, batches: (set as BatchedSeriesSet<unknown>).stats.batches, cbatches: (cset as BatchedSeriesSet<unknown>).stats.batches };
}

const Matchers: { what: string; ms: () => Matcher[] }[] = [
  { what: 'everything', ms: () => [newMatcher(MatchType.Regexp, '__name__', '.+')] },
  { what: 'one metric', ms: () => [newMatcher(MatchType.Equal, '__name__', 'm1')] },
  { what: 'a negative matcher', ms: () => [newMatcher(MatchType.NotEqual, 'grp', '2')] },
  { what: 'a regexp', ms: () => [newMatcher(MatchType.Regexp, 'i', '1.*')] },
];

/** Checks every matcher and range under budgets of one series per batch, a few batches, and one batch. */
async function assertReads(db: TenantDB, ref: Reference, ranges: [number, number][], what: string): Promise<void> {
  for (const [mint, maxt] of ranges) {
    for (const { what: mw, ms } of Matchers) {
      const want = ref.lines(mint, maxt, ms());
      for (const budget of [1, 20_000, undefined]) {
        // Act
        const got = await readAll(depsOf(db, budget), mint, maxt, ms());
        // Assess
        const label = `${what}, ${mw}, [${mint - D0}, ${maxt - D0}], budget ${budget ?? 'default'}`;
        assert.deepEqual(got.iter, want, `${label}: iterators`);
        assert.deepEqual(got.cols, want, `${label}: SAMPLES columns`);
        assert.deepEqual(got.chunks, want, `${label}: XOR chunks`);
        const seriesCount = new Set(want.map((l) => l.slice(0, l.indexOf('}') + 1))).size;
        if (budget === 1 && seriesCount > 1) assert.ok(got.batches >= seriesCount && got.cbatches >= seriesCount, `${label}: one series per batch (${got.batches})`);
        if (budget === undefined) assert.ok(got.batches <= 1 && got.cbatches <= 1, `${label}: one batch (${got.batches})`);
      }
    }
  }
}

describe('batched selects', () => {
  it('read exactly what a reference merge holds, over many segments, with blocks too, whatever the batch size', async () => {
    // Prepare: 40 series over 60 segments with random overlaps.
    const storage = memStorage();
    const db = storage.tenant('t');
    const rand = prng(7);
    const series = Array.from({ length: 40 }, (_, i) => newSeriesEntry(labelsFromPairs({ __name__: `m${i % 3}`, i: String(i), grp: String(i % 5) })));
    const ref = new Reference();
    const from = D0 + 2 * Hour;
    await writeRandom(db, series, 60, ref, rand, from);
    const ranges: [number, number][] = [
      [-MaxT, MaxT],
      [from + 17 * Minute, from + 61 * Minute],
      [from + 30 * Minute, from + 30 * Minute],
    ];
    // Act + Assess: segments only.
    await assertReads(db, ref, ranges, 'segments');

    // Prepare 2: compact into blocks, then more segments over the same times (and new series).
    const clock = new Clock(D0 + 40 * Hour);
    await new Compactor(storesOn(db, new UlidFactory(clock.now)), { now: clock.now, quality: 4, deleteGraceMs: 0 }).run({ force: true });
    const more = [...series.slice(0, 30), ...Array.from({ length: 5 }, (_, i) => newSeriesEntry(labelsFromPairs({ __name__: 'm1', i: `new${i}`, grp: '9' })))];
    await writeRandom(db, more, 25, ref, rand, from);
    const blocks = (await db.stores.catalog.entries(-MaxT, MaxT)).entries.filter((e) => e.kind === 'block').length;
    assert.ok(blocks > 0, 'the compactor made blocks');
    // Act + Assess 2: blocks and segments.
    await assertReads(db, ref, ranges, 'blocks and segments');
  });

  it('keep each batch near the budget and read every sample once', async () => {
    // Prepare: 120 segments of 200 one-sample series.
    const storage = memStorage();
    const db = storage.tenant('t');
    const series = Array.from({ length: 200 }, (_, i) => newSeriesEntry(labelsFromPairs({ __name__: 'up', i: String(i).padStart(3, '0') })));
    for (let s = 0; s < 120; s++) {
      const app = db.appender();
      for (let i = 0; i < series.length; i++) app.append(series[i]!, D0 + s * 15_000, i + s);
      await app.commit();
    }
    const cases = [{ budget: 256 * 1024 }, { budget: 1024 * 1024 }];
    for (const { budget } of cases) {
      // Act
      const set = new TenantChunkQuerier(depsOf(db, budget), -MaxT, MaxT).select(true, undefined, newMatcher(MatchType.Equal, '__name__', 'up'));
      let samples = 0;
      let seriesSeen = 0;
      while (await set.next()) {
        seriesSeen++;
        for (const c of set.at().chunks) samples += XORChunk.fromBytes(c.data).numSamples();
      }
      // Assess: 24 000 chunks of about 40 bytes each (960 KB) in batches of at most about the budget.
      const stats = (set as BatchedSeriesSet<unknown>).stats;
      assert.equal(seriesSeen, 200);
      assert.equal(samples, 200 * 120);
      assert.equal(await set.next(), false, 'an exhausted set stays exhausted');
      assert.ok(stats.maxBatchBytes <= 2 * budget, `budget ${budget}: largest batch ${stats.maxBatchBytes} bytes`);
      assert.ok(stats.batches >= Math.floor((200 * 120 * 40) / (2 * budget)), `budget ${budget}: ${stats.batches} batches`);
    }
  });

  it('read 400 uncompacted segments of one-sample chunks within a 48 MB heap', async () => {
    // Prepare: the child writes 400 x 1000 samples and streams them back (see the child's header).
    const child = join(import.meta.dirname, 'batched-select-heap-child.ts');
    const T0 = Math.floor(Date.now() / 86_400_000) * 86_400_000 - 86_400_000;
    const [segments, numSeries] = [400, 1000];
    // Act
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--max-old-space-size=48', child, String(segments), String(numSeries), String(T0)], {
      cwd: join(import.meta.dirname, '..', '..', '..'),
    });
    // Assess: every sample, in label order then time order.
    const labels = Array.from({ length: numSeries }, (_, i) => ({ i, labels: labelsFromPairs({ __name__: `m${i % 7}`, job: 'node', i: String(i) }) }));
    labels.sort((a, b) => compareLabels(a.labels, b.labels));
    let checksum = 0;
    for (const { i } of labels) for (let s = 0; s < segments; s++) checksum = (checksum * 31 + T0 + s * 15_000 + i + (s * 0.5 + i) * 7) % 1_000_000_007;
    assert.equal(stdout.trim(), `samples ${segments * numSeries} checksum ${checksum}`);
  });
});
