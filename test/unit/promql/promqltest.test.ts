/**
 * The promqltest language: its parser (table tests, line-numbered errors),
 * the runner's comparison rules, and every script of
 * test/testdata/promql run on our engine over an in-memory Storage. The
 * scripts' expectations are proven against a real Prometheus 2.42 by
 * test/e2e/promqltest-oracle.test.ts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { labelsFromPairs } from '../../../lib/labels/labels.ts';
import {
  almostEqual,
  compareInstant,
  EngineTarget,
  expandItem,
  formatFailures,
  isStaleNaN,
  parseDurationMs,
  parseNumber,
  parseScript,
  parseSeriesDesc,
  runScript,
  ScriptSyntaxError,
  type EvalCommand,
  type PromQLTarget,
  type QueryEngineLike,
} from '../../../lib/promql/promqltest/index.ts';
import type { Value } from '../../../lib/promql/value.ts';

const Dir = join(import.meta.dirname, '../../testdata/promql');

/** The numbers of an expanded sequence, `_` as null. */
function seq(item: string): (number | null)[] {
  return expandItem(item, 1).map((s) => (s.omitted ? null : s.v));
}

describe('promqltest series notation', () => {
  const cases: [string, (number | null)[]][] = [
    ['1', [1]],
    ['-2.5', [-2.5]],
    ['1+2x3', [1, 3, 5, 7]],
    ['1-2x3', [1, -1, -3, -5]],
    ['-1-1x2', [-1, -2, -3]],
    ['5x2', [5, 5, 5]],
    ['0x10', [16]],
    ['1e3', [1000]],
    ['1e+3x1', [1000, 1000]],
    ['_', [null]],
    ['_x3', [null, null, null]],
    ['Inf', [Infinity]],
    ['-Inf', [-Infinity]],
    ['NaN', [NaN]],
    ['0.1+0.1x2', [0.1, 0.2, 0.30000000000000004]],
  ];
  for (const [item, want] of cases) {
    it(`expands ${item}`, () => {
      // Act
      const got = seq(item);
      // Assess
      assert.deepEqual(got, want);
    });
  }

  it('keeps the stale marker bit-exact', () => {
    // Act
    const [s] = expandItem('stale', 1);
    // Assess
    assert.ok(isStaleNaN(s!.v));
    assert.ok(!isStaleNaN(NaN));
  });

  it('parses labels, quoting and values of a series line', () => {
    // Act
    const d = parseSeriesDesc(`http_requests{job="a\\"b", path='/x', raw=\`\\n\`,} 1 _ 3+1x1`, 7);
    // Assess
    assert.deepEqual(d.labels, labelsFromPairs({ __name__: 'http_requests', job: 'a"b', path: '/x', raw: '\\n' }));
    assert.deepEqual(d.values.map((v) => (v.omitted ? null : v.v)), [1, null, 3, 4]);
  });

  const durations: [string, number | undefined][] = [
    ['0', 0],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['1d', 86_400_000],
    ['1y', 31_536_000_000],
    ['10ms', 10],
    ['7m0s1ms', 420_001],
    ['1.5m', undefined],
    ['m', undefined],
    ['-1m', undefined],
  ];
  for (const [text, want] of durations) {
    it(`duration ${text}`, () => assert.equal(parseDurationMs(text), want));
  }

  const numbers: [string, number | undefined][] = [
    ['42', 42],
    ['0x1f', 31],
    ['017', 15],
    ['-1.5e-3', -0.0015],
    ['+Inf', Infinity],
    ['nan', NaN],
    ['abc', undefined],
    ['{} 1', undefined],
  ];
  for (const [text, want] of numbers) {
    it(`number ${text}`, () => assert.deepEqual(parseNumber(text), want));
  }
});

describe('promqltest commands', () => {
  it('parses load, clear and eval commands with their expectations', () => {
    // Prepare
    const script = [
      '# comment',
      'load 1m',
      '  m{a="1"} 1 2 _ 4',
      '  m{a="2"} stale',
      '',
      'eval instant at 2m m',
      '  m{a="1"} 2',
      '',
      'eval_ordered instant at 1m sort(m)',
      '  {a="1"} 2',
      '',
      'eval_fail instant at 0 foo(',
      '  expected_fail_message unexpected end',
      '',
      'eval range from 0 to 2m step 1m m',
      '  m{a="1"} 1 2 _',
      '',
      'eval instant at 0 1 + 1',
      '  2',
      '',
      'eval instant at 0 "x"',
      '  expect string "x"',
      '',
      'eval instant at 1m m[1m]',
      '  expect range vector from 0 to 1m step 1m',
      '  m{a="1"} 1 2',
      '',
      'eval range from 0 to 1m step 1m nope(',
      '  expect fail regex: ^1:',
      '',
      'clear',
    ].join('\n');
    // Act
    const cmds = parseScript(script);
    // Assess
    assert.deepEqual(cmds.map((c) => `${c.kind}@${c.line}`), ['load@2', 'eval@6', 'eval@9', 'eval@12', 'eval@15', 'eval@18', 'eval@21', 'eval@24', 'eval@28', 'clear@31']);
    const load = cmds[0]!;
    assert.ok(load.kind === 'load');
    assert.equal(load.stepMs, 60_000);
    assert.deepEqual(load.series[0]!.points, [{ t: 0, v: 1 }, { t: 60_000, v: 2 }, { t: 180_000, v: 4 }]);
    assert.ok(isStaleNaN(load.series[1]!.points[0]!.v));
    const [e1, e2, e3, e4, e5, e6, e7, e8] = cmds.slice(1, 9) as EvalCommand[];
    assert.deepEqual([e1!.at, e1!.query, e1!.series.length, e1!.ordered], [120_000, 'm', 1, false]);
    assert.equal(e2!.ordered, true);
    assert.deepEqual(e3!.fail, { msg: 'unexpected end' });
    assert.deepEqual(e4!.range, { start: 0, end: 120_000, step: 60_000 });
    assert.deepEqual(e5!.scalar, { v: 2, line: 19 });
    assert.equal(e6!.string, 'x');
    assert.deepEqual(e7!.rangeVector, { start: 0, end: 60_000, step: 60_000 });
    assert.equal(e7!.series[0]!.values.length, 2);
    assert.ok(e8!.fail?.regex?.test('1:5: parse error'));
  });

  const errors: [string, string, number][] = [
    ['frobnicate', 'invalid command', 1],
    ['load 1m\n  m 1\n  m{a=~"x"} 1', 'only equality', 3],
    ['load xyz', 'invalid step', 1],
    ['\n\nload 1m\n  m 1 2 zz', 'invalid series value "zz"', 4],
    ['eval instant at 1q m', 'not a duration', 1],
    ['eval sometimes m', 'invalid evaluation command', 1],
    ['eval instant at 0 m\n  m 1 2', 'multiple values in instant evaluation', 2],
    ['eval instant at 0 m\n  m 1\n  m 2', 'expected twice', 3],
    ['eval_fail instant at 0 m\n  m 1', 'cannot expect results', 1],
    ['eval instant at 0 m\n  expect warn', 'no annotations', 2],
    ['eval range from 2m to 1m step 1m m', 'end before start', 1],
    ['eval range from 0 to 1m step 0 m', 'step: must be positive', 1],
    ['eval instant at 0 m\n  m{a="1} 1', 'unterminated quoted string', 2],
    ['eval instant at 0 m\n  expect fail regex: (', 'invalid regex', 2],
  ];
  for (const [script, msg, line] of errors) {
    it(`rejects ${JSON.stringify(script)} at line ${line}`, () => {
      // Act / Assess
      assert.throws(
        () => parseScript(script),
        (e: unknown) => e instanceof ScriptSyntaxError && e.line === line && e.message.startsWith(`line ${line}: `) && e.message.includes(msg),
      );
    });
  }
});

describe('promqltest comparison', () => {
  it('compares values as Prometheus does', () => {
    assert.ok(almostEqual(NaN, NaN));
    assert.ok(almostEqual(1, 1 + 1e-9));
    assert.ok(!almostEqual(1, 1.00001));
    assert.ok(!almostEqual(0, 1e-300));
    assert.ok(almostEqual(Infinity, Infinity));
    assert.ok(!almostEqual(Infinity, -Infinity));
    assert.ok(!almostEqual(NaN, 0));
  });

  const [cmd] = parseScript('eval_ordered instant at 0 m\n  m{a="1"} 1\n  m{a="2"} NaN') as EvalCommand[];
  const vec = (...xs: [string, number][]): Value => ({ type: 'vector', value: xs.map(([a, v]) => ({ metric: labelsFromPairs({ __name__: 'm', a }), t: 0, v })) });
  const cases: [string, Value, string | undefined][] = [
    ['equal', vec(['1', 1], ['2', NaN]), undefined],
    ['out of order', vec(['2', NaN], ['1', 1]), 'at position 2 but was at 1'],
    ['missing', vec(['1', 1]), 'not found'],
    ['extra', vec(['1', 1], ['2', NaN], ['3', 0]), 'unexpected metric'],
    ['wrong value', vec(['1', 2], ['2', NaN]), 'expected 1 for'],
    ['a scalar', { type: 'scalar', value: { t: 0, v: 1 } }, 'expected a vector'],
    ['a matrix', { type: 'matrix', value: [] }, 'range result on instant evaluation'],
  ];
  for (const [name, value, want] of cases) {
    it(`vector result: ${name}`, () => {
      // Act
      const diff = compareInstant(cmd!, value);
      // Assess
      if (want === undefined) assert.equal(diff, undefined);
      else assert.match(diff ?? '', new RegExp(want.replace(/[()]/g, '\\$&')));
    });
  }

  it('counts failures with their line numbers and checks range mode', async () => {
    // Prepare: a fake target answering 1 for every instant query, whose
    // range queries disagree.
    const one = labelsFromPairs({ __name__: 'x' });
    const target: PromQLTarget = {
      load: async () => {},
      clear: async () => {},
      instant: async (q) => (q === 'bad' ? new Error('boom') : { type: 'vector', value: [{ metric: one, t: 0, v: 1 }] }),
      range: async (_q, s, _e, step) => ({ type: 'matrix', value: [{ metric: one, points: [{ t: s, v: 1 }, { t: s + step, v: 2 }] }] }),
    };
    const script = 'eval instant at 1m x\n  x 1\n\neval instant at 0 x\n  x 1\n\neval_fail instant at 0 bad\n\neval instant at 0 bad\n';
    // Act
    const res = await runScript(target, parseScript(script));
    // Assess
    assert.equal(res.evals, 4);
    assert.equal(res.passed, 1);
    assert.deepEqual(res.failures.map((f) => f.line), [1, 4, 9]);
    assert.match(res.failures[0]!.message, /^range mode: expected 1 for/);
    assert.match(res.failures[2]!.message, /unexpected error: boom/);
    assert.match(formatFailures('f.test', res.failures), /^f\.test:1: x\n/);
  });
});

describe('promqltest scripts on our engine', async () => {
  const files = readdirSync(Dir).filter((f) => f.endsWith('.test')).sort();
  // The engine is imported lazily so that this file loads (and says so
  // clearly) even when lib/promql/index.ts is missing.
  let engine: QueryEngineLike | Error;
  try {
    const mod = (await import('../../../lib/promql/index.ts')) as { Engine: new (opts?: object) => QueryEngineLike };
    engine = new mod.Engine();
  } catch (e) {
    engine = new Error(`cannot load the engine (lib/promql/index.ts): ${(e as Error).message}`);
  }

  it('has scripts', () => assert.ok(files.length >= 10, `only ${files.length} scripts in ${Dir}`));

  for (const file of files) {
    it(file, async () => {
      if (engine instanceof Error) throw engine;
      // Prepare
      const cmds = parseScript(readFileSync(join(Dir, file), 'utf8'));
      const target = new EngineTarget(engine);
      // Act
      const res = await runScript(target, cmds);
      await target.close();
      // Assess
      process.stdout.write(`# ${file}: ${res.passed}/${res.evals} evals passed on our engine\n`);
      assert.ok(res.evals > 0);
      assert.equal(res.failures.length, 0, `our engine disagrees with ${file}:\n${formatFailures(file, res.failures)}`);
    });
  }
});
