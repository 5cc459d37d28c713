/**
 * Per-tenant cost of each Lambda invocation, written as CloudWatch EMF lines
 * (lib/cost/emf.ts): the S3 and DynamoDB requests the metering decorators
 * of lib/cost/metered.ts saw during the invocation, by tenant, and the
 * invocation's billed duration x configured memory (GB-seconds), priced at
 * the list prices of lib/cost/prices.ts (Lambda: arm64).
 *
 * Attribution. A Lambda execution environment serves one invocation at a
 * time, so one meter per process sees exactly one invocation's operations
 * between {@link InvocationMeter.begin} and {@link InvocationMeter.finish}.
 * Operations go to the tenant read off their keys (the decorators' rule);
 * those of no one tenant (listing all tenants) go to {@link SharedTenant}.
 * Duration: a request-serving invocation is charged whole to the tenant
 * of its X-Scope-OrgID header (an invalid header: shared); a compaction
 * invocation charges each tenant the time its compaction took and the rest
 * (listing tenants, summing up) to shared. The invocation request price is
 * split in the same proportions.
 *
 * Billed duration, as Lambda bills it: the handler's time rounded up to the
 * millisecond, plus, on a cold start, the INIT phase (billed for managed
 * runtimes since 2025-08-01; taken here as the time from process start to
 * the end of the handler module's loading, an estimate: Lambda's own
 * `Init Duration` also counts the runtime's start before Node's clock).
 * The handler's time is measured from its entry to just before the EMF
 * lines are written: a few ms under Lambda's `Duration`.
 *
 * One EMF line per tenant and invocation (one line for a write, read or
 * query; one per tenant compacted plus shared for compaction): a line holds
 * one value per dimension, and the dimension is the tenant.
 */
import { performance } from 'node:perf_hooks';
import { encodeEmf, EmfUnit, type EmfMetric } from '../lib/cost/emf.ts';
import type { MeteredOp, OpSink } from '../lib/cost/metered.ts';
import { isDynamoWrite, lambdaGbSeconds, requestCost } from '../lib/cost/model.ts';
import { AwsPrices, priced } from '../lib/cost/prices.ts';
import { tenantFromHeaders } from '../lib/storage/tenant.ts';
import type { Logger } from '../lib/util/logger.ts';

/** Namespace of the cost metrics. */
export const CostNamespace = 'Stratus';

/**
 * Dimension value for work that is no one tenant's. `<` and `>` cannot occur
 * in tenant ids (lib/storage/tenant.ts), and CloudWatch refuses an empty
 * dimension value, hence not the `""` of /metrics.
 */
export const SharedTenant = '<shared>';

/**
 * The metrics of each line, all with the one dimension set `[tenant]`:
 * 4 custom metrics per tenant (about $1.20 a month per tenant active every
 * hour, at $0.30 per metric-month). Operation counts, capacity units and
 * the Lambda dollars are plain properties of the same line (Logs Insights).
 */
export const EmfCostMetrics = {
  /** Dollars of the tenant's S3 requests, DynamoDB requests, Lambda duration and invocation share. */
  estimatedCost: 'EstimatedCostUSD',
  s3RequestsCost: 'S3RequestsCostUSD',
  dynamodbRequestsCost: 'DynamoDBRequestsCostUSD',
  /** Billed duration x configured memory charged to the tenant. */
  lambdaGbSeconds: 'LambdaGBSeconds',
} as const;

/** The dimension key. */
export const TenantDimension = 'tenant';

/** What one tenant cost in one invocation. */
export interface TenantInvocationCost {
  tenant: string;
  /** The tenant's share of the invocation's billed duration, ms. */
  billedMs: number;
  /** `billedMs` x configured memory, GB-seconds. */
  gbSeconds: number;
  /** Requests by service and operation (`{ s3: { PutObject: 1 } }`). */
  operations: { s3: Record<string, number>; dynamodb: Record<string, number> };
  dynamodbWriteUnits: number;
  dynamodbReadUnits: number;
  /** Dollars by component, and their total. */
  usd: { s3Requests: number; dynamodbRequests: number; lambdaDuration: number; lambdaRequests: number; total: number };
}

/** What {@link InvocationMeter.finish} measured. */
export interface InvocationCost {
  /** Handler time, ms (not rounded). */
  durationMs: number;
  /** INIT time billed with this invocation (cold start), ms; 0 when warm. */
  initMs: number;
  /** ceil(durationMs + initMs). */
  billedMs: number;
  memoryMb: number;
  gbSeconds: number;
  /** Per tenant, sorted by tenant. */
  tenants: TenantInvocationCost[];
}

/** How {@link InvocationMeter.finish} splits the billed duration. */
export interface DurationShares {
  /** Charge it all to this tenant (a request-serving invocation). */
  tenant?: string;
  /** Or: ms per tenant (compaction); the rest goes to {@link SharedTenant}. Scaled down if they add up to more than billed. */
  tenantMs?: ReadonlyMap<string, number>;
}

interface OpTotals {
  operations: { s3: Record<string, number>; dynamodb: Record<string, number> };
  wru: number;
  rru: number;
  s3Usd: number;
  dynamoUsd: number;
}

function zeroTotals(): OpTotals {
  return { operations: { s3: {}, dynamodb: {} }, wru: 0, rru: 0, s3Usd: 0, dynamoUsd: 0 };
}

/** Sums one invocation's metered operations per tenant and prices them with its duration; see the module comment. */
export class InvocationMeter implements OpSink {
  /** The clock of durations, ms (settable in tests). */
  now: () => number;
  #ops = new Map<string, OpTotals>();
  #initMs = 0;

  constructor(now: () => number = () => performance.now()) {
    this.now = now;
  }

  record(o: MeteredOp): void {
    const tenant = o.tenant === '' ? SharedTenant : o.tenant;
    let t = this.#ops.get(tenant);
    if (t === undefined) this.#ops.set(tenant, (t = zeroTotals()));
    if (o.requests > 0) {
      const byOp = o.service === 's3' ? t.operations.s3 : t.operations.dynamodb;
      byOp[o.op] = (byOp[o.op] ?? 0) + o.requests;
    }
    if (o.service === 'dynamodb') {
      if (isDynamoWrite(o.op)) t.wru += o.capacityUnits;
      else t.rru += o.capacityUnits;
    }
    const { usd } = requestCost(o.service, o.op, o.requests, o.capacityUnits);
    if (o.service === 's3') t.s3Usd += usd;
    else t.dynamoUsd += usd;
  }

  /** Notes the INIT time, billed with the next invocation (call once, when the handler module has loaded). */
  coldStart(initMs: number): void {
    this.#initMs = Math.max(0, initMs);
  }

  /** Starts an invocation: forgets operations seen outside one; returns the start time for {@link finish}. */
  begin(): number {
    this.#ops = new Map();
    return this.now();
  }

  /** Ends an invocation begun at `startedAt`: what each tenant cost. */
  finish(startedAt: number, memoryMb: number, shares: DurationShares): InvocationCost {
    const durationMs = Math.max(0, this.now() - startedAt);
    const initMs = this.#initMs;
    this.#initMs = 0;
    const billedMs = Math.ceil(durationMs + initMs);
    const gbSeconds = lambdaGbSeconds(billedMs, memoryMb);

    const ms = new Map<string, number>();
    if (shares.tenant !== undefined) ms.set(shares.tenant, billedMs);
    else {
      let sum = 0;
      for (const v of shares.tenantMs?.values() ?? []) sum += Math.max(0, v);
      const scale = sum > billedMs ? billedMs / sum : 1;
      for (const [t, v] of shares.tenantMs ?? []) ms.set(t, Math.max(0, v) * scale);
      ms.set(SharedTenant, (ms.get(SharedTenant) ?? 0) + Math.max(0, billedMs - sum * scale));
    }

    const tenants = new Set([...ms.keys(), ...this.#ops.keys()]);
    const out: TenantInvocationCost[] = [];
    for (const tenant of [...tenants].sort()) {
      const t = this.#ops.get(tenant) ?? zeroTotals();
      const share = ms.get(tenant) ?? 0;
      if (share === 0 && !this.#ops.has(tenant)) continue;
      const fraction = billedMs > 0 ? share / billedMs : 0;
      const gbs = gbSeconds * fraction;
      const lambdaDuration = priced(AwsPrices.lambda.arm64Duration, gbs);
      const lambdaRequests = priced(AwsPrices.lambda.requests, fraction);
      out.push({
        tenant,
        billedMs: share,
        gbSeconds: gbs,
        operations: t.operations,
        dynamodbWriteUnits: t.wru,
        dynamodbReadUnits: t.rru,
        usd: { s3Requests: t.s3Usd, dynamodbRequests: t.dynamoUsd, lambdaDuration, lambdaRequests, total: t.s3Usd + t.dynamoUsd + lambdaDuration + lambdaRequests },
      });
    }
    this.#ops = new Map();
    return { durationMs, initMs, billedMs, memoryMb, gbSeconds, tenants: out };
  }
}

/** Context fields written on every line. */
export interface CostLineFields {
  /** The request's id (as in the request's log line), or the invocation's. */
  requestId?: string;
}

/**
 * One EMF line per tenant of `cost`: the {@link EmfCostMetrics} (zero-valued
 * ones left out, but for the total) under dimension `[tenant]`, and the detail
 * as properties, kept few (each line is ~630 bytes of CloudWatch Logs at
 * $0.50/GB): the Lambda dollars are EstimatedCostUSD less the S3 and
 * DynamoDB ones; the function is the log group.
 */
export function costLines(cost: InvocationCost, timestamp: number, fields: CostLineFields = {}): string[] {
  return cost.tenants.map((t) => {
    const metrics: EmfMetric[] = [{ name: EmfCostMetrics.estimatedCost, unit: EmfUnit.none, value: t.usd.total }];
    if (t.usd.s3Requests !== 0) metrics.push({ name: EmfCostMetrics.s3RequestsCost, unit: EmfUnit.none, value: t.usd.s3Requests });
    if (t.usd.dynamodbRequests !== 0) metrics.push({ name: EmfCostMetrics.dynamodbRequestsCost, unit: EmfUnit.none, value: t.usd.dynamodbRequests });
    if (t.gbSeconds !== 0) metrics.push({ name: EmfCostMetrics.lambdaGbSeconds, unit: EmfUnit.none, value: t.gbSeconds });
    return encodeEmf({
      namespace: CostNamespace,
      timestamp,
      dimensionSets: [[TenantDimension]],
      dimensions: { [TenantDimension]: t.tenant },
      metrics,
      properties: {
        requestId: fields.requestId,
        memoryMb: cost.memoryMb,
        billedMs: t.billedMs,
        // Only where the invocation was shared out between tenants (compaction).
        invocationBilledMs: t.billedMs !== cost.billedMs ? cost.billedMs : undefined,
        initMs: cost.initMs > 0 ? Math.round(cost.initMs * 1000) / 1000 : undefined,
        operations: t.operations,
        dynamodbUnits: { write: t.dynamodbWriteUnits, read: t.dynamodbReadUnits },
      },
    });
  });
}

/**
 * The tenant a Function URL request is charged to: its X-Scope-OrgID
 * header (any case), `anonymous` without one, {@link SharedTenant} when
 * the header is not a valid tenant id (the request is refused).
 */
export function tenantOfHeaders(headers: Readonly<Record<string, string | undefined>> | undefined): string {
  const lower: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(headers ?? {})) lower[k.toLowerCase()] = v;
  try {
    return tenantFromHeaders(lower);
  } catch {
    return SharedTenant;
  }
}

/** The configured memory: the Lambda context's `memoryLimitInMB`, else `fallbackMb`. */
export function memoryOf(context: { memoryLimitInMB?: string } | undefined, fallbackMb: number): number {
  const mb = Number(context?.memoryLimitInMB);
  return Number.isFinite(mb) && mb > 0 ? mb : fallbackMb;
}

/** What {@link reportCost} uses of the functions' dependencies (functions/deps.ts). */
export interface CostReporter {
  meter: InvocationMeter;
  emit: (line: string) => void;
  logger: Logger;
  memoryMb: number;
}

/** The Lambda context fields the cost lines use (absent in tests). */
export interface CostContext {
  memoryLimitInMB?: string;
  awsRequestId?: string;
}

/**
 * Ends the invocation begun at `startedAt` and writes its cost lines. Never
 * throws: a failure to write them is logged (the answer matters more).
 */
export function reportCost(d: CostReporter, startedAt: number, context: CostContext | undefined, shares: DurationShares, requestId?: string): InvocationCost | undefined {
  try {
    const cost = d.meter.finish(startedAt, memoryOf(context, d.memoryMb), shares);
    for (const line of costLines(cost, Date.now(), { requestId: requestId ?? context?.awsRequestId })) d.emit(line);
    return cost;
  } catch (err) {
    d.logger.warn('cost lines not written', { err });
    return undefined;
  }
}
