/**
 * Round-trip property test through the real HTTP endpoints: random series
 * with out-of-order, duplicated, NaN, ±Inf, stale-marker, -0.0 and extreme
 * timestamps, written in random batches (some requests twice, some
 * overwriting earlier samples), come back exactly — bit for bit — from
 * remote_read in both response types, for the whole range and sub-ranges.
 */
import { describe, it } from 'node:test';
import { Compactor } from '../../lib/compact/compactor.ts';
import assert from 'node:assert/strict';
import { remoteRead, remoteWrite, type SampleSeries } from '../../lib/remote/client.ts';
import { MatcherType, ResponseType, type Query, type WriteSeries } from '../../lib/prompb/types.ts';
import { compareLabels, labelsToString, labelsFromPairs, labelsGet, type Labels } from '../../lib/labels/labels.ts';
import { newMatcher, MatchType } from '../../lib/labels/matcher.ts';
import { makeStorage, startStratus, type StorageKind } from '../helpers/stratus.ts';

const MaxT = Number.MAX_SAFE_INTEGER;

function rng(seed: number) {
  let s = seed >>> 0;
  return (n: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.floor((s / 2 ** 32) * n);
  };
}

const bitsView = new DataView(new ArrayBuffer(8));
function bitsOf(v: number): string {
  bitsView.setFloat64(0, v);
  return bitsView.getBigUint64(0).toString(16);
}
function fromBits(hi: number, lo: number): number {
  bitsView.setUint32(0, hi);
  bitsView.setUint32(4, lo);
  return bitsView.getFloat64(0);
}

const StaleNaN = fromBits(0x7ff00000, 0x00000002);
const OtherNaN = fromBits(0x7ff80000, 0x0000beef);

function randomValue(r: (n: number) => number): number {
  switch (r(12)) {
    case 0:
      return StaleNaN;
    case 1:
      return OtherNaN;
    case 2:
      return Infinity;
    case 3:
      return -Infinity;
    case 4:
      return -0;
    case 5:
      return 0;
    case 6:
      return fromBits(r(2 ** 32), r(2 ** 32)) || 1; // any bit pattern
    default:
      return (r(2_000_000) - 1_000_000) / 7;
  }
}

function randomTime(r: (n: number) => number, base: number): number {
  switch (r(20)) {
    case 0:
      return -r(2 ** 40); // before 1970
    case 1:
      return MaxT - r(1000); // far future, at the edge of exact ms
    case 2:
      return -MaxT + r(1000);
    default:
      return base + r(3_600_000); // within an hour around base
  }
}

type Model = Map<string, { labels: Labels; samples: Map<number, number> }>;

function expected(model: Model, q: { start: number; end: number; match: (ls: Labels) => boolean }): { key: string; ts: number[]; vs: string[] }[] {
  const out: { key: string; ts: number[]; vs: string[]; labels: Labels }[] = [];
  for (const [key, s] of model) {
    if (!q.match(s.labels)) continue;
    const ts = [...s.samples.keys()].filter((t) => t >= q.start && t <= q.end).sort((a, b) => a - b);
    if (ts.length === 0) continue;
    out.push({ key, ts, vs: ts.map((t) => bitsOf(s.samples.get(t)!)), labels: s.labels });
  }
  // Prometheus' series order (labels.Compare), not string order.
  return out.sort((a, b) => compareLabels(a.labels, b.labels)).map(({ key, ts, vs }) => ({ key, ts, vs }));
}

function actual(series: SampleSeries[]): { key: string; ts: number[]; vs: string[] }[] {
  return series.map((s) => ({
    key: labelsToString(labelsFromPairs(s.labels.map((l) => [l.name, l.value] as const))),
    ts: [...s.timestamps],
    vs: [...s.values].map(bitsOf),
  }));
}

for (const kind of ['mem', 'local', 'aws'] as StorageKind[]) {
  describe(`round trip over HTTP (${kind} storage)`, () => {
    it('returns exactly what was written, in both response types', async () => {
      const { storage, cleanup } = await makeStorage(kind);
      const srv = await startStratus(storage);
      try {
        const r = rng({ mem: 1, local: 2, aws: 3 }[kind]);
        const base = 1_700_000_000_000;
        // Prepare: series over a few label names.
        const allLabels: Labels[] = [];
        const seen = new Set<string>();
        while (allLabels.length < 40) {
          const ls = labelsFromPairs({
            __name__: `metric_${r(4)}`,
            job: ['node', 'prometheus', 'api'][r(3)]!,
            instance: `host-${r(5)}:9100`,
            ...(r(3) === 0 ? { mode: ['idle', 'user', 'système'][r(3)]! } : {}),
          });
          if (!seen.has(labelsToString(ls))) {
            seen.add(labelsToString(ls));
            allLabels.push(ls);
          }
        }
        const model: Model = new Map();
        const sent: WriteSeries[][] = [];

        // Act: 50 requests of random samples; every 7th is sent again later.
        for (let req = 0; req < 50; req++) {
          const body: WriteSeries[] = [];
          const nSeries = 1 + r(10);
          for (let k = 0; k < nSeries; k++) {
            const ls = allLabels[r(allLabels.length)]!;
            const n = 1 + r(30);
            const ts = new Float64Array(n);
            const vs = new Float64Array(n);
            for (let i = 0; i < n; i++) {
              // Sometimes repeat a timestamp of this or an earlier request.
              const m = model.get(labelsToString(ls));
              ts[i] = m && m.samples.size > 0 && r(5) === 0 ? [...m.samples.keys()][r(m.samples.size)]! : i > 0 && r(6) === 0 ? ts[i - 1]! : randomTime(r, base);
              vs[i] = randomValue(r);
            }
            body.push({ labels: ls.map((l) => ({ name: l.name, value: l.value })), timestamps: ts, values: vs });
          }
          await remoteWrite(`${srv.url}/api/v1/write`, body);
          sent.push(body);
          apply(model, body);
          if (req % 7 === 3) {
            // A re-delivery of an older request: it is also the latest write
            // of its samples now.
            const again = sent[r(sent.length)]!;
            await remoteWrite(`${srv.url}/api/v1/write`, again);
            apply(model, again);
          }
        }

        // Assess: whole range, sub-ranges, several matcher sets, both types.
        const checks: { name: string; q: Query; match: (ls: Labels) => boolean }[] = [
          { name: 'everything', q: query(-MaxT, MaxT, [[MatcherType.RE, '__name__', '.+']]), match: () => true },
          { name: 'one hour', q: query(base, base + 3_599_999, [[MatcherType.RE, '__name__', 'metric_.*']]), match: () => true },
          { name: 'before 1970', q: query(-(2 ** 41), -1, [[MatcherType.NEQ, 'job', 'api']]), match: (ls) => labelsGet(ls, 'job') !== 'api' },
          { name: 'far future exact', q: query(MaxT - 500, MaxT, [[MatcherType.EQ, 'job', 'node']]), match: (ls) => labelsGet(ls, 'job') === 'node' },
          {
            name: 'regex and negative regex',
            q: query(base + 600_000, base + 2_400_000, [[MatcherType.RE, 'instance', 'host-[0-2]:9100'], [MatcherType.NRE, 'mode', 'idle|user']]),
            match: (ls) => newMatcher(MatchType.Regexp, 'instance', 'host-[0-2]:9100').matches(labelsGet(ls, 'instance')) && !['idle', 'user'].includes(labelsGet(ls, 'mode')),
          },
          { name: 'unicode value', q: query(-MaxT, MaxT, [[MatcherType.EQ, 'mode', 'système']]), match: (ls) => labelsGet(ls, 'mode') === 'système' },
        ];
        const assess = async (phase: string): Promise<number> => {
          let compared = 0;
          for (const c of checks) {
            const want = expected(model, { start: c.q.startTimestampMs, end: c.q.endTimestampMs, match: c.match });
            for (const type of [ResponseType.SAMPLES, ResponseType.STREAMED_XOR_CHUNKS]) {
              const got = await remoteRead(`${srv.url}/api/v1/read`, [c.q], type);
              assert.deepEqual(actual(got.results[0]!), want, `${phase}: ${c.name} (response type ${type})`);
              compared += want.reduce((a, s) => a + s.ts.length, 0);
            }
          }
          // Several queries in one request answer in order.
          const multi = await remoteRead(`${srv.url}/api/v1/read`, checks.map((c) => c.q), ResponseType.STREAMED_XOR_CHUNKS);
          assert.equal(multi.results.length, checks.length);
          for (let i = 0; i < checks.length; i++) {
            const want = expected(model, { start: checks[i]!.q.startTimestampMs, end: checks[i]!.q.endTimestampMs, match: checks[i]!.match });
            assert.deepEqual(actual(multi.results[i]!), want, `${phase}: query ${i} of a multi-query request`);
          }
          return compared;
        };
        const compared = await assess('before compaction');
        assert.ok(compared > 2000, `compared ${compared} samples`);

        // Compact everything (replaced objects deleted at once), then the
        // same answers must come from blocks alone.
        const db = storage.tenant('anonymous');
        const run = await new Compactor(db.stores, { deleteGraceMs: 0 }).run({ force: true });
        assert.ok(run.blocksWritten > 0 && run.objectsDeleted > 0, JSON.stringify(run));
        const left = await db.stores.catalog.all();
        assert.ok(left.length > 0 && left.every((r) => r.entry.kind === 'block'), 'only blocks are left in the catalog');
        assert.equal(await assess('after compaction'), compared);
        const special = [...model.values()].flatMap((s) => [...s.samples.values()]).filter((v) => Number.isNaN(v) || !Number.isFinite(v) || Object.is(v, -0));
        assert.ok(special.length > 50, 'the data holds many special values');
      } finally {
        await srv.close();
        await cleanup();
      }
    });
  });
}

function apply(model: Model, body: WriteSeries[]): void {
  for (const s of body) {
    const ls = labelsFromPairs(s.labels.map((l) => [l.name, l.value] as const));
    const key = labelsToString(ls);
    let m = model.get(key);
    if (m === undefined) model.set(key, (m = { labels: ls, samples: new Map() }));
    for (let i = 0; i < s.timestamps.length; i++) m.samples.set(s.timestamps[i]!, s.values[i]!);
  }
}

function query(start: number, end: number, ms: [number, string, string][]): Query {
  return { startTimestampMs: start, endTimestampMs: end, matchers: ms.map(([type, name, value]) => ({ type, name, value })) };
}
