/**
 * The data set of the engine tests. Times are ms from 0; most series have
 * a sample every minute from 0 to 10m. The same data can be loaded into a
 * real Prometheus (via remote write) to check an expectation against it.
 */
import { every, type SeriesSpec } from './helpers.ts';

export const M = 60_000;

export const fixture: SeriesSpec[] = [
  // Counters: 0, 10, ..., 100 and 0, 1, ..., 10 over 0..10m.
  { labels: { __name__: 'http_requests', job: 'api', instance: 'a' }, samples: every(0, M, 11, (i) => 10 * i) },
  { labels: { __name__: 'http_requests', job: 'api', instance: 'b' }, samples: every(0, M, 11, (i) => i) },
  { labels: { __name__: 'http_requests', job: 'db', instance: 'a' }, samples: every(0, M, 11, (i) => [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5][i]!) },
  // A series that goes stale at 2m, comes back at 5m and goes stale again at 6m.
  { labels: { __name__: 'flappy', job: 'x' }, samples: [[0, 1], [M, 1.5], [2 * M, 'stale'], [5 * M, 2], [6 * M, 'stale']] },
  // Two samples 400 s apart: the lookback (5m) edge.
  { labels: { __name__: 'gappy' }, samples: [[0, 1], [400_000, 2]] },
  // Special values, constant over 0..10m.
  { labels: { __name__: 'special', kind: 'nan' }, samples: every(0, M, 11, () => NaN) },
  { labels: { __name__: 'special', kind: 'inf' }, samples: every(0, M, 11, () => Infinity) },
  { labels: { __name__: 'special', kind: 'neginf' }, samples: every(0, M, 11, () => -Infinity) },
  { labels: { __name__: 'special', kind: 'one' }, samples: every(0, M, 11, () => 1) },
  // Vector matching: requests by method and code, limits by method.
  { labels: { __name__: 'req', method: 'get', code: '200' }, samples: every(0, M, 11, () => 10) },
  { labels: { __name__: 'req', method: 'get', code: '500' }, samples: every(0, M, 11, () => 2) },
  { labels: { __name__: 'req', method: 'post', code: '200' }, samples: every(0, M, 11, () => 4) },
  { labels: { __name__: 'limit', method: 'get', team: 't1' }, samples: every(0, M, 11, () => 100) },
  { labels: { __name__: 'limit', method: 'post', team: 't2' }, samples: every(0, M, 11, () => 50) },
  { labels: { __name__: 'limit', method: 'put', team: 't3' }, samples: every(0, M, 11, () => 7) },
  // Values for aggregations: one group of five with ties.
  ...[['a', 5], ['b', 1], ['c', 5], ['d', 3], ['e', -2]].map(
    ([inst, v]) => ({ labels: { __name__: 'vals', group: 'g1', inst: inst as string }, samples: every(0, M, 11, () => v as number) }),
  ),
  ...[['f', 8], ['g', NaN], ['h', 0.5]].map(
    ([inst, v]) => ({ labels: { __name__: 'vals', group: 'g2', inst: inst as string }, samples: every(0, M, 11, () => v as number) }),
  ),
  // Two series that differ only by name.
  { labels: { __name__: 'dup_a', x: '1' }, samples: every(0, M, 11, () => 1) },
  { labels: { __name__: 'dup_b', x: '1' }, samples: every(0, M, 11, () => 2) },
  // Large values, for avg without overflow.
  { labels: { __name__: 'big', i: '1' }, samples: every(0, M, 11, () => 1.5e308) },
  { labels: { __name__: 'big', i: '2' }, samples: every(0, M, 11, () => 1.7e308) },
  // Irregular samples for range windows and subqueries: 15 s apart, value = seconds.
  { labels: { __name__: 'fine' }, samples: every(0, 15_000, 41, (i) => i * 15) },
];
