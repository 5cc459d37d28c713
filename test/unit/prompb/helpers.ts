/**
 * Shared test helpers for the prompb codecs: a seeded PRNG, random message
 * generators, bit-level double helpers and the protobufjs oracle (loaded
 * from test/testdata/prompb/*.proto).
 */
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

/** mulberry32: a small deterministic PRNG; returns floats in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random integer in [0, n). */
export function int(r: () => number, n: number): number {
  return Math.floor(r() * n);
}

/** A random element of `xs`. */
export function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[int(r, xs.length)]!;
}

const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);

/** The double with the given IEEE-754 bits. */
export function fromBits(bits: bigint): number {
  u64[0] = bits;
  return f64[0]!;
}

/** The IEEE-754 bits of `v`, as hex (for readable assertion messages). */
export function bitsOf(v: number): string {
  f64[0] = v;
  return u64[0]!.toString(16).padStart(16, '0');
}

/** Bits of each element of a Float64Array, read from its bytes (never via a JS number). */
export function arrayBits(a: Float64Array, from = 0, to = a.length): string[] {
  const u = new BigUint64Array(a.buffer, a.byteOffset, a.length);
  const out: string[] = [];
  for (let i = from; i < to; i++) out.push(u[i]!.toString(16).padStart(16, '0'));
  return out;
}

/** Prometheus' stale marker, a signalling NaN. */
export const STALE_NAN_BITS = 0x7ff0000000000002n;

/** Interesting value bit patterns: NaN payloads, signed zeros, infinities, denormals. */
export const SPECIAL_VALUE_BITS: readonly bigint[] = [
  STALE_NAN_BITS,
  0x7ff8000000000001n, // quiet NaN with payload
  0xfff8000000000000n, // negative quiet NaN
  0x7ff0000000000001n, // smallest signalling NaN
  0x8000000000000000n, // -0.0
  0x0000000000000000n, // +0.0
  0x7ff0000000000000n, // +Inf
  0xfff0000000000000n, // -Inf
  0x0000000000000001n, // smallest denormal
  0x7fefffffffffffffn, // largest finite
];

/** Interesting timestamps, including both ends of the safe range. */
export const SPECIAL_TIMESTAMPS: readonly number[] = [
  0,
  1,
  -1,
  127,
  128,
  -128,
  2 ** 28 - 1,
  2 ** 28,
  2 ** 31,
  -(2 ** 31),
  2 ** 32,
  -(2 ** 32),
  2 ** 35 - 1,
  1_700_000_000_000,
  -1_700_000_000_000,
  Number.MAX_SAFE_INTEGER,
  -Number.MAX_SAFE_INTEGER,
];

/** A random timestamp: special values or random integers across the safe range. */
export function randomTimestamp(r: () => number): number {
  switch (int(r, 4)) {
    case 0:
      return pick(r, SPECIAL_TIMESTAMPS);
    case 1:
      return 1_600_000_000_000 + int(r, 200_000_000_000);
    case 2:
      return (r() < 0.5 ? -1 : 1) * Math.floor(r() * Number.MAX_SAFE_INTEGER);
    default:
      return int(r, 1 << 20) - (1 << 19);
  }
}

/** Fills `out[i]` with a random value: special bit patterns or random doubles. */
export function randomValueInto(r: () => number, out: Float64Array, i: number): void {
  const u = new BigUint64Array(out.buffer, out.byteOffset, out.length);
  switch (int(r, 3)) {
    case 0:
      u[i] = pick(r, SPECIAL_VALUE_BITS);
      return;
    case 1:
      u[i] = (BigInt(int(r, 2 ** 32)) << 32n) | BigInt(int(r, 2 ** 32)); // any bits at all
      return;
    default:
      out[i] = (r() - 0.5) * 10 ** int(r, 12);
  }
}

const STRING_POOL = [
  '',
  '__name__',
  'job',
  'node',
  'instance',
  'localhost:9100',
  'le',
  '+Inf',
  'ünïcödé',
  '日本語',
  'emoji 🚀',
  'a'.repeat(130), // needs a two-byte length
  'x'.repeat(70),
];

/** A random string: pooled interesting ones or random code points (valid UTF-16). */
export function randomString(r: () => number): string {
  if (r() < 0.6) return pick(r, STRING_POOL);
  const n = int(r, 20);
  let s = '';
  for (let i = 0; i < n; i++) {
    const k = int(r, 10);
    if (k < 6) s += String.fromCharCode(32 + int(r, 95));
    else if (k < 8) s += String.fromCharCode(0xa0 + int(r, 0x700));
    else if (k < 9) s += String.fromCharCode(0x3000 + int(r, 0x5000));
    else s += String.fromCodePoint(0x10000 + int(r, 0xfff0));
  }
  return s;
}

/** Loads the protobufjs oracle types. */
export function oracle(): protobuf.Root {
  return protobuf.loadSync(fileURLToPath(new URL('../../testdata/prompb/remote.proto', import.meta.url)));
}

/** protobufjs decodes int64 to Long (or number); this turns either into a number. */
export function num(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v !== null && typeof v === 'object' && 'toNumber' in v) return (v as { toNumber(): number }).toNumber();
  if (typeof v === 'string') return Number(v);
  return 0;
}

/** An int64 for protobufjs: numbers beyond 2^31 as decimal strings, which it parses exactly. */
export function i64(v: number): number | string {
  return Number.isSafeInteger(v) && Math.abs(v) < 2 ** 31 ? v : String(v);
}

/** A random corruption of `src`: flipped bits, overwritten, dropped or inserted bytes, truncation. */
export function mutate(r: () => number, src: Uint8Array): Uint8Array {
  let b = Uint8Array.from(src);
  const edits = 1 + int(r, 3);
  for (let e = 0; e < edits; e++) {
    const at = b.length === 0 ? 0 : int(r, b.length);
    switch (int(r, 6)) {
      case 0:
        if (b.length > 0) b[at]! ^= 1 << int(r, 8);
        break;
      case 1:
        if (b.length > 0) b[at] = pick(r, [0x00, 0x7f, 0x80, 0xff, 0x0a, 0x12, 0x0b, 0x0f, int(r, 256)]);
        break;
      case 2:
        b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + 1 + int(r, 4))]);
        break;
      case 3:
        b = Uint8Array.from([...b.subarray(0, at), ...Array.from({ length: 1 + int(r, 4) }, () => int(r, 256)), ...b.subarray(at)]);
        break;
      case 4:
        b = b.subarray(0, at);
        break;
      default:
        // Duplicate a span, which keeps the structure plausible.
        b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(at, at + int(r, 20)), ...b.subarray(at)]);
    }
  }
  return b;
}
