/**
 * The per-environment sums of the cost lines (functions/cost.ts
 * CostAggregator, reportCost): no line until a minute has passed since the
 * last one; a line's values are the sums of the invocations' own values;
 * nothing is lost across flushes; and through the real write handler, the
 * summed line of each tenant counts the requests an independent ledger saw.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { EnvVars } from '../../../lib/config/env.ts';
import { MemBucket } from '../../../lib/objstore/mem.ts';
import { MemKVStore } from '../../../lib/kvstore/mem.ts';
import { byOperation, meterStores, UsageLedger } from '../../../lib/cost/index.ts';
import type { MeteredOp } from '../../../lib/cost/metered.ts';
import { encodeWriteRequest } from '../../../lib/prompb/write-v1.ts';
import { snappyEncode } from '../../../lib/prompb/snappy.ts';
import { createLogger, nopLogger } from '../../../lib/util/logger.ts';
import { functionUrlEvent } from '../../helpers/lambda-event.ts';
import { emfValues, emfViolations } from '../../helpers/emf-spec.ts';
import { prng } from '../../helpers/prng.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
Object.assign(process.env, { [EnvVars.bucket]: 'b', [EnvVars.table]: 't', AWS_REGION: 'eu-west-1', AWS_LAMBDA_FUNCTION_NAME: 'stratus-test' });
const { CostAggregator, CostFlushIntervalMs, InvocationMeter, costLines, reportCost, EmfCostMetrics, SharedTenant } = await import('../../../functions/cost.ts');
type Values = ReturnType<typeof emfValues>;


const Ops: Omit<MeteredOp, 'tenant' | 'scope'>[] = [
  { service: 's3', op: 'PutObject', requests: 1, items: 1, capacityUnits: 0, bytes: 100_000 },
  { service: 's3', op: 'GetObject', requests: 1, items: 1, capacityUnits: 0, bytes: 5_000 },
  { service: 'dynamodb', op: 'BatchWriteItem', requests: 1, items: 3, capacityUnits: 3, bytes: 300 },
  { service: 'dynamodb', op: 'Query', requests: 1, items: 2, capacityUnits: 1, bytes: 200 },
];

/** One invocation's cost from a meter fed `ops` by tenant, lasting `ms` (a share per tenant when `shared`). */
function invocation(r: () => number, tenants: readonly string[], shared: boolean) {
  let t = 0;
  const meter = new InvocationMeter(() => t);
  const begun = meter.begin();
  if (r() < 0.2) meter.coldStart(100 + r() * 300);
  for (const tenant of tenants) {
    for (let k = Math.floor(r() * 4); k >= 0; k--) meter.record({ ...Ops[Math.floor(r() * Ops.length)]!, tenant, scope: 'segments' });
  }
  t = 1 + r() * 200;
  const shares = shared ? { tenantMs: new Map(tenants.map((x) => [x, r() * t * 0.4])) } : { tenant: tenants[0]! };
  return meter.finish(begun, 1024, shares);
}

/** Sums of what lines carry, by tenant: metrics, operations, units, billed ms, invocations. */
function totals(lines: readonly Values[]): Map<string, Record<string, number>> {
  const out = new Map<string, Record<string, number>>();
  for (const { dims, metrics, root } of lines) {
    const t = out.get(dims.tenant!) ?? {};
    const add = (k: string, v: number | undefined) => (t[k] = (t[k] ?? 0) + (v ?? 0));
    for (const m of Object.values(EmfCostMetrics)) add(m, metrics[m]);
    for (const svc of ['s3', 'dynamodb'] as const) for (const [op, n] of Object.entries(root.operations[svc] as Record<string, number>)) add(`${svc}:${op}`, n);
    add('wru', root.dynamodbUnits.write);
    add('rru', root.dynamodbUnits.read);
    add('billedMs', root.billedMs);
    add('invocations', root.invocations);
    out.set(dims.tenant!, t);
  }
  return out;
}

function assertTotalsClose(got: Map<string, Record<string, number>>, want: Map<string, Record<string, number>>, what: string): void {
  assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), `${what}: tenants`);
  for (const [tenant, w] of want) {
    const g = got.get(tenant)!;
    assert.deepEqual(Object.keys(g).sort(), Object.keys(w).sort(), `${what} ${tenant}: keys`);
    // billedMs is rounded to the µs on each line (at most 300 lines here); dollars are sums of floats.
    for (const k of Object.keys(w)) assert.ok(Math.abs(g[k]! - w[k]!) <= 1e-9 * Math.max(1, Math.abs(w[k]!)) + (k === 'billedMs' ? 0.15 : 0), `${what} ${tenant} ${k}: got ${g[k]}, want ${w[k]}`);
  }
}

const parse = (lines: readonly string[]): Values[] =>
  lines.map((l) => {
    assert.deepEqual(emfViolations(l), [], l);
    return emfValues(l);
  });

describe('CostAggregator', () => {
  it('writes no line until a minute has passed since the last flush (or the start), then one per tenant', () => {
    // Prepare
    const cases = [
      { name: 'one tenant, steps of 10 s', tenants: [['a']], stepMs: 10_000, wantFirstAt: 6 },
      { name: 'two tenants alternating, steps of 7 s', tenants: [['a'], ['b']], stepMs: 7_000, wantFirstAt: 9 },
      { name: 'idle for longer than a minute: the next invocation flushes at once', tenants: [['a']], stepMs: 61_000, wantFirstAt: 1 },
    ];
    for (const c of cases) {
      let wall = 1_000_000;
      const agg = new CostAggregator(CostFlushIntervalMs, () => wall);
      const r = prng(7);
      const flushedAt: number[] = [];
      let seen = new Set<string>();
      // Act
      for (let i = 1; i <= 20; i++) {
        wall += c.stepMs;
        const tenants = c.tenants[i % c.tenants.length]!;
        agg.add(invocation(r, tenants, false));
        for (const t of tenants) seen.add(t);
        if (agg.due()) {
          const { sums } = agg.take();
          assert.deepEqual(sums.map((x) => x.tenant), [...seen].sort(), `${c.name}: one sum per tenant since the last flush`);
          seen = new Set();
          flushedAt.push(i);
        }
      }
      // Assess
      assert.equal(flushedAt[0], c.wantFirstAt, `${c.name}: first flush`);
      const gaps = flushedAt.slice(1).map((x, k) => (x - flushedAt[k]!) * c.stepMs);
      assert.ok(gaps.every((g) => g >= CostFlushIntervalMs && g < CostFlushIntervalMs + c.stepMs), `${c.name}: flushes a minute apart: ${gaps}`);
    }
  });

  it("a line's values are the sums of the invocations' own lines", () => {
    const cases = [
      { name: 'request-serving, one tenant', seed: 1, n: 50, tenants: ['acme'], shared: false },
      { name: 'request-serving, three tenants', seed: 2, n: 200, tenants: ['a', 'b', SharedTenant], shared: false },
      { name: 'shared out (compaction-like)', seed: 3, n: 30, tenants: ['a', 'b'], shared: true },
    ];
    for (const c of cases) {
      // Prepare
      const r = prng(c.seed);
      const agg = new CostAggregator(CostFlushIntervalMs, () => 5);
      const each: Values[] = [];
      // Act
      for (let i = 0; i < c.n; i++) {
        const tenants = c.shared ? c.tenants : [c.tenants[i % c.tenants.length]!];
        const cost = invocation(r, tenants, c.shared);
        const one = new CostAggregator(CostFlushIntervalMs, () => 5);
        one.add(cost, `r${i}`);
        each.push(...parse(costLines(one.take().sums, 5)));
        agg.add(cost, `r${i}`);
      }
      const { at, sums } = agg.take();
      const summed = parse(costLines(sums, at));
      // Assess
      assert.equal(summed.length, new Set(each.map((e) => e.dims.tenant)).size, `${c.name}: one line per tenant`);
      assertTotalsClose(totals(summed), totals(each), c.name);
      for (const l of summed) {
        assert.equal(l.root.requestId, l.root.invocations === 1 ? l.root.requestId : undefined, 'a request id only on a one-invocation line');
        assert.equal(l.root._aws.Timestamp, 5);
        if (c.shared) assert.ok(l.root.invocationBilledMs > l.root.billedMs, `${c.name}: each tenant had a share of the billed time`);
        else assert.equal(l.root.invocationBilledMs, undefined);
      }
    }
  });

  it('loses nothing across flushes: all lines written plus what is pending add up to every invocation', () => {
    for (const seed of [11, 12, 13]) {
      // Prepare: reportCost over a meter whose invocations the test builds, the wall clock moving 0-30 s at a time.
      const r = prng(seed);
      let wall = 0;
      let t = 0;
      const lines: string[] = [];
      const d = { meter: new InvocationMeter(() => t), costs: new CostAggregator(CostFlushIntervalMs, () => wall), emit: (l: string) => lines.push(l), logger: nopLogger, memoryMb: 1024 };
      const each: Values[] = [];
      let flushes = 0;
      // Act
      for (let i = 0; i < 300; i++) {
        wall += Math.floor(r() * 30_000);
        const tenant = ['x', 'y', 'z'][Math.floor(r() * 3)]!;
        const begun = d.meter.begin();
        for (let k = Math.floor(r() * 3); k >= 0; k--) d.meter.record({ ...Ops[Math.floor(r() * Ops.length)]!, tenant, scope: 'segments' });
        t += 1 + r() * 50;
        const before = lines.length;
        const cost = reportCost(d, begun, undefined, { tenant }, `q${i}`)!;
        if (lines.length > before) flushes++;
        const one = new CostAggregator(CostFlushIntervalMs, () => 0);
        one.add(cost);
        each.push(...parse(costLines(one.take().sums, 0)));
      }
      const pending = d.costs.take();
      // Assess
      assert.ok(flushes >= 20, `seed ${seed}: ${flushes} flushes`);
      assertTotalsClose(totals([...parse(lines), ...parse(costLines(pending.sums, pending.at))]), totals(each), `seed ${seed}`);
      const stamps = parse(lines).map((l) => l.root._aws.Timestamp);
      assert.ok(stamps.every((s, k) => k === 0 || s >= stamps[k - 1]!), 'stamped with the flush time, in order');
    }
  });
});

describe('the write handler sums its cost lines for a minute', () => {
  it("writes no line for a minute, then one per tenant counting every request the tenant's writes sent", async () => {
    // Prepare: the Lambda wiring over in-memory stores, an independent ledger below it.
    const { deps, loadDeps } = await import('../../../functions/deps.ts');
    const ledger = new UsageLedger();
    Object.assign(deps, loadDeps({ ...process.env, AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1024' }, meterStores({ bucket: new MemBucket(), kv: new MemKVStore() }, ledger)));
    const emitted: string[] = [];
    deps.emit = (l) => emitted.push(l);
    const logs: Record<string, any>[] = [];
    deps.logger = createLogger({ write: (l) => logs.push(JSON.parse(l)) });
    let wall = 1_700_000_000_000;
    deps.costs.now = () => wall;
    deps.costs.take();
    const { newWriteFunction } = await import('../../../functions/remote-write.ts');
    const handler = newWriteFunction(deps);
    const event = (tenant: string, n: number, t: number): LambdaFunctionURLEvent => {
      const series = Array.from({ length: n }, (_, i) => ({ labels: [{ name: '__name__', value: 'up' }, { name: 'instance', value: `h${i}` }], timestamps: [t], values: [i] }));
      return functionUrlEvent('/api/v1/write', snappyEncode(encodeWriteRequest(series)), { 'x-scope-orgid': tenant });
    };
    const plan = [
      { tenant: 'a', n: 3, stepMs: 5_000 },
      { tenant: 'b', n: 120, stepMs: 5_000 },
      { tenant: 'a', n: 3, stepMs: 20_000 },
      { tenant: 'a', n: 4, stepMs: 29_000 }, // 59 s since the start
      { tenant: 'b', n: 120, stepMs: 1_000 }, // 60 s: due
    ];
    const before = ledger.rows();
    // Act
    const linesAfter: number[] = [];
    for (const [i, p] of plan.entries()) {
      wall += p.stepMs;
      assert.equal((await handler(event(p.tenant, p.n, Date.now() - 60_000 + i))).statusCode, 204);
      linesAfter.push(emitted.length);
    }
    // Assess
    assert.deepEqual(linesAfter, [0, 0, 0, 0, 2], 'nothing before a minute, then a line per tenant');
    const got = parse(emitted);
    const rows = ledger.since(before);
    for (const tenant of ['a', 'b']) {
      const line = got.find((g) => g.dims.tenant === tenant)!;
      const want = { s3: {} as Record<string, number>, dynamodb: {} as Record<string, number> };
      for (const r of byOperation(rows.filter((x) => x.tenant === tenant))) if (r.requests > 0) want[r.service][r.op] = r.requests;
      assert.deepEqual(line.root.operations, want, `${tenant}: the operations of all its writes`);
      assert.equal(line.root.invocations, plan.filter((p) => p.tenant === tenant).length);
      assert.equal(line.root.requestId, undefined, 'several invocations: no single request id');
      assert.equal(line.root._aws.Timestamp, wall);
      assert.equal(line.root.operations.s3.PutObject, line.root.invocations, 'one PUT per write');
    }
    // Accepted writes log nothing at info.
    assert.deepEqual(logs, []);
  });
});
