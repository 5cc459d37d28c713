/**
 * Postings: sorted lists of series ids (32-char lowercase hex, so string
 * order is byte order). Set operations over sorted arrays, after Prometheus'
 * index.Intersect / Merge / Without.
 */

/** Ids present in every list. */
export function intersect(lists: readonly (readonly string[])[]): string[] {
  if (lists.length === 0) return [];
  const sorted = [...lists].sort((a, b) => a.length - b.length);
  let acc: readonly string[] = sorted[0]!;
  for (let k = 1; k < sorted.length && acc.length > 0; k++) {
    const b = sorted[k]!;
    const out: string[] = [];
    let i = 0;
    let j = 0;
    while (i < acc.length && j < b.length) {
      const x = acc[i]!;
      const y = b[j]!;
      if (x === y) {
        out.push(x);
        i++;
        j++;
      } else if (x < y) {
        i++;
      } else {
        j = seek(b, x, j + 1);
      }
    }
    acc = out;
  }
  return acc === sorted[0] ? [...acc] : (acc as string[]);
}

/** Ids present in any list, sorted and unique. */
export function merge(lists: readonly (readonly string[])[]): string[] {
  if (lists.length === 0) return [];
  if (lists.length === 1) return [...lists[0]!];
  const all = lists.flat().sort();
  const out: string[] = [];
  for (const id of all) if (out.length === 0 || out[out.length - 1] !== id) out.push(id);
  return out;
}

/** Ids of `a` that are not in `b`. */
export function without(a: readonly string[], b: readonly string[]): string[] {
  const out: string[] = [];
  let j = 0;
  for (const x of a) {
    j = seek(b, x, j);
    if (j >= b.length || b[j] !== x) out.push(x);
  }
  return out;
}

/** First index >= from whose id is >= x (binary search). */
function seek(list: readonly string[], x: string, from: number): number {
  let lo = from;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
