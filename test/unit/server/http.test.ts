import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { HttpServer, parseListenAddress, type Route } from '../../../lib/server/http.ts';
import { createMetricsRegistry } from '../../../lib/server/metrics.ts';
import type { HttpRequest } from '../../../lib/server/types.ts';
import { StratusError } from '../../../lib/util/errors.ts';
import { createLogger } from '../../../lib/util/logger.ts';
import { connect, deferred, readUntil, send, waitFor } from './helpers.ts';

const T = { timeout: 15_000 };

/** Starts a server on a free loopback port. */
async function start(routes: Route[], logLines?: string[]): Promise<{ server: HttpServer; port: number }> {
  const server = new HttpServer({
    listenAddress: '127.0.0.1:0',
    routes,
    registry: createMetricsRegistry({ defaultMetrics: false }),
    logger: logLines ? createLogger({ level: 'debug', write: (l) => logLines.push(l) }) : undefined,
  });
  const { port } = await server.listen();
  return { server, port };
}

const echo: Route = {
  method: ['POST', 'PUT'],
  path: '/echo',
  name: 'echo',
  maxBodyBytes: 4096,
  handler: async (req: HttpRequest) => ({
    status: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      method: req.method,
      path: req.path,
      query: [...req.query.entries()],
      header: req.headers['x-test'] ?? null,
      body: Buffer.from(req.body).toString('hex'),
    }),
  }),
};

describe('parseListenAddress', () => {
  const cases: { addr: string; want?: { host: string; port: number }; err?: RegExp }[] = [
    { addr: '0.0.0.0:9201', want: { host: '0.0.0.0', port: 9201 } },
    { addr: ':9201', want: { host: '', port: 9201 } },
    { addr: 'localhost:0', want: { host: 'localhost', port: 0 } },
    { addr: '[::1]:80', want: { host: '::1', port: 80 } },
    { addr: '9201', err: /has no port/ },
    { addr: '::1:80', err: /IPv6 host outside brackets/ },
    { addr: 'host:65536', err: /from 0 to 65535/ },
    { addr: 'host:', err: /from 0 to 65535/ },
    { addr: 'host:http', err: /from 0 to 65535/ },
  ];
  for (const c of cases) {
    it(`${c.addr} -> ${c.err ? 'error' : JSON.stringify(c.want)}`, () => {
      if (c.err) assert.throws(() => parseListenAddress(c.addr), c.err);
      else assert.deepEqual(parseListenAddress(c.addr), c.want);
    });
  }
});

describe('HttpServer routing and request parsing', () => {
  let server: HttpServer;
  let port: number;
  before(async () => {
    ({ server, port } = await start([
      echo,
      { method: 'GET', path: '/api/v1/label/*', name: 'label_values', handler: async (r) => ({ status: 200, body: `prefix ${r.path}` }) },
      { method: 'GET', path: '/api/v1/label/special', name: 'special', handler: async () => ({ status: 200, body: 'exact' }) },
      { method: 'get', path: '/empty', name: 'empty', handler: async () => ({ status: 204 }) },
    ]));
  });
  after(() => server.shutdown(1000));

  it('passes method, decoded path, query, lower-cased headers and the exact body bytes', T, async () => {
    // Prepare
    const body = Buffer.from([0x00, 0xff, 0x10, 0x80]);
    // Act
    const res = await send(port, '/echo?a=1&b=2&a=3', { method: 'POST', headers: { 'X-Test': 'yes' }, body });
    // Assess
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(res.body.toString()), {
      method: 'POST',
      path: '/echo',
      query: [['a', '1'], ['b', '2'], ['a', '3']],
      header: 'yes',
      body: '00ff1080',
    });
  });

  const cases: { name: string; method: string; path: string; status: number; body?: string; allow?: string }[] = [
    { name: 'exact path beats prefix', method: 'GET', path: '/api/v1/label/special', status: 200, body: 'exact' },
    { name: 'prefix route sees the full path', method: 'GET', path: '/api/v1/label/job/values', status: 200, body: 'prefix /api/v1/label/job/values' },
    { name: 'percent-escapes are decoded', method: 'GET', path: '/api/v1/label/a%20b/values', status: 200, body: 'prefix /api/v1/label/a b/values' },
    { name: 'unknown path', method: 'GET', path: '/nope', status: 404 },
    { name: 'path is matched exactly', method: 'POST', path: '/echo/', status: 404 },
    { name: 'wrong method', method: 'GET', path: '/echo', status: 405, allow: 'POST, PUT' },
    { name: 'wrong method on a built-in', method: 'POST', path: '/-/healthy', status: 405, allow: 'GET, HEAD' },
    { name: 'lower-case route method', method: 'GET', path: '/empty', status: 204, body: '' },
    { name: 'malformed escape', method: 'GET', path: '/api/v1/label/%zz', status: 400 },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.method} ${c.path} -> ${c.status}`, T, async () => {
      const res = await send(port, c.path, { method: c.method });
      assert.equal(res.status, c.status);
      if (c.body !== undefined) assert.equal(res.body.toString(), c.body);
      assert.equal(res.headers['allow'], c.allow);
    });
  }

  it('rejects a second route for the same method and path', () => {
    assert.throws(() => server.addRoute({ ...echo, method: 'PUT' }), /route PUT \/echo is registered twice/);
    assert.throws(() => server.addRoute({ ...echo, path: '/metrics', method: 'GET' }), /registered twice/);
  });
});

describe('HttpServer body limit', () => {
  let server: HttpServer;
  let port: number;
  let calls = 0;
  before(async () => {
    ({ server, port } = await start([
      {
        method: 'POST',
        path: '/upload',
        name: 'upload',
        maxBodyBytes: 4096,
        handler: async (req) => {
          calls++;
          return { status: 200, body: String(req.body.byteLength) };
        },
      },
    ]));
  });
  after(() => server.shutdown(1000));

  it('accepts a body of exactly the limit', T, async () => {
    const res = await send(port, '/upload', { method: 'POST', body: Buffer.alloc(4096, 1) });
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), '4096');
  });

  it('answers 413 from Content-Length before any body byte is sent', T, async () => {
    // Prepare
    const before = calls;
    const socket = await connect(port);
    // Act: headers only; the body never comes
    socket.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n');
    const text = await readUntil(socket, (t) => t.includes('\r\n\r\n') && t.endsWith('\n') && t.includes('bytes\n'));
    socket.destroy();
    // Assess
    assert.match(text, /^HTTP\/1\.1 413 /);
    assert.match(text, /connection: close/i);
    assert.match(text, /\r\n\r\nrequest body of 10000000 bytes exceeds the limit of 4096 bytes\n$/);
    assert.equal(calls, before);
  });

  it('answers 413 while a chunked body streams past the limit, without waiting for its end', T, async () => {
    // Prepare
    const before = calls;
    const chunk = Buffer.alloc(1024, 7);
    let written = 0;
    // Act: keep writing 1 KiB chunks until the server answers (or 2000 chunks)
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/upload', method: 'POST', agent: false, headers: { 'transfer-encoding': 'chunked' } });
      let answered = false;
      req.on('error', (err) => {
        if (!answered) reject(err);
      });
      req.on('response', (r) => {
        answered = true;
        let body = '';
        r.on('data', (c: Buffer) => (body += c.toString()));
        r.on('end', () => {
          req.destroy();
          resolve({ status: r.statusCode!, body });
        });
      });
      const pump = (): void => {
        if (answered || written >= 2000) return;
        req.write(chunk);
        written++;
        setTimeout(pump, 2);
      };
      pump();
    });
    // Assess
    assert.equal(res.status, 413);
    assert.equal(res.body, 'request body exceeds the limit of 4096 bytes\n');
    assert.ok(written < 2000, `server answered only after ${written} chunks`);
    assert.equal(calls, before);
  });

  it('keeps serving after oversized requests', T, async () => {
    const res = await send(port, '/upload', { method: 'POST', body: 'abc' });
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), '3');
  });
});

describe('HttpServer responses', () => {
  let server: HttpServer;
  let port: number;
  const produced = { count: 0 };
  const logLines: string[] = [];
  before(async () => {
    ({ server, port } = await start(
      [
        {
          method: 'GET',
          path: '/stream',
          name: 'stream',
          handler: async () => ({
            status: 200,
            headers: { 'Content-Type': 'application/x-test' },
            body: (async function* () {
              for (let i = 0; i < 100; i++) {
                await new Promise((r) => setImmediate(r));
                yield new TextEncoder().encode(`${i},`);
              }
            })(),
          }),
        },
        {
          method: 'GET',
          path: '/big',
          name: 'big',
          handler: async () => ({
            status: 200,
            body: (async function* () {
              for (let i = 0; i < 256; i++) {
                produced.count = i + 1;
                yield new Uint8Array(64 * 1024).fill(i);
              }
            })(),
          }),
        },
        {
          method: 'GET',
          path: '/throw',
          name: 'throw',
          handler: async () => {
            throw new Error('boom');
          },
        },
        {
          method: 'GET',
          path: '/throw-first-chunk',
          name: 'throw_first',
          handler: async () => ({
            status: 200,
            body: (async function* (): AsyncGenerator<Uint8Array> {
              throw new Error('no data');
            })(),
          }),
        },
        {
          method: 'GET',
          path: '/throw-mid-stream',
          name: 'throw_mid',
          handler: async () => ({
            status: 200,
            body: (async function* () {
              yield new TextEncoder().encode('partial');
              await new Promise((r) => setTimeout(r, 10));
              throw new Error('backend died');
            })(),
          }),
        },
        { method: 'GET', path: '/bad-status', name: 'bad_status', handler: async () => ({ status: 42 }) },
        {
          method: 'GET',
          path: '/bad-header',
          name: 'bad_header',
          handler: async () => ({ status: 200, headers: { 'x-bad': 'line\nbreak' }, body: 'never sent' }),
        },
      ],
      logLines,
    ));
  });
  after(() => server.shutdown(1000));

  it('streams an AsyncIterable body chunk by chunk, in order', T, async () => {
    const res = await send(port, '/stream');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/x-test');
    assert.equal(res.headers['transfer-encoding'], 'chunked');
    assert.equal(res.body.toString(), Array.from({ length: 100 }, (_, i) => `${i},`).join(''));
  });

  it('waits for drain: a paused client stops the producer, and every byte still arrives in order', T, async () => {
    // Prepare: a client that does not read
    let resStream!: http.IncomingMessage;
    const gotResponse = deferred();
    const req = http.get({ host: '127.0.0.1', port, path: '/big', agent: false }, (r) => {
      resStream = r;
      r.pause();
      gotResponse.resolve();
    });
    req.on('error', () => {});
    await gotResponse.promise;
    await new Promise((r) => setTimeout(r, 300));
    // Assess: far fewer than the 256 chunks (16 MiB) were produced while paused
    const whilePaused = produced.count;
    assert.ok(whilePaused < 200, `producer ran ahead to ${whilePaused} chunks`);
    // Act: read everything
    const chunks: Buffer[] = [];
    resStream.on('data', (c: Buffer) => chunks.push(c));
    const ended = new Promise((r) => resStream.on('end', r));
    resStream.resume();
    await ended;
    const all = Buffer.concat(chunks);
    assert.equal(all.length, 256 * 64 * 1024);
    for (let i = 0; i < 256; i++) assert.equal(all[i * 64 * 1024 + 1234], i);
  });

  it('turns a throwing handler into a 500, logs it, and keeps serving', T, async () => {
    const res = await send(port, '/throw');
    assert.equal(res.status, 500);
    assert.equal(res.body.toString(), 'internal server error\n');
    const errLine = logLines.map((l) => JSON.parse(l)).find((l) => l.level === 'error' && l.handler === 'throw');
    assert.ok(errLine, 'an error line for the throwing handler');
    assert.equal(errLine.err.message, 'boom');
    const again = await send(port, '/stream');
    assert.equal(again.status, 200);
  });

  it('turns a stream failing before its first chunk into a 500', T, async () => {
    const res = await send(port, '/throw-first-chunk');
    assert.equal(res.status, 500);
  });

  it('cuts the connection when a stream fails after the headers, so the client sees a truncated answer', T, async () => {
    await assert.rejects(send(port, '/throw-mid-stream'), /aborted|ECONNRESET|socket hang up/);
    const again = await send(port, '/-/healthy');
    assert.equal(again.status, 200);
  });

  for (const p of ['/bad-status', '/bad-header']) {
    it(`answers 500 when the handler returns an invalid response (${p})`, T, async () => {
      const res = await send(port, p);
      assert.equal(res.status, 500);
      assert.equal(res.body.toString(), 'internal server error\n');
      assert.equal(res.headers['x-bad'], undefined);
    });
  }
});

describe('HttpServer built-in endpoints and metrics', () => {
  let server: HttpServer;
  let port: number;
  before(async () => {
    ({ server, port } = await start([{ method: 'GET', path: '/hello', name: 'hello', handler: async () => ({ status: 200, body: 'hi' }) }]));
  });
  after(() => server.shutdown(1000));

  it('answers /-/healthy (GET and HEAD) with Prometheus-style text', T, async () => {
    const get = await send(port, '/-/healthy');
    assert.equal(get.status, 200);
    assert.equal(get.body.toString(), 'Stratus is Healthy.\n');
    const head = await send(port, '/-/healthy', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
  });

  it('answers /-/ready with 503 until setReady(true), then 200', T, async () => {
    const before = await send(port, '/-/ready');
    assert.equal(before.status, 503);
    assert.equal(before.body.toString(), 'Service Unavailable');
    server.setReady(true);
    const afterReady = await send(port, '/-/ready');
    assert.equal(afterReady.status, 200);
    assert.equal(afterReady.body.toString(), 'Stratus is Ready.\n');
  });

  it('exposes the HTTP metrics on /metrics in the text format', T, async () => {
    // Prepare
    await send(port, '/hello');
    await send(port, '/hello');
    await send(port, '/missing');
    // Act
    const res = await send(port, '/metrics');
    // Assess
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    const text = res.body.toString();
    assert.match(text, /^stratus_http_requests_total\{handler="hello",code="200"\} 2$/m);
    assert.match(text, /^stratus_http_requests_total\{handler="notfound",code="404"\} 1$/m);
    assert.match(text, /^stratus_http_request_duration_seconds_count\{handler="hello"\} 2$/m);
    assert.match(text, /^stratus_http_request_duration_seconds_bucket\{le="60",handler="hello"\} 2$/m);
    // the /metrics request itself is in flight while it is rendered
    assert.match(text, /^stratus_http_requests_in_flight 1$/m);
  });
});

describe('HttpServer client disconnects', () => {
  let server: HttpServer;
  let port: number;
  let uploads = 0;
  const entered = deferred();
  const aborted = deferred<unknown>();
  before(async () => {
    ({ server, port } = await start([
      {
        method: 'POST',
        path: '/upload',
        name: 'upload',
        handler: async () => {
          uploads++;
          return { status: 200 };
        },
      },
      {
        method: 'GET',
        path: '/wait',
        name: 'wait',
        handler: async (req) => {
          entered.resolve();
          await new Promise<void>((resolve) => req.signal!.addEventListener('abort', () => resolve()));
          aborted.resolve(req.signal!.reason);
          return { status: 200, body: 'too late' };
        },
      },
    ]));
  });
  after(() => server.shutdown(1000));

  it('survives a client that aborts mid-body; the handler is never called', T, async () => {
    // Prepare
    const socket = await connect(port);
    socket.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n' + 'x'.repeat(100));
    await waitFor(() => server.inFlight === 1, 5000, 'the request to arrive');
    // Act
    socket.destroy();
    // Assess
    await waitFor(() => server.inFlight === 0, 5000, 'the request to be dropped');
    assert.equal(uploads, 0);
    const res = await send(port, '/upload', { method: 'POST', body: 'ok' });
    assert.equal(res.status, 200);
    assert.equal(uploads, 1);
    const metrics = (await send(port, '/metrics')).body.toString();
    assert.match(metrics, /^stratus_http_requests_total\{handler="upload",code="499"\} 1$/m);
  });

  it('aborts req.signal when the client leaves while the handler runs', T, async () => {
    const socket = await connect(port);
    socket.write('GET /wait HTTP/1.1\r\nHost: x\r\n\r\n');
    await entered.promise;
    socket.destroy();
    const reason = await aborted.promise;
    assert.ok(reason instanceof StratusError);
    await waitFor(() => server.inFlight === 0, 5000, 'the request to end');
  });
});

describe('HttpServer listen and shutdown', () => {
  it('reports the real port when asked for port 0, and fails clearly when the port is taken', T, async () => {
    const { server, port } = await start([]);
    try {
      assert.ok(port > 0);
      assert.deepEqual(server.address, { host: '127.0.0.1', port });
      const clash = new HttpServer({ listenAddress: `127.0.0.1:${port}`, registry: createMetricsRegistry({ defaultMetrics: false }) });
      await assert.rejects(clash.listen(), (err: Error) => err instanceof StratusError && /EADDRINUSE/.test(err.message));
    } finally {
      await server.shutdown(1000);
    }
  });

  it('lets an in-flight request finish while refusing new connections', T, async () => {
    // Prepare: a request that waits until released
    const entered = deferred();
    const release = deferred();
    const { server, port } = await start([
      {
        method: 'GET',
        path: '/slow',
        name: 'slow',
        handler: async () => {
          entered.resolve();
          await release.promise;
          return { status: 200, body: 'done' };
        },
      },
    ]);
    server.setReady(true);
    const inflight = send(port, '/slow');
    await entered.promise;
    // Act
    let stopped = false;
    const stopping = server.shutdown(10_000).then(() => (stopped = true));
    // Assess: not ready, new connections refused, still waiting for /slow
    assert.equal(server.ready, false);
    await assert.rejects(connect(port), /ECONNREFUSED/);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(stopped, false);
    release.resolve();
    const res = await inflight;
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), 'done');
    assert.equal(res.headers['connection'], 'close');
    await stopping;
    assert.equal(stopped, true);
  });

  it('closes idle keep-alive connections on shutdown', T, async () => {
    const { server, port } = await start([]);
    const agent = new http.Agent({ keepAlive: true });
    const res = await new Promise<http.IncomingMessage>((resolve) => http.get({ host: '127.0.0.1', port, path: '/-/healthy', agent }, resolve));
    res.resume();
    await new Promise((r) => res.on('end', r));
    const t0 = Date.now();
    await server.shutdown(10_000);
    assert.ok(Date.now() - t0 < 2000, 'an idle keep-alive socket must not hold shutdown for the grace period');
    agent.destroy();
  });

  it('aborts requests still running when the grace period ends', T, async () => {
    const entered = deferred();
    let signalReason: unknown;
    const { server, port } = await start([
      {
        method: 'GET',
        path: '/stuck',
        name: 'stuck',
        handler: async (req) => {
          entered.resolve();
          await new Promise<void>((resolve) =>
            req.signal!.addEventListener('abort', () => {
              signalReason = req.signal!.reason;
              resolve();
            }),
          );
          return { status: 503 };
        },
      },
    ]);
    const inflight = send(port, '/stuck').catch((err: Error) => err);
    await entered.promise;
    const t0 = Date.now();
    await server.shutdown(100);
    assert.ok(Date.now() - t0 < 2000);
    assert.ok(signalReason instanceof StratusError);
    assert.match((signalReason as Error).message, /shutting down/);
    assert.ok((await inflight) instanceof Error, 'the cut request fails on the client');
  });

  it('returns the same promise when shutdown is called twice', async () => {
    const { server } = await start([]);
    const a = server.shutdown(1000);
    const b = server.shutdown(1000);
    assert.equal(a, b);
    await a;
  });
});
