/**
 * lib/cost/emf.ts against the EMF specification's required shape (checked
 * by test/helpers/emf-spec.ts on the parsed line): documents that follow the
 * rules encode to lines CloudWatch would extract, with the values where the
 * spec puts them; documents that break a rule are refused, naming it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EmfError, EmfLimits, EmfUnit, encodeEmf, type EmfDocument, type EmfMetric } from '../../../lib/cost/emf.ts';
import { emfViolations } from '../../helpers/emf-spec.ts';

const T = 1_767_225_600_123;

function doc(over: Partial<EmfDocument> = {}): EmfDocument {
  return {
    namespace: 'Stratus',
    timestamp: T,
    dimensionSets: [['tenant']],
    dimensions: { tenant: 'acme' },
    metrics: [{ name: 'EstimatedCostUSD', unit: EmfUnit.none, value: 2.5e-6 }],
    ...over,
  };
}

const metricsN = (n: number): EmfMetric[] => Array.from({ length: n }, (_, i) => ({ name: `M${i}`, unit: EmfUnit.count, value: i }));
const keysN = (n: number): string[] => Array.from({ length: n }, (_, i) => `d${i}`);
const dimsOf = (keys: string[]): Record<string, string> => Object.fromEntries(keys.map((k) => [k, `v-${k}`]));

describe('encodeEmf: valid documents', () => {
  const cases: { name: string; doc: EmfDocument; assess: (root: any) => void }[] = [
    {
      name: 'one metric, one dimension set',
      doc: doc({ properties: { requestId: 'r-1', operations: { s3: { PutObject: 1 } } } }),
      assess: (root) => {
        assert.deepEqual(root._aws, {
          Timestamp: T,
          CloudWatchMetrics: [{ Namespace: 'Stratus', Dimensions: [['tenant']], Metrics: [{ Name: 'EstimatedCostUSD', Unit: 'None' }] }],
        });
        assert.equal(root.tenant, 'acme');
        assert.equal(root.EstimatedCostUSD, 2.5e-6);
        assert.equal(root.requestId, 'r-1');
        assert.deepEqual(root.operations, { s3: { PutObject: 1 } });
      },
    },
    {
      name: 'an array of values, high resolution, no unit',
      doc: doc({ metrics: [{ name: 'Latency', value: [1, 2.5, 3], storageResolution: 1 }] }),
      assess: (root) => {
        assert.deepEqual(root._aws.CloudWatchMetrics[0].Metrics, [{ Name: 'Latency', StorageResolution: 1 }]);
        assert.deepEqual(root.Latency, [1, 2.5, 3]);
      },
    },
    {
      name: `exactly ${EmfLimits.dimensionsPerSet} dimension keys in a set, and an empty set`,
      doc: doc({ dimensionSets: [keysN(30), []], dimensions: dimsOf(keysN(30)) }),
      assess: (root) => {
        assert.deepEqual(root._aws.CloudWatchMetrics[0].Dimensions, [keysN(30), []]);
        assert.equal(root.d29, 'v-d29');
      },
    },
    {
      name: `${EmfLimits.metricsPerDirective} metrics fit one directive`,
      doc: doc({ metrics: metricsN(100) }),
      assess: (root) => {
        assert.equal(root._aws.CloudWatchMetrics.length, 1);
        assert.equal(root._aws.CloudWatchMetrics[0].Metrics.length, 100);
        assert.equal(root.M99, 99);
      },
    },
    {
      name: '250 metrics are split over directives of at most 100, each with the dimensions',
      doc: doc({ metrics: metricsN(250) }),
      assess: (root) => {
        assert.deepEqual(root._aws.CloudWatchMetrics.map((d: any) => d.Metrics.length), [100, 100, 50]);
        for (const d of root._aws.CloudWatchMetrics) assert.deepEqual([d.Namespace, d.Dimensions], ['Stratus', [['tenant']]]);
        assert.deepEqual(root._aws.CloudWatchMetrics.flatMap((d: any) => d.Metrics.map((m: any) => m.Name)), metricsN(250).map((m) => m.name));
      },
    },
    {
      name: 'undefined properties are left out',
      doc: doc({ properties: { initMs: undefined, fn: 'stratus-write' } }),
      assess: (root) => {
        assert.equal('initMs' in root, false);
        assert.equal(root.fn, 'stratus-write');
      },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      // Act
      const line = encodeEmf(c.doc);
      // Assess
      assert.deepEqual(emfViolations(line), []);
      c.assess(JSON.parse(line));
    });
  }
});

describe('encodeEmf: documents CloudWatch would drop are refused', () => {
  const cases: { name: string; doc: EmfDocument; error: RegExp }[] = [
    { name: '31 dimension keys in a set', doc: doc({ dimensionSets: [keysN(31)], dimensions: dimsOf(keysN(31)) }), error: /has 31 keys; at most 30/ },
    { name: 'a dimension key without a value', doc: doc({ dimensionSets: [['tenant', 'fn']] }), error: /no value for fn/ },
    { name: 'an empty dimension value', doc: doc({ dimensions: { tenant: '' } }), error: /dimension tenant: value "" is not/ },
    { name: 'a blank dimension value', doc: doc({ dimensions: { tenant: '   ' } }), error: /dimension tenant/ },
    { name: 'a non-ASCII dimension value', doc: doc({ dimensions: { tenant: 'café' } }), error: /printable ASCII/ },
    { name: 'a dimension value over 1024 characters', doc: doc({ dimensions: { tenant: 'x'.repeat(1025) } }), error: /1-1024/ },
    { name: 'a repeated key in a set', doc: doc({ dimensionSets: [['tenant', 'tenant']] }), error: /repeats a key/ },
    { name: 'NaN', doc: doc({ metrics: [{ name: 'X', value: NaN }] }), error: /value NaN is not a finite number/ },
    { name: 'Infinity in an array', doc: doc({ metrics: [{ name: 'X', value: [1, Infinity] }] }), error: /Infinity is not a finite number/ },
    { name: '101 values', doc: doc({ metrics: [{ name: 'X', value: Array.from({ length: 101 }, () => 1) }] }), error: /101 values; want 1-100/ },
    { name: 'no values', doc: doc({ metrics: [{ name: 'X', value: [] }] }), error: /0 values/ },
    { name: 'an unknown unit', doc: doc({ metrics: [{ name: 'X', value: 1, unit: 'Dollars' as EmfUnit }] }), error: /unknown unit Dollars/ },
    { name: 'storage resolution 5', doc: doc({ metrics: [{ name: 'X', value: 1, storageResolution: 5 as 1 }] }), error: /storage resolution 5/ },
    { name: 'a metric named like a dimension', doc: doc({ metrics: [{ name: 'tenant', value: 1 }] }), error: /metric tenant clashes with dimension tenant/ },
    { name: 'the same metric twice', doc: doc({ metrics: [{ name: 'X', value: 1 }, { name: 'X', value: 2 }] }), error: /metric X clashes with metric X/ },
    { name: 'a property named like a metric', doc: doc({ properties: { EstimatedCostUSD: 'x' } }), error: /property EstimatedCostUSD clashes with metric/ },
    { name: 'a property named _aws', doc: doc({ properties: { _aws: {} } }), error: /_aws/ },
    { name: 'an empty namespace', doc: doc({ namespace: '' }), error: /namespace ""/ },
    { name: 'the AWS/ namespace', doc: doc({ namespace: 'AWS/Lambda' }), error: /reserved/ },
    { name: 'a fractional timestamp', doc: doc({ timestamp: 1.5 }), error: /timestamp 1.5/ },
    { name: 'a bigint property', doc: doc({ properties: { n: 1n } }), error: /encode EMF document properties/ },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.throws(() => encodeEmf(c.doc), (e: unknown) => e instanceof EmfError && c.error.test(e.message));
    });
  }
});

describe('the specification checker itself', () => {
  // The checker must be able to fail, or the tests above prove nothing.
  const good = encodeEmf(doc());
  const edited = (f: (root: any) => void): string => {
    const root = JSON.parse(good);
    f(root);
    return JSON.stringify(root);
  };
  const cases: { name: string; line: string; want: RegExp }[] = [
    { name: 'no _aws', line: JSON.stringify({ tenant: 'a', X: 1 }), want: /_aws missing/ },
    { name: 'string timestamp', line: edited((r) => (r._aws.Timestamp = String(T))), want: /Timestamp/ },
    { name: 'value missing on the root', line: edited((r) => delete r.EstimatedCostUSD), want: /no numeric value/ },
    { name: 'a string value', line: edited((r) => (r.EstimatedCostUSD = '1')), want: /no numeric value/ },
    { name: 'dimension value missing', line: edited((r) => delete r.tenant), want: /dimension tenant has no/ },
    { name: 'a newline inside', line: good + '\n', want: /newline/ },
    { name: '31 keys', line: JSON.stringify({ _aws: { Timestamp: T, CloudWatchMetrics: [{ Namespace: 'S', Dimensions: [keysN(31)], Metrics: [] }] }, ...dimsOf(keysN(31)) }), want: /31 keys/ },
    { name: '101 metrics', line: JSON.stringify({ _aws: { Timestamp: T, CloudWatchMetrics: [{ Namespace: 'S', Dimensions: [], Metrics: metricsN(101).map((m) => ({ Name: m.name })) }] }, ...Object.fromEntries(metricsN(101).map((m) => [m.name, 1])) }), want: /101 metrics/ },
  ];
  for (const c of cases) {
    it(`flags ${c.name}`, () => {
      assert.match(emfViolations(c.line).join('; '), c.want);
    });
  }
  it('passes a valid line', () => assert.deepEqual(emfViolations(good), []));
});
