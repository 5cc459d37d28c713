import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BadInputError } from '../../../lib/util/errors.ts';
import { decodeWriteRequest, encodeWriteRequest, utf8Decode } from '../../../lib/prompb/write-v1.ts';
import type { WriteRequestColumns, WriteSeries } from '../../../lib/prompb/write-v1.ts';
import {
  STALE_NAN_BITS,
  arrayBits,
  bitsOf,
  i64,
  int,
  mutate,
  num,
  oracle,
  pick,
  randomString,
  randomTimestamp,
  randomValueInto,
  rng,
} from './helpers.ts';

const root = oracle();
const WriteRequest = root.lookupType('prometheus.WriteRequest');
const WriteRequestPlus = root.lookupType('prometheus.WriteRequestPlus');

/** What a decoded series should look like. */
interface Expected {
  labels: { name: string; value: string }[];
  timestamps: number[];
  values: Float64Array;
  exemplars: number;
  histograms: number;
}

/** Reads series `i` of decoded columns back into plain values (strings decoded). */
function seriesOf(c: WriteRequestColumns, i: number) {
  const labels = [];
  for (let j = c.labelStart[i]!; j < c.labelStart[i + 1]!; j++) {
    labels.push({
      name: utf8Decode(c.buf, c.nameOff[j]!, c.nameLen[j]!),
      value: utf8Decode(c.buf, c.valueOff[j]!, c.valueLen[j]!),
    });
  }
  const from = c.sampleStart[i]!;
  const to = c.sampleStart[i + 1]!;
  return { labels, timestamps: [...c.timestamps.subarray(from, to)], valueBits: arrayBits(c.values, from, to) };
}

function assertColumns(c: WriteRequestColumns, want: Expected[], metadata: number): void {
  assert.equal(c.numSeries, want.length);
  assert.equal(c.numMetadata, metadata);
  assert.equal(c.numLabels, want.reduce((n, s) => n + s.labels.length, 0));
  assert.equal(c.numSamples, want.reduce((n, s) => n + s.timestamps.length, 0));
  assert.equal(c.numExemplars, want.reduce((n, s) => n + s.exemplars, 0));
  assert.equal(c.numHistograms, want.reduce((n, s) => n + s.histograms, 0));
  for (let i = 0; i < want.length; i++) {
    const got = seriesOf(c, i);
    assert.deepEqual(got.labels, want[i]!.labels, `series ${i} labels`);
    assert.deepEqual(got.timestamps, want[i]!.timestamps, `series ${i} timestamps`);
    assert.deepEqual(got.valueBits, arrayBits(want[i]!.values), `series ${i} value bits`);
  }
}

/**
 * A random WriteRequest as a protobufjs object plus what our decoder should
 * return. Fields are sometimes left out (proto3 defaults apply) and
 * exemplars, histograms and metadata are sprinkled in.
 */
function randomRequest(r: () => number) {
  const want: Expected[] = [];
  const timeseries: object[] = [];
  const nSeries = int(r, 6);
  for (let i = 0; i < nSeries; i++) {
    const labels: { name: string; value: string }[] = [];
    const pbLabels: object[] = [];
    for (let j = int(r, 7); j > 0; j--) {
      const name = randomString(r);
      const value = randomString(r);
      labels.push({ name, value });
      const l: Record<string, string> = {};
      if (name !== '' || r() < 0.5) l.name = name;
      if (value !== '' || r() < 0.5) l.value = value;
      pbLabels.push(l);
    }
    const n = int(r, 5);
    const values = new Float64Array(n);
    const timestamps: number[] = [];
    const samples: object[] = [];
    for (let k = 0; k < n; k++) {
      const ts = randomTimestamp(r);
      timestamps.push(ts);
      randomValueInto(r, values, k);
      const s: Record<string, unknown> = {};
      if (ts !== 0 || r() < 0.5) s.timestamp = i64(ts);
      if (bitsOf(values[k]!) !== '0000000000000000' || r() < 0.5) s.value = values[k];
      samples.push(s);
    }
    const exemplars = r() < 0.3 ? int(r, 3) : 0;
    const histograms = r() < 0.3 ? int(r, 3) : 0;
    const ts: Record<string, unknown> = { labels: pbLabels, samples };
    ts.exemplars = Array.from({ length: exemplars }, () => ({
      labels: [{ name: 'trace_id', value: randomString(r) }],
      value: r(),
      timestamp: i64(randomTimestamp(r)),
    }));
    ts.histograms = Array.from({ length: histograms }, () => ({
      countInt: int(r, 1000),
      sum: r() * 100,
      schema: int(r, 8) - 4,
      positiveSpans: [{ offset: int(r, 10) - 5, length: 2 }],
      positiveDeltas: [3, -1],
      timestamp: i64(randomTimestamp(r)),
    }));
    timeseries.push(ts);
    want.push({ labels, timestamps, values, exemplars, histograms });
  }
  const metadata = r() < 0.3 ? int(r, 3) : 0;
  const obj = {
    timeseries,
    metadata: Array.from({ length: metadata }, () => ({ type: 1, metricFamilyName: randomString(r), help: 'h', unit: '' })),
  };
  return { obj, want, metadata };
}

function throwsBad(fn: () => unknown, msg: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof BadInputError, `want BadInputError, got ${String(e)}`);
    assert.match(e.message, msg);
    return true;
  });
}

describe('decodeWriteRequest', () => {
  it('decodes 500 random protobufjs-encoded requests exactly', () => {
    const r = rng(11);
    for (let iter = 0; iter < 500; iter++) {
      // Prepare
      const { obj, want, metadata } = randomRequest(r);
      const buf = WriteRequest.encode(WriteRequest.fromObject(obj)).finish();
      // Act
      const cols = decodeWriteRequest(buf);
      // Assess
      assert.equal(cols.buf, buf);
      assertColumns(cols, want, metadata);
    }
  });

  it('decodes 500 random requests exactly on the arrays of the one before, as the write handler does', () => {
    // The totals (numLabels, numSamples) are read back from the last series'
    // end marks after the loop: stale marks of a longer earlier request, or
    // of a request with series when this one has none, must not leak in.
    const r = rng(12);
    let prev: WriteRequestColumns | undefined;
    for (let iter = 0; iter < 500; iter++) {
      // Prepare: every fifth request empty, or metadata only.
      const { obj, want, metadata } = iter % 5 === 4 ? { obj: { timeseries: [], metadata: [] }, want: [], metadata: 0 } : randomRequest(r);
      const buf = WriteRequest.encode(WriteRequest.fromObject(obj)).finish();
      // Act
      const cols = decodeWriteRequest(buf, prev);
      // Assess
      assertColumns(cols, want, metadata);
      prev = cols;
    }
  });

  it('skips unknown fields of every wire type at every level', () => {
    const r = rng(12);
    for (let iter = 0; iter < 200; iter++) {
      const { obj, want, metadata } = randomRequest(r);
      // Decorate with fields our decoder does not know.
      const plus = obj as { timeseries: Record<string, unknown>[] } & Record<string, unknown>;
      plus.reservedSource = 'cortex';
      plus.extraFixed32 = 7;
      for (const ts of plus.timeseries) {
        ts.extraBytes = 'x';
        ts.extraVarint = i64(-5);
        for (const l of ts.labels as Record<string, unknown>[]) {
          l.extraVarint = 300;
          l.extraFixed64 = i64(12345678901);
          l.extraBytes = new Uint8Array([1, 2, 3]);
          l.extraFixed32 = 9;
        }
        for (const s of ts.samples as Record<string, unknown>[]) {
          s.extraVarint = i64(-123456789012);
          s.extraBytes = 'unknown';
          s.extraFixed32 = -1;
          s.extraFixed64 = 2.5;
        }
      }
      const buf = WriteRequestPlus.encode(WriteRequestPlus.fromObject(plus)).finish();
      assertColumns(decodeWriteRequest(buf), want, metadata);
    }
  });

  it('round-trips through our encoder and agrees with protobufjs decoding ours', () => {
    const r = rng(13);
    for (let iter = 0; iter < 300; iter++) {
      // Prepare
      const { want } = randomRequest(r);
      const series: WriteSeries[] = want.map((s) => ({ labels: s.labels, timestamps: s.timestamps, values: s.values }));
      // Act
      const buf = encodeWriteRequest(series);
      const ours = decodeWriteRequest(buf);
      const theirs = WriteRequest.toObject(WriteRequest.decode(buf), { defaults: true }) as {
        timeseries: { labels: { name: string; value: string }[]; samples: { value: number; timestamp: unknown }[] }[];
      };
      // Assess
      const noExtras = want.map((s) => ({ ...s, exemplars: 0, histograms: 0 }));
      assertColumns(ours, noExtras, 0);
      assert.equal(theirs.timeseries.length, want.length);
      theirs.timeseries.forEach((ts, i) => {
        assert.deepEqual(ts.labels, want[i]!.labels);
        assert.deepEqual(
          ts.samples.map((s) => num(s.timestamp)),
          want[i]!.timestamps,
        );
        assert.deepEqual(
          ts.samples.map((s) => bitsOf(s.value)),
          arrayBits(want[i]!.values),
        );
      });
    }
  });

  it('keeps the stale marker and -0.0 bit-exact end to end', () => {
    const values = new Float64Array(3);
    const u = new BigUint64Array(values.buffer);
    u[0] = STALE_NAN_BITS;
    u[1] = 0x8000000000000000n;
    u[2] = 0n;
    const buf = encodeWriteRequest([{ labels: [{ name: '__name__', value: 'up' }], timestamps: [1, 2, 3], values }]);
    const cols = decodeWriteRequest(buf);
    assert.deepEqual(arrayBits(cols.values, 0, 3), ['7ff0000000000002', '8000000000000000', '0000000000000000']);
  });

  it('writes the value field even for +0 and -0', () => {
    const buf = encodeWriteRequest([{ labels: [], timestamps: [0, 0], values: new Float64Array([0, -0]) }]);
    // series{ sample{ 09 <8 bytes> } x2 }: the timestamp 0 is omitted, the value is not.
    assert.equal(Buffer.from(buf).toString('hex'), '0a16' + '120909' + '00'.repeat(8) + '120909' + '0000000000000080');
  });

  it('gives absent label and sample fields their proto3 defaults', () => {
    // series{ label{} label{ name "a" } sample{} sample{ timestamp 5 } }
    const buf = Uint8Array.from([0x0a, 0x0d, 0x0a, 0x00, 0x0a, 0x03, 0x0a, 0x01, 0x61, 0x12, 0x00, 0x12, 0x02, 0x10, 0x05]);
    const cols = decodeWriteRequest(buf);
    assert.deepEqual(seriesOf(cols, 0), {
      labels: [
        { name: '', value: '' },
        { name: 'a', value: '' },
      ],
      timestamps: [0, 5],
      valueBits: ['0000000000000000', '0000000000000000'],
    });
  });

  it('keeps the last value of a field that appears twice (proto3 merge)', () => {
    // label{ name "a" name "b" value "x" }
    const buf = Uint8Array.from([0x0a, 0x0b, 0x0a, 0x09, 0x0a, 0x01, 0x61, 0x0a, 0x01, 0x62, 0x12, 0x01, 0x78]);
    assert.deepEqual(seriesOf(decodeWriteRequest(buf), 0).labels, [{ name: 'b', value: 'x' }]);
  });

  it('accepts non-minimal tag and length varints', () => {
    // series (tag 8a 00) { label (length 83 00) { name "a" } }
    const buf = Uint8Array.from([0x8a, 0x00, 0x06, 0x0a, 0x83, 0x00, 0x0a, 0x01, 0x61]);
    const cols = decodeWriteRequest(buf);
    assert.deepEqual(seriesOf(cols, 0).labels, [{ name: 'a', value: '' }]);
  });

  it('reports label byte spans that work as cache keys', () => {
    const labels = [
      { name: '__name__', value: 'up' },
      { name: 'job', value: 'node' },
    ];
    const values = new Float64Array([1]);
    const buf = encodeWriteRequest([
      { labels, timestamps: [1], values },
      { labels, timestamps: [2], values },
      { labels: [labels[0]!], timestamps: [3], values },
      { labels: [], timestamps: [4], values },
    ]);
    const c = decodeWriteRequest(buf);
    const span = (i: number) => Buffer.from(buf.subarray(c.labelsByteStart[i]!, c.labelsByteEnd[i]!)).toString('hex');
    const only = encodeWriteRequest([{ labels, timestamps: [], values: [] }]);
    assert.equal(span(0), Buffer.from(only.subarray(2)).toString('hex')); // skip the series tag and length
    assert.equal(span(0), span(1));
    assert.notEqual(span(0), span(2));
    assert.equal(span(3), '');
  });

  it('grows its columns past the initial estimates', () => {
    // Many tiny labels and many samples in one series beat the size-based guesses.
    const labels = Array.from({ length: 5000 }, () => ({ name: '', value: '' }));
    const n = 3000;
    const values = new Float64Array(n);
    const u = new BigUint64Array(values.buffer);
    for (let k = 0; k < n; k++) u[k] = k % 2 === 0 ? STALE_NAN_BITS : BigInt(k) << 40n;
    const timestamps = Array.from({ length: n }, (_, k) => k - 1000);
    const series: WriteSeries[] = [{ labels, timestamps, values }];
    for (let i = 0; i < 400; i++) series.push({ labels: [], timestamps: [i], values: new Float64Array([i]) });
    const c = decodeWriteRequest(encodeWriteRequest(series));
    assert.equal(c.numSeries, 401);
    assert.equal(c.numLabels, 5000);
    assert.equal(c.numSamples, n + 400);
    assert.deepEqual([...c.timestamps.subarray(0, n)], timestamps);
    assert.deepEqual(arrayBits(c.values, 0, n), arrayBits(values));
    assert.equal(c.sampleStart[401], n + 400);
  });

  it('recycles the arrays of a previous result passed as reuse', () => {
    const mk = (name: string, v: number) =>
      encodeWriteRequest([{ labels: [{ name, value: 'x' }], timestamps: [v], values: new Float64Array([v]) }]);
    const first = decodeWriteRequest(mk('a', 1));
    const second = decodeWriteRequest(mk('bb', 2), first);
    assert.equal(second.nameOff, first.nameOff);
    assert.equal(second.values, first.values);
    assert.deepEqual(seriesOf(second, 0), { labels: [{ name: 'bb', value: 'x' }], timestamps: [2], valueBits: [bitsOf(2)] });
    // An empty request on recycled arrays still has consistent starts.
    const third = decodeWriteRequest(new Uint8Array(0), decodeWriteRequest(mk('ccc', 3)));
    assert.equal(third.numSeries, 0);
    assert.equal(third.labelStart[0], 0);
    assert.equal(third.sampleStart[0], 0);
  });

  const bad: { name: string; bytes: number[]; msg: RegExp }[] = [
    {
      name: 'a truncated timestamp varint',
      bytes: [0x0a, 0x04, 0x12, 0x02, 0x10, 0x80],
      msg: /^protobuf: WriteRequest\.timeseries\[0\]\.samples\[0\]\.timestamp: truncated varint at byte 5$/,
    },
    {
      name: 'a timestamp beyond 2^53-1',
      bytes: [0x0a, 0x0b, 0x12, 0x09, 0x10, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10],
      msg: /^protobuf: WriteRequest\.timeseries\[0\]\.samples\[0\]\.timestamp: int64 at byte 5 is outside ±\(2\^53-1\)$/,
    },
    {
      name: 'a truncated sample value',
      bytes: [0x0a, 0x05, 0x12, 0x03, 0x09, 0x00, 0x00],
      msg: /^protobuf: WriteRequest\.timeseries\[0\]\.samples\[0\]: value: truncated double at byte 5$/,
    },
    {
      name: 'a label name with the wrong wire type',
      bytes: [0x0a, 0x04, 0x0a, 0x02, 0x08, 0x01],
      msg: /^protobuf: WriteRequest\.timeseries\[0\]\.labels\[0\]: name: wire type 0, want 2/,
    },
    {
      name: 'a label longer than its series',
      bytes: [0x0a, 0x03, 0x0a, 0x05, 0x0a],
      msg: /^protobuf: WriteRequest\.timeseries\[0\]: length 5 before byte 4 exceeds the 1 bytes left$/,
    },
    {
      name: 'a series longer than the body',
      bytes: [0x0a, 0x10, 0x0a],
      msg: /^protobuf: WriteRequest: length 16 before byte 2 exceeds the 1 bytes left$/,
    },
    {
      name: 'a group in a series',
      bytes: [0x0a, 0x02, 0x2b, 0x2c],
      msg: /^protobuf: WriteRequest\.timeseries\[0\]: group wire type 3/,
    },
    { name: 'field number 0', bytes: [0x00], msg: /^protobuf: WriteRequest: invalid field number 0 at byte 0$/ },
    { name: 'wire type 7', bytes: [0x0a, 0x01, 0x0f], msg: /^protobuf: WriteRequest\.timeseries\[0\]: invalid wire type 7 at byte 2$/ },
    { name: 'timeseries as a varint', bytes: [0x08, 0x01], msg: /^protobuf: WriteRequest: timeseries: wire type 0, want 2/ },
    {
      name: 'an error in the second series',
      bytes: [0x0a, 0x00, 0x0a, 0x06, 0x0a, 0x00, 0x0a, 0x02, 0x12, 0x80],
      msg: /^protobuf: WriteRequest\.timeseries\[1\]\.labels\[1\]: truncated varint at byte 9$/,
    },
  ];
  for (const c of bad) {
    it(`rejects ${c.name} with a message naming the field`, () => {
      throwsBad(() => decodeWriteRequest(Uint8Array.from(c.bytes)), c.msg);
    });
  }

  it('never fails with anything but BadInputError on 4000 mutated requests', () => {
    const r = rng(99);
    const seeds: Uint8Array[] = [];
    for (let i = 0; i < 40; i++) {
      const { obj } = randomRequest(r);
      seeds.push(WriteRequest.encode(WriteRequest.fromObject(obj)).finish());
    }
    let decoded = 0;
    let rejected = 0;
    for (let iter = 0; iter < 4000; iter++) {
      const buf = mutate(r, pick(r, seeds));
      let c: WriteRequestColumns;
      try {
        c = decodeWriteRequest(buf);
      } catch (e) {
        assert.ok(e instanceof BadInputError, `mutation ${iter}: ${String(e)}`);
        assert.match(e.message, /^protobuf: WriteRequest/);
        rejected++;
        continue;
      }
      decoded++;
      // Whatever decodes must be internally consistent.
      assert.equal(c.labelStart[c.numSeries], c.numLabels);
      assert.equal(c.sampleStart[c.numSeries], c.numSamples);
      for (let j = 0; j < c.numLabels; j++) {
        assert.ok(c.nameOff[j]! + c.nameLen[j]! <= buf.length && c.valueOff[j]! + c.valueLen[j]! <= buf.length);
      }
      for (let k = 0; k < c.numSamples; k++) assert.ok(Number.isSafeInteger(c.timestamps[k]));
    }
    assert.ok(decoded > 100 && rejected > 100, `decoded ${decoded}, rejected ${rejected}`);
  });
});
