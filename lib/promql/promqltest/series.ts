/**
 * The pieces of the promqltest language shared by `load` blocks and
 * expected results: durations, numbers, and series descriptions
 * (`metric{l="v"} 1+2x3 _ stale`), after Prometheus' `model.ParseDuration`
 * and `parser.ParseSeriesDesc` (promql/parser/generated_parser.y, 2.42).
 */
import { labelsFromPairs, type Labels } from '../../labels/labels.ts';
import { StratusError } from '../../util/errors.ts';

/** A script that does not parse; `line` is 1-based. */
export class ScriptSyntaxError extends StratusError {
  constructor(
    readonly line: number,
    detail: string,
  ) {
    super(`line ${line}: ${detail}`);
  }
}

/**
 * One element of an expanded value sequence. Values are kept in object
 * fields, never in plain number arrays: V8 would quiet the stale marker's
 * signalling NaN there.
 */
export interface SequenceValue {
  /** `_`: no sample at this step. */
  omitted: boolean;
  v: number;
}

/** A parsed series description. */
export interface SeriesDesc {
  labels: Labels;
  values: SequenceValue[];
}

const staleView = new DataView(new ArrayBuffer(8));
staleView.setUint32(0, 0x7ff00000);
staleView.setUint32(4, 0x00000002);

/** Prometheus' stale marker, the NaN with bits 0x7ff0000000000002. */
export const StaleNaN: number = staleView.getFloat64(0);

/** Whether `v` has exactly the stale marker's bits. */
export function isStaleNaN(v: number): boolean {
  staleView.setFloat64(0, v);
  return staleView.getUint32(0) === 0x7ff00000 && staleView.getUint32(4) === 2;
}

const DurationUnits: readonly [string, number][] = [
  ['y', 365 * 24 * 3600_000],
  ['w', 7 * 24 * 3600_000],
  ['d', 24 * 3600_000],
  ['h', 3600_000],
  ['m', 60_000],
  ['s', 1000],
  ['ms', 1],
];
const DurationRe = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;

/**
 * Parses a duration as Prometheus' `model.ParseDuration` does (`1h30m`,
 * `5m`, `0`), to milliseconds. Returns undefined when it is not one.
 */
export function parseDurationMs(s: string): number | undefined {
  if (s === '0') return 0;
  if (s === '') return undefined;
  const m = DurationRe.exec(s);
  if (m === null) return undefined;
  let ms = 0;
  for (let i = 0; i < DurationUnits.length; i++) {
    const part = m[i + 1];
    if (part !== undefined) ms += Number(part) * DurationUnits[i]![1];
  }
  return ms;
}

const FloatRe = /^[+-]?(?:(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d+)?|inf(?:inity)?|nan)$/i;

/**
 * Parses a number the way Go's `strconv.ParseInt(s, 0, 64)` then
 * `strconv.ParseFloat(s, 64)` do: hex (`0x1f`), octal (`017`), binary
 * (`0b1`), decimal and float forms, `Inf`, `NaN`. Returns undefined when
 * it is not a number.
 */
export function parseNumber(s: string): number | undefined {
  const sign = s.startsWith('-') ? -1 : 1;
  const body = s.startsWith('-') || s.startsWith('+') ? s.slice(1) : s;
  let m: RegExpExecArray | null;
  if ((m = /^0[xX]([0-9a-fA-F_]+)$/.exec(body)) !== null) return sign * parseInt(m[1]!.replaceAll('_', ''), 16);
  if ((m = /^0[bB]([01_]+)$/.exec(body)) !== null) return sign * parseInt(m[1]!.replaceAll('_', ''), 2);
  if ((m = /^0[oO]?([0-7_]+)$/.exec(body)) !== null) return sign * parseInt(m[1]!.replaceAll('_', ''), 8);
  if (!FloatRe.test(s)) return undefined;
  const lower = body.toLowerCase();
  if (lower === 'nan') return NaN;
  if (lower === 'inf' || lower === 'infinity') return sign * Infinity;
  return sign * Number(body.replaceAll('_', ''));
}

/** Reads a Go string literal ("..", '..' or `..`) starting at s[i]; returns its value and the index after it. */
export function readQuoted(s: string, i: number, line: number): { value: string; end: number } {
  const q = s[i];
  if (q === '`') {
    const close = s.indexOf('`', i + 1);
    if (close < 0) throw new ScriptSyntaxError(line, 'unterminated raw string');
    return { value: s.slice(i + 1, close), end: close + 1 };
  }
  if (q !== '"' && q !== "'") throw new ScriptSyntaxError(line, `expected a quoted string at column ${i + 1}`);
  let out = '';
  for (let j = i + 1; j < s.length; j++) {
    const c = s[j]!;
    if (c === q) return { value: out, end: j + 1 };
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = s[++j];
    const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v', '\\': '\\', '"': '"', "'": "'" };
    if (e !== undefined && simple[e] !== undefined) {
      out += simple[e];
    } else if (e === 'x' || e === 'u' || e === 'U') {
      const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      const hex = s.slice(j + 1, j + 1 + n);
      if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) throw new ScriptSyntaxError(line, `invalid escape \\${e}${hex}`);
      out += String.fromCodePoint(parseInt(hex, 16));
      j += n;
    } else if (e !== undefined && /[0-7]/.test(e)) {
      const oct = s.slice(j, j + 3);
      if (!/^[0-7]{3}$/.test(oct)) throw new ScriptSyntaxError(line, `invalid escape \\${oct}`);
      out += String.fromCharCode(parseInt(oct, 8));
      j += 2;
    } else {
      throw new ScriptSyntaxError(line, `unknown escape sequence \\${e ?? ''}`);
    }
  }
  throw new ScriptSyntaxError(line, 'unterminated quoted string');
}

const MetricNameRe = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LabelNameRe = /^[a-zA-Z_][a-zA-Z0-9_]*/;

/**
 * Parses the label part of a series description (`name{a="b",}` or
 * `{a="b"}` or `name`); returns the labels and the index after them.
 */
export function parseSeriesLabels(s: string, line: number): { labels: Labels; end: number } {
  const pairs: [string, string][] = [];
  let i = 0;
  const name = MetricNameRe.exec(s);
  if (name !== null) {
    pairs.push(['__name__', name[0]]);
    i = name[0].length;
  }
  if (s[i] === '{') {
    i++;
    for (;;) {
      while (s[i] === ' ' || s[i] === '\t') i++;
      if (s[i] === '}') {
        i++;
        break;
      }
      const ln = LabelNameRe.exec(s.slice(i));
      if (ln === null) throw new ScriptSyntaxError(line, `expected a label name at column ${i + 1} in ${JSON.stringify(s)}`);
      i += ln[0].length;
      while (s[i] === ' ' || s[i] === '\t') i++;
      if (s[i] !== '=' || s[i + 1] === '~') throw new ScriptSyntaxError(line, `expected "=" after label ${ln[0]} (series descriptions take only equality)`);
      i++;
      while (s[i] === ' ' || s[i] === '\t') i++;
      const q = readQuoted(s, i, line);
      pairs.push([ln[0], q.value]);
      i = q.end;
      while (s[i] === ' ' || s[i] === '\t') i++;
      if (s[i] === ',') i++;
      else if (s[i] !== '}') throw new ScriptSyntaxError(line, `expected "," or "}" at column ${i + 1} in ${JSON.stringify(s)}`);
    }
  } else if (name === null) {
    throw new ScriptSyntaxError(line, `expected a metric name or "{" in ${JSON.stringify(s)}`);
  }
  try {
    return { labels: labelsFromPairs(pairs), end: i };
  } catch (e) {
    throw new ScriptSyntaxError(line, (e as Error).message);
  }
}

const Num = String.raw`(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[iI]nf|[nN]a[nN])`;
const ItemRe = new RegExp(String.raw`^(?:(stale)|([+-]?${Num}))(?:([+-]${Num})?x(\d+))?$`);

/**
 * Expands one whitespace-separated item of a value sequence: `_`, `_xN`,
 * `v`, `vxN` (N+1 copies), `v+dxN` / `v-dxN` (N+1 values, adding d each
 * time, accumulating in float64 as Prometheus does), `stale`.
 */
export function expandItem(item: string, line: number): SequenceValue[] {
  if (item === '_') return [{ omitted: true, v: 0 }];
  const blanks = /^_x(\d+)$/.exec(item);
  if (blanks !== null) return Array.from({ length: Number(blanks[1]) }, () => ({ omitted: true, v: 0 }));
  const m = ItemRe.exec(item);
  if (m === null) throw new ScriptSyntaxError(line, `invalid series value ${JSON.stringify(item)}`);
  let v = m[1] !== undefined ? StaleNaN : parseNumber(m[2]!)!;
  if (m[4] === undefined) return [{ omitted: false, v }];
  const delta = m[3] === undefined ? 0 : parseNumber(m[3])!;
  const out: SequenceValue[] = [];
  for (let k = 0; k <= Number(m[4]); k++) {
    out.push({ omitted: false, v });
    v += delta;
  }
  return out;
}

/** Parses a whole series description line: labels, then value items. */
export function parseSeriesDesc(s: string, line: number): SeriesDesc {
  const { labels, end } = parseSeriesLabels(s, line);
  const rest = s.slice(end);
  if (rest !== '' && !/^\s/.test(rest)) throw new ScriptSyntaxError(line, `expected a space after the labels in ${JSON.stringify(s)}`);
  const values: SequenceValue[] = [];
  for (const item of rest.trim().split(/\s+/)) if (item !== '') values.push(...expandItem(item, line));
  return { labels, values };
}
