/**
 * S3Bucket against s3rver on 127.0.0.1: the shared bucket acceptance suite,
 * then what only S3 has (request counting, ranged GETs on the wire,
 * ListObjectsV2 pages, error mapping with faults injected by a proxy).
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NotFoundError } from '../../../lib/objstore/errors.ts';
import { ensureBucket } from '../../../lib/objstore/s3/ensure-bucket.ts';
import { S3Bucket } from '../../../lib/objstore/s3/s3-bucket.ts';
import { OpTotals } from '../../../lib/storage/ops.ts';
import { BackendError, ThrottledError } from '../../../lib/util/errors.ts';
import { bucketAcceptance } from '../../conformance/bucket.ts';
import { byUtf8Bytes, collect } from '../../conformance/helpers.ts';
import { startFaultProxy, type Fault, type FaultProxy } from './fault-proxy.ts';
import { startS3rver, type S3rverHandle } from './s3rver.ts';

let server: S3rverHandle;
before(async () => {
  server = await startS3rver();
});
after(async () => {
  await server?.stop();
});

let bucketSeq = 0;
/** A bucket name not used before in this run. */
function freshName(): string {
  return `stratus-test-${++bucketSeq}`;
}

// Each test case gets a new S3 bucket; s3rver's folder goes when it stops.
bucketAcceptance('S3Bucket on s3rver', async () => {
  const client = server.client();
  const name = freshName();
  await ensureBucket(client, name);
  return { bucket: new S3Bucket({ client, bucket: name, ownsClient: true }), cleanup: async () => {} };
});

interface Fixture {
  bucket: S3Bucket;
  client: S3Client;
  counter: OpTotals;
  close(): Promise<void>;
}

/** A new, empty S3 bucket with a request counter, reached directly or through `endpoint`. */
async function fixture(opts: { endpoint?: string; maxAttempts?: number } = {}): Promise<Fixture> {
  const name = freshName();
  const setup = server.client();
  await ensureBucket(setup, name);
  setup.destroy();
  const client = server.client({
    ...(opts.endpoint === undefined ? {} : { endpoint: opts.endpoint }),
    ...(opts.maxAttempts === undefined ? {} : { maxAttempts: opts.maxAttempts }),
  });
  const counter = new OpTotals();
  const bucket = new S3Bucket({ client, bucket: name, counter });
  return {
    bucket,
    client,
    counter,
    async close() {
      await bucket.close();
      client.destroy();
    },
  };
}

/** Request totals as a plain object (`{ 's3:GetObject': 2 }`). */
function requests(counter: OpTotals): Record<string, number> {
  return Object.fromEntries([...counter.totals].map(([k, v]) => [k, v.requests]));
}

function bytes(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

function pattern(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + (i >>> 8)) & 0xff;
  return b;
}

/** Runs `fn` over `items` with at most `limit` calls in flight. */
async function inBatches<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += limit) await Promise.all(items.slice(i, i + limit).map(fn));
}

describe('S3Bucket on s3rver: request counting', () => {
  it('counts one request per call, under the S3 operation name', async () => {
    const f = await fixture();
    try {
      const cases: { name: string; call: () => Promise<unknown>; want: Record<string, number> }[] = [
        { name: 'put', call: () => f.bucket.put('c/obj', pattern(100)), want: { 's3:PutObject': 1 } },
        { name: 'get', call: () => f.bucket.get('c/obj'), want: { 's3:GetObject': 1 } },
        { name: 'getRange', call: () => f.bucket.getRange('c/obj', 10, 20), want: { 's3:GetObject': 1 } },
        // An empty range cannot be asked of HTTP; a HEAD checks the key exists.
        { name: 'getRange, zero length', call: () => f.bucket.getRange('c/obj', 10, 0), want: { 's3:HeadObject': 1 } },
        // 416 from S3, no second request.
        { name: 'getRange past the end', call: () => f.bucket.getRange('c/obj', 500, 5), want: { 's3:GetObject': 1 } },
        { name: 'head', call: () => f.bucket.head('c/obj'), want: { 's3:HeadObject': 1 } },
        { name: 'exists', call: () => f.bucket.exists('c/nope'), want: { 's3:HeadObject': 1 } },
        { name: 'iter', call: () => collect(f.bucket.iter('c/')), want: { 's3:ListObjectsV2': 1 } },
        { name: 'delete', call: () => f.bucket.delete('c/obj'), want: { 's3:DeleteObject': 1 } },
        // Bad keys never reach the network.
        { name: 'bad key', call: () => f.bucket.get('a//b').catch(() => {}), want: {} },
      ];
      for (const c of cases) {
        f.counter.totals.clear();
        await c.call();
        assert.deepEqual(requests(f.counter), c.want, c.name);
      }
    } finally {
      await f.close();
    }
  });

  it('ensureBucket creates a missing bucket once and is idempotent', async () => {
    const client = server.client();
    try {
      const name = freshName();
      const counter = new OpTotals();
      // Act
      const first = await ensureBucket(client, name, { counter });
      const second = await ensureBucket(client, name, { counter });
      // Assess
      assert.equal(first, true);
      assert.equal(second, false);
      assert.deepEqual(requests(counter), { 's3:HeadBucket': 2, 's3:CreateBucket': 1 });
      const bkt = new S3Bucket({ client, bucket: name });
      await bkt.put('k', bytes('v'));
      assert.deepEqual(await bkt.get('k'), bytes('v'));
    } finally {
      client.destroy();
    }
  });
});

describe('S3Bucket on s3rver: ranged reads and listings', () => {
  it('getRange sends a Range header and only the range crosses the wire', async () => {
    const proxy = await startFaultProxy(server.endpoint);
    const f = await fixture({ endpoint: proxy.endpoint });
    try {
      // Prepare
      const data = pattern(1024 * 1024);
      await f.bucket.put('r/big', data);
      proxy.log.length = 0;
      // Act
      const got = await f.bucket.getRange('r/big', 300_000, 1000);
      // Assess
      assert.deepEqual(got, data.slice(300_000, 301_000));
      assert.deepEqual(
        proxy.log.map((r) => ({ method: r.method, range: r.range, status: r.status, bodyBytes: r.bodyBytes })),
        [{ method: 'GET', range: 'bytes=300000-300999', status: 206, bodyBytes: 1000 }],
      );
    } finally {
      await f.close();
      await proxy.stop();
    }
  });

  it('getRange at or past the end, or on an empty object, yields an empty array', async () => {
    const f = await fixture();
    try {
      await f.bucket.put('r/empty', new Uint8Array(0));
      await f.bucket.put('r/ten', pattern(10));
      const cases: { key: string; offset: number; length: number; want: Uint8Array }[] = [
        { key: 'r/empty', offset: 0, length: 10, want: new Uint8Array(0) },
        { key: 'r/empty', offset: 5, length: 1, want: new Uint8Array(0) },
        { key: 'r/ten', offset: 10, length: 1, want: new Uint8Array(0) },
        { key: 'r/ten', offset: 1_000_000, length: 1, want: new Uint8Array(0) },
        { key: 'r/ten', offset: 0, length: 1, want: pattern(10).slice(0, 1) },
        { key: 'r/ten', offset: 9, length: Number.MAX_SAFE_INTEGER, want: pattern(10).slice(9) },
      ];
      for (const c of cases) {
        assert.deepEqual(await f.bucket.getRange(c.key, c.offset, c.length), c.want, `${c.key} ${c.offset}+${c.length}`);
      }
      await assert.rejects(f.bucket.getRange('r/gone', 20, 1), NotFoundError);
    } finally {
      await f.close();
    }
  });

  it('iter pages through more than 1000 keys, in UTF-8 byte order across pages', async () => {
    const f = await fixture();
    try {
      // Prepare: two families whose order differs between bytes and a folder walk.
      const keys: string[] = [];
      for (let i = 0; i < 550; i++) {
        const n = String(i).padStart(4, '0');
        keys.push(`p/a/${n}`, `p/a-${n}`);
      }
      await inBatches(keys, 50, (k) => f.bucket.put(k, bytes(k)));
      await f.bucket.put('q/outside', bytes('not listed under p/'));
      f.counter.totals.clear();
      // Act
      const listed = await collect(f.bucket.iter('p/'));
      // Assess
      assert.equal(listed.length, 1100);
      assert.deepEqual(listed, [...keys].sort(byUtf8Bytes));
      assert.deepEqual(requests(f.counter), { 's3:ListObjectsV2': 2 });
    } finally {
      await f.close();
    }
  });

  it('abandoning iter fetches no further page', async () => {
    const f = await fixture();
    try {
      const keys = Array.from({ length: 1001 }, (_, i) => `s/${String(i).padStart(4, '0')}`);
      await inBatches(keys, 50, (k) => f.bucket.put(k, bytes('x')));
      f.counter.totals.clear();
      const seen: string[] = [];
      for await (const k of f.bucket.iter('')) {
        seen.push(k);
        if (seen.length === 1000) break;
      }
      assert.deepEqual(seen, keys.slice(0, 1000));
      assert.deepEqual(requests(f.counter), { 's3:ListObjectsV2': 1 });
    } finally {
      await f.close();
    }
  });

  it('iter skips objects whose keys break the key rules (written by other tools)', async () => {
    const f = await fixture();
    try {
      await f.bucket.put('ok/a', bytes('a'));
      // Console "folders" (trailing "/"), written with the raw client. (S3
      // also takes "ok//b", but s3rver answers 404 to an empty segment.)
      for (const Key of ['ok/', 'ok/sub/']) {
        await f.client.send(new PutObjectCommand({ Bucket: f.bucket.bucket, Key, Body: new Uint8Array(0) }));
      }
      assert.deepEqual(await collect(f.bucket.iter('ok')), ['ok/a']);
    } finally {
      await f.close();
    }
  });
});

describe('S3Bucket on s3rver: errors', () => {
  let proxy: FaultProxy;
  before(async () => {
    proxy = await startFaultProxy(server.endpoint);
  });
  after(async () => {
    await proxy?.stop();
  });

  const slowDown: Fault = { kind: 'status', status: 503, code: 'SlowDown' };
  const internal: Fault = { kind: 'status', status: 500, code: 'InternalError' };
  const tooMany: Fault = { kind: 'status', status: 429, code: 'TooManyRequests' };
  const reset: Fault = { kind: 'reset' };
  const cases: {
    name: string;
    fault: Fault;
    call: (b: S3Bucket) => Promise<unknown>;
    want: typeof BackendError;
    message: RegExp;
  }[] = [
    { name: '503 SlowDown on get', fault: slowDown, call: (b) => b.get('e/obj'), want: ThrottledError, message: /^get e\/obj: .*SlowDown/ },
    { name: '503 on head (no body)', fault: slowDown, call: (b) => b.head('e/obj'), want: ThrottledError, message: /^head e\/obj/ },
    { name: '503 on exists is not "absent"', fault: slowDown, call: (b) => b.exists('e/obj'), want: ThrottledError, message: /^exists e\/obj/ },
    { name: '503 on iter', fault: slowDown, call: (b) => collect(b.iter('e/')), want: ThrottledError, message: /^iter e\// },
    { name: '429 on put', fault: tooMany, call: (b) => b.put('e/new', bytes('n')), want: ThrottledError, message: /^put e\/new/ },
    { name: '500 on get', fault: internal, call: (b) => b.get('e/obj'), want: BackendError, message: /^get e\/obj: InternalError \(HTTP 500\)/ },
    { name: '500 on getRange', fault: internal, call: (b) => b.getRange('e/obj', 1, 2), want: BackendError, message: /^getRange e\/obj/ },
    { name: '500 on delete', fault: internal, call: (b) => b.delete('e/obj'), want: BackendError, message: /^delete e\/obj/ },
    { name: 'connection reset on get', fault: reset, call: (b) => b.get('e/obj'), want: BackendError, message: /^get e\/obj/ },
  ];
  for (const c of cases) {
    it(`maps ${c.name} to ${c.want.name}, then recovers`, async () => {
      const f = await fixture({ endpoint: proxy.endpoint, maxAttempts: 1 });
      try {
        // Prepare
        await f.bucket.put('e/obj', bytes('payload'));
        proxy.failNext(1, c.fault);
        // Act
        const err = await c.call(f.bucket).then(
          () => assert.fail('expected a rejection'),
          (e: unknown) => e,
        );
        // Assess
        assert.ok(err instanceof c.want, `got ${String(err)}`);
        if (c.want === BackendError) assert.ok(!(err instanceof ThrottledError), 'not throttling');
        assert.equal(f.bucket.isNotFound(err), false);
        assert.match((err as Error).message, c.message);
        assert.ok((err as Error).cause !== undefined, 'the SDK error is kept as cause');
        // The fault is gone: the same bucket works again.
        assert.deepEqual(await f.bucket.get('e/obj'), bytes('payload'));
      } finally {
        await f.close();
      }
    });
  }

  it('the SDK retries throttling within maxAttempts, and every attempt is counted', async () => {
    const f = await fixture({ endpoint: proxy.endpoint, maxAttempts: 3 });
    try {
      await f.bucket.put('e/obj', bytes('payload'));
      f.counter.totals.clear();
      proxy.log.length = 0;
      proxy.failNext(2, slowDown);
      // Act
      const got = await f.bucket.get('e/obj');
      // Assess
      assert.deepEqual(got, bytes('payload'));
      assert.deepEqual(requests(f.counter), { 's3:GetObject': 3 });
      assert.deepEqual(
        proxy.log.map((r) => [r.method, r.status]),
        [['GET', 503], ['GET', 503], ['GET', 200]],
      );
      // More faults than attempts: the error surfaces after the last one.
      f.counter.totals.clear();
      proxy.failNext(3, slowDown);
      await assert.rejects(f.bucket.get('e/obj'), ThrottledError);
      assert.deepEqual(requests(f.counter), { 's3:GetObject': 3 });
    } finally {
      await f.close();
    }
  });

  it('a missing S3 bucket is a BackendError, not a missing object', async () => {
    const client = server.client({ maxAttempts: 1 });
    try {
      const bkt = new S3Bucket({ client, bucket: 'stratus-never-created' });
      for (const [op, call] of [
        ['get', () => bkt.get('k')],
        ['put', () => bkt.put('k', bytes('v'))],
        ['iter', () => collect(bkt.iter(''))],
      ] as const) {
        await assert.rejects(call(), (err) => {
          assert.ok(err instanceof BackendError, `${op}: ${String(err)}`);
          assert.equal(bkt.isNotFound(err), false, op);
          assert.match((err as Error).message, /NoSuchBucket/, op);
          return true;
        });
      }
    } finally {
      client.destroy();
    }
  });

  it('close leaves a client that the bucket does not own usable', async () => {
    const f = await fixture();
    try {
      const other = new S3Bucket({ client: f.client, bucket: f.bucket.bucket });
      await other.close();
      await f.bucket.put('still/works', bytes('yes'));
      assert.deepEqual(await f.bucket.get('still/works'), bytes('yes'));
    } finally {
      await f.close();
    }
  });
});
