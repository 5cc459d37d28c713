/**
 * PromQL literals read the way Prometheus 2.42 reads them: numbers as Go's
 * `strconv.ParseInt(s, 0, 64)` then `strconv.ParseFloat(s, 64)`, durations
 * as prometheus/common's `model.ParseDuration` (v0.39), strings as
 * Prometheus' `strutil.Unquote`. Each returns a value or an error text
 * (without position), which the parser places.
 */
import { goQuote } from '../../labels/quote.ts';

/** A value, or the error text Prometheus would give. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const INT64_MAX_DEC = '9223372036854775807';

/** Go's ParseInt(s, 0, 64) for the unsigned forms the lexer produces; undefined on any error. */
function parseGoInt(s: string): number | undefined {
  if (/^0[xX][0-9a-fA-F]+$/.test(s)) {
    const digits = s.slice(2).replace(/^0+/, '');
    if (digits.length > 16 || (digits.length === 16 && parseInt(digits[0], 16) > 7)) return undefined;
    if (digits.length <= 8) return parseInt(digits || '0', 16);
    // Two exact halves, one rounding: float64(int64) rounds to nearest even like this sum does.
    return parseInt(digits.slice(0, -8), 16) * 2 ** 32 + parseInt(digits.slice(-8), 16);
  }
  if (/^0[0-7]+$/.test(s)) {
    const digits = s.slice(1).replace(/^0+/, '');
    if (digits.length > 21) return undefined;
    if (digits.length <= 10) return parseInt(digits || '0', 8);
    return parseInt(digits.slice(0, -10), 8) * 2 ** 30 + parseInt(digits.slice(-10), 8);
  }
  if (/^(0|[1-9][0-9]*)$/.test(s)) {
    if (s.length > INT64_MAX_DEC.length || (s.length === INT64_MAX_DEC.length && s > INT64_MAX_DEC)) return undefined;
    return Number(s);
  }
  return undefined;
}

/** Go's strconv.ParseFloat(s, 64) for the strings the lexer can produce. */
export function parseGoFloat(s: string): Parsed<number> {
  const lower = s.toLowerCase();
  const body = lower.replace(/^[+-]/, '');
  const neg = lower.startsWith('-');
  if (body === 'inf' || body === 'infinity') return { ok: true, value: neg ? -Infinity : Infinity };
  if (body === 'nan') return { ok: true, value: NaN };
  if (/^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/.test(s)) {
    const v = Number(s);
    if (!Number.isFinite(v)) return { ok: false, error: `strconv.ParseFloat: parsing ${goQuote(s)}: value out of range` };
    return { ok: true, value: v };
  }
  return { ok: false, error: `strconv.ParseFloat: parsing ${goQuote(s)}: invalid syntax` };
}

/** Reads a NUMBER token as Prometheus' `parser.number` does. */
export function parseNumber(s: string): Parsed<number> {
  const n = parseGoInt(s);
  if (n !== undefined) return { ok: true, value: n };
  const f = parseGoFloat(s);
  return f.ok ? f : { ok: false, error: `error parsing number: ${f.error}` };
}

const DURATION_RE = /^(?:([0-9]+)y)?(?:([0-9]+)w)?(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?(?:([0-9]+)ms)?$/;
/** Milliseconds per unit, in the order of DURATION_RE's groups. */
const UNIT_MS = [365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000, 1];
/** Largest count per unit before time.Duration (int64 ns) overflows: (2^63-1)/mult/1e6, integer division. */
const UNIT_LIMIT = [292, 15250, 106751, 2562047, 153722867, 9223372036, 9223372036854];
const MAX_DURATION_MS = 9223372036854.775807;

/** prometheus/common v0.39 `model.ParseDuration`, in milliseconds. */
export function parseModelDuration(s: string): Parsed<number> {
  if (s === '0') return { ok: true, value: 0 };
  if (s === '') return { ok: false, error: 'empty duration string' };
  const m = DURATION_RE.exec(s);
  if (m === null) return { ok: false, error: `not a valid duration string: ${goQuote(s)}` };
  let total = 0;
  let overflow = false;
  for (let i = 0; i < UNIT_MS.length; i++) {
    const g = m[i + 1];
    if (g === undefined) continue;
    const n = Number(g);
    if (n > UNIT_LIMIT[i]) overflow = true;
    total += n * UNIT_MS[i];
    if (total > MAX_DURATION_MS) overflow = true;
  }
  if (overflow) return { ok: false, error: 'duration out of range' };
  return { ok: true, value: total };
}

/** Prometheus' `parseDuration`: model.ParseDuration, and zero refused. */
export function parsePromDuration(s: string): Parsed<number> {
  const d = parseModelDuration(s);
  if (d.ok && d.value === 0) return { ok: false, error: 'duration must be greater than 0' };
  return d;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

function unhex(c: string): number {
  const v = parseInt(c, 16);
  return Number.isNaN(v) ? -1 : v;
}

/**
 * Prometheus' `strutil.Unquote` of a `"..."`, `'...'` or `` `...` `` literal.
 * `\x` and octal escapes give raw bytes; the result is decoded as UTF-8
 * (invalid bytes become U+FFFD, as they do once Prometheus encodes JSON).
 */
export function unquote(s: string): Parsed<string> {
  const bad: Parsed<string> = { ok: false, error: 'invalid syntax' };
  if (s.length < 2) return bad;
  const quote = s[0];
  if (quote !== s[s.length - 1]) return bad;
  const body = s.slice(1, -1);
  if (quote === '`') return body.includes('`') ? bad : { ok: true, value: body };
  if (quote !== '"' && quote !== "'") return bad;
  if (body.includes('\n')) return bad;
  if (!body.includes('\\') && !body.includes(quote)) return { ok: true, value: body };

  const out: number[] = [];
  const pushString = (str: string) => {
    for (const b of encoder.encode(str)) out.push(b);
  };
  let i = 0;
  while (i < body.length) {
    const c = body[i];
    if (c === quote) return bad;
    if (c !== '\\') {
      const cp = body.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      pushString(ch);
      i += ch.length;
      continue;
    }
    if (i + 1 >= body.length) return bad;
    const e = body[i + 1];
    i += 2;
    const simple: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 92 };
    if (e in simple) {
      out.push(simple[e]);
    } else if (e === 'x' || e === 'u' || e === 'U') {
      const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      if (i + n > body.length) return bad;
      let v = 0;
      for (let j = 0; j < n; j++) {
        const x = unhex(body[i + j]);
        if (x < 0) return bad;
        v = v * 16 + x;
      }
      i += n;
      if (e === 'x') out.push(v);
      else if (v > 0x10ffff) return bad;
      else pushString(v >= 0xd800 && v < 0xe000 ? '\ufffd' : String.fromCodePoint(v));
    } else if (e >= '0' && e <= '7') {
      let v = e.charCodeAt(0) - 48;
      if (i + 2 > body.length) return bad;
      for (let j = 0; j < 2; j++) {
        const x = body.charCodeAt(i + j) - 48;
        if (x < 0 || x > 7) return bad;
        v = (v << 3) | x;
      }
      i += 2;
      if (v > 255) return bad;
      out.push(v);
    } else if (e === "'" || e === '"') {
      if (e !== quote) return bad;
      out.push(e.charCodeAt(0));
    } else {
      return bad;
    }
  }
  return { ok: true, value: decoder.decode(Uint8Array.from(out)) };
}

/** Go's `%f` (6 decimals, exact decimal expansion) of a float64. */
export function goFormatF(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (Math.abs(v) < 1e21) return v.toFixed(6);
  // Integers this large are exact: expand mantissa * 2^exp in decimal.
  const neg = v < 0;
  let digits = [1];
  let x = Math.abs(v);
  let exp = 0;
  while (x >= 2 ** 53) {
    x /= 2;
    exp++;
  }
  digits = String(x).split('').map(Number);
  for (let i = 0; i < exp; i++) {
    let carry = 0;
    for (let j = digits.length - 1; j >= 0; j--) {
      const d = digits[j] * 2 + carry;
      digits[j] = d % 10;
      carry = d >= 10 ? 1 : 0;
    }
    if (carry) digits.unshift(carry);
  }
  return `${neg ? '-' : ''}${digits.join('')}.000000`;
}
