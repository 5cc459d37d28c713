/**
 * Go number formatting and parsing that Prometheus' messages and label
 * handling depend on, where JavaScript's built-ins differ:
 *
 * - {@link goFormatFloatF} is Go's `%f` / `strconv.FormatFloat(x, 'f', p, 64)`:
 *   the exact decimal value of the double rounded half to even
 *   (`Number#toFixed` rounds exact ties away from zero and switches to
 *   exponent form from 1e21 on), `NaN`, `+Inf`, `-Inf`.
 * - {@link goParseFloat} is Go's `strconv.ParseFloat(s, 64)` as far as the
 *   accepted syntax goes (decimal and hexadecimal literals, `_` between
 *   digits, `Inf`/`Infinity`/`NaN` in any case, no surrounding spaces) and
 *   its range error for values that overflow to ±Inf.
 */

/** Little-endian base-10 digits of a non-negative integer below 2^53. */
function digitsOf(n: number): number[] {
  const d: number[] = [];
  do {
    d.push(n % 10);
    n = Math.floor(n / 10);
  } while (n > 0);
  return d;
}

function mulSmall(d: number[], k: number): void {
  let carry = 0;
  for (let i = 0; i < d.length; i++) {
    const x = d[i]! * k + carry;
    d[i] = x % 10;
    carry = Math.floor(x / 10);
  }
  while (carry > 0) {
    d.push(carry % 10);
    carry = Math.floor(carry / 10);
  }
}

/**
 * The exact decimal expansion of a finite non-negative double: its digits
 * (most significant first) and how many of them are after the point.
 */
function exactDecimal(x: number): { digits: number[]; fracLen: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  const frac = (hi & 0xfffff) * 2 ** 32 + lo;
  const m = biased === 0 ? frac : frac + 2 ** 52;
  const e = biased === 0 ? -1074 : biased - 1075;
  const d = digitsOf(m);
  let fracLen = 0;
  if (e >= 0) for (let i = 0; i < e; i++) mulSmall(d, 2);
  else {
    for (let i = 0; i < -e; i++) mulSmall(d, 5);
    fracLen = -e;
  }
  while (d.length <= fracLen) d.push(0);
  return { digits: d.reverse(), fracLen };
}

/**
 * Formats `x` as Go's `strconv.FormatFloat(x, 'f', prec, 64)` does (which
 * is also what `%f` prints with `prec` = 6), e.g. `0.5` -> `0.500000`,
 * `-0` -> `-0.000000`, `Infinity` -> `+Inf`.
 */
export function goFormatFloatF(x: number, prec = 6): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return '+Inf';
  if (x === -Infinity) return '-Inf';
  const neg = x < 0 || Object.is(x, -0);
  const { digits, fracLen } = exactDecimal(Math.abs(x));
  // Keep the integer digits and `prec` fraction digits, rounding half to even.
  const keep = digits.length - fracLen + prec;
  let out: number[];
  if (fracLen <= prec) {
    out = digits.concat(new Array<number>(prec - fracLen).fill(0));
  } else {
    out = digits.slice(0, keep);
    const next = digits[keep]!;
    let rest = false;
    for (let i = keep + 1; i < digits.length; i++) if (digits[i] !== 0) rest = true;
    const last = out.length > 0 ? out[out.length - 1]! : 0;
    if (next > 5 || (next === 5 && (rest || last % 2 === 1))) {
      let i = out.length - 1;
      while (i >= 0 && out[i] === 9) out[i--] = 0;
      if (i >= 0) out[i]!++;
      else out.unshift(1);
    }
  }
  let intPart = out.slice(0, out.length - prec).join('').replace(/^0+(?=\d)/, '');
  if (intPart === '') intPart = '0';
  const fracPart = out.slice(out.length - prec).join('');
  return (neg ? '-' : '') + intPart + (prec > 0 ? '.' + fracPart : '');
}

const decimalRe = /^[+-]?(?:[0-9_]+\.?[0-9_]*|\.[0-9_]+)(?:[eE][+-]?[0-9_]+)?$/;
const hexRe = /^[+-]?0[xX](?:[0-9a-fA-F_]+\.?[0-9a-fA-F_]*|\.[0-9a-fA-F_]+)[pP][+-]?[0-9_]+$/;
// Go takes a sign before Inf/Infinity but not before NaN.
const specialRe = /^(?:[+-]?(?:inf|infinity)|nan)$/i;

/** Go's `underscoreOK`: each `_` must sit between digits (or after a base prefix). */
function underscoresOk(s: string): boolean {
  let i = 0;
  if (s[0] === '+' || s[0] === '-') i = 1;
  let saw = '^';
  let hex = false;
  if (s.length - i >= 2 && s[i] === '0' && /[bBoOxX]/.test(s[i + 1]!)) {
    hex = s[i + 1] === 'x' || s[i + 1] === 'X';
    i += 2;
    saw = '0';
  }
  for (; i < s.length; i++) {
    const c = s[i]!;
    if ((c >= '0' && c <= '9') || (hex && /[a-fA-F]/.test(c))) {
      saw = '0';
      continue;
    }
    if (c === '_') {
      if (saw !== '0') return false;
      saw = '_';
      continue;
    }
    if (saw === '_') return false;
    saw = '!';
  }
  return saw !== '_';
}

/**
 * Parses `s` as Go's `strconv.ParseFloat(s, 64)`; returns `undefined` where
 * Go returns an error (bad syntax, or a finite literal too large for a
 * float64).
 */
export function goParseFloat(s: string): number | undefined {
  if (specialRe.test(s)) {
    if (/nan/i.test(s)) return NaN;
    return s[0] === '-' ? -Infinity : Infinity;
  }
  const isHex = hexRe.test(s);
  if (!isHex && !decimalRe.test(s)) return undefined;
  if (!/[0-9a-fA-F]/.test(isHex ? s.replace(/^[+-]?0[xX]/, '').replace(/[pP].*$/, '') : s.replace(/[eE].*$/, ''))) {
    return undefined; // no mantissa digits, e.g. "_" or "."
  }
  if (s.includes('_') && !underscoresOk(s)) return undefined;
  const clean = s.replace(/_/g, '');
  let v: number;
  if (isHex) v = parseHexFloat(clean);
  else v = Number(clean);
  if (!Number.isFinite(v)) return undefined; // Go: value out of range
  return v;
}

function parseHexFloat(s: string): number {
  const neg = s[0] === '-';
  const body = s.replace(/^[+-]?0[xX]/, '');
  const [mant, exp] = body.split(/[pP]/) as [string, string];
  const [intDigits, fracDigits = ''] = mant.split('.') as [string, string?];
  // Accumulate the hex digits exactly while they fit, then scale by 2^exp;
  // longer mantissas keep their leading 60 bits and a sticky bit, enough
  // for a correctly rounded double in all but pathological inputs.
  let m = 0;
  let scale = 0;
  let sticky = false;
  const all = intDigits + fracDigits;
  let used = 0;
  for (const ch of all) {
    const d = parseInt(ch, 16);
    if (used < 14) {
      m = m * 16 + d;
      used++;
    } else {
      scale += 4;
      if (d !== 0) sticky = true;
    }
  }
  if (sticky) m += 0.5; // below the 53 kept bits: only breaks exact ties
  const e = Number(exp) + scale - 4 * fracDigits.length;
  const v = m * 2 ** e;
  return neg ? -v : v;
}
