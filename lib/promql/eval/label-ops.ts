/**
 * Label-set operations of the evaluator: identity keys, dropping the metric
 * name, the match signatures of binary operations and the grouping keys of
 * aggregations (Prometheus' `Labels.Hash`, `BytesWithLabels`,
 * `BytesWithoutLabels`, `HashForLabels`, `HashWithoutLabels`), plus Go's
 * float formatting where PromQL prints numbers into labels or messages.
 *
 * Keys are strings rather than hashes, so two different label sets can never
 * collide. The separators are lone UTF-16 surrogates, which no label name or
 * value can hold (label strings are decoded from UTF-8 or parsed from Go
 * string literals, neither of which yields a lone surrogate).
 */
import { compareUtf8 } from '../../util/utf8.ts';
import { MetricName, type Label, type Labels } from '../../labels/labels.ts';

const PairSep = '\uD800';
const ItemSep = '\uDBFF';

/** Keys of label arrays already seen (the same arrays recur at every step). */
const keyCache = new WeakMap<Labels, string>();

/** A string identifying a label set exactly (for maps and sets). Label arrays must not be mutated. */
export function labelsKey(ls: Labels): string {
  let k = keyCache.get(ls);
  if (k !== undefined) return k;
  k = '';
  for (let i = 0; i < ls.length; i++) {
    const l = ls[i]!;
    k += l.name + PairSep + l.value + ItemSep;
  }
  keyCache.set(ls, k);
  return k;
}

/** The label set without `__name__` (the same array when it has none). */
export function dropMetricName(ls: Labels): Labels {
  for (let i = 0; i < ls.length; i++) {
    if (ls[i]!.name === MetricName) return ls.slice(0, i).concat(ls.slice(i + 1));
  }
  return ls;
}

/** Only the labels named in `names` (Prometheus' `Builder.Keep`). */
export function keepLabels(ls: Labels, names: readonly string[]): Labels {
  const out: Label[] = [];
  for (const l of ls) if (names.includes(l.name)) out.push(l);
  return out;
}

/** The labels not named in `names` (Prometheus' `Builder.Del`). */
export function deleteLabels(ls: Labels, names: readonly string[]): Labels {
  if (names.length === 0) return ls;
  const out: Label[] = [];
  for (const l of ls) if (!names.includes(l.name)) out.push(l);
  return out.length === ls.length ? ls : out;
}

/**
 * Sets label `name` to `value` (deleting it when `value` is empty), keeping
 * the set sorted (Prometheus' `Builder.Set`).
 */
export function setLabel(ls: Labels, name: string, value: string): Labels {
  const out: Label[] = [];
  let done = false;
  for (const l of ls) {
    if (l.name === name) {
      if (value !== '') out.push({ name, value });
      done = true;
      continue;
    }
    if (!done && compareUtf8(l.name, name) > 0) {
      if (value !== '') out.push({ name, value });
      done = true;
    }
    out.push(l);
  }
  if (!done && value !== '') out.push({ name, value });
  return out;
}

/**
 * Returns a function computing the match signature of a series for vector
 * matching: with `on`, the values of the listed labels; otherwise every
 * label except the listed ones and `__name__`.
 */
export function signatureFunc(on: boolean, names: readonly string[]): (ls: Labels) => string {
  if (on) {
    const set = new Set(names);
    return (ls) => {
      let k = '';
      for (const l of ls) if (set.has(l.name)) k += l.name + PairSep + l.value + ItemSep;
      return k;
    };
  }
  const set = new Set(names);
  set.add(MetricName);
  return (ls) => {
    let k = '';
    for (const l of ls) if (!set.has(l.name)) k += l.name + PairSep + l.value + ItemSep;
    return k;
  };
}

/**
 * The grouping key of an aggregation: with `without`, every label except
 * the grouping ones and `__name__`; with `by`, only the grouping ones.
 */
export function groupingKey(ls: Labels, grouping: ReadonlySet<string>, without: boolean): string {
  let k = '';
  if (without) {
    for (const l of ls) {
      if (l.name !== MetricName && !grouping.has(l.name)) k += l.name + PairSep + l.value + ItemSep;
    }
  } else if (grouping.size > 0) {
    for (const l of ls) if (grouping.has(l.name)) k += l.name + PairSep + l.value + ItemSep;
  }
  return k;
}

/**
 * The labels Prometheus prints in the "found duplicate series for the match
 * group" error (`Labels.MatchLabels`): with `on`, the listed labels; else
 * the others except `__name__`.
 */
export function matchLabels(ls: Labels, on: boolean, names: readonly string[]): Labels {
  const out: Label[] = [];
  for (const l of ls) {
    const listed = names.includes(l.name);
    if (on === listed && (on || l.name !== MetricName)) out.push(l);
  }
  return out;
}

/** Reports whether two samples of `vec` share a label set. */
export function containsSameLabelset(vec: readonly { metric: Labels }[]): boolean {
  if (vec.length <= 1) return false;
  const seen = new Set<string>();
  for (const s of vec) {
    const k = labelsKey(s.metric);
    if (seen.has(k)) return true;
    seen.add(k);
  }
  return false;
}

/** Shortest round-trip decimal digits and exponent of a finite non-zero |v|. */
function shortestDigits(v: number): { digits: string; exp: number } {
  const s = Math.abs(v).toExponential(); // shortest round-trip digits, e.g. "1.2345e+2"
  const e = s.indexOf('e');
  return { digits: s.slice(0, e).replace('.', ''), exp: Number(s.slice(e + 1)) };
}

/**
 * Go's `strconv.FormatFloat(v, 'f', -1, 64)`: the shortest decimal that
 * reads back as `v`, never in exponent form (count_values' label values).
 */
export function formatFloatF(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  const sign = v < 0 || Object.is(v, -0) ? '-' : '';
  if (v === 0) return sign + '0';
  const { digits, exp } = shortestDigits(v);
  const dp = exp + 1; // position of the decimal point within digits
  if (dp <= 0) return sign + '0.' + '0'.repeat(-dp) + digits;
  if (dp >= digits.length) return sign + digits + '0'.repeat(dp - digits.length);
  return sign + digits.slice(0, dp) + '.' + digits.slice(dp);
}

/**
 * Go's `%v` for a float64 (`strconv.FormatFloat(v, 'g', -1, 64)`): the
 * shortest digits, in exponent form when the decimal exponent is below -4
 * or at least 6 (`1e+06`, `1.5e-05`, `123456`), as in Prometheus' messages.
 */
export function formatGoFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  const sign = v < 0 || Object.is(v, -0) ? '-' : '';
  if (v === 0) return sign + '0';
  const { digits, exp } = shortestDigits(v);
  if (exp < -4 || exp >= 6) {
    const mant = digits.length > 1 ? digits[0] + '.' + digits.slice(1) : digits;
    const es = Math.abs(exp) < 10 ? '0' + Math.abs(exp) : String(Math.abs(exp));
    return sign + mant + 'e' + (exp < 0 ? '-' : '+') + es;
  }
  return formatFloatF(v);
}
