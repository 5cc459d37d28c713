/**
 * Label matchers (`name="v"`, `!=`, `=~`, `!~`), with the semantics of
 * Prometheus 2.42's model/labels/matcher.go. A series that lacks a label is
 * matched as if the label's value were `''`.
 */
import { BadInputError } from '../util/errors.ts';
import { goQuote } from './quote.ts';
import { compileRegex, type FastRegexMatcher } from './regexp.ts';

/** The four kinds of matcher, spelled as in PromQL. */
export const MatchType = {
  Equal: '=',
  NotEqual: '!=',
  Regexp: '=~',
  NotRegexp: '!~',
} as const;
/** One of the {@link MatchType} values. */
export type MatchType = (typeof MatchType)[keyof typeof MatchType];

/**
 * Matches the value of one label. Immutable; build with {@link newMatcher},
 * which compiles and checks a regex once.
 */
export class Matcher {
  readonly type: MatchType;
  /** The label name. */
  readonly name: string;
  /** The value or, for `=~` / `!~`, the unanchored regex source. */
  readonly value: string;
  private readonly re: FastRegexMatcher | undefined;

  /** @internal Use {@link newMatcher}. */
  constructor(type: MatchType, name: string, value: string, re: FastRegexMatcher | undefined) {
    this.type = type;
    this.name = name;
    this.value = value;
    this.re = re;
  }

  /** Reports whether a label value (`''` for a missing label) matches. */
  matches(s: string): boolean {
    switch (this.type) {
      case MatchType.Equal:
        return s === this.value;
      case MatchType.NotEqual:
        return s !== this.value;
      case MatchType.Regexp:
        return this.re!.matchString(s);
      case MatchType.NotRegexp:
        return !this.re!.matchString(s);
    }
  }

  /**
   * Prints the matcher as Prometheus 2.42 does (`%s%s%q`): name bare, then
   * the operator, then the value quoted like Go's `strconv.Quote`,
   * e.g. `job=~"api|web"`.
   */
  toString(): string {
    return this.name + this.type + goQuote(this.value);
  }

  /** @internal The compiled regex, for {@link setMatches} and tests. */
  get regex(): FastRegexMatcher | undefined {
    return this.re;
  }
}

const matchTypes: ReadonlySet<string> = new Set(Object.values(MatchType));

/**
 * Builds a matcher. For `=~` and `!~` the value is compiled as a fully
 * anchored RE2 regex; an invalid one throws a `RegexError` (a
 * {@link BadInputError}) with Go's message. An unknown `type` (e.g. from a
 * decoded request) throws {@link BadInputError}.
 */
export function newMatcher(type: MatchType, name: string, value: string): Matcher {
  if (!matchTypes.has(type)) throw new BadInputError(`unknown match type ${goQuote(String(type))}`);
  const re = type === MatchType.Regexp || type === MatchType.NotRegexp ? compileRegex(value) : undefined;
  return new Matcher(type, name, value, re);
}

/**
 * Reports whether `m` matches the empty value, i.e. also selects series that
 * lack the label (`job=""`, `job!="x"`, `job=~"a|"`, `job!~".+"`).
 */
export function matchesEmpty(m: Matcher): boolean {
  return m.matches('');
}

/**
 * The finite set of values `m` matches, when it is small and known: `[value]`
 * for `=`, and for `=~` a literal or an alternation of literals (`a|b|c`,
 * `(a|b)c`; up to 256 values). Undefined otherwise, including for `!=` and
 * `!~`. The set may contain `''` (e.g. `=~"a|"`, `=""`), which stands for
 * series lacking the label; index lookups must treat it so. The array is
 * shared: do not modify it.
 */
export function setMatches(m: Matcher): readonly string[] | undefined {
  if (m.type === MatchType.Equal) return [m.value];
  if (m.type === MatchType.Regexp) return m.regex!.setMatches;
  return undefined;
}

/**
 * A text key for a list of matchers (compiled or as sent), for caches of
 * answers by matchers. Lengths come first, so no name or value (they may
 * hold any character) can make two lists one key.
 */
export function matchersKey(ms: readonly { type: string | number; name: string; value: string }[]): string {
  let key = '';
  for (const m of ms) key += `${m.type},${m.name.length},${m.value.length}:${m.name}${m.value};`;
  return key;
}
