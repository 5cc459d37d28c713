/**
 * The AWS cost model: turns counted backend operations, DynamoDB capacity
 * units, bytes stored and Lambda GB-seconds into dollars at the list prices
 * of lib/cost/prices.ts, and prices the same volume on Amazon Managed
 * Service for Prometheus for comparison.
 *
 * How DynamoDB bills (on-demand), as modelled here:
 * - an item's size is the UTF-8 bytes of its attribute names plus their
 *   values: our items are `pk` (S), `sk` (S) and `v` (B);
 * - a write (PutItem, each item of a BatchWriteItem, a delete) costs one
 *   write request unit per started KB of the item, at least 1; a
 *   conditional put that fails costs the same;
 * - a strongly consistent read costs one read request unit per started
 *   4 KB (eventually consistent: half). A GetItem rounds its one item up; a
 *   Query rounds the sum of the items of one page (at most 1 MB) up, and an
 *   empty answer still costs the minimum. Every read in
 *   lib/kvstore/dynamodb/dynamo-store.ts is `ConsistentRead: true`.
 * - storage adds 100 bytes of overhead per item.
 */
import { AmpPrices, AwsPrices, priced } from './prices.ts';

/** Bytes in a GB as AWS bills storage and Lambda memory (2^30). */
export const GiB = 1024 ** 3;

/** Storage overhead DynamoDB adds to every item, bytes. */
export const DynamoItemOverheadBytes = 100;

/** Largest data one Query page reads before it stops (DynamoDB's 1 MB). */
export const DynamoQueryPageBytes = 1024 * 1024;

/** Items in one BatchWriteItem at most. */
export const DynamoBatchWriteItems = 25;

/** Keys in one ListObjectsV2 page at most. */
export const S3ListPageKeys = 1000;

const utf8 = new TextEncoder();

/** UTF-8 length of a string (fast path for ASCII). */
export function utf8Length(s: string): number {
  // Keys are nearly always ASCII: count without encoding when they are.
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return utf8.encode(s).length;
  return s.length;
}

/** Size of one of our items as DynamoDB counts it: names `pk`, `sk`, `v` plus their values. */
export function dynamoItemBytes(pk: string, sk: string, valueBytes: number): number {
  return 2 + utf8Length(pk) + 2 + utf8Length(sk) + 1 + valueBytes;
}

/** Write request units of writing (or deleting) an item of `itemBytes`: 1 per started KB, at least 1. */
export function writeUnits(itemBytes: number): number {
  return Math.max(1, Math.ceil(itemBytes / 1024));
}

/**
 * Read request units of reading `bytes` in one GetItem or one Query page:
 * 1 per started 4 KB (at least one), halved for eventually consistent reads.
 */
export function readUnits(bytes: number, consistent = true): number {
  const units = Math.max(1, Math.ceil(bytes / 4096));
  return consistent ? units : units / 2;
}

/** The S3 price class of an API operation. */
export type S3RequestClass = 'put' | 'get' | 'free';

/** S3's price class of `op` (PUT/COPY/POST/LIST; DELETE free; everything else GET-class). */
export function s3RequestClass(op: string): S3RequestClass {
  switch (op) {
    case 'PutObject':
    case 'CopyObject':
    case 'PostObject':
    case 'ListObjectsV2':
    case 'ListObjects':
    case 'CreateMultipartUpload':
    case 'UploadPart':
    case 'CompleteMultipartUpload':
      return 'put';
    case 'DeleteObject':
    case 'DeleteObjects':
      return 'free';
    default:
      return 'get';
  }
}

/** Whether a DynamoDB operation consumes write (else read) capacity. */
export function isDynamoWrite(op: string): boolean {
  return op === 'BatchWriteItem' || op === 'PutItem' || op === 'DeleteItem' || op === 'UpdateItem' || op === 'TransactWriteItems';
}

/** What a cost is spent on: the `component` label of the cost metrics. */
export const CostComponent = {
  s3Requests: 's3_requests',
  dynamodbRequests: 'dynamodb_requests',
  lambdaRequests: 'lambda_requests',
  lambdaDuration: 'lambda_duration',
  logs: 'cloudwatch_logs',
  s3Storage: 's3_storage',
  dynamodbStorage: 'dynamodb_storage',
} as const;
export type CostComponent = (typeof CostComponent)[keyof typeof CostComponent];

/**
 * Dollars of `requests` backend requests of `service`/`op` that consumed
 * `capacityUnits` (DynamoDB WRU or RRU; ignored for S3).
 */
export function requestCost(service: string, op: string, requests: number, capacityUnits: number): { component: CostComponent; usd: number } {
  if (service === 's3') {
    const cls = s3RequestClass(op);
    const price = cls === 'put' ? AwsPrices.s3.putClass : cls === 'get' ? AwsPrices.s3.getClass : AwsPrices.s3.delete;
    return { component: CostComponent.s3Requests, usd: priced(price, requests) };
  }
  if (service === 'dynamodb') {
    const price = isDynamoWrite(op) ? AwsPrices.dynamodb.write : AwsPrices.dynamodb.read;
    return { component: CostComponent.dynamodbRequests, usd: priced(price, capacityUnits) };
  }
  return { component: CostComponent.s3Requests, usd: 0 };
}

/** Counted usage of a period (requests and compute, not storage). */
export interface Usage {
  s3PutClass: number;
  s3GetClass: number;
  dynamoWriteUnits: number;
  dynamoReadUnits: number;
  lambdaInvocations: number;
  /** Billed duration x configured memory, GB-seconds. */
  lambdaGbSeconds: number;
  /** Bytes of log lines sent to CloudWatch Logs. */
  logBytes: number;
}

/** An all-zero {@link Usage}. */
export function zeroUsage(): Usage {
  return { s3PutClass: 0, s3GetClass: 0, dynamoWriteUnits: 0, dynamoReadUnits: 0, lambdaInvocations: 0, lambdaGbSeconds: 0, logBytes: 0 };
}

/** `a + k*b`, field by field. */
export function addUsage(a: Usage, b: Usage, k = 1): Usage {
  return {
    s3PutClass: a.s3PutClass + k * b.s3PutClass,
    s3GetClass: a.s3GetClass + k * b.s3GetClass,
    dynamoWriteUnits: a.dynamoWriteUnits + k * b.dynamoWriteUnits,
    dynamoReadUnits: a.dynamoReadUnits + k * b.dynamoReadUnits,
    lambdaInvocations: a.lambdaInvocations + k * b.lambdaInvocations,
    lambdaGbSeconds: a.lambdaGbSeconds + k * b.lambdaGbSeconds,
    logBytes: a.logBytes + k * b.logBytes,
  };
}

/** Dollars by component. */
export type CostBreakdown = Partial<Record<CostComponent, number>>;

/** Sum of a breakdown. */
export function totalCost(c: CostBreakdown): number {
  let sum = 0;
  for (const v of Object.values(c)) sum += v ?? 0;
  return sum;
}

/** Dollars of a period's usage, by component. */
export function usageCost(u: Usage): CostBreakdown {
  return {
    [CostComponent.s3Requests]: priced(AwsPrices.s3.putClass, u.s3PutClass) + priced(AwsPrices.s3.getClass, u.s3GetClass),
    [CostComponent.dynamodbRequests]: priced(AwsPrices.dynamodb.write, u.dynamoWriteUnits) + priced(AwsPrices.dynamodb.read, u.dynamoReadUnits),
    [CostComponent.lambdaRequests]: priced(AwsPrices.lambda.requests, u.lambdaInvocations),
    [CostComponent.lambdaDuration]: priced(AwsPrices.lambda.arm64Duration, u.lambdaGbSeconds),
    [CostComponent.logs]: priced(AwsPrices.cloudwatchLogs.ingest, u.logBytes / GiB),
  };
}

/** Dollars of keeping bytes stored for `months` months. */
export function storageCost(s3Bytes: number, dynamoBytes: number, months: number): CostBreakdown {
  return {
    [CostComponent.s3Storage]: priced(AwsPrices.s3.storage, (s3Bytes / GiB) * months),
    [CostComponent.dynamodbStorage]: priced(AwsPrices.dynamodb.storage, (dynamoBytes / GiB) * months),
  };
}

/** GB-seconds of one invocation billed `ms` milliseconds at `memoryMb` MB (Lambda rounds up to 1 ms). */
export function lambdaGbSeconds(ms: number, memoryMb: number): number {
  return (Math.ceil(ms) / 1000) * (memoryMb / 1024);
}

/**
 * AMP's ingestion charge for a month in which `samplesPerMonth` samples are
 * ingested, walking the tiers of {@link AmpPrices.ingestTiers}.
 */
export function ampIngestCostPerMonth(samplesPerMonth: number): number {
  let usd = 0;
  let below = 0;
  for (const tier of AmpPrices.ingestTiers) {
    const inTier = Math.max(0, Math.min(samplesPerMonth, tier.upToSamplesPerMonth) - below);
    usd += (inTier / 1e7) * tier.usdPer10M;
    below = tier.upToSamplesPerMonth;
    if (samplesPerMonth <= below) break;
  }
  return usd;
}

/** What 10 million samples cost on AMP: ingestion at a volume's average tier price, plus storage. */
export interface AmpCost {
  ingest: number;
  storage: number;
  total: number;
}

/**
 * AMP's price of ingesting 10 million samples (at the average price per
 * sample of a month with `samplesPerMonth`) and storing them `months`
 * months at `bytesPerSample` (AWS does not publish it; see AmpPrices).
 */
export function ampCostPer10M(samplesPerMonth: number, months = 12, bytesPerSample: number = AmpPrices.assumedBytesPerSample): AmpCost {
  const ingest = (ampIngestCostPerMonth(samplesPerMonth) / samplesPerMonth) * 1e7;
  const storage = priced(AmpPrices.storage, ((1e7 * bytesPerSample) / GiB) * months);
  return { ingest, storage, total: ingest + storage };
}

/** Samples per month of `series` active series scraped every `intervalS` seconds (30-day month). */
export function samplesPerMonth(series: number, intervalS: number): number {
  return (series / intervalS) * 86_400 * 30;
}
