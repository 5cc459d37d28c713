/**
 * A tiny HTTP proxy on 127.0.0.1 in front of a DynamoDB-compatible server
 * that injects faults into chosen requests: throttling answers, 5xx
 * answers, and BatchWriteItems that leave some items unprocessed. For the
 * last, the proxy really withholds those items from the server, so a
 * client that does not resend them loses them.
 */
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What to do to one matching request. */
export type Fault =
  /** Answer HTTP 400 ProvisionedThroughputExceededException without forwarding. */
  | { kind: 'throttle' }
  /** Answer this status with an error body of this type, without forwarding. */
  | { kind: 'status'; status: number; type: string }
  /**
   * BatchWriteItem only: forward all but the last `count` write requests and
   * return those as UnprocessedItems.
   */
  | { kind: 'unprocess'; count: number };

interface Rule {
  op: string | undefined;
  remaining: number;
  fault: Fault;
}

/** A running proxy. */
export interface FaultProxy {
  endpoint: string;
  /**
   * Applies `fault` to the next `times` requests (Infinity: all) of
   * operation `op` (e.g. 'BatchWriteItem'), or of any operation.
   */
  inject(fault: Fault, opts?: { times?: number; op?: string }): void;
  /** Drops every rule not used up yet. */
  clear(): void;
  /** Requests seen per operation, faulted or not. */
  readonly seen: Map<string, number>;
  stop(): Promise<void>;
}

/** Response headers not passed on: the body may be rewritten, and framing is redone. */
const DROPPED_HEADERS = new Set(['x-amz-crc32', 'content-length', 'transfer-encoding', 'connection']);

const ERROR_PREFIX = 'com.amazonaws.dynamodb.v20120810#';

/** Starts a proxy on a free loopback port forwarding to `target` (`http://host:port`). */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const rules: Rule[] = [];
  const seen = new Map<string, number>();

  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readAll(req);
      const op = String(req.headers['x-amz-target'] ?? '').split('.').pop() ?? '';
      seen.set(op, (seen.get(op) ?? 0) + 1);
      const rule = rules.find((r) => r.remaining > 0 && (r.op === undefined || r.op === op));
      if (rule !== undefined) rule.remaining--;
      const fault = rule?.fault;

      if (fault?.kind === 'throttle') {
        return reply(res, 400, {
          __type: ERROR_PREFIX + 'ProvisionedThroughputExceededException',
          message: 'The level of configured provisioned throughput for the table was exceeded (injected)',
        });
      }
      if (fault?.kind === 'status') {
        return reply(res, fault.status, { __type: ERROR_PREFIX + fault.type, message: 'injected' });
      }

      let forwarded = body;
      let withheld: { table: string; requests: unknown[] } | undefined;
      if (fault?.kind === 'unprocess' && op === 'BatchWriteItem') {
        const input = JSON.parse(body.toString('utf8')) as { RequestItems: Record<string, unknown[]> };
        const [table] = Object.keys(input.RequestItems);
        const all = input.RequestItems[table];
        const keep = all.slice(0, Math.max(0, all.length - fault.count));
        withheld = { table, requests: all.slice(keep.length) };
        // An empty BatchWriteItem is invalid: answer for the server.
        if (keep.length === 0) return reply(res, 200, { UnprocessedItems: { [table]: withheld.requests } });
        input.RequestItems[table] = keep;
        forwarded = Buffer.from(JSON.stringify(input));
      }

      const up = await forward(upstream, req, forwarded);
      if (withheld !== undefined && up.status === 200) {
        const out = JSON.parse(up.body.toString('utf8')) as { UnprocessedItems?: Record<string, unknown[]> };
        out.UnprocessedItems = { ...out.UnprocessedItems, [withheld.table]: withheld.requests };
        return reply(res, 200, out);
      }
      res.writeHead(up.status, up.headers);
      res.end(up.body);
    })().catch((err: unknown) => {
      res.destroy(err instanceof Error ? err : new Error(String(err)));
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    seen,
    inject(fault, opts = {}) {
      rules.push({ op: opts.op, remaining: opts.times ?? 1, fault });
    },
    clear() {
      rules.length = 0;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}

function reply(res: import('node:http').ServerResponse, status: number, json: unknown): void {
  const body = Buffer.from(JSON.stringify(json));
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.0',
    'content-length': body.length,
    'x-amzn-requestid': 'fault-proxy',
  });
  res.end(body);
}

async function readAll(stream: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of stream) parts.push(p as Buffer);
  return Buffer.concat(parts);
}

/** Sends the request on to the server; the response's CRC header is dropped, since bodies may be rewritten. */
function forward(
  upstream: URL,
  req: IncomingMessage,
  body: Buffer,
): Promise<{ status: number; headers: Record<string, string | string[]>; body: Buffer }> {
  const headers = { ...req.headers, host: upstream.host, 'content-length': String(body.length) };
  return new Promise((resolve, reject) => {
    const up = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
      (res) => {
        readAll(res).then((b) => {
          const h: Record<string, string | string[]> = {};
          for (const [k, v] of Object.entries(res.headers)) {
            if (v !== undefined && !DROPPED_HEADERS.has(k)) h[k] = v;
          }
          h['content-length'] = String(b.length);
          resolve({ status: res.statusCode ?? 502, headers: h, body: b });
        }, reject);
      },
    );
    up.on('error', reject);
    up.end(body);
  });
}
