/**
 * The orderings topk/bottomk produce depend on how Go's `container/heap`
 * and `sort.Sort` move elements with equal values. These are the same
 * algorithms (heap up/down sifts; insertion sort below 13 elements, as Go's
 * pdqsort does), so that the same series are kept and, for k <= 12, listed
 * in the same order as Prometheus lists them.
 */

/** A strict "less" over array indices, as Go's `sort.Interface.Less`. */
export type LessFn<T> = (a: T, b: T) => boolean;

function swap<T>(h: T[], i: number, j: number): void {
  const x = h[i]!;
  h[i] = h[j]!;
  h[j] = x;
}

function up<T>(h: T[], j: number, less: LessFn<T>): void {
  for (;;) {
    const i = Math.trunc((j - 1) / 2); // parent (Go's division truncates: 0 for j = 0)
    if (i === j || !less(h[j]!, h[i]!)) break;
    swap(h, i, j);
    j = i;
  }
}

function down<T>(h: T[], i0: number, n: number, less: LessFn<T>): boolean {
  let i = i0;
  for (;;) {
    const j1 = 2 * i + 1;
    if (j1 >= n || j1 < 0) break;
    let j = j1;
    const j2 = j1 + 1;
    if (j2 < n && less(h[j2]!, h[j1]!)) j = j2;
    if (!less(h[j]!, h[i]!)) break;
    swap(h, i, j);
    i = j;
  }
  return i > i0;
}

/** Go's `heap.Push`. */
export function heapPush<T>(h: T[], x: T, less: LessFn<T>): void {
  h.push(x);
  up(h, h.length - 1, less);
}

/** Go's `heap.Pop`. */
export function heapPop<T>(h: T[], less: LessFn<T>): T {
  const n = h.length - 1;
  swap(h, 0, n);
  down(h, 0, n, less);
  return h.pop()!;
}

/**
 * Go's `sort.Sort` for `less`. Up to 12 elements this is exactly Go's
 * insertion sort; above that a stable merge sort is used, which orders
 * distinct values the same but may list equal ones differently from Go's
 * pdqsort.
 */
export function goSort<T>(h: T[], less: LessFn<T>): void {
  const n = h.length;
  if (n <= 12) {
    for (let i = 1; i < n; i++) {
      for (let j = i; j > 0 && less(h[j]!, h[j - 1]!); j--) swap(h, j, j - 1);
    }
    return;
  }
  const sorted = h.slice().sort((a, b) => (less(a, b) ? -1 : less(b, a) ? 1 : 0));
  for (let i = 0; i < n; i++) h[i] = sorted[i]!;
}
