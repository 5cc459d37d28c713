import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { XORChunk } from '../../../lib/chunkenc/xor.ts';
import { XorColumnEncoder } from '../../../lib/chunkenc/xor-columns.ts';
import { ChunkFullError, InvalidSampleError } from '../../../lib/chunkenc/errors.ts';
import { STALE } from '../../helpers/bits.ts';
import { prng } from '../../helpers/prng.ts';

/** The reference: XORAppender over the same samples, cut the same way. */
function reference(t: Float64Array, v: Float64Array, from: number, to: number, maxSamples: number, maxSpan: number): { bytes: string; minT: number; maxT: number }[] {
  const out: { bytes: string; minT: number; maxT: number }[] = [];
  let i = from;
  while (i < to) {
    const c = new XORChunk();
    const app = c.appender();
    const first = i;
    for (let k = 0; k < maxSamples && i < to && t[i]! - t[first]! <= maxSpan; k++, i++) app.append(t[i]!, v[i]!);
    out.push({ bytes: Buffer.from(c.bytes()).toString('hex'), minT: t[first]!, maxT: t[i - 1]! });
  }
  return out;
}

function encoded(enc: XorColumnEncoder, first = 0): { bytes: string; minT: number; maxT: number }[] {
  const out: { bytes: string; minT: number; maxT: number }[] = [];
  for (let k = first; k < enc.count; k++) out.push({ bytes: Buffer.from(enc.bytes(k)).toString('hex'), minT: enc.minT[k]!, maxT: enc.maxT[k]! });
  return out;
}

const special = [STALE, 0x7ff8_0000_dead_beefn, 0xfff0_0000_0000_0001n, 0x8000_0000_0000_0000n, 0x7ff0_0000_0000_0000n, 0xfff0_0000_0000_0000n, 0n, 1n];

/** Random columns of `n` samples in the shape `kind` asks for. */
function columns(rnd: () => number, n: number, kind: string): { t: Float64Array; v: Float64Array } {
  const t = new Float64Array(n);
  const v = new Float64Array(n);
  const vb = new BigUint64Array(v.buffer);
  let ts = kind === 'negative-time' ? -1_000_000_000 - Math.floor(rnd() * 1e9) : 1_704_067_200_000 + Math.floor(rnd() * 1e6);
  if (kind === 'huge-time') ts = 2 ** 52 + Math.floor(rnd() * 1e6);
  let x = rnd() * 1000;
  for (let i = 0; i < n; i++) {
    t[i] = ts;
    // Time steps: regular scrapes with jitter, with gaps of every bucket size now and then.
    const r = rnd();
    const step = r < 0.7 ? 15_000 : r < 0.8 ? 15_000 + Math.floor(rnd() * 16_000) - 8000 : r < 0.9 ? Math.floor(rnd() * 1_000_000) + 1 : r < 0.97 ? Math.floor(rnd() * 2 ** 33) + 1 : 1;
    ts += step;
    const s = rnd();
    if (kind === 'const') x = 42;
    else if (s < 0.3) x = x; // repeat
    else if (s < 0.6) x += Math.round(rnd() * 100);
    else if (s < 0.8) x = rnd() * 2 ** Math.floor(rnd() * 100 - 50);
    else if (s < 0.9) x = -x;
    v[i] = x;
    if (s >= 0.9) vb[i] = special[Math.floor(rnd() * special.length)]!;
  }
  return { t, v };
}

describe('XorColumnEncoder', () => {
  const kinds = ['mixed', 'const', 'negative-time', 'huge-time'];
  for (const kind of kinds) {
    it(`writes XORAppender's bytes, chunk for chunk (${kind}, randomized)`, () => {
      // Prepare
      const rnd = prng(kind.length * 7919);
      const enc = new XorColumnEncoder(16, 1); // tiny: growth is exercised too
      for (let round = 0; round < 200; round++) {
        const n = 1 + Math.floor(rnd() * 400);
        const { t, v } = columns(rnd, n, kind);
        const from = Math.floor(rnd() * Math.min(n, 5));
        const to = n - Math.floor(rnd() * Math.min(n - from, 5));
        const maxSamples = rnd() < 0.5 ? 120 : 1 + Math.floor(rnd() * 200);
        const maxSpan = rnd() < 0.7 ? 2 ** 51 : Math.floor(rnd() * 3_000_000);
        const before = enc.count;
        // Act
        enc.encode(t, v, from, to, maxSamples, maxSpan);
        // Assess
        assert.deepEqual(encoded(enc, before), reference(t, v, from, to, maxSamples, maxSpan), `round ${round}`);
        if (rnd() < 0.3) enc.reset();
      }
    });
  }

  it('keeps earlier chunks valid when the buffer grows, and copies raw chunks as they are', () => {
    // Prepare
    const rnd = prng(3);
    const { t, v } = columns(rnd, 1000, 'mixed');
    const enc = new XorColumnEncoder(8, 1);
    // Act
    enc.encode(t, v, 0, 10, 120, 2 ** 51);
    const early = enc.bytes(0);
    const earlyHex = Buffer.from(early).toString('hex');
    enc.appendRaw(new Uint8Array([0, 1, 2, 3]), 5, 6);
    enc.encode(t, v, 10, 1000, 120, 2 ** 51);
    // Assess
    assert.equal(Buffer.from(early).toString('hex'), earlyHex, 'a view taken before growth still holds its chunk');
    assert.deepEqual([...enc.bytes(1)], [0, 1, 2, 3]);
    assert.deepEqual([enc.minT[1], enc.maxT[1]], [5, 6]);
    assert.deepEqual(encoded(enc, 2), reference(t, v, 10, 1000, 120, 2 ** 51));
  });

  const bad: { name: string; t: number[]; err: new (...a: never[]) => Error; msg: RegExp }[] = [
    { name: 'a repeated timestamp', t: [1, 2, 2], err: InvalidSampleError, msg: /not after the previous one/ },
    { name: 'a decreasing timestamp', t: [5, 3], err: InvalidSampleError, msg: /not after the previous one/ },
    { name: 'a fractional timestamp', t: [1, 2.5], err: InvalidSampleError, msg: /not a safe integer/ },
    { name: 'a first timestamp beyond 2^53', t: [2 ** 54], err: InvalidSampleError, msg: /not a safe integer/ },
    { name: 'a delta beyond 2^53', t: [-(2 ** 53 - 1), 2 ** 53 - 1], err: ChunkFullError, msg: /timestamp delta/ },
  ];
  for (const b of bad) {
    it(`rejects ${b.name} as XORAppender does`, () => {
      // Prepare
      const t = Float64Array.from(b.t);
      const v = new Float64Array(t.length);
      // Act + Assess
      assert.throws(() => new XorColumnEncoder().encode(t, v, 0, t.length, 120, 2 ** 60), (e: Error) => e instanceof b.err && b.msg.test(e.message));
      assert.throws(() => {
        const app = new XORChunk().appender();
        for (const x of b.t) app.append(x, 0);
      }, (e: Error) => e instanceof b.err);
    });
  }

  it('keeps a stale marker and -0.0 bit for bit', () => {
    // Prepare
    const t = Float64Array.from([1000, 2000, 3000]);
    const v = new Float64Array(3);
    new BigUint64Array(v.buffer).set([STALE, 0x8000_0000_0000_0000n, STALE]);
    const enc = new XorColumnEncoder();
    // Act
    enc.encode(t, v, 0, 3, 120, 2 ** 51);
    const it = XORChunk.fromBytes(enc.bytes(0)).iterator();
    // Assess
    const back = new Float64Array(3);
    for (let i = 0; it.next(); i++) back[i] = it.atV();
    assert.deepEqual([...new BigUint64Array(back.buffer)], [STALE, 0x8000_0000_0000_0000n, STALE]);
  });
});
