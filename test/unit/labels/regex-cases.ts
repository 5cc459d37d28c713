/**
 * Regex matcher cases with the answers of Prometheus 2.42 (Go 1.19 RE2).
 * Each expectation was checked once against Debian's Prometheus 2.42.0
 * (`promtool test rules`, one series per input, `''` meaning a series
 * without the label); keep new cases to answers you have checked the same way.
 */

/** A valid pattern, the values it matches and some it must not. */
export interface RegexCase {
  readonly pattern: string;
  readonly match: readonly string[];
  readonly noMatch: readonly string[];
}

/** An invalid pattern and Go's error text (what follows `invalid regular expression "...": `). */
export interface RegexErrorCase {
  readonly pattern: string;
  readonly detail: string;
}

export const regexCases: readonly RegexCase[] = [
  // Anchoring: the whole value must match.
  { pattern: 'foo', match: ['foo'], noMatch: ['', 'xfoo', 'foox', 'foofoo', 'FOO', 'foo\n', '\nfoo'] },
  { pattern: 'foo|bar', match: ['foo', 'bar'], noMatch: ['foobar', 'fooba', 'xbar', ''] },
  { pattern: '^foo$', match: ['foo'], noMatch: ['foo\n', 'xfoo'] },
  { pattern: 'fo+', match: ['fo', 'foo', 'fooo'], noMatch: ['f', 'xfo', 'fox'] },
  { pattern: '', match: [''], noMatch: ['a', ' ', '\n'] },
  { pattern: 'a|', match: ['a', ''], noMatch: ['aa', 'b'] },
  { pattern: 'x*', match: ['', 'x', 'xxx'], noMatch: ['y', 'xy'] },
  { pattern: '(a|b)c', match: ['ac', 'bc'], noMatch: ['c', 'abc', 'a'] },
  { pattern: '(?:api|web)-(0|1)', match: ['api-0', 'web-1'], noMatch: ['api-2', 'api-', 'db-0'] },
  // `.` does not match a newline unless (?s); it matches one code point.
  { pattern: '.*', match: ['', 'foo', 'é😀', 'a b\t'], noMatch: ['a\nb', '\n', 'foo\n'] },
  { pattern: '.+', match: ['a', '😀', 'foo bar'], noMatch: ['', '\n', 'a\n'] },
  { pattern: '(?s).*', match: ['', 'a\nb', '\n'], noMatch: [] },
  { pattern: '(?s).+', match: ['\n', 'x'], noMatch: [''] },
  { pattern: '.', match: ['a', 'é', '😀', '日'], noMatch: ['', '\n', 'ab', '😀😀'] },
  { pattern: '..', match: ['ab', '😀😀', 'a😀'], noMatch: ['😀', 'a'] },
  { pattern: 'foo.*', match: ['foo', 'foobar', 'foo bar'], noMatch: ['fo', 'xfoo', 'foo\nbar', 'foo\n'] },
  { pattern: '.*foo', match: ['foo', 'xfoo', '😀foo'], noMatch: ['foox', 'x\nfoo', 'fo'] },
  { pattern: '.*foo.*', match: ['foo', 'xfooy', 'foofoo'], noMatch: ['fo', 'f\noo', 'foo\n', ''] },
  { pattern: '.+foo.+', match: ['xfooy', 'ffoooo', '😀foo😀'], noMatch: ['foo', 'xfoo', 'fooy', 'x\nfooy'] },
  { pattern: 'a.b', match: ['axb', 'a.b', 'a😀b'], noMatch: ['ab', 'a\nb', 'axxb'] },
  { pattern: 'a\\.b', match: ['a.b'], noMatch: ['axb', 'a\\.b'] },
  { pattern: 'a\\nb', match: ['a\nb'], noMatch: ['anb', 'a\\nb'] },
  { pattern: 'a\nb', match: ['a\nb'], noMatch: ['ab', 'a b'] },
  { pattern: '\\Qa.b\\E+', match: ['a.b', 'a.bbb'], noMatch: ['axb', 'a.'] },
  // Case folding, including Unicode orbits (K, k, KELVIN SIGN; Σ, σ, ς).
  { pattern: '(?i)foo', match: ['foo', 'FOO', 'Foo', 'fOo'], noMatch: ['fo', 'foox'] },
  { pattern: '(?i)k', match: ['k', 'K', '\u212a'], noMatch: ['x'] },
  { pattern: '(?i)σ', match: ['σ', 'Σ', 'ς'], noMatch: ['s'] },
  { pattern: 'FOO(?i)bar', match: ['FOObar', 'FOOBAR'], noMatch: ['fooBAR'] },
  // Classes: Perl classes are ASCII; \p is Unicode; negated classes match \n.
  { pattern: '\\d+', match: ['0', '123'], noMatch: ['٣', '', '1a'] },
  { pattern: '\\w+', match: ['x_total', 'A9'], noMatch: ['é', 'a-b'] },
  { pattern: '\\s', match: [' ', '\t', '\n', '\r', '\f'], noMatch: ['\v', '\u00a0'] },
  { pattern: '[[:alpha:]]+', match: ['abc', 'XYZ'], noMatch: ['é', 'a1'] },
  { pattern: '\\pL+', match: ['é', 'abc', '日本', 'Σ'], noMatch: ['1', '😀', 'a b'] },
  { pattern: '\\p{Greek}+', match: ['Σσς', 'λ'], noMatch: ['abc', 'é'] },
  { pattern: '\\PL', match: ['1', '😀', '\n'], noMatch: ['a', 'é'] },
  { pattern: '[^a]', match: ['b', '\n', '😀'], noMatch: ['a', ''] },
  { pattern: '[😀-😂]', match: ['😀', '😁', '😂'], noMatch: ['😃', '\uE000'] },
  { pattern: 'x{2,3}', match: ['xx', 'xxx'], noMatch: ['x', 'xxxx'] },
  { pattern: 'a{,2}', match: ['a{,2}'], noMatch: ['a', 'aa'] },
  { pattern: '\\bfoo\\b', match: ['foo'], noMatch: ['foox'] },
  { pattern: '(?U)a+', match: ['a', 'aaa'], noMatch: [''] },
  { pattern: '(?P<name>a)b', match: ['ab'], noMatch: ['a'] },
];

export const regexErrorCases: readonly RegexErrorCase[] = [
  { pattern: 'a(', detail: 'error parsing regexp: missing closing ): `^(?:a()$`' },
  { pattern: '[a', detail: 'error parsing regexp: missing closing ]: `[a)$`' },
  { pattern: '*', detail: 'error parsing regexp: missing argument to repetition operator: `*`' },
  { pattern: 'a**', detail: 'error parsing regexp: invalid nested repetition operator: `**`' },
  { pattern: 'x{1001}', detail: 'error parsing regexp: invalid repeat count: `{1001}`' },
  { pattern: '\\8', detail: 'error parsing regexp: invalid escape sequence: `\\8`' },
  { pattern: '\\pX', detail: 'error parsing regexp: invalid character class range: `\\pX`' },
  { pattern: '[z-a]', detail: 'error parsing regexp: invalid character class range: `z-a`' },
  { pattern: '(?z)', detail: 'error parsing regexp: invalid or unsupported Perl syntax: `(?z`' },
  // Go 1.19 has no `(?<name>...)` and no lookbehind.
  { pattern: '(?<n>a)', detail: 'error parsing regexp: invalid or unsupported Perl syntax: `(?<`' },
  { pattern: '(?<=a)b', detail: 'error parsing regexp: invalid or unsupported Perl syntax: `(?<`' },
  { pattern: 'a\\8(?<n>a)', detail: 'error parsing regexp: invalid escape sequence: `\\8`' },
  { pattern: '(?=a)', detail: 'error parsing regexp: invalid or unsupported Perl syntax: `(?=`' },
  // The pattern must also parse alone, so it cannot break out of `^(?:...)$`.
  { pattern: 'a)|(b', detail: 'error parsing regexp: unexpected ): `a)|(b`' },
  { pattern: '\\', detail: 'error parsing regexp: missing closing ): `^(?:\\)$`' },
];
