/**
 * POST /api/v1/admin/compact on the HTTP server, over in-memory storage:
 * disabled, it answers exactly what Prometheus 2.42 answers for its admin
 * endpoints (compared with the real binary when it is installed); enabled,
 * it compacts settled windows, or everything with force=true, answers the
 * summary, refuses a bad force value as Prometheus refuses a bad boolean,
 * answers 500 with the summary when a tenant fails, and reads stay exact.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HttpServer } from '../../../lib/server/http.ts';
import { adminRoutes, AdminCompactPath } from '../../../lib/server/compact.ts';
import { CompactionScheduler } from '../../../lib/compact/service.ts';
import { Storage, newSeriesEntry } from '../../../lib/tsdb/db.ts';
import { MemBucket } from '../../../lib/objstore/mem.ts';
import { MemKVStore } from '../../../lib/kvstore/mem.ts';
import { BackendError } from '../../../lib/util/errors.ts';
import { labelsFromPairs } from '../../../lib/labels/labels.ts';
import { createMetricsRegistry } from '../../../lib/server/metrics.ts';
import { EMPTY_PROMETHEUS_CONFIG, requireBinary, skipReason, startPrometheus } from '../../e2e/harness/index.ts';
import { Model, assertReadsModel, catalogState, writeRequests, type Request } from '../compact/helpers.ts';
import { send } from './helpers.ts';

const DisabledBody = '{"status":"error","errorType":"unavailable","error":"admin APIs disabled"}';

/** A server with the admin routes over `storage`. */
async function serve(storage: Storage, enabled: boolean) {
  const scheduler = new CompactionScheduler({ storage, intervalMs: 0, compactor: { quality: 4, deleteGraceMs: 0 } });
  const server = new HttpServer({ listenAddress: '127.0.0.1:0', registry: createMetricsRegistry({ defaultMetrics: false }), routes: adminRoutes({ enabled, scheduler }) });
  const { port } = await server.listen();
  return { port, close: async () => (await scheduler.stop(), await server.shutdown(1000)) };
}

/** Samples every minute over the last 3 h: the windows before the last one or two are settled (2 h windows, 1 h settle). */
function recentRequests(): Request[] {
  const s = newSeriesEntry(labelsFromPairs({ __name__: 'admin_test', k: 'v' }));
  const now = Date.now();
  const reqs: Request[] = [];
  for (let m = 180; m > 0; m -= 30) {
    const req: Request = [];
    for (let i = 0; i < 30; i++) req.push([s, now - (m - i) * 60_000, m * 100 + i]);
    reqs.push(req);
  }
  reqs.push([[s, now, 1]]); // its window has not ended: a plain run leaves it
  return reqs;
}

describe('admin compact endpoint, disabled', () => {
  let srv: Awaited<ReturnType<typeof serve>>;
  before(async () => (srv = await serve(new Storage({ bucket: new MemBucket(), kv: new MemKVStore() }), false)));
  after(() => srv.close());

  const cases = [
    { method: 'POST', path: AdminCompactPath, status: 500, body: DisabledBody },
    { method: 'PUT', path: `${AdminCompactPath}?force=true`, status: 500, body: DisabledBody },
    { method: 'GET', path: AdminCompactPath, status: 405, body: undefined },
  ];
  for (const c of cases) {
    it(`${c.method} ${c.path} -> ${c.status}`, async () => {
      const res = await send(srv.port, c.path, { method: c.method });
      assert.equal(res.status, c.status);
      if (c.body !== undefined) {
        assert.equal(res.headers['content-type'], 'application/json');
        assert.equal(res.body.toString(), c.body);
      } else {
        assert.equal(res.headers.allow, 'POST, PUT');
      }
    });
  }

  it("answers as Prometheus 2.42's own admin endpoints do without --web.enable-admin-api", async (t) => {
    if (requireBinary('prometheus') === undefined) return t.skip(skipReason('prometheus'));
    const prom = await startPrometheus({ configYaml: EMPTY_PROMETHEUS_CONFIG });
    try {
      for (const path of ['/api/v1/admin/tsdb/snapshot', '/api/v1/admin/tsdb/clean_tombstones']) {
        const theirs = await fetch(`${prom.url}${path}`, { method: 'POST' });
        const ours = await send(srv.port, AdminCompactPath, { method: 'POST' });
        assert.equal(ours.status, theirs.status, path);
        assert.equal(ours.headers['content-type'], theirs.headers.get('content-type'), path);
        assert.equal(ours.body.toString(), await theirs.text(), path);
      }
    } finally {
      await prom.stop();
    }
  });
});

describe('admin compact endpoint, enabled', () => {
  it('compacts settled windows, then everything with force=true; reads stay exact', async (t) => {
    // Prepare
    const storage = new Storage({ bucket: new MemBucket(), kv: new MemKVStore() });
    const db = storage.tenant('anonymous');
    const model = new Model();
    await writeRequests(db, recentRequests(), model);
    const srv = await serve(storage, true);
    t.after(() => srv.close());
    const post = async (path: string, body?: string) => {
      const res = await send(srv.port, path, { method: 'POST', body, headers: body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' } });
      return { status: res.status, json: JSON.parse(res.body.toString()) };
    };
    // Act 1: not forced.
    const plain = await post(AdminCompactPath);
    // Assess
    assert.equal(plain.status, 200);
    assert.equal(plain.json.status, 'success');
    assert.equal(plain.json.data.force, false);
    assert.deepEqual(plain.json.data.tenants.map((x: any) => [x.tenant, x.outcome]), [['anonymous', 'done']]);
    assert.ok((await catalogState(db.stores)).segments > 0, 'the newest windows are not settled: segments remain');
    await assertReadsModel(db, model, 'after the plain run');
    // Act 2: forced, in the form body.
    const forced = await post(AdminCompactPath, 'force=true');
    assert.equal(forced.status, 200);
    assert.equal(forced.json.data.force, true);
    assert.ok(forced.json.data.totals.blocksWritten >= 1, JSON.stringify(forced.json.data.totals));
    assert.equal((await catalogState(db.stores)).segments, 0, 'forced: no segment left');
    await assertReadsModel(db, model, 'after the forced run');
    // Go's ParseBool spellings are accepted.
    assert.equal((await post(`${AdminCompactPath}?force=T`)).json.data.force, true);
    assert.equal((await post(`${AdminCompactPath}?force=0`)).json.data.force, false);
  });

  it('refuses a bad force value as Prometheus refuses a bad boolean parameter (400 bad_data)', async (t) => {
    const srv = await serve(new Storage({ bucket: new MemBucket(), kv: new MemKVStore() }), true);
    t.after(() => srv.close());
    const res = await send(srv.port, `${AdminCompactPath}?force=yes`, { method: 'POST' });
    assert.equal(res.status, 400);
    assert.equal(res.body.toString(), '{"status":"error","errorType":"bad_data","error":"invalid parameter \\"force\\": unable to parse boolean: strconv.ParseBool: parsing \\"yes\\": invalid syntax"}');
  });

  it('answers 500 internal with the summary in data when a tenant fails', async (t) => {
    class FailingPuts extends MemBucket {
      override async put(key: string, data: Uint8Array): Promise<void> {
        if (key.includes('/blocks/')) throw new BackendError(`put ${key}`, { cause: new Error('injected') });
        return super.put(key, data);
      }
    }
    const storage = new Storage({ bucket: new FailingPuts(), kv: new MemKVStore() });
    await writeRequests(storage.tenant('anonymous'), recentRequests(), new Model());
    const srv = await serve(storage, true);
    t.after(() => srv.close());
    const res = await send(srv.port, `${AdminCompactPath}?force=1`, { method: 'POST' });
    assert.equal(res.status, 500);
    const json = JSON.parse(res.body.toString());
    assert.deepEqual(Object.keys(json), ['status', 'data', 'errorType', 'error']);
    assert.equal(json.errorType, 'internal');
    assert.match(json.error, /^compaction failed for 1 of 1 tenants: tenant anonymous: put tenants\/anonymous\/blocks\/.*: injected$/);
    assert.equal(json.data.failed, 1);
  });
});
