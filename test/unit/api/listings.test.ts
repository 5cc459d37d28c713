/**
 * /api/v1/series, /labels, /label/<name>/values and the endpoints Grafana
 * calls besides (buildinfo, metadata, query_exemplars, rules, alerts), and
 * the router (404, 405, OPTIONS, CORS), over memory storage: shapes,
 * defaults and every error with Prometheus 2.42's status and text.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseExpr } from '../../../lib/promql/index.ts';
import { newTestApi, T0, type CallArgs } from './helpers.ts';

const api = await newTestApi();
const s = (ms: number) => String(ms / 1000);

function parseMessage(q: string): string {
  try {
    parseExpr(q);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error(`${q} parses`);
}

const upA = '{"__name__":"up","instance":"a:1","job":"api"}';
const upB = '{"__name__":"up","instance":"b:1","job":"api"}';
const upC = '{"__name__":"up","instance":"c:1","job":"web"}';
const reqC = '{"__name__":"requests_total","instance":"c:1","job":"web"}';

describe('successful listings', () => {
  const cases: { name: string; req: CallArgs; data: string }[] = [
    { name: 'series of one selector', req: { path: '/api/v1/series', qs: 'match[]=up' }, data: `[${upA},${upB},${upC}]` },
    { name: 'series of overlapping selectors, each once, sorted', req: { path: '/api/v1/series', qs: 'match[]=up{job="api"}&match[]=up&match[]={job="web"}' }, data: `[${reqC},${upA},${upB},${upC}]` },
    { name: 'series by form POST', req: { path: '/api/v1/series', form: `match[]=${encodeURIComponent('up{instance=~"a.*"}')}` }, data: `[${upA}]` },
    { name: 'series before the data: none', req: { path: '/api/v1/series', qs: `match[]=up&end=${s(T0 - 1)}` }, data: '[]' },
    { name: 'series in a time range', req: { path: '/api/v1/series', qs: `match[]=up{job="web"}&start=${s(T0)}&end=${s(T0 + 1000)}` }, data: `[${upC}]` },
    { name: 'all label names', req: { path: '/api/v1/labels' }, data: '["__name__","instance","job"]' },
    { name: 'label names of matched series', req: { path: '/api/v1/labels', qs: 'match[]=requests_total&match[]=up' }, data: '["__name__","instance","job"]' },
    { name: 'label names by POST', req: { path: '/api/v1/labels', form: 'match[]=nothing' }, data: '[]' },
    { name: 'values of job', req: { path: '/api/v1/label/job/values' }, data: '["api","web"]' },
    { name: 'values of __name__', req: { path: '/api/v1/label/__name__/values' }, data: '["requests_total","up"]' },
    { name: 'values of matched series', req: { path: '/api/v1/label/instance/values', qs: 'match[]=up{job="api"}&match[]=requests_total{job="api"}' }, data: '["a:1","b:1"]' },
    { name: 'values of an unknown label', req: { path: '/api/v1/label/nothing/values' }, data: '[]' },
    { name: 'values after the data: none', req: { path: '/api/v1/label/job/values', qs: `start=${s(T0 + 3_600_000)}` }, data: '[]' },
    { name: 'metadata: none kept', req: { path: '/api/v1/metadata', qs: 'limit=5&metric=up' }, data: '{}' },
    { name: 'exemplars: none kept', req: { path: '/api/v1/query_exemplars', qs: `query=rate(up[5m])&start=${s(T0)}&end=${s(T0 + 60_000)}` }, data: '[]' },
    { name: 'rules: none', req: { path: '/api/v1/rules', qs: 'type=ALERT' }, data: '{"groups":[]}' },
    { name: 'alerts: none', req: { path: '/api/v1/alerts' }, data: '{"alerts":[]}' },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      // Act
      const res = await api.call(c.req);
      // Assess
      assert.equal(res.status, 200, res.text);
      assert.equal(res.headers['content-type'], 'application/json');
      assert.equal(res.text, `{"status":"success","data":${c.data}}`);
    });
  }

  it('buildinfo reports Prometheus 2.42.0 with all of its fields', async () => {
    const res = await api.call({ path: '/api/v1/status/buildinfo' });
    assert.equal(res.status, 200);
    assert.equal(res.json.data.version, '2.42.0');
    assert.deepEqual(Object.keys(res.json.data), ['version', 'revision', 'branch', 'buildUser', 'buildDate', 'goVersion']);
  });

  it('exemplars of a query without selectors: 204 without a body, as Prometheus', async () => {
    const res = await api.call({ path: '/api/v1/query_exemplars', qs: 'query=1%2B1' });
    assert.equal(res.status, 204);
    assert.equal(res.text, '');
  });
});

describe('listing errors', () => {
  const cases: { name: string; req: CallArgs; status: number; error: string }[] = [
    { name: 'series without match[]', req: { path: '/api/v1/series' }, status: 400, error: 'no match[] parameter provided' },
    { name: 'series with a bad selector', req: { path: '/api/v1/series', qs: 'match[]=up{' }, status: 400, error: `invalid parameter "match[]": ${parseMessage('up{')}` },
    { name: 'series selecting everything', req: { path: '/api/v1/series', qs: 'match[]={job=~".*"}' }, status: 400, error: 'invalid parameter "match[]": match[] must contain at least one non-empty matcher' },
    { name: 'series with a bad start', req: { path: '/api/v1/series', qs: 'match[]=up&start=x' }, status: 400, error: `invalid parameter "start": Invalid time value for 'start': cannot parse "x" to a valid timestamp` },
    { name: 'labels with a bad end', req: { path: '/api/v1/labels', qs: 'end=x' }, status: 400, error: `invalid parameter "end": Invalid time value for 'end': cannot parse "x" to a valid timestamp` },
    { name: 'labels with a bad selector (not wrapped)', req: { path: '/api/v1/labels', qs: 'match[]={' }, status: 400, error: parseMessage('{') },
    { name: 'labels selecting everything (not wrapped)', req: { path: '/api/v1/labels', qs: 'match[]={job=""}' }, status: 400, error: 'match[] must contain at least one non-empty matcher' },
    { name: 'values of an invalid label name', req: { path: '/api/v1/label/not-valid/values' }, status: 400, error: 'invalid label name: "not-valid"' },
    { name: 'values with a bad start', req: { path: '/api/v1/label/job/values', qs: 'start=x' }, status: 400, error: `invalid parameter "start": Invalid time value for 'start': cannot parse "x" to a valid timestamp` },
    { name: 'metadata with a bad limit', req: { path: '/api/v1/metadata', qs: 'limit=ten' }, status: 400, error: 'limit must be a number' },
    { name: 'exemplars ending before they start', req: { path: '/api/v1/query_exemplars', qs: 'query=up&start=2&end=1' }, status: 400, error: 'end timestamp must not be before start timestamp' },
    { name: 'exemplars of a bad query (not wrapped)', req: { path: '/api/v1/query_exemplars', qs: 'query=up{' }, status: 400, error: parseMessage('up{') },
    { name: 'rules of an unknown type', req: { path: '/api/v1/rules', qs: 'type=Other' }, status: 400, error: 'invalid parameter "type": not supported value "other"' },
    { name: 'a bad tenant', req: { path: '/api/v1/labels', headers: { 'x-scope-orgid': '..' } }, status: 400, error: `invalid tenant id "..": use 1-150 of A-Z a-z 0-9 ! - _ . * ' ( )` },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      // Act
      const res = await api.call(c.req);
      // Assess
      assert.equal(res.status, c.status, res.text);
      assert.equal(res.text, JSON.stringify({ status: 'error', errorType: 'bad_data', error: c.error }).replace(/</g, '\\u003c').replace(/>/g, '\\u003e'));
    });
  }
});

describe('router', () => {
  const cases: { name: string; req: CallArgs; status: number; text?: string; allow?: string }[] = [
    { name: 'an endpoint Stratus does not serve: 404 as Prometheus', req: { path: '/api/v1/status/config' }, status: 404, text: '404 page not found\n' },
    { name: 'a path below label/ that is not <name>/values', req: { path: '/api/v1/label/job' }, status: 404, text: '404 page not found\n' },
    { name: 'a nested label path', req: { path: '/api/v1/label/a/b/values' }, status: 404, text: '404 page not found\n' },
    { name: 'DELETE on series', req: { path: '/api/v1/series', method: 'DELETE' }, status: 405, allow: 'GET, POST, OPTIONS' },
    { name: 'POST on label values (GET only in 2.42)', req: { path: '/api/v1/label/job/values', method: 'POST' }, status: 405, allow: 'GET, OPTIONS' },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const res = await api.call(c.req);
      assert.equal(res.status, c.status);
      if (c.text !== undefined) assert.equal(res.text, c.text);
      if (c.allow !== undefined) assert.equal(res.headers.allow, c.allow);
    });
  }

  it('answers CORS preflights with 204 and the CORS headers, and adds them to answers for browsers', async () => {
    // Act
    const pre = await api.call({ path: '/api/v1/query', method: 'OPTIONS', headers: { origin: 'https://grafana.example' } });
    const get = await api.call({ path: '/api/v1/labels', headers: { origin: 'https://grafana.example' } });
    const plain = await api.call({ path: '/api/v1/labels' });
    // Assess
    assert.equal(pre.status, 204);
    assert.equal(pre.text, '');
    for (const r of [pre, get]) {
      assert.equal(r.headers['access-control-allow-origin'], '*');
      assert.equal(r.headers['access-control-allow-methods'], 'GET, POST, OPTIONS');
      assert.equal(r.headers['access-control-allow-headers'], 'Accept, Authorization, Content-Type, Origin');
    }
    assert.equal(plain.headers['access-control-allow-origin'], undefined);
  });
});
