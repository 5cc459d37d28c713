/**
 * Downsampling arithmetic, after Thanos' downsample package: raw samples
 * become per-window aggregates (the five {@link AggrColumns} of
 * lib/block/format.ts), and aggregates become coarser aggregates.
 *
 * Rows. A series' samples of one block window become rows in a
 * {@link ColumnBuffer} of five value columns (count, sum, min, max,
 * counter), each row stamped at the time of the last sample it holds:
 *
 * - the series' first sample is a row of its own, and so is its last one
 *   (count 1, so their sum is the raw value itself). A reader that joins
 *   two blocks, or a block and raw samples, compares the raw values on both
 *   sides of the seam to see a counter reset there (Thanos keeps the first
 *   and last raw values inside its counter chunks for the same reason);
 * - every other sample goes to the row of its aligned window
 *   `floor(t / res) * res`.
 *
 * NaN values (stale markers, 0x7ff0000000000002, and any other NaN) are
 * skipped entirely, as in Thanos: a downsampled series holds no staleness.
 *
 * The counter column is the series' value with every counter reset (a value
 * lower than the one before) compensated by adding the value before the
 * reset, as Prometheus' rate() does: `counter = v + offset`, where the
 * offset starts at 0 at the block's first sample (so the first row's counter
 * is the raw first value) and grows by the pre-reset value at each reset.
 * The reset test compares consecutive samples whatever windows they fall
 * in, so a reset exactly at a window edge is counted in the later window.
 * Hence, for any two rows, `counter[j] - counter[i]` is exactly the
 * increase that rate()/increase() compute from the raw samples between the
 * two rows' timestamps, resets included.
 *
 * Coarsening keeps the first and last rows as they are and merges the
 * others by the coarser window of their stamp: counts and sums add, min of
 * mins, max of maxes, and the counter of the last row (the offset carries
 * on). A fine window lies inside one coarse window, so 1 h rows made from
 * 5 m rows equal 1 h rows made from the raw samples (up to the rounding of
 * sums added in another order).
 *
 * All loops work on Float64Arrays and allocate nothing per sample.
 */
import type { ColumnBuffer } from '../block/columns.ts';
import { AggrColumns } from '../block/format.ts';

/** Column positions in a five-column ColumnBuffer (AggrColumns order). */
export const Aggr = { COUNT: 0, SUM: 1, MIN: 2, MAX: 3, COUNTER: 4 } as const;

if (AggrColumns.join() !== 'count,sum,min,max,counter') throw new Error('downsample.ts: AggrColumns changed order');

function emit(out: ColumnBuffer, t: number, count: number, sum: number, min: number, max: number, counter: number): void {
  const i = out.n;
  const vs = out.vs;
  out.t[i] = t;
  vs[0]![i] = count;
  vs[1]![i] = sum;
  vs[2]![i] = min;
  vs[3]![i] = max;
  vs[4]![i] = counter;
  out.n = i + 1;
}

/** End (exclusive) of the aligned window of size `res` that holds `t`. */
function windowEnd(t: number, res: number): number {
  return Math.floor(t / res) * res + res;
}

/**
 * Appends to `out` (five value columns) the rows of the raw samples
 * `t[from..to)`, `v[from..to)` (strictly increasing times) at resolution
 * `res` ms. Returns the number of rows appended (0 if every value is NaN).
 */
export function downsampleRaw(t: Float64Array, v: Float64Array, from: number, to: number, res: number, out: ColumnBuffer): number {
  let first = from;
  while (first < to && v[first] !== v[first]) first++;
  if (first === to) return 0;
  let last = to - 1;
  while (v[last] !== v[last]) last--;
  out.reserve(last - first + 1);
  const before = out.n;

  let prev = v[first]!;
  let offset = 0;
  emit(out, t[first]!, 1, prev, prev, prev, prev);
  if (last === first) return 1;

  let open = false;
  let wEnd = -Infinity;
  let count = 0;
  let sum = 0;
  let min = 0;
  let max = 0;
  let counter = 0;
  let lastT = 0;
  for (let i = first + 1; i < last; i++) {
    const x = v[i]!;
    if (x !== x) continue;
    if (x < prev) offset += prev;
    prev = x;
    const ti = t[i]!;
    if (open && ti >= wEnd) {
      emit(out, lastT, count, sum, min, max, counter);
      open = false;
    }
    if (!open) {
      open = true;
      wEnd = windowEnd(ti, res);
      count = 0;
      sum = 0;
      min = x;
      max = x;
    }
    count++;
    sum += x;
    if (x < min) min = x;
    if (x > max) max = x;
    counter = x + offset;
    lastT = ti;
  }
  if (open) emit(out, lastT, count, sum, min, max, counter);

  const x = v[last]!;
  if (x < prev) offset += prev;
  emit(out, t[last]!, 1, x, x, x, x + offset);
  return out.n - before;
}

/**
 * Appends to `out` the rows `[from, to)` of `src` (rows made by
 * {@link downsampleRaw} or by this function) coarsened to resolution `res`.
 * Returns the number of rows appended.
 */
export function downsampleAggr(src: ColumnBuffer, from: number, to: number, res: number, out: ColumnBuffer): number {
  if (to <= from) return 0;
  out.reserve(to - from);
  const before = out.n;
  const t = src.t;
  const [c, s, mn, mx, k] = src.vs as [Float64Array, Float64Array, Float64Array, Float64Array, Float64Array];
  emit(out, t[from]!, c[from]!, s[from]!, mn[from]!, mx[from]!, k[from]!);
  if (to - from === 1) return 1;

  let open = false;
  let wEnd = -Infinity;
  let count = 0;
  let sum = 0;
  let min = 0;
  let max = 0;
  let counter = 0;
  let lastT = 0;
  for (let i = from + 1; i < to - 1; i++) {
    const ti = t[i]!;
    if (open && ti >= wEnd) {
      emit(out, lastT, count, sum, min, max, counter);
      open = false;
    }
    if (!open) {
      open = true;
      wEnd = windowEnd(ti, res);
      count = 0;
      sum = 0;
      min = mn[i]!;
      max = mx[i]!;
    }
    count += c[i]!;
    sum += s[i]!;
    if (mn[i]! < min) min = mn[i]!;
    if (mx[i]! > max) max = mx[i]!;
    counter = k[i]!;
    lastT = ti;
  }
  if (open) emit(out, lastT, count, sum, min, max, counter);
  const l = to - 1;
  emit(out, t[l]!, c[l]!, s[l]!, mn[l]!, mx[l]!, k[l]!);
  return out.n - before;
}
