/**
 * Shared by the compaction tests: a data set with the hard cases (late and
 * out-of-order samples, rewrites, rewrites by requests that straddle
 * windows and days, NaN payloads, stale markers, -0.0), a model of what a
 * read must return (the later write wins), exact read dumps through both
 * queriers, and checks of what the stores hold.
 */
import assert from 'node:assert/strict';
import { Storage, newSeriesEntry, type TenantDB, type TenantStores } from '../../../lib/tsdb/db.ts';
import { MemBucket } from '../../../lib/objstore/mem.ts';
import { MemKVStore } from '../../../lib/kvstore/mem.ts';
import { UlidFactory } from '../../../lib/tsdb/ulid.ts';
import { labelsFromPairs, labelsToString } from '../../../lib/labels/labels.ts';
import { MatchType, newMatcher } from '../../../lib/labels/matcher.ts';
import { XORChunk } from '../../../lib/chunkenc/xor.ts';
import { Deletions, DeletionsPartition } from '../../../lib/compact/deletions.ts';
import type { SeriesEntry } from '../../../lib/tsdb/series-cache.ts';
import { STALE, fromBits } from '../../helpers/bits.ts';

export const Minute = 60_000;
export const Hour = 3_600_000;
export const Day = 24 * Hour;
/**
 * The latest UTC midnight at least 31 h ago (yesterday's or the day
 * before's): the data set lives around it. It is recent, because writers
 * re-send labels for buckets that may be sealed, and only recent data
 * exercises segments that carry ids alone. And it is settled: the data set
 * ends at D0 + 28 h, so every window of it is past compaction's settle time
 * whenever a test that compacts on the real clock runs. (Anchored at
 * yesterday's midnight, its last hours lay in the future from 00:00 to
 * about 05:00 UTC and those tests failed then.)
 */
export const D0 = Math.floor((Date.now() - 31 * Hour) / Day) * Day;
export const MaxT = Number.MAX_SAFE_INTEGER;

const scratch = new DataView(new ArrayBuffer(8));
/** The 64-bit pattern of a double as 16 hex digits. */
export function hexBits(v: number): string {
  scratch.setFloat64(0, v);
  return scratch.getBigUint64(0).toString(16).padStart(16, '0');
}

export const Stale = fromBits(STALE);
export const OtherNaN = fromBits(0x7ff8_0000_dead_beefn);

/** A settable clock. */
export class Clock {
  constructor(public t: number) {}
  readonly now = (): number => this.t;
}

export function memStorage(): Storage {
  return new Storage({ bucket: new MemBucket(), kv: new MemKVStore() });
}

/** The tenant's stores with block ids made on the test clock (the orphan sweep compares their time with `now`). */
export function storesOn(db: TenantDB, ulids: UlidFactory): TenantStores {
  return { ...db.stores, ulids };
}

/** What reads must return: per series (labels string), time -> value bits. */
export class Model {
  readonly series = new Map<string, Map<number, string>>();

  apply(labels: string, t: number, v: number): void {
    let m = this.series.get(labels);
    if (m === undefined) this.series.set(labels, (m = new Map()));
    m.set(t, hexBits(v));
  }

  /** Sample lines over [mint, maxt], in the order dump() yields them. */
  lines(mint: number, maxt: number): string[] {
    const out: string[] = [];
    for (const name of [...this.series.keys()].sort()) {
      const ts = [...this.series.get(name)!.keys()].filter((t) => t >= mint && t <= maxt).sort((a, b) => a - b);
      for (const t of ts) out.push(`${name} ${t} ${this.series.get(name)!.get(t)}`);
    }
    return out;
  }
}

/** One remote-write request: samples [series, t, v] in append order. */
export type Request = [SeriesEntry, number, number][];

/** Commits each request with its own appender and records it in `model`. */
export async function writeRequests(db: TenantDB, reqs: readonly Request[], model: Model): Promise<void> {
  for (const req of reqs) {
    const app = db.appender();
    for (const [s, t, v] of req) {
      app.append(s, t, v);
      model.apply(labelsToString(s.labels), t, v);
    }
    await app.commit();
  }
}

function valueAt(k: number, t: number): number {
  const step = Math.round((t - D0) / (10 * Minute));
  if (k === 2) {
    // A gauge with stale markers, other NaNs and signed zeros.
    const m = ((step % 9) + 9) % 9;
    return m === 0 ? Stale : m === 3 ? OtherNaN : m === 5 ? -0 : m === 6 ? 0 : m === 7 ? -Infinity : (step * 13) / 100;
  }
  if (k === 3) return Math.sin(step) * 1e3; // raw f64 values
  return 1000 * k + step * 17; // counters
}

/**
 * The data set of one tenant, as an ordered list of requests:
 * - 10 "scrape" requests of 3 h each (10-minute samples, 5 series) over
 *   [D0 - 2 h, D0 + 28 h): they straddle 2 h windows and the day boundary;
 * - a late request into [D0 + 2 h, D0 + 4 h) between existing samples, and
 *   one in reverse order;
 * - a rewrite of existing samples of that window (the later write wins);
 * - X: starts in the window before D0 + 10 h and rewrites a sample inside
 *   it; X2 does the same across midnight (D0 + 24 h);
 * - L, L2: later requests into those windows, so that the windows' newest
 *   data is newer than X / X2;
 * - a series that appears in one request only.
 * `variant` changes the values (for a second tenant).
 */
export function dataset(variant = 0): { series: SeriesEntry[]; requests: Request[] } {
  const series = [0, 1, 2, 3, 4].map((k) => newSeriesEntry(labelsFromPairs({ __name__: k === 4 ? 'other_metric' : 'metric', series: String(k), v: String(variant) })));
  const once = newSeriesEntry(labelsFromPairs({ __name__: 'once', v: String(variant) }));
  const requests: Request[] = [];
  const val = (k: number, t: number) => valueAt(k, t) + variant * 0.5;
  for (let r = 0; r < 10; r++) {
    const req: Request = [];
    const from = D0 - 2 * Hour + r * 3 * Hour;
    for (let k = 0; k < series.length; k++) {
      for (let t = from; t < from + 3 * Hour; t += 10 * Minute) if (k !== 4 || t % (20 * Minute) === 0) req.push([series[k]!, t, val(k, t)]);
    }
    if (r === 4) req.push([once, D0 + 11 * Hour, 1]);
    requests.push(req);
  }
  // Late samples between existing ones, one request appended out of order.
  requests.push(series.slice(0, 4).map((s, k) => [s, D0 + 2 * Hour + 5 * Minute + k * 10 * Minute, val(k, 0) + 0.25] as [SeriesEntry, number, number]));
  requests.push([3, 2, 1, 0].map((m) => [series[1]!, D0 + 3 * Hour + 5 * Minute + m * Minute, -m] as [SeriesEntry, number, number]));
  // Rewrites of existing samples (and a duplicate inside the request: the last one wins).
  requests.push([
    [series[0]!, D0 + 2 * Hour + 10 * Minute, 111],
    [series[2]!, D0 + 2 * Hour + 20 * Minute, -0],
    [series[0]!, D0 + 2 * Hour + 10 * Minute, 112],
    [series[3]!, D0 + 3 * Hour, Stale],
  ]);
  // X and X2: straddling rewrites, then L and L2.
  requests.push([
    [series[0]!, D0 + 9 * Hour + 50 * Minute, 9.5],
    [series[0]!, D0 + 10 * Hour + 10 * Minute, 10.5],
    [series[2]!, D0 + 10 * Hour + 20 * Minute, Stale],
  ]);
  requests.push([
    [series[1]!, D0 + 23 * Hour + 50 * Minute, 23.5],
    [series[1]!, D0 + 24 * Hour + 10 * Minute, 24.5],
  ]);
  requests.push([[series[3]!, D0 + 11 * Hour + 5 * Minute, 1105]]);
  requests.push([[series[3]!, D0 + 25 * Hour + 5 * Minute, 2505]]);
  return { series: [...series, once], requests };
}

/** Read ranges: everything, and cuts at window and day edges. */
export function readRanges(): [number, number][] {
  return [
    [-MaxT, MaxT],
    [D0 - 2 * Hour, D0 + 28 * Hour],
    [D0 + 2 * Hour, D0 + 4 * Hour - 1],
    [D0 + 2 * Hour + 10 * Minute, D0 + 2 * Hour + 10 * Minute],
    [D0 + 9 * Hour + 55 * Minute, D0 + 10 * Hour + 15 * Minute],
    [D0 + 23 * Hour, D0 + 25 * Hour + 5 * Minute],
    [D0 + 24 * Hour + 10 * Minute, MaxT],
  ];
}

/**
 * Every sample of every series in [mint, maxt], as lines
 * `labels t bits`, read through the querier; the chunk querier must give
 * the same lines, with chunks in order, not overlapping, inside the range.
 */
export async function dump(db: TenantDB, mint: number, maxt: number): Promise<string[]> {
  const all = newMatcher(MatchType.Regexp, '__name__', '.+');
  const lines: string[] = [];
  const set = (await db.querier(mint, maxt)).select(true, undefined, all);
  while (await set.next()) {
    const s = set.at();
    const name = labelsToString(s.labels);
    const it = s.iterator();
    while (it.next()) lines.push(`${name} ${it.atT()} ${hexBits(it.atV())}`);
    assert.equal(it.err(), null);
  }
  const fromChunks: string[] = [];
  const cset = (await db.chunkQuerier(mint, maxt)).select(true, undefined, all);
  while (await cset.next()) {
    const s = cset.at();
    const name = labelsToString(s.labels);
    let last = -Infinity;
    for (const c of s.chunks) {
      assert.ok(c.minTime > last && c.minTime >= mint && c.maxTime <= maxt && c.minTime <= c.maxTime, `${name}: chunk [${c.minTime}, ${c.maxTime}] in [${mint}, ${maxt}] after ${last}`);
      const it = XORChunk.fromBytes(c.data).iterator();
      let first = true;
      while (it.next()) {
        if (first) assert.equal(it.atT(), c.minTime);
        first = false;
        fromChunks.push(`${name} ${it.atT()} ${hexBits(it.atV())}`);
        last = it.atT();
      }
      assert.equal(it.err(), null);
      assert.equal(last, c.maxTime);
    }
  }
  assert.deepEqual(fromChunks, lines, `chunk querier equals querier over [${mint}, ${maxt}]`);
  return lines;
}

/** Dumps of every range of {@link readRanges}. */
export async function dumpRanges(db: TenantDB): Promise<string[][]> {
  const out: string[][] = [];
  for (const [a, b] of readRanges()) out.push(await dump(db, a, b));
  return out;
}

/** Asserts the tenant's reads equal the model over every range. */
export async function assertReadsModel(db: TenantDB, model: Model, what: string): Promise<void> {
  for (const [a, b] of readRanges()) assert.deepEqual(await dump(db, a, b), model.lines(a, b), `${what}: [${a}, ${b}]`);
}

/** Every object key of the tenant. */
export async function objectKeys(s: TenantStores): Promise<string[]> {
  const out: string[] = [];
  for await (const k of s.bucket.iter('')) out.push(k);
  return out.sort();
}

/** The catalog's entries by kind, and whether every entry's object exists. */
export async function catalogState(s: TenantStores): Promise<{ segments: number; blocks: number; keys: string[]; missing: string[] }> {
  const all = await s.catalog.all();
  const missing: string[] = [];
  for (const r of all) if (!(await s.bucket.exists(r.entry.key))) missing.push(r.entry.key);
  return {
    segments: all.filter((r) => r.entry.kind === 'segment').length,
    blocks: all.filter((r) => r.entry.kind === 'block').length,
    keys: all.map((r) => r.entry.key).sort(),
    missing,
  };
}

/** Objects named by the tenant's pending tombstones. */
export async function tombstoneCount(s: TenantStores): Promise<number> {
  let n = 0;
  for (const p of await new Deletions(s.kv).pending()) n += p.objects.length;
  return n;
}

/** Pending tombstone items of the tenant (one per compaction job, retention pass, ...). */
export async function tombstoneItems(s: TenantStores): Promise<number> {
  let n = 0;
  for await (const _ of s.kv.query(DeletionsPartition)) n++;
  return n;
}
