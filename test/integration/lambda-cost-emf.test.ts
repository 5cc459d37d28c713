/**
 * The per-tenant EMF cost lines of the Lambda handlers, wired from the
 * environment exactly as in Lambda (S3Bucket + DynamoKVStore on s3rver +
 * dynalite, both metered): for every invocation (writes and reads of two
 * tenants, then a compaction of both) the operations the lines charge to
 * the tenants add up to the requests the AWS SDK really sent, as the
 * backends' own counters report them in each invocation's log line; and
 * each request's line names its own tenant.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import type { ScheduledEvent } from 'aws-lambda';
import { EnvVars } from '../../lib/config/env.ts';
import { encodeWriteRequest } from '../../lib/prompb/write-v1.ts';
import { encodeReadRequest } from '../../lib/prompb/read.ts';
import { MatcherType, ResponseType } from '../../lib/prompb/types.ts';
import { snappyEncode } from '../../lib/prompb/snappy.ts';
import { createLogger } from '../../lib/util/logger.ts';
import { functionUrlEvent } from '../helpers/lambda-event.ts';
import { emfValues, emfViolations } from '../helpers/emf-spec.ts';
import { startAwsEmulators } from '../helpers/stratus.ts';

const Day = 86_400_000;
const Old = Math.floor(Date.now() / Day) * Day - 3 * Day + 3_600_000; // settled: compaction takes it

function writeBody(n: number, t: number): Uint8Array {
  const series = Array.from({ length: n }, (_, i) => ({
    labels: [{ name: '__name__', value: 'up' }, { name: 'instance', value: `host-${i}` }, { name: 'job', value: 'node' }],
    timestamps: [t],
    values: [i],
  }));
  return snappyEncode(encodeWriteRequest(series));
}

/** `{ 's3:PutObject': 2, ... }` (units entries dropped) from the lines' `operations`, summed over tenants. */
function sumOperations(lines: ReturnType<typeof emfValues>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const { root } of lines) {
    for (const service of ['s3', 'dynamodb'] as const) {
      for (const [op, n] of Object.entries(root.operations[service] as Record<string, number>)) out[`${service}:${op}`] = (out[`${service}:${op}`] ?? 0) + n;
    }
  }
  return out;
}

function requestsOnly(ops: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(ops).filter(([k]) => !k.endsWith('.units')));
}

describe('Lambda cost lines against the requests really sent', { timeout: 120_000 }, () => {
  let emu: Awaited<ReturnType<typeof startAwsEmulators>>;
  let deps: typeof import('../../functions/deps.ts').deps;
  let write: typeof import('../../functions/remote-write.ts');
  let read: typeof import('../../functions/remote-read.ts');
  let compact: typeof import('../../functions/compact.ts');
  const emf: string[] = [];
  const logs: Record<string, any>[] = [];

  before(async () => {
    emu = await startAwsEmulators();
    Object.assign(process.env, {
      [EnvVars.bucket]: emu.bucket,
      [EnvVars.table]: emu.table,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_ENDPOINT_URL_S3: emu.s3.endpoint,
      AWS_ENDPOINT_URL_DYNAMODB: emu.ddb.endpoint,
      AWS_LAMBDA_FUNCTION_NAME: 'stratus-cost-test',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1024',
    });
    ({ deps } = await import('../../functions/deps.ts'));
    deps.emit = (line) => emf.push(line);
    // Accepted requests log their line (with the requests sent) at debug.
    deps.logger = createLogger({ level: 'debug', write: (l) => logs.push(JSON.parse(l)) });
    // Each invocation a minute after the last: each writes the line of its own costs (functions/cost.ts CostAggregator).
    let wall = Date.now();
    deps.costs.now = () => (wall += 60_000);
    write = await import('../../functions/remote-write.ts');
    read = await import('../../functions/remote-read.ts');
    compact = await import('../../functions/compact.ts');
  });

  after(async () => {
    await deps?.storage.close();
    await emu?.stop();
  });

  /** Runs one invocation; returns its EMF lines (checked against the spec) and the `ops` of its log line. */
  async function invoke(act: () => Promise<unknown>, logMsg: string) {
    const e0 = emf.length;
    const l0 = logs.length;
    await act();
    const lines = emf.slice(e0);
    for (const l of lines) assert.deepEqual(emfViolations(l), [], l);
    const logged = logs.slice(l0).filter((l) => l.msg === logMsg);
    assert.equal(logged.length, 1);
    return { lines: lines.map(emfValues), sent: requestsOnly(logged[0]!.ops) };
  }

  it('writes and reads of two tenants: one line each, naming the tenant, counting exactly the requests sent', async () => {
    const cases = [
      { tenant: 'team-a', n: 3, t: Old },
      { tenant: 'team-b', n: 40, t: Old },
      { tenant: 'team-a', n: 3, t: Old + 15_000 },
      { tenant: 'team-b', n: 40, t: Old + 15_000 },
    ];
    for (const c of cases) {
      // Act
      let status = 0;
      const got = await invoke(async () => {
        status = (await write.handler(functionUrlEvent('/api/v1/write', writeBody(c.n, c.t), { 'x-scope-orgid': c.tenant }), { memoryLimitInMB: '1024' })).statusCode!;
      }, 'request');
      // Assess
      assert.equal(status, 204);
      assert.deepEqual(got.lines.map((l) => l.dims.tenant), [c.tenant]);
      assert.deepEqual(sumOperations(got.lines), got.sent, `${c.tenant} write: metered = sent`);
      assert.ok(got.sent['s3:PutObject'] === 1);
    }
    for (const tenant of ['team-a', 'team-b']) {
      const body = snappyEncode(encodeReadRequest({
        queries: [{ startTimestampMs: Old - 1, endTimestampMs: Old + 60_000, matchers: [{ type: MatcherType.EQ, name: '__name__', value: 'up' }] }],
        acceptedResponseTypes: [ResponseType.STREAMED_XOR_CHUNKS],
      }));
      const sink = new Writable({ write: (_c, _e, cb) => cb() });
      const got = await invoke(() => read.newStreamRead((s) => s)(functionUrlEvent('/api/v1/read', body, { 'x-scope-orgid': tenant }), sink), 'request');
      assert.deepEqual(got.lines.map((l) => l.dims.tenant), [tenant]);
      assert.deepEqual(sumOperations(got.lines), got.sent, `${tenant} read: metered = sent`);
      assert.ok((got.sent['s3:GetObject'] ?? 0) >= 1);
    }
  });

  it('compaction of both tenants: the lines of the tenants and of shared work add up to the requests sent', async () => {
    const event: ScheduledEvent = { id: 'e', version: '0', account: '1', region: 'us-east-1', source: 'aws.events', 'detail-type': 'Scheduled Event', time: new Date().toISOString(), resources: [], detail: {} };
    let summary: Awaited<ReturnType<typeof compact.handler>> | undefined;
    const got = await invoke(async () => {
      summary = await compact.handler(event, { memoryLimitInMB: '3008', awsRequestId: 'c-1' });
    }, 'compaction');
    assert.deepEqual(summary!.tenants.map((t) => [t.tenant, t.outcome]).sort(), [['team-a', 'done'], ['team-b', 'done']]);
    assert.ok(summary!.totals.blocksWritten >= 2);
    assert.deepEqual(got.lines.map((l) => l.dims.tenant).sort(), ['<shared>', 'team-a', 'team-b']);
    assert.deepEqual(sumOperations(got.lines), got.sent, 'compaction: metered = sent');
    for (const l of got.lines) assert.equal(l.root.memoryMb, 3008);
  });
});
