import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RE2JS } from 're2js';
import { BadInputError } from '../../../lib/util/errors.ts';
import {
  type Matcher,
  MatchType,
  matchesEmpty,
  newMatcher,
  RegexError,
  setMatches,
} from '../../../lib/labels/index.ts';
import { compileRegex, type RegexStrategy } from '../../../lib/labels/regexp.ts';
import { regexCases, regexErrorCases } from './regex-cases.ts';

describe('regex matchers behave as Prometheus 2.42', () => {
  for (const c of regexCases) {
    it(`=~${JSON.stringify(c.pattern)}`, () => {
      // Prepare
      const m = newMatcher(MatchType.Regexp, 'v', c.pattern);
      const nm = newMatcher(MatchType.NotRegexp, 'v', c.pattern);
      // Act / Assess
      for (const s of c.match) {
        assert.equal(m.matches(s), true, `should match ${JSON.stringify(s)}`);
        assert.equal(nm.matches(s), false);
      }
      for (const s of c.noMatch) {
        assert.equal(m.matches(s), false, `should not match ${JSON.stringify(s)}`);
        assert.equal(nm.matches(s), true);
      }
    });
  }

  for (const c of regexErrorCases) {
    it(`refuses ${JSON.stringify(c.pattern)}`, () => {
      assert.throws(
        () => newMatcher(MatchType.Regexp, 'v', c.pattern),
        (e: unknown) => {
          assert.ok(e instanceof RegexError);
          assert.ok(e instanceof BadInputError);
          assert.equal(e.pattern, c.pattern);
          assert.equal(e.message.split(': ').slice(1).join(': '), c.detail);
          return true;
        },
      );
    });
  }

  it('words the error as Prometheus users know it', () => {
    assert.throws(() => newMatcher(MatchType.NotRegexp, 'job', 'a('), {
      message: 'invalid regular expression "a(": error parsing regexp: missing closing ): `^(?:a()$`',
    });
  });
});

describe('Matcher', () => {
  const cases: { type: MatchType; value: string; input: string; want: boolean }[] = [
    { type: MatchType.Equal, value: 'a', input: 'a', want: true },
    { type: MatchType.Equal, value: 'a', input: 'A', want: false },
    { type: MatchType.Equal, value: '', input: '', want: true },
    { type: MatchType.NotEqual, value: 'a', input: 'a', want: false },
    { type: MatchType.NotEqual, value: 'a', input: '', want: true },
    { type: MatchType.Regexp, value: 'a.*', input: 'abc', want: true },
    { type: MatchType.NotRegexp, value: 'a.*', input: 'abc', want: false },
    { type: MatchType.NotRegexp, value: 'a.*', input: 'a\nb', want: true },
    // = and != compare exactly: regex metacharacters are plain text there.
    { type: MatchType.Equal, value: 'a.*', input: 'abc', want: false },
  ];
  for (const c of cases) {
    it(`${c.type}${JSON.stringify(c.value)} on ${JSON.stringify(c.input)} -> ${c.want}`, () => {
      assert.equal(newMatcher(c.type, 'l', c.value).matches(c.input), c.want);
    });
  }

  it('prints like Prometheus 2.42 (name bare, value %q)', () => {
    assert.equal(newMatcher(MatchType.Regexp, 'job', 'api|web').toString(), 'job=~"api|web"');
    assert.equal(newMatcher(MatchType.NotEqual, '__name__', 'a"b\n').toString(), '__name__!="a\\"b\\n"');
    assert.equal(newMatcher(MatchType.NotRegexp, 'x', '\\d+').toString(), 'x!~"\\\\d+"');
  });

  it('refuses an unknown match type', () => {
    assert.throws(() => newMatcher('==' as MatchType, 'a', 'b'), (e: unknown) => e instanceof BadInputError && /unknown match type "=="/.test(e.message));
  });

  it('keeps its fields', () => {
    const m = newMatcher(MatchType.Regexp, 'job', 'x');
    assert.deepEqual([m.type, m.name, m.value], ['=~', 'job', 'x']);
  });
});

describe('matchesEmpty', () => {
  const cases: { m: Matcher; want: boolean }[] = [
    { m: newMatcher(MatchType.Equal, 'a', ''), want: true },
    { m: newMatcher(MatchType.Equal, 'a', 'x'), want: false },
    { m: newMatcher(MatchType.NotEqual, 'a', 'x'), want: true },
    { m: newMatcher(MatchType.NotEqual, 'a', ''), want: false },
    { m: newMatcher(MatchType.Regexp, 'a', '.*'), want: true },
    { m: newMatcher(MatchType.Regexp, 'a', '.+'), want: false },
    { m: newMatcher(MatchType.Regexp, 'a', 'x|'), want: true },
    { m: newMatcher(MatchType.Regexp, 'a', 'x*'), want: true },
    { m: newMatcher(MatchType.NotRegexp, 'a', '.+'), want: true },
    { m: newMatcher(MatchType.NotRegexp, 'a', '.*'), want: false },
  ];
  for (const c of cases) {
    it(`${c.m.toString()} -> ${c.want}`, () => {
      assert.equal(matchesEmpty(c.m), c.want);
    });
  }
});

describe('setMatches', () => {
  const cases: { m: Matcher; want: readonly string[] | undefined }[] = [
    { m: newMatcher(MatchType.Equal, 'a', 'x'), want: ['x'] },
    { m: newMatcher(MatchType.Regexp, 'a', 'x'), want: ['x'] },
    { m: newMatcher(MatchType.Regexp, 'a', 'a|b|c'), want: ['a', 'b', 'c'] },
    { m: newMatcher(MatchType.Regexp, 'a', 'a|b|a'), want: ['a', 'b'] },
    { m: newMatcher(MatchType.Regexp, 'a', '(a|b)(c|d)'), want: ['ac', 'ad', 'bc', 'bd'] },
    { m: newMatcher(MatchType.Regexp, 'a', '(?:api|web)-0'), want: ['api-0', 'web-0'] },
    { m: newMatcher(MatchType.Regexp, 'a', 'a\\.b|c\\|d'), want: ['a.b', 'c|d'] },
    { m: newMatcher(MatchType.Regexp, 'a', 'x|'), want: ['x', ''] },
    { m: newMatcher(MatchType.Regexp, 'a', ''), want: [''] },
    { m: newMatcher(MatchType.Regexp, 'a', 'a.*'), want: undefined },
    { m: newMatcher(MatchType.Regexp, 'a', '(?i)a|b'), want: undefined },
    { m: newMatcher(MatchType.Regexp, 'a', 'a|[bc]'), want: undefined },
    { m: newMatcher(MatchType.Regexp, 'a', 'ab?'), want: undefined },
    { m: newMatcher(MatchType.Regexp, 'a', Array.from({ length: 257 }, (_, i) => `v${i}`).join('|')), want: undefined },
    { m: newMatcher(MatchType.NotEqual, 'a', 'x'), want: undefined },
    { m: newMatcher(MatchType.NotRegexp, 'a', 'x|y'), want: undefined },
  ];
  for (const c of cases) {
    it(`${c.m.toString()} -> ${JSON.stringify(c.want)}`, () => {
      assert.deepEqual(setMatches(c.m), c.want);
    });
  }

  it('accepts 256 alternatives', () => {
    const values = Array.from({ length: 256 }, (_, i) => `v${i}`);
    assert.deepEqual(setMatches(newMatcher(MatchType.Regexp, 'a', values.join('|'))), values);
  });
});

describe('regex fast paths', () => {
  const strategies: { pattern: string; want: RegexStrategy }[] = [
    { pattern: 'foo', want: 'set' },
    { pattern: 'a|b|c', want: 'set' },
    { pattern: '.*', want: 'glob' },
    { pattern: '.+', want: 'glob' },
    { pattern: 'foo.*', want: 'glob' },
    { pattern: '.*foo', want: 'glob' },
    { pattern: '.*foo.*', want: 'glob' },
    { pattern: 'foo.*|bar', want: 'glob' },
    { pattern: '(?s).*', want: 'engine' },
    { pattern: '(?i)foo', want: 'engine' },
    { pattern: '.+.+', want: 'engine' },
    { pattern: 'a\nb.*', want: 'engine' },
    { pattern: 'fo[o]', want: 'engine' },
  ];
  for (const c of strategies) {
    it(`${JSON.stringify(c.pattern)} uses ${c.want}`, () => {
      assert.equal(compileRegex(c.pattern).strategy, c.want);
    });
  }

  // Random patterns built from what the fast paths understand, plus a few
  // constructs they must hand to the engine, against plain re2js.
  it('agree with re2js on random patterns and inputs', () => {
    let seed = 12345;
    const next = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
    const lits = ['a', 'b', 'ab', 'ba', 'foo', 'é', '😀', '\\.', '\\|', ' ', '\n', '-', '\\+'];
    const wild = ['.*', '.+', '.*?', '.+?'];
    const engineOnly = ['[ab]', 'a*', 'b?', '\\d', '(?i)a', 'x{2}', '.', '\\w+', '(ab)+', '(?s).*'];
    const atom = (depth: number): string => {
      const r = next();
      if (r < 0.45) return pick(lits);
      if (r < 0.75) return pick(wild);
      if (r < 0.8) return pick(engineOnly);
      if (depth > 2) return pick(lits);
      return (next() < 0.5 ? '(' : '(?:') + alt(depth + 1) + ')';
    };
    const cat = (depth: number): string => {
      let s = '';
      const n = Math.floor(next() * 4);
      for (let i = 0; i < n; i++) s += atom(depth);
      return s;
    };
    const alt = (depth: number): string => {
      let s = cat(depth);
      while (next() < 0.25) s += '|' + cat(depth);
      return s;
    };
    const pieces = ['a', 'b', 'ab', 'foo', 'é', '😀', '.', '|', ' ', '\n', '-', '+', 'x', '1', 'A'];
    const input = (): string => {
      let s = '';
      const n = Math.floor(next() * 7);
      for (let i = 0; i < n; i++) s += pick(pieces);
      return s;
    };

    const used: Record<RegexStrategy, number> = { set: 0, glob: 0, engine: 0 };
    let checks = 0;
    let matched = 0;
    for (let p = 0; p < 3000; p++) {
      // Prepare
      const pattern = alt(0);
      const fast = compileRegex(pattern);
      const oracle = RE2JS.compile('^(?:' + pattern + ')$');
      used[fast.strategy]++;
      // Inputs: random, plus the set itself when there is one.
      const inputs = [...Array.from({ length: 60 }, input), '', '\n', ...(fast.setMatches ?? [])];
      for (const s of inputs) {
        // Act
        const got = fast.matchString(s);
        // Assess
        const want = oracle.matches(s);
        assert.equal(got, want, `pattern ${JSON.stringify(pattern)} (${fast.strategy}) on ${JSON.stringify(s)}`);
        checks++;
        if (want) matched++;
      }
      if (fast.setMatches !== undefined) {
        for (const s of fast.setMatches) assert.equal(oracle.matches(s), true, `set value ${JSON.stringify(s)} of ${JSON.stringify(pattern)}`);
      }
    }
    // The run must have exercised every path and found real matches.
    assert.ok(used.set > 300 && used.glob > 300 && used.engine > 300, JSON.stringify(used));
    assert.ok(matched > checks / 20, `only ${matched} of ${checks} inputs matched`);
  });

  // Small alphabets, all inputs up to five characters: every boundary
  // (minimum lengths, overlapping prefix and suffix, newlines, surrogate
  // pairs) is reached.
  it('agree with re2js on every short input for random glob patterns', () => {
    let seed = 777;
    const next = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const tokens = ['a', 'b', 'ab', '😀', '.*', '.+', '.*', '.+'];
    const chars = ['a', 'b', '\n', '😀'];
    const inputs: string[] = [''];
    for (let len = 1, layer = ['']; len <= 5; len++) {
      layer = layer.flatMap((s) => chars.map((c) => s + c));
      inputs.push(...layer);
    }
    let globs = 0;
    for (let p = 0; p < 250; p++) {
      // Prepare
      let pattern = '';
      const n = 1 + Math.floor(next() * 5);
      for (let i = 0; i < n; i++) pattern += tokens[Math.floor(next() * tokens.length)];
      if (next() < 0.2) pattern += '|' + tokens[Math.floor(next() * tokens.length)]!;
      const fast = compileRegex(pattern);
      if (fast.strategy === 'glob') globs++;
      const oracle = RE2JS.compile('^(?:' + pattern + ')$');
      for (const s of inputs) {
        // Act / Assess
        assert.equal(fast.matchString(s), oracle.matches(s), `pattern ${JSON.stringify(pattern)} (${fast.strategy}) on ${JSON.stringify(s)}`);
      }
    }
    assert.ok(globs > 150, `only ${globs} glob patterns`);
  });

  it('prefix prefilter before the engine agrees with re2js', () => {
    const patterns = ['foo[a-z]+', 'foo\\d*', 'fo+', 'foo(?i)BAR', 'foo(a|b)+', 'é😀?x', 'ab\\w', 'foo|bar[0-9]', 'a\\Q|\\E[b]'];
    const inputs = ['', 'foo', 'fooa', 'foo1', 'fo', 'f', 'fooBAR', 'foobar', 'fooab', 'é', 'é😀x', 'éx', 'abc', 'ab_', 'bar1', 'a|b', 'xfoo'];
    for (const pattern of patterns) {
      const fast = compileRegex(pattern);
      assert.equal(fast.strategy, 'engine', pattern);
      const oracle = RE2JS.compile('^(?:' + pattern + ')$');
      for (const s of inputs) assert.equal(fast.matchString(s), oracle.matches(s), `${pattern} on ${JSON.stringify(s)}`);
    }
  });
});
