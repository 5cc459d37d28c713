/**
 * Unsigned LEB128 varints ("uvarint", as in Go's encoding/binary and
 * protobuf) for non-negative safe integers, 0 ..= 2^53-1.
 *
 * Values below 2^28 take a bit-operation fast path; larger ones fall back to
 * float division, which stays exact up to 2^53. Decoding returns the value
 * and reports the position after the varint through an optional
 * {@link VarintPos} out-object, so the hot path allocates nothing:
 *
 * ```ts
 * const at: VarintPos = { pos: 0 };
 * const len = readUvarint(buf, 0, at); // at.pos is now just past the varint
 * ```
 */
import { BadInputError } from './errors.ts';

/** Largest value these functions accept or return (2^53-1). */
export const MAX_UVARINT = Number.MAX_SAFE_INTEGER;

/** The most bytes a uvarint of a value up to 2^53-1 takes. */
export const MAX_UVARINT_BYTES = 8;

/** Out-parameter of {@link readUvarint}: receives the position after the varint. */
export interface VarintPos {
  pos: number;
}

/**
 * Writes `v` as a uvarint at `buf[pos]` and returns the position after it.
 * The caller makes sure `buf` has room ({@link uvarintSize} bytes, at most
 * {@link MAX_UVARINT_BYTES}). `v` must be an integer in 0 ..= 2^53-1; other
 * values throw a `BadInputError`.
 */
export function putUvarint(buf: Uint8Array, pos: number, v: number): number {
  if (v >>> 0 === v && v < 0x10000000) {
    while (v >= 0x80) {
      buf[pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[pos++] = v;
    return pos;
  }
  if (!Number.isSafeInteger(v) || v < 0) {
    throw new BadInputError(`varint: ${v} is not an integer in 0..2^53-1`);
  }
  while (v >= 0x80) {
    buf[pos++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  buf[pos++] = v;
  return pos;
}

/** Number of bytes {@link putUvarint} writes for `v` (1 ..= 8). */
export function uvarintSize(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  if (v < 0x800000000) return 5;
  if (v < 0x40000000000) return 6;
  if (v < 0x2000000000000) return 7;
  return 8;
}

/**
 * Reads a uvarint starting at `buf[pos]`, never past `end` (default:
 * `buf.length`). Returns the value; if `out` is given, `out.pos` receives the
 * position just after the varint. Non-minimal encodings (e.g. `80 00` for 0)
 * are accepted, as Go does.
 *
 * @throws BadInputError if the varint is truncated, longer than 10 bytes,
 *   or its value exceeds 2^53-1.
 */
export function readUvarint(buf: Uint8Array, pos: number, out?: VarintPos, end: number = buf.length): number {
  const start = pos;
  if (end > buf.length) end = buf.length;
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) throw new BadInputError(`varint: truncated at byte ${start}`);
    const b = buf[pos++]!;
    if (b < 0x80) {
      // Each term is exact; a sum at or above 2^53 cannot round below it.
      v += b * mul;
      if (v > MAX_UVARINT) throw new BadInputError(`varint: value at byte ${start} exceeds 2^53-1`);
      if (out !== undefined) out.pos = pos;
      return v;
    }
    v += (b & 0x7f) * mul;
    if (v > MAX_UVARINT) throw new BadInputError(`varint: value at byte ${start} exceeds 2^53-1`);
    mul *= 0x80;
  }
  throw new BadInputError(`varint: longer than 10 bytes at byte ${start}`);
}
