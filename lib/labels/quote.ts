/**
 * Go's `strconv.Quote`, which Prometheus uses to print label values
 * (`Labels.String`) and matcher values (`Matcher.String`, via `%q`).
 *
 * The rules mirrored (Go 1.19, the toolchain of Debian's Prometheus 2.42):
 * `"` and `\` get a backslash; printable runes (Unicode letters, marks,
 * numbers, punctuation, symbols and the ASCII space) are kept as they are;
 * `\a \b \f \n \r \t \v` use their short escapes; other runes below U+0020
 * and U+007F become `\xNN`; other non-printable runes become `\uNNNN` or
 * `\UNNNNNNNN` (lowercase hex). A lone surrogate, which UTF-8 cannot hold and
 * our encoder stores as U+FFFD, is printed as U+FFFD.
 *
 * The Unicode tables are the ones of this Node.js build, which may be newer
 * than Go 1.19's (Unicode 13): a rune assigned since then prints raw here and
 * escaped by Prometheus.
 */

const printable = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;
const hex = '0123456789abcdef';

function hexDigits(v: number, width: number): string {
  let out = '';
  for (let shift = (width - 1) * 4; shift >= 0; shift -= 4) out += hex[(v >>> shift) & 0xf];
  return out;
}

function isPrintableRune(cp: number): boolean {
  if (cp < 0x80) return cp >= 0x20 && cp < 0x7f;
  // Latin-1 shortcut as Go does: all printable except NBSP and the soft hyphen.
  if (cp <= 0xff) return cp >= 0xa1 && cp !== 0xad;
  return printable.test(String.fromCodePoint(cp));
}

function escapeRune(cp: number): string {
  switch (cp) {
    case 0x07:
      return '\\a';
    case 0x08:
      return '\\b';
    case 0x0c:
      return '\\f';
    case 0x0a:
      return '\\n';
    case 0x0d:
      return '\\r';
    case 0x09:
      return '\\t';
    case 0x0b:
      return '\\v';
  }
  if (cp < 0x20 || cp === 0x7f) return '\\x' + hexDigits(cp, 2);
  if (cp < 0x10000) return '\\u' + hexDigits(cp, 4);
  return '\\U' + hexDigits(cp, 8);
}

/**
 * Returns `s` as a double-quoted string literal exactly as Go's
 * `strconv.Quote` would print the UTF-8 encoding of `s`.
 */
export function goQuote(s: string): string {
  // Fast path: printable ASCII without quote or backslash.
  let i = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c >= 0x7f || c === 0x22 || c === 0x5c) break;
  }
  if (i === s.length) return '"' + s + '"';

  let out = '"' + s.slice(0, i);
  while (i < s.length) {
    let cp = s.charCodeAt(i);
    let width = 1;
    if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < s.length) {
      const lo = s.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        width = 2;
      }
    }
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd; // lone surrogate
    if (cp === 0x22 || cp === 0x5c) out += '\\' + String.fromCharCode(cp);
    else if (isPrintableRune(cp)) out += String.fromCodePoint(cp);
    else out += escapeRune(cp);
    i += width;
  }
  return out + '"';
}
