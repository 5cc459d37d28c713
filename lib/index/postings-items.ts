/**
 * The items of a postings partition (`ix/<week>/p/<name>=<value>`,
 * docs/storage-format.md "Index store"). Two forms are read:
 *
 * - **per commit** (written since issue 5's ninth round): one item per
 *   label pair and `LabelIndex.add` call, sk {@link commitSk}, value the
 *   tag byte {@link PackedTag} and the 16-byte ids of the call's series
 *   with that pair, ascending, at most {@link IdsPerItem} per item (more
 *   take several items of the call, `<tag>.<n>`);
 * - **per series** (written before): sk the series id, value `01`.
 *
 * A pair's postings are the union of its items' ids: an id may be in
 * several items (a series indexed again by a retried write or an index
 * refresh), which the union removes.
 */
import { randomBytes } from 'node:crypto';
import { SeriesIdBytes } from '../labels/labels.ts';
import { merge } from './postings.ts';

/** First byte of a per-commit postings value. */
export const PackedTag = 2;

/**
 * Most ids in one item: 16 bytes each, 256 KiB, under DynamoDB's 400 KB
 * item limit with the keys and the expiry attribute; 25 of them in one
 * BatchWriteItem stay under its 16 MB request limit.
 */
export const IdsPerItem = 16_384;

const Hex = '0123456789abcdef';
const HexValue = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) HexValue[Hex.charCodeAt(i)] = i;

/**
 * A sort key for the items of one `add` call: `@`, the time in base 36
 * and 64 random bits. `@` never starts a series id (hex), so the two forms
 * cannot collide.
 */
export function commitSk(nowMs: number = Date.now()): string {
  return `@${nowMs.toString(36)}.${randomBytes(8).toString('hex')}`;
}

/**
 * The values of one pair's items for `ids` (32-hex series ids, ascending
 * and distinct): one value per {@link IdsPerItem} ids.
 */
export function encodePostingsValues(ids: readonly string[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let from = 0; from < ids.length; from += IdsPerItem) {
    const n = Math.min(IdsPerItem, ids.length - from);
    const v = new Uint8Array(1 + n * SeriesIdBytes);
    v[0] = PackedTag;
    let o = 1;
    for (let k = from; k < from + n; k++) {
      const id = ids[k]!;
      if (id.length !== SeriesIdBytes * 2) throw new RangeError(`series id ${JSON.stringify(id)} is not ${SeriesIdBytes * 2} hex digits`);
      for (let c = 0; c < id.length; c += 2) {
        const hi = HexValue[id.charCodeAt(c)] ?? -1;
        const lo = HexValue[id.charCodeAt(c + 1)] ?? -1;
        if (hi < 0 || lo < 0) throw new RangeError(`series id ${JSON.stringify(id)} is not lowercase hex`);
        v[o++] = (hi << 4) | lo;
      }
    }
    out.push(v);
  }
  return out;
}

/** The ids of a per-commit value (ascending, as written). */
function decodePacked(v: Uint8Array): string[] {
  const n = (v.length - 1) / SeriesIdBytes;
  if (!Number.isInteger(n)) throw new RangeError(`postings item of ${v.length} bytes: not a tag byte and whole 16-byte series ids`);
  const b = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  const ids = new Array<string>(n);
  for (let k = 0, o = 1; k < n; k++, o += SeriesIdBytes) ids[k] = b.toString('hex', o, o + SeriesIdBytes);
  return ids;
}

/**
 * Folds the items of one postings partition into its sorted, distinct ids.
 * Items of the per-series form stand for their sort keys.
 */
export class PostingsUnion {
  readonly #lists: string[][] = [];
  readonly #single: string[] = [];

  add(sk: string, value: Uint8Array): void {
    if (value.length > 0 && value[0] === PackedTag) this.#lists.push(decodePacked(value));
    else this.#single.push(sk);
  }

  /** The union (a new array the caller owns). */
  ids(): string[] {
    // Per-series items come in sort-key order from a query: one sorted list.
    const single = this.#single;
    for (let i = 1; i < single.length; i++) {
      if (single[i - 1]! >= single[i]!) {
        single.sort();
        break;
      }
    }
    if (single.length > 0) this.#lists.push(single);
    if (this.#lists.length === 1) return this.#lists[0]!;
    return merge(this.#lists);
  }
}
