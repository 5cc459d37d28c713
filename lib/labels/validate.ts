/**
 * Turning the raw label pairs of a remote-write time series into a canonical
 * {@link Labels} value, or refusing them with a {@link LabelError}.
 *
 * What Prometheus 2.42's own receiver does, and we mirror: pairs with an
 * empty value are dropped (`Labels.WithoutEmpty`), a set left empty is
 * refused, a repeated name is refused (`label name "job" is not unique`), and
 * the pairs are sorted by name. What we add, because a shared store must not
 * take everything a sender emits: names must match the classic syntax
 * `[a-zA-Z_][a-zA-Z0-9_]*`, and sets, names and values are size-limited.
 * Values are not checked here: the protobuf decoder already refused invalid
 * UTF-8, and Prometheus 2.42 does not check metric-name syntax on ingest.
 */
import { LabelError, LabelErrorKind } from './errors.ts';
import type { Label, Labels } from './labels.ts';
import { goQuote } from './quote.ts';

/** Size limits for one series' labels. Every field is optional. */
export interface LabelLimits {
  /**
   * Most labels a series may have, counted after dropping empty values.
   * @default 128
   */
  readonly maxLabelsPerSeries?: number;
  /**
   * Longest label name, in UTF-8 bytes.
   * @default 1024
   */
  readonly maxNameBytes?: number;
  /**
   * Longest label value, in UTF-8 bytes.
   * @default 16384
   */
  readonly maxValueBytes?: number;
}

/** The limits {@link canonicalize} applies when given none. */
export const DefaultLabelLimits: Required<LabelLimits> = Object.freeze({
  maxLabelsPerSeries: 128,
  maxNameBytes: 1024,
  maxValueBytes: 16384,
});

// 1 for [a-zA-Z_], 2 for [0-9], 0 otherwise.
const nameChar = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  if ((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f) nameChar[c] = 1;
  else if (c >= 0x30 && c <= 0x39) nameChar[c] = 2;
}

/**
 * Reports whether `name` is a valid label name in Prometheus' classic
 * syntax, `^[a-zA-Z_][a-zA-Z0-9_]*$` (`__name__` and other `__` names
 * included). Such a name is ASCII, so its length is its byte length.
 */
export function isValidLabelName(name: string): boolean {
  const n = name.length;
  if (n === 0) return false;
  const c0 = name.charCodeAt(0);
  if (c0 >= 128 || nameChar[c0] !== 1) return false;
  for (let i = 1; i < n; i++) {
    const c = name.charCodeAt(i);
    if (c >= 128 || nameChar[c] === 0) return false;
  }
  return true;
}

/** True when the UTF-8 encoding of `s` is longer than `max` bytes; stops scanning early. */
function utf8LongerThan(s: string, max: number): boolean {
  // Every UTF-16 unit takes at most 3 bytes, so short strings need no scan.
  if (s.length * 3 <= max) return false;
  if (s.length > max) return true;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // A surrogate pair is 4 bytes over 2 units: count 2 for each half.
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c >= 0xd800 && c <= 0xdfff ? 2 : 3;
    if (n > max) return true;
  }
  return false;
}

/**
 * Builds a canonical label set from the parallel `names` / `values` arrays
 * of one received time series (see the module comment for the rules).
 * Already sorted input, which is what Prometheus sends, is taken without
 * sorting. Throws {@link LabelError} naming the label and the series.
 */
export function canonicalize(names: readonly string[], values: readonly string[], limits?: LabelLimits): Labels {
  if (names.length !== values.length) {
    throw new RangeError(`canonicalize: ${names.length} names but ${values.length} values`);
  }
  const maxLabels = limits?.maxLabelsPerSeries ?? DefaultLabelLimits.maxLabelsPerSeries;
  const maxName = limits?.maxNameBytes ?? DefaultLabelLimits.maxNameBytes;
  const maxValue = limits?.maxValueBytes ?? DefaultLabelLimits.maxValueBytes;

  const out: Label[] = [];
  let sorted = true;
  let prev = '';
  for (let i = 0; i < names.length; i++) {
    const value = values[i]!;
    if (value === '') continue;
    const name = names[i]!;
    if (!isValidLabelName(name)) {
      throw new LabelError(
        LabelErrorKind.InvalidName,
        `invalid label name ${quoteShort(name)} in series ${seriesString(names, values)}`,
      );
    }
    if (name.length > maxName) {
      throw new LabelError(
        LabelErrorKind.NameTooLong,
        `label name ${quoteShort(name)} is ${name.length} bytes, more than the limit of ${maxName}, in series ${seriesString(names, values)}`,
      );
    }
    if (utf8LongerThan(value, maxValue)) {
      throw new LabelError(
        LabelErrorKind.ValueTooLong,
        `value of label ${quoteShort(name)} is longer than the limit of ${maxValue} bytes in series ${seriesString(names, values)}`,
      );
    }
    if (out.length >= maxLabels) {
      throw new LabelError(
        LabelErrorKind.TooManyLabels,
        `series has more than the limit of ${maxLabels} labels: ${seriesString(names, values)}`,
      );
    }
    // Valid names are ASCII, where `<` is byte order.
    if (out.length > 0) {
      if (name === prev) throw duplicate(name, names, values);
      if (name < prev) sorted = false;
    }
    out.push({ name, value });
    prev = name;
  }
  if (out.length === 0) {
    throw new LabelError(
      LabelErrorKind.NoLabels,
      names.length === 0
        ? 'series has no labels'
        : `series has no labels after dropping empty values: ${seriesString(names, values)}`,
    );
  }
  if (!sorted) {
    out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (let i = 1; i < out.length; i++) {
      if (out[i]!.name === out[i - 1]!.name) throw duplicate(out[i]!.name, names, values);
    }
  }
  return out;
}

function duplicate(name: string, names: readonly string[], values: readonly string[]): LabelError {
  return new LabelError(
    LabelErrorKind.DuplicateName,
    `label name ${quoteShort(name)} is not unique in series ${seriesString(names, values)}`,
  );
}

const maxQuoted = 64;
const maxSeriesString = 256;

/** Go-quotes `s`, keeping at most {@link maxQuoted} UTF-16 units of it. */
function quoteShort(s: string): string {
  if (s.length <= maxQuoted) return goQuote(s);
  let cut = maxQuoted;
  const c = s.charCodeAt(cut - 1);
  if (c >= 0xd800 && c <= 0xdbff) cut--; // do not split a surrogate pair
  return goQuote(s.slice(0, cut)) + '...';
}

/**
 * The received pairs in Prometheus' `{name="value", ...}` form, for error
 * messages: in received order, names quoted when not valid, long strings
 * shortened, and the whole cut at about {@link maxSeriesString} characters.
 * Always one line.
 */
function seriesString(names: readonly string[], values: readonly string[]): string {
  let out = '{';
  for (let i = 0; i < names.length; i++) {
    if (i > 0) out += ', ';
    const name = names[i]!;
    out += (isValidLabelName(name) && name.length <= maxQuoted ? name : quoteShort(name)) + '=' + quoteShort(values[i]!);
    if (out.length > maxSeriesString && i + 1 < names.length) return out + ', ...}';
  }
  return out + '}';
}
