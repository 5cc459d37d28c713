/**
 * Small helpers for reporting repeated measurements: min / median / max and
 * fixed-width tables.
 */

/** Minimum, median and maximum of a non-empty list (NaN entries ignored). */
export interface Spread {
  min: number;
  median: number;
  max: number;
}

/** The spread of `xs`; all NaN when no finite-or-infinite number is present. */
export function spread(xs: readonly number[]): Spread {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return { min: NaN, median: NaN, max: NaN };
  const mid = s.length >> 1;
  const median = s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { min: s[0]!, median, max: s[s.length - 1]! };
}

/** Formats `x` with `digits` decimals, or '-' for NaN. */
export function fmt(x: number, digits = 2): string {
  return Number.isNaN(x) ? '-' : x.toFixed(digits);
}

/** Formats a count with thousands separators. */
export function fmtInt(x: number): string {
  return Number.isNaN(x) ? '-' : Math.round(x).toLocaleString('en-US');
}

/** Formats bytes as MiB with one decimal. */
export function fmtMiB(bytes: number): string {
  return Number.isNaN(bytes) ? '-' : (bytes / 1024 / 1024).toFixed(1);
}

/** Renders rows as a left/right-aligned text table (first column left, the rest right). */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)));
  const line = (r: readonly string[]): string =>
    r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
