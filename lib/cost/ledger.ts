/**
 * A ledger of metered operations in memory, for benchmarks and tests:
 * totals by (tenant, service, operation), snapshots to cut a run into
 * phases, and the conversion into the cost model's {@link Usage}.
 */
import type { MeteredOp, OpSink } from './metered.ts';
import { isDynamoWrite, s3RequestClass, zeroUsage, type Usage } from './model.ts';

/** Totals of one (tenant, service, operation, scope). */
export type LedgerRow = MeteredOp;

function keyOf(o: { tenant: string; service: string; op: string; scope: string }): string {
  return `${o.tenant}\u0000${o.service}\u0000${o.op}\u0000${o.scope}`;
}

/** Sums metered operations by tenant, service, operation and scope; see the module comment. */
export class UsageLedger implements OpSink {
  readonly #rows = new Map<string, LedgerRow>();

  record(o: MeteredOp): void {
    const k = keyOf(o);
    const r = this.#rows.get(k);
    if (r === undefined) {
      this.#rows.set(k, { ...o });
      return;
    }
    r.requests += o.requests;
    r.items += o.items;
    r.capacityUnits += o.capacityUnits;
    r.bytes += o.bytes;
  }

  /** A copy of the totals so far, sorted by tenant, service and operation. */
  rows(): LedgerRow[] {
    return [...this.#rows.values()].map((r) => ({ ...r })).sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
  }

  /** The totals recorded after `before` (an earlier {@link rows} result) was taken. */
  since(before: readonly LedgerRow[]): LedgerRow[] {
    return diffRows(this.rows(), before);
  }
}

/** `after - before`, row by row (rows that did not move are left out). */
export function diffRows(after: readonly LedgerRow[], before: readonly LedgerRow[]): LedgerRow[] {
  const base = new Map(before.map((r) => [keyOf(r), r]));
  const out: LedgerRow[] = [];
  for (const r of after) {
    const b = base.get(keyOf(r));
    const d = b === undefined ? { ...r } : { ...r, requests: r.requests - b.requests, items: r.items - b.items, capacityUnits: r.capacityUnits - b.capacityUnits, bytes: r.bytes - b.bytes };
    if (d.requests !== 0 || d.items !== 0 || d.capacityUnits !== 0 || d.bytes !== 0) out.push(d);
  }
  return out;
}

/** Rows summed over tenants and scopes, by service and operation. */
export function byOperation(rows: readonly LedgerRow[]): LedgerRow[] {
  const m = new UsageLedger();
  for (const r of rows) m.record({ ...r, tenant: '', scope: '' });
  return m.rows();
}

/** Rows summed over tenants, by service, operation and scope. */
export function byScope(rows: readonly LedgerRow[]): LedgerRow[] {
  const m = new UsageLedger();
  for (const r of rows) m.record({ ...r, tenant: '' });
  return m.rows();
}

/** The S3 request classes and DynamoDB capacity units of `rows`, as the cost model takes them (no Lambda, no logs). */
export function usageOf(rows: readonly LedgerRow[]): Usage {
  const u = zeroUsage();
  for (const r of rows) {
    if (r.service === 's3') {
      const cls = s3RequestClass(r.op);
      if (cls === 'put') u.s3PutClass += r.requests;
      else if (cls === 'get') u.s3GetClass += r.requests;
    } else if (isDynamoWrite(r.op)) {
      u.dynamoWriteUnits += r.capacityUnits;
    } else {
      u.dynamoReadUnits += r.capacityUnits;
    }
  }
  return u;
}
