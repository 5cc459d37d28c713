import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { ChunkIterator } from '../../../lib/chunkenc/index.ts';
import {
  ChunkFullError,
  CorruptChunkError,
  Encoding,
  InvalidSampleError,
  MAX_SAMPLES_PER_CHUNK,
  XORChunk,
} from '../../../lib/chunkenc/index.ts';
import { StratusError } from '../../../lib/util/errors.ts';
import { referenceEncode, type RefSample } from './reference.ts';
import { bitsOf, fromBits, STALE } from '../../helpers/bits.ts';

// Values travel as exact bit patterns (bigint) in these tests: V8 quiets
// signalling NaNs (such as the stale marker) stored in plain JS arrays, so
// a number[] of values would corrupt the very payloads under test.
const QUIET_NAN = 0x7ff8000000000001n;
const NEG_NAN_PAYLOAD = 0xfff00000deadbeefn;
const NEG_ZERO = 0x8000000000000000n;
const POS_INF = 0x7ff0000000000000n;
const NEG_INF = 0xfff0000000000000n;
const MAX_SAFE = 2 ** 53 - 1;

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = s;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

function encode(samples: readonly RefSample[]): XORChunk {
  const c = new XORChunk();
  const app = c.appender();
  for (const s of samples) app.append(Number(s.t), fromBits(s.v));
  return c;
}

function decode(it: ChunkIterator): RefSample[] {
  const out: RefSample[] = [];
  while (it.next()) out.push({ t: BigInt(it.atT()), v: bitsOf(it.atV()) });
  return out;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

function bitAt(b: Uint8Array, i: number): number {
  return (b[i >> 3]! >> (7 - (i & 7))) & 1;
}

function uvarintLen(u: bigint): number {
  let n = 1;
  while (u >= 0x80n) {
    u >>= 7n;
    n++;
  }
  return n;
}

/** Random samples mixing every value class and timestamp pattern. */
function randomSamples(seed: number, n: number): RefSample[] {
  const r = rng(seed);
  const out: RefSample[] = [];
  let t = BigInt(Math.floor((r() - 0.5) * 2 ** 51));
  let delta = BigInt(1 + Math.floor(r() * 60_000));
  let v = bitsOf(r() * 100);
  for (let i = 0; i < n; i++) {
    const kind = r();
    if (kind < 0.1) v = STALE;
    else if (kind < 0.15) v = 0x7ff0000000000000n | BigInt(1 + Math.floor(r() * 2 ** 40)); // signalling NaN payload
    else if (kind < 0.2) v = QUIET_NAN | BigInt(Math.floor(r() * 2 ** 30));
    else if (kind < 0.25) v = NEG_ZERO;
    else if (kind < 0.3) v = r() < 0.5 ? POS_INF : NEG_INF;
    else if (kind < 0.5) {
      // unchanged value
    } else if (kind < 0.7) v = bitsOf(Math.floor(r() * 1000));
    else if (kind < 0.75) v = BigInt(1 + Math.floor(r() * 2 ** 30)); // subnormal
    else v = bitsOf((r() - 0.5) * 10 ** Math.floor(r() * 30 - 10));
    const tk = r();
    if (tk < 0.3) {
      // regular interval
    } else if (tk < 0.6) delta += BigInt(Math.floor((r() - 0.5) * 100)); // jitter
    else if (tk < 0.8) delta = BigInt(1 + Math.floor(r() * 2 ** (1 + Math.floor(r() * 40)))); // any bucket
    else delta = BigInt(1 + Math.floor(r() * 1_000_000));
    if (delta < 1n) delta = 1n;
    if (i > 0) t += delta;
    out.push({ t, v });
  }
  return out;
}

describe('XORChunk', () => {
  it('is an empty XOR chunk when new', () => {
    const c = new XORChunk();
    assert.equal(c.encoding, Encoding.XOR);
    assert.equal(c.numSamples(), 0);
    assert.equal(hex(c.bytes()), '0000');
    const it = c.iterator();
    assert.equal(it.next(), false);
    assert.equal(it.err(), null);
  });

  it('round-trips seeded random samples bit-exactly and matches the reference encoder', () => {
    for (let seed = 1; seed <= 200; seed++) {
      // Prepare
      const samples = randomSamples(seed, 1 + (seed % 7) * 50);
      // Act
      const c = encode(samples);
      const got = decode(c.iterator());
      // Assess
      assert.equal(c.numSamples(), samples.length, `seed ${seed}`);
      assert.deepEqual(got, samples, `seed ${seed}: decoded samples`);
      assert.equal(hex(c.bytes()), hex(referenceEncode(samples)), `seed ${seed}: bytes`);
    }
  });

  it('keeps special values bit-exact: stale marker, NaN payloads, -0, ±Inf', () => {
    const values = [STALE, QUIET_NAN, NEG_NAN_PAYLOAD, NEG_ZERO, 0n, POS_INF, NEG_INF, STALE, STALE, NEG_ZERO, 1n];
    const samples = values.map((v, i) => ({ t: BigInt(1000 * i), v }));
    const got = decode(encode(samples).iterator());
    assert.deepEqual(got, samples);
    // The sign of zero survives as a number too, not only as bits.
    assert.ok(Object.is(fromBits(got[3]!.v), -0));
  });

  it('handles huge and negative timestamps', () => {
    const cases: { name: string; ts: number[] }[] = [
      { name: 'negative', ts: [-5000, -4000, -3000, -1, 0, 1] },
      { name: 'most negative safe', ts: [-MAX_SAFE, -MAX_SAFE + 1, -MAX_SAFE + 1000] },
      { name: 'largest safe', ts: [MAX_SAFE - 2000, MAX_SAFE - 1000, MAX_SAFE] },
      { name: 'crossing zero with big steps', ts: [-(2 ** 52), -1, 2 ** 52] },
      { name: 'year 2100 ms', ts: [4102444800000, 4102444815000, 4102444830000] },
    ];
    for (const { name, ts } of cases) {
      const samples = ts.map((t, i) => ({ t: BigInt(t), v: bitsOf(i) }));
      const c = encode(samples);
      assert.deepEqual(decode(c.iterator()), samples, name);
      assert.equal(hex(c.bytes()), hex(referenceEncode(samples)), name);
    }
  });

  it('spends 2 bits per sample on regular samples with constant values', () => {
    const samples = Array.from({ length: 121 }, (_, i) => ({ t: BigInt(1_700_000_000_000 + 15_000 * i), v: bitsOf(42) }));
    const c = encode(samples);
    assert.deepEqual(decode(c.iterator()), samples);
    // header + varint(t0) + 64-bit value + uvarint(15000) + '0' value bit, then '00' per sample
    const bits = 16 + 8 * uvarintLen(BigInt(1_700_000_000_000) * 2n) + 64 + 8 * uvarintLen(15_000n) + 1 + 2 * 119;
    assert.equal(c.bytes().length, Math.ceil(bits / 8));
  });
});

describe('XOR timestamp delta-of-delta buckets', () => {
  // Each bucket n holds [-(2^(n-1) - 1), 2^(n-1)]; both sides of each edge.
  const cases: { dod: number; prefix: string; width: number }[] = [
    { dod: 0, prefix: '0', width: 0 },
    { dod: 1, prefix: '10', width: 14 },
    { dod: -1, prefix: '10', width: 14 },
    { dod: 8192, prefix: '10', width: 14 },
    { dod: 8193, prefix: '110', width: 17 },
    { dod: -8191, prefix: '10', width: 14 },
    { dod: -8192, prefix: '110', width: 17 },
    { dod: 65536, prefix: '110', width: 17 },
    { dod: 65537, prefix: '1110', width: 20 },
    { dod: -65535, prefix: '110', width: 17 },
    { dod: -65536, prefix: '1110', width: 20 },
    { dod: 524288, prefix: '1110', width: 20 },
    { dod: 524289, prefix: '1111', width: 64 },
    { dod: -524287, prefix: '1110', width: 20 },
    { dod: -524288, prefix: '1111', width: 64 },
    { dod: 2 ** 40, prefix: '1111', width: 64 },
    { dod: -(2 ** 40), prefix: '1111', width: 64 },
  ];
  for (const { dod, prefix, width } of cases) {
    it(`writes dod ${dod} with prefix ${prefix} and ${width} bits`, () => {
      // Prepare: t0 = 0, first delta D, second delta D + dod (kept >= 1).
      const d = dod < 0 ? 1 - dod : 1000;
      const samples = [0, d, 2 * d + dod].map((t) => ({ t: BigInt(t), v: bitsOf(7) }));
      // Act
      const c = encode(samples);
      const b = c.bytes();
      // Assess: the dod field starts after header, varint(0), value, uvarint(D), value '0'.
      const start = 16 + 8 + 64 + 8 * uvarintLen(BigInt(d)) + 1;
      const gotPrefix = Array.from({ length: prefix.length }, (_, i) => bitAt(b, start + i)).join('');
      assert.equal(gotPrefix, prefix);
      assert.equal(b.length, Math.ceil((start + prefix.length + width + 1) / 8));
      if (width > 0) {
        let field = 0n;
        for (let i = 0; i < width; i++) field = (field << 1n) | BigInt(bitAt(b, start + prefix.length + i));
        assert.equal(field, BigInt.asUintN(width, BigInt(dod)), 'two’s-complement field');
      }
      assert.deepEqual(decode(c.iterator()), samples);
      assert.equal(hex(b), hex(referenceEncode(samples)));
    });
  }

  it('encodes the largest delta-of-deltas a safe timestamp allows, ±(2^53 - 2)', () => {
    const cases = [
      [-MAX_SAFE, -MAX_SAFE + 1, 1], // deltas 1 then 2^53 - 1
      [-MAX_SAFE, 0, 1], // deltas 2^53 - 1 then 1
    ];
    for (const ts of cases) {
      const samples = ts.map((t) => ({ t: BigInt(t), v: bitsOf(1) }));
      const c = encode(samples);
      assert.deepEqual(decode(c.iterator()), samples);
      assert.equal(hex(c.bytes()), hex(referenceEncode(samples)));
    }
  });

  it('decodes a foreign 64-bit dod of exactly 2^53 - 1', () => {
    const samples = [-MAX_SAFE, -MAX_SAFE + 1, 2].map((t) => ({ t: BigInt(t), v: bitsOf(1) }));
    assert.equal(samples[2]!.t - samples[1]!.t - (samples[1]!.t - samples[0]!.t), BigInt(MAX_SAFE));
    const it = XORChunk.fromBytes(referenceEncode(samples)).iterator();
    assert.deepEqual(decode(it), samples);
    assert.equal(it.err(), null);
  });

  it('reports a foreign dod beyond 2^53 - 1 as corruption, not a wrong timestamp', () => {
    for (const dod of [2n ** 53n, 2n ** 60n, -(2n ** 62n)]) {
      const t1 = 2n ** 62n;
      const samples = [0n, t1, 2n * t1 + dod].map((t) => ({ t, v: bitsOf(1) }));
      const it = XORChunk.fromBytes(referenceEncode(samples)).iterator();
      const got = decode(it);
      assert.ok(got.length < 3, `dod ${dod}`);
      assert.ok(it.err() instanceof CorruptChunkError, `dod ${dod}`);
    }
  });
});

describe('XORAppender', () => {
  it('continues a chunk from its bytes exactly as one appender would have written it', () => {
    const series: { name: string; samples: RefSample[] }[] = [
      { name: 'random', samples: randomSamples(99, 150) },
      {
        name: 'constant values first (no XOR window yet)',
        samples: Array.from({ length: 40 }, (_, i) => ({ t: BigInt(i * 1000), v: bitsOf(i < 10 ? 5 : i * 1.5) })),
      },
    ];
    for (const { name, samples } of series) {
      const oneShot = hex(encode(samples).bytes());
      for (const k of [1, 2, 3, 5, 10, 11, 77, samples.length - 1]) {
        // Prepare
        const part = encode(samples.slice(0, k)).bytes().slice();
        const before = hex(part);
        // Act
        const c = XORChunk.fromBytes(part);
        const app = c.appender();
        for (const s of samples.slice(k)) app.append(Number(s.t), fromBits(s.v));
        // Assess
        assert.equal(hex(c.bytes()), oneShot, `${name}, continued after ${k}`);
        assert.equal(hex(part), before, `${name}: the wrapped bytes are not modified`);
      }
    }
  });

  it('continues a Prometheus 2.x chunk that ends in a spare zero byte', () => {
    // A lone 64-bit first value is written as whole bytes on a byte
    // boundary, after which Prometheus 2.x leaves a spare 0x00 byte.
    const samples = randomSamples(21, 30);
    const spare = new Uint8Array([...encode(samples.slice(0, 1)).bytes(), 0]);
    assert.deepEqual(decode(XORChunk.fromBytes(spare).iterator()), samples.slice(0, 1));
    const c = XORChunk.fromBytes(spare);
    const app = c.appender();
    for (const s of samples.slice(1)) app.append(Number(s.t), fromBits(s.v));
    assert.equal(hex(c.bytes()), hex(encode(samples).bytes()));
  });

  it('decodes and continues chunks written by a continued Prometheus appender', () => {
    // Prometheus rebuilds leading/trailing as 0/0 (not "unset") when no
    // window was written yet, and then writes a '10' + 64-bit XOR.
    const samples = Array.from({ length: 30 }, (_, i) => ({ t: BigInt(i * 15_000), v: bitsOf(i < 5 ? 1 : i) }));
    const quirky = referenceEncode(samples, { prometheusContinueAt: 3 });
    assert.notEqual(hex(quirky), hex(referenceEncode(samples)), 'the quirk changes the bytes');
    assert.deepEqual(decode(XORChunk.fromBytes(quirky).iterator()), samples);
    // Continuing such a chunk carries on with Prometheus' 0/0 window.
    const head = referenceEncode(samples.slice(0, 20), { prometheusContinueAt: 3 });
    const c = XORChunk.fromBytes(head);
    const app = c.appender();
    for (const s of samples.slice(20)) app.append(Number(s.t), fromBits(s.v));
    assert.equal(hex(c.bytes()), hex(quirky));
  });

  it('rejects samples it cannot take, leaving the chunk unchanged', () => {
    const cases: { name: string; t: number; err: new (...a: never[]) => StratusError }[] = [
      { name: 'same timestamp', t: -1000, err: InvalidSampleError },
      { name: 'earlier timestamp', t: -1001, err: InvalidSampleError },
      { name: 'fractional ms', t: -999.5, err: InvalidSampleError },
      { name: 'NaN timestamp', t: NaN, err: InvalidSampleError },
      { name: 'beyond 2^53', t: 2 ** 53, err: InvalidSampleError },
      { name: 'delta over 2^53 - 1', t: MAX_SAFE, err: ChunkFullError },
    ];
    for (const { name, t, err } of cases) {
      const c = new XORChunk();
      const app = c.appender();
      app.append(-5000, 1);
      app.append(-1000, 2);
      const before = hex(c.bytes());
      assert.throws(() => app.append(t, 3), (e: unknown) => e instanceof err && e instanceof StratusError, name);
      assert.equal(hex(c.bytes()), before, `${name}: unchanged`);
      app.append(0, 4); // still usable
      assert.equal(c.numSamples(), 3, name);
    }
  });

  it(`holds at most ${MAX_SAMPLES_PER_CHUNK} samples`, () => {
    const c = new XORChunk();
    const app = c.appender();
    for (let i = 0; i < MAX_SAMPLES_PER_CHUNK; i++) app.append(i * 10, i & 3);
    assert.equal(c.numSamples(), 65535);
    const before = hex(c.bytes());
    assert.throws(() => app.append(MAX_SAMPLES_PER_CHUNK * 10, 0), ChunkFullError);
    assert.equal(hex(c.bytes()), before);
    const it = c.iterator();
    let n = 0;
    while (it.next()) assert.equal(it.atT(), 10 * n++);
    assert.equal(n, MAX_SAMPLES_PER_CHUNK);
    assert.equal(it.err(), null);
  });
});

describe('XORIterator', () => {
  const ts = [100, 200, 300, 450, 600];
  const chunk = encode(ts.map((t, i) => ({ t: BigInt(t), v: bitsOf(i) })));

  const seekCases: { name: string; steps: number[]; seek: number; ok: boolean; at?: number }[] = [
    { name: 'before the first sample', steps: [], seek: -1e12, ok: true, at: 100 },
    { name: 'exactly the first', steps: [], seek: 100, ok: true, at: 100 },
    { name: 'between samples', steps: [], seek: 301, ok: true, at: 450 },
    { name: 'exactly a later one', steps: [], seek: 450, ok: true, at: 450 },
    { name: 'the last', steps: [], seek: 600, ok: true, at: 600 },
    { name: 'past the end', steps: [], seek: 601, ok: false },
    { name: 'backwards stays put', steps: [1, 1, 1], seek: 150, ok: true, at: 300 },
    { name: 'current one qualifies', steps: [1, 1], seek: 200, ok: true, at: 200 },
    { name: 'forward after next', steps: [1], seek: 500, ok: true, at: 600 },
  ];
  for (const c of seekCases) {
    it(`seeks ${c.name}`, () => {
      const it = chunk.iterator();
      for (const _ of c.steps) assert.ok(it.next());
      assert.equal(it.seek(c.seek), c.ok);
      if (c.at !== undefined) {
        assert.equal(it.atT(), c.at);
        assert.equal(it.atV(), ts.indexOf(c.at));
      }
      assert.equal(it.err(), null);
    });
  }

  it('continues with next() after seek()', () => {
    const it = chunk.iterator();
    assert.ok(it.seek(250));
    assert.ok(it.next());
    assert.equal(it.atT(), 450);
  });

  it('is reusable across chunks and ignores foreign reuse objects', () => {
    const a = randomSamples(5, 50);
    const b = randomSamples(6, 70);
    const it1 = encode(a).iterator();
    it1.next();
    const it2 = encode(b).iterator(it1);
    assert.equal(it2, it1);
    assert.deepEqual(decode(it2), b);
    const foreign: ChunkIterator = { next: () => false, seek: () => false, atT: () => 0, atV: () => 0, err: () => null };
    assert.deepEqual(decode(encode(a).iterator(foreign)), a);
  });

  it('decodes the bytes as they were when the iterator was made', () => {
    const c = new XORChunk();
    const app = c.appender();
    app.append(1, 1);
    app.append(2, 2);
    const it = c.iterator();
    app.append(3, 3);
    app.append(4, 4);
    assert.deepEqual(decode(it).map((s) => s.t), [1n, 2n]);
  });

  it('reports every truncation with err() instead of throwing', () => {
    const samples = randomSamples(7, 60);
    const full = encode(samples).bytes().slice();
    for (let len = 0; len < full.length; len++) {
      const it = XORChunk.fromBytes(full.subarray(0, len)).iterator();
      let got: RefSample[] = [];
      assert.doesNotThrow(() => {
        got = decode(it);
      });
      assert.ok(it.err() instanceof CorruptChunkError, `len ${len}: ${String(it.err())}`);
      assert.ok(got.length < samples.length, `len ${len}`);
      assert.deepEqual(got, samples.slice(0, got.length), `len ${len}: decoded prefix`);
      assert.equal(it.seek(Infinity), false);
    }
  });

  it('reports a header that counts more samples than the data holds', () => {
    // (A few extra samples may decode from the zero padding bits, as in
    // Prometheus: '00' is a whole sample.)
    const samples = randomSamples(8, 10);
    const b = encode(samples).bytes().slice();
    b[1] = 200;
    const it = XORChunk.fromBytes(b).iterator();
    const got = decode(it);
    assert.ok(got.length >= 10 && got.length < 200);
    assert.deepEqual(got.slice(0, 10), samples);
    assert.ok(it.err() instanceof CorruptChunkError);
  });

  it('refuses to continue a chunk that does not decode', () => {
    const b = encode(randomSamples(9, 10)).bytes().slice(0, -3);
    assert.throws(() => XORChunk.fromBytes(b).appender(), CorruptChunkError);
  });

  it('terminates on random garbage without throwing', () => {
    const r = rng(1234);
    for (let i = 0; i < 2000; i++) {
      const b = new Uint8Array(Math.floor(r() * 64));
      for (let j = 0; j < b.length; j++) b[j] = Math.floor(r() * 256);
      const it = XORChunk.fromBytes(b).iterator();
      let n = 0;
      assert.doesNotThrow(() => {
        while (it.next()) n++;
      });
      assert.ok(n <= XORChunk.fromBytes(b).numSamples());
      if (b.length < 2) assert.ok(it.err() instanceof CorruptChunkError);
    }
  });
});
