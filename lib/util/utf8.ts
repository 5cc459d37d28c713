/**
 * Compares two strings by Unicode code point, which is the order of their
 * UTF-8 bytes: the order Go (and so Prometheus), LevelDB and DynamoDB use.
 * JavaScript's `<` compares UTF-16 code units instead and puts U+E000..U+FFFF
 * after astral characters; this function does not.
 */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (0xD800..0xDFFF) stand for code points above 0xFFFF, which
    // sort after every BMP character, even those above the surrogate range.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x < y ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}
