import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  addUsage,
  ampCostPer10M,
  ampIngestCostPerMonth,
  dynamoItemBytes,
  lambdaGbSeconds,
  readUnits,
  requestCost,
  s3RequestClass,
  samplesPerMonth,
  storageCost,
  totalCost,
  usageCost,
  writeUnits,
  zeroUsage,
} from '../../../lib/cost/model.ts';
import { AmpPrices, AwsPrices } from '../../../lib/cost/prices.ts';

const close = (actual: number, expected: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected)), `${what}: got ${actual}, want ${expected}`);

describe('cost model: DynamoDB capacity units', () => {
  const cases: { name: string; got: () => number; want: number }[] = [
    { name: 'item size counts attribute names pk, sk, v', got: () => dynamoItemBytes('ab', 'c', 10), want: 2 + 2 + 2 + 1 + 1 + 10 },
    { name: 'item size counts UTF-8 bytes', got: () => dynamoItemBytes('é', 'x', 0), want: 2 + 2 + 2 + 1 + 1 },
    { name: 'an empty write still costs 1 WRU', got: () => writeUnits(0), want: 1 },
    { name: '1 KB is 1 WRU', got: () => writeUnits(1024), want: 1 },
    { name: '1 KB + 1 byte is 2 WRU', got: () => writeUnits(1025), want: 2 },
    { name: '3000 bytes is 3 WRU', got: () => writeUnits(3000), want: 3 },
    { name: 'an empty consistent read costs 1 RRU', got: () => readUnits(0), want: 1 },
    { name: '4 KB consistent is 1 RRU', got: () => readUnits(4096), want: 1 },
    { name: '4 KB + 1 consistent is 2 RRU', got: () => readUnits(4097), want: 2 },
    { name: '4 KB + 1 eventually consistent is 1 RRU', got: () => readUnits(4097, false), want: 1 },
    { name: 'an empty eventually consistent read is 0.5 RRU', got: () => readUnits(0, false), want: 0.5 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      // Act / Assess
      assert.equal(c.got(), c.want);
    });
  }
});

describe('cost model: request prices', () => {
  const cases: { service: string; op: string; requests: number; units: number; component: string; want: number }[] = [
    { service: 's3', op: 'PutObject', requests: 1000, units: 0, component: 's3_requests', want: AwsPrices.s3.putClass.usd },
    { service: 's3', op: 'ListObjectsV2', requests: 2000, units: 0, component: 's3_requests', want: 2 * AwsPrices.s3.putClass.usd },
    { service: 's3', op: 'GetObject', requests: 1000, units: 0, component: 's3_requests', want: AwsPrices.s3.getClass.usd },
    { service: 's3', op: 'HeadObject', requests: 500, units: 0, component: 's3_requests', want: AwsPrices.s3.getClass.usd / 2 },
    { service: 's3', op: 'DeleteObject', requests: 1e6, units: 0, component: 's3_requests', want: 0 },
    { service: 'dynamodb', op: 'BatchWriteItem', requests: 1, units: 1e6, component: 'dynamodb_requests', want: AwsPrices.dynamodb.write.usd },
    { service: 'dynamodb', op: 'PutItem', requests: 3, units: 3, component: 'dynamodb_requests', want: (3 * AwsPrices.dynamodb.write.usd) / 1e6 },
    { service: 'dynamodb', op: 'Query', requests: 10, units: 2e6, component: 'dynamodb_requests', want: 2 * AwsPrices.dynamodb.read.usd },
    { service: 'dynamodb', op: 'GetItem', requests: 7, units: 7, component: 'dynamodb_requests', want: (7 * AwsPrices.dynamodb.read.usd) / 1e6 },
  ];
  for (const c of cases) {
    it(`${c.service} ${c.op} x${c.requests}`, () => {
      // Act
      const got = requestCost(c.service, c.op, c.requests, c.units);
      // Assess
      assert.equal(got.component, c.component);
      close(got.usd, c.want, 'dollars');
    });
  }

  it('classifies S3 operations as S3 bills them', () => {
    // Prepare
    const want = { PutObject: 'put', CopyObject: 'put', ListObjectsV2: 'put', GetObject: 'get', HeadObject: 'get', DeleteObject: 'free' } as const;
    // Act / Assess
    for (const [op, cls] of Object.entries(want)) assert.equal(s3RequestClass(op), cls, op);
  });
});

describe('cost model: usage, storage, Lambda', () => {
  it('prices a period of usage by component', () => {
    // Prepare: 1 M PUTs, 10 M GETs, 2 M WRU, 4 M RRU, 1 M invocations of 100 ms at 1 GB, 1 GiB of logs
    const u = { s3PutClass: 1e6, s3GetClass: 1e7, dynamoWriteUnits: 2e6, dynamoReadUnits: 4e6, lambdaInvocations: 1e6, lambdaGbSeconds: 1e5, logBytes: 1024 ** 3 };
    // Act
    const c = usageCost(u);
    // Assess: the list prices times the amounts
    close(c.s3_requests!, 5 + 4, 's3');
    close(c.dynamodb_requests!, 2 * 0.625 + 4 * 0.125, 'dynamodb');
    close(c.lambda_requests!, 0.2, 'lambda requests');
    close(c.lambda_duration!, 1e5 * 0.0000133334, 'lambda duration');
    close(c.cloudwatch_logs!, 0.5, 'logs');
    close(totalCost(c), 9 + 1.75 + 0.2 + 1.33334 + 0.5, 'total');
  });

  it('adds usage with a factor', () => {
    // Prepare
    const a = { ...zeroUsage(), s3PutClass: 2, dynamoWriteUnits: 5 };
    const b = { ...zeroUsage(), s3PutClass: 1, lambdaGbSeconds: 0.5 };
    // Act
    const s = addUsage(a, b, 4);
    // Assess
    assert.deepEqual(s, { ...zeroUsage(), s3PutClass: 6, dynamoWriteUnits: 5, lambdaGbSeconds: 2 });
  });

  it('prices storage by GiB-month', () => {
    // Act: 10 GiB in S3 and 2 GiB in DynamoDB for 12 months
    const c = storageCost(10 * 1024 ** 3, 2 * 1024 ** 3, 12);
    // Assess
    close(c.s3_storage!, 10 * 12 * 0.023, 's3');
    close(c.dynamodb_storage!, 2 * 12 * 0.25, 'dynamodb');
  });

  const lambdaCases = [
    { ms: 100, mb: 1024, want: 0.1 },
    { ms: 100.2, mb: 1024, want: 0.101 }, // billed per started millisecond
    { ms: 50, mb: 3008, want: 0.05 * (3008 / 1024) },
  ];
  for (const c of lambdaCases) {
    it(`Lambda GB-s of ${c.ms} ms at ${c.mb} MB`, () => {
      // Act / Assess
      close(lambdaGbSeconds(c.ms, c.mb), c.want, 'GB-s');
    });
  }
});

describe('cost model: AMP', () => {
  const tierCases = [
    { samples: 1e9, want: 100 * 0.9 },
    { samples: 2e9, want: 200 * 0.9 },
    { samples: 17.28e9, want: 200 * 0.9 + 1528 * 0.35 },
    { samples: 300e9, want: 200 * 0.9 + 25_000 * 0.35 + 4800 * 0.16 },
  ];
  for (const c of tierCases) {
    it(`ingestion of ${c.samples / 1e9} B samples a month walks the tiers`, () => {
      // Act / Assess
      close(ampIngestCostPerMonth(c.samples), c.want, 'dollars');
    });
  }

  it('prices 10 M samples ingested and stored a year', () => {
    // Act
    const small = ampCostPer10M(1e9);
    const big = ampCostPer10M(samplesPerMonth(100_000, 15));
    // Assess: first tier only, then the average of the first two tiers; storage at the assumed bytes/sample
    const storage = ((1e7 * AmpPrices.assumedBytesPerSample) / 1024 ** 3) * 12 * 0.03;
    close(small.ingest, 0.9, 'first tier');
    close(small.storage, storage, 'storage');
    close(big.ingest, ((200 * 0.9 + 1528 * 0.35) / 17.28e9) * 1e7, 'blended');
    close(big.total, big.ingest + storage, 'total');
  });

  it('counts samples of a 30-day month', () => {
    // Act / Assess: 100k series every 15 s is 6.67k samples/s
    assert.equal(samplesPerMonth(100_000, 15), 17.28e9);
    assert.equal(samplesPerMonth(1_000_000, 15), 172.8e9);
  });
});
