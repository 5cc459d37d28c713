import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { project, type MeasuredFigures } from '../../../lib/cost/projection.ts';
import { totalCost, zeroUsage } from '../../../lib/cost/model.ts';

const close = (actual: number, expected: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected)), `${what}: got ${actual}, want ${expected}`);

describe('cost projection', () => {
  // One PUT and one 1-WRU item per request, 100 ms at 1 GB; 10 WRU per series and day; nothing stored.
  const figures: MeasuredFigures = {
    perRequest: { ...zeroUsage(), s3PutClass: 1, dynamoWriteUnits: 1 },
    writeMs: 100,
    writeMemoryMb: 1024,
    logBytesPerInvocation: 0,
    perSeriesBucket: { ...zeroUsage(), dynamoWriteUnits: 10 },
    indexBucketDays: 1,
    compactionPerSample: zeroUsage(),
    s3BytesPerSample: 0,
    dynamoBytesPerSample: 0,
  };
  const cases = [
    // 100k series / 15 s / 2000 per request: 8.64 M requests and 3 M series-days a month.
    { series: 100_000, batch: 2000, cold: 0, rps: 100_000 / 15 / 2000, month: 8.64e6 * 0.005e-3 + (8.64e6 + 30e6) * 0.625e-6 + 8.64e6 * 0.2e-6 + 8.64e5 * 0.0000133334 },
    // Cold environments: 1 environment (concurrency < 1) x 4 a day x 30 days re-reads 100k series.
    { series: 100_000, batch: 2000, cold: 4, rps: 100_000 / 15 / 2000, month: 8.64e6 * 0.005e-3 + (8.64e6 + 30e6) * 0.625e-6 + 8.64e6 * 0.2e-6 + 8.64e5 * 0.0000133334 + 100_000 * 4 * 30 * 0.125e-6 },
    // 500 per request: four times the requests, the same index work.
    { series: 100_000, batch: 500, cold: 0, rps: 100_000 / 15 / 500, month: 34.56e6 * 0.005e-3 + (34.56e6 + 30e6) * 0.625e-6 + 34.56e6 * 0.2e-6 + 3.456e6 * 0.0000133334 },
  ];
  for (const c of cases) {
    it(`${c.series} series, ${c.batch} samples/request, ${c.cold} cold starts a day`, () => {
      // Act
      const p = project(figures, { activeSeries: c.series, intervalS: 15, samplesPerRequest: c.batch, coldStartsPerEnvPerDay: c.cold });
      // Assess
      close(p.samplesPerMonth, 17.28e9, 'samples/month');
      close(p.requestsPerSecond, c.rps, 'requests/s');
      close(p.writeConcurrency, c.rps * 0.1, 'concurrency');
      close(totalCost(p.monthlyUsageCost), c.month, 'monthly dollars');
      close(p.per10M.total, (c.month / 17.28e9) * 1e7, 'per 10 M');
      close(p.cheaperBy, p.amp.total / p.per10M.total, 'ratio');
    });
  }

  it('charges label-index items left to expire for the days they stay stored, not for the retention', () => {
    // Prepare: 2000 bytes per series-day held 34 days; 100k series hold 6.8 GB at any time.
    const held = { ...figures, indexBytesPerSeriesBucket: 2000, indexHeldDays: 34 };
    // Act
    const p = project(held, { activeSeries: 100_000, intervalS: 15, samplesPerRequest: 2000, coldStartsPerEnvPerDay: 0 });
    const none = project(figures, { activeSeries: 100_000, intervalS: 15, samplesPerRequest: 2000, coldStartsPerEnvPerDay: 0 });
    // Assess: $0.25 per GB-month on 6.8e9 bytes, spread over a month's 17.28 B samples.
    const monthly = ((100_000 * 2000 * 34) / 1024 ** 3) * 0.25;
    close(p.per10M.total - none.per10M.total, (monthly / 17.28e9) * 1e7, 'per 10 M');
    close(p.monthlyUsageCost.dynamodb_storage ?? 0, monthly, 'a running monthly cost');
    close(p.monthlyStorageCostOfOneMonth.dynamodb_storage ?? 0, 0, 'not storage that accumulates');
  });

  it('charges the label index once per series and bucket: a week bucket costs a seventh of a day bucket', () => {
    // Prepare: the same items per series and bucket, buckets of 1 and 7 days, held 34 and 40 days.
    const scenario = { activeSeries: 100_000, intervalS: 15, samplesPerRequest: 2000, coldStartsPerEnvPerDay: 0 };
    const day = project({ ...figures, indexBytesPerSeriesBucket: 2000, indexHeldDays: 34 }, scenario);
    const week = project({ ...figures, indexBucketDays: 7, indexBytesPerSeriesBucket: 2000, indexHeldDays: 40 }, scenario);
    // Act / Assess: 100k series x 30 days x 10 WRU a month vs a seventh of it.
    close(day.monthly.index.dynamoWriteUnits, 100_000 * 30 * 10, 'day buckets: WRU a month');
    close(week.monthly.index.dynamoWriteUnits, (100_000 * 30 * 10) / 7, 'week buckets: WRU a month');
    // Held: 34 buckets of a day vs 40/7 buckets of a week, 2000 bytes each per series.
    close(day.monthlyUsageCost.dynamodb_storage ?? 0, ((100_000 * 2000 * 34) / 1024 ** 3) * 0.25, 'day buckets held');
    close(week.monthlyUsageCost.dynamodb_storage ?? 0, ((100_000 * 2000 * 40) / 7 / 1024 ** 3) * 0.25, 'week buckets held');
    assert.ok(week.per10M.total < day.per10M.total);
  });
});

describe('log bytes', () => {
  it('counts the cost lines once per write environment and minute, never more than one per request', () => {
    const figures: MeasuredFigures = {
      perRequest: zeroUsage(),
      writeMs: 100,
      writeMemoryMb: 1024,
      logBytesPerInvocation: 10,
      costLineBytes: 640,
      costLineIntervalS: 60,
      minWriteEnvironments: 4,
      perSeriesBucket: zeroUsage(),
      indexBucketDays: 7,
      compactionPerSample: zeroUsage(),
      s3BytesPerSample: 0,
      dynamoBytesPerSample: 0,
    };
    const minutes = 30 * 24 * 60;
    const cases = [
      // 3.33 requests/s at 0.1 s: concurrency 0.33, the floor of 4 environments, a line a minute each.
      { name: '100k series, 2000/request', series: 100_000, batch: 2000, lines: 4 * minutes },
      // 333 requests/s: concurrency 33.3 -> 34 environments.
      { name: '10M series, 2000/request', series: 10_000_000, batch: 2000, lines: 34 * minutes },
      // 0.033 requests/s: fewer requests than environment-minutes, a line per request at most.
      { name: '1k series, 2000/request', series: 1_000, batch: 2000, lines: 1_000 / 15 / 2000 * 86_400 * 30 },
    ];
    for (const c of cases) {
      // Act
      const p = project(figures, { activeSeries: c.series, intervalS: 15, samplesPerRequest: c.batch, coldStartsPerEnvPerDay: 0 });
      const silent = project({ ...figures, costLineBytes: 0, logBytesPerInvocation: 0 }, { activeSeries: c.series, intervalS: 15, samplesPerRequest: c.batch, coldStartsPerEnvPerDay: 0 });
      // Assess
      close(p.costLinesPerMonth, c.lines, `${c.name}: lines`);
      const requests = p.samplesPerMonth / c.batch;
      close(p.monthly.requests.logBytes, requests * 10 + c.lines * 640, `${c.name}: bytes`);
      close(totalCost(p.monthlyUsageCost) - totalCost(silent.monthlyUsageCost), ((requests * 10 + c.lines * 640) / 1024 ** 3) * 0.5, `${c.name}: $0.50 per GB`);
    }
  });
});

describe('Lambda wait estimate', () => {
  it('takes requests as sequential except those the code overlaps', async () => {
    const { waitMs, LambdaAssumptions } = await import('../../../lib/cost/report.ts');
    const row = (service: 's3' | 'dynamodb', op: string, scope: string, requests: number) => ({ tenant: 't', service, op, scope, requests, items: requests, capacityUnits: 0, bytes: 0 });
    const rows = [row('s3', 'GetObject', 'segments', 100), row('s3', 'DeleteObject', 'segments', 80), row('dynamodb', 'BatchWriteItem', 'catalog', 10)];
    const l = LambdaAssumptions.latencyMs;
    // Act / Assess
    assert.equal(waitMs(rows), 100 * l.s3Get + 80 * l.s3Get + 10 * l.dynamoWrite);
    assert.equal(waitMs(rows, LambdaAssumptions.compactionOverlap), (100 * l.s3Get) / 4 + (80 * l.s3Get) / 8 + 10 * l.dynamoWrite);
  });
});
