/**
 * The HTTP transport of the local server and the container: node:http in,
 * {@link HttpRequest} to a route's {@link HttpHandler}, {@link HttpResponse}
 * back out. It owns routing, body limits, streaming with backpressure, the
 * built-in `/metrics`, `/-/healthy` and `/-/ready` endpoints, per-request
 * metrics and logs, and graceful shutdown. It knows nothing of remote
 * write/read: endpoints are injected as routes.
 */

import http from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Registry } from 'prom-client';
import { BadInputError, StratusError } from '../util/errors.ts';
import { nopLogger, type Logger } from '../util/logger.ts';
import { createHttpMetrics, createMetricsRegistry, type HttpMetrics } from './metrics.ts';
import type { HttpHandler, HttpRequest, HttpResponse } from './types.ts';

/** Body limit of routes that set none: 32 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024;

/**
 * After answering 413 the server discards (never stores) at most this many
 * more body bytes, for at most {@link OVERSIZE_LINGER_MS}, before closing the
 * connection. Closing a socket with unread input makes the kernel send a RST,
 * which can destroy the 413 before the client reads it; Go's net/http lingers
 * the same way.
 */
export const OVERSIZE_LINGER_BYTES = 256 * 1024;
/** See {@link OVERSIZE_LINGER_BYTES}. */
export const OVERSIZE_LINGER_MS = 1000;

/** Mirrors the texts of Prometheus' `/-/healthy` and `/-/ready` (web/web.go). */
const HEALTHY_TEXT = 'Stratus is Healthy.\n';
const READY_TEXT = 'Stratus is Ready.\n';
const NOT_READY_TEXT = 'Service Unavailable';

/** The `handler` label of requests that matched no route. */
const NOT_FOUND_HANDLER = 'notfound';
/** The `code` label of requests whose client left before the response was complete (nginx's convention). */
const CLIENT_CLOSED_CODE = '499';

/** One endpoint mounted on the server. */
export interface Route {
  /** Accepted method(s), e.g. `'POST'` or `['GET', 'HEAD']`; case-insensitive. */
  method: string | readonly string[];
  /**
   * The path, matched exactly (`/api/v1/write`). A path ending in `/*`
   * matches every path below it (`/api/v1/label/*` matches
   * `/api/v1/label/job/values`); exact paths win over prefixes, longer
   * prefixes over shorter ones. The handler reads `req.path` for the rest.
   */
  path: string;
  handler: HttpHandler;
  /** Short, stable name used as the `handler` label of the HTTP metrics and in logs. */
  name: string;
  /** Largest accepted request body in bytes; larger ones get 413. @default DEFAULT_MAX_BODY_BYTES */
  maxBodyBytes?: number;
}

/** Options of {@link HttpServer}. */
export interface HttpServerOptions {
  /** `host:port` to listen on; port 0 picks a free one, an empty host means all interfaces. */
  listenAddress: string;
  /** Endpoints besides the built-in ones. */
  routes?: readonly Route[];
  /** @default nopLogger */
  logger?: Logger;
  /** Registry served on `/metrics` and holding the HTTP metrics. @default a new one with process metrics */
  registry?: Registry;
  /** Keep-alive idle timeout; longer than common client pools' so the server is not the one to race them. @default 65_000 */
  keepAliveTimeoutMs?: number;
}

/** Splits `host:port` (`[v6]:port` for IPv6); an empty host means all interfaces. */
export function parseListenAddress(addr: string): { host: string; port: number } {
  const colon = addr.lastIndexOf(':');
  if (colon < 0) throw new BadInputError(`listen address "${addr}" has no port; want host:port`);
  let host = addr.slice(0, colon);
  const portText = addr.slice(colon + 1);
  if (host.startsWith('[') && host.endsWith(']')) {
    host = host.slice(1, -1);
  } else if (host.includes(':') || host.includes('[') || host.includes(']')) {
    throw new BadInputError(`listen address "${addr}" has an IPv6 host outside brackets; want e.g. [::1]:9201`);
  }
  if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) > 65535) {
    throw new BadInputError(`listen address "${addr}" has port "${portText}"; want a number from 0 to 65535`);
  }
  return { host, port: Number(portText) };
}

/** Routes registered under one path. */
interface PathEntry {
  byMethod: Map<string, Route>;
  /** The `Allow` header value for 405 answers. */
  allow: string;
}

/** Per-request bookkeeping. */
interface RequestState {
  handler: string;
  started: number;
  abort: AbortController;
  /** The client's address, kept only when debug logging is on (the socket may be gone by the end). */
  remote: string | undefined;
}

const EMPTY = new Uint8Array(0);

function noop(): void {}

/**
 * A node:http server that serves {@link Route}s plus `/metrics`,
 * `/-/healthy` and `/-/ready`.
 *
 * Guarantees: a handler that throws becomes a 500 (logged), never a crash; a
 * client that goes away aborts `req.signal` and stops streaming; bodies over a
 * route's limit get 413 without being read further.
 */
export class HttpServer {
  /** The registry served on `/metrics`; other modules register their metrics here. */
  readonly registry: Registry;
  readonly #logger: Logger;
  readonly #metrics: HttpMetrics;
  readonly #server: Server;
  readonly #listenAddress: string;
  readonly #exact = new Map<string, PathEntry>();
  /** Prefix routes, longest prefix first. */
  readonly #prefixes: { prefix: string; entry: PathEntry }[] = [];
  readonly #inFlight = new Set<RequestState>();
  #idleWaiters: (() => void)[] = [];
  #ready = false;
  #shuttingDown = false;
  #shutdown: Promise<void> | undefined;
  #address: { host: string; port: number } | undefined;

  constructor(opts: HttpServerOptions) {
    this.#listenAddress = opts.listenAddress;
    parseListenAddress(opts.listenAddress); // fail early on a bad address
    this.#logger = opts.logger ?? nopLogger;
    this.registry = opts.registry ?? createMetricsRegistry();
    this.#metrics = createHttpMetrics(this.registry);
    for (const route of this.#builtinRoutes()) this.addRoute(route);
    for (const route of opts.routes ?? []) this.addRoute(route);

    this.#server = http.createServer((req, res) => this.#onRequest(req, res));
    this.#server.keepAliveTimeout = opts.keepAliveTimeoutMs ?? 65_000;
    this.#server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
      this.#logger.debug('client error', { err: err.message, code: err.code });
      if (err.code === 'ECONNRESET' || !socket.writable) {
        socket.destroy();
        return;
      }
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
      socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    });
  }

  /**
   * Mounts a route. Throws if the same method is already served on the same
   * path (including the built-in ones).
   */
  addRoute(route: Route): void {
    const methods = (typeof route.method === 'string' ? [route.method] : route.method).map((m) => m.toUpperCase());
    if (methods.length === 0) throw new StratusError(`route ${route.name} has no method`);
    if (!route.path.startsWith('/')) throw new StratusError(`route ${route.name} has path "${route.path}"; want one starting with /`);
    const isPrefix = route.path.endsWith('/*');
    const key = isPrefix ? route.path.slice(0, -1) : route.path;
    let entry = isPrefix ? this.#prefixes.find((p) => p.prefix === key)?.entry : this.#exact.get(key);
    if (entry === undefined) {
      entry = { byMethod: new Map(), allow: '' };
      if (isPrefix) {
        this.#prefixes.push({ prefix: key, entry });
        this.#prefixes.sort((a, b) => b.prefix.length - a.prefix.length);
      } else {
        this.#exact.set(key, entry);
      }
    }
    for (const m of methods) {
      if (entry.byMethod.has(m)) throw new StratusError(`route ${m} ${route.path} is registered twice`);
    }
    for (const m of methods) entry.byMethod.set(m, route);
    entry.allow = [...entry.byMethod.keys()].join(', ');
  }

  /** Sets what `/-/ready` answers: 200 once ready, 503 before (and from the start of shutdown). */
  setReady(ready: boolean): void {
    this.#ready = ready && !this.#shuttingDown;
  }

  /** Whether `/-/ready` answers 200. */
  get ready(): boolean {
    return this.#ready;
  }

  /** The bound address once {@link listen} has resolved. */
  get address(): { host: string; port: number } | undefined {
    return this.#address;
  }

  /** Number of requests being served. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Starts listening; resolves with the real address (the chosen port when asked for 0). */
  listen(): Promise<{ host: string; port: number }> {
    const { host, port } = parseListenAddress(this.#listenAddress);
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        reject(new StratusError(`listen on ${this.#listenAddress}: ${err.message}`, { cause: err }));
      };
      this.#server.once('error', onError);
      this.#server.listen({ port, host: host === '' ? undefined : host }, () => {
        this.#server.off('error', onError);
        this.#server.on('error', (err) => this.#logger.error('HTTP server error', { err }));
        const addr = this.#server.address() as AddressInfo;
        this.#address = { host: addr.address, port: addr.port };
        this.#logger.info('listening', { address: this.#listenAddress, host: addr.address, port: addr.port });
        resolve(this.#address);
      });
    });
  }

  /**
   * Stops gracefully: marks the server not ready, stops accepting connections
   * (new ones are refused), lets in-flight requests finish for up to
   * `graceMs` (answers sent meanwhile carry `Connection: close`), then aborts
   * the stragglers' signals, closes every remaining socket and resolves.
   * Calling it again returns the same promise.
   */
  shutdown(graceMs: number): Promise<void> {
    this.#shutdown ??= this.#doShutdown(graceMs);
    return this.#shutdown;
  }

  async #doShutdown(graceMs: number): Promise<void> {
    this.#ready = false;
    this.#shuttingDown = true;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeIdleConnections();
    if (this.#inFlight.size > 0) {
      this.#logger.info('waiting for in-flight requests', { count: this.#inFlight.size, graceMs });
      let timer: NodeJS.Timeout | undefined;
      const drained = await Promise.race([
        new Promise<boolean>((resolve) => this.#idleWaiters.push(() => resolve(true))),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), graceMs);
        }),
      ]);
      clearTimeout(timer);
      if (!drained) {
        this.#logger.warn('shutdown grace period over; aborting in-flight requests', { count: this.#inFlight.size, graceMs });
        for (const state of this.#inFlight) state.abort.abort(new StratusError('server is shutting down'));
      }
    }
    this.#server.closeAllConnections();
    await closed;
    this.#logger.info('HTTP server stopped');
  }

  #builtinRoutes(): Route[] {
    return [
      {
        method: 'GET',
        path: '/metrics',
        name: 'metrics',
        handler: async () => ({
          status: 200,
          headers: { 'content-type': this.registry.contentType },
          body: await this.registry.metrics(),
        }),
      },
      {
        method: ['GET', 'HEAD'],
        path: '/-/healthy',
        name: 'healthy',
        handler: async () => ({ status: 200, body: HEALTHY_TEXT }),
      },
      {
        method: ['GET', 'HEAD'],
        path: '/-/ready',
        name: 'ready',
        handler: async () => (this.#ready ? { status: 200, body: READY_TEXT } : { status: 503, body: NOT_READY_TEXT }),
      },
    ];
  }

  #match(path: string): PathEntry | undefined {
    const exact = this.#exact.get(path);
    if (exact !== undefined) return exact;
    for (const p of this.#prefixes) {
      if (path.startsWith(p.prefix)) return p.entry;
    }
    return undefined;
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    const state: RequestState = {
      handler: NOT_FOUND_HANDLER,
      started: performance.now(),
      abort: new AbortController(),
      remote: this.#logger.enabled('debug') ? req.socket.remoteAddress : undefined,
    };
    this.#inFlight.add(state);
    this.#metrics.inFlight.inc();
    // Errors of a gone client surface as 'close'; without listeners they are dropped by node, but be explicit.
    req.on('error', noop);
    res.on('error', noop);
    res.once('close', () => this.#onClose(req, res, state));
    this.#serve(req, res, state).catch((err: unknown) => {
      this.#logger.error('unexpected error serving request', { method: req.method, url: req.url, err });
      try {
        if (!res.headersSent && !res.destroyed) this.#sendText(res, 500, 'internal server error\n');
        else res.destroy();
      } catch {
        res.destroy();
      }
    });
  }

  #onClose(req: IncomingMessage, res: ServerResponse, state: RequestState): void {
    this.#inFlight.delete(state);
    this.#metrics.inFlight.dec();
    const complete = res.writableFinished;
    if (!complete) state.abort.abort(new StratusError('client closed the connection'));
    const code = complete ? String(res.statusCode) : CLIENT_CLOSED_CODE;
    const seconds = (performance.now() - state.started) / 1000;
    this.#metrics.requestsTotal.inc({ handler: state.handler, code });
    this.#metrics.requestDuration.observe({ handler: state.handler }, seconds);
    if (this.#logger.enabled('debug')) {
      this.#logger.debug('request', {
        method: req.method,
        path: req.url,
        handler: state.handler,
        code,
        durationMs: Math.round(seconds * 1e6) / 1e3,
        remote: state.remote,
      });
    }
    if (this.#inFlight.size === 0 && this.#idleWaiters.length > 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  async #serve(req: IncomingMessage, res: ServerResponse, state: RequestState): Promise<void> {
    let target: { path: string; query: URLSearchParams };
    try {
      target = splitTarget(req.url ?? '/');
    } catch (err) {
      this.#sendText(res, 400, `${(err as Error).message}\n`);
      return;
    }
    const entry = this.#match(target.path);
    if (entry === undefined) {
      this.#sendText(res, 404, '404 page not found\n');
      return;
    }
    const method = req.method ?? 'GET';
    const route = entry.byMethod.get(method);
    if (route === undefined) {
      state.handler = entry.byMethod.values().next().value!.name;
      res.setHeader('allow', entry.allow);
      this.#sendText(res, 405, `method ${method} not allowed; allowed: ${entry.allow}\n`);
      return;
    }
    state.handler = route.name;

    const body = await this.#readBody(req, res, route.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES);
    if (body === undefined) return; // answered 413, or the client left

    const request: HttpRequest = {
      method,
      path: target.path,
      query: target.query,
      headers: flattenHeaders(req.headers),
      body,
      signal: state.abort.signal,
    };
    let response: HttpResponse;
    try {
      response = await route.handler(request);
    } catch (err) {
      this.#logger.error('handler threw; answering 500', { handler: route.name, method, path: target.path, err });
      response = { status: 500, body: 'internal server error\n' };
    }
    await this.#writeResponse(res, response, state);
  }

  /**
   * Reads the whole body, or answers 413 and resolves `undefined` when it is
   * over `limit` (by its declared Content-Length, before reading anything, or
   * while streaming). Also resolves `undefined` when the client goes away.
   */
  #readBody(req: IncomingMessage, res: ServerResponse, limit: number): Promise<Uint8Array | undefined> {
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > limit) {
      this.#rejectTooLarge(req, res, `request body of ${declared} bytes exceeds the limit of ${limit} bytes`);
      return Promise.resolve(undefined);
    }
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const cleanup = (): void => {
        req.off('data', onData);
        req.off('end', onEnd);
        req.off('close', onClose);
      };
      const onData = (chunk: Buffer): void => {
        size += chunk.length;
        if (size > limit) {
          cleanup();
          chunks.length = 0;
          this.#rejectTooLarge(req, res, `request body exceeds the limit of ${limit} bytes`);
          resolve(undefined);
          return;
        }
        chunks.push(chunk);
      };
      const onEnd = (): void => {
        cleanup();
        resolve(chunks.length === 0 ? EMPTY : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
      };
      const onClose = (): void => {
        cleanup();
        resolve(undefined);
      };
      req.on('data', onData);
      req.on('end', onEnd);
      req.on('close', onClose);
    });
  }

  /**
   * Answers 413 with `Connection: close` and stops storing the body. The rest
   * is discarded for a bounded time and size so the client can read the
   * answer (see {@link OVERSIZE_LINGER_BYTES}); then the connection closes.
   */
  #rejectTooLarge(req: IncomingMessage, res: ServerResponse, reason: string): void {
    const text = Buffer.from(reason + '\n');
    res.writeHead(413, {
      'content-type': 'text/plain; charset=utf-8',
      'content-length': String(text.length),
      connection: 'close',
    });
    res.write(text);
    let discarded = 0;
    const finish = (): void => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', finish);
      res.off('close', finish);
      if (!res.writableEnded) res.end();
    };
    const onData = (chunk: Buffer): void => {
      discarded += chunk.length;
      if (discarded > OVERSIZE_LINGER_BYTES) finish();
    };
    const timer = setTimeout(finish, OVERSIZE_LINGER_MS);
    req.on('data', onData);
    req.once('end', finish);
    res.once('close', finish);
  }

  /** Writes a short plain-text answer. */
  #sendText(res: ServerResponse, status: number, text: string): void {
    const bytes = Buffer.from(text);
    const headers: Record<string, string> = {
      'content-type': 'text/plain; charset=utf-8',
      'content-length': String(bytes.length),
    };
    if (this.#shuttingDown) headers.connection = 'close';
    res.writeHead(status, headers);
    res.end(bytes);
  }

  async #writeResponse(res: ServerResponse, response: HttpResponse, state: RequestState): Promise<void> {
    const body = response.body;
    if (res.destroyed) {
      // The client left while the handler ran; release a stream's resources.
      if (isAsyncIterable(body)) await closeIterator(body[Symbol.asyncIterator]());
      return;
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(response.headers ?? {})) headers[k.toLowerCase()] = v;
    if (this.#shuttingDown) headers.connection = 'close';

    if (isAsyncIterable(body)) {
      await this.#writeStream(res, response.status, headers, body, state);
      return;
    }
    let bytes: Uint8Array = EMPTY;
    if (typeof body === 'string') {
      bytes = Buffer.from(body, 'utf8');
      headers['content-type'] ??= 'text/plain; charset=utf-8';
    } else if (body !== undefined) {
      bytes = body;
    }
    if (response.status !== 204 && response.status !== 304) headers['content-length'] = String(bytes.byteLength);
    if (!this.#writeHead(res, response.status, headers, state)) return;
    res.end(bytes);
  }

  /** Writes the status line and headers; answers 500 instead if the handler's are invalid. */
  #writeHead(res: ServerResponse, status: number, headers: Record<string, string>, state: RequestState): boolean {
    try {
      res.writeHead(status, headers);
      return true;
    } catch (err) {
      this.#logger.error('handler returned an invalid response; answering 500', { handler: state.handler, status, err });
      this.#sendText(res, 500, 'internal server error\n');
      return false;
    }
  }

  /**
   * Streams chunk by chunk, waiting for 'drain' whenever the socket's buffer
   * is full. The first chunk is fetched before the headers are written, so a
   * stream that fails at once still becomes a 500; a later failure cuts the
   * connection, so the client sees a truncated response rather than a
   * complete-looking one.
   */
  async #writeStream(
    res: ServerResponse,
    status: number,
    headers: Record<string, string>,
    body: AsyncIterable<Uint8Array>,
    state: RequestState,
  ): Promise<void> {
    const it = body[Symbol.asyncIterator]();
    let next: IteratorResult<Uint8Array>;
    try {
      next = await it.next();
    } catch (err) {
      this.#logger.error('response stream failed before its first chunk; answering 500', { handler: state.handler, err });
      if (!res.destroyed) this.#sendText(res, 500, 'internal server error\n');
      return;
    }
    if (res.destroyed || !this.#writeHead(res, status, headers, state)) {
      await closeIterator(it);
      return;
    }
    try {
      while (next.done !== true) {
        const chunk = next.value;
        if (chunk.byteLength > 0 && !res.write(chunk)) await drainOrClose(res);
        if (res.destroyed) {
          await closeIterator(it); // the client left
          return;
        }
        next = await it.next();
      }
      res.end();
    } catch (err) {
      this.#logger.error('response stream failed after the headers were sent; closing the connection', {
        handler: state.handler,
        err,
      });
      res.destroy();
    }
  }
}

function isAsyncIterable(body: HttpResponse['body']): body is AsyncIterable<Uint8Array> {
  return typeof body === 'object' && body !== null && Symbol.asyncIterator in body;
}

async function closeIterator(it: AsyncIterator<Uint8Array>): Promise<void> {
  try {
    await it.return?.();
  } catch {
    // The producer's cleanup failed; nothing is left to answer.
  }
}

function drainOrClose(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** Splits a request target into a decoded path and its query parameters. */
function splitTarget(url: string): { path: string; query: URLSearchParams } {
  let target = url;
  if (!target.startsWith('/')) {
    // absolute-form (`http://host/path`), as sent to proxies
    try {
      const u = new URL(target);
      target = u.pathname + u.search;
    } catch {
      throw new BadInputError(`request target "${url}" is not a path`);
    }
  }
  const q = target.indexOf('?');
  const rawPath = q < 0 ? target : target.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : target.slice(q + 1));
  let path = rawPath;
  if (rawPath.includes('%')) {
    try {
      path = decodeURIComponent(rawPath);
    } catch {
      throw new BadInputError(`request path "${rawPath}" has a malformed percent-escape`);
    }
  }
  return { path, query };
}

/** Node's headers, with repeated ones (only `set-cookie` arrives as an array) joined by ", ". */
function flattenHeaders(headers: http.IncomingHttpHeaders): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(headers)) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}
