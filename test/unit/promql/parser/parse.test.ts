import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ParseError } from '../../../../lib/promql/errors.ts';
import { type Expr, exprType, parseExpr } from '../../../../lib/promql/parser/index.ts';

/** Picks the fields a test cares about from a node, recursively by path. */
function at(e: Expr, path: string): unknown {
  let cur: unknown = e;
  for (const key of path.split('.')) cur = (cur as Record<string, unknown>)[key];
  return cur;
}

interface ValidCase {
  q: string;
  /** Expected values at dotted paths into the AST. */
  want: Record<string, unknown>;
}

const valid: ValidCase[] = [
  { q: '1', want: { type: 'NumberLiteral', val: 1, 'posRange.start': 0, 'posRange.end': 1 } },
  { q: '-1', want: { type: 'NumberLiteral', val: -1, 'posRange.start': 0 } },
  { q: '0x1f', want: { val: 31 } },
  { q: '017', want: { val: 15 } },
  { q: '08', want: { val: 8 } },
  { q: '1e-400', want: { val: 0 } },
  { q: '.5', want: { val: 0.5 } },
  { q: '-Inf', want: { val: -Infinity } },
  { q: 'NaN', want: { val: NaN } },
  { q: '"a\\n\\x41\\u00e9"', want: { type: 'StringLiteral', val: 'a\nAé' } },
  { q: "'a\"b'", want: { val: 'a"b' } },
  { q: '`a\\n`', want: { val: 'a\\n' } },
  { q: 'foo', want: { type: 'VectorSelector', name: 'foo', 'matchers.length': 1, 'matchers.0.name': '__name__', offset: 0 } },
  { q: 'sum', want: { type: 'VectorSelector', name: 'sum' } },
  { q: 'foo{a="b",}', want: { 'matchers.length': 2, 'matchers.0.name': 'a', 'matchers.1.value': 'foo' } },
  { q: '{__name__="x"}', want: { name: '', 'matchers.0.value': 'x' } },
  { q: 'foo{a=~"b.*"}', want: { 'matchers.0.type': '=~', 'matchers.0.value': 'b.*' } },
  { q: 'foo offset 5m', want: { offset: 300_000, 'posRange.end': 13 } },
  { q: 'foo offset -1h30m', want: { offset: -5_400_000 } },
  { q: 'foo @ 1.5', want: { timestamp: 1500 } },
  { q: 'foo @ -1', want: { timestamp: -1000 } },
  { q: 'foo @ end()', want: { startOrEnd: 'end', timestamp: undefined } },
  { q: 'foo[5m] offset 1m @ 3', want: { type: 'MatrixSelector', range: 300_000, 'vectorSelector.offset': 60_000, 'vectorSelector.timestamp': 3000 } },
  { q: 'foo[1y2w3d4h5m6s7ms]', want: { range: 31_536_000_000 + 1_209_600_000 + 259_200_000 + 14_400_000 + 300_000 + 6000 + 7 } },
  { q: 'rate(foo[5m])[1h:]', want: { type: 'SubqueryExpr', range: 3_600_000, step: 0, 'expr.type': 'Call' } },
  { q: 'foo[5m:30s] offset 1m', want: { step: 30_000, offset: 60_000 } },
  { q: 'rate(foo[5m])', want: { type: 'Call', 'func.name': 'rate', 'args.0.type': 'MatrixSelector' } },
  { q: 'sum by (a, b) (foo)', want: { type: 'AggregateExpr', op: 'sum', grouping: ['a', 'b'], without: false } },
  { q: 'SUM(foo) without (a,)', want: { op: 'sum', grouping: ['a'], without: true } },
  { q: 'topk(3, foo)', want: { op: 'topk', 'param.val': 3, 'expr.name': 'foo' } },
  { q: 'count_values("v", foo)', want: { 'param.val': 'v' } },
  { q: '1 + 2 * 3', want: { op: '+', 'rhs.op': '*' } },
  { q: '2 ^ 3 ^ 2', want: { op: '^', 'lhs.val': 2, 'rhs.op': '^' } },
  { q: '-foo ^ 2', want: { type: 'UnaryExpr', op: '-', 'expr.op': '^' } },
  { q: '-a * b', want: { op: '*', 'lhs.type': 'UnaryExpr' } },
  { q: 'a or b and c unless d', want: { op: 'or', 'rhs.op': 'unless', 'rhs.lhs.op': 'and' } },
  { q: 'a > bool b', want: { op: '>', returnBool: true, 'matching.card': 'one-to-one' } },
  { q: 'a and b', want: { 'matching.card': 'many-to-many' } },
  { q: 'a * on(x) group_left(y) b', want: { 'matching.card': 'many-to-one', 'matching.on': true, 'matching.matchingLabels': ['x'], 'matching.include': ['y'] } },
  { q: 'a / ignoring(x) group_right b', want: { 'matching.card': 'one-to-many', 'matching.on': false, 'matching.include': [] } },
  { q: 'a + 1', want: { matching: undefined } },
  { q: 'a + on() 1', want: { matching: undefined } },
  { q: 'time() + 1', want: { type: 'BinaryExpr' } },
  { q: '(foo)', want: { type: 'ParenExpr', 'posRange.end': 5 } },
  { q: 'foo # comment\n + bar', want: { op: '+', 'rhs.posRange.start': 17 } },
];

const invalid: [string, string][] = [
  ['', '1:1: parse error: no expression found in input'],
  ['sum 1', '1:5: parse error: unexpected number "1"'],
  ['sum(', '1:5: parse error: unclosed left parenthesis'],
  ['sum by', '1:7: parse error: unexpected end of input in grouping opts, expected "("'],
  ['sum by (1)', '1:9: parse error: unexpected number "1" in grouping opts, expected label'],
  ['sum by (a) ', '1:12: parse error: unexpected end of input in aggregation'],
  ['sum(1 2)', '1:7: parse error: unexpected number "2" in aggregation'],
  ['rate(1 2)', '1:8: parse error: unexpected number "2"'],
  ['sum()', '1:1: parse error: no arguments for aggregate expression provided'],
  ['topk(1)', '1:1: parse error: wrong number of arguments for aggregate expression provided, expected 2, got 1'],
  ['rate(foo,)', '1:9: parse error: trailing commas not allowed in function call args'],
  ['foo)', '1:5: parse error: unexpected right parenthesis \')\''],
  ['foo]', "1:4: parse error: unexpected right bracket ']'"],
  ['foo{', '1:5: parse error: unexpected end of input inside braces'],
  ['foo{a}', '1:6: parse error: unexpected "}" in label matching, expected label matching operator'],
  ['foo{a=b}', '1:7: parse error: unexpected identifier "b" in label matching, expected string'],
  ['foo{a="b" "c"}', '1:11: parse error: unexpected string "\\"c\\"" in label matching, expected "," or "}"'],
  ['foo{,}', '1:5: parse error: unexpected "," in label matching, expected identifier or "}"'],
  ['foo{1}', "1:5: parse error: unexpected character inside braces: '1'"],
  ['foo[5]', '1:5: parse error: missing unit character in duration'],
  ['foo[5m 1', '1:8: parse error: unexpected number "1" in subquery or range, expected ":" or "]"'],
  ['foo[5m:1]', '1:8: parse error: unexpected number "1" in subquery selector, expected duration or "]"'],
  ['foo[5m:x]', "1:8: parse error: unexpected colon 'x'"],
  ['foo[1.5h]', '1:5: parse error: not a valid duration string: "1.5h"'],
  ['foo[300y]', '1:5: parse error: duration out of range'],
  ['foo[0s]', '1:5: parse error: duration must be greater than 0'],
  ['foo offset 1', '1:12: parse error: unexpected number "1" in offset, expected duration'],
  ['foo @ bar', '1:7: parse error: unexpected identifier "bar" in @, expected timestamp'],
  ['@', '1:1: parse error: unexpected "<Item 57385>" <op:@>'],
  ['1 "abcdefghijklmn"', '1:3: parse error: unexpected string "\\"abcdefghi"...'],
  ['x BY', '1:3: parse error: unexpected <BY>'],
  ['1 + *', '1:5: parse error: unexpected <op:*>'],
  ['0x', '1:1: parse error: error parsing number: strconv.ParseFloat: parsing "0x": invalid syntax'],
  ['1e400', '1:1: parse error: error parsing number: strconv.ParseFloat: parsing "1e400": value out of range'],
  ['1_000', '1:1: parse error: bad number or duration syntax: "1"'],
  ['"\\q"', "1:1: parse error: unknown escape sequence U+0071 'q'"],
  ['"\\400"', '1:1: parse error: escape sequence is an invalid Unicode code point'],
  ['foo{a=~"("}', '1:5: parse error: error parsing regexp: missing closing ): `^(?:()$`'],
  ['{}', '1:1: parse error: vector selector must contain at least one non-empty matcher'],
  ['foo{__name__="bar"}', '1:1: parse error: metric name must not be set twice: "foo" or "bar"'],
  ['foo(1)', '1:1: parse error: unknown function with name "foo"'],
  ['rate(foo)', '1:6: parse error: expected type range vector in call to function "rate", got instant vector'],
  ['rate(foo[5m], 1)', '1:1: parse error: expected 1 argument(s) in call to "rate", got 2'],
  ['round()', '1:1: parse error: expected at least 1 argument(s) in call to "round", got 0'],
  ['round(a,1,2)', '1:1: parse error: expected at most 2 argument(s) in call to "round", got 3'],
  ['label_join(a)', '1:1: parse error: expected at least 3 argument(s) in call to "label_join", got 1'],
  ['a and 1', '1:1: parse error: set operator "and" not allowed in binary scalar expression'],
  ['a + on(b) group_left(b) c', '1:3: parse error: label "b" must not occur in ON and GROUP clause at once'],
  ['a and on(b) group_left c', '1:1: parse error: no grouping allowed for "and" operation'],
  ['a + bool b', '1:3: parse error: bool modifier can only be used on comparison operators'],
  ['1 > 2', '1:3: parse error: comparisons between scalars must use BOOL modifier'],
  ['a + on(x) 1', '1:1: parse error: vector matching only allowed between instant vectors'],
  ['1 + a[5m]', '1:5: parse error: binary expression must contain only scalar and instant vector types'],
  ['-foo[5m]', '1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got "range vector"'],
  ['foo[5m:][5m:]', '1:1: parse error: subquery is only allowed on instant vector, got matrix instead'],
  ['(foo)[5m]', '1:6: parse error: ranges only allowed for vector selectors'],
  ['x offset 1m [5m]', '1:13: parse error: no offset modifiers allowed before range'],
  ['foo @ 1 [5m]', '1:9: parse error: no @ modifiers allowed before range'],
  ['x[5m] offset 1m offset 2m', '1:1: parse error: offset may not be set multiple times'],
  ['(foo) offset 1m', '1:1: parse error: offset modifier must be preceded by an instant vector selector or range vector selector or a subquery'],
  ['(foo) @ 1', '1:1: parse error: @ modifier must be preceded by an instant vector selector or range vector selector or a subquery'],
  ['foo @ 1 @ 2', '1:1: parse error: @ <timestamp> may not be set multiple times'],
  ['foo @ Inf', '1:1: parse error: timestamp out of bounds for @ modifier: +Inf'],
  ['foo @ 1e20', '1:1: parse error: timestamp out of bounds for @ modifier: 100000000000000000000.000000'],
  ['topk("a", x)', '1:6: parse error: expected type scalar in aggregation parameter, got string'],
  ['count_values(1, x)', '1:14: parse error: expected type string in aggregation parameter, got scalar'],
  ['sum(x[5m])', '1:5: parse error: expected type instant vector in aggregation expression, got range vector'],
  ['foo\n  + bar baz', '2:9: parse error: unexpected identifier "baz"'],
  ['foo{a="é"} x', '1:13: parse error: unexpected identifier "x"'],
];

describe('parseExpr', () => {
  for (const c of valid) {
    it(`parses ${JSON.stringify(c.q)}`, () => {
      // Prepare / Act
      const e = parseExpr(c.q);
      // Assess
      for (const [path, want] of Object.entries(c.want)) assert.deepEqual(at(e, path), want, `${c.q}: ${path}`);
    });
  }

  for (const [q, msg] of invalid) {
    it(`rejects ${JSON.stringify(q)}`, () => {
      // Prepare / Act / Assess
      assert.throws(
        () => parseExpr(q),
        (err: unknown) => err instanceof ParseError && err.errorType === 'bad_data' && err.message === msg,
      );
    });
  }

  it('types expressions as Prometheus does', () => {
    // Prepare
    const cases: [string, string][] = [
      ['1 + 1', 'scalar'], ['foo + 1', 'vector'], ['foo[5m]', 'matrix'], ['"s"', 'string'],
      ['scalar(foo)', 'scalar'], ['time()', 'scalar'], ['(foo[5m:])', 'matrix'], ['-1', 'scalar'],
    ];
    for (const [q, want] of cases) {
      // Act / Assess
      assert.equal(exprType(parseExpr(q)), want, q);
    }
  });

  it('reports the error position range', () => {
    // Prepare / Act
    let err: unknown;
    try {
      parseExpr('rate(foo)');
    } catch (e) {
      err = e;
    }
    // Assess
    assert.ok(err instanceof ParseError);
    assert.deepEqual(err.position, { start: 5, end: 8 });
  });
});
