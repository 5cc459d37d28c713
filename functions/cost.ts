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
 * One EMF line per tenant (a line holds one value per dimension, and the
 * dimension is the tenant), summing the invocations of one execution
 * environment over at least a minute ({@link CostAggregator}); compaction
 * writes its lines (one per tenant compacted, plus shared) at the end of
 * each invocation.
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

/** Cost lines are written at most this often by one execution environment: see {@link CostAggregator}. */
export const CostFlushIntervalMs = 60_000;

/** What one tenant cost over the invocations a line sums. */
export interface TenantCostSum {
  tenant: string;
  /** Configured memory of those invocations, MB (one per execution environment). */
  memoryMb: number;
  /** Invocations summed (each one the tenant had a share of). */
  invocations: number;
  /** The tenant's share of their billed duration, ms. */
  billedMs: number;
  /** The whole billed duration of those invocations, ms (more than `billedMs` where an invocation was shared out: compaction). */
  invocationBilledMs: number;
  gbSeconds: number;
  /** INIT time billed with them (a cold start), ms. */
  initMs: number;
  operations: { s3: Record<string, number>; dynamodb: Record<string, number> };
  dynamodbWriteUnits: number;
  dynamodbReadUnits: number;
  usd: TenantInvocationCost['usd'];
  /** Wall time of the end of the first invocation summed, ms since the epoch. */
  firstMs: number;
  /** The request id, when the line sums one invocation. */
  requestId?: string;
}

function addCounts(into: Record<string, number>, from: Readonly<Record<string, number>>): void {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
}

/**
 * Sums the invocations' per-tenant costs in one execution environment and
 * hands them out as one line per tenant at most every
 * {@link CostFlushIntervalMs}: at the end of an invocation, once that long
 * has passed since the last flush (or since the environment started), the
 * caller writes the lines ({@link reportCost}). At 3 write requests a
 * second this is one ~630-byte line a minute instead of 180.
 *
 * What is lost: Lambda gives Node no shutdown hook (SIGTERM reaches the
 * runtime only when an extension is registered), so the sums of the
 * invocations since the last flush are lost when Lambda shuts the
 * environment down: at most the last 60 s of that environment's
 * invocations, once per environment lifetime (or all of it for an
 * environment that lived less than a minute). The data written is not
 * affected, only these cost metrics. Values that wait in a frozen
 * environment are written, late, by its next invocation, stamped with the
 * flush time.
 */
export class CostAggregator {
  /** Wall clock, ms since the epoch (settable in tests). */
  now: () => number;
  readonly intervalMs: number;
  #sums = new Map<string, TenantCostSum>();
  #lastFlushMs: number;

  constructor(intervalMs = CostFlushIntervalMs, now: () => number = Date.now) {
    this.intervalMs = intervalMs;
    this.now = now;
    this.#lastFlushMs = now();
  }

  /** Adds one invocation's costs. */
  add(cost: InvocationCost, requestId?: string): void {
    const at = this.now();
    for (const t of cost.tenants) {
      const key = `${t.tenant}\u0000${cost.memoryMb}`;
      let s = this.#sums.get(key);
      if (s === undefined) {
        s = {
          tenant: t.tenant,
          memoryMb: cost.memoryMb,
          invocations: 0,
          billedMs: 0,
          invocationBilledMs: 0,
          gbSeconds: 0,
          initMs: 0,
          operations: { s3: {}, dynamodb: {} },
          dynamodbWriteUnits: 0,
          dynamodbReadUnits: 0,
          usd: { s3Requests: 0, dynamodbRequests: 0, lambdaDuration: 0, lambdaRequests: 0, total: 0 },
          firstMs: at,
          requestId,
        };
        this.#sums.set(key, s);
      } else s.requestId = undefined;
      s.invocations++;
      s.billedMs += t.billedMs;
      s.invocationBilledMs += cost.billedMs;
      s.gbSeconds += t.gbSeconds;
      s.initMs += cost.initMs;
      addCounts(s.operations.s3, t.operations.s3);
      addCounts(s.operations.dynamodb, t.operations.dynamodb);
      s.dynamodbWriteUnits += t.dynamodbWriteUnits;
      s.dynamodbReadUnits += t.dynamodbReadUnits;
      for (const k of Object.keys(s.usd) as (keyof TenantCostSum['usd'])[]) s.usd[k] += t.usd[k];
    }
  }

  /** Tenants with sums not yet handed out. */
  get pending(): number {
    return this.#sums.size;
  }

  /** Whether there are sums and {@link intervalMs} has passed since the last flush. */
  due(): boolean {
    return this.#sums.size > 0 && this.now() - this.#lastFlushMs >= this.intervalMs;
  }

  /** Hands out the sums (sorted by tenant) and starts new ones; the flush time is their lines' timestamp. */
  take(): { at: number; sums: TenantCostSum[] } {
    const at = this.now();
    const sums = [...this.#sums.values()].sort((a, b) => (a.tenant < b.tenant ? -1 : a.tenant > b.tenant ? 1 : a.memoryMb - b.memoryMb));
    this.#sums = new Map();
    this.#lastFlushMs = at;
    return { at, sums };
  }
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/**
 * One EMF line per tenant sum: the {@link EmfCostMetrics} (zero-valued
 * ones left out, but for the total) under dimension `[tenant]`, and the
 * detail as properties, kept few (each line is ~630 bytes of CloudWatch
 * Logs at $0.50/GB): the Lambda dollars are EstimatedCostUSD less the S3
 * and DynamoDB ones; the function is the log group.
 */
export function costLines(sums: readonly TenantCostSum[], timestamp: number): string[] {
  return sums.map((t) => {
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
        requestId: t.requestId,
        invocations: t.invocations,
        // When the summed period began (the line's Timestamp is when it ended), for lines of several invocations.
        firstMs: t.invocations > 1 ? t.firstMs : undefined,
        memoryMb: t.memoryMb,
        billedMs: round3(t.billedMs),
        // Only where invocations were shared out between tenants (compaction).
        invocationBilledMs: Math.abs(t.invocationBilledMs - t.billedMs) > 1e-9 ? t.invocationBilledMs : undefined,
        initMs: t.initMs > 0 ? round3(t.initMs) : undefined,
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
  costs: CostAggregator;
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
 * Ends the invocation begun at `startedAt`, adds its costs to the
 * environment's sums and writes their lines when they are due (see
 * {@link CostAggregator}), or now with `flush` (compaction: its invocations
 * are rare and long). Never throws: a failure to write them is logged (the
 * answer matters more).
 */
export function reportCost(
  d: CostReporter,
  startedAt: number,
  context: CostContext | undefined,
  shares: DurationShares,
  requestId?: string,
  opts: { flush?: boolean } = {},
): InvocationCost | undefined {
  try {
    const cost = d.meter.finish(startedAt, memoryOf(context, d.memoryMb), shares);
    d.costs.add(cost, requestId ?? context?.awsRequestId);
    if (opts.flush === true || d.costs.due()) {
      const { at, sums } = d.costs.take();
      for (const line of costLines(sums, at)) d.emit(line);
    }
    return cost;
  } catch (err) {
    d.logger.warn('cost lines not written', { err });
    return undefined;
  }
}
