/**
 * A small HTTP proxy on 127.0.0.1 in front of an S3 server, for tests that
 * need S3 to fail in ways an emulator never does (503 SlowDown, 500, reset
 * connections) and that look at what crossed the wire (Range headers,
 * response sizes). Requests are forwarded unchanged, Host header included,
 * so SigV4 signatures made for the proxy's address still verify.
 */
import { once } from 'node:events';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the proxy does instead of forwarding. */
export type Fault =
  | { kind: 'status'; status: number; code: string }
  /** Closes the connection without an answer. */
  | { kind: 'reset' };

/** One request the proxy saw. */
export interface ProxiedRequest {
  method: string;
  /** Path and query. */
  url: string;
  /** The Range header, if any. */
  range: string | undefined;
  /** The status sent back (0 for a reset). */
  status: number;
  /** Response body bytes sent back. */
  bodyBytes: number;
  /** Whether a fault answered instead of the server. */
  injected: boolean;
}

/** A running fault proxy. */
export interface FaultProxy {
  /** `http://127.0.0.1:<port>`. */
  endpoint: string;
  /** Every request so far, in the order they finished. */
  readonly log: ProxiedRequest[];
  /** Answers the next `count` requests with `fault` instead of forwarding them. */
  failNext(count: number, fault: Fault): void;
  /** Stops listening and drops open connections. */
  stop(): Promise<void>;
}

/** Starts a proxy to `target` (`http://host:port`). */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const to = new URL(target);
  const log: ProxiedRequest[] = [];
  const pending: Fault[] = [];

  const server: Server = createServer((req, res) => {
    const fault = pending.shift();
    if (fault !== undefined) {
      inject(req, res, fault, log);
      return;
    }
    const upstream = request(
      { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        let bodyBytes = 0;
        up.on('data', (chunk: Buffer) => {
          bodyBytes += chunk.length;
        });
        up.on('end', () =>
          log.push({
            method: req.method ?? '',
            url: req.url ?? '',
            range: header(req, 'range'),
            status: up.statusCode ?? 0,
            bodyBytes,
            injected: false,
          }),
        );
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', (err) => {
      res.destroy(err);
    });
    req.pipe(upstream);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    log,
    failNext(count, fault) {
      for (let i = 0; i < count; i++) pending.push(fault);
    },
    async stop() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** Answers with an S3-style XML error (or a reset) after reading the request body. */
function inject(req: IncomingMessage, res: ServerResponse, fault: Fault, log: ProxiedRequest[]): void {
  req.resume();
  req.on('end', () => {
    const entry = {
      method: req.method ?? '',
      url: req.url ?? '',
      range: header(req, 'range'),
      injected: true,
    };
    if (fault.kind === 'reset') {
      log.push({ ...entry, status: 0, bodyBytes: 0 });
      req.socket.destroy();
      return;
    }
    const body =
      req.method === 'HEAD'
        ? ''
        : `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${fault.code}</Code>` +
          `<Message>injected by the test proxy</Message><RequestId>fault</RequestId></Error>`;
    log.push({ ...entry, status: fault.status, bodyBytes: Buffer.byteLength(body) });
    res.writeHead(fault.status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
