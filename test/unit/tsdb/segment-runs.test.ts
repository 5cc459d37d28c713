/**
 * Merged runs of segments (lib/tsdb/segment-runs.ts): which segments form
 * a run, that a merged run holds exactly its segments' samples (the later
 * segment's on equal timestamps, NaN bits kept), and that reads through
 * built runs equal what was written, across rewrites, a compaction and
 * writes after it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BlockEntry, CatalogEntry, SegmentEntry } from '../../../lib/catalog/catalog.ts';
import { Compactor } from '../../../lib/compact/compactor.ts';
import { labelsFromPairs } from '../../../lib/labels/labels.ts';
import { SegmentTable } from '../../../lib/segment/reader.ts';
import { SegmentBuilder } from '../../../lib/segment/writer.ts';
import { CachedSegment } from '../../../lib/tsdb/cached-segment.ts';
import { newSeriesEntry, type TenantDB } from '../../../lib/tsdb/db.ts';
import type { SeriesEntry } from '../../../lib/tsdb/series-cache.ts';
import { createMetricsRegistry, registerSegmentRunMetrics } from '../../../lib/server/metrics.ts';
import { endsRun, mergeTables, MinRunSegments, RunEndEvery, runSpans } from '../../../lib/tsdb/segment-runs.ts';
import { ChunkList, mergeColumns } from '../../../lib/tsdb/series-merge.ts';
import type { QuerierDeps } from '../../../lib/tsdb/querier.ts';
import { UlidFactory } from '../../../lib/tsdb/ulid.ts';
import { prng } from '../../helpers/prng.ts';
import { assertReadsModel, Clock, D0, dataset, hexBits, Hour, MaxT, memStorage, Minute, Model, OtherNaN, Stale, storesOn, writeRequests, type Request } from '../compact/helpers.ts';

const segment = (id: string): SegmentEntry => ({ kind: 'segment', id, key: id, size: 1, tableOffset: 0, tableLength: 0, minTime: 0, maxTime: 1, numSeries: 1, numSamples: 1 });
const block = (id: string): BlockEntry => ({ kind: 'block', id, key: id }) as unknown as BlockEntry;

describe('runSpans', () => {
  // ULID-like ids: a run ends at ids ending in 0, 8, G or R.
  const cases: { name: string; entries: CatalogEntry[]; want: [number, number][] }[] = [
    { name: 'no run end: the run is open', entries: ['A1', 'A2', 'A3', 'A4', 'A5'].map(segment), want: [] },
    { name: 'a closed run and an open one', entries: ['A1', 'A2', 'A3', 'A8', 'A9', 'AA'].map(segment), want: [[0, 4]] },
    { name: 'too short to merge', entries: ['A1', 'A2', 'A8', 'A9', 'AA', 'AB', 'AG'].map(segment), want: [[3, 7]] },
    { name: 'a block splits', entries: [segment('A1'), segment('A2'), block('B'), segment('A3'), segment('A4'), segment('A5'), segment('AR')], want: [[3, 7]] },
    { name: 'back to back', entries: ['A1', 'A2', 'A3', 'A0', 'B1', 'B2', 'B3', 'B8'].map(segment), want: [[0, 4], [4, 8]] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(runSpans(c.entries), c.want);
    });
  }

  it('ends runs at about one ULID in eight, level-2 runs at one in 64, decided by the id alone', () => {
    const ulids = new UlidFactory();
    let ends = 0;
    let ends2 = 0;
    for (let i = 0; i < 64_000; i++) {
      const id = ulids.next();
      if (endsRun(id)) ends++;
      if (endsRun(id, 2)) {
        ends2++;
        assert.ok(endsRun(id), `${id}: a level-2 end that is no level-1 end`);
      }
    }
    assert.ok(ends > 7000 && ends < 9000, `${ends} run ends in 64000`);
    assert.ok(ends2 > 800 && ends2 < 1200, `${ends2} level-2 run ends in 64000`);
    assert.equal(endsRun('not-a-ulid!'), false);
    assert.equal(endsRun('0', 2), false);
    assert.ok(MinRunSegments >= 2 && RunEndEvery === 8);
  });

  it('level 2: spans of at least 16 segments ending at a double run end, split by blocks', () => {
    // Ids ending in two run-end characters (0, 8, G, R) end level-2 runs.
    const ids = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}${'123456789ABCDEF'[i % 15]}${'1234567'[i % 7]}`);
    const a = [...ids(20, 'A'), 'A00', ...ids(5, 'B'), 'B08', ...ids(30, 'C')].map(segment);
    assert.deepEqual(runSpans(a, 2), [[0, 21]], 'a span of 21; one of 6 is too short; the open tail is no run');
    const b = [...ids(10, 'A').map(segment), block('X'), ...ids(16, 'B').map(segment), segment('BRG')];
    assert.deepEqual(runSpans(b, 2), [[11, 28]]);
    assert.deepEqual(runSpans(b, 2, 12), [[12, 28]], 'from a later start');
    assert.deepEqual(runSpans(b, 2, 0, 27), [], 'cut before its end');
  });
});

/**
 * Values by index. Samples below carry an index into this pool, not the
 * value: a JS array of numbers may hold them as doubles, and V8 turns a
 * signalling NaN stored there (Prometheus' stale marker) into a quiet one;
 * typed arrays keep the bits.
 */
const Pool = Float64Array.of(Stale, OtherNaN, -0, 0, Infinity, 1.5, -2.25);
const pooled = (i: number): number => Pool[i]!;
/** Indexes of {@link Pool} from this one on are computed values: i - PoolSize. */
const PoolSize = 64;

/** A value index for {@link segmentOf}: a pool entry, or a plain number (stored as PoolSize + n, n >= 0). */
const plain = (n: number): number => PoolSize + n;
const valueOf = (i: number): number => (i < PoolSize ? pooled(i) : i - PoolSize);

/** A segment table (with its bytes) of series -> [t, value index][] (sorted, unique times). */
function segmentOf(series: Map<SeriesEntry, [number, number][]>): CachedSegment {
  const b = new SegmentBuilder();
  const sorted = [...series].sort((x, y) => (x[0].id < y[0].id ? -1 : 1));
  for (const [s, samples] of sorted) {
    const t = new Float64Array(samples.length);
    const v = new Float64Array(samples.length);
    for (let i = 0; i < samples.length; i++) {
      t[i] = samples[i]![0];
      v[i] = valueOf(samples[i]![1]);
    }
    b.addSeries(s.idBytes, s.canonical, t, v, 0, samples.length);
  }
  const { bytes, meta } = b.finish();
  return new CachedSegment(SegmentTable.parse(bytes.subarray(meta.tableOffset, meta.tableOffset + meta.tableLength)), bytes.subarray(0, meta.tableOffset));
}

/** Every series of a table: hex id -> lines `t bits`. */
function samplesOf(t: CachedSegment): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const list = new ChunkList(4);
  for (let r = 0; r < t.numSeries; r++) {
    list.reset();
    const data = t.seriesData(r, 'test')!;
    let pos = t.dataOffset[r]!;
    for (let c = t.chunkStart[r]!; c < t.chunkStart[r + 1]!; c++) {
      list.push(t.chunkMinT[c]!, t.chunkMaxT[c]!, 0, t.chunkEnc[c]!, t.data!, pos, t.chunkLen[c]!);
      pos += t.chunkLen[c]!;
    }
    assert.equal(data.length, pos - t.dataOffset[r]!);
    const cols = mergeColumns(list, -Infinity, Infinity);
    const lines: string[] = [];
    for (let i = cols.from; i < cols.to; i++) lines.push(`${cols.t[i]} ${hexBits(cols.v[i]!)}`);
    out.set(Buffer.from(t.ids.subarray(r * 16, r * 16 + 16)).toString('hex'), lines);
  }
  return out;
}

describe('mergeTables', () => {
  it('holds every series of its segments, the later segment winning equal timestamps, NaN bits kept', async () => {
    assert.equal(hexBits(Pool[0]!), '7ff0000000000002', 'the pool keeps the stale marker\'s bits');
    for (const seed of [1, 2, 3]) {
      // Prepare: segments of random series subsets with overlapping and repeated times.
      const rnd = prng(seed);
      const series = Array.from({ length: 40 }, (_, k) => newSeriesEntry(labelsFromPairs({ __name__: 'm', k: String(k) })));
      const want = new Map<string, Map<number, number>>();
      const tables: CachedSegment[] = [];
      for (let g = 0; g < 12; g++) {
        const seg = new Map<SeriesEntry, [number, number][]>();
        for (const s of series) {
          if (rnd() < 0.4) continue;
          // Most series are written in time order (each segment after the one before: the
          // concatenated path); some overlap earlier segments, or touch them at one timestamp.
          const mode = rnd();
          const slot = D0 + g * 400 * 15_000;
          const pick = () => (mode < 0.5 ? slot + Math.floor(rnd() * 400) * 15_000 : mode < 0.6 ? slot - 15_000 * Math.floor(rnd() * 2) : D0 + Math.floor(rnd() * 12 * 400) * 15_000);
          const ts = [...new Set(Array.from({ length: 1 + Math.floor(rnd() * (rnd() < 0.1 ? 300 : 4)) }, pick))].sort((a, b) => a - b);
          const samples = ts.map((t): [number, number] => [t, rnd() < 0.3 ? Math.floor(rnd() * Pool.length) : plain(Math.round(rnd() * 1e6) / 8)]);
          seg.set(s, samples);
          let m = want.get(s.id);
          if (m === undefined) want.set(s.id, (m = new Map()));
          for (const [t, v] of samples) m.set(t, v); // later segments overwrite
        }
        if (seg.size > 0) tables.push(segmentOf(seg));
      }
      // Act
      const run = await mergeTables(tables, `seed ${seed}`);
      // Assess
      const got = samplesOf(run);
      assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), `seed ${seed}: series`);
      for (const [id, m] of want) {
        const lines = [...m].sort((a, b) => a[0] - b[0]).map(([t, v]) => `${t} ${hexBits(valueOf(v))}`);
        assert.deepEqual(got.get(id), lines, `seed ${seed}: series ${id}`);
      }
    }
  });
});

describe('mergeTables, edge cases', () => {
  it('takes the later segment\'s sample where one ends at the time the next begins', async () => {
    // Prepare: s written at 1000 and 2000, then at 2000 (another value) and 3000; u in the first only.
    const s = newSeriesEntry(labelsFromPairs({ __name__: 's' }));
    const u = newSeriesEntry(labelsFromPairs({ __name__: 'u' }));
    const a = segmentOf(new Map([[s, [[1000, plain(1)], [2000, plain(2)]]], [u, [[1000, 0]]]]));
    const b = segmentOf(new Map([[s, [[2000, plain(20)], [3000, plain(30)]]]]));
    // Act
    const got = samplesOf(await mergeTables([a, b], 'test'));
    // Assess
    assert.deepEqual(got.get(s.id), [`1000 ${hexBits(1)}`, `2000 ${hexBits(20)}`, `3000 ${hexBits(30)}`]);
    assert.deepEqual(got.get(u.id), [`1000 ${hexBits(Stale)}`]);
  });
});

describe('reads through merged runs', () => {
  /** Random writes into [D0, D0 + 4 h): a third rewrite a time already written. */
  function randomRequests(rnd: () => number, series: readonly SeriesEntry[], n: number, written: number[]): Request[] {
    const out: Request[] = [];
    for (let r = 0; r < n; r++) {
      const req: Request = [];
      const seen = new Set<string>();
      for (let k = 0; k < 1 + Math.floor(rnd() * 4); k++) {
        const s = series[Math.floor(rnd() * series.length)]!;
        const t = written.length > 0 && rnd() < 0.33 ? written[Math.floor(rnd() * written.length)]! : D0 + Math.floor(rnd() * 240) * Minute;
        if (seen.has(`${s.id}/${t}`)) continue;
        seen.add(`${s.id}/${t}`);
        written.push(t);
        req.push([s, t, rnd() < 0.1 ? Stale : Math.round(rnd() * 1e4) / 4]);
      }
      out.push(req);
    }
    return out;
  }

  async function runsOf(db: TenantDB, mint: number, maxt: number): Promise<number> {
    return runSpans((await db.stores.catalog.entries(mint, maxt)).entries).length;
  }

  it('answer as the segments do, across rewrites, a compaction and later writes', async () => {
    // Prepare: segments until the whole range has at least three closed runs (bounded).
    const storage = memStorage();
    const runs = storage.runs!;
    const db = storage.tenant('t1');
    const model = new Model();
    const { series, requests } = dataset(0);
    await writeRequests(db, requests, model);
    const rnd = prng(11);
    const written: number[] = [];
    for (let i = 0; i < 40 && (await runsOf(db, -MaxT, MaxT)) < 3; i++) await writeRequests(db, randomRequests(rnd, series, 20, written), model);
    assert.ok((await runsOf(db, -MaxT, MaxT)) >= 3, 'no closed runs after 800 writes');

    // Act + Assess: a first read sees the runs, a second asks for them, then reads use them.
    await assertReadsModel(db, model, 'first read');
    await assertReadsModel(db, model, 'second read');
    await runs.idle();
    assert.ok(runs.built > 0, 'no run was built');
    const used = runs.used;
    await assertReadsModel(db, model, 'through built runs');
    assert.ok(runs.used > used, 'no read used a built run');

    // Rewrites after the runs (later segments win over the runs' samples), then a compaction of part of the data.
    await writeRequests(db, randomRequests(rnd, series, 60, written), model);
    await assertReadsModel(db, model, 'after rewrites');
    const clock = new Clock(D0 + 40 * Hour);
    await new Compactor(storesOn(db, new UlidFactory(clock.now)), { now: clock.now, quality: 4, deleteGraceMs: 0 }).run({ force: true });
    await writeRequests(db, randomRequests(rnd, series, 200, written), model);
    await assertReadsModel(db, model, 'after compaction and writes');
    await assertReadsModel(db, model, 'again');
    await runs.idle();
    const usedAfter = runs.used;
    await assertReadsModel(db, model, 'through runs over blocks');
    assert.ok(runs.used > usedAfter, 'no read used a built run after the compaction');
  });

  it('are counted on /metrics: built runs by level, builds pending', async () => {
    // Prepare: segments until there is a closed run (bounded).
    const storage = memStorage();
    const runs = storage.runs!;
    const registry = createMetricsRegistry({ defaultMetrics: false });
    registerSegmentRunMetrics(registry, runs);
    const db = storage.tenant('t1');
    const model = new Model();
    const { series } = dataset(0);
    const rnd = prng(5);
    const written: number[] = [];
    for (let i = 0; i < 40 && (await runsOf(db, -MaxT, MaxT)) < 1; i++) await writeRequests(db, randomRequests(rnd, series, 20, written), model);
    assert.ok((await runsOf(db, -MaxT, MaxT)) >= 1, 'no closed run after 800 writes');
    assert.match(await registry.metrics(), /^stratus_segment_run_builds_pending 0$/m);
    assert.doesNotMatch(await registry.metrics(), /^stratus_segment_runs_built_total\{level="1"\} [1-9]/m);

    // Act: the second read asks for the builds; they run in the background.
    await assertReadsModel(db, model, 'first read');
    await assertReadsModel(db, model, 'second read');
    await runs.idle();

    // Assess
    assert.ok(runs.pending === 0 && runs.built > 0, `pending ${runs.pending}, built ${runs.built}`);
    await registry.metrics(); // a scrape reads the figures, it does not add them up
    const after = await registry.metrics();
    assert.match(after, /^stratus_segment_run_builds_pending 0$/m);
    assert.match(after, new RegExp(`^stratus_segment_runs_built_total\\{level="1"\\} ${runs.builtByLevel[1]}$`, 'm'));
    assert.match(after, new RegExp(`^stratus_segment_runs_built_total\\{level="2"\\} ${runs.builtByLevel[2]}$`, 'm'));

    // The gauge is read at each scrape (builds under way are not caught in the act here: they are too quick).
    const figures = { builtByLevel: [0, 0, 0], pending: 3 };
    const other = createMetricsRegistry({ defaultMetrics: false });
    registerSegmentRunMetrics(other, figures);
    assert.match(await other.metrics(), /^stratus_segment_run_builds_pending 3$/m);
    figures.pending = 0;
    assert.match(await other.metrics(), /^stratus_segment_run_builds_pending 0$/m);
  });

  it('answer as the segments do through level-2 runs, built from built level-1 runs', async () => {
    // Prepare: segments until there is a closed level-2 run (bounded).
    const storage = memStorage();
    const runs = storage.runs!;
    const db = storage.tenant('t2');
    const model = new Model();
    const { series, requests } = dataset(1);
    await writeRequests(db, requests, model);
    const rnd = prng(12);
    const written: number[] = [];
    const level2 = async () => runSpans((await db.stores.catalog.entries(-MaxT, MaxT)).entries, 2).length;
    for (let i = 0; i < 60 && (await level2()) < 1; i++) await writeRequests(db, randomRequests(rnd, series, 20, written), model);
    assert.ok((await level2()) >= 1, 'no closed level-2 run after 1200 writes');

    // Act + Assess: plans' visits. Level-1 runs are asked for (twice) and
    // built first; level-2 runs only once their level-1 runs are built.
    const { entries } = await db.stores.catalog.entries(-MaxT, MaxT);
    const deps = (db as unknown as { deps: QuerierDeps }).deps; // what the tenant's reads pass
    const runVisits = (level: 1 | 2) => runs.visits(deps, entries).filter((v) => v.run !== undefined && v.runKey!.includes(`/run${level}/`)).length;
    assert.equal(runVisits(1) + runVisits(1), 0, 'runs before any build');
    await runs.idle();
    assert.deepEqual(runs.builtByLevel.slice(1), [runSpans(entries).length, 0], 'level-1 runs built after two sightings, no level-2 one');
    assert.ok(runVisits(1) > 0 && runVisits(2) === 0, 'level-1 runs read first');
    assert.equal(runVisits(2), 0, 'level-2 runs still being built');
    await runs.idle();
    assert.equal(runs.builtByLevel[2], runSpans(entries, 2).length, 'level-2 runs built');
    assert.ok(runVisits(2) > 0, 'no visit of a level-2 run');
    const used = runs.used;
    await assertReadsModel(db, model, 'through level-2 runs');
    assert.ok(runs.used > used, 'no read used a built run');

    // Rewrites after the runs: later segments still win over the level-2 run's samples.
    await writeRequests(db, randomRequests(rnd, series, 60, written), model);
    await assertReadsModel(db, model, 'after rewrites');
  });
});
