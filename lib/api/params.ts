/**
 * Request parameters of the Prometheus HTTP API, read and parsed as
 * Prometheus 2.42 does (web/api/v1/api.go: `r.FormValue`, `parseTime`,
 * `parseDuration`, `parseTimeParam`), with the same error texts.
 *
 * Times are milliseconds since the epoch; durations are nanoseconds (as
 * Go's `time.Duration`), because the step checks of query_range are done
 * in nanoseconds and sub-millisecond steps pass them.
 */
import { goQuote } from '../labels/quote.ts';
import type { HttpRequest } from '../server/types.ts';
import { invalidParam } from './errors.ts';

/**
 * The `start` of series and label queries without one: Prometheus'
 * `minTime` (`time.Unix(math.MinInt64/1000+62135596801, 0)`), in ms. It is
 * below -2^53, so only approximately representable; it stands for "no
 * lower bound".
 */
export const MinTimeMs = -9223309901257974000;
/** The `end` of series and label queries without one: Prometheus' `maxTime`, in ms (approximate, see {@link MinTimeMs}). */
export const MaxTimeMs = 9223309901257974999;
/** `minTime` as Prometheus formats it (clients send it back); Go cannot parse years outside 0..9999, so it is special-cased. */
export const MinTimeFormatted = '-292273086-05-16T16:47:06Z';
/** `maxTime` as Prometheus formats it. */
export const MaxTimeFormatted = '292277025-08-18T07:12:54.999999999Z';

/** 2^63, Go's `float64(math.MaxInt64)`. */
const Int64Limit = 9223372036854775808;

/**
 * The parameters of a request as Go's `r.Form`: for a POST with a
 * form-encoded body, the body's values come first, then the URL query's.
 */
export class FormValues {
  readonly #body: URLSearchParams | undefined;
  readonly #query: URLSearchParams;

  constructor(req: Pick<HttpRequest, 'method' | 'headers' | 'query' | 'body'>) {
    this.#query = req.query;
    const ct = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    const hasForm = (req.method === 'POST' || req.method === 'PUT' || req.method === 'PATCH') && ct === 'application/x-www-form-urlencoded';
    this.#body = hasForm ? new URLSearchParams(Buffer.from(req.body.buffer, req.body.byteOffset, req.body.byteLength).toString('utf8')) : undefined;
  }

  /** The first value of `name`, or `''` (Go's `FormValue`). */
  get(name: string): string {
    return this.#body?.get(name) ?? this.#query.get(name) ?? '';
  }

  /** Every value of `name`, body first (Go's `r.Form[name]`). */
  all(name: string): string[] {
    return [...(this.#body?.getAll(name) ?? []), ...this.#query.getAll(name)];
  }

  /** The first value of `name` in the URL query only (Go's `r.URL.Query().Get`). */
  queryOnly(name: string): string {
    return this.#query.get(name) ?? '';
  }
}

const decimalRe = /^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;
const hexRe = /^([+-]?)0[xX]([0-9a-fA-F]*)\.?([0-9a-fA-F]*)[pP]([+-]?[0-9]+)$/;
const infRe = /^([+-]?)(?:inf|infinity)$/i;

/**
 * Go's `strconv.ParseFloat(s, 64)`: decimal and hexadecimal (`0x1p-2`)
 * literals, `inf`/`infinity` with an optional sign and `nan`, in any case.
 * Returns undefined where Go returns an error, including a literal out of
 * float64 range (Go's ErrRange). Underscores, which Go allows only in
 * prefixed literals, are not accepted.
 */
export function goParseFloat(s: string): number | undefined {
  if (decimalRe.test(s)) {
    const v = Number(s);
    return Number.isFinite(v) ? v : undefined;
  }
  const inf = infRe.exec(s);
  if (inf !== null) return inf[1] === '-' ? -Infinity : Infinity;
  if (/^nan$/i.test(s)) return NaN;
  const hex = hexRe.exec(s);
  if (hex !== null && (hex[2]! !== '' || hex[3]! !== '')) {
    const digits = hex[2]! + hex[3]!;
    let mant = 0;
    for (const d of digits) mant = mant * 16 + parseInt(d, 16);
    const v = mant * 2 ** (Number(hex[4]) - 4 * hex[3]!.length);
    if (!Number.isFinite(v)) return undefined;
    return hex[1] === '-' ? -v : v;
  }
  return undefined;
}

/** Go's `math.Round`: half away from zero. */
function goRound(x: number): number {
  const t = Math.trunc(x);
  return Math.abs(x - t) >= 0.5 ? t + Math.sign(x) : t;
}

/** Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function daysIn(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

const rfc3339Re = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{1,2}):([0-9]{2}):([0-9]{2})(?:[.,]([0-9]+))?(Z|([+-])([0-9]{2}):([0-9]{2}))$/;

/**
 * Go's `time.Parse(time.RFC3339Nano, s)` as far as the API needs it:
 * `2006-01-02T15:04:05.999999999Z07:00`, a fraction of any length, `Z` or
 * a numeric offset. Returns ms since the epoch (fraction truncated to the
 * millisecond, as Prometheus' `timestamp.FromTime`), or undefined.
 */
export function parseRFC3339(s: string): number | undefined {
  const m = rfc3339Re.exec(s);
  if (m === null) return undefined;
  const [y, mo, d, h, mi, sec] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) || h > 23 || mi > 59 || sec > 59) return undefined;
  let offsetMin = 0;
  if (m[8] !== 'Z') {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 24 || om > 59) return undefined;
    offsetMin = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const fracMs = m[7] === undefined ? 0 : Number((m[7] + '00').slice(0, 3));
  const seconds = daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offsetMin * 60;
  return seconds * 1000 + fracMs;
}

/**
 * Prometheus' `parseTime`: unix seconds as a float (rounded to the
 * millisecond) or RFC 3339, plus the two formatted boundary times.
 * Non-finite floats, which Prometheus turns into meaningless times, are
 * refused.
 *
 * @throws Error with Prometheus' text: `cannot parse "x" to a valid timestamp`.
 */
export function parseTime(s: string): number {
  const f = goParseFloat(s);
  if (f !== undefined && Number.isFinite(f)) {
    const sec = Math.trunc(f);
    // Mirrors `time.Unix(int64(s), int64(round(frac*1000)/1000 * 1e9))`, then `FromTime`.
    const ns = Math.trunc((goRound((f - sec) * 1000) / 1000) * 1e9);
    return sec * 1000 + Math.floor(ns / 1e6) + 0; // + 0 turns -0 into 0
  }
  if (f === undefined) {
    const t = parseRFC3339(s);
    if (t !== undefined) return t;
    if (s === MinTimeFormatted) return MinTimeMs;
    if (s === MaxTimeFormatted) return MaxTimeMs;
  }
  throw new Error(`cannot parse ${goQuote(s)} to a valid timestamp`);
}

/**
 * Prometheus' `parseTimeParam`: the parameter's value parsed by
 * {@link parseTime}, or `def` when it is empty.
 *
 * @throws ApiError `invalid parameter "<name>": Invalid time value for '<name>': ...`.
 */
export function parseTimeParam(form: FormValues, name: string, def: number): number {
  const v = form.get(name);
  if (v === '') return def;
  try {
    return parseTime(v);
  } catch (err) {
    throw invalidParam(name, `Invalid time value for '${name}': ${(err as Error).message}`);
  }
}

const promDurationRe = /^(?:([0-9]+)y)?(?:([0-9]+)w)?(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?(?:([0-9]+)ms)?$/;
const unitMs = [365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000, 1];

/** prometheus/common's `model.ParseDuration` (y w d h m s ms, in that order), in ms; undefined if invalid or out of range. */
export function parsePromDuration(s: string): number | undefined {
  if (s === '0') return 0;
  if (s === '') return undefined;
  const m = promDurationRe.exec(s);
  if (m === null) return undefined;
  let ms = 0;
  for (let i = 0; i < unitMs.length; i++) {
    const g = m[i + 1];
    if (g !== undefined) ms += Number(g) * unitMs[i]!;
  }
  return ms * 1e6 < Int64Limit ? ms : undefined;
}

/**
 * Prometheus' `parseDuration`: seconds as a float, or a Prometheus
 * duration (`5m`, `1h30m`). Returns nanoseconds, truncated as Go's
 * `time.Duration(float)`; NaN for `NaN` (which Go turns into a negative
 * duration), so `!(d > 0)` catches both.
 *
 * @throws Error with Prometheus' text: `cannot parse "x" to a valid duration`.
 */
export function parseDuration(s: string): number {
  const f = goParseFloat(s);
  if (f !== undefined) {
    const ns = f * 1e9;
    if (ns > Int64Limit || ns < -Int64Limit) throw new Error(`cannot parse ${goQuote(s)} to a valid duration. It overflows int64`);
    return Math.trunc(ns);
  }
  const ms = parsePromDuration(s);
  if (ms !== undefined) return ms * 1e6;
  throw new Error(`cannot parse ${goQuote(s)} to a valid duration`);
}

/** {@link parseDuration} of a request parameter; errors become `invalid parameter "<name>": ...`. */
export function parseDurationParam(form: FormValues, name: string): number {
  try {
    return parseDuration(form.get(name));
  } catch (err) {
    throw invalidParam(name, (err as Error).message);
  }
}
