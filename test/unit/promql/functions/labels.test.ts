import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { functions } from '../../../../lib/promql/functions/index.ts';
import { PromQLError } from '../../../../lib/promql/errors.ts';
import { ctxAt, lj, shape, vec } from './helpers.ts';

const input = () => vec([
  [{ __name__: 'up', instance: 'host-1:9090', job: 'api' }, 1],
  [{ __name__: 'up', instance: 'db', job: 'db' }, 0],
]);

describe('label_replace', () => {
  const cases: { name: string; dst: string; repl: string; src: string; re: string; want: Record<string, string>[] }[] = [
    {
      name: 'captures a group into a new label, keeping __name__',
      dst: 'host', repl: '$1', src: 'instance', re: '(.*):.*',
      want: [{ __name__: 'up', host: 'host-1', instance: 'host-1:9090', job: 'api' }, { __name__: 'up', instance: 'db', job: 'db' }],
    },
    {
      name: 'the regex is anchored at both ends: a substring does not match',
      dst: 'x', repl: 'y', src: 'instance', re: 'host',
      want: [{ __name__: 'up', instance: 'host-1:9090', job: 'api' }, { __name__: 'up', instance: 'db', job: 'db' }],
    },
    {
      name: 'an empty result deletes the destination label',
      dst: 'instance', repl: '', src: 'job', re: 'api',
      want: [{ __name__: 'up', job: 'api' }, { __name__: 'up', instance: 'db', job: 'db' }],
    },
    {
      name: 'overwrites an existing label; a missing source label reads as empty',
      dst: 'job', repl: 'none', src: 'missing', re: '',
      want: [{ __name__: 'up', instance: 'host-1:9090', job: 'none' }, { __name__: 'up', instance: 'db', job: 'none' }],
    },
    {
      name: 'named groups with and without braces, $$ for a dollar',
      dst: 'x', repl: '${p}-$h $$', src: 'instance', re: '(?P<h>[^:]+):(?P<p>\\d+)',
      want: [{ __name__: 'up', instance: 'host-1:9090', job: 'api', x: '9090-host-1 $' }, { __name__: 'up', instance: 'db', job: 'db' }],
    },
    {
      // Go's template rules: "$1x" names group "1x" (empty); "${1}x" is group 1 then x; a lone "$" stays.
      name: 'Go template expansion: $1x is a group name, ${1}x is not, a lone $ is literal',
      dst: 'x', repl: '$1x|${1}x|$', src: 'job', re: '(a)pi',
      want: [{ __name__: 'up', instance: 'host-1:9090', job: 'api', x: '|ax|$' }, { __name__: 'up', instance: 'db', job: 'db' }],
    },
    {
      name: 'an unmatched optional group expands to nothing; group 0 is the whole value',
      dst: 'x', repl: '<$2>$0', src: 'job', re: '(d)(x)?b',
      want: [{ __name__: 'up', instance: 'host-1:9090', job: 'api' }, { __name__: 'up', instance: 'db', job: 'db', x: '<>db' }],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      // Act
      const out = functions.label_replace!([input(), c.dst, c.repl, c.src, c.re], ctxAt(10));
      // Assess
      assert.deepEqual(shape(out), c.want.map((l, i) => ({ labels: lj(l), v: 1 - i })));
    });
  }

  const errors: { dst: string; re: string; msg: string }[] = [
    { dst: 'x', re: '(', msg: 'invalid regular expression in label_replace(): (' },
    // Go 1.19 (Prometheus 2.42's toolchain) has no (?<name>) groups.
    { dst: 'x', re: '(?<n>.)', msg: 'invalid regular expression in label_replace(): (?<n>.)' },
    // The regex is checked first.
    { dst: '1a', re: '[', msg: 'invalid regular expression in label_replace(): [' },
    { dst: '1a', re: '.*', msg: 'invalid destination label name in label_replace(): 1a' },
    { dst: '', re: '.*', msg: 'invalid destination label name in label_replace(): ' },
    { dst: 'a-b', re: '.*', msg: 'invalid destination label name in label_replace(): a-b' },
  ];
  for (const e of errors) {
    it(`rejects dst=${JSON.stringify(e.dst)} regex=${JSON.stringify(e.re)}, even for an empty vector`, () => {
      for (const v of [input(), []]) {
        assert.throws(
          () => functions.label_replace!([v, e.dst, 'r', 'job', e.re], ctxAt(0)),
          (err: unknown) => err instanceof PromQLError && err.errorType === 'execution' && err.message === e.msg,
        );
      }
    });
  }

  it('accepts a [(?<] character class and escaped \\(?< as literals', () => {
    const out = functions.label_replace!([vec([[{ a: '(?<' }, 1]]), 'b', 'ok', 'a', '[(][?][<]|\\(\\?<'], ctxAt(0));
    assert.deepEqual(shape(out), [{ labels: lj({ a: '(?<', b: 'ok' }), v: 1 }]);
  });
});

describe('label_join', () => {
  const cases: { name: string; args: string[]; want: Record<string, string> }[] = [
    { name: 'joins in argument order', args: ['dst', '-', 'job', 'instance'], want: { __name__: 'up', dst: 'api-host-1:9090', instance: 'host-1:9090', job: 'api' } },
    { name: 'missing labels join as empty', args: ['dst', ',', 'job', 'nope', 'job'], want: { __name__: 'up', dst: 'api,,api', instance: 'host-1:9090', job: 'api' } },
    { name: 'an empty result deletes the destination', args: ['job', '', 'nope'], want: { __name__: 'up', instance: 'host-1:9090' } },
    { name: 'no sources deletes the destination', args: ['instance', '-'], want: { __name__: 'up', job: 'api' } },
    { name: 'may overwrite __name__', args: ['__name__', '_', 'job', 'job'], want: { __name__: 'api_api', instance: 'host-1:9090', job: 'api' } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const out = functions.label_join!([input().slice(0, 1), ...c.args], ctxAt(0));
      assert.deepEqual(shape(out), [{ labels: lj(c.want), v: 1 }]);
    });
  }

  const errors: { args: string[]; msg: string }[] = [
    { args: ['dst', '-', 'ok', '1b'], msg: 'invalid source label name in label_join(): 1b' },
    // Sources are checked before the destination.
    { args: ['1a', '-', 'b-c'], msg: 'invalid source label name in label_join(): b-c' },
    { args: ['1a', '-', 'ok'], msg: 'invalid destination label name in label_join(): 1a' },
    { args: ['', '-'], msg: 'invalid destination label name in label_join(): ' },
  ];
  for (const e of errors) {
    it(`rejects ${JSON.stringify(e.args)}`, () => {
      assert.throws(
        () => functions.label_join!([[], ...e.args], ctxAt(0)),
        (err: unknown) => err instanceof PromQLError && err.errorType === 'execution' && err.message === e.msg,
      );
    });
  }
});
