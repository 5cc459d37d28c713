/**
 * Downsampling through the compactor and reading it back: 5 m blocks of
 * settled 1 d windows, 1 h blocks after 10 d, the downsampled querier's
 * columns against aggregates of the raw samples (ranges partly not
 * downsampled included), counter stitching across blocks and raw data,
 * and late data replacing downsampled blocks.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Compactor } from '../../../lib/compact/compactor.ts';
import { UlidFactory } from '../../../lib/tsdb/ulid.ts';
import { newSeriesEntry, type TenantDB, type TenantStores } from '../../../lib/tsdb/db.ts';
import { labelsFromPairs, labelsToString } from '../../../lib/labels/labels.ts';
import { MatchType, newMatcher } from '../../../lib/labels/matcher.ts';
import { Resolution } from '../../../lib/block/format.ts';
import type { BlockEntry, CatalogEntry } from '../../../lib/catalog/catalog.ts';
import { planCoverage } from '../../../lib/tsdb/downsampled-querier.ts';
import type { SeriesEntry } from '../../../lib/tsdb/series-cache.ts';
import { Clock, Day, Hour, Minute, Stale, memStorage, objectKeys, storesOn } from './helpers.ts';

const Min5 = Resolution.FIVE_MINUTES;
/** UTC midnight 30 days ago: the data's first day. */
const B = Math.floor(Date.now() / Day) * Day - 30 * Day;

/** Raw samples per series (labels string -> sorted [t, v]). */
type Truth = Map<string, [number, number][]>;

function record(truth: Truth, s: SeriesEntry, t: number, v: number): void {
  const k = labelsToString(s.labels);
  const a = truth.get(k) ?? [];
  a.push([t, v]);
  truth.set(k, a);
}

/** Writes `days` days from `from` of a counter with resets and a gauge with stale markers, one request per hour. */
async function writeDays(db: TenantDB, truth: Truth, from: number, hours: number): Promise<void> {
  const counter = newSeriesEntry(labelsFromPairs({ __name__: 'requests_total', job: 'a' }));
  const gauge = newSeriesEntry(labelsFromPairs({ __name__: 'temperature', job: 'a' }));
  for (let h = 0; h < hours; h++) {
    const app = db.appender();
    for (let m = 0; m < 60; m++) {
      const i = Math.round((from - B) / Minute) + h * 60 + m;
      const t = from + (h * 60 + m) * Minute + 7000;
      const c = (i % 700) * 3 + (i % 5); // resets every 700 minutes
      app.append(counter, t, c);
      record(truth, counter, t, c);
      const g = i % 97 === 0 ? Stale : 20 + Math.sin(i / 50) * 5;
      app.append(gauge, t, g);
      record(truth, gauge, t, g);
    }
    await app.commit();
  }
}

interface Served {
  labels: string;
  t: number[];
  v: number[];
}

async function select(db: TenantDB, res: number, mint: number, maxt: number, func: string | undefined): Promise<Served[]> {
  const q = await db.downsampledQuerier(res, mint, maxt);
  const set = q.select(true, { start: mint, end: maxt, func }, newMatcher(MatchType.Equal, 'job', 'a'));
  const out: Served[] = [];
  while (await set.next()) {
    const s = set.at();
    const it = s.iterator();
    const t: number[] = [];
    const v: number[] = [];
    while (it.next()) {
      t.push(it.atT());
      v.push(it.atV());
    }
    out.push({ labels: labelsToString(s.labels), t, v });
  }
  return out;
}

/** Raw non-NaN samples of a series in [a, b]. */
function rawIn(truth: Truth, labels: string, a: number, b: number): [number, number][] {
  return truth.get(labels)!.filter(([t, v]) => t >= a && t <= b && v === v);
}

function increase(samples: [number, number][]): number {
  let inc = 0;
  for (let i = 1; i < samples.length; i++) inc += samples[i]![1] < samples[i - 1]![1] ? samples[i]![1] : samples[i]![1] - samples[i - 1]![1];
  return inc;
}

function close(a: number, b: number, what: string): void {
  assert.ok(Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b)), `${what}: ${a} != ${b}`);
}

/** Asserts every column served over [mint, maxt] against the raw samples, per `step`-aligned window. */
async function assertColumns(db: TenantDB, truth: Truth, res: number, mint: number, maxt: number, step: number): Promise<void> {
  const byFunc = new Map<string, Served[]>();
  for (const f of ['count_over_time', 'sum_over_time', 'min_over_time', 'max_over_time', 'rate', 'avg_over_time']) byFunc.set(f, await select(db, res, mint, maxt, f));
  const names = byFunc.get('count_over_time')!.map((s) => s.labels);
  assert.deepEqual(names, ['{__name__="requests_total", job="a"}', '{__name__="temperature", job="a"}']);
  for (const [f, set] of byFunc) assert.deepEqual(set.map((s) => s.labels), names, f);
  for (let k = 0; k < names.length; k++) {
    const name = names[k]!;
    const get = (f: string) => byFunc.get(f)![k]!;
    // Per window: the served rows of the window add up to the raw samples of it.
    for (let w = mint; w <= maxt; w += step) {
      const raw = rawIn(truth, name, w, Math.min(maxt, w + step - 1));
      const pick = (f: string) => get(f).v.filter((_, i) => get(f).t[i]! >= w && get(f).t[i]! < w + step);
      const what = `${name} window ${new Date(w).toISOString()}`;
      assert.equal(pick('count_over_time').reduce((a, b) => a + b, 0), raw.length, `${what}: count`);
      if (raw.length === 0) continue;
      close(pick('sum_over_time').reduce((a, b) => a + b, 0), raw.reduce((a, s) => a + s[1], 0), `${what}: sum`);
      assert.equal(Math.min(...pick('min_over_time')), Math.min(...raw.map((s) => s[1])), `${what}: min`);
      assert.equal(Math.max(...pick('max_over_time')), Math.max(...raw.map((s) => s[1])), `${what}: max`);
    }
    // Averages are sum / count per point; all columns share timestamps.
    for (let i = 0; i < get('avg_over_time').t.length; i++) close(get('avg_over_time').v[i]!, get('sum_over_time').v[i]! / get('count_over_time').v[i]!, `${name} avg`);
    for (const f of byFunc.keys()) assert.deepEqual(get(f).t, get('count_over_time').t, `${name} ${f} timestamps`);
    // Counter: served points rise by the raw increase between them, across blocks and raw parts.
    const c = get('rate');
    for (let i = 1; i < c.t.length; i += 1 + (i % 13)) {
      close(c.v[i]! - c.v[0]!, increase(rawIn(truth, name, c.t[0]!, c.t[i]!)), `${name} increase to ${c.t[i]}`);
    }
    for (let i = 1; i < c.v.length; i++) assert.ok(c.v[i]! >= c.v[i - 1]! || name.includes('temperature'), `${name} counter is monotonic`);
  }
}

async function entriesOf(s: TenantStores, res: number): Promise<BlockEntry[]> {
  return (await s.catalog.all()).map((r) => r.entry).filter((e): e is BlockEntry => e.kind === 'block' && e.resolution === res);
}

describe('downsampling through the compactor', () => {
  it('makes 5 m then 1 h blocks, serves them with raw data around, and redoes them after late data', async () => {
    // Prepare: three days, compacted and downsampled 2 days after their end.
    const clock = new Clock(B + 5 * Day);
    const st = memStorage();
    const db = st.tenant('anonymous');
    const s = storesOn(db, new UlidFactory(clock.now));
    const truth: Truth = new Map();
    await writeDays(db, truth, B, 72);
    const compactor = new Compactor(s, { now: clock.now, downsample: true });

    // Act
    const run1 = await compactor.run();

    // Assess: one 5 m block per day, made from the day's raw block; no 1 h yet.
    assert.equal(run1.downsampledBlocks, 3);
    const raw = await entriesOf(s, 0);
    const five = await entriesOf(s, Min5);
    assert.equal(five.length, 3);
    for (const d of five) {
      const src = raw.find((r) => r.id === d.downsampledFrom)!;
      assert.ok(src !== undefined && src.level === 3 && src.windowStart === d.windowStart && d.windowEnd - d.windowStart === Day);
      assert.ok(d.downsampledSources!.includes(src.id));
    }
    assert.equal((await entriesOf(s, Resolution.ONE_HOUR)).length, 0);
    // A second run has nothing to do.
    assert.equal((await compactor.run()).downsampledBlocks, 0);

    // Prepare: a fourth day, still raw (not 40 h old when downsampling runs).
    await writeDays(db, truth, B + 3 * Day, 24);
    clock.t = B + 4 * Day + 2 * Hour;
    await compactor.run();
    assert.equal((await entriesOf(s, Min5)).length, 3);
    // Assess: full range (three downsampled days + one raw), and a cut one.
    const q = await db.downsampledQuerier(Min5, B, B + 4 * Day - 1);
    const spans = await q.coverage();
    assert.deepEqual(spans.map((x) => [x.from - B, x.to - B, x.block?.resolution]), [
      [0, Day - 1, Min5],
      [Day, 2 * Day - 1, Min5],
      [2 * Day, 3 * Day - 1, Min5],
      [3 * Day, 4 * Day - 1, undefined],
    ]);
    await assertColumns(db, truth, Min5, B, B + 4 * Day - 1, Min5);
    await assertColumns(db, truth, Min5, B + 12 * Hour, B + 3 * Day + 5 * Hour - 1, Min5);
    // Raw for resets/changes: the raw querier's samples, stale markers and all.
    const resets = await select(db, Min5, B, B + Day - 1, 'resets');
    assert.equal(resets[0]!.t.length, truth.get(resets[0]!.labels)!.filter(([t]) => t < B + Day).length);

    // Act: 10 days later, 1 h blocks.
    clock.t = B + 14 * Day;
    const run3 = await compactor.run();
    // Assess: the fourth day's 5 m block, then a 1 h block per day, each from the day's 5 m block.
    assert.equal(run3.downsampledBlocks, 5);
    const fiveNow = await entriesOf(s, Min5);
    const hour = await entriesOf(s, Resolution.ONE_HOUR);
    assert.equal(fiveNow.length, 4);
    assert.deepEqual(hour.map((h) => h.downsampledFrom).sort(), fiveNow.map((d) => d.id).sort());
    for (const h of hour) assert.deepEqual(h.downsampledSources, fiveNow.find((d) => d.id === h.downsampledFrom)!.downsampledSources);
    await assertColumns(db, truth, Resolution.ONE_HOUR, B, B + 5 * Day - 1, Hour);
    const hq = await db.downsampledQuerier(Resolution.ONE_HOUR, B, B + 5 * Day - 1);
    assert.deepEqual((await hq.coverage()).map((x) => x.block?.resolution), [3_600_000, 3_600_000, 3_600_000, 3_600_000, undefined]);

    // Act: a late sample into the second day (an hour-long gap of its own), compacted and redone.
    const late = newSeriesEntry(labelsFromPairs({ __name__: 'requests_total', job: 'a' }));
    const app = db.appender();
    app.append(late, B + Day + 6 * Hour + 30_000, 1e6);
    await app.commit();
    record(truth, late, B + Day + 6 * Hour + 30_000, 1e6);
    truth.get(labelsToString(late.labels))!.sort((a, b) => a[0] - b[0]);
    const oldFive = fiveNow.find((d) => d.windowStart === B + Day)!;
    const oldHour = hour.find((h) => h.windowStart === B + Day)!;
    const run4 = await compactor.run();

    // Assess: the day's raw block, 5 m and 1 h blocks are new; the old ones wait for the grace period.
    assert.equal(run4.downsampledBlocks, 2);
    const five2 = (await entriesOf(s, Min5)).filter((d) => d.windowStart === B + Day);
    const hour2 = (await entriesOf(s, Resolution.ONE_HOUR)).filter((d) => d.windowStart === B + Day);
    assert.equal(five2.length, 1);
    assert.equal(hour2.length, 1);
    assert.notEqual(five2[0]!.id, oldFive.id);
    assert.equal(hour2[0]!.downsampledFrom, five2[0]!.id);
    const rawDay = (await entriesOf(s, 0)).filter((r) => r.windowStart === B + Day && r.windowEnd - r.windowStart === Day);
    assert.deepEqual(rawDay.map((r) => r.id), [five2[0]!.downsampledFrom]);
    let keys = await objectKeys(s);
    assert.ok(keys.includes(oldFive.key) && keys.includes(oldHour.key));
    await assertColumns(db, truth, Min5, B, B + 4 * Day - 1, Min5);
    await assertColumns(db, truth, Resolution.ONE_HOUR, B, B + 5 * Day - 1, Hour);
    clock.t += 2 * Hour;
    await compactor.run();
    keys = await objectKeys(s);
    assert.ok(!keys.includes(oldFive.key) && !keys.includes(oldHour.key));
    await assertColumns(db, truth, Resolution.ONE_HOUR, B, B + 5 * Day - 1, Hour);
  });
});

describe('planCoverage', () => {
  const block = (id: string, res: number, ws: number, sources: string[]): BlockEntry => ({
    kind: 'block', key: `blocks/${id}`, size: 1, indexOffset: 0, indexLength: 0, id, minTime: ws, maxTime: ws + Day - 1, windowStart: ws, windowEnd: ws + Day,
    level: 2, resolution: res, numSeries: 1, numSamples: 1, numPages: 1, orderKey: id, numSources: 1, downsampledFrom: sources[0], downsampledSources: sources,
  });
  const rawBlock = (id: string, ws: number): CatalogEntry => ({ ...block(id, 0, ws, []), downsampledFrom: undefined, downsampledSources: undefined });
  const seg = (id: string, t: number): CatalogEntry => ({ kind: 'segment', id, key: `segments/${id}`, minTime: t, maxTime: t + 1 } as CatalogEntry);
  const cases: { name: string; raw: CatalogEntry[]; ds: BlockEntry[]; res: number; want: [number, number, string | undefined][] }[] = [
    { name: 'nothing downsampled', raw: [rawBlock('R', 0)], ds: [], res: Min5, want: [[0, 2 * Day - 1, undefined]] },
    { name: 'current 5 m block', raw: [rawBlock('R', 0)], ds: [block('D', Min5, 0, ['R'])], res: Min5, want: [[0, Day - 1, 'D'], [Day, 2 * Day - 1, undefined]] },
    { name: 'raw gone: still served', raw: [], ds: [block('D', Min5, Day, ['R'])], res: Min5, want: [[0, Day - 1, undefined], [Day, 2 * Day - 1, 'D']] },
    { name: 'late segment: all sources there plus more -> raw', raw: [rawBlock('R', 0), seg('S', 5)], ds: [block('D', Min5, 0, ['R'])], res: Min5, want: [[0, 2 * Day - 1, undefined]] },
    { name: 'replaced raw: old block until redone', raw: [rawBlock('R2', 0)], ds: [block('D', Min5, 0, ['R'])], res: Min5, want: [[0, Day - 1, 'D'], [Day, 2 * Day - 1, undefined]] },
    { name: '1 h preferred', raw: [rawBlock('R', 0)], ds: [block('D', Min5, 0, ['R']), block('H', Resolution.ONE_HOUR, 0, ['R'])], res: Resolution.ONE_HOUR, want: [[0, Day - 1, 'H'], [Day, 2 * Day - 1, undefined]] },
    { name: '1 h not used for 5 m', raw: [rawBlock('R', 0)], ds: [block('D', Min5, 0, ['R']), block('H', Resolution.ONE_HOUR, 0, ['R'])], res: Min5, want: [[0, Day - 1, 'D'], [Day, 2 * Day - 1, undefined]] },
    { name: 'newest of two', raw: [], ds: [block('D1', Min5, 0, ['R']), block('D2', Min5, 0, ['R2'])], res: Min5, want: [[0, Day - 1, 'D2'], [Day, 2 * Day - 1, undefined]] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = planCoverage(c.raw, c.ds, 0, 2 * Day - 1, c.res);
      assert.deepEqual(got.map((x) => [x.from, x.to, x.block?.id]), c.want);
    });
  }
});
