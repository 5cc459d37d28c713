/**
 * Label sets. A `Labels` value is sorted by name, names are unique and no
 * value is empty (Prometheus drops empty values). Build one with
 * `labelsFromPairs` or `canonicalize` (in validate.ts) unless you already hold
 * one in canonical form.
 *
 * String order everywhere here is Unicode code point order (`compareUtf8`),
 * which is the byte order of the UTF-8 encoding that Go, and so Prometheus,
 * compares; JavaScript's `<` differs for characters above U+D7FF.
 */
import { createHash } from 'node:crypto';
import * as nodeCrypto from 'node:crypto';
import { CorruptionError } from '../util/errors.ts';
import { compareUtf8 } from '../util/utf8.ts';
import { LabelError, LabelErrorKind } from './errors.ts';
import { goQuote } from './quote.ts';

export interface Label {
  readonly name: string;
  readonly value: string;
}

/** A canonical label set: sorted by name, unique names, non-empty values. */
export type Labels = readonly Label[];

/** The name of the label that holds the metric name. */
export const MetricName = '__name__';

/**
 * Orders two label sets as Prometheus' `labels.Compare` does: label by label,
 * first by name then by value (both in byte order), and when one set is a
 * prefix of the other the shorter comes first. The result is negative, zero
 * or positive; like Go's, it is the length difference when one set is a
 * prefix of the other.
 */
export function compareLabels(a: Labels, b: Labels): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.name !== y.name) return compareUtf8(x.name, y.name) < 0 ? -1 : 1;
    if (x.value !== y.value) return compareUtf8(x.value, y.value) < 0 ? -1 : 1;
  }
  return a.length - b.length;
}

/** Reports whether two label sets hold the same pairs. */
export function labelsEqual(a: Labels, b: Labels): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i]!.name !== b[i]!.name || a[i]!.value !== b[i]!.value) return false;
  }
  return true;
}

/**
 * Returns the value of label `name`, or `''` when the set lacks it (as
 * Prometheus' `Labels.Get` does: a missing label and an empty one are the
 * same thing).
 */
export function labelsGet(ls: Labels, name: string): string {
  for (let i = 0; i < ls.length; i++) {
    if (ls[i]!.name === name) return ls[i]!.value;
  }
  return '';
}

/**
 * Prints a label set the way Prometheus' `Labels.String` does:
 * `{__name__="up", job="x"}`, names bare, values quoted like Go's
 * `strconv.Quote` (so the result is always one line).
 */
export function labelsToString(ls: Labels): string {
  let out = '{';
  for (let i = 0; i < ls.length; i++) {
    if (i > 0) out += ', ';
    out += ls[i]!.name + '=' + goQuote(ls[i]!.value);
  }
  return out + '}';
}

/**
 * Builds a canonical label set from name/value pairs, mainly for tests and
 * fixed internal series: empty values are dropped and the rest sorted by name.
 * Names are not checked for syntax. Throws {@link LabelError} when a name
 * appears twice.
 */
export function labelsFromPairs(
  pairs: Readonly<Record<string, string>> | Iterable<readonly [string, string]>,
): Labels {
  const entries: Iterable<readonly [string, string]> =
    Symbol.iterator in pairs ? (pairs as Iterable<readonly [string, string]>) : Object.entries(pairs);
  const out: Label[] = [];
  for (const [name, value] of entries) {
    if (value !== '') out.push({ name, value });
  }
  out.sort((x, y) => compareUtf8(x.name, y.name));
  for (let i = 1; i < out.length; i++) {
    if (out[i]!.name === out[i - 1]!.name) {
      throw new LabelError(LabelErrorKind.DuplicateName, `label name ${goQuote(out[i]!.name)} is not unique`);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Canonical binary encoding

/**
 * Number of bytes in the UTF-8 encoding of `s`, without encoding it. A lone
 * surrogate counts 3 bytes, the size of the U+FFFD that replaces it.
 */
export function utf8ByteLength(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 2; // two UTF-16 units, four bytes
        i++;
      } else n += 2;
    } else n += 2;
  }
  return n;
}

function uvarintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 0x80);
    n++;
  }
  return n;
}

function putUvarint(buf: Uint8Array, pos: number, v: number): number {
  while (v >= 0x80) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 0x80);
  }
  buf[pos++] = v;
  return pos;
}

/** Writes the UTF-8 encoding of `s` at `pos` (room already checked); returns the new position. */
function putUtf8(buf: Uint8Array, pos: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      buf[pos++] = c;
      continue;
    }
    if (c < 0x800) {
      buf[pos++] = 0xc0 | (c >> 6);
      buf[pos++] = 0x80 | (c & 0x3f);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        buf[pos++] = 0xf0 | (cp >> 18);
        buf[pos++] = 0x80 | ((cp >> 12) & 0x3f);
        buf[pos++] = 0x80 | ((cp >> 6) & 0x3f);
        buf[pos++] = 0x80 | (cp & 0x3f);
        i++;
        continue;
      }
      c = 0xfffd; // lone surrogate, as TextEncoder does
    }
    buf[pos++] = 0xe0 | (c >> 12);
    buf[pos++] = 0x80 | ((c >> 6) & 0x3f);
    buf[pos++] = 0x80 | (c & 0x3f);
  }
  return pos;
}

/**
 * Encodes a canonical label set into its canonical bytes, the input of
 * {@link seriesId}:
 *
 * ```
 * uvarint(count) { uvarint(len(name)) name  uvarint(len(value)) value }*count
 * ```
 *
 * Lengths are in bytes, strings UTF-8. Two equal label sets always give the
 * same bytes and two different ones never do (the encoding is prefix-free).
 * `ls` must already be canonical; this function does not sort.
 *
 * The result is the caller's own, exactly sized buffer (safe to keep in
 * caches). Allocating it is a large part of the cost (a fresh ArrayBuffer is
 * a few hundred ns in Node 20), so encode once per series and keep the bytes.
 */
export function encodeLabels(ls: Labels): Uint8Array {
  let pos = putUvarint(scratch, 0, ls.length);
  for (let i = 0; i < ls.length; i++) {
    const l = ls[i]!;
    pos = putString(pos, l.name);
    pos = putString(pos, l.value);
  }
  return scratch.slice(0, pos);
}

/** Encoding scratch, grown on demand; its contents never escape a call. */
let scratch = new Uint8Array(4096);

/**
 * Writes `uvarint(byteLength) utf8` at `pos` in one pass over the string:
 * the text goes one byte after `pos`, and is moved along in the rare case
 * that its length needs a longer varint.
 */
function putString(pos: number, s: string): number {
  const worst = pos + 10 + 3 * s.length;
  if (worst > scratch.length) {
    const bigger = new Uint8Array(Math.max(worst, scratch.length * 2));
    bigger.set(scratch.subarray(0, pos));
    scratch = bigger;
  }
  const end = putUtf8(scratch, pos + 1, s);
  const n = end - pos - 1;
  if (n < 0x80) {
    scratch[pos] = n;
    return end;
  }
  const extra = uvarintSize(n) - 1;
  scratch.copyWithin(pos + 1 + extra, pos + 1, end);
  putUvarint(scratch, pos, n);
  return end + extra;
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Decodes the canonical bytes `buf[off, off+len)` written by
 * {@link encodeLabels}. The returned strings are copies; `buf` may be reused.
 * Throws {@link CorruptionError} when the bytes are truncated, have trailing
 * garbage, hold invalid UTF-8, or do not describe a canonical set (names
 * strictly ascending, values non-empty).
 */
export function decodeLabels(buf: Uint8Array, off: number, len: number): Labels {
  const end = off + len;
  if (off < 0 || len < 0 || end > buf.length) {
    throw new CorruptionError(`labels: range [${off}, ${end}) is outside a buffer of ${buf.length} bytes`);
  }
  const r = { pos: off };
  const count = readUvarint(buf, r, end);
  // Each label takes at least four bytes (two lengths, two non-empty strings).
  if (count * 4 > end - r.pos) throw new CorruptionError(`labels: count ${count} does not fit in ${len} bytes`);
  const out: Label[] = new Array(count);
  let prev = '';
  for (let i = 0; i < count; i++) {
    const name = readString(buf, r, end);
    const value = readString(buf, r, end);
    if (value === '') throw new CorruptionError(`labels: label ${goQuote(name)} has an empty value`);
    if (i > 0 && compareUtf8(prev, name) >= 0) {
      throw new CorruptionError(`labels: name ${goQuote(name)} does not sort after ${goQuote(prev)}`);
    }
    out[i] = { name, value };
    prev = name;
  }
  if (r.pos !== end) throw new CorruptionError(`labels: ${end - r.pos} trailing bytes`);
  return out;
}

function readUvarint(buf: Uint8Array, r: { pos: number }, end: number): number {
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 8; i++) {
    if (r.pos >= end) throw new CorruptionError(`labels: truncated varint at offset ${r.pos}`);
    const b = buf[r.pos++]!;
    v += (b & 0x7f) * mul;
    if (b < 0x80) return v;
    mul *= 0x80;
  }
  throw new CorruptionError(`labels: varint too long at offset ${r.pos}`);
}

function readString(buf: Uint8Array, r: { pos: number }, end: number): string {
  const n = readUvarint(buf, r, end);
  const start = r.pos;
  if (n > end - start) throw new CorruptionError(`labels: string of ${n} bytes at offset ${start} runs past the end`);
  r.pos = start + n;
  if (n <= 32) {
    // Short ASCII strings (nearly all names and most values) are built
    // directly, which is about twice as fast as a decoder call.
    let out = '';
    let i = start;
    for (; i < start + n; i++) {
      const c = buf[i]!;
      if (c >= 0x80) break;
      out += String.fromCharCode(c);
    }
    if (i === start + n) return out;
  }
  try {
    return utf8Decoder.decode(buf.subarray(start, start + n));
  } catch (cause) {
    throw new CorruptionError(`labels: invalid UTF-8 in string at offset ${start}`, { cause });
  }
}

// ---------------------------------------------------------------------------
// Series identity

/** Length in bytes of a series id ({@link seriesIdBytes}). */
export const SeriesIdBytes = 16;

type HashFn = (algorithm: string, data: Uint8Array, outputEncoding: 'hex') => string;
// One-shot `crypto.hash` (Node >= 20.12) skips the Hash object; fall back to createHash.
const oneShotHash = (nodeCrypto as unknown as { hash?: HashFn }).hash;

/**
 * The identity of a series as 32 lowercase hex characters: the first 128
 * bits of SHA-256 over its canonical bytes ({@link encodeLabels}). Two
 * different label sets collide with probability about 2^-128 per pair; at a
 * billion series the birthday bound puts the chance of any collision near
 * 1.5e-21, so ids are treated as unique without a collision check.
 */
export function seriesId(canonicalBytes: Uint8Array): string {
  if (oneShotHash !== undefined) return oneShotHash('sha256', canonicalBytes, 'hex').slice(0, 32);
  return createHash('sha256').update(canonicalBytes).digest('hex').slice(0, 32);
}

/**
 * {@link seriesId} as its 16 bytes ({@link SeriesIdBytes}), for binary
 * formats. The result is the caller's own buffer.
 */
export function seriesIdBytes(canonicalBytes: Uint8Array): Uint8Array {
  return seriesIdFromHex(seriesId(canonicalBytes));
}

/** Converts a 32-hex-digit {@link seriesId} to its 16 bytes; throws RangeError on a malformed id. */
export function seriesIdFromHex(id: string): Uint8Array {
  if (id.length !== SeriesIdBytes * 2) throw new RangeError(`series id must be ${SeriesIdBytes * 2} hex digits`);
  const out = new Uint8Array(SeriesIdBytes);
  for (let i = 0; i < SeriesIdBytes; i++) {
    const hi = hexValue(id.charCodeAt(2 * i));
    const lo = hexValue(id.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) throw new RangeError(`series id ${JSON.stringify(id)} is not hex`);
    out[i] = (hi << 4) | lo;
  }
  return out;
}

const hexDigits = '0123456789abcdef';

/** Converts 16 series-id bytes to the 32-hex-digit {@link seriesId} form. */
export function seriesIdToHex(id: Uint8Array): string {
  if (id.length !== SeriesIdBytes) throw new RangeError(`series id must be ${SeriesIdBytes} bytes`);
  let out = '';
  for (let i = 0; i < id.length; i++) out += hexDigits[id[i]! >> 4]! + hexDigits[id[i]! & 0xf]!;
  return out;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}
