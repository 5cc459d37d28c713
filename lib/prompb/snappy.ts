/**
 * Snappy block format (not the framing format), as remote-write and
 * SAMPLES remote-read bodies use it: a uvarint of the decoded length, then
 * literal and copy elements.
 *
 * Decoding checks the declared length against a caller's limit before any
 * output is allocated. The native `snappy` package (Rust, via N-API) is used
 * when it loads; otherwise `snappyjs`. snappyjs does not validate its input
 * (a crafted 7-byte body makes it loop forever, and short output goes
 * unnoticed), so on that path we first walk the element stream ourselves and
 * reject anything malformed; only a well-formed block reaches snappyjs.
 *
 * The native package is imported once, with top-level await, so bundles
 * that include this module must be ESM.
 */
import snappyjsModule from 'snappyjs';
import { BadInputError, TooLargeError } from '../util/errors.ts';

/** A snappy block codec implementation. */
export interface SnappyCodec {
  /** `native` (the `snappy` package) or `snappyjs`. */
  readonly name: 'native' | 'snappyjs';
  /**
   * Decodes a snappy block. Checks the declared length against
   * `maxDecodedBytes` first.
   *
   * @throws TooLargeError if the declared length exceeds `maxDecodedBytes`.
   * @throws BadInputError (`snappy: ...`) if the block is malformed.
   */
  decode(buf: Uint8Array, maxDecodedBytes: number): Uint8Array;
  /** Encodes `buf` as a snappy block. */
  encode(buf: Uint8Array): Uint8Array;
}

interface NativeSnappy {
  compressSync(input: Uint8Array): Uint8Array;
  uncompressSync(input: Uint8Array, opts: { copyOutputData: boolean }): Uint8Array | string;
}

interface SnappyJs {
  compress(input: Uint8Array): Uint8Array;
  uncompress(input: Uint8Array, maxLength?: number): Uint8Array;
}

/** Largest length the block format can declare (a 32-bit uvarint). */
const MAX_BLOCK_LENGTH = 0xffffffff;

/**
 * Parses the uvarint preamble of a snappy block: the decoded length.
 * Allocates nothing and decodes nothing.
 *
 * @throws BadInputError if the input is empty, the varint is truncated or
 *   the length does not fit in 32 bits.
 */
export function snappyDecodedLength(buf: Uint8Array): number {
  return readPreamble(buf).length;
}

/** The decoded length and the offset of the first element. */
function readPreamble(buf: Uint8Array): { length: number; start: number } {
  if (buf.length === 0) throw new BadInputError('snappy: empty input (no length preamble)');
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 5; i++) {
    if (i >= buf.length) throw new BadInputError('snappy: truncated length preamble');
    const b = buf[i]!;
    v += (b & 0x7f) * mul;
    if (b < 0x80) {
      if (v > MAX_BLOCK_LENGTH) throw new BadInputError(`snappy: declared length ${v} exceeds 2^32-1`);
      return { length: v, start: i + 1 };
    }
    mul *= 0x80;
  }
  throw new BadInputError('snappy: length preamble longer than 5 bytes');
}

function checkLimit(declared: number, maxDecodedBytes: number): void {
  if (declared > maxDecodedBytes) {
    throw new TooLargeError(
      `snappy: decoded length ${declared} bytes exceeds the limit of ${maxDecodedBytes} bytes`,
    );
  }
}

/**
 * Walks the elements of a snappy block without producing output and throws
 * `BadInputError` unless every literal and copy is in bounds and the output
 * would be exactly `declared` bytes long. Linear in the number of elements.
 */
export function validateSnappyBlock(buf: Uint8Array, start: number, declared: number): void {
  const n = buf.length;
  let pos = start;
  let out = 0;
  while (pos < n) {
    const at = pos;
    const c = buf[pos++]!;
    let len: number;
    switch (c & 3) {
      case 0: {
        len = c >>> 2;
        if (len >= 60) {
          const extra = len - 59; // 1..4 little-endian length bytes
          if (pos + extra > n) throw new BadInputError(`snappy: truncated literal length at byte ${at}`);
          len = 0;
          for (let i = extra - 1; i >= 0; i--) len = len * 256 + buf[pos + i]!;
          pos += extra;
        }
        len += 1;
        if (len > n - pos) throw new BadInputError(`snappy: literal of ${len} bytes at byte ${at} overruns the input`);
        pos += len;
        out += len;
        break;
      }
      case 1: {
        if (pos >= n) throw new BadInputError(`snappy: truncated copy at byte ${at}`);
        len = 4 + ((c >>> 2) & 7);
        const offset = ((c >>> 5) << 8) | buf[pos++]!;
        if (offset === 0 || offset > out) throw new BadInputError(`snappy: copy offset ${offset} at byte ${at} is invalid`);
        out += len;
        break;
      }
      case 2: {
        if (pos + 2 > n) throw new BadInputError(`snappy: truncated copy at byte ${at}`);
        len = (c >>> 2) + 1;
        const offset = buf[pos]! | (buf[pos + 1]! << 8);
        pos += 2;
        if (offset === 0 || offset > out) throw new BadInputError(`snappy: copy offset ${offset} at byte ${at} is invalid`);
        out += len;
        break;
      }
      default: {
        if (pos + 4 > n) throw new BadInputError(`snappy: truncated copy at byte ${at}`);
        len = (c >>> 2) + 1;
        const offset = (buf[pos]! | (buf[pos + 1]! << 8) | (buf[pos + 2]! << 16)) + buf[pos + 3]! * 0x1000000;
        pos += 4;
        if (offset === 0 || offset > out) throw new BadInputError(`snappy: copy offset ${offset} at byte ${at} is invalid`);
        out += len;
        break;
      }
    }
    if (out > declared) {
      throw new BadInputError(`snappy: output exceeds the declared length ${declared} at byte ${at}`);
    }
  }
  if (out !== declared) {
    throw new BadInputError(`snappy: output is ${out} bytes, the preamble declared ${declared}`);
  }
}

// A static import (not createRequire) so that bundlers can follow it.
const snappyjs: SnappyJs = snappyjsModule;

/** The pure-JavaScript codec (snappyjs behind our own validation). */
export const jsSnappy: SnappyCodec = {
  name: 'snappyjs',
  decode(buf, maxDecodedBytes) {
    const { length, start } = readPreamble(buf);
    checkLimit(length, maxDecodedBytes);
    validateSnappyBlock(buf, start, length);
    try {
      // snappyjs returns the same kind of array it is given; a plain view in
      // keeps the result a plain Uint8Array rather than a Buffer.
      return snappyjs.uncompress(asPlainView(buf));
    } catch (cause) {
      throw new BadInputError(`snappy: ${(cause as Error).message}`, { cause });
    }
  },
  encode(buf) {
    return snappyjs.compress(asPlainView(buf));
  },
};

function asPlainView(b: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(b) === Uint8Array.prototype ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function loadNative(mod: NativeSnappy): SnappyCodec {
  return {
    name: 'native',
    decode(buf, maxDecodedBytes) {
      const { length } = readPreamble(buf);
      checkLimit(length, maxDecodedBytes);
      let out: Uint8Array | string;
      try {
        out = mod.uncompressSync(buf, { copyOutputData: true });
      } catch (cause) {
        const msg = (cause as Error).message.replace(/^snappy:\s*/, '');
        throw new BadInputError(`snappy: ${msg}`, { cause });
      }
      if (typeof out === 'string' || out.length !== length) {
        throw new BadInputError(`snappy: output does not match the declared length ${length}`);
      }
      return asPlainView(out);
    },
    encode(buf) {
      return asPlainView(mod.compressSync(buf));
    },
  };
}

/**
 * The native codec, or undefined when the optional `snappy` package (or its
 * binary for this platform) is missing.
 */
export const nativeSnappy: SnappyCodec | undefined = await import('snappy').then(
  (m) => loadNative(((m as { default?: NativeSnappy }).default ?? m) as NativeSnappy),
  () => undefined,
);

/** The codec {@link snappyDecode} and {@link snappyEncode} use: native when present. */
export const snappy: SnappyCodec = nativeSnappy ?? jsSnappy;

/**
 * Decodes a snappy block, refusing (before decompressing or allocating) any
 * whose declared length exceeds `maxDecodedBytes`.
 *
 * @throws TooLargeError naming the declared length and the limit.
 * @throws BadInputError (`snappy: ...`) for malformed input.
 */
export function snappyDecode(buf: Uint8Array, maxDecodedBytes: number): Uint8Array {
  return snappy.decode(buf, maxDecodedBytes);
}

/** Encodes `buf` as a snappy block (native codec when present). */
export function snappyEncode(buf: Uint8Array): Uint8Array {
  return snappy.encode(buf);
}
