/**
 * `stratus serve` (the real binary, embedded storage) answers the requests
 * Grafana's Prometheus data source makes on "Save & test" and in Explore,
 * in order: build info, the `1+1` health query, the metric and label
 * browsers, series, metadata, exemplars and a range query, for the
 * default tenant and another one (X-Scope-OrgID).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStratusChild } from '../helpers/child.ts';
import { remoteWrite } from './harness/remote-oracle.ts';

const T0 = 1_700_000_000_000;

async function get(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
  return { status: res.status, type: res.headers.get('content-type'), body: res.status === 204 ? undefined : ((await res.json()) as any) };
}

async function post(url: string, form: Record<string, string>, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as any };
}

describe('Grafana against stratus serve', () => {
  it('answers "Save & test" and Explore as a Prometheus 2.42 would', { timeout: 60_000 }, async () => {
    // Prepare
    const dir = await mkdtemp(join(tmpdir(), 'stratus-grafana-'));
    const child = await startStratusChild(dir);
    try {
      const u = child.url;
      const series = ['a', 'b'].map((instance) => ({
        labels: { __name__: 'node_load1', job: 'node', instance },
        samples: Array.from({ length: 20 }, (_, k) => ({ t: T0 + k * 15_000, v: instance === 'a' ? k : 2 * k })),
      }));
      await remoteWrite(u, series);
      await remoteWrite(u, [{ labels: { __name__: 'only_other' }, samples: [{ t: T0, v: 7 }] }]);
      const start = String(T0 / 1000);
      const end = String((T0 + 300_000) / 1000);

      // Act / Assess: "Save & test".
      const build = await get(`${u}/api/v1/status/buildinfo`);
      assert.equal(build.status, 200);
      assert.equal(build.type, 'application/json');
      assert.equal(build.body.data.version, '2.42.0');
      const health = await post(`${u}/api/v1/query`, { query: '1+1', time: end });
      assert.deepEqual(health.body, { status: 'success', data: { resultType: 'scalar', result: [Number(end), '2'] } });

      // Explore: metric browser, label browser, series, metadata.
      const names = await get(`${u}/api/v1/label/__name__/values?start=${start}&end=${end}`);
      assert.deepEqual(names.body.data, ['node_load1', 'only_other']);
      const labels = await post(`${u}/api/v1/labels`, { start, end, 'match[]': 'node_load1' });
      assert.deepEqual(labels.body.data, ['__name__', 'instance', 'job']);
      const values = await get(`${u}/api/v1/label/instance/values?match[]=${encodeURIComponent('node_load1{job="node"}')}`);
      assert.deepEqual(values.body.data, ['a', 'b']);
      const found = await get(`${u}/api/v1/series?match[]=${encodeURIComponent('{job="node"}')}&start=${start}&end=${end}`);
      assert.equal(found.body.data.length, 2);
      const meta = await get(`${u}/api/v1/metadata`);
      assert.deepEqual(meta.body, { status: 'success', data: {} });

      // Explore: a graph, and its exemplars.
      const range = await post(`${u}/api/v1/query_range`, { query: 'sum(node_load1)', start, end, step: '60' });
      assert.equal(range.status, 200);
      assert.deepEqual(range.body.data.result[0].values, [
        [T0 / 1000, '0'],
        [T0 / 1000 + 60, '12'],
        [T0 / 1000 + 120, '24'],
        [T0 / 1000 + 180, '36'],
        [T0 / 1000 + 240, '48'],
        [T0 / 1000 + 300, '57'], // the last sample (k=19) is within the lookback
      ]);
      const ex = await get(`${u}/api/v1/query_exemplars?query=${encodeURIComponent('sum(node_load1)')}&start=${start}&end=${end}`);
      assert.deepEqual(ex.body, { status: 'success', data: [] });

      // Another tenant sees nothing of the default one's data.
      const other = await post(`${u}/api/v1/query`, { query: 'count(node_load1)', time: end }, { 'X-Scope-OrgID': 'team-b' });
      assert.deepEqual(other.body.data.result, []);
      const bad = await post(`${u}/api/v1/query`, { query: 'sum(', time: end });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.errorType, 'bad_data');
      assert.match(bad.body.error, /^invalid parameter "query": 1:5: parse error: /);
    } finally {
      assert.equal(await child.stop(), 0, child.logs.join('\n'));
      await rm(dir, { recursive: true, force: true });
    }
  });
});
