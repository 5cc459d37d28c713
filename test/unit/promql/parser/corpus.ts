/**
 * A corpus of PromQL queries, valid and invalid, covering the syntax of
 * Prometheus 2.42: literals, selectors, every function (right arity and
 * types, too few / too many arguments, each argument of a wrong type),
 * every aggregation, every binary operator over every operand type with
 * its modifiers, modifiers (offset, @, ranges, subqueries), and syntax
 * errors in each grammar context. The e2e oracle test sends each to a real
 * Prometheus; the corpus holds no expected answers.
 */
import { Functions } from '../../../../lib/promql/parser/functions.ts';
import type { ValueType } from '../../../../lib/promql/value.ts';

/** One sample expression of each type. */
const SAMPLE: Record<ValueType, string> = {
  scalar: '1',
  vector: 'foo',
  matrix: 'foo[5m]',
  string: '"s"',
  none: '1',
};
const OTHER_TYPES: ValueType[] = ['scalar', 'vector', 'matrix', 'string'];

function functionQueries(): string[] {
  const out: string[] = [];
  for (const f of Functions.values()) {
    const good = f.argTypes.map((t) => SAMPLE[t]);
    out.push(`${f.name}(${good.join(', ')})`);
    if (good.length > 0) out.push(`${f.name}(${good.slice(0, -1).join(', ')})`);
    out.push(`${f.name}(${[...good, SAMPLE[f.argTypes.at(-1) ?? 'scalar']].join(', ')})`);
    if (f.variadic > 0) out.push(`${f.name}(${good.slice(0, good.length - f.variadic).join(', ')})`);
    f.argTypes.forEach((want, i) => {
      for (const t of OTHER_TYPES) {
        if (t === want) continue;
        const args = [...good];
        args[i] = SAMPLE[t];
        out.push(`${f.name}(${args.join(', ')})`);
      }
    });
  }
  return out;
}

const AGGREGATORS = ['sum', 'avg', 'count', 'min', 'max', 'group', 'stddev', 'stdvar'];
const PARAM_AGGREGATORS = ['topk', 'bottomk', 'quantile', 'count_values'];

function aggregationQueries(): string[] {
  const out: string[] = [];
  for (const op of AGGREGATORS) {
    out.push(`${op}(foo)`, `${op} by (a) (foo)`, `${op}(foo) without (a, b,)`, `${op}(foo[5m])`, `${op}(1)`, `${op}(foo, foo)`, `${op}()`);
    out.push(`${op} by (a) (foo) by (b)`);
  }
  for (const op of PARAM_AGGREGATORS) {
    const param = op === 'count_values' ? '"v"' : '5';
    const wrong = op === 'count_values' ? '5' : '"v"';
    out.push(`${op}(${param}, foo)`, `${op}(${wrong}, foo)`, `${op}(foo)`, `${op} by (a) (${param}, foo[5m])`);
    out.push(`${op}(foo, ${param})`, `${op}(${param}, foo, foo)`, `${op} without () (${param}, foo)`);
  }
  return out;
}

const BIN_OPS = ['+', '-', '*', '/', '%', '^', '==', '!=', '>', '<', '>=', '<=', 'and', 'or', 'unless', 'atan2'];

function binaryQueries(): string[] {
  const out: string[] = [];
  for (const op of BIN_OPS) {
    for (const l of OTHER_TYPES) {
      for (const r of OTHER_TYPES) out.push(`${SAMPLE[l]} ${op} ${SAMPLE[r]}`);
    }
    out.push(`foo ${op} bool bar`, `1 ${op} bool 2`, `foo ${op} on(a) bar`, `foo ${op} ignoring(a) group_left(b) bar`);
    out.push(`foo ${op} on(a) group_right bar`, `foo ${op} on(a) group_left(a) bar`, `1 ${op} on(a) foo`, `foo ${op} on() 1`);
  }
  return out;
}

/** Hand-written cases for each syntax feature and each error context. */
const HANDWRITTEN = [
  // literals
  '1', '.5', '5.', '1e3', '1E-3', '0x1f', '0X1F', '017', '08', '0x', '1e', '1e400', '1e-400', 'Inf', '-inf', 'NaN',
  '+nan', '0xffffffffffffffffff', '0x1.8', '0o17', '1_000', '.e5', '12345678901234567890', '0x7fffffffffffffff',
  '"a"', "'a'", '`a\\n`', '"\\n\\t\\x41\\101\\u00e9\\U0001F600"', '"\\q"', '"abc', '`abc', '"\\400"', '"\\ud800"',
  '"\\x4"', '"a\nb"', "'\\''", '"\\\'"',
  // selectors
  'foo', 'foo:bar', 'foo{}', '{}', '{a=""}', '{a!=""}', '{a=~".*"}', '{a=~".+"}', 'foo{a="b",}', 'foo{,}',
  'foo{a}', 'foo{a=b}', 'foo{a="b" c}', 'foo{a="b" "c"}', 'foo{1}', 'foo{a=~1}', 'foo{', 'foo{a', 'foo{a=', 'foo{a="b"',
  'foo{__name__="bar"}', '{__name__="bar"}', '{__name__=~"b.*"}', 'foo{a=~"("}', 'foo{a!~"a["}', '{a=~"*"}',
  '{a=~"x{2,1}"}', 'foo{a="b"}{c="d"}', 'foo{by="x", offset="y"}', 'foo{a!x}', 'foo{{', 'foo{a:b="c"}',
  'sum', 'by', 'offset', 'and', 'start', 'end', 'count_values', 'bool', 'on', 'group_left', 'atan2', 'inf{}',
  'sum{a="b"}', 'SUM(foo)', 'Sum by (a) (foo)',
  // ranges and subqueries
  'foo[5m]', 'foo[1h30m]', 'foo[1y2w3d4h5m6s7ms]', 'foo[1.5h]', 'foo[5hs]', 'foo[1m1h]', 'foo[300y]', 'foo[292y]',
  'foo[106752d]', 'foo[0s]', 'foo[5]', 'foo[', 'foo[5m', 'foo[5m:', 'foo[5m:1m', 'foo[5m 1', 'foo[5m x]', 'foo[5m:x]',
  'foo[5m:1]', 'foo[5m:1m:1m]', 'foo]', 'foo[[', 'foo[5m][5m]', '(foo)[5m]', '1[5m]', 'foo[5m:]', 'foo[5m:1m]',
  'foo[5m:][5m:]', '1[5m:]', 'rate(foo[5m])[10m:1m]', 'foo[ 5m ]', 'foo[5m:0s]', 'foo[5mx]', 'foo[5m5]',
  // offset and @
  'foo offset 5m', 'foo offset -5m', 'foo offset', 'foo offset 1', 'foo offset - 1', 'foo[5m] offset 1m',
  'foo offset 1m [5m]', 'foo offset 1m offset 2m', 'foo[5m:] offset 1m', '(foo) offset 1m', '1 offset 1m',
  'foo @ 100', 'foo @ 1.5', 'foo @ -1', 'foo @ +1', 'foo @ start()', 'foo @ end ()', 'foo @', 'foo @ bar',
  'foo @ start', 'foo @ start(', 'foo @ start(1)', 'foo @ Inf', 'foo @ NaN', 'foo @ 1e20', 'foo @ 1 @ 2',
  'foo @ start() @ 1', '(foo) @ 1', 'foo @ 1 [5m]', 'foo @ start() [5m]', 'foo[5m] @ 1 offset 1m',
  'foo[5m:] @ end()', 'foo @ 0x', 'foo @ - x', '1 @ 1', 'rate(foo[5m] offset 1m @ 3)',
  // parentheses, unary, precedence
  '(', ')', 'foo)', '(foo', '((foo))', '-foo', '+foo', '-1', '--1', '-(1)', '-"a"', '-foo[5m]', '- 1[5m]',
  '-foo ^ 2', '2 ^ 3 ^ 2', '1 + 2 * 3', 'a or b and c unless d', '1 +', '+', '1 2', 'foo bar', 'foo , bar',
  '1 + *', 'foo = 1', 'foo =~ 1', 'foo ; 1', 'foo ! bar', '5m', 'foo 1h2m3s4ms5', '"abcdefghijklmn" 1',
  '1 "abcdefghijklmn"', '@', 'foo @ @', 'x BY', 'foo # comment', '# only a comment', '', '   ', 'foo\n  + bar baz',
  'foo\n{', '"\u00e9" 1', 'foo{a="\u00e9"} x',
  // binary modifiers and grouping syntax
  '1 + on(a)', 'foo ignoring(a) bar', 'a + group_left b', 'a * on(b) group_left (c)', 'a + on(b c) d',
  'a + on(b,) group_left(c,) d', 'a + on(1) b', 'a + on(,) b', 'a + on b', 'a + on(a:b) b', 'a + on() b',
  'a > on(x) bool b', 'a == bool on(x) group_left(y) b', 'a and on(x) group_left b', 'a unless ignoring(x) group_right(y) b',
  'a + on(sum, by, offset, bool, atan2, start) b',
  // function call syntax
  'rate(foo', 'rate(foo,)', 'rate(,)', 'rate(foo,,)', 'rate(foo, *)', 'rate(1 2)', 'foo(1)', 'a:b(1)', 'rate()',
  'time()', 'time(1)', 'pi()', 'label_join(foo, "a", ",", "b", "c", "d")', 'label_join(foo, "a", ",", 1)',
  'round(foo, 2, 3)', 'sort(rate(foo[5m]))', 'vector(time())', 'scalar(foo) + 1', 'absent(nonexistent{job="x"})',
  'histogram_quantile(0.9, sum by (le) (rate(foo[5m])))', 'holt_winters(foo[5m], 0.5, 0.5)',
  // aggregation syntax
  'sum 1', 'sum(', 'sum by', 'sum by (', 'sum by (a', 'sum by (a,', 'sum by (1)', 'sum by (a) ', 'sum()',
  'topk(1)', 'sum(1 2)', 'sum(foo{a="b" c})', 'sum(1 +)', 'sum(rate(x[5m])', 'sum(rate(1 2))', 'by (a) sum(x)',
  'sum without(a,) (x)', 'sum(x) by (a) by (b)', 'sum by (a) foo', 'sum(foo,)', 'sum(x) offset 5m', 'sum(x) [5m]',
  'sum(x)[5m:]', 'sum by (a:b) (x)', 'sum by (a) (x) without (b)', 'count_values("val", foo)', 'quantile(0.5, foo)',
  'topk(a, foo)', 'sum(foo) by (a,b,)', 'avg by(job)(rate(http_requests_total[5m]))',
];

/** Edge cases: lexer corners, nesting of error contexts, comments, multi-line and non-ASCII input. */
const EDGE = [
  "sum(foo offset)",
  "sum(foo @)",
  "sum(foo[5m 1])",
  "sum(foo{a})",
  "sum(a + on(b c) d)",
  "rate(foo{a=\"b\"} offset 5m[5m])",
  "sum by (a) (foo) + on(a) group_left sum(bar)",
  "a + on(b) group_left(c) d + e",
  "foo and",
  "(1 + 2",
  "rate(foo[5m]",
  "foo{a=\"b\"} # c",
  "foo # c",
  "+ bar",
  "foo{# c",
  "a=\"b\"}",
  "foo{a=\"b\",# c",
  "}",
  "\"a\\",
  "b\"",
  "foo{a=\"\\xff\"}",
  "\"\\xffabc\"",
  "foo{a=\"é\"} 1",
  "é",
  "foo é",
  "foo{é=\"a\"}",
  "\"é",
  "foo[5m:1m] offset 1m @ 5",
  "foo @ 5 offset 1m[5m]",
  "foo[5m] offset 1m[5m]",
  "sum(foo) by (a",
  "sum(foo) by a",
  "sum(foo) by ()",
  "max_over_time(foo[5m:])",
  "max_over_time(rate(foo[5m])[1h:5m])",
  "(foo + bar)[5m:]",
  "-foo[5m:]",
  "foo offset 5m offset",
  "1 + - - 2",
  "1 == bool 2",
  "1 == bool on(a) 2",
  "foo == bool on(a) 2",
  "\"a\" == \"b\"",
  "\"a\" == bool \"b\"",
  "time() > bool 1",
  "count_values(\"a b\", foo)",
  "count_values(\"\", foo)",
  "quantile(foo, bar)",
  "topk(1, foo[5m])",
  "topk(1, \"a\")",
  "sum by (__name__) (foo)",
  "sum(foo) by (a) (bar)",
  "sum without (a) by (b) (foo)",
  "topk by (a) (5, foo) without (b)",
  "label_replace(foo, \"a\", \"b\", \"c\", \"(\")",
  "absent_over_time(foo[5m] @ start())",
  "round(foo, \"a\")",
  "clamp(foo, 1)",
  "clamp(foo, 1, 2, 3)",
  "day_of_week()",
  "day_of_week(foo, bar)",
  "day_of_week(1)",
  "foo atan2 1",
  "1 atan2 foo",
  "atan2(1, 2)",
  "foo[5m] atan2 foo",
  "foo offset 1m1s",
  "foo offset 1.5m",
  "foo offset 5m5",
  "foo offset 0s",
  "foo offset -0s",
  "foo[5m:5m5]",
  "foo[5m: 1m ]",
  "foo[ 5m : 1m ]",
  "foo [5m]",
  "foo{a=\"b\"} [5m]",
  "rate (foo [5m])",
  "foo @start()",
  "foo@1",
  "foo @ 1.0005",
  "foo @ 9223372036854775.807",
  "foo @ 9.3e15",
  "foo @ -9.3e15",
  "foo @ 0x10",
  "foo @ 017",
  "{a=\"b\"}[5m] offset 1m",
  "foo{a=\"b\",a=\"c\"}",
  "foo{a=\"b\"} and on(a) group_left foo",
  "foo or on() group_right(a) bar",
  "foo unless on(a) bar",
  "foo and bool bar",
  "foo + ignoring(a) group_left(a) bar",
  "foo + on(a) group_left(a) bar",
  "foo + on(a,b) group_left(b,a) bar",
  "1 + on() foo",
  "1 and on() foo",
  "foo + 1 and 2",
  "-(foo) ^ 2",
  "sum(-foo)",
  "-sum(foo)",
  "- -foo",
  "-\"a\" + 1",
  "foo + -\"a\"",
  "\"a\" + -1",
  "((\"a\"))",
  "(\"a\") + 1",
  "rate((\"foo\"[5m]))",
  "\"foo\"[5m]",
  "rate(foo[5m]) > 0 and rate(bar[5m])",
  "1 < bool 2 < bool 3",
  "foo offset 1m @ 1 offset 2m",
  "foo{a=~\"(?i)abc\"}",
  "foo{a=~\"\\\\d+\"}",
  "foo{a=~\"\\\\C\"}",
  "foo{a=~\"(?P<x>a)\"}",
  "foo{a=~\"a{1001}\"}",
  "foo{a=~\"[[:foo:]]\"}",
  "foo{a=~\"x**\"}",
  "foo{a!~\"(\"} + bar{",
  "`a",
  "b`",
  "foo{a=`b`}",
  "foo{a='b'}",
  "foo{a=\"b\\\"c\"}",
  "foo{a='b\\'c'}",
  "foo{a=\"b\\'c\"}",
  "foo{a='b\\\"c'}",
  "\"\\u12\"",
  "\"\\U00110000\"",
  "\"\\x\"",
  "\"\\8\"",
  "\"\\\"",
  "'",
  "`",
  "#",
  "1 #",
  "foo offset 5m #x",
  "sum(foo) #",
  "a:b:c",
  ":a",
  "a:",
  "::",
  "foo:bar{a=\"b\"}",
  "foo:bar(1)",
  "_",
  "_foo",
  "foo_",
  "a1",
  "1a",
  "1m",
  "1.5m",
  "1y",
  "5e3m",
  "0x1fm",
  "1e5s",
  ".5s",
  "foo[.5s]",
  "foo[1e3s]",
  "foo[0x1fm]",
  "1..5",
  "1.5.5",
  "1e5e5",
  "0x.5",
  "0x1p5",
  "0x1P5",
  "0X",
  "1E",
  "1e+",
  "1e-",
  "1e+5",
  "Infinity",
  "inf5",
  "nan(1)",
  "Inf{}",
  "Inf + 1",
  "-Inf",
  "foo{Inf=\"1\"}",
  "on",
  "ignoring",
  "group_right",
  "bool",
  "foo offset",
  "foo by",
  "foo without (a)",
  "foo group_left",
  "foo on(a)",
  "foo bool",
  "1 + bool",
  "foo + group_right(a)",
  "foo + on",
  "foo + on(",
  "foo + on(a",
  "foo + on(a,",
  "foo + on(a) group_left(",
  "foo + on(a) group_left(b",
  "foo + on(a) group_left b c",
  "sum(foo) by (a) (bar)",
  "rate(foo[5m]) by (a)",
  "histogram_quantile(0.9, foo[5m])",
  "histogram_fraction(0, 1, foo)",
  "histogram_count(foo)",
  "histogram_sum(foo[5m])",
  "sort_by_label(foo)",
  "histogram_stddev(foo)",
  "predict_linear(foo[5m], 1, 2)",
  "label_join(foo, \"a\")",
  "label_join(foo, \"a\", \"b\")",
  "label_join(foo, \"a\", \"b\", \"c\", 1)",
  "label_join(foo, 1, \"b\")",
  "vector()",
  "vector(\"a\")",
  "scalar(1)",
  "foo[5m] + foo[5m]",
  "sum(foo[5m:])",
  "count(foo) by (a) without (b)",
  "topk()",
  "topk(1, foo, bar)",
  "count_values(foo)",
  "group(foo)",
  "group by (a) (foo)",
  "stddev(foo, 1)",
  "avg_over_time(foo)",
  "avg_over_time(foo[5m], 1)",
  "avg_over_time()",
  "abs(foo, bar)",
  "abs()",
  "foo{# c\na=\"b\"}",
  "foo{a=\"b\",# c\n}",
  "\"a\\\nb\"",
  "# c\nfoo",
  "foo\n# c\n+ bar",
  "foo\n+\n",
  "sum(\nfoo\n,\n)",
  "foo\n+ x y",
  "foo{a=\"b\"}\n\n  x",
  "\tfoo bar",
  "foo{a=\"\n\"}",
];

/** Every query of the corpus, without duplicates. */
export function parseCorpus(): string[] {
  return [...new Set([...HANDWRITTEN, ...EDGE, ...functionQueries(), ...aggregationQueries(), ...binaryQueries()])];
}
