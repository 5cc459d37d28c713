/**
 * The JSON Prometheus 2.42's API writes, byte for byte where it matters to
 * clients: sample values as strings (`"NaN"`, `"+Inf"`, `"-Inf"`, shortest
 * round-trip digits), timestamps as unix seconds with millisecond decimals
 * (`1435781451.781`), label sets as objects in label order, and the
 * `{"status":...}` envelope with Go's field order and `omitempty` rules.
 *
 * Written by hand rather than with `JSON.stringify` because values and
 * timestamps need Prometheus' own number formatting (util/jsonutil, and
 * the jsoniter encoders of web/api/v1/api.go).
 */
import type { Labels } from '../labels/labels.ts';
import type { Matrix, Value, Vector } from '../promql/value.ts';
import type { ErrorType } from './errors.ts';

/**
 * A sample value as Prometheus' `jsonutil.MarshalValue` writes it (without
 * the quotes): Go's `strconv.FormatFloat(v, 'f', -1, 64)`, switching to the
 * `'e'` format (two-digit exponent at least) below 1e-6 and from 1e21 on.
 * JavaScript's shortest round-trip digits and switch points are the same;
 * only the exponent padding, the sign of infinities and -0 differ.
 */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const s = String(v);
  const e = s.indexOf('e');
  if (e < 0) return s;
  // JS: 1e-7, 1.5e+21; Go: 1e-07, 1.5e+21.
  const sign = s[e + 1]!;
  const digits = s.slice(e + 2);
  return `${s.slice(0, e)}e${sign}${digits.length < 2 ? '0' + digits : digits}`;
}

/**
 * A timestamp (ms) as Prometheus' `jsonutil.MarshalTimestamp` writes it:
 * whole seconds, then `.` and exactly three digits when the milliseconds
 * are not zero (`1.500`, `1.005`, `-0.250`).
 */
export function formatTimestamp(ms: number): string {
  const neg = ms < 0;
  const a = neg ? -ms : ms;
  const sec = Math.floor(a / 1000);
  const frac = a - sec * 1000;
  let out = (neg ? '-' : '') + String(sec);
  if (frac !== 0) out += '.' + String(frac).padStart(3, '0');
  return out;
}

/**
 * A JSON string as Go's encoding/json writes it: HTML-sensitive `<`, `>`,
 * `&` and the line separators U+2028/U+2029 escaped, and the control
 * characters \b and \f as `\u0008`/`\u000c` (Go before 1.22).
 */
export function jsonString(s: string): string {
  const out = JSON.stringify(s);
  if (!/[<>&\u2028\u2029]|\\[bf]/.test(out)) return out;
  return out.replace(/[<>&\u2028\u2029]|\\\\|\\[bf]/g, (c) => {
    switch (c) {
      case '<':
        return '\\u003c';
      case '>':
        return '\\u003e';
      case '&':
        return '\\u0026';
      case '\u2028':
        return '\\u2028';
      case '\u2029':
        return '\\u2029';
      case '\\b':
        return '\\u0008';
      case '\\f':
        return '\\u000c';
      default:
        return c; // an escaped backslash stays as it is
    }
  });
}

/** A label set as a JSON object, in label order (Go marshals maps with sorted keys). */
export function labelsJson(ls: Labels): string {
  let out = '{';
  for (let i = 0; i < ls.length; i++) {
    if (i > 0) out += ',';
    out += jsonString(ls[i]!.name) + ':' + jsonString(ls[i]!.value);
  }
  return out + '}';
}

function pointJson(t: number, v: number): string {
  return `[${formatTimestamp(t)},"${formatValue(v)}"]`;
}

function vectorJson(vec: Vector): string {
  const parts = new Array<string>(vec.length);
  for (let i = 0; i < vec.length; i++) {
    const s = vec[i]!;
    parts[i] = `{"metric":${labelsJson(s.metric)},"value":${pointJson(s.t, s.v)}}`;
  }
  return '[' + parts.join(',') + ']';
}

function matrixJson(mat: Matrix): string {
  const parts = new Array<string>(mat.length);
  for (let i = 0; i < mat.length; i++) {
    const s = mat[i]!;
    let out = `{"metric":${labelsJson(s.metric)}`;
    // Prometheus leaves out "values" for a series without float points.
    if (s.points.length > 0) {
      const pts = new Array<string>(s.points.length);
      for (let j = 0; j < s.points.length; j++) pts[j] = pointJson(s.points[j]!.t, s.points[j]!.v);
      out += `,"values":[${pts.join(',')}]`;
    }
    parts[i] = out + '}';
  }
  return '[' + parts.join(',') + ']';
}

/** The `data` of a query answer: `{"resultType":...,"result":...}`. */
export function queryDataJson(value: Value): string {
  let result: string;
  switch (value.type) {
    case 'vector':
      result = vectorJson(value.value);
      break;
    case 'matrix':
      result = matrixJson(value.value);
      break;
    case 'scalar':
      result = pointJson(value.value.t, value.value.v);
      break;
    case 'string':
      result = `[${formatTimestamp(value.value.t)},${jsonString(value.value.v)}]`;
      break;
  }
  return `{"resultType":"${value.type}","result":${result}}`;
}

function warningsJson(warnings: readonly string[] | undefined): string {
  if (warnings === undefined || warnings.length === 0) return '';
  return `,"warnings":[${warnings.map(jsonString).join(',')}]`;
}

/** The success envelope around already-encoded `data`; `warnings` only when there are some. */
export function successJson(dataJson: string, warnings?: readonly string[]): string {
  return `{"status":"success","data":${dataJson}${warningsJson(warnings)}}`;
}

/** The error envelope, in Prometheus' field order. */
export function errorJson(errorType: ErrorType, message: string): string {
  return `{"status":"error","errorType":"${errorType}","error":${jsonString(message)}}`;
}
