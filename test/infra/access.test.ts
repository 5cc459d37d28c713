/**
 * The IAM grants of infra/ against what the deployed code really calls: the
 * Lambda handler modules (functions/remote-*.ts and query-api.ts, wired by deps.ts from
 * the environment exactly as in Lambda) serve writes and reads against
 * S3- and DynamoDB-compatible servers on loopback, and the operations their
 * request log lines report, turned into IAM actions, must equal
 * WriteAccess / ReadAccess: nothing missing (AccessDenied in production),
 * nothing extra (not least privilege). The query API is granted ReadAccess
 * and must call nothing outside it. The compaction function (a scheduled
 * event, its ops in its summary line) must call exactly CompactAccess.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { functionUrlEvent } from '../helpers/lambda-event.ts';
import { EnvVars } from '../../lib/config/env.ts';
import { encodeWriteRequest } from '../../lib/prompb/write-v1.ts';
import { decodeReadResponse, encodeReadRequest } from '../../lib/prompb/read.ts';
import { readFrames } from '../../lib/prompb/frames.ts';
import { MatcherType, ResponseType } from '../../lib/prompb/types.ts';
import { snappyDecode, snappyEncode } from '../../lib/prompb/snappy.ts';
import { createLogger } from '../../lib/util/logger.ts';
import { ReadAccess, WriteAccess } from '../../infra/constructs/stratus-storage.ts';
import { CompactAccess } from '../../infra/constructs/stratus-compactor.ts';
import { UlidFactory } from '../../lib/tsdb/ulid.ts';
import { startAwsEmulators } from '../helpers/stratus.ts';
import type { StreamPrelude } from '../../functions/event.ts';

/** The IAM action that authorizes each API operation the backends count. */
const IamActionOf: Record<string, string> = {
  's3:PutObject': 's3:PutObject',
  's3:GetObject': 's3:GetObject',
  's3:HeadObject': 's3:GetObject', // HeadObject is authorized by s3:GetObject
  's3:ListObjectsV2': 's3:ListBucket',
  's3:DeleteObject': 's3:DeleteObject',
  'dynamodb:GetItem': 'dynamodb:GetItem',
  'dynamodb:Query': 'dynamodb:Query',
  'dynamodb:PutItem': 'dynamodb:PutItem',
  'dynamodb:BatchWriteItem': 'dynamodb:BatchWriteItem',
  'dynamodb:BatchGetItem': 'dynamodb:BatchGetItem',
};

const event = functionUrlEvent;

describe('IAM grants vs the calls of the deployed handlers', { timeout: 60_000 }, () => {
  let emu: Awaited<ReturnType<typeof startAwsEmulators>>;
  let write: typeof import('../../functions/remote-write.ts');
  let read: typeof import('../../functions/remote-read.ts');
  let query: typeof import('../../functions/query-api.ts');
  const lines: Record<string, any>[] = [];
  const used = { write: new Set<string>(), read: new Set<string>(), query: new Set<string>() };

  /** The ops of the last request line, as IAM actions. */
  function lastActions(): string[] {
    const line = lines.filter((l) => l.msg === 'request').pop()!;
    return Object.keys(line.ops)
      .filter((k) => !k.endsWith('.units'))
      .map((op) => IamActionOf[op] ?? `unmapped ${op}`);
  }

  before(async () => {
    emu = await startAwsEmulators();
    Object.assign(process.env, {
      [EnvVars.bucket]: emu.bucket,
      [EnvVars.table]: emu.table,
      [EnvVars.logLevel]: 'info',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_ENDPOINT_URL_S3: emu.s3.endpoint,
      AWS_ENDPOINT_URL_DYNAMODB: emu.ddb.endpoint,
      AWS_LAMBDA_FUNCTION_NAME: 'stratus-test',
    });
    write = await import('../../functions/remote-write.ts');
    read = await import('../../functions/remote-read.ts');
    const { deps } = await import('../../functions/deps.ts');
    // debug: accepted requests log their line (with the ops this test reads) at debug.
    deps.logger = createLogger({ level: 'debug', write: (l) => lines.push(JSON.parse(l)) });
  });

  after(async () => {
    await emu?.stop();
  });

  it('writes: 204, then the ops of a first and a repeated write', async () => {
    const series = ['a', 'b', 'c'].map((job) => ({
      labels: [{ name: '__name__', value: 'up' }, { name: 'job', value: job }],
      timestamps: [1_700_000_000_000, 1_700_000_015_000],
      values: [1, 0],
    }));
    for (let i = 0; i < 2; i++) {
      const res = await write.handler(event('/api/v1/write', snappyEncode(encodeWriteRequest(series)), {}));
      assert.equal(res.statusCode, 204, String(res.body));
      for (const a of lastActions()) used.write.add(a);
    }
  });

  it('reads SAMPLES back', async () => {
    const body = snappyEncode(encodeReadRequest({
      queries: [{ startTimestampMs: 1_699_999_000_000, endTimestampMs: 1_700_001_000_000, matchers: [{ type: MatcherType.EQ, name: 'job', value: 'b' }] }],
      acceptedResponseTypes: [ResponseType.SAMPLES],
    }));
    let prelude: StreamPrelude | undefined;
    const chunks: Buffer[] = [];
    const sink = new Writable({ write: (c, _e, cb) => (chunks.push(Buffer.from(c)), cb()) });
    await read.newStreamRead((s, p) => ((prelude = p), s))(event('/api/v1/read', body, {}), sink);
    assert.equal(prelude?.statusCode, 200, Buffer.concat(chunks).toString());
    const rr = decodeReadResponse(snappyDecode(Buffer.concat(chunks), 1 << 20));
    assert.equal(rr.results[0]!.timeseries.length, 1);
    assert.deepEqual([...rr.results[0]!.timeseries[0]!.values], [1, 0]);
    for (const a of lastActions()) used.read.add(a);
  });

  it('reads STREAMED_XOR_CHUNKS back, with matchers that scan all series', async () => {
    const body = snappyEncode(encodeReadRequest({
      queries: [{
        startTimestampMs: 1_699_999_000_000,
        endTimestampMs: 1_700_001_000_000,
        matchers: [{ type: MatcherType.NEQ, name: 'job', value: 'a' }, { type: MatcherType.RE, name: 'env', value: '|prod' }],
      }],
      acceptedResponseTypes: [ResponseType.STREAMED_XOR_CHUNKS],
    }));
    let prelude: StreamPrelude | undefined;
    const chunks: Buffer[] = [];
    const sink = new Writable({ write: (c, _e, cb) => (chunks.push(Buffer.from(c)), cb()) });
    await read.newStreamRead((s, p) => ((prelude = p), s))(event('/api/v1/read', body, {}), sink);
    assert.equal(prelude?.statusCode, 200, Buffer.concat(chunks).toString());
    let frames = 0;
    for await (const _ of readFrames((async function* () { yield Buffer.concat(chunks); })())) frames++;
    assert.equal(frames, 2, 'one frame per series: job=b and job=c');
    for (const a of lastActions()) used.read.add(a);
  });

  it('answers the query API (query, query_range, series, labels) from the same storage', async () => {
    // The query function runs in environments of its own: fresh dependencies with cold caches (the reads
    // above warmed this process's segment cache), loaded before the function's module takes them.
    const { deps, loadDeps } = await import('../../functions/deps.ts');
    Object.assign(deps, { ...loadDeps(process.env), logger: deps.logger });
    query = await import('../../functions/query-api.ts');
    const cases = [
      { path: '/api/v1/query', qs: 'query=sum(up)&time=1700000015', want: '{"resultType":"vector","result":[{"metric":{},"value":[1700000015,"0"]}]}' },
      {
        path: '/api/v1/query_range',
        qs: 'query=up{job="b"}&start=1700000000&end=1700000015&step=15',
        want: '{"resultType":"matrix","result":[{"metric":{"__name__":"up","job":"b"},"values":[[1700000000,"1"],[1700000015,"0"]]}]}',
      },
      { path: '/api/v1/series', qs: 'match[]=up{job!="a"}', want: '[{"__name__":"up","job":"b"},{"__name__":"up","job":"c"}]' },
      { path: '/api/v1/labels', qs: '', want: '["__name__","job"]' },
      { path: '/api/v1/label/job/values', qs: 'start=1699999000&end=1700001000', want: '["a","b","c"]' },
    ];
    for (const c of cases) {
      const ev = { ...event(c.path, new Uint8Array(0), {}), rawQueryString: c.qs, body: undefined, isBase64Encoded: false };
      ev.requestContext = { ...ev.requestContext, http: { ...ev.requestContext.http, method: 'GET' } };
      let prelude: StreamPrelude | undefined;
      const chunks: Buffer[] = [];
      const sink = new Writable({ write: (x, _e, cb) => (chunks.push(Buffer.from(x)), cb()) });
      await query.newStreamQuery((s, p) => ((prelude = p), s))(ev, sink);
      const body = Buffer.concat(chunks).toString();
      assert.equal(prelude?.statusCode, 200, `${c.path}: ${body}`);
      assert.equal(body, `{"status":"success","data":${c.want}}`, c.path);
      for (const a of lastActions()) used.query.add(a);
    }
  });

  it('needs exactly the granted actions', (t) => {
    t.diagnostic(`request lines: ${JSON.stringify(lines.filter((l) => l.msg === 'request').map((l) => ({ path: l.path, status: l.status, ops: l.ops })))}`);
    assert.deepEqual([...used.write].sort(), [...WriteAccess.s3, ...WriteAccess.dynamodb].sort());
    assert.deepEqual([...used.read].sort(), [...ReadAccess.s3, ...ReadAccess.dynamodb].sort());
    // The query function is granted ReadAccess: what it calls must lie within it (and it must read data).
    const granted = new Set<string>([...ReadAccess.s3, ...ReadAccess.dynamodb]);
    assert.deepEqual([...used.query].filter((a) => !granted.has(a)), [], 'query API calls outside ReadAccess');
    assert.ok(used.query.has('s3:GetObject') && used.query.has('dynamodb:Query'), `query API reads objects and the index: ${[...used.query]}`);
  });

  it('compaction (scheduled event) needs exactly CompactAccess: blocks written, then replaced objects and an orphan deleted', async (t) => {
    // Prepare: the handler on a clock we move past the grace period, and an orphan block object.
    const compact = await import('../../functions/compact.ts');
    const { deps } = await import('../../functions/deps.ts');
    let now = Date.now();
    const run = compact.newCompactHandler({ now: () => now });
    const scheduled = { id: 'e1', version: '0', account: '1', region: 'us-east-1', source: 'aws.events', 'detail-type': 'Scheduled Event' as const, time: new Date(now).toISOString(), resources: [], detail: {} };
    const used = new Set<string>();
    const collect = () => {
      const line = lines.filter((l) => l.msg === 'compaction').pop()!;
      for (const op of Object.keys(line.ops).filter((k) => !k.endsWith('.units'))) used.add(IamActionOf[op] ?? `unmapped ${op}`);
      return line;
    };
    // Act: compact what the tests above wrote (2023: long settled), then come back 2 h later.
    const first = await run(scheduled, { getRemainingTimeInMillis: () => 900_000 });
    collect();
    now += 2 * 3_600_000;
    await deps.storage.tenant('anonymous').stores.bucket.put(`blocks/${new UlidFactory().next()}`, new Uint8Array([1]));
    const second = await run(scheduled, { getRemainingTimeInMillis: () => 900_000 });
    const line = collect();
    t.diagnostic(`compaction ops: ${[...used].sort().join(', ')}`);
    // Assess
    assert.ok(first.totals.blocksWritten >= 1 && first.totals.inputsReplaced >= 2, JSON.stringify(first.totals));
    assert.equal(second.totals.objectsDeleted, first.totals.inputsReplaced);
    assert.equal(second.totals.orphansDeleted, 1);
    assert.equal(line.failed, 0);
    assert.deepEqual([...used].sort(), [...CompactAccess.s3, ...CompactAccess.s3Bucket, ...CompactAccess.dynamodb].sort());
  });
});
