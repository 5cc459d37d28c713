/**
 * /api/v1/query and /api/v1/query_range over memory storage and the real
 * engine: answers byte for byte in Prometheus' JSON, every parameter
 * error with its status and text (web/api/v1/api.go of 2.42), timeouts
 * and cancellation, tenants, max_source_resolution and the metrics.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseExpr } from '../../../lib/promql/index.ts';
import { newTestApi, T0, type CallArgs } from './helpers.ts';

const api = await newTestApi();
const s = (ms: number) => String(ms / 1000);

/** The parser's own message for `q` (the API must pass it on unchanged). */
function parseMessage(q: string): string {
  try {
    parseExpr(q);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error(`${q} parses`);
}

describe('/api/v1/query answers', () => {
  const cases: { name: string; req: CallArgs; data: string }[] = [
    {
      name: 'a vector at the default time (now)',
      req: { path: '/api/v1/query', qs: 'query=sum(up)' },
      data: `{"resultType":"vector","result":[{"metric":{},"value":[${s(T0 + 120_000)},"2"]}]}`,
    },
    {
      name: 'at a fractional time, formatted with three decimals',
      req: { path: '/api/v1/query', qs: `query=sum(up)&time=${s(T0 + 30_500)}` },
      data: `{"resultType":"vector","result":[{"metric":{},"value":[1700000030.500,"3"]}]}`,
    },
    {
      name: 'at an RFC 3339 time, by form POST',
      req: { path: '/api/v1/query', form: `query=${encodeURIComponent('up{instance="b:1"}')}&time=2023-11-14T22:14:20Z` },
      data: '{"resultType":"vector","result":[{"metric":{"__name__":"up","instance":"b:1","job":"api"},"value":[1700000060,"0"]}]}',
    },
    {
      name: 'the form body before the URL query',
      req: { path: '/api/v1/query', qs: 'query=nonsense(', form: `query=count(up)&time=${s(T0)}` },
      data: `{"resultType":"vector","result":[{"metric":{},"value":[${s(T0)},"3"]}]}`,
    },
    { name: 'a scalar', req: { path: '/api/v1/query', qs: `query=1%2B1&time=${s(T0)}` }, data: `{"resultType":"scalar","result":[${s(T0)},"2"]}` },
    { name: 'a string', req: { path: '/api/v1/query', qs: `query="a<b"&time=${s(T0)}` }, data: `{"resultType":"string","result":[${s(T0)},"a\\u003cb"]}` },
    { name: 'special values', req: { path: '/api/v1/query', qs: `query=vector(-1/0) or vector(0/0)&time=${s(T0)}` }, data: `{"resultType":"vector","result":[{"metric":{},"value":[${s(T0)},"-Inf"]}]}` },
    {
      name: 'a range vector, series sorted',
      req: { path: '/api/v1/query', qs: `query=up{job="api"}[20s]&time=${s(T0 + 15_000)}` },
      data:
        '{"resultType":"matrix","result":[' +
        '{"metric":{"__name__":"up","instance":"a:1","job":"api"},"values":[[1700000000,"1"],[1700000015,"1"]]},' +
        '{"metric":{"__name__":"up","instance":"b:1","job":"api"},"values":[[1700000000,"1"],[1700000015,"1"]]}]}',
    },
    { name: 'an empty vector for another tenant', req: { path: '/api/v1/query', qs: 'query=up', headers: { 'x-scope-orgid': 'other' } }, data: '{"resultType":"vector","result":[]}' },
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
});

describe('/api/v1/query_range answers', () => {
  it('a matrix sorted by labels, one point per step', async () => {
    // Act
    const res = await api.call({ path: '/api/v1/query_range', qs: `query=up{job="api"}&start=${s(T0)}&end=${s(T0 + 120_000)}&step=60` });
    // Assess
    assert.equal(res.status, 200, res.text);
    assert.equal(
      res.text,
      '{"status":"success","data":{"resultType":"matrix","result":[' +
        '{"metric":{"__name__":"up","instance":"a:1","job":"api"},"values":[[1700000000,"1"],[1700000060,"1"],[1700000120,"1"]]},' +
        '{"metric":{"__name__":"up","instance":"b:1","job":"api"},"values":[[1700000000,"1"],[1700000060,"0"],[1700000120,"0"]]}]}}',
    );
  });

  it('takes the step as a duration and allows exactly 11,000 steps', async () => {
    const a = await api.call({ path: '/api/v1/query_range', qs: `query=count(up)&start=${s(T0)}&end=${s(T0 + 120_000)}&step=2m` });
    assert.equal(a.json.data.result[0].values.length, 2);
    const b = await api.call({ path: '/api/v1/query_range', qs: 'query=vector(1)&start=0&end=11000&step=1' });
    assert.equal(b.status, 200, b.text);
    assert.equal(b.json.data.result[0].values.length, 11_001);
  });
});

describe('query errors', () => {
  const q = '/api/v1/query';
  const r = '/api/v1/query_range';
  const range = `start=${s(T0)}&end=${s(T0 + 60_000)}`;
  const cases: { name: string; req: CallArgs; status: number; type: string; error: string | RegExp }[] = [
    { name: 'bad time', req: { path: q, qs: 'query=up&time=x' }, status: 400, type: 'bad_data', error: `invalid parameter "time": Invalid time value for 'time': cannot parse "x" to a valid timestamp` },
    { name: 'bad timeout', req: { path: q, qs: 'query=up&timeout=x' }, status: 400, type: 'bad_data', error: 'invalid parameter "timeout": cannot parse "x" to a valid duration' },
    { name: 'syntax error', req: { path: q, qs: 'query=sum(' }, status: 400, type: 'bad_data', error: `invalid parameter "query": ${parseMessage('sum(')}` },
    { name: 'missing query', req: { path: q, qs: '' }, status: 400, type: 'bad_data', error: `invalid parameter "query": ${parseMessage('')}` },
    { name: 'type error', req: { path: q, qs: 'query=rate(up)' }, status: 400, type: 'bad_data', error: `invalid parameter "query": ${parseMessage('rate(up)')}` },
    { name: 'many-to-many', req: { path: q, qs: 'query=up %2B on(job) up' }, status: 422, type: 'execution', error: /^found duplicate series for the match group \{job="api"\} on the (left|right) hand-side of the operation/ },
    { name: 'bad tenant', req: { path: q, qs: 'query=up', headers: { 'x-scope-orgid': 'a/b' } }, status: 400, type: 'bad_data', error: /^invalid tenant id "a\/b"/ },
    { name: 'bad max_source_resolution', req: { path: q, qs: 'query=up&max_source_resolution=x' }, status: 400, type: 'bad_data', error: /^invalid parameter "max_source_resolution": cannot parse "x"/ },
    { name: 'missing start', req: { path: r, qs: `query=up&end=${s(T0)}&step=15` }, status: 400, type: 'bad_data', error: 'invalid parameter "start": cannot parse "" to a valid timestamp' },
    { name: 'bad end', req: { path: r, qs: `query=up&start=${s(T0)}&end=later&step=15` }, status: 400, type: 'bad_data', error: 'invalid parameter "end": cannot parse "later" to a valid timestamp' },
    { name: 'end before start', req: { path: r, qs: `query=up&start=${s(T0)}&end=${s(T0 - 1)}&step=15` }, status: 400, type: 'bad_data', error: 'invalid parameter "end": end timestamp must not be before start time' },
    { name: 'missing step', req: { path: r, qs: `query=up&${range}` }, status: 400, type: 'bad_data', error: 'invalid parameter "step": cannot parse "" to a valid duration' },
    { name: 'zero step', req: { path: r, qs: `query=up&${range}&step=0` }, status: 400, type: 'bad_data', error: 'invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer' },
    { name: 'negative step', req: { path: r, qs: `query=up&${range}&step=-1m` }, status: 400, type: 'bad_data', error: 'invalid parameter "step": cannot parse "-1m" to a valid duration' },
    { name: 'NaN step', req: { path: r, qs: `query=up&${range}&step=NaN` }, status: 400, type: 'bad_data', error: 'invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer' },
    { name: 'too many points', req: { path: r, qs: 'query=up&start=0&end=11001&step=1' }, status: 400, type: 'bad_data', error: 'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)' },
    { name: 'range query of a range vector', req: { path: r, qs: `query=up[5m]&${range}&step=15` }, status: 400, type: 'bad_data', error: 'invalid expression type "range vector" for range query, must be Scalar or instant Vector' },
    { name: 'range syntax error, not wrapped', req: { path: r, qs: `query=sum(&${range}&step=15` }, status: 400, type: 'bad_data', error: parseMessage('sum(') },
    { name: 'range bad timeout', req: { path: r, qs: `query=up&${range}&step=15&timeout=1x` }, status: 400, type: 'bad_data', error: 'invalid parameter "timeout": cannot parse "1x" to a valid duration' },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.status} ${c.type}`, async () => {
      // Act
      const res = await api.call(c.req);
      // Assess
      assert.equal(res.status, c.status, res.text);
      assert.equal(res.headers['content-type'], 'application/json');
      assert.deepEqual(Object.keys(res.json), ['status', 'errorType', 'error']);
      assert.equal(res.json.status, 'error');
      assert.equal(res.json.errorType, c.type);
      if (typeof c.error === 'string') assert.equal(res.json.error, c.error);
      else assert.match(res.json.error, c.error);
    });
  }

  it('answers 503 timeout when the timeout parameter expires', async () => {
    // Prepare: a backend taking 200 ms per series read.
    const slow = await newTestApi(undefined, undefined, 200);
    // Act
    const res = await slow.call({ path: q, qs: 'query=sum(rate(requests_total[1m]))&timeout=0.02' });
    // Assess
    assert.equal(res.status, 503, res.text);
    assert.equal(res.json.errorType, 'timeout');
    assert.match(res.json.error, /^query timed out in /);
  });

  it('answers 503 canceled when the client has gone away', async () => {
    // Prepare
    const ac = new AbortController();
    ac.abort(new Error('client closed the connection'));
    // Act
    const res = await api.call({ path: q, qs: 'query=up', signal: ac.signal });
    // Assess
    assert.equal(res.status, 503, res.text);
    assert.equal(res.json.errorType, 'canceled');
    assert.match(res.json.error, /^query was canceled in /);
  });
});

describe('max_source_resolution reaches the storage as a select hint', () => {
  const cases: { name: string; qs: string; path?: string; want: number }[] = [
    { name: 'instant, auto (default): raw', qs: 'query=up', want: 0 },
    { name: 'instant, 5m', qs: 'query=up&max_source_resolution=5m', want: 300_000 },
    { name: 'instant, 1h', qs: 'query=up&max_source_resolution=1h', want: 3_600_000 },
    { name: 'range, raw', path: '/api/v1/query_range', qs: `query=up&start=${s(T0)}&end=${s(T0 + 60_000)}&step=60&max_source_resolution=raw`, want: 0 },
    { name: 'range, auto: a fifth of the step', path: '/api/v1/query_range', qs: `query=up&start=${s(T0)}&end=${s(T0 + 60_000)}&step=60`, want: 12_000 },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      // Prepare
      api.hints.length = 0;
      // Act
      const res = await api.call({ path: c.path ?? '/api/v1/query', qs: c.qs });
      // Assess
      assert.equal(res.status, 200, res.text);
      assert.ok(api.hints.length > 0, 'the engine selected');
      for (const h of api.hints) assert.equal(h.maxSourceResolution, c.want);
    });
  }
});

describe('query metrics', () => {
  it('counts queries by endpoint and outcome', async () => {
    // Prepare
    const fresh = await newTestApi();
    // Act
    await fresh.call({ path: '/api/v1/query', qs: 'query=up' });
    await fresh.call({ path: '/api/v1/query', qs: 'query=up %2B on(job) up' });
    await fresh.call({ path: '/api/v1/query_range', qs: 'query=up[1m]&start=0&end=1&step=1' });
    // Assess
    const text = await fresh.registry.metrics();
    assert.match(text, /^stratus_api_queries_total\{endpoint="query",outcome="success"\} 1$/m);
    assert.match(text, /^stratus_api_queries_total\{endpoint="query",outcome="execution"\} 1$/m);
    assert.match(text, /^stratus_api_queries_total\{endpoint="query_range",outcome="bad_data"\} 1$/m);
  });
});
