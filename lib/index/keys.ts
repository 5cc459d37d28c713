/**
 * Key builders of the label index (see docs/storage-format.md, "Index
 * store"). Keys here are relative to a tenant: the tenant prefix is added
 * by `prefixedKVStore`.
 *
 * Two bucket widths share one numbering, the UTC day (`bucketOf`):
 * - the catalog records objects per **day** bucket (`bucketKey`);
 * - the label index is cut into **weeks** (Monday 00:00 UTC to Sunday
 *   24:00 UTC), each named by the day bucket of its Monday
 *   (`indexBucketOfDay`), with keys `w<bucketKey>` (`indexBucketKey`). Every
 *   function taking an index bucket accepts any day of the week and rounds
 *   it down, so a caller holding catalog days may pass them as they are.
 */
import { createHash } from 'node:crypto';

/** Width of a catalog time bucket: one UTC day. */
export const BucketMs = 86_400_000;

/** Days in one label-index bucket (a week). */
export const IndexBucketDays = 7;

/** Width of a label-index time bucket: one week. */
export const IndexBucketMs = IndexBucketDays * BucketMs;

/** Day bucket of a Monday (1970-01-05): index buckets start on Mondays. */
const MondayDay = 4;

/** Offset that makes bucket numbers of every safe-integer time non-negative. */
const BucketOffset = 200_000_000;

/** Longest name, value or pair (UTF-8 bytes) kept verbatim in a key. */
export const MaxVerbatimKeyBytes = 512;

/** The (day) bucket of a timestamp (ms). */
export function bucketOf(t: number): number {
  return Math.floor(t / BucketMs);
}

/** First and last millisecond of a day bucket. */
export function bucketRange(bucket: number): [number, number] {
  return [bucket * BucketMs, bucket * BucketMs + BucketMs - 1];
}

/**
 * A day bucket as a fixed-width decimal that sorts like the number itself,
 * negative buckets (before 1970) included: 9 digits of bucket + 2e8.
 */
export function bucketKey(bucket: number): string {
  return String(bucket + BucketOffset).padStart(9, '0');
}

/** Inverse of `bucketKey`. */
export function parseBucketKey(key: string): number {
  return Number(key) - BucketOffset;
}

/** The index bucket (week) holding a day bucket: the day bucket of that week's Monday. */
export function indexBucketOfDay(day: number): number {
  return day - ((((day - MondayDay) % IndexBucketDays) + IndexBucketDays) % IndexBucketDays);
}

/** The index bucket (week) of a timestamp (ms). */
export function indexBucketOf(t: number): number {
  return indexBucketOfDay(bucketOf(t));
}

/** The distinct index buckets of some day buckets, ascending. */
export function indexBucketsOfDays(days: Iterable<number>): number[] {
  return [...new Set([...days].map(indexBucketOfDay))].sort((a, b) => a - b);
}

/** The day buckets of an index bucket (any of its days may be given), ascending. */
export function daysOfIndexBucket(bucket: number): number[] {
  const first = indexBucketOfDay(bucket);
  return Array.from({ length: IndexBucketDays }, (_, i) => first + i);
}

/** First and last millisecond of an index bucket (any of its days may be given). */
export function indexBucketRange(bucket: number): [number, number] {
  const first = indexBucketOfDay(bucket) * BucketMs;
  return [first, first + IndexBucketMs - 1];
}

/** An index bucket's key: `w` and the `bucketKey` of its Monday (any day of it may be given). */
export function indexBucketKey(bucket: number): string {
  return `w${bucketKey(indexBucketOfDay(bucket))}`;
}

/**
 * Inverse of `indexBucketKey`; undefined for a key of the day layout used
 * before index buckets were weeks (9 digits, no `w`), which nothing reads.
 */
export function parseIndexBucketKey(key: string): number | undefined {
  return key.length === 10 && key.charCodeAt(0) === 0x77 /* w */ ? parseBucketKey(key.slice(1)) : undefined;
}

function sha256Hex(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/**
 * A string as it may appear in a key: itself when short, else a prefix,
 * U+0001 and its SHA-256 (the full string is then kept in the item's value).
 * Short strings never contain U+0001 in practice; if one does it is hashed
 * too, so the two forms cannot collide. So is a string holding U+0000
 * (label values may, as Prometheus takes any UTF-8, but a partition key may
 * not: lib/kvstore/validate.ts). The prefix is cut before a surrogate pair
 * it would split and has U+0000 replaced, so the key is always valid.
 */
export function keyString(s: string): string {
  if (Buffer.byteLength(s) <= MaxVerbatimKeyBytes && s.indexOf('\u0001') < 0 && s.indexOf('\u0000') < 0) return s;
  return `${keyPrefix(s)}\u0001${sha256Hex(s)}`;
}

/** The first 64 UTF-16 units of `s`, without a trailing high surrogate, U+0000 as U+FFFD. */
function keyPrefix(s: string): string {
  let p = s.slice(0, 64);
  const last = p.charCodeAt(p.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) p = p.slice(0, -1);
  return p.replaceAll('\u0000', '\ufffd');
}

/** Whether `keyString` shortened the string (the item value holds it). */
export function isShortened(key: string): boolean {
  return key.includes('\u0001');
}

/**
 * Partitions of the label index, per index bucket (a week; any day of it
 * may be given).
 */
export const IndexKeys = {
  /** Series of a bucket: sk = series id, value = canonical label bytes. */
  series: (bucket: number) => `ix/${indexBucketKey(bucket)}/series`,
  /** Label names of a bucket: sk = keyString(name). */
  names: (bucket: number) => `ix/${indexBucketKey(bucket)}/names`,
  /** Values of one label name in a bucket: sk = keyString(value). */
  values: (bucket: number, name: string) => `ix/${indexBucketKey(bucket)}/values/${keyString(name)}`,
  /** Postings of one label pair in a bucket: sk = series id. */
  postings: (bucket: number, name: string, value: string) => `ix/${indexBucketKey(bucket)}/p/${keyString(`${name}=${value}`)}`,
  /**
   * The postings token of a bucket: sk {@link TokenSk}, value random bytes rewritten
   * after every write of new postings (lib/index/label-index.ts).
   */
  token: (bucket: number) => `ix/${indexBucketKey(bucket)}/token`,
} as const;

/** Sort key of the one item of a bucket's postings token partition ({@link IndexKeys.token}). */
export const TokenSk = 'v';

/**
 * The series partition of a day bucket in the day layout written before
 * index buckets were weeks. Only looked at, once per tenant, to find data
 * whose index must be rebuilt in the week layout (lib/compact/index-refresh.ts).
 */
export function legacyDaySeriesPk(day: number): string {
  return `ix/${bucketKey(day)}/series`;
}
