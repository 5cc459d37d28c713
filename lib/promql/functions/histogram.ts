/**
 * histogram_quantile over classic histograms (series with an `le` label),
 * and the native-histogram functions, after Prometheus 2.42
 * promql/functions.go and quantile.go.
 *
 * Stratus stores float samples only, so histogram_count, histogram_sum and
 * histogram_fraction always return an empty vector, exactly as Prometheus
 * does for float input (it skips every sample that is not a native
 * histogram).
 */
import { type Labels, MetricName } from '../../labels/labels.ts';
import type { Vector } from '../value.ts';
import { goParseFloat } from './go-format.ts';
import { type Bucket, bucketQuantile } from './quantile.ts';
import type { FunctionImpl } from './types.ts';
import { scalarArg, vectorArg, withoutLabels } from './util.ts';

const bucketLabel = 'le';
const excludedLabels = [MetricName, bucketLabel];

/** A key identifying a label set without `le` (the group of one histogram). */
function groupKey(ls: Labels): string {
  let k = '';
  for (const l of ls) {
    if (l.name === bucketLabel) continue;
    k += l.name + '\xff' + l.value + '\xff';
  }
  return k;
}

/**
 * histogram_quantile(φ, buckets): groups the input samples by their labels
 * without `le` (the metric name included, so two histograms that differ
 * only by name are two groups), and for each group returns the φ-quantile
 * ({@link bucketQuantile}) labelled with the group's labels minus
 * `__name__` and `le`. Samples without an `le` label or whose `le` does not
 * parse as a Go float (e.g. `1e400`, ` 1`) are skipped. Groups come out in
 * the order of their first sample (Prometheus' order is a Go map's, i.e.
 * unspecified). Two groups with the same output labels are left for the
 * evaluator to reject, as Prometheus' does.
 */
const histogramQuantile: FunctionImpl = (args, ctx) => {
  const q = scalarArg(args, 0);
  const vec = vectorArg(args, 1);
  const groups = new Map<string, { metric: Labels; buckets: Bucket[] }>();
  for (const s of vec) {
    let le = '';
    for (const l of s.metric) if (l.name === bucketLabel) le = l.value;
    const upperBound = goParseFloat(le);
    if (upperBound === undefined) continue;
    const key = groupKey(s.metric);
    let g = groups.get(key);
    if (g === undefined) {
      g = { metric: withoutLabels(s.metric, excludedLabels), buckets: [] };
      groups.set(key, g);
    }
    g.buckets.push({ upperBound, count: s.v });
  }
  const out: Vector = [];
  for (const g of groups.values()) out.push({ metric: g.metric, t: ctx.ts, v: bucketQuantile(q, g.buckets) });
  return out;
};

/** histogram_quantile and the native-histogram functions (empty over floats), by PromQL name. */
export const histogramFunctions: Readonly<Record<string, FunctionImpl>> = {
  histogram_quantile: histogramQuantile,
  histogram_count: () => [],
  histogram_sum: () => [],
  histogram_fraction: () => [],
};
