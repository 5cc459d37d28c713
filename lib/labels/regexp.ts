/**
 * Regular expressions for label matchers, with Prometheus' semantics: Go's
 * RE2 syntax (here through re2js, a port of the same engine), fully anchored
 * as `^(?:value)$`, `.` not matching `\n`, case-sensitive unless `(?i)`.
 *
 * Like Prometheus' FastRegexMatcher (model/labels/regexp.go), the commonly
 * used shapes skip the regex engine:
 *
 * - a finite alternation of literals (`a`, `a|b|c`, `(a|b)c`) is a set lookup,
 *   and its values are exposed for index lookups ({@link FastRegexMatcher.setMatches});
 * - patterns built only from literals, `.*` and `.+` (`.*`, `.+`, `foo.*`,
 *   `.*foo`, `.*foo.*`, `foo.+bar`, alternations of these) are matched with
 *   `startsWith` / `indexOf` / `endsWith` plus a newline check;
 * - anything else runs re2js, after a `startsWith` check of the literal
 *   prefix when there is one.
 *
 * The shape analysis is deliberately narrow: any construct it does not know
 * (classes, flags, escapes other than escaped punctuation, counted or
 * quantified groups) makes it fall back to re2js, which stays the reference.
 */
import { RE2JS, RE2JSException } from 're2js';
import { RegexError } from './errors.ts';
import { goQuote } from './quote.ts';

/** Most values a regex may expand to and still count as a set (Prometheus uses 256 too). */
const maxSetMatches = 256;
/** Most alternative literal/wildcard shapes matched without the engine. */
const maxGlobs = 16;

type Node =
  | { readonly k: 'lit'; readonly s: string }
  | { readonly k: 'any'; readonly min: number }
  | { readonly k: 'cat'; readonly items: readonly Node[] }
  | { readonly k: 'alt'; readonly alts: readonly Node[] };

/** How a {@link FastRegexMatcher} matches: for tests and debugging. */
export type RegexStrategy = 'set' | 'glob' | 'engine';

/** A compiled, anchored label-value regex. Build with {@link compileRegex}. */
export class FastRegexMatcher {
  /** The pattern as given, without the anchoring added around it. */
  readonly source: string;
  /** Which path {@link matchString} takes. */
  readonly strategy: RegexStrategy;
  /**
   * The finite set of values this regex matches, when it is a literal or an
   * alternation of literals (`''` included when it matches the empty value);
   * otherwise undefined. Shared: do not modify.
   */
  readonly setMatches: readonly string[] | undefined;
  private readonly re: RE2JS;
  private readonly fast: ((s: string) => boolean) | undefined;
  private readonly prefix: string;

  /** @internal Use {@link compileRegex}. */
  constructor(source: string, re: RE2JS) {
    this.source = source;
    this.re = re;
    const node = hasLoneSurrogate(source) ? undefined : new ShapeParser(source).parse();
    const set = node === undefined ? undefined : finiteSet(node);
    if (set !== undefined) {
      this.setMatches = set;
      this.fast = set.length === 1 ? equalTo(set[0]!) : inSet(new Set(set));
      this.strategy = 'set';
      this.prefix = '';
      return;
    }
    this.setMatches = undefined;
    this.fast = node === undefined ? undefined : globMatcher(node);
    this.strategy = this.fast === undefined ? 'engine' : 'glob';
    this.prefix = this.fast === undefined ? literalPrefix(source) : '';
  }

  /** Reports whether the whole of `s` matches. */
  matchString(s: string): boolean {
    if (this.fast !== undefined) return this.fast(s);
    if (this.prefix !== '' && !s.startsWith(this.prefix)) return false;
    return this.re.test(s);
  }
}

/**
 * Compiles a label-matcher regex as Prometheus 2.42 does. Throws
 * {@link RegexError} (a BadInputError) with Go's message, e.g.
 * `invalid regular expression "a(": error parsing regexp: missing closing ): \`^(?:a()$\``.
 *
 * Two checks mirror Prometheus 2.42 beyond the engine: the pattern must also
 * parse on its own (so `a)|(b` cannot escape the anchoring group), and
 * `(?<` groups are refused as Go 1.19, its toolchain, refuses them.
 */
export function compileRegex(source: string): FastRegexMatcher {
  const angle = angleGroupAt(source);
  if (angle >= 0) {
    // Go reports the first error from the left: one before the `(?<` wins.
    // (The prefix always lacks its closing parenthesis; that error is not one.)
    try {
      RE2JS.compile('^(?:' + source.slice(0, angle));
    } catch (err) {
      if (err instanceof RE2JSException && !err.message.includes('missing closing )')) {
        throw regexError(source, err.message, err);
      }
    }
    throw regexError(source, 'error parsing regexp: invalid or unsupported Perl syntax: `(?<`');
  }
  let re: RE2JS;
  try {
    re = RE2JS.compile('^(?:' + source + ')$');
    if (source.includes(')')) RE2JS.compile(source);
  } catch (err) {
    if (err instanceof RE2JSException) throw regexError(source, err.message, err);
    throw err;
  }
  return new FastRegexMatcher(source, re);
}

function regexError(source: string, detail: string, cause?: unknown): RegexError {
  return new RegexError(source, `invalid regular expression ${goQuote(source)}: ${detail}`, { cause });
}

function equalTo(v: string): (s: string) => boolean {
  return (s) => s === v;
}

function inSet(set: ReadonlySet<string>): (s: string) => boolean {
  return (s) => set.has(s);
}

function hasLoneSurrogate(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c > 0xdbff) return true;
    const d = s.charCodeAt(i + 1);
    if (!(d >= 0xdc00 && d <= 0xdfff)) return true;
    i++;
  }
  return false;
}

// ---------------------------------------------------------------------------
// Scanning a pattern that already compiled

/** Index of the `]` closing the class that opens at `i`. */
function skipClass(p: string, i: number): number {
  let j = i + 1;
  if (p[j] === '^') j++;
  if (p[j] === ']') j++; // a leading ] is literal
  while (j < p.length) {
    const c = p[j];
    if (c === ']') return j;
    if (c === '\\') j += 2;
    else if (c === '[' && p[j + 1] === ':') {
      const e = p.indexOf(':]', j + 2);
      j = e < 0 ? j + 1 : e + 2;
    } else j++;
  }
  return j;
}

/**
 * Walks the syntax of a valid pattern, skipping escapes, `\Q...\E` and
 * character classes, calling `visit` on every other character with its
 * group depth.
 */
function walk(p: string, visit: (c: string, i: number, depth: number) => void): void {
  let depth = 0;
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '\\') {
      if (p[i + 1] === 'Q') {
        const e = p.indexOf('\\E', i + 2);
        if (e < 0) return;
        i = e + 1;
      } else i++;
      continue;
    }
    if (c === '[') {
      i = skipClass(p, i);
      continue;
    }
    if (c === ')') depth--;
    visit(c, i, depth);
    if (c === '(') depth++;
  }
}

/** Where the pattern first opens a group with `(?<` (unknown to Go 1.19), or -1. */
function angleGroupAt(p: string): number {
  if (!p.includes('(?<')) return -1;
  let at = -1;
  walk(p, (c, i) => {
    if (at < 0 && c === '(' && p[i + 1] === '?' && p[i + 2] === '<') at = i;
  });
  return at;
}

const meta = '\\.+*?()|[]{}^$';
const quantifiers = '*+?{';

/**
 * The literal text every match must start with: the leading plain
 * characters, minus the last one when a quantifier follows it; empty when
 * the pattern has a top-level alternation.
 */
function literalPrefix(p: string): string {
  let i = 0;
  while (i < p.length && !meta.includes(p[i]!)) i++;
  if (i === 0) return '';
  let topAlt = false;
  walk(p, (c, _, depth) => {
    if (c === '|' && depth === 0) topAlt = true;
  });
  if (topAlt) return '';
  if (i < p.length && quantifiers.includes(p[i]!)) {
    i--;
    const c = p.charCodeAt(i);
    if (c >= 0xdc00 && c <= 0xdfff) i--; // the quantifier applies to the whole code point
  }
  return p.slice(0, i);
}

function isAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/**
 * Parses the small subset of RE2 syntax the fast paths understand: literal
 * characters, punctuation escapes, `.*`, `.+` (lazy or not), groups without
 * quantifiers and `|`. `parse` returns undefined for anything else. Only run
 * on patterns re2js compiled, so syntax errors need no reporting.
 */
class ShapeParser {
  private i = 0;
  constructor(private readonly p: string) {}

  parse(): Node | undefined {
    const node = this.alt(0);
    return node !== undefined && this.i === this.p.length ? node : undefined;
  }

  private alt(depth: number): Node | undefined {
    const alts: Node[] = [];
    for (;;) {
      const cat = this.cat(depth);
      if (cat === undefined) return undefined;
      alts.push(cat);
      if (this.p[this.i] !== '|') break;
      this.i++;
    }
    return alts.length === 1 ? alts[0] : { k: 'alt', alts };
  }

  private cat(depth: number): Node | undefined {
    const p = this.p;
    const items: Node[] = [];
    let lit = '';
    const flush = (): void => {
      if (lit !== '') items.push({ k: 'lit', s: lit });
      lit = '';
    };
    while (this.i < p.length) {
      const c = p[this.i]!;
      if (c === '|' || c === ')') break;
      if (c === '(') {
        if (depth >= 32) return undefined;
        let j = this.i + 1;
        if (p[j] === '?') {
          if (p[j + 1] !== ':') return undefined; // flags, named groups
          j += 2;
        }
        this.i = j;
        const inner = this.alt(depth + 1);
        if (inner === undefined || p[this.i] !== ')') return undefined;
        this.i++;
        if (quantifiers.includes(p[this.i] ?? '.')) return undefined;
        flush();
        items.push(inner);
        continue;
      }
      if (c === '.') {
        const q = p[this.i + 1];
        if (q !== '*' && q !== '+') return undefined;
        let j = this.i + 2;
        if (p[j] === '?') j++; // lazy: same matches when anchored
        if (quantifiers.includes(p[j] ?? '.')) return undefined;
        flush();
        items.push({ k: 'any', min: q === '+' ? 1 : 0 });
        this.i = j;
        continue;
      }
      let ch: string;
      if (c === '\\') {
        const e = p.charCodeAt(this.i + 1);
        if (!(e < 0x80 && !isAlnum(e))) return undefined; // \d, \n, \pL, \Q, ...
        ch = p[this.i + 1]!;
        this.i += 2;
      } else if (meta.includes(c)) {
        return undefined;
      } else {
        ch = c;
        this.i++;
      }
      if (quantifiers.includes(p[this.i] ?? '.')) return undefined;
      lit += ch;
    }
    flush();
    if (items.length === 0) return { k: 'lit', s: '' };
    return items.length === 1 ? items[0] : { k: 'cat', items };
  }
}

// ---------------------------------------------------------------------------
// Shapes to matchers

/** The finite set of strings `node` matches, or undefined if infinite or too many. */
function finiteSet(node: Node): string[] | undefined {
  switch (node.k) {
    case 'lit':
      return [node.s];
    case 'any':
      return undefined;
    case 'alt': {
      const out = new Set<string>();
      for (const a of node.alts) {
        const sub = finiteSet(a);
        if (sub === undefined) return undefined;
        for (const s of sub) out.add(s);
        if (out.size > maxSetMatches) return undefined;
      }
      return [...out];
    }
    case 'cat': {
      let acc = [''];
      for (const item of node.items) {
        const sub = finiteSet(item);
        if (sub === undefined || acc.length * sub.length > maxSetMatches) return undefined;
        const next: string[] = [];
        for (const a of acc) for (const b of sub) next.push(a + b);
        acc = next;
      }
      return [...new Set(acc)];
    }
  }
}

type Piece = { readonly k: 'lit'; readonly s: string } | { readonly k: 'any'; readonly min: number };

/** Expands `node` into alternative flat sequences of literals and wildcards. */
function expand(node: Node): Piece[][] | undefined {
  switch (node.k) {
    case 'lit':
    case 'any':
      return [[node]];
    case 'alt': {
      const out: Piece[][] = [];
      for (const a of node.alts) {
        const sub = expand(a);
        if (sub === undefined || out.length + sub.length > maxGlobs) return undefined;
        out.push(...sub);
      }
      return out;
    }
    case 'cat': {
      let acc: Piece[][] = [[]];
      for (const item of node.items) {
        const sub = expand(item);
        if (sub === undefined || acc.length * sub.length > maxGlobs) return undefined;
        const next: Piece[][] = [];
        for (const a of acc) for (const b of sub) next.push([...a, ...b]);
        acc = next;
      }
      return acc;
    }
  }
}

/** A matcher for `node` built from string operations, or undefined. */
function globMatcher(node: Node): ((s: string) => boolean) | undefined {
  const seqs = expand(node);
  if (seqs === undefined) return undefined;
  const fns: ((s: string) => boolean)[] = [];
  for (const seq of seqs) {
    const fn = globFromPieces(seq);
    if (fn === undefined) return undefined;
    fns.push(fn);
  }
  if (fns.length === 1) return fns[0];
  return (s) => {
    for (let i = 0; i < fns.length; i++) if (fns[i]!(s)) return true;
    return false;
  };
}

/**
 * Matches one sequence like `pre .* mid1 .+ mid2 .* suf`. A wildcard never
 * matches `\n` and (checked here) no literal next to one holds `\n`, so a
 * match holds no `\n` at all. Minimum lengths are counted in UTF-16 units,
 * which is exact only because each wildcard needs at most one character (a
 * run like `.+.+` needs two code points and is left to the engine).
 */
function globFromPieces(seq: readonly Piece[]): ((s: string) => boolean) | undefined {
  // Merge neighbours of the same kind.
  const parts: Piece[] = [];
  for (const p of seq) {
    const last = parts[parts.length - 1];
    if (last !== undefined && last.k === 'lit' && p.k === 'lit') parts[parts.length - 1] = { k: 'lit', s: last.s + p.s };
    else if (last !== undefined && last.k === 'any' && p.k === 'any') {
      parts[parts.length - 1] = { k: 'any', min: last.min + p.min };
    } else if (p.k !== 'lit' || p.s !== '') parts.push(p);
  }
  if (parts.length === 0) return equalTo('');
  if (parts.length === 1 && parts[0]!.k === 'lit') return equalTo(parts[0]!.s);
  for (const p of parts) {
    if (p.k === 'any' && p.min > 1) return undefined;
    if (p.k === 'lit' && p.s.includes('\n')) return undefined;
  }

  let from = 0;
  let to = parts.length;
  const first = parts[0]!;
  const last = parts[parts.length - 1]!;
  const pre = first.k === 'lit' ? first.s : '';
  if (first.k === 'lit') from++;
  const suf = last.k === 'lit' ? last.s : '';
  if (last.k === 'lit') to--;
  // parts[from, to) alternate any, lit, any, ..., any.
  const mids: { min: number; lit: string }[] = [];
  for (let i = from; i + 1 < to; i += 2) {
    mids.push({ min: (parts[i] as { min: number }).min, lit: (parts[i + 1] as { s: string }).s });
  }
  const tailMin = (parts[to - 1] as { min: number }).min;
  let minLen = pre.length + suf.length + tailMin;
  for (const m of mids) minLen += m.min + m.lit.length;

  if (mids.length === 0 && suf === '') {
    if (pre === '') return tailMin === 0 ? noNewline : nonEmptyNoNewline;
    return (s) => s.length >= minLen && s.startsWith(pre) && s.indexOf('\n', pre.length) === -1;
  }
  return (s) => {
    if (s.length < minLen || !s.startsWith(pre) || !s.endsWith(suf) || s.indexOf('\n') !== -1) return false;
    let pos = pre.length;
    const end = s.length - suf.length;
    for (let i = 0; i < mids.length; i++) {
      const m = mids[i]!;
      const at = s.indexOf(m.lit, pos + m.min);
      if (at < 0 || at + m.lit.length > end) return false;
      pos = at + m.lit.length;
    }
    return end - pos >= tailMin;
  };
}

function noNewline(s: string): boolean {
  return s.indexOf('\n') === -1;
}

function nonEmptyNoNewline(s: string): boolean {
  return s.length > 0 && s.indexOf('\n') === -1;
}
