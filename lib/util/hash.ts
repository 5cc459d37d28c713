/**
 * A fast non-cryptographic hash of a byte range, to a 53-bit integer (safe
 * as a Map key). Two 32-bit lanes in the style of MurmurHash mix four bytes
 * per step. Use it only where every hit is verified against the bytes:
 * collisions are rare, not impossible.
 */
export function hashBytes(dv: DataView, buf: Uint8Array, start: number, end: number): number {
  const len = end - start;
  let h1 = 0x9747b28c;
  let h2 = 0x85ebca6b;
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const k = dv.getUint32(i, true);
    h1 = Math.imul(h1 ^ k, 0x5bd1e995);
    h1 ^= h1 >>> 15;
    h2 = Math.imul(h2 + k, 0xcc9e2d51);
    h2 = (h2 << 13) | (h2 >>> 19);
  }
  let tail = 0;
  for (let s = 0; i < end; i++, s += 8) tail |= buf[i]! << s;
  h1 = Math.imul(h1 ^ tail, 0x5bd1e995) ^ len;
  h2 = Math.imul(h2 + tail, 0xcc9e2d51) ^ Math.imul(len, 0x27d4eb2d);
  h1 = fmix(h1 ^ h2);
  h2 = fmix(h2 + h1);
  return (h1 >>> 0) * 2097152 + (h2 >>> 11);
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
