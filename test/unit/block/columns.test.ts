/**
 * The block page column encoding (lib/block/columns.ts): every series must
 * come back bit for bit (NaN payloads, the stale marker, -0.0, extreme
 * timestamps), and damaged bytes must surface as CorruptionError, never as
 * another exception or silently wrong sample counts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ColumnBuffer, RunLength, decodeColumns, encodeColumns } from '../../../lib/block/columns.ts';
import { ByteWriter } from '../../../lib/util/bytes.ts';
import { CorruptionError } from '../../../lib/util/errors.ts';
import { STALE } from '../../helpers/bits.ts';
import { prng } from '../../helpers/prng.ts';

const MaxT = Number.MAX_SAFE_INTEGER;

interface Case {
  name: string;
  t: Float64Array;
  vs: Float64Array[];
  /** Upper bound on the encoded size, when the case is about compactness. */
  maxBytes?: number;
  /** Lower bound (raw values must not be squeezed into a lossy mode). */
  minBytes?: number;
}

function f64(xs: readonly number[]): Float64Array {
  return Float64Array.from(xs);
}

/** A Float64Array filled from 64-bit patterns (keeps signalling NaNs intact). */
function fromPatterns(bits: readonly bigint[]): Float64Array {
  const out = new Float64Array(bits.length);
  const dv = new DataView(out.buffer);
  bits.forEach((b, i) => dv.setBigUint64(i * 8, b, true));
  return out;
}

function regular(n: number, start: number, step: number): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => start + i * step);
}

function encode(t: Float64Array, vs: readonly Float64Array[]): Uint8Array {
  const w = new ByteWriter(64);
  encodeColumns(w, t, vs, t.length);
  return w.finish().slice();
}

function bytesOf(a: Float64Array, n = a.length): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, n * 8);
}

/** Decodes `buf` and asserts the columns equal `t`, `vs` byte for byte. */
function assertRoundTrip(buf: Uint8Array, t: Float64Array, vs: readonly Float64Array[], msg: string): void {
  const out = new ColumnBuffer(vs.length, 4);
  out.n = 0;
  const n = decodeColumns(buf, 0, buf.length, out, msg);
  assert.equal(n, t.length, `${msg}: count`);
  assert.equal(out.n, t.length, `${msg}: buffer count`);
  assert.deepEqual(bytesOf(out.t, n), bytesOf(t), `${msg}: timestamps`);
  for (let c = 0; c < vs.length; c++) assert.deepEqual(bytesOf(out.vs[c]!, n), bytesOf(vs[c]!), `${msg}: column ${c}`);
}

const stale = fromPatterns([STALE])[0]!;

function tricky(): Case[] {
  const n = 250;
  const mixed = new Float64Array(n);
  // 0..119 decimal (hundredths), 120..239 raw (contain NaN payloads), 240.. constant.
  for (let i = 0; i < 120; i++) mixed[i] = (1000 + i * 37) / 100;
  const nan = fromPatterns([0x7ff8_0000_0000_beefn, STALE, 0xfff0_0000_0000_0001n]);
  for (let i = 120; i < 240; i++) mixed[i] = i % 3 === 0 ? nan[i % 3]! : i % 3 === 1 ? nan[1]! : Math.PI * i;
  for (let i = 240; i < n; i++) mixed[i] = 7;
  return [
    { name: 'single sample', t: f64([1_700_000_000_000]), vs: [f64([42.5])] },
    { name: 'single stale marker at t=0', t: f64([0]), vs: [fromPatterns([STALE])] },
    { name: 'constant run of 1000', t: regular(1000, 1_700_000_000_000, 15_000), vs: [new Float64Array(1000).fill(3.25)], maxBytes: 1000 * 2 + 9 * 10 + 16 },
    { name: 'integer counter', t: regular(500, 0, 60_000), vs: [Float64Array.from({ length: 500 }, (_, i) => 1e9 + i * 17 + (i % 7))], maxBytes: 500 * 4 },
    { name: 'hundredths (node_exporter cpu seconds)', t: regular(300, -86_400_000, 15_000), vs: [Float64Array.from({ length: 300 }, (_, i) => (123_456 + i * 1513) / 100)], maxBytes: 300 * 4 },
    { name: 'values needing e=15', t: regular(200, 5, 1), vs: [Float64Array.from({ length: 200 }, (_, i) => (123_456_789_012_345 + i * 7) / 1e15)], maxBytes: 200 * 3 },
    { name: 'mixed runs across the 120 boundary', t: regular(n, 1000, 10), vs: [mixed] },
    {
      name: 'NaN payloads, stale, -0.0, ±Inf, MAX_VALUE, denormals',
      t: regular(12, -5, 1),
      vs: [
        fromPatterns([
          STALE,
          0x7ff8_0000_0000_0000n, // the usual quiet NaN
          0x7ff0_0000_0000_0001n, // a signalling NaN
          0xfff8_dead_beef_0000n, // negative-signed payload NaN
          0x8000_0000_0000_0000n, // -0.0
          0x0000_0000_0000_0000n,
          0x7ff0_0000_0000_0000n, // +Inf
          0xfff0_0000_0000_0000n, // -Inf
          0x7fef_ffff_ffff_ffffn, // MAX_VALUE
          0x0000_0000_0000_0001n, // smallest denormal
          0x800f_ffff_ffff_ffffn, // largest negative denormal
          0x3ff0_0000_0000_0000n, // 1
        ]),
      ],
      minBytes: 12 * 8,
    },
    { name: '-0.0 run next to +0.0 (not constant, not decimal)', t: regular(3, 0, 1), vs: [fromPatterns([0n, 0x8000_0000_0000_0000n, 0n])], minBytes: 3 * 8 },
    { name: 'constant -0.0 run', t: regular(130, 0, 1), vs: [new Float64Array(130).fill(-0)] },
    { name: 'constant stale run', t: regular(130, 0, 1), vs: [new Float64Array(130).fill(stale)] },
    { name: 'negative timestamps', t: f64([-1_000_000_007, -999_999_000, -5, -1]), vs: [f64([1, 2, 3, 4])] },
    { name: 'timestamps at ±(2^53-1)', t: f64([-MaxT, -MaxT + 1, MaxT - 1, MaxT]), vs: [f64([1, 2, 3, 4])] },
    { name: 'one sample at 2^53-1', t: f64([MaxT]), vs: [f64([-1])] },
    { name: 'one sample at -(2^53-1)', t: f64([-MaxT]), vs: [f64([-1])] },
    { name: 'huge gap (raw timestamp mode)', t: f64([0, 1, 2 ** 51 + 3, 2 ** 52 + 7]), vs: [f64([1, 2, 3, 4])] },
    { name: 'first delta just above 2^50', t: f64([0, 2 ** 50 + 1, 2 ** 50 + 2]), vs: [f64([1, 2, 3])] },
    { name: 'first delta exactly 2^50, dod -2^50', t: f64([-(2 ** 50), 0, 1]), vs: [f64([1, 2, 3])] },
    { name: 'growing deltas up to 5*2^50', t: f64([0, 2 ** 50, 3 * 2 ** 50, 6 * 2 ** 50, 7 * 2 ** 50]), vs: [f64([1, 2, 3, 4, 5])] },
    {
      name: 'five aggregate columns',
      t: regular(130, 0, 300_000),
      vs: [
        new Float64Array(130).fill(20),
        Float64Array.from({ length: 130 }, (_, i) => i * 0.5),
        Float64Array.from({ length: 130 }, (_, i) => -i),
        fromPatterns(Array.from({ length: 130 }, (_, i) => (i % 2 === 0 ? STALE : 0x4000_0000_0000_0000n))),
        Float64Array.from({ length: 130 }, (_, i) => i * 1e6),
      ],
    },
  ];
}

describe('block columns', () => {
  for (const c of tricky()) {
    it(`round-trips bit for bit: ${c.name}`, () => {
      // Prepare + Act
      const buf = encode(c.t, c.vs);
      // Assess
      assertRoundTrip(buf, c.t, c.vs, c.name);
      if (c.maxBytes !== undefined) assert.ok(buf.length <= c.maxBytes, `${c.name}: ${buf.length} bytes > ${c.maxBytes}`);
      if (c.minBytes !== undefined) assert.ok(buf.length >= c.minBytes, `${c.name}: ${buf.length} bytes < ${c.minBytes}`);
    });
  }

  it('appends after samples already in the buffer and decodes back to back', () => {
    // Prepare: two series encoded one after the other, as in a page.
    const a = tricky()[6]!;
    const b = tricky()[7]!;
    const w = new ByteWriter(16);
    encodeColumns(w, a.t, a.vs, a.t.length);
    const mid = w.len;
    encodeColumns(w, b.t, b.vs, b.t.length);
    const buf = w.finish();
    // Act
    const out = new ColumnBuffer(1, 1);
    const n1 = decodeColumns(buf, 0, mid, out, 'a');
    const n2 = decodeColumns(buf, mid, buf.length, out, 'b');
    // Assess
    assert.equal(n1 + n2, out.n);
    assert.deepEqual(bytesOf(out.t, out.n), new Uint8Array([...bytesOf(a.t), ...bytesOf(b.t)]));
    assert.deepEqual(bytesOf(out.v, out.n), new Uint8Array([...bytesOf(a.vs[0]!), ...bytesOf(b.vs[0]!)]));
  });

  it('rejects an empty series on encode', () => {
    assert.throws(() => encodeColumns(new ByteWriter(), new Float64Array(0), [new Float64Array(0)], 0), RangeError);
  });

  for (const c of tricky()) {
    it(`detects every truncation: ${c.name}`, () => {
      // Prepare
      const buf = encode(c.t, c.vs);
      for (let cut = 0; cut < buf.length; cut++) {
        // Act + Assess: a proper prefix never decodes.
        const out = new ColumnBuffer(c.vs.length, 4);
        assert.throws(() => decodeColumns(buf, 0, cut, out, 'x'), CorruptionError, `${c.name}: cut at ${cut}`);
      }
      // Trailing garbage is detected too.
      const longer = new Uint8Array(buf.length + 1);
      longer.set(buf);
      assert.throws(() => decodeColumns(longer, 0, longer.length, new ColumnBuffer(c.vs.length), 'x'), CorruptionError);
    });
  }

  it('rejects unknown modes, zero counts and decreasing timestamps', () => {
    const good = encode(f64([10, 20, 30]), [f64([1, 2, 3.5])]);
    const cases: { name: string; mutate: (b: Uint8Array) => void }[] = [
      { name: 'zero samples', mutate: (b) => (b[0] = 0) },
      { name: 'timestamp mode 2', mutate: (b) => (b[1] = 2) },
      { name: 'value mode 17', mutate: (b) => (b[b.length - 4] = 17) },
      { name: 'value mode 200', mutate: (b) => (b[b.length - 4] = 200) },
      { name: 'negative first delta (decreasing timestamps)', mutate: (b) => (b[10] = 0x13) },
      { name: 'zero first delta (equal timestamps)', mutate: (b) => (b[10] = 0) },
    ];
    // The layout of `good`: n=3, tmode 0, t0 <8>, dod(10)=0x14, dod(0)=0x00, vmode 2, 10, 10, 15.
    assert.deepEqual([...good.subarray(0, 2)], [3, 0]);
    assert.deepEqual([...good.subarray(10)], [0x14, 0x00, 2, 0x14, 0x14, 0x1e]);
    for (const c of cases) {
      const b = good.slice();
      c.mutate(b);
      assert.throws(() => decodeColumns(b, 0, b.length, new ColumnBuffer(1), 'x'), CorruptionError, c.name);
    }
  });

  it('property: 300 random series round-trip; damage gives CorruptionError or a well-formed decode', () => {
    const r = prng(20240607);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
    for (let iter = 0; iter < 300; iter++) {
      // Prepare: a random series.
      const n = 1 + Math.floor(r() ** 2 * 400);
      const t = new Float64Array(n);
      const tKind = pick(['regular', 'jitter', 'gaps', 'huge', 'negative'] as const);
      let cur = tKind === 'negative' ? -1e12 - Math.floor(r() * 1e9) : tKind === 'huge' ? -MaxT + Math.floor(r() * 1000) : Math.floor(r() * 2e12);
      for (let i = 0; i < n; i++) {
        t[i] = cur;
        const step =
          tKind === 'regular' ? 15_000 : tKind === 'jitter' ? 14_990 + Math.floor(r() * 20) : tKind === 'gaps' ? 1 + Math.floor(r() ** 4 * 1e9) : tKind === 'huge' ? 1 + Math.floor(r() * (2 * MaxT - 1000) / (n + 1)) : 1 + Math.floor(r() * 100);
        cur += step;
      }
      const columns = r() < 0.2 ? 5 : 1;
      const vs = Array.from({ length: columns }, () => {
        const v = new Float64Array(n);
        const vKind = pick(['const', 'counter', 'hundredths', 'decimal', 'bits', 'mix'] as const);
        let acc = Math.floor(r() * 1e6);
        for (let i = 0; i < n; i++) {
          switch (vKind === 'mix' ? pick(['const', 'counter', 'bits', 'special'] as const) : vKind) {
            case 'const':
              v[i] = 5;
              break;
            case 'counter':
              acc += Math.floor(r() * 1000);
              v[i] = acc;
              break;
            case 'hundredths':
              acc += Math.floor(r() * 1000);
              v[i] = acc / 100;
              break;
            case 'decimal':
              v[i] = Math.round(r() * 1e9) / 10 ** Math.floor(r() * 16);
              break;
            case 'bits': {
              // Any 64-bit pattern, written as bytes so that signalling NaNs survive.
              const u8 = new Uint8Array(v.buffer, v.byteOffset + i * 8, 8);
              for (let k = 0; k < 8; k++) u8[k] = Math.floor(r() * 256);
              break;
            }
            default:
              v[i] = pick([stale, -0, Infinity, -Infinity, NaN, Number.MIN_VALUE, -Number.MAX_VALUE]);
              break;
          }
        }
        return v;
      });
      // Act
      const buf = encode(t, vs);
      // Assess: exact round trip.
      assertRoundTrip(buf, t, vs, `series ${iter} (${tKind}, n=${n})`);
      // A random truncation is always detected.
      const cut = Math.floor(r() * buf.length);
      assert.throws(() => decodeColumns(buf, 0, cut, new ColumnBuffer(columns), 'x'), CorruptionError);
      // A random byte change: CorruptionError, or a decode that is well formed.
      const bad = buf.slice();
      const at = Math.floor(r() * bad.length);
      bad[at] = bad[at]! ^ (1 + Math.floor(r() * 255));
      const out = new ColumnBuffer(columns, 4);
      try {
        const got = decodeColumns(bad, 0, bad.length, out, 'x');
        assert.equal(out.n, got);
        for (let i = 1; i < got; i++) assert.ok(out.t[i]! > out.t[i - 1]!, 'timestamps strictly increase');
      } catch (e) {
        assert.ok(e instanceof CorruptionError, `series ${iter}: byte ${at} changed: ${String(e)}`);
      }
    }
  });

  it('RunLength is the 120 samples Prometheus cuts chunks at', () => {
    assert.equal(RunLength, 120);
  });
});
