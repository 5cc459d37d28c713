/**
 * The Lambda handlers with real Function URL events, wired from the
 * environment as in Lambda, against s3rver + dynalite on loopback, with a
 * fault proxy in front of S3: a write gets 204, bad input 400, throttled
 * storage 503 with Retry-After (Prometheus retries it; it would drop a 429),
 * and after recovery everything acknowledged reads back in both response
 * types through the streaming read handler.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { functionUrlEvent } from '../helpers/lambda-event.ts';
import { EnvVars } from '../../lib/config/env.ts';
import { encodeWriteRequest } from '../../lib/prompb/write-v1.ts';
import { encodeReadRequest, decodeReadResponse } from '../../lib/prompb/read.ts';
import { MatcherType, ResponseType } from '../../lib/prompb/types.ts';
import { snappyDecode, snappyEncode } from '../../lib/prompb/snappy.ts';
import { joinChunkedSeries } from '../../lib/remote/client.ts';
import { decodeChunkedReadResponse } from '../../lib/prompb/read.ts';
import { readFrames } from '../../lib/prompb/frames.ts';
import { startAwsEmulators } from '../helpers/stratus.ts';
import { startFaultProxy, type FaultProxy } from './s3/fault-proxy.ts';
import type { StreamPrelude } from '../../functions/event.ts';

const event = functionUrlEvent;

const T0 = 1_700_000_000_000;
function writeBody(round: number): Uint8Array {
  const series = ['a', 'b'].map((job) => ({
    labels: [{ name: '__name__', value: 'up' }, { name: 'job', value: job }],
    timestamps: [T0 + round * 15_000],
    values: [round],
  }));
  return snappyEncode(encodeWriteRequest(series));
}

describe('Lambda handlers with Function URL events', { timeout: 90_000 }, () => {
  let emu: Awaited<ReturnType<typeof startAwsEmulators>>;
  let proxy: FaultProxy;
  let write: typeof import('../../functions/remote-write.ts');
  let read: typeof import('../../functions/remote-read.ts');
  const acked: number[] = [];

  before(async () => {
    emu = await startAwsEmulators();
    proxy = await startFaultProxy(emu.s3.endpoint);
    Object.assign(process.env, {
      [EnvVars.bucket]: emu.bucket,
      [EnvVars.table]: emu.table,
      [EnvVars.logLevel]: 'error',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_ENDPOINT_URL_S3: proxy.endpoint,
      AWS_ENDPOINT_URL_DYNAMODB: emu.ddb.endpoint,
      AWS_LAMBDA_FUNCTION_NAME: 'stratus-test',
    });
    write = await import('../../functions/remote-write.ts');
    read = await import('../../functions/remote-read.ts');
  });

  after(async () => {
    await proxy?.stop();
    await emu?.stop();
  });

  async function readBack(type: number): Promise<Map<string, number[]>> {
    const body = snappyEncode(encodeReadRequest({
      queries: [{ startTimestampMs: T0 - 1, endTimestampMs: T0 + 1_000_000, matchers: [{ type: MatcherType.EQ, name: '__name__', value: 'up' }] }],
      acceptedResponseTypes: [type],
    }));
    let prelude: StreamPrelude | undefined;
    const chunks: Buffer[] = [];
    const sink = new Writable({ write: (c, _e, cb) => (chunks.push(Buffer.from(c)), cb()) });
    await read.newStreamRead((s, p) => ((prelude = p), s))(event('/api/v1/read', body), sink);
    assert.equal(prelude?.statusCode, 200, Buffer.concat(chunks).toString());
    const out = new Map<string, number[]>();
    if (type === ResponseType.SAMPLES) {
      for (const s of decodeReadResponse(snappyDecode(Buffer.concat(chunks), 1 << 24)).results[0]!.timeseries) {
        out.set(s.labels.find((l) => l.name === 'job')!.value, [...s.timestamps]);
      }
    } else {
      assert.match(prelude!.headers!['content-type']!, /application\/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse/);
      const series = [];
      for await (const f of readFrames((async function* () { yield Buffer.concat(chunks); })())) series.push(...decodeChunkedReadResponse(f).chunkedSeries);
      for (const s of joinChunkedSeries(series)) out.set(s.labels.find((l) => l.name === 'job')!.value, [...s.timestamps]);
    }
    return out;
  }

  it('write: 204', async () => {
    for (const round of [0, 1]) {
      const res = await write.handler(event('/api/v1/write', writeBody(round)));
      assert.equal(res.statusCode, 204, String(res.body));
      acked.push(round);
    }
  });

  it('write: 400 with a reason for malformed snappy', async () => {
    const res = await write.handler(event('/api/v1/write', Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff])));
    assert.equal(res.statusCode, 400);
    const text = res.isBase64Encoded ? Buffer.from(res.body!, 'base64').toString() : String(res.body);
    assert.match(text, /snappy/);
  });

  it('write: 503 with Retry-After while S3 throttles, then 204 once it recovers', async () => {
    // The SDK tries 3 times (its standard retry mode): all 3 are throttled.
    proxy.failNext(3, { kind: 'status', status: 503, code: 'SlowDown' });
    const res = await write.handler(event('/api/v1/write', writeBody(2)));
    assert.equal(res.statusCode, 503, String(res.body));
    assert.equal(res.headers?.['retry-after'], '1');
    assert.equal(proxy.log.filter((r) => r.injected).length, 3, 'every attempt was throttled');
    // The sender retries the same batch.
    const again = await write.handler(event('/api/v1/write', writeBody(2)));
    assert.equal(again.statusCode, 204, String(again.body));
    acked.push(2);
  });

  for (const type of [ResponseType.SAMPLES, ResponseType.STREAMED_XOR_CHUNKS]) {
    it(`read (${type === ResponseType.SAMPLES ? 'SAMPLES' : 'STREAMED_XOR_CHUNKS'}): every acknowledged sample`, async () => {
      const got = await readBack(type);
      const want = acked.map((r) => T0 + r * 15_000);
      assert.deepEqual(got.get('a'), want);
      assert.deepEqual(got.get('b'), want);
    });
  }
});
