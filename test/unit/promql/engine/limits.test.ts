/**
 * Limits and the storage boundary: maxSamples counted as Prometheus counts
 * samples in memory (thresholds checked against Prometheus 2.42 run with
 * --query.max-samples), timeouts, cancellation, storage errors and warnings
 * passed through, and the querier range and select hints.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  Engine,
  QueryCanceledError,
  QueryTimeoutError,
  TooManySamplesError,
} from '../../../../lib/promql/index.ts';
import type { Matcher } from '../../../../lib/labels/matcher.ts';
import type { Querier, Queryable, SelectHints, SeriesSet } from '../../../../lib/storage/interface.ts';
import type { Storage, TenantDB } from '../../../../lib/tsdb/db.ts';
import { fixture, M } from './fixture.ts';
import { load } from './helpers.ts';

let db: TenantDB;
let storage: Storage;
before(async () => ({ db, storage } = await load(fixture)));
after(async () => storage.close());

interface SampleLimitCase {
  query: string;
  range?: [number, number, number];
  t?: number;
  /** The smallest maxSamples with which the query succeeds. */
  needs: number;
}

const limitCases: SampleLimitCase[] = [
  { query: 'http_requests', t: M, needs: 3 },
  { query: 'http_requests[5m]', t: 10 * M, needs: 18 }, // 6 points in [5m, 10m] for each of 3 series
  // 33 loaded points + 3 inputs of the last step + 11 outputs held.
  { query: 'sum(http_requests)', range: [0, 10 * M, M], needs: 47 },
  // 2 series of 10 outputs held + the last series' 6-point window + its 10 outputs.
  { query: 'rate(http_requests[5m])', range: [0, 10 * M, M], needs: 36 },
];

describe('maxSamples', () => {
  for (const c of limitCases) {
    it(`${c.query} needs ${c.needs}`, async () => {
      // Prepare
      const run = (maxSamples: number) => {
        const engine = new Engine({ maxSamples });
        return c.range ? engine.rangeQuery(db, c.query, ...c.range) : engine.instantQuery(db, c.query, c.t!);
      };
      // Act / Assess
      await run(c.needs);
      await assert.rejects(run(c.needs - 1), (err: unknown) => {
        assert.ok(err instanceof TooManySamplesError);
        assert.equal(err.message, 'query processing would load too many samples into memory in query execution');
        assert.equal(err.errorType, 'execution');
        return true;
      });
    });
  }
});

// Evaluating this takes far longer than the limits below: 2e5 steps.
const slow = (engine: Engine, signal?: AbortSignal) =>
  engine.rangeQuery(db, 'sum(rate(http_requests[5m])) + sum(http_requests)', 0, 2e8, 1000, { signal });

describe('timeouts and cancellation', () => {
  it('times out before starting when no time is left', async () => {
    // Act / Assess
    await assert.rejects(new Engine({ timeoutMs: 0 }).instantQuery(db, 'http_requests', M), {
      name: 'QueryTimeoutError',
      message: 'query timed out in query execution',
      errorType: 'timeout',
    });
  });

  it('times out during evaluation', async () => {
    // Prepare
    const started = Date.now();
    // Act / Assess
    await assert.rejects(slow(new Engine({ timeoutMs: 50 })), (err: unknown) => {
      assert.ok(err instanceof QueryTimeoutError);
      assert.equal(err.message, 'query timed out in expression evaluation');
      return true;
    });
    assert.ok(Date.now() - started < 5000, 'stopped soon after the deadline');
  });

  it('is canceled by an AbortSignal during evaluation', async () => {
    // Prepare
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 30);
    const started = Date.now();
    // Act / Assess
    await assert.rejects(slow(new Engine(), ac.signal), (err: unknown) => {
      assert.ok(err instanceof QueryCanceledError);
      assert.equal(err.message, 'query was canceled in expression evaluation');
      assert.equal(err.errorType, 'canceled');
      return true;
    });
    assert.ok(Date.now() - started < 5000, 'stopped soon after the abort');
  });

  it('is canceled before starting by an aborted signal', async () => {
    // Act / Assess
    await assert.rejects(new Engine().instantQuery(db, 'http_requests', M, { signal: AbortSignal.abort() }), {
      message: 'query was canceled in query execution',
    });
  });
});

/** A Queryable over `db` that records what the engine asks and can fail or warn. */
function recording(opts: { fail?: Error; warn?: string } = {}) {
  const queriers: [number, number][] = [];
  const selects: { hints: SelectHints | undefined; matchers: string[] }[] = [];
  let closed = 0;
  const q: Queryable = {
    chunkQuerier: (mint, maxt) => db.chunkQuerier(mint, maxt),
    async querier(mint: number, maxt: number): Promise<Querier> {
      queriers.push([mint, maxt]);
      const inner = await db.querier(mint, maxt);
      return {
        select(sort: boolean, hints: SelectHints | undefined, ...ms: Matcher[]): SeriesSet {
          selects.push({ hints, matchers: ms.map((m) => m.toString()) });
          const set = inner.select(sort, hints, ...ms);
          return {
            next: () => (opts.fail ? Promise.reject(opts.fail) : set.next()),
            at: () => set.at(),
            warnings: () => (opts.warn ? [opts.warn] : set.warnings()),
          };
        },
        labelNames: (...ms) => inner.labelNames(...ms),
        labelValues: (n, ...ms) => inner.labelValues(n, ...ms),
        close: async () => {
          closed++;
          await inner.close();
        },
      };
    },
  };
  return { q, queriers, selects, closed: () => closed };
}

describe('storage boundary', () => {
  it('passes storage errors through unchanged and closes the querier', async () => {
    // Prepare
    const boom = new Error('bucket unavailable');
    const r = recording({ fail: boom });
    // Act / Assess
    await assert.rejects(new Engine().instantQuery(r.q, 'sum(http_requests)', M), (err) => err === boom);
    assert.equal(r.closed(), 1);
  });

  it('returns storage warnings', async () => {
    // Prepare
    const r = recording({ warn: 'partial answer' });
    // Act
    const res = await new Engine().instantQuery(r.q, 'http_requests', M);
    // Assess
    assert.deepEqual(res.warnings, ['partial answer']);
    assert.equal(res.value.type === 'vector' && res.value.value.length, 3);
  });

  const hintCases: { query: string; range?: [number, number, number]; t?: number; querier: [number, number]; hints: SelectHints[] }[] = [
    {
      query: 'rate(http_requests[5m])', range: [0, 10 * M, M], querier: [-300_000, 600_000],
      hints: [{ start: -300_000, end: 600_000, step: 60_000, range: 300_000, func: 'rate' }],
    },
    {
      query: 'http_requests offset 1m', t: 10 * M, querier: [240_000, 540_000],
      hints: [{ start: 240_000, end: 540_000, step: 0, range: 0 }],
    },
    {
      query: 'max_over_time(sum(http_requests)[10m:2m])', t: 10 * M, querier: [-300_000, 600_000],
      hints: [{ start: -300_000, end: 600_000, step: 120_000, range: 0, func: 'sum' }],
    },
    {
      query: 'http_requests @ 100 + gappy', range: [0, M, M], querier: [-300_000, 100_000],
      hints: [{ start: -200_000, end: 100_000, step: 60_000, range: 0 }, { start: -300_000, end: 60_000, step: 60_000, range: 0 }],
    },
  ];
  for (const c of hintCases) {
    it(`opens one querier and selects with Prometheus' hints: ${c.query}`, async () => {
      // Prepare
      const r = recording();
      const engine = new Engine();
      // Act
      if (c.range) await engine.rangeQuery(r.q, c.query, ...c.range);
      else await engine.instantQuery(r.q, c.query, c.t!);
      // Assess
      assert.deepEqual(r.queriers, [c.querier]);
      assert.deepEqual(r.selects.map((s) => s.hints), c.hints);
      assert.equal(r.closed(), 1);
    });
  }

  it('opens no querier for a query without selectors', async () => {
    // Prepare
    const r = recording();
    // Act
    const res = await new Engine().rangeQuery(r.q, 'time() * 2', 0, 2000, 1000);
    // Assess
    assert.deepEqual(r.queriers, []);
    assert.equal(res.value.type, 'matrix');
  });
});
