import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  BadInputError,
} from '../../../lib/util/errors.ts';
import {
  canonicalize,
  DefaultLabelLimits,
  isValidLabelName,
  LabelError,
  LabelErrorKind,
  type LabelLimits,
} from '../../../lib/labels/index.ts';

type Pair = readonly [string, string];

interface Case {
  readonly name: string;
  readonly pairs: readonly Pair[];
  readonly limits?: LabelLimits;
  /** The canonical pairs expected, or the error expected. */
  readonly want?: readonly Pair[];
  readonly kind?: LabelErrorKind;
  readonly message?: string | RegExp;
}

const cases: readonly Case[] = [
  {
    name: 'sorted input is kept as is',
    pairs: [['__name__', 'up'], ['instance', 'a:9100'], ['job', 'node']],
    want: [['__name__', 'up'], ['instance', 'a:9100'], ['job', 'node']],
  },
  {
    name: 'unsorted input is sorted by name',
    pairs: [['job', 'node'], ['__name__', 'up'], ['a', '1'], ['Z', 'z']],
    want: [['Z', 'z'], ['__name__', 'up'], ['a', '1'], ['job', 'node']],
  },
  {
    name: 'empty values are dropped',
    pairs: [['__name__', 'up'], ['env', ''], ['job', 'node']],
    want: [['__name__', 'up'], ['job', 'node']],
  },
  {
    name: 'a repeat with an empty value is no duplicate (dropped first, as Prometheus does)',
    pairs: [['job', ''], ['job', 'node']],
    want: [['job', 'node']],
  },
  {
    name: 'values may hold any UTF-8, names with digits and underscores',
    pairs: [['_x9', 'é\n😀 "q"'], ['a_B_1', ' ']],
    want: [['_x9', 'é\n😀 "q"'], ['a_B_1', ' ']],
  },
  { name: 'no pairs', pairs: [], kind: LabelErrorKind.NoLabels, message: 'series has no labels' },
  {
    name: 'all values empty',
    pairs: [['__name__', ''], ['job', '']],
    kind: LabelErrorKind.NoLabels,
    message: 'series has no labels after dropping empty values: {__name__="", job=""}',
  },
  {
    name: 'duplicate in sorted input',
    pairs: [['__name__', 'up'], ['job', 'a'], ['job', 'b']],
    kind: LabelErrorKind.DuplicateName,
    message: 'label name "job" is not unique in series {__name__="up", job="a", job="b"}',
  },
  {
    name: 'duplicate in unsorted input',
    pairs: [['job', 'a'], ['__name__', 'up'], ['job', 'b']],
    kind: LabelErrorKind.DuplicateName,
    message: 'label name "job" is not unique in series {job="a", __name__="up", job="b"}',
  },
  {
    name: 'name with a dash',
    pairs: [['__name__', 'up'], ['a-b', '1']],
    kind: LabelErrorKind.InvalidName,
    message: 'invalid label name "a-b" in series {__name__="up", "a-b"="1"}',
  },
  { name: 'name starting with a digit', pairs: [['1a', 'x']], kind: LabelErrorKind.InvalidName, message: /^invalid label name "1a" / },
  { name: 'empty name', pairs: [['', 'x']], kind: LabelErrorKind.InvalidName, message: 'invalid label name "" in series {""="x"}' },
  { name: 'non-ASCII name', pairs: [['é', 'x']], kind: LabelErrorKind.InvalidName, message: /^invalid label name "é" / },
  { name: 'dotted name', pairs: [['a.b', 'x']], kind: LabelErrorKind.InvalidName },
  {
    name: 'name with a newline stays one line',
    pairs: [['a\nb', 'x\ny']],
    kind: LabelErrorKind.InvalidName,
    message: 'invalid label name "a\\nb" in series {"a\\nb"="x\\ny"}',
  },
  {
    name: 'too many labels',
    pairs: [['a', '1'], ['b', '1'], ['c', '1']],
    limits: { maxLabelsPerSeries: 2 },
    kind: LabelErrorKind.TooManyLabels,
    message: 'series has more than the limit of 2 labels: {a="1", b="1", c="1"}',
  },
  {
    name: 'limit counts labels after dropping empty values',
    pairs: [['a', '1'], ['b', ''], ['c', '1']],
    limits: { maxLabelsPerSeries: 2 },
    want: [['a', '1'], ['c', '1']],
  },
  {
    name: 'name too long',
    pairs: [['abcde', '1']],
    limits: { maxNameBytes: 4 },
    kind: LabelErrorKind.NameTooLong,
    message: 'label name "abcde" is 5 bytes, more than the limit of 4, in series {abcde="1"}',
  },
  { name: 'name at the limit', pairs: [['abcd', '1']], limits: { maxNameBytes: 4 }, want: [['abcd', '1']] },
  {
    name: 'value too long in bytes though short in characters',
    pairs: [['a', 'ééé']],
    limits: { maxValueBytes: 5 },
    kind: LabelErrorKind.ValueTooLong,
    message: 'value of label "a" is longer than the limit of 5 bytes in series {a="ééé"}',
  },
  { name: 'value at the byte limit', pairs: [['a', 'é😀']], limits: { maxValueBytes: 6 }, want: [['a', 'é😀']] },
  {
    name: 'astral characters count four bytes',
    pairs: [['a', '😀😀']],
    limits: { maxValueBytes: 7 },
    kind: LabelErrorKind.ValueTooLong,
  },
];

describe('canonicalize', () => {
  for (const c of cases) {
    it(c.name, () => {
      // Prepare
      const names = c.pairs.map((p) => p[0]);
      const values = c.pairs.map((p) => p[1]);
      if (c.want !== undefined) {
        // Act
        const ls = canonicalize(names, values, c.limits);
        // Assess
        assert.deepEqual(
          ls.map((l) => [l.name, l.value]),
          c.want,
        );
        return;
      }
      assert.throws(
        () => canonicalize(names, values, c.limits),
        (e: unknown) => {
          assert.ok(e instanceof LabelError, `got ${String(e)}`);
          assert.ok(e instanceof BadInputError);
          assert.equal(e.kind, c.kind);
          assert.equal(e.message.includes('\n'), false, 'one-line message');
          if (typeof c.message === 'string') assert.equal(e.message, c.message);
          else if (c.message !== undefined) assert.match(e.message, c.message);
          return true;
        },
      );
    });
  }

  it('applies the default limits', () => {
    assert.deepEqual(DefaultLabelLimits, { maxLabelsPerSeries: 128, maxNameBytes: 1024, maxValueBytes: 16384 });
    const many = Array.from({ length: 129 }, (_, i) => `l${String(i).padStart(3, '0')}`);
    assert.throws(() => canonicalize(many, many), (e: unknown) => e instanceof LabelError && e.kind === LabelErrorKind.TooManyLabels);
    assert.equal(canonicalize(many.slice(1), many.slice(1)).length, 128);
    assert.throws(() => canonicalize(['a'.repeat(1025)], ['x']), (e: unknown) => e instanceof LabelError && e.kind === LabelErrorKind.NameTooLong);
    assert.equal(canonicalize(['a'], ['é'.repeat(8192)]).length, 1);
    assert.throws(() => canonicalize(['a'], ['é'.repeat(8193)]), (e: unknown) => e instanceof LabelError && e.kind === LabelErrorKind.ValueTooLong);
  });

  it('shortens the series in messages about long series', () => {
    // Prepare
    const names = Array.from({ length: 60 }, (_, i) => `label_${i}`);
    const values = names.map(() => 'v'.repeat(1000));
    names.push('bad-name');
    values.push('x');
    // Act / Assess
    assert.throws(
      () => canonicalize(names, values),
      (e: unknown) => e instanceof LabelError && e.message.length < 600 && e.message.endsWith(', ...}'),
    );
  });

  it('refuses arrays of different lengths as a programming error', () => {
    assert.throws(() => canonicalize(['a'], []), RangeError);
  });

  it('agrees with a sort-then-check reference on random input', () => {
    let seed = 1;
    const next = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const pool = ['__name__', 'a', 'b', 'job', 'instance', 'A', '_', 'z9'];
    for (let i = 0; i < 3000; i++) {
      const n = Math.floor(next() * 6);
      const names = Array.from({ length: n }, () => pool[Math.floor(next() * pool.length)]!);
      const values = names.map(() => (next() < 0.2 ? '' : String(Math.floor(next() * 3))));
      // Reference: drop empties, sort, reject duplicates and empty sets.
      const kept = names.map((name, j) => [name, values[j]!] as const).filter((p) => p[1] !== '');
      kept.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
      const dup = kept.some((p, j) => j > 0 && p[0] === kept[j - 1]![0]);
      let got: unknown;
      try {
        got = canonicalize(names, values).map((l) => [l.name, l.value]);
      } catch (e) {
        got = (e as LabelError).kind;
      }
      const want = kept.length === 0 ? LabelErrorKind.NoLabels : dup ? LabelErrorKind.DuplicateName : kept.map((p) => [p[0], p[1]]);
      assert.deepEqual(got, want, JSON.stringify({ names, values }));
    }
  });
});

describe('isValidLabelName', () => {
  const cases: { name: string; want: boolean }[] = [
    { name: '__name__', want: true },
    { name: 'a', want: true },
    { name: '_', want: true },
    { name: 'Z_9', want: true },
    { name: '', want: false },
    { name: '9a', want: false },
    { name: 'a-b', want: false },
    { name: 'a b', want: false },
    { name: 'é', want: false },
    { name: 'a\u0000', want: false },
    { name: 'ａ', want: false }, // fullwidth a
  ];
  for (const c of cases) {
    it(`${JSON.stringify(c.name)} -> ${c.want}`, () => {
      assert.equal(isValidLabelName(c.name), c.want);
      assert.equal(isValidLabelName(c.name), /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(c.name));
    });
  }

  it('agrees with the regex on every single and double ASCII character name', () => {
    const re = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
    for (let a = 0; a < 256; a++) {
      const one = String.fromCharCode(a);
      assert.equal(isValidLabelName(one), re.test(one), JSON.stringify(one));
      for (let b = 0; b < 256; b += 3) {
        const two = one + String.fromCharCode(b);
        assert.equal(isValidLabelName(two), re.test(two), JSON.stringify(two));
      }
    }
  });
});
