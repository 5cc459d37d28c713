/**
 * lib/api/json.ts: numbers, strings and result shapes as Prometheus 2.42
 * writes them (util/jsonutil MarshalValue/MarshalTimestamp, Go's
 * encoding/json string escaping, the jsoniter encoders of api.go).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { errorJson, formatTimestamp, formatValue, jsonString, labelsJson, queryDataJson, successJson } from '../../../lib/api/json.ts';
import { labelsFromPairs } from '../../../lib/labels/labels.ts';
import type { Value } from '../../../lib/promql/value.ts';

describe('formatValue', () => {
  // Go: strconv.FormatFloat(v, 'f', -1, 64), or 'e' below 1e-6 and from 1e21.
  const cases: [number, string][] = [
    [1, '1'],
    [-2.5, '-2.5'],
    [0.1, '0.1'],
    [1 / 3, '0.3333333333333333'],
    [0, '0'],
    [-0, '-0'],
    [NaN, 'NaN'],
    [Infinity, '+Inf'],
    [-Infinity, '-Inf'],
    [1e-6, '0.000001'],
    [9.99e-7, '9.99e-07'],
    [1e-7, '1e-07'],
    [-1.5e-10, '-1.5e-10'],
    [5e-324, '5e-324'],
    [1e20, '100000000000000000000'],
    [123456789012345680000, '123456789012345680000'],
    [1e21, '1e+21'],
    [1.7976931348623157e308, '1.7976931348623157e+308'],
    [1700000000, '1700000000'],
  ];
  for (const [v, want] of cases) {
    it(`${Object.is(v, -0) ? '-0' : v} -> ${want}`, () => assert.equal(formatValue(v), want));
  }
});

describe('formatTimestamp', () => {
  const cases: [number, string][] = [
    [0, '0'],
    [1435781451781, '1435781451.781'],
    [1500, '1.500'],
    [1005, '1.005'],
    [1050, '1.050'],
    [3000, '3'],
    [-250, '-0.250'],
    [-1500, '-1.500'],
  ];
  for (const [ms, want] of cases) {
    it(`${ms} ms -> ${want}`, () => assert.equal(formatTimestamp(ms), want));
  }
});

describe('jsonString', () => {
  const cases: [string, string][] = [
    ['plain', '"plain"'],
    ['a"b\\c', '"a\\"b\\\\c"'],
    ['<a href="x">&</a>', '"\\u003ca href=\\"x\\"\\u003e\\u0026\\u003c/a\\u003e"'],
    ['line\nbreak\ttab', '"line\\nbreak\\ttab"'],
    ['\b\f', '"\\u0008\\u000c"'],
    ['\\b', '"\\\\b"'], // a backslash and a b, not a backspace
    ['\u2028\u2029', '"\\u2028\\u2029"'],
    ['é😀', '"é😀"'],
  ];
  for (const [s, want] of cases) {
    it(`${JSON.stringify(s)} -> ${want}`, () => {
      assert.equal(jsonString(s), want);
      assert.equal(JSON.parse(jsonString(s)), s, 'decodes back to the input');
    });
  }
});

describe('result shapes', () => {
  const m = labelsFromPairs({ __name__: 'up', job: 'a<b', instance: 'x' });
  const cases: { name: string; value: Value; want: string }[] = [
    {
      name: 'vector',
      value: { type: 'vector', value: [{ metric: m, t: 1500, v: 1 }, { metric: [], t: 1500, v: NaN }] },
      want: '{"resultType":"vector","result":[{"metric":{"__name__":"up","instance":"x","job":"a\\u003cb"},"value":[1.500,"1"]},{"metric":{},"value":[1.500,"NaN"]}]}',
    },
    {
      name: 'matrix (a series without points has no "values")',
      value: { type: 'matrix', value: [{ metric: m, points: [{ t: 0, v: -Infinity }, { t: 15000, v: 2.5 }] }, { metric: [], points: [] }] },
      want: '{"resultType":"matrix","result":[{"metric":{"__name__":"up","instance":"x","job":"a\\u003cb"},"values":[[0,"-Inf"],[15,"2.5"]]},{"metric":{}}]}',
    },
    { name: 'empty vector', value: { type: 'vector', value: [] }, want: '{"resultType":"vector","result":[]}' },
    { name: 'scalar', value: { type: 'scalar', value: { t: 1001, v: 2 } }, want: '{"resultType":"scalar","result":[1.001,"2"]}' },
    { name: 'string', value: { type: 'string', value: { t: 2000, v: 'a"b' } }, want: '{"resultType":"string","result":[2,"a\\"b"]}' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      // Act
      const got = queryDataJson(c.value);
      // Assess
      assert.equal(got, c.want);
      JSON.parse(got);
    });
  }

  it('labelsJson keeps label order', () => {
    assert.equal(labelsJson(labelsFromPairs({ b: '2', a: '1' })), '{"a":"1","b":"2"}');
  });

  it('envelopes: success with and without warnings, error in Prometheus field order', () => {
    assert.equal(successJson('[]'), '{"status":"success","data":[]}');
    assert.equal(successJson('[]', []), '{"status":"success","data":[]}');
    assert.equal(successJson('[]', ['w<1']), '{"status":"success","data":[],"warnings":["w\\u003c1"]}');
    assert.equal(
      errorJson('bad_data', 'invalid parameter "query": x'),
      '{"status":"error","errorType":"bad_data","error":"invalid parameter \\"query\\": x"}',
    );
  });
});
