/**
 * Scaling measured per-request figures to a deployment: so many active
 * series scraped every so many seconds, sent so many samples per
 * remote_write request. Used by bench/cost.ts for docs/cost.md and
 * docs/scaling.md. Pure arithmetic; every input is a measured figure or a
 * stated assumption of the caller.
 */
import { addUsage, ampCostPer10M, lambdaGbSeconds, samplesPerMonth, storageCost, totalCost, usageCost, zeroUsage, type AmpCost, type CostBreakdown, type Usage } from './model.ts';

/** What a benchmark measured, per unit of work. */
export interface MeasuredFigures {
  /** Backend usage of one steady-state write request (every series already indexed for the day), Lambda excluded. */
  perRequest: Usage;
  /** Estimated billed milliseconds of one write request. */
  writeMs: number;
  /** Configured memory of the write function, MB. */
  writeMemoryMb: number;
  /**
   * Log bytes every write invocation sends to CloudWatch Logs besides the
   * cost lines: the handler's own lines (none for an accepted request at
   * the default level) and Lambda's platform lines (none at the default
   * system log level, WARN).
   */
  logBytesPerInvocation: number;
  /**
   * Bytes of one per-tenant EMF cost line. Each write execution environment
   * writes one per tenant at most every `costLineIntervalS`, summing its
   * invocations (functions/cost.ts); a one-tenant scenario is priced here.
   * @default 0 (no cost lines)
   */
  costLineBytes?: number;
  /** @default 60 */
  costLineIntervalS?: number;
  /**
   * Write execution environments that each write their cost line every
   * interval: at least this many, more when the mean concurrency is higher.
   * @default 1
   */
  minWriteEnvironments?: number;
  /**
   * Usage of indexing one series for one label-index bucket (its first
   * sight in the bucket), beyond a steady request.
   */
  perSeriesBucket: Usage;
  /** Width of a label-index bucket, days (lib/index/keys.ts: a week). A steady series is new once per bucket. */
  indexBucketDays: number;
  /** Compaction (with Lambda) per sample ingested. */
  compactionPerSample: Usage;
  /** Bytes held per sample after compaction: S3 objects, DynamoDB items (with overhead). */
  s3BytesPerSample: number;
  dynamoBytesPerSample: number;
  /**
   * Label-index bytes (with DynamoDB's per-item overhead) of one series for
   * one bucket that stay stored until they expire, and for how many days
   * from the bucket's start (0 when sealing deletes them).
   */
  indexBytesPerSeriesBucket?: number;
  indexHeldDays?: number;
}

/** A deployment to price. */
export interface Scenario {
  activeSeries: number;
  intervalS: number;
  samplesPerRequest: number;
  /**
   * Times a day each write execution environment is replaced by a cold one
   * that re-checks every series it meets with one GetItem (AWS does not
   * publish environment lifetimes: an assumption).
   */
  coldStartsPerEnvPerDay: number;
  /** Months every sample is kept. @default 12 */
  retentionMonths?: number;
}

/** What a scenario costs. */
export interface Projection {
  samplesPerMonth: number;
  samplesPerSecond: number;
  requestsPerSecond: number;
  /** Mean concurrent write executions (requests/s x billed duration). */
  writeConcurrency: number;
  /** Per-tenant EMF cost lines the write function writes in a month. */
  costLinesPerMonth: number;
  /** Usage in a 30-day month, by source. */
  monthly: { requests: Usage; index: Usage; coldRechecks: Usage; compaction: Usage; total: Usage };
  /** Dollars of a month's usage (no storage kept for the retention; label-index items held until they expire are in `dynamodb_storage`). */
  monthlyUsageCost: CostBreakdown;
  /** Dollars of storing one month's samples for a month. */
  monthlyStorageCostOfOneMonth: CostBreakdown;
  /** Dollars per 10 M samples: ingest (requests, index, compaction) and storage for the retention. */
  per10M: { ingest: CostBreakdown; storage: CostBreakdown; total: number };
  amp: AmpCost;
  /** AMP total over Stratus total. */
  cheaperBy: number;
}

const SecondsPerMonth = 86_400 * 30;

/** Projects `m` onto `s`; see {@link Projection}. */
export function project(m: MeasuredFigures, s: Scenario): Projection {
  const months = s.retentionMonths ?? 12;
  const spm = samplesPerMonth(s.activeSeries, s.intervalS);
  const sps = spm / SecondsPerMonth;
  const rps = sps / s.samplesPerRequest;
  const requestsPerMonth = spm / s.samplesPerRequest;
  const concurrency = (rps * m.writeMs) / 1000;

  const oneRequest: Usage = {
    ...m.perRequest,
    lambdaInvocations: m.perRequest.lambdaInvocations + 1,
    lambdaGbSeconds: m.perRequest.lambdaGbSeconds + lambdaGbSeconds(m.writeMs, m.writeMemoryMb),
    logBytes: m.perRequest.logBytes + m.logBytesPerInvocation,
  };
  const requests = addUsage(zeroUsage(), oneRequest, requestsPerMonth);
  // Cost lines: one per write environment and interval, never more than one per request.
  const writeEnvs = Math.max(m.minWriteEnvironments ?? 1, Math.ceil(concurrency));
  const costLinesPerMonth = Math.min(requestsPerMonth, (writeEnvs * SecondsPerMonth) / (m.costLineIntervalS ?? 60));
  requests.logBytes += costLinesPerMonth * (m.costLineBytes ?? 0);
  const index = addUsage(zeroUsage(), m.perSeriesBucket, (s.activeSeries * 30) / m.indexBucketDays);
  // Each cold environment asks once per series it meets: with requests spread
  // over environments, every environment meets about every series.
  const envs = Math.max(1, Math.ceil(concurrency));
  const coldRechecks = { ...zeroUsage(), dynamoReadUnits: s.activeSeries * envs * s.coldStartsPerEnvPerDay * 30 };
  const compaction = addUsage(zeroUsage(), m.compactionPerSample, spm);
  const total = [index, coldRechecks, compaction].reduce((a, b) => addUsage(a, b), requests);

  const monthlyUsageCost = usageCost(total);
  // Index items left to expire: at any time, every active series has the
  // items of `indexHeldDays / indexBucketDays` buckets stored (a running
  // cost, not one that accumulates).
  const indexHeldBytes = (s.activeSeries * (m.indexBytesPerSeriesBucket ?? 0) * (m.indexHeldDays ?? 0)) / m.indexBucketDays;
  monthlyUsageCost.dynamodb_storage = storageCost(0, indexHeldBytes, 1).dynamodb_storage ?? 0;
  const scale = 1e7 / spm;
  const ingest: CostBreakdown = {};
  for (const [k, v] of Object.entries(monthlyUsageCost)) if (k !== 'dynamodb_storage') ingest[k as keyof CostBreakdown] = (v ?? 0) * scale;
  const storage = storageCost(m.s3BytesPerSample * 1e7, m.dynamoBytesPerSample * 1e7, months);
  storage.dynamodb_storage = (storage.dynamodb_storage ?? 0) + (monthlyUsageCost.dynamodb_storage ?? 0) * (1e7 / spm);
  const per10MTotal = totalCost(ingest) + totalCost(storage);
  const amp = ampCostPer10M(spm, months);
  return {
    samplesPerMonth: spm,
    samplesPerSecond: sps,
    requestsPerSecond: rps,
    writeConcurrency: concurrency,
    costLinesPerMonth,
    monthly: { requests, index, coldRechecks, compaction, total },
    monthlyUsageCost,
    monthlyStorageCostOfOneMonth: storageCost(m.s3BytesPerSample * spm, m.dynamoBytesPerSample * spm, 1),
    per10M: { ingest, storage, total: per10MTotal },
    amp,
    cheaperBy: amp.total / per10MTotal,
  };
}
