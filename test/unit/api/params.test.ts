/**
 * lib/api/params.ts and resolution.ts: times, durations and form values
 * parsed as Prometheus 2.42's web/api/v1/api.go parses them, with its
 * error texts, and the max_source_resolution parameter.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  FormValues,
  goParseFloat,
  MaxTimeFormatted,
  MaxTimeMs,
  MinTimeFormatted,
  MinTimeMs,
  parseDuration,
  parseDurationParam,
  parsePromDuration,
  parseRFC3339,
  parseTime,
  parseTimeParam,
} from '../../../lib/api/params.ts';
import { parseMaxSourceResolution, resolveMaxSourceResolution } from '../../../lib/api/resolution.ts';
import { ApiError } from '../../../lib/api/errors.ts';

function req(method: string, query: string, body = '', contentType = 'application/x-www-form-urlencoded') {
  return { method, query: new URLSearchParams(query), headers: { 'content-type': contentType }, body: new TextEncoder().encode(body) };
}

describe('goParseFloat', () => {
  const cases: [string, number | undefined][] = [
    ['1', 1],
    ['-1.5', -1.5],
    ['+.5', 0.5],
    ['1.', 1],
    ['1e3', 1000],
    ['1E-3', 0.001],
    ['0x1p-2', 0.25],
    ['-0x1.8p1', -3],
    ['Inf', Infinity],
    ['-infinity', -Infinity],
    ['+INF', Infinity],
    ['1e400', undefined], // ErrRange
    ['', undefined],
    [' 1', undefined],
    ['1_000', undefined],
    ['0x10', undefined], // hex needs a p exponent
    ['1h', undefined],
    ['+nan', undefined],
    ['infin', undefined],
  ];
  for (const [s, want] of cases) {
    it(`${JSON.stringify(s)} -> ${want}`, () => {
      // Act
      const got = goParseFloat(s);
      // Assess
      assert.equal(got, want);
    });
  }
  it('parses nan in any case', () => {
    assert.ok(Number.isNaN(goParseFloat('NaN')));
    assert.ok(Number.isNaN(goParseFloat('nan')));
  });
});

describe('parseTime', () => {
  const cases: [string, number][] = [
    ['0', 0],
    ['1435781451.781', 1435781451781],
    ['1.5', 1500],
    ['0.0005', 1], // rounded to the ms, half away from zero (Go's math.Round)
    ['-0.0005', -1],
    ['1.0005', 1000], // math.Modf leaves 0.000499999..., as in Go
    ['1.0004', 1000],
    ['-1.5', -1500],
    ['-0.0001', 0],
    ['1e3', 1_000_000],
    ['2015-07-01T20:10:51.781Z', 1435781451781],
    ['2015-07-01T20:10:51Z', 1435781451000],
    ['2015-07-01T22:10:51.7819999+02:00', 1435781451781], // fraction truncated to the ms
    ['2015-07-01T20:10:51,5Z', 1435781451500],
    ['1969-12-31T23:59:59.5Z', -500],
    ['2000-02-29T00:00:00Z', 951782400000],
    [MinTimeFormatted, MinTimeMs],
    [MaxTimeFormatted, MaxTimeMs],
  ];
  for (const [s, want] of cases) {
    it(`${s} -> ${want}`, () => {
      assert.equal(parseTime(s), want);
    });
  }

  const bad = ['', 'abc', '2015-07-01', '2015-07-01T20:10:51', '2015-13-01T00:00:00Z', '2015-02-29T00:00:00Z', '2015-07-01T24:00:00Z', 'Inf', 'NaN', '1e400'];
  for (const s of bad) {
    it(`refuses ${JSON.stringify(s)} with Prometheus' text`, () => {
      assert.throws(() => parseTime(s), { message: `cannot parse ${JSON.stringify(s)} to a valid timestamp` });
    });
  }

  it('quotes the value as Go %q does', () => {
    assert.throws(() => parseTime('a\tb\u00e9'), { message: 'cannot parse "a\\tbé" to a valid timestamp' });
  });
});

describe('parseRFC3339', () => {
  it('handles offsets of both signs', () => {
    assert.equal(parseRFC3339('1970-01-01T01:00:00+01:00'), 0);
    assert.equal(parseRFC3339('1969-12-31T23:30:00-00:30'), 0);
  });
});

describe('parseTimeParam', () => {
  it('returns the default for a missing or empty parameter', () => {
    assert.equal(parseTimeParam(new FormValues(req('GET', '')), 'start', 42), 42);
    assert.equal(parseTimeParam(new FormValues(req('GET', 'start=')), 'start', 42), 42);
  });
  it('wraps errors as invalid parameter with Prometheus wording', () => {
    // Act
    const err = (() => {
      try {
        parseTimeParam(new FormValues(req('GET', 'time=x')), 'time', 0);
      } catch (e) {
        return e;
      }
    })();
    // Assess
    assert.ok(err instanceof ApiError);
    assert.equal(err.errorType, 'bad_data');
    assert.equal(err.message, `invalid parameter "time": Invalid time value for 'time': cannot parse "x" to a valid timestamp`);
  });
});

describe('parseDuration', () => {
  const cases: [string, number][] = [
    ['15', 15e9],
    ['0.5', 5e8],
    ['1e-4', 1e5],
    ['-1', -1e9],
    ['0', 0],
    ['5m', 300e9],
    ['1h30m', 5400e9],
    ['1y2w3d4h5m6s7ms', (365 * 86400 + 14 * 86400 + 3 * 86400 + 4 * 3600 + 5 * 60 + 6) * 1e9 + 7e6],
    ['100ms', 1e8],
  ];
  for (const [s, want] of cases) {
    it(`${s} -> ${want} ns`, () => assert.equal(parseDuration(s), want));
  }

  const bad: [string, string][] = [
    ['', 'cannot parse "" to a valid duration'],
    ['5x', 'cannot parse "5x" to a valid duration'],
    ['1m1h', 'cannot parse "1m1h" to a valid duration'], // units must come in order
    ['1.5m', 'cannot parse "1.5m" to a valid duration'],
    ['1e10', 'cannot parse "1e10" to a valid duration. It overflows int64'],
    ['-1e10', 'cannot parse "-1e10" to a valid duration. It overflows int64'],
    ['300y', 'cannot parse "300y" to a valid duration'], // out of range
  ];
  for (const [s, msg] of bad) {
    it(`refuses ${JSON.stringify(s)}`, () => assert.throws(() => parseDuration(s), { message: msg }));
  }

  it('gives NaN for NaN, which the step check refuses as non-positive', () => {
    assert.ok(Number.isNaN(parseDuration('NaN')));
  });

  it('parsePromDuration accepts "0" without a unit and refuses the empty string', () => {
    assert.equal(parsePromDuration('0'), 0);
    assert.equal(parsePromDuration(''), undefined);
  });

  it('parseDurationParam names the parameter', () => {
    assert.throws(() => parseDurationParam(new FormValues(req('GET', 'timeout=soon')), 'timeout'), {
      message: 'invalid parameter "timeout": cannot parse "soon" to a valid duration',
    });
  });
});

describe('FormValues', () => {
  const cases = [
    { name: 'GET reads the query string only', r: req('GET', 'query=a', 'query=b'), get: 'a', all: ['a'] },
    { name: 'POST form body comes before the query string', r: req('POST', 'query=a&query=c', 'query=b'), get: 'b', all: ['b', 'a', 'c'] },
    { name: 'POST with a charset parameter is still a form', r: req('POST', '', 'query=b', 'application/x-www-form-urlencoded; charset=utf-8'), get: 'b', all: ['b'] },
    { name: 'POST of another content type ignores the body', r: req('POST', 'query=a', 'query=b', 'text/plain'), get: 'a', all: ['a'] },
    { name: 'decodes + and percent escapes', r: req('POST', '', 'query=sum%28up%29+%2B+1'), get: 'sum(up) + 1', all: ['sum(up) + 1'] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      // Prepare
      const f = new FormValues(c.r);
      // Act / Assess
      assert.equal(f.get('query'), c.get);
      assert.deepEqual(f.all('query'), c.all);
      assert.equal(f.get('missing'), '');
    });
  }
});

describe('max_source_resolution', () => {
  const cases: [string, ReturnType<typeof parseMaxSourceResolution>][] = [
    ['', { auto: true }],
    ['auto', { auto: true }],
    ['raw', { auto: false, ms: 0 }],
    ['0s', { auto: false, ms: 0 }],
    ['5m', { auto: false, ms: 300_000 }],
    ['1h', { auto: false, ms: 3_600_000 }],
    ['300', { auto: false, ms: 300_000 }],
  ];
  for (const [s, want] of cases) {
    it(`${JSON.stringify(s)} parses`, () => assert.deepEqual(parseMaxSourceResolution(s), want));
  }
  it('refuses garbage and negative values as bad_data naming the parameter', () => {
    assert.throws(() => parseMaxSourceResolution('fine'), (e: unknown) => e instanceof ApiError && e.errorType === 'bad_data' && /^invalid parameter "max_source_resolution": cannot parse "fine"/.test(e.message));
    assert.throws(() => parseMaxSourceResolution('-5'), { message: 'invalid parameter "max_source_resolution": negative max_source_resolution is not accepted. Try a positive integer' });
  });
  it('auto reads raw data for instant queries and a fifth of the step for range queries', () => {
    assert.equal(resolveMaxSourceResolution({ auto: true }, undefined), 0);
    assert.equal(resolveMaxSourceResolution({ auto: true }, 3_600_000), 720_000);
    assert.equal(resolveMaxSourceResolution({ auto: false, ms: 300_000 }, 3_600_000), 300_000);
  });
});
