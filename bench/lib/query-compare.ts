/**
 * Comparing two `/api/v1/query_range` answers for the query benchmark:
 * same series (by label set), same timestamps, values within a tolerance.
 * Values are compared as the JSON strings Prometheus writes them (`"NaN"`,
 * `"+Inf"`, ...), parsed with `Number`, so NaN matches NaN and infinities
 * match by sign.
 */

/** One series of a matrix answer, as the API writes it. */
export interface MatrixSeries {
  metric: Record<string, string>;
  values: [number, string][];
}

/** The parts of a query_range answer the benchmark reads. */
export interface RangeAnswer {
  status: string;
  data?: { resultType: string; result: MatrixSeries[] };
  errorType?: string;
  error?: string;
}

/** Outcome of {@link compareMatrices}. */
export interface MatrixComparison {
  /** Series in each answer. */
  seriesA: number;
  seriesB: number;
  /** Points in each answer. */
  pointsA: number;
  pointsB: number;
  /** Points whose values are beyond the tolerance. */
  valuesDiffer: number;
  /** Largest relative difference seen among finite values. */
  maxRelDiff: number;
  /** Human-readable differences (first few only); empty when the answers agree. */
  problems: string[];
}

/** The canonical key of a label set (sorted `name="value"` pairs). */
export function metricKey(m: Record<string, string>): string {
  return Object.keys(m)
    .sort()
    .map((k) => `${k}=${JSON.stringify(m[k])}`)
    .join(',');
}

/**
 * Whether `a` and `b` agree within `tol`: `|a - b| <= tol * max(1, |a|, |b|)`,
 * i.e. absolute near zero and relative for larger magnitudes. NaN equals
 * NaN; infinities must be equal.
 */
export function closeEnough(a: number, b: number, tol: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (!Number.isFinite(a) || !Number.isFinite(b)) return a === b;
  return Math.abs(a - b) <= tol * Math.max(1, Math.abs(a), Math.abs(b));
}

const MaxProblems = 5;

/** Compares two matrix answers series by series (order ignored), point by point. */
export function compareMatrices(a: RangeAnswer, b: RangeAnswer, tol: number): MatrixComparison {
  const out: MatrixComparison = { seriesA: 0, seriesB: 0, pointsA: 0, pointsB: 0, valuesDiffer: 0, maxRelDiff: 0, problems: [] };
  const problem = (msg: string): void => {
    if (out.problems.length < MaxProblems) out.problems.push(msg);
    else if (out.problems.length === MaxProblems) out.problems.push('...');
  };
  if (a.status !== 'success' || b.status !== 'success') {
    problem(`status ${a.status}${a.error ? ` (${a.error})` : ''} vs ${b.status}${b.error ? ` (${b.error})` : ''}`);
    return out;
  }
  const ra = a.data?.result ?? [];
  const rb = b.data?.result ?? [];
  if (a.data?.resultType !== 'matrix' || b.data?.resultType !== 'matrix') {
    problem(`resultType ${a.data?.resultType} vs ${b.data?.resultType}`);
  }
  out.seriesA = ra.length;
  out.seriesB = rb.length;
  for (const s of ra) out.pointsA += s.values.length;
  for (const s of rb) out.pointsB += s.values.length;
  const byKey = new Map<string, MatrixSeries>();
  for (const s of rb) byKey.set(metricKey(s.metric), s);
  for (const sa of ra) {
    const key = metricKey(sa.metric);
    const sb = byKey.get(key);
    if (sb === undefined) {
      problem(`series {${key}} only in the first answer`);
      continue;
    }
    byKey.delete(key);
    if (sa.values.length !== sb.values.length) problem(`{${key}}: ${sa.values.length} vs ${sb.values.length} points`);
    const n = Math.min(sa.values.length, sb.values.length);
    for (let i = 0; i < n; i++) {
      const [ta, va] = sa.values[i]!;
      const [tb, vb] = sb.values[i]!;
      if (ta !== tb) {
        problem(`{${key}} point ${i}: time ${ta} vs ${tb}`);
        break;
      }
      const x = Number(va);
      const y = Number(vb);
      if (Number.isFinite(x) && Number.isFinite(y) && x !== y) {
        const rel = Math.abs(x - y) / Math.max(1, Math.abs(x), Math.abs(y));
        if (rel > out.maxRelDiff) out.maxRelDiff = rel;
      }
      if (!closeEnough(x, y, tol)) {
        out.valuesDiffer++;
        problem(`{${key}} at ${ta}: ${va} vs ${vb}`);
      }
    }
  }
  for (const key of byKey.keys()) problem(`series {${key}} only in the second answer`);
  return out;
}
