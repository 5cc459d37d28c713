/**
 * Aggregation operators over one step's vector, with the numeric
 * algorithms of Prometheus 2.42's `aggregation` (promql/engine.go): plain
 * summation for sum; an incremental mean divided on both sides for avg (no
 * overflow on large values); Welford's update for stddev/stdvar; min/max
 * that replace a NaN; topk/bottomk over Go's heap; quantile interpolating
 * between the two closest ranks.
 *
 * Groups are output in order of their first sample.
 */
import { MetricName, type Labels } from '../../labels/labels.ts';
import { goQuote } from '../../labels/quote.ts';
import { PromQLError } from '../errors.ts';
import type { AggregateOp } from '../parser/ast.ts';
import type { Sample, Vector } from '../value.ts';
import { goSort, heapPop, heapPush, type LessFn } from './go-sort.ts';
import { deleteLabels, formatFloatF, formatGoFloat, groupingKey, keepLabels, setLabel } from './label-ops.ts';

/** Largest float64 not above int64's range, and the smallest (Prometheus' bounds). */
const MaxInt64 = 9223372036854774784;
const MinInt64 = -9223372036854775808;

const labelNameRe = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

interface Group {
  labels: Labels;
  value: number;
  mean: number;
  count: number;
  heap: Sample[];
}

/** Go's vectorByValueHeap.Less: NaN first, then ascending. */
const byValue: LessFn<Sample> = (a, b) => Number.isNaN(a.v) || a.v < b.v;
/** Go's vectorByReverseValueHeap.Less: NaN first, then descending. */
const byReverseValue: LessFn<Sample> = (a, b) => Number.isNaN(a.v) || a.v > b.v;

/**
 * Inputs of one aggregation node that do not change across steps:
 * `grouping` sorted, `keys` the grouping key of each input sample (from the
 * series it came from).
 */
export interface AggregationSpec {
  op: AggregateOp;
  grouping: readonly string[];
  groupingSet: ReadonlySet<string>;
  without: boolean;
}

/**
 * Aggregates `vec` (one step). `param` is the scalar parameter of topk,
 * bottomk and quantile, or the label name of count_values. `keys[i]` is the
 * grouping key of `vec[i]`.
 */
export function aggregate(spec: AggregationSpec, param: number | string | undefined, vec: Vector, keys: readonly string[]): Vector {
  const { op, without } = spec;
  let grouping = spec.grouping;
  let groupingSet = spec.groupingSet;
  let k = 0;
  if (op === 'topk' || op === 'bottomk') {
    const f = param as number;
    if (!(f <= MaxInt64 && f >= MinInt64)) throw new PromQLError('execution', `Scalar value ${formatGoFloat(f)} overflows int64`);
    k = Math.trunc(f);
    if (k < 1) return [];
  }
  const q = op === 'quantile' ? (param as number) : 0;
  let valueLabel = '';
  if (op === 'count_values') {
    valueLabel = param as string;
    if (!labelNameRe.test(valueLabel)) throw new PromQLError('execution', `invalid label name ${goQuote(valueLabel)}`);
    if (!without) {
      grouping = [...grouping, valueLabel].sort();
      groupingSet = new Set(grouping);
    }
  }

  const groups = new Map<string, Group>();
  const ordered: Group[] = [];
  for (let si = 0; si < vec.length; si++) {
    const s = vec[si]!;
    let metric = s.metric;
    let key: string;
    if (op === 'count_values') {
      metric = setLabel(metric, valueLabel, formatFloatF(s.v));
      key = groupingKey(metric, groupingSet, without);
    } else {
      key = keys[si]!;
    }
    const group = groups.get(key);
    if (group === undefined) {
      let labels: Labels;
      if (without) labels = deleteLabels(deleteLabels(metric, grouping), [MetricName]);
      else if (grouping.length > 0) labels = keepLabels(metric, grouping);
      else labels = [];
      const g: Group = { labels, value: s.v, mean: s.v, count: 1, heap: [] };
      switch (op) {
        case 'stdvar':
        case 'stddev':
          g.value = 0;
          break;
        case 'topk':
        case 'bottomk':
        case 'quantile':
          g.heap.push({ metric: s.metric, t: 0, v: s.v });
          break;
        case 'group':
          g.value = 1;
          break;
        default:
      }
      groups.set(key, g);
      ordered.push(g);
      continue;
    }
    accumulate(op, group, s, k);
  }

  const out: Vector = [];
  for (const g of ordered) {
    switch (op) {
      case 'avg':
        g.value = g.mean;
        break;
      case 'count':
      case 'count_values':
        g.value = g.count;
        break;
      case 'stdvar':
        g.value = g.value / g.count;
        break;
      case 'stddev':
        g.value = Math.sqrt(g.value / g.count);
        break;
      case 'topk':
      case 'bottomk': {
        // The heap keeps the worst kept sample on top: list it reversed.
        const less = op === 'topk' ? byValue : byReverseValue;
        if (g.heap.length > 1) goSort(g.heap, (a, b) => less(b, a));
        for (const s of g.heap) out.push({ metric: s.metric, t: 0, v: s.v });
        continue;
      }
      case 'quantile':
        g.value = quantile(q, g.heap);
        break;
      default:
    }
    out.push({ metric: g.labels, t: 0, v: g.value });
  }
  return out;
}

function accumulate(op: AggregateOp, g: Group, s: Sample, k: number): void {
  const v = s.v;
  switch (op) {
    case 'sum':
      g.value += v;
      break;
    case 'avg': {
      g.count++;
      if (g.mean === Infinity || g.mean === -Infinity) {
        // Inf of the same sign keeps the mean; so does a finite value.
        if ((v === Infinity || v === -Infinity) && (g.mean > 0) === (v > 0)) break;
        if (Number.isFinite(v)) break;
      }
      // Both terms divided by the count, so that large values do not overflow.
      g.mean += v / g.count - g.mean / g.count;
      break;
    }
    case 'group':
      break;
    case 'max':
      if (g.value < v || Number.isNaN(g.value)) g.value = v;
      break;
    case 'min':
      if (g.value > v || Number.isNaN(g.value)) g.value = v;
      break;
    case 'count':
    case 'count_values':
      g.count++;
      break;
    case 'stdvar':
    case 'stddev': {
      g.count++;
      const delta = v - g.mean;
      g.mean += delta / g.count;
      g.value += delta * (v - g.mean);
      break;
    }
    case 'topk':
    case 'bottomk': {
      const less = op === 'topk' ? byValue : byReverseValue;
      const h = g.heap;
      const top = h[0]!.v;
      const better = op === 'topk' ? top < v : top > v;
      if (h.length < k || better || Number.isNaN(top)) {
        const item = { metric: s.metric, t: 0, v };
        if (h.length === k) {
          if (k === 1) {
            h[0] = item; // replaced in place, as Prometheus does for k = 1
            break;
          }
          heapPop(h, less);
        }
        heapPush(h, item, less);
      }
      break;
    }
    case 'quantile':
      g.heap.push(s);
      break;
  }
}

/**
 * The q-quantile of the values (Prometheus' `quantile`): NaN for none or a
 * NaN q, -Inf for q < 0, +Inf for q > 1, else the weighted average of the
 * two samples around rank q·(n-1).
 */
export function quantile(q: number, values: Sample[]): number {
  if (values.length === 0 || Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  goSort(values, byValue);
  const n = values.length;
  const rank = q * (n - 1);
  const lower = Math.max(0, Math.floor(rank));
  const upper = Math.min(n - 1, lower + 1);
  const weight = rank - Math.floor(rank);
  return values[lower]!.v * (1 - weight) + values[upper]!.v * weight;
}
