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

/**
 * Ids present in any list, sorted and unique. Each list must be sorted and
 * unique (postings are). Lists are merged pairwise, round by round: each id
 * is compared about log2(lists) times, not log2(ids) as by sorting them all.
 */
export function merge(lists: readonly (readonly string[])[]): string[] {
  let round = lists.filter((l) => l.length > 0);
  if (round.length === 0) return [];
  if (round.length === 1) return [...round[0]!];
  while (round.length > 1) {
    const next: string[][] = [];
    for (let k = 0; k + 1 < round.length; k += 2) next.push(mergeTwo(round[k]!, round[k + 1]!));
    if (round.length % 2 === 1) next.push(round[round.length - 1]! as string[]);
    round = next;
  }
  return round[0]! as string[];
}

function mergeTwo(a: readonly string[], b: readonly string[]): string[] {
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    if (x === y) {
      out.push(x);
      i++;
      j++;
    } else if (x < y) {
      out.push(x);
      i++;
    } else {
      out.push(y);
      j++;
    }
  }
  while (i < a.length) out.push(a[i++]!);
  while (j < b.length) out.push(b[j++]!);
  return out;
}

/**
 * Ids present in at least one list of every group: the intersection of the
 * groups' unions (a matcher's postings are the union of its values'). The
 * smallest union is built; each larger group then keeps the ids still
 * wanted that it holds, either by looking each of them up in each of its
 * lists (binary search: few ids, as with a metric name matching 100 series
 * beside `{instance=~"<25 hosts>"}`) or by one pass over all its ids
 * against a set of the wanted ones (many ids). Each list must be sorted and
 * unique.
 */
export function intersectUnions(groups: readonly (readonly (readonly string[])[])[]): string[] {
  if (groups.length === 0) return [];
  const sized = groups.map((lists) => ({ lists, total: lists.reduce((n, l) => n + l.length, 0) })).sort((a, b) => a.total - b.total);
  let acc = merge(sized[0]!.lists);
  for (let g = 1; g < sized.length && acc.length > 0; g++) {
    const { lists, total } = sized[g]!;
    // Rough costs in steps: a binary search per wanted id and list, or a set probe per id of the group.
    const lookups = acc.length * lists.length * Math.log2(2 + total / lists.length);
    acc = lookups <= 2 * total + acc.length ? keptByLookup(acc, lists) : keptBySet(acc, lists);
  }
  return acc;
}

/** The ids of `want` (sorted) found in any of `lists`, by binary search. */
function keptByLookup(want: readonly string[], lists: readonly (readonly string[])[]): string[] {
  const kept: string[] = [];
  for (const id of want) {
    for (const l of lists) {
      const at = seek(l, id, 0);
      if (at < l.length && l[at] === id) {
        kept.push(id);
        break;
      }
    }
  }
  return kept;
}

/** The ids of `want` (sorted) found in any of `lists`, by one pass over the lists. */
function keptBySet(want: readonly string[], lists: readonly (readonly string[])[]): string[] {
  const set = new Set(want);
  const found = new Set<string>();
  for (const l of lists) for (const id of l) if (set.has(id)) found.add(id);
  return want.filter((id) => found.has(id));
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
