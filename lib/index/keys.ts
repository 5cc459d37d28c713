/**
 * Key builders of the label index (see SCHEMA.md and
 * docs/storage-format.md). Keys here are relative to a tenant: the tenant
 * prefix is added by `prefixedKVStore`.
 */
import { createHash } from 'node:crypto';

/** Width of an index time bucket: one UTC day. */
export const BucketMs = 86_400_000;

/** Offset that makes bucket numbers of every safe-integer time non-negative. */
const BucketOffset = 200_000_000;

/** Longest name, value or pair (UTF-8 bytes) kept verbatim in a key. */
export const MaxVerbatimKeyBytes = 512;

/** The index bucket of a timestamp (ms). */
export function bucketOf(t: number): number {
  return Math.floor(t / BucketMs);
}

/** First and last millisecond of a bucket. */
export function bucketRange(bucket: number): [number, number] {
  return [bucket * BucketMs, bucket * BucketMs + BucketMs - 1];
}

/**
 * A bucket as a fixed-width decimal that sorts like the number itself,
 * negative buckets (before 1970) included: 9 digits of bucket + 2e8.
 */
export function bucketKey(bucket: number): string {
  return String(bucket + BucketOffset).padStart(9, '0');
}

/** Inverse of `bucketKey`. */
export function parseBucketKey(key: string): number {
  return Number(key) - BucketOffset;
}

function sha256Hex(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/**
 * A string as it may appear in a key: itself when short, else a prefix,
 * U+0001 and its SHA-256 (the full string is then kept in the item's value).
 * Short strings never contain U+0001 in practice; if one does it is hashed
 * too, so the two forms cannot collide.
 */
export function keyString(s: string): string {
  if (Buffer.byteLength(s) <= MaxVerbatimKeyBytes && !s.includes('\u0001')) return s;
  return `${s.slice(0, 64)}\u0001${sha256Hex(s)}`;
}

/** Whether `keyString` shortened the string (the item value holds it). */
export function isShortened(key: string): boolean {
  return key.includes('\u0001');
}

export const IndexKeys = {
  /** Series of a bucket: sk = series id, value = canonical label bytes. */
  series: (bucket: number) => `ix/${bucketKey(bucket)}/series`,
  /** Label names of a bucket: sk = keyString(name). */
  names: (bucket: number) => `ix/${bucketKey(bucket)}/names`,
  /** Values of one label name in a bucket: sk = keyString(value). */
  values: (bucket: number, name: string) => `ix/${bucketKey(bucket)}/values/${keyString(name)}`,
  /** Postings of one label pair in a bucket: sk = series id. */
  postings: (bucket: number, name: string, value: string) => `ix/${bucketKey(bucket)}/p/${keyString(`${name}=${value}`)}`,
} as const;
