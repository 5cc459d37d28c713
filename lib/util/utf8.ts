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

/**
 * True when `s` has no lone UTF-16 surrogate, i.e. it has a UTF-8 encoding
 * (keys with lone surrogates would be mangled by TextEncoder).
 */
export function isWellFormed(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c >= 0xdc00) return false;
    const d = s.charCodeAt(i + 1);
    if (!(d >= 0xdc00 && d <= 0xdfff)) return false;
    i++;
  }
  return true;
}
