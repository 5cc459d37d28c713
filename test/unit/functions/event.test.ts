/**
 * Function URL events <-> HttpRequest / HttpResponse (functions/event.ts):
 * conversion of real-shaped payload-2.0 events, the body limit, buffered
 * results, and streamed answers written frame by frame.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import type { LambdaFunctionURLEvent } from 'aws-lambda';
import {
  base64DecodedLength,
  eventToRequest,
  lambdaRuntime,
  responseToResult,
  serveEvent,
  writeStreamedResponse,
  type Endpoint,
  type StreamPrelude,
} from '../../../functions/event.ts';
import type { HttpRequest, HttpResponse } from '../../../lib/server/types.ts';
import { BackendError, TooLargeError } from '../../../lib/util/errors.ts';

/** A Function URL event as Lambda delivers a Prometheus remote-write POST (IAM auth). */
function urlEvent(over: Partial<LambdaFunctionURLEvent> = {}, method = 'POST'): LambdaFunctionURLEvent {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: '/api/v1/write',
    rawQueryString: '',
    headers: {
      'content-encoding': 'snappy',
      'content-type': 'application/x-protobuf',
      'content-length': '6',
      'user-agent': 'Prometheus/3.5.0',
      'x-prometheus-remote-write-version': '0.1.0',
      'x-amz-date': '20260101T000000Z',
      'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
      authorization: 'AWS4-HMAC-SHA256 Credential=AKIA.../20260101/eu-west-1/lambda/aws4_request, SignedHeaders=..., Signature=...',
      host: 'abcdefghij.lambda-url.eu-west-1.on.aws',
      'x-forwarded-proto': 'https',
      'x-forwarded-for': '203.0.113.7',
      'x-amzn-trace-id': 'Root=1-65a1b2c3-0123456789abcdef01234567',
    },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abcdefghij',
      authorizer: {
        iam: {
          accessKey: 'AKIA...',
          accountId: '123456789012',
          callerId: 'AROA...:prometheus',
          cognitoIdentity: null,
          principalOrgId: null,
          userArn: 'arn:aws:sts::123456789012:assumed-role/prometheus/i-0abc',
          userId: 'AROA...:i-0abc',
        },
      },
      domainName: 'abcdefghij.lambda-url.eu-west-1.on.aws',
      domainPrefix: 'abcdefghij',
      http: { method, path: '/api/v1/write', protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'Prometheus/3.5.0' },
      requestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
      routeKey: '$default',
      stage: '$default',
      time: '01/Jan/2026:00:00:00 +0000',
      timeEpoch: 1767225600000,
    },
    body: Buffer.from([0x04, 0x0c, 0x00, 0xff, 0x80, 0x7f]).toString('base64'),
    isBase64Encoded: true,
    ...over,
  } as LambdaFunctionURLEvent;
}

const writeEndpoint: Endpoint = { method: 'POST', path: '/api/v1/write', maxBodyBytes: 1024 };

describe('eventToRequest', () => {
  it('decodes a base64 binary body byte for byte, with method, path and headers', () => {
    // Act
    const req = eventToRequest(urlEvent(), 1024);
    // Assess
    assert.deepEqual([...req.body], [0x04, 0x0c, 0x00, 0xff, 0x80, 0x7f]);
    assert.ok(!Buffer.isBuffer(req.body), 'a plain Uint8Array view');
    assert.equal(req.method, 'POST');
    assert.equal(req.path, '/api/v1/write');
    assert.equal(req.headers['content-encoding'], 'snappy');
    assert.equal(req.headers['x-prometheus-remote-write-version'], '0.1.0');
    assert.equal(req.headers.cookie, undefined, 'no cookies, no cookie header');
    assert.equal([...req.query.keys()].length, 0);
  });

  it('takes a text body as UTF-8 bytes', () => {
    const req = eventToRequest(urlEvent({ body: 'größe=1', isBase64Encoded: false }), 1024);
    assert.equal(Buffer.from(req.body).toString('utf8'), 'größe=1');
    assert.equal(req.body.length, 9);
  });

  it('gives an empty body when the event has none', () => {
    const e = urlEvent();
    delete e.body;
    assert.equal(eventToRequest(e, 1024).body.length, 0);
  });

  it('parses the raw query string, keeping repeated keys and decoding escapes', () => {
    const req = eventToRequest(urlEvent({ rawQueryString: 'match%5B%5D=up&match%5B%5D=%7Bjob%3D%22a%22%7D&x=1+2' }), 1024);
    assert.deepEqual(req.query.getAll('match[]'), ['up', '{job="a"}']);
    assert.equal(req.query.get('x'), '1 2');
  });

  it('lower-cases header names and joins cookies into one cookie header', () => {
    const req = eventToRequest(urlEvent({ headers: { 'Content-Encoding': 'snappy', 'X-Scope-OrgID': 'team-a' }, cookies: ['a=1', 'b=2'] }), 1024);
    assert.equal(req.headers['content-encoding'], 'snappy');
    assert.equal(req.headers['x-scope-orgid'], 'team-a');
    assert.equal(req.headers['X-Scope-OrgID'], undefined);
    assert.equal(req.headers.cookie, 'a=1; b=2');
  });

  it('refuses a body over the limit before decoding it', () => {
    const body = Buffer.alloc(1025).toString('base64');
    assert.throws(() => eventToRequest(urlEvent({ body }), 1024), (err: unknown) => err instanceof TooLargeError && /1025 bytes, the limit is 1024/.test(err.message));
    assert.equal(eventToRequest(urlEvent({ body: Buffer.alloc(1024).toString('base64') }), 1024).body.length, 1024);
  });
});

describe('base64DecodedLength', () => {
  const cases = [0, 1, 2, 3, 4, 5, 100, 6 * 1024 * 1024 + 1];
  for (const n of cases) {
    it(`is ${n} for the base64 of ${n} bytes`, () => {
      assert.equal(base64DecodedLength(Buffer.alloc(n, 7).toString('base64')), n);
    });
  }
});

describe('serveEvent', () => {
  const echo = async (req: HttpRequest): Promise<HttpResponse> => ({ status: 200, body: `${req.method} ${req.path} ${req.body.length}` });

  it('passes a matching request to the handler', async () => {
    const res = await serveEvent(urlEvent(), writeEndpoint, echo);
    assert.deepEqual(res, { status: 200, body: 'POST /api/v1/write 6' });
  });

  it('answers 413 for an oversized body, 404 for another path, 405 with Allow for another method', async () => {
    const cases = [
      { event: urlEvent({ body: Buffer.alloc(2000).toString('base64') }), status: 413, text: /2000 bytes, the limit is 1024/ },
      { event: urlEvent({ rawPath: '/api/v1/read' }), status: 404, text: /this function serves POST \/api\/v1\/write/ },
      { event: urlEvent({}, 'GET'), status: 405, text: /method GET is not allowed on \/api\/v1\/write; use POST/ },
    ];
    for (const c of cases) {
      const res = await serveEvent(c.event, writeEndpoint, echo);
      assert.equal(res.status, c.status);
      assert.match(String(res.body), c.text);
      if (c.status === 405) assert.equal(res.headers?.allow, 'POST');
    }
  });
});

describe('responseToResult', () => {
  it('base64-encodes byte bodies and flags them; passes text through; omits absent bodies', async () => {
    const cases: { res: HttpResponse; body: string | undefined; b64: boolean | undefined }[] = [
      { res: { status: 200, headers: { 'content-type': 'application/x-protobuf' }, body: new Uint8Array([0, 1, 254, 255]) }, body: 'AAH+/w==', b64: true },
      { res: { status: 400, body: 'bad snappy\n' }, body: 'bad snappy\n', b64: false },
      { res: { status: 204 }, body: undefined, b64: undefined },
      {
        res: { status: 200, body: (async function* () { yield new Uint8Array([1, 2]); yield new Uint8Array([3]); })() },
        body: Buffer.from([1, 2, 3]).toString('base64'),
        b64: true,
      },
    ];
    for (const c of cases) {
      const out = await responseToResult(c.res);
      assert.equal(out.statusCode, c.res.status);
      assert.equal(out.body, c.body);
      assert.equal(out.isBase64Encoded, c.b64);
      assert.deepEqual(out.headers, { ...c.res.headers });
    }
  });

  it('base64-encodes a view at its own offset, not the whole buffer under it', async () => {
    const backing = new Uint8Array([9, 9, 1, 2, 9]);
    const out = await responseToResult({ status: 200, body: backing.subarray(2, 4) });
    assert.deepEqual([...Buffer.from(out.body!, 'base64')], [1, 2]);
  });
});

/** A Writable that records, in one log, every write and (through `open`) the prelude. */
function recordingSink(opts: { highWaterMark?: number; slow?: boolean } = {}) {
  const log: string[] = [];
  const frames: Buffer[] = [];
  let prelude: StreamPrelude | undefined;
  let ended = false;
  const stream = new Writable({
    highWaterMark: opts.highWaterMark ?? 16 * 1024,
    write(chunk: Buffer, _enc, cb) {
      frames.push(Buffer.from(chunk));
      log.push(`write ${frames.length}`);
      if (opts.slow) setImmediate(cb);
      else cb();
    },
    final(cb) {
      ended = true;
      cb();
    },
  });
  const open = (s: Writable, p: StreamPrelude) => {
    log.push(`prelude ${p.statusCode}`);
    prelude = p;
    return s;
  };
  return { stream, open, log, frames, prelude: () => prelude, ended: () => ended };
}

describe('writeStreamedResponse', () => {
  it('writes a streamed body frame by frame, each before the next is produced', async () => {
    // Prepare: a generator that logs when each frame is produced; a slow sink
    // with a tiny buffer, so every write waits for 'drain'.
    const sink = recordingSink({ highWaterMark: 1, slow: true });
    const frames = [new Uint8Array([1, 1, 1]), new Uint8Array([2, 2]), new Uint8Array([3])];
    async function* body() {
      for (let i = 0; i < frames.length; i++) {
        sink.log.push(`yield ${i + 1}`);
        yield frames[i]!;
      }
    }
    // Act
    const sent = await writeStreamedResponse({ status: 200, headers: { 'content-type': 'application/x-streamed-protobuf' }, body: body() }, sink.stream, sink.open);
    // Assess
    assert.deepEqual(sink.prelude(), { statusCode: 200, headers: { 'content-type': 'application/x-streamed-protobuf' } });
    assert.deepEqual(sink.frames.map((f) => [...f]), frames.map((f) => [...f]));
    assert.deepEqual(sink.log, ['yield 1', 'prelude 200', 'write 1', 'yield 2', 'write 2', 'yield 3', 'write 3']);
    assert.deepEqual(sent, { status: 200, bytes: 6, chunks: 3 });
    assert.ok(sink.ended());
  });

  it('writes a byte body (SAMPLES) or a text body whole, and nothing for no body', async () => {
    const cases: { res: HttpResponse; frames: string[]; bytes: number }[] = [
      { res: { status: 200, body: new Uint8Array([7, 8, 9]) }, frames: ['070809'], bytes: 3 },
      { res: { status: 400, body: 'naïve\n' }, frames: [Buffer.from('naïve\n').toString('hex')], bytes: 7 },
      { res: { status: 204 }, frames: [], bytes: 0 },
    ];
    for (const c of cases) {
      const sink = recordingSink();
      const sent = await writeStreamedResponse(c.res, sink.stream, sink.open);
      assert.equal(sink.prelude()?.statusCode, c.res.status);
      assert.deepEqual(sink.frames.map((f) => f.toString('hex')), c.frames);
      assert.equal(sent.bytes, c.bytes);
      assert.ok(sink.ended());
    }
  });

  it('turns an error before the first frame into an error status', async () => {
    const sink = recordingSink();
    async function* failing(): AsyncGenerator<Uint8Array> {
      throw new BackendError('query index: DynamoDB unavailable');
    }
    const sent = await writeStreamedResponse({ status: 200, headers: { 'content-type': 'x' }, body: failing() }, sink.stream, sink.open);
    assert.equal(sent.status, 503);
    assert.equal(sink.prelude()?.statusCode, 503);
    assert.equal(sink.prelude()?.headers['content-type'], 'text/plain; charset=utf-8');
    assert.match(Buffer.concat(sink.frames).toString(), /DynamoDB unavailable/);
  });

  it('cuts the stream short and rethrows on an error after the first frame', async () => {
    const sink = recordingSink();
    let cleanedUp = false;
    async function* failing() {
      try {
        yield new Uint8Array([1]);
        throw new BackendError('read segment: S3 unavailable');
      } finally {
        cleanedUp = true;
      }
    }
    await assert.rejects(writeStreamedResponse({ status: 200, body: failing() }, sink.stream, sink.open), /S3 unavailable/);
    assert.equal(sink.prelude()?.statusCode, 200);
    assert.equal(sink.frames.length, 1);
    assert.ok(sink.stream.destroyed, 'the client must see the answer cut short, not a clean end');
    assert.ok(!sink.ended());
    assert.ok(cleanedUp);
  });

  it('stops producing frames when the client goes away, and lets the producer clean up', async () => {
    const sink = recordingSink({ highWaterMark: 1, slow: true });
    let produced = 0;
    let cleanedUp = false;
    async function* endless() {
      try {
        for (;;) {
          produced++;
          if (produced === 3) sink.stream.destroy(); // the client disconnects
          yield new Uint8Array(8);
        }
      } finally {
        cleanedUp = true;
      }
    }
    await assert.rejects(writeStreamedResponse({ status: 200, body: endless() }, sink.stream, sink.open));
    assert.ok(produced <= 4, `produced ${produced} frames after the client left`);
    assert.ok(cleanedUp);
  });
});

describe('lambdaRuntime', () => {
  it('is undefined outside Lambda, even when something created an empty awslambda global', () => {
    const g = globalThis as { awslambda?: unknown };
    const saved = g.awslambda;
    try {
      g.awslambda = {}; // what the AWS SDK's invoke-store module does
      assert.equal(lambdaRuntime(), undefined);
      g.awslambda = { streamifyResponse: () => undefined, HttpResponseStream: { from: () => undefined } };
      assert.ok(lambdaRuntime() !== undefined);
    } finally {
      g.awslambda = saved;
    }
  });
});
