/**
 * Per-tenant cost attribution on /metrics: which tenant makes which backend
 * requests, and what they would cost on AWS at list price.
 *
 * How the estimates are made: the metering decorators of
 * lib/cost/metered.ts sit under the tenant prefixing, read the tenant off
 * every key, and count the S3 requests and DynamoDB requests and capacity
 * units each call costs (or, over the filesystem and LevelDB of local mode,
 * would cost on AWS). Each is priced at the us-east-1 list prices of
 * lib/cost/prices.ts (as known on 2025; verify before relying on them):
 * S3 requests by class (PUT/LIST vs GET/HEAD; DELETE free), DynamoDB by
 * on-demand request units (1 WRU per started KB written, 1 RRU per started
 * 4 KB read strongly consistently). Not included: storage (bytes held over
 * time), Lambda compute and invocations, logs, data transfer, and retries
 * (the decorators see calls, not HTTP attempts).
 */
import { Counter, type Registry } from 'prom-client';
import type { MeteredOp, OpSink } from './metered.ts';
import { isDynamoWrite, requestCost } from './model.ts';
import { PricesTakenOn } from './prices.ts';

/** Metric names of the cost attribution. */
export const CostMetricNames = {
  operations: 'stratus_tenant_backend_operations_total',
  requestUnits: 'stratus_tenant_dynamodb_request_units_total',
  cost: 'stratus_tenant_estimated_cost_dollars_total',
} as const;

/** The cost metrics of one registry, fed as an {@link OpSink}. */
export class TenantCostMetrics implements OpSink {
  readonly operations: Counter<'tenant' | 'service' | 'operation'>;
  readonly requestUnits: Counter<'tenant' | 'kind'>;
  readonly cost: Counter<'tenant' | 'component'>;

  /** Registers the metrics on `registry`, or reuses them when already there. */
  constructor(registry: Registry) {
    const existing = (name: string) => registry.getSingleMetric(name);
    this.operations =
      (existing(CostMetricNames.operations) as Counter<'tenant' | 'service' | 'operation'> | undefined) ??
      new Counter({
        name: CostMetricNames.operations,
        help:
          'Backend requests made for a tenant, by AWS service and billed API operation (tenant "" = not one tenant\'s). ' +
          'In local mode (filesystem + LevelDB) the requests the same calls would make on S3 and DynamoDB. Retries not included.',
        labelNames: ['tenant', 'service', 'operation'] as const,
        registers: [registry],
      });
    this.requestUnits =
      (existing(CostMetricNames.requestUnits) as Counter<'tenant' | 'kind'> | undefined) ??
      new Counter({
        name: CostMetricNames.requestUnits,
        help: 'DynamoDB on-demand request units consumed (or, in local mode, that would be) for a tenant, kind write or read (strongly consistent).',
        labelNames: ['tenant', 'kind'] as const,
        registers: [registry],
      });
    this.cost =
      (existing(CostMetricNames.cost) as Counter<'tenant' | 'component'> | undefined) ??
      new Counter({
        name: CostMetricNames.cost,
        help:
          `Estimated AWS list-price dollars of a tenant's backend requests, by component (s3_requests, dynamodb_requests), us-east-1 prices ${PricesTakenOn}. ` +
          'An estimate: storage, Lambda, logs and data transfer are not included; in local mode, what the same requests would cost on AWS.',
        labelNames: ['tenant', 'component'] as const,
        registers: [registry],
      });
  }

  record(o: MeteredOp): void {
    if (o.requests > 0) this.operations.inc({ tenant: o.tenant, service: o.service, operation: o.op }, o.requests);
    if (o.service === 'dynamodb' && o.capacityUnits > 0) {
      this.requestUnits.inc({ tenant: o.tenant, kind: isDynamoWrite(o.op) ? 'write' : 'read' }, o.capacityUnits);
    }
    const { component, usd } = requestCost(o.service, o.op, o.requests, o.capacityUnits);
    if (usd > 0) this.cost.inc({ tenant: o.tenant, component }, usd);
  }
}
