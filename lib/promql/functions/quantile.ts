/**
 * Quantile estimation, after Prometheus 2.42 promql/quantile.go: the
 * φ-quantile of a list of values (quantile_over_time and the `quantile`
 * aggregation) and of classic histogram buckets (histogram_quantile).
 */

/**
 * The φ-quantile of `values` by linear interpolation between the closest
 * ranks (`rank = φ·(n−1)`). NaN for no values or φ = NaN; −Inf for φ < 0;
 * +Inf for φ > 1. NaN values sort before all others, as in Prometheus.
 * Sorts `values` in place.
 */
export function quantile(q: number, values: Float64Array): number {
  const n = values.length;
  if (n === 0 || Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  // Typed-array sort puts NaN last; Prometheus' order puts it first.
  values.sort();
  let nans = 0;
  while (nans < n && Number.isNaN(values[n - 1 - nans]!)) nans++;
  if (nans > 0) {
    values.copyWithin(nans, 0, n - nans);
    values.fill(NaN, 0, nans);
  }
  const rank = q * (n - 1);
  const lowerIndex = Math.max(0, Math.floor(rank));
  const upperIndex = Math.min(n - 1, lowerIndex + 1);
  const weight = rank - Math.floor(rank);
  return values[lowerIndex]! * (1 - weight) + values[upperIndex]! * weight;
}

/** One classic histogram bucket: its upper bound (`le`) and cumulative count. */
export interface Bucket {
  upperBound: number;
  count: number;
}

/** Go's `sort.Search(n, f)`: the smallest i in [0, n) with f(i), or n; by bisection. */
function search(n: number, f: (i: number) => boolean): number {
  let i = 0;
  let j = n;
  while (i < j) {
    const h = (i + j) >>> 1;
    if (!f(h)) i = h + 1;
    else j = h;
  }
  return i;
}

/**
 * The φ-quantile of classic histogram buckets, as Prometheus 2.42's
 * `bucketQuantile`: buckets sorted by upper bound, equal bounds merged,
 * counts made monotonic (each at least its predecessor); NaN when φ is NaN,
 * the highest bound is not +Inf, fewer than two buckets remain or there are
 * no observations; −Inf / +Inf for φ < 0 / φ > 1. Within a bucket the value
 * is interpolated linearly (from 0 for the lowest bucket if its bound is
 * positive); a rank in the +Inf bucket gives the second-highest bound.
 * Sorts and rewrites `buckets`.
 */
export function bucketQuantile(q: number, buckets: Bucket[]): number {
  if (Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  buckets.sort((a, b) => (a.upperBound < b.upperBound ? -1 : b.upperBound < a.upperBound ? 1 : 0));
  if (buckets[buckets.length - 1]!.upperBound !== Infinity) return NaN;

  // Merge buckets with the same upper bound.
  let last = buckets[0]!;
  let w = 0;
  for (let i = 1; i < buckets.length; i++) {
    const b = buckets[i]!;
    if (b.upperBound === last.upperBound) last = { upperBound: last.upperBound, count: last.count + b.count };
    else {
      buckets[w++] = last;
      last = b;
    }
  }
  buckets[w] = last;
  buckets.length = w + 1;

  // The envelope: remove any decrease of the cumulative count.
  let max = buckets[0]!.count;
  for (let i = 1; i < buckets.length; i++) {
    const c = buckets[i]!.count;
    if (c > max) max = c;
    else if (c < max) buckets[i] = { upperBound: buckets[i]!.upperBound, count: max };
  }

  if (buckets.length < 2) return NaN;
  const observations = buckets[buckets.length - 1]!.count;
  if (observations === 0) return NaN;
  let rank = q * observations;
  const b = search(buckets.length - 1, (i) => buckets[i]!.count >= rank);
  if (b === buckets.length - 1) return buckets[buckets.length - 2]!.upperBound;
  if (b === 0 && buckets[0]!.upperBound <= 0) return buckets[0]!.upperBound;
  let bucketStart = 0;
  const bucketEnd = buckets[b]!.upperBound;
  let count = buckets[b]!.count;
  if (b > 0) {
    bucketStart = buckets[b - 1]!.upperBound;
    count -= buckets[b - 1]!.count;
    rank -= buckets[b - 1]!.count;
  }
  return bucketStart + (bucketEnd - bucketStart) * (rank / count);
}
