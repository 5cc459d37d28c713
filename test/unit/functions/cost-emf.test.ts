/**
 * Per-tenant cost lines of the Lambda handlers (functions/cost.ts), with the
 * real handlers invoked on Function URL and scheduled events over in-memory
 * stores, wired by loadDeps as in Lambda (metered all the same): each
 * invocation writes valid EMF lines that charge every tenant its own
 * operations (the counts of a first write derived from the write path's
 * documented steps, and an independent ledger for reads, queries and
 * compaction), and the billed duration x configured memory, rounded up to
 * the millisecond as Lambda bills it, to the tenant of the request, or for
 * compaction to each tenant compacted by its time, the rest shared.
 * Request-serving invocations sum their costs for a minute
 * (test/unit/functions/cost-aggregate.test.ts): here the wall clock of the
 * sums moves a minute before each such invocation, so each writes its own
 * line; compaction writes its lines at once.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import type { LambdaFunctionURLEvent, ScheduledEvent } from 'aws-lambda';
import { EnvVars } from '../../../lib/config/env.ts';
import { MemBucket } from '../../../lib/objstore/mem.ts';
import { MemKVStore } from '../../../lib/kvstore/mem.ts';
import { byOperation, meterStores, UsageLedger, type LedgerRow } from '../../../lib/cost/index.ts';
import { AwsPrices } from '../../../lib/cost/prices.ts';
import { encodeWriteRequest } from '../../../lib/prompb/write-v1.ts';
import { encodeReadRequest } from '../../../lib/prompb/read.ts';
import { MatcherType, ResponseType } from '../../../lib/prompb/types.ts';
import { snappyEncode } from '../../../lib/prompb/snappy.ts';
import { createLogger } from '../../../lib/util/logger.ts';
import { functionUrlEvent } from '../../helpers/lambda-event.ts';
import { emfValues, emfViolations } from '../../helpers/emf-spec.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
Object.assign(process.env, { [EnvVars.bucket]: 'b', [EnvVars.table]: 't', AWS_REGION: 'eu-west-1', AWS_LAMBDA_FUNCTION_NAME: 'stratus-test' });
const { deps, loadDeps } = await import('../../../functions/deps.ts');
const { EmfCostMetrics, SharedTenant } = await import('../../../functions/cost.ts');

// The same wiring as in Lambda, over in-memory root stores; an independent
// ledger under the functions' own metering sees the same calls.
const ledger = new UsageLedger();
const rootBucket = new MemBucket();
Object.assign(deps, loadDeps({ ...process.env, AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1024' }, meterStores({ bucket: rootBucket, kv: new MemKVStore() }, ledger)));
const lines: string[] = [];
deps.emit = (line) => lines.push(line);
deps.logger = createLogger({ write: () => {} });
const write = await import('../../../functions/remote-write.ts');
const read = await import('../../../functions/remote-read.ts');
const query = await import('../../../functions/query-api.ts');
const compact = await import('../../../functions/compact.ts');

const Day = 86_400_000;
const S3PutUsd = AwsPrices.s3.putClass.usd / AwsPrices.s3.putClass.per;
const WruUsd = AwsPrices.dynamodb.write.usd / AwsPrices.dynamodb.write.per;
const RruUsd = AwsPrices.dynamodb.read.usd / AwsPrices.dynamodb.read.per;
const GbSecondUsd = AwsPrices.lambda.arm64Duration.usd / AwsPrices.lambda.arm64Duration.per;
const InvocationUsd = AwsPrices.lambda.requests.usd / AwsPrices.lambda.requests.per;

/** The wall clock of the environment's cost sums. */
let wallMs = Date.now();
deps.costs.now = () => wallMs;

/**
 * Makes the meter's clock read `start`, then `start + ms`: an invocation
 * that took `ms`; and moves the wall clock a minute on, so the invocation
 * writes the lines of its own costs.
 */
function invocationTakes(ms: number, start = 10_000): void {
  let calls = 0;
  deps.meter.now = () => (calls++ === 0 ? start : start + ms);
  wallMs += 60_000;
}

function close(got: number, want: number, what: string): void {
  assert.ok(Math.abs(got - want) <= 1e-12 * Math.max(1, Math.abs(want)), `${what}: got ${got}, want ${want}`);
}

/** The lines written by `act`, each checked against the EMF specification. */
async function linesOf(act: () => Promise<unknown>): Promise<ReturnType<typeof emfValues>[]> {
  const from = lines.length;
  await act();
  const out = lines.slice(from);
  for (const l of out) assert.deepEqual(emfViolations(l), [], l);
  return out.map(emfValues);
}

/** Requests by service and operation of one tenant in ledger rows, as the lines' `operations` property. */
function opsOf(rows: readonly LedgerRow[], tenant: string): { s3: Record<string, number>; dynamodb: Record<string, number> } {
  const out = { s3: {} as Record<string, number>, dynamodb: {} as Record<string, number> };
  for (const r of byOperation(rows.filter((x) => (x.tenant === '' ? SharedTenant : x.tenant) === tenant))) {
    if (r.requests > 0) out[r.service][r.op] = r.requests;
  }
  return out;
}

function writeEvent(tenant: string, n: number, t: number): LambdaFunctionURLEvent {
  const series = Array.from({ length: n }, (_, i) => ({
    labels: [{ name: '__name__', value: 'up' }, { name: 'instance', value: `host-${i}` }, { name: 'job', value: 'node' }],
    timestamps: [t],
    values: [i],
  }));
  return functionUrlEvent('/api/v1/write', snappyEncode(encodeWriteRequest(series)), { 'x-scope-orgid': tenant });
}

/**
 * A first write of `n` series (labels __name__, job, instance; one day) in
 * a fresh process, from the write path's documented steps (the derivation of
 * test/unit/cost/metered.test.ts): the tenant registry item, the segment
 * PUT, a BatchGetItem per 100 series, then batches of index items
 * (postings one per label pair: 2 + n, 3 label names, values 1 + 1 + n),
 * the week's postings token, series records (n) and the catalog item;
 * every item below 1 KB.
 */
function firstWrite(n: number) {
  const batches = [1, 2 + n + 3 + (2 + n), 1, n, 1];
  const items = batches.reduce((s, k) => s + k, 0);
  return {
    operations: { s3: { PutObject: 1 }, dynamodb: { BatchGetItem: Math.ceil(n / 100), BatchWriteItem: batches.reduce((s, k) => s + Math.ceil(k / 25), 0) } },
    wru: items,
    rru: n,
    s3Usd: S3PutUsd,
    dynamoUsd: items * WruUsd + n * RruUsd,
  };
}

describe('per-tenant EMF cost lines of the Lambda handlers', () => {
  before(() => {
    lines.length = 0;
  });

  it('remote write: one line per request, charging its tenant the write\'s operations and billed GB-seconds', async () => {
    const now = Date.now();
    // Cold start: the INIT time is billed with the first invocation.
    deps.meter.coldStart(250.5);
    const cases = [
      { tenant: 'small', n: 3, ms: 12.25, memory: '2048', billedMs: Math.ceil(250.5 + 12.25), initMs: 250.5 },
      { tenant: 'large', n: 40, ms: 40.001, memory: '2048', billedMs: 41, initMs: undefined },
      { tenant: 'small-2', n: 1, ms: 7, memory: '3008', billedMs: 7, initMs: undefined },
    ];
    for (const c of cases) {
      // Prepare
      invocationTakes(c.ms);
      // Act
      let status = 0;
      const got = await linesOf(async () => {
        status = (await write.handler(writeEvent(c.tenant, c.n, now), { memoryLimitInMB: c.memory, awsRequestId: 'aws-1' })).statusCode!;
      });
      // Assess
      assert.equal(status, 204);
      assert.equal(got.length, 1, 'one line for a one-tenant request');
      const [{ dims, metrics, root }] = got as [ReturnType<typeof emfValues>];
      const want = firstWrite(c.n);
      assert.deepEqual(dims, { tenant: c.tenant });
      assert.equal(root._aws.CloudWatchMetrics[0].Namespace, 'Stratus');
      assert.deepEqual(root.operations, want.operations, `${c.tenant} operations`);
      assert.deepEqual(root.dynamodbUnits, { write: want.wru, read: want.rru });
      assert.deepEqual([root.billedMs, root.invocationBilledMs, root.memoryMb, root.initMs, root.requestId, root.invocations], [c.billedMs, undefined, Number(c.memory), c.initMs, 'req', 1]);
      const gbs = (c.billedMs / 1000) * (Number(c.memory) / 1024);
      close(metrics[EmfCostMetrics.lambdaGbSeconds]!, gbs, `${c.tenant} GB-s`);
      close(metrics[EmfCostMetrics.s3RequestsCost]!, want.s3Usd, `${c.tenant} S3 $`);
      close(metrics[EmfCostMetrics.dynamodbRequestsCost]!, want.dynamoUsd, `${c.tenant} DynamoDB $`);
      close(metrics[EmfCostMetrics.estimatedCost]!, want.s3Usd + want.dynamoUsd + gbs * GbSecondUsd + InvocationUsd, `${c.tenant} total $`);
      assert.equal(root._aws.Timestamp, wallMs, 'stamped with the flush time');
    }
  });

  it('remote read and the query API: the reading tenant is charged its reads, memory from the environment without a context', async () => {
    // Prepare
    const readBody = snappyEncode(encodeReadRequest({
      queries: [{ startTimestampMs: Date.now() - Day, endTimestampMs: Date.now() + 60_000, matchers: [{ type: MatcherType.EQ, name: '__name__', value: 'up' }] }],
      acceptedResponseTypes: [ResponseType.SAMPLES],
    }));
    const sink = () => new Writable({ write: (_c, _e, cb) => cb() });
    const base = functionUrlEvent('/api/v1/query', new Uint8Array(0), { 'x-scope-orgid': 'large' });
    const queryEvent: LambdaFunctionURLEvent = {
      ...base,
      rawQueryString: 'query=count(up)',
      body: undefined,
      isBase64Encoded: false,
      requestContext: { ...base.requestContext, http: { ...base.requestContext.http, method: 'GET' } },
    };
    const cases = [
      { name: 'remote read', tenant: 'small', ms: 3.2, act: () => read.newStreamRead((s, p) => (assert.equal(p.statusCode, 200), s))(functionUrlEvent('/api/v1/read', readBody, { 'x-scope-orgid': 'small' }), sink()) },
      { name: 'query', tenant: 'large', ms: 120.9, act: () => query.newStreamQuery((s, p) => (assert.equal(p.statusCode, 200), s))(queryEvent, sink()) },
    ];
    for (const c of cases) {
      invocationTakes(c.ms);
      const before = ledger.rows();
      // Act
      const got = await linesOf(c.act);
      // Assess
      const rows = ledger.since(before);
      assert.equal(got.length, 1, c.name);
      const { dims, metrics, root } = got[0]!;
      assert.deepEqual(dims, { tenant: c.tenant });
      assert.deepEqual(root.operations, opsOf(rows, c.tenant), `${c.name} operations`);
      assert.ok((root.operations.dynamodb.Query ?? 0) >= 1, `${c.name} queried the catalog`);
      assert.equal(root.operations.s3.PutObject, undefined, `${c.name} wrote nothing`);
      assert.equal(rows.every((r) => r.tenant === c.tenant), true, `${c.name}: every call was the tenant's`);
      assert.equal(root.memoryMb, 1024);
      close(metrics[EmfCostMetrics.lambdaGbSeconds]!, Math.ceil(c.ms) / 1000, `${c.name} GB-s at 1024 MB`);
    }
  });

  it('a request with an invalid tenant header: its duration is shared, and nothing else is charged', async () => {
    invocationTakes(1.5);
    const got = await linesOf(() => write.handler(writeEvent('bad/tenant', 1, Date.now())));
    assert.equal(got.length, 1);
    assert.deepEqual(got[0]!.dims, { tenant: SharedTenant });
    assert.deepEqual(got[0]!.root.operations, { s3: {}, dynamodb: {} });
    assert.equal(got[0]!.metrics[EmfCostMetrics.s3RequestsCost], undefined, 'zero-valued metrics are left out');
    close(got[0]!.metrics[EmfCostMetrics.lambdaGbSeconds]!, 2 / 1000, 'GB-s');
  });

  it('compaction: each tenant is charged its own compaction work and time, the rest of the invocation is shared', async () => {
    // Prepare: two tenants with settled data (three days ago).
    const old = Math.floor(Date.now() / Day) * Day - 3 * Day + 3_600_000;
    const volumes = { alpha: 5, beta: 30 };
    for (const [tenant, n] of Object.entries(volumes)) {
      for (let k = 0; k < 4; k++) assert.equal((await write.handler(writeEvent(tenant, n, old + k * 15_000))).statusCode, 204);
    }
    deps.costs.take(); // the writes' sums, not yet due: not this invocation's
    const before = ledger.rows();
    const totalMs = 900_000.4; // the handler's clock: far more than the tenants' own durations
    invocationTakes(totalMs);
    const event: ScheduledEvent = { id: 'e', version: '0', account: '1', region: 'eu-west-1', source: 'aws.events', 'detail-type': 'Scheduled Event', time: new Date().toISOString(), resources: [], detail: {} };
    // Act
    let summary: Awaited<ReturnType<typeof compact.handler>> | undefined;
    const got = await linesOf(async () => {
      summary = await compact.handler(event, { memoryLimitInMB: '3008', awsRequestId: 'compact-1' });
    });
    // Assess
    const rows = ledger.since(before);
    const byTenant = new Map(got.map((g) => [g.dims.tenant!, g]));
    assert.equal(byTenant.size, got.length, 'one line per tenant');
    const compacted = summary!.tenants.map((t) => t.tenant).sort();
    assert.deepEqual([...byTenant.keys()].sort(), [...compacted, SharedTenant].sort());
    for (const t of summary!.tenants) {
      const line = byTenant.get(t.tenant)!;
      assert.equal(line.root.requestId, 'compact-1');
      assert.deepEqual(line.root.operations, opsOf(rows, t.tenant), `${t.tenant} operations`);
      assert.equal(line.root.billedMs, t.durationMs, `${t.tenant} is charged its compaction time`);
      close(line.metrics[EmfCostMetrics.lambdaGbSeconds] ?? 0, (t.durationMs / 1000) * (3008 / 1024), `${t.tenant} GB-s`);
    }
    for (const tenant of Object.keys(volumes)) {
      const t = summary!.tenants.find((x) => x.tenant === tenant)!;
      assert.equal(t.outcome, 'done');
      assert.ok(t.blocksWritten > 0, `${tenant} compacted`);
      // Every block object in the tenant's prefix was PUT by this run (nothing deleted yet, grace period).
      assert.equal(t.objectsDeleted + t.orphansDeleted, 0);
      const blockKeys: string[] = [];
      for await (const k of rootBucket.iter(`tenants/${tenant}/blocks/`)) blockKeys.push(k);
      assert.ok(blockKeys.length >= t.blocksWritten);
      assert.equal(byTenant.get(tenant)!.root.operations.s3.PutObject, blockKeys.length, `${tenant}: one PUT per block object, all its own`);
      assert.ok(byTenant.get(tenant)!.root.operations.s3.GetObject >= 4, `${tenant} read its 4 segments`);
    }
    // Listing the tenants is no one tenant's.
    const shared = byTenant.get(SharedTenant)!;
    assert.deepEqual(shared.root.operations, opsOf(rows, SharedTenant));
    assert.ok(Object.keys(shared.root.operations.s3).length + Object.keys(shared.root.operations.dynamodb).length > 0, 'the tenant listing is shared');
    // The shares add up to the invocation: billed ms, GB-s and the one invocation request.
    const billed = Math.ceil(totalMs);
    assert.ok(got.every((g) => g.root.invocationBilledMs === billed));
    close(got.reduce((s, g) => s + g.root.billedMs, 0), billed, 'billed ms');
    close(got.reduce((s, g) => s + (g.metrics[EmfCostMetrics.lambdaGbSeconds] ?? 0), 0), (billed / 1000) * (3008 / 1024), 'GB-s');
    const lambdaUsd = got.reduce((s, g) => s + g.metrics[EmfCostMetrics.estimatedCost]! - (g.metrics[EmfCostMetrics.s3RequestsCost] ?? 0) - (g.metrics[EmfCostMetrics.dynamodbRequestsCost] ?? 0), 0);
    close(lambdaUsd, (billed / 1000) * (3008 / 1024) * GbSecondUsd + InvocationUsd, 'Lambda $: the GB-s and one invocation, shared out');
  });
});
