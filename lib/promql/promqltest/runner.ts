/**
 * Runs a parsed promqltest script against any PromQL implementation behind
 * {@link PromQLTarget}, comparing results as Prometheus 2.42's
 * promql/test.go does: labels exactly, values within a relative error of
 * 1e-6 (NaN equals NaN), order only for ordered evaluations. Like 2.42, an
 * instant evaluation that succeeds is run again as a range query from
 * t-1m to t+1m every 1m, whose middle step must give the same result.
 */
import { labelsEqual, labelsToString, type Labels } from '../../labels/labels.ts';
import type { Value } from '../value.ts';
import type { Command, EvalCommand, ExpectedSeries } from './parse.ts';

/** A series to load: canonical labels and samples in time order. */
export interface TargetSeries {
  labels: Labels;
  points: { t: number; v: number }[];
}

/** A PromQL implementation under test. Query failures are returned, not thrown. */
export interface PromQLTarget {
  load(series: TargetSeries[]): Promise<void>;
  /** Drops all data. Called before each script too. */
  clear(): Promise<void>;
  instant(query: string, tMs: number): Promise<Value | Error>;
  range(query: string, startMs: number, endMs: number, stepMs: number): Promise<Value | Error>;
}

/** An evaluation whose result did not match. */
export interface Failure {
  /** 1-based line of the `eval` command. */
  line: number;
  query: string;
  message: string;
}

/** The outcome of one script. */
export interface RunResult {
  evals: number;
  passed: number;
  failures: Failure[];
}

/** Options of {@link runScript}. */
export interface RunOptions {
  /** Also check instant evaluations in range mode (as 2.42 does). @default true */
  rangeModeCheck?: boolean;
}

const MinNormal = 2.2250738585072014e-308;
const Epsilon = 0.000001;

/** Prometheus' `almostEqual`: relative error below 1e-6; NaN equals NaN. */
export function almostEqual(a: number, b: number): boolean {
  if (Number.isNaN(a) && Number.isNaN(b)) return true;
  if (a === b) return true;
  const diff = Math.abs(a - b);
  if (a === 0 || b === 0 || diff < MinNormal) return diff < Epsilon * MinNormal;
  return diff / (Math.abs(a) + Math.abs(b)) < Epsilon;
}

/** Formats a value as Go's %v would (Inf as +Inf). */
function fmt(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** Compares an instant query's result to an evaluation's expectations; returns the first difference. */
export function compareInstant(cmd: EvalCommand, result: Value): string | undefined {
  if (cmd.string !== undefined) {
    if (result.type !== 'string') return `expected string ${JSON.stringify(cmd.string)} but got a ${result.type}`;
    return result.value.v === cmd.string ? undefined : `expected string ${JSON.stringify(cmd.string)} but got ${JSON.stringify(result.value.v)}`;
  }
  switch (result.type) {
    case 'string':
      return `unexpected string result ${JSON.stringify(result.value.v)}`;
    case 'matrix':
      if (cmd.rangeVector === undefined) return 'received range result on instant evaluation';
      return compareMatrix(cmd.series, cmd.rangeVector.start, cmd.rangeVector.step, result.value);
    case 'scalar': {
      if (cmd.scalar === undefined) return `expected a vector but got scalar ${fmt(result.value.v)}`;
      return almostEqual(cmd.scalar.v, result.value.v) ? undefined : `expected scalar ${fmt(cmd.scalar.v)} but got ${fmt(result.value.v)}`;
    }
    case 'vector': {
      if (cmd.scalar !== undefined) return `expected scalar ${fmt(cmd.scalar.v)} but got a vector of ${result.value.length} samples`;
      if (cmd.rangeVector !== undefined) return 'expected a range vector but got an instant vector';
      const seen = new Set<ExpectedSeries>();
      for (let pos = 0; pos < result.value.length; pos++) {
        const s = result.value[pos]!;
        const k = cmd.series.findIndex((e) => labelsEqual(e.labels, s.metric));
        const exp = cmd.series[k];
        if (exp === undefined) return `unexpected metric ${labelsToString(s.metric)} in result`;
        if (seen.has(exp)) return `metric ${labelsToString(s.metric)} appears twice in the result`;
        if (cmd.ordered && k !== pos) return `expected metric ${labelsToString(s.metric)} at position ${k + 1} but was at ${pos + 1}`;
        if (!almostEqual(exp.values[0]!.v, s.v)) return `expected ${fmt(exp.values[0]!.v)} for ${labelsToString(s.metric)} but got ${fmt(s.v)}`;
        seen.add(exp);
      }
      for (const e of cmd.series) if (!seen.has(e)) return `expected metric ${labelsToString(e.labels)} with ${fmt(e.values[0]!.v)} not found`;
      return undefined;
    }
  }
}

/** Compares a matrix to expected series whose i-th value belongs at start + i*step. */
export function compareMatrix(expected: ExpectedSeries[], start: number, step: number, mat: { metric: Labels; points: { t: number; v: number }[] }[]): string | undefined {
  const seen = new Set<ExpectedSeries>();
  for (const s of mat) {
    const exp = expected.find((e) => labelsEqual(e.labels, s.metric));
    if (exp === undefined) return `unexpected metric ${labelsToString(s.metric)} in result with points ${pointsText(s.points)}`;
    if (seen.has(exp)) return `metric ${labelsToString(s.metric)} appears twice in the result`;
    seen.add(exp);
    const want: { t: number; v: number }[] = [];
    exp.values.forEach((sv, i) => {
      if (!sv.omitted) want.push({ t: start + i * step, v: sv.v });
    });
    const same = want.length === s.points.length && want.every((p, i) => p.t === s.points[i]!.t && almostEqual(p.v, s.points[i]!.v));
    if (!same) return `expected ${pointsText(want)} for ${labelsToString(s.metric)} but got ${pointsText(s.points)}`;
  }
  for (const e of expected) if (!seen.has(e)) return `expected metric ${labelsToString(e.labels)} not found`;
  return undefined;
}

function pointsText(ps: { t: number; v: number }[]): string {
  return `[${ps.map((p) => `${fmt(p.v)}@${p.t / 1000}s`).join(' ')}]`;
}

/** Checks an evaluation's error against its `expect fail` line. */
function checkError(cmd: EvalCommand, err: Error): string | undefined {
  if (cmd.fail === undefined) return `unexpected error: ${err.message}`;
  if (cmd.fail.msg !== undefined && err.message !== cmd.fail.msg) return `expected error ${JSON.stringify(cmd.fail.msg)} but got ${JSON.stringify(err.message)}`;
  if (cmd.fail.regex !== undefined && !cmd.fail.regex.test(err.message)) return `expected error matching ${cmd.fail.regex} but got ${JSON.stringify(err.message)}`;
  return undefined;
}

/** Runs one evaluation; returns what went wrong, if anything. */
export async function runEval(target: PromQLTarget, cmd: EvalCommand, opts: RunOptions = {}): Promise<string | undefined> {
  if (cmd.range !== undefined) {
    const { start, end, step } = cmd.range;
    const res = await target.range(cmd.query, start, end, step);
    if (res instanceof Error) return checkError(cmd, res);
    if (cmd.fail !== undefined) return 'expected an error but the query succeeded';
    if (res.type !== 'matrix') return `a range query returned a ${res.type}`;
    return compareMatrix(cmd.series, start, step, res.value);
  }
  const res = await target.instant(cmd.query, cmd.at);
  if (res instanceof Error) return checkError(cmd, res);
  if (cmd.fail !== undefined) return 'expected an error but the query succeeded';
  const diff = compareInstant(cmd, res);
  if (diff !== undefined) return diff;
  if (opts.rangeModeCheck === false || cmd.ordered || res.type === 'string' || res.type === 'matrix') return undefined;
  // The same query as a range query: its middle step must agree.
  const rr = await target.range(cmd.query, cmd.at - 60_000, cmd.at + 60_000, 60_000);
  if (rr instanceof Error) return `range mode: unexpected error: ${rr.message}`;
  if (rr.type !== 'matrix') return `range mode: a range query returned a ${rr.type}`;
  const vec = [];
  for (const s of rr.value) {
    const p = s.points.find((x) => x.t === cmd.at);
    if (p !== undefined) vec.push({ metric: s.metric, t: p.t, v: p.v });
  }
  let asValue: Value;
  if (res.type === 'scalar') {
    if (vec.length !== 1) return `range mode: expected one series for a scalar, got ${vec.length}`;
    asValue = { type: 'scalar', value: { t: cmd.at, v: vec[0]!.v } };
  } else {
    asValue = { type: 'vector', value: vec };
  }
  const d = compareInstant(cmd, asValue);
  return d === undefined ? undefined : `range mode: ${d}`;
}

/**
 * Runs a script's commands in order against `target`, after clearing it.
 * Every evaluation is run even after failures; failures carry line numbers.
 */
export async function runScript(target: PromQLTarget, cmds: readonly Command[], opts: RunOptions = {}): Promise<RunResult> {
  const out: RunResult = { evals: 0, passed: 0, failures: [] };
  await target.clear();
  for (const cmd of cmds) {
    if (cmd.kind === 'clear') {
      await target.clear();
    } else if (cmd.kind === 'load') {
      await target.load(cmd.series.map((s) => ({ labels: s.labels, points: s.points })));
    } else {
      out.evals++;
      let diff: string | undefined;
      try {
        diff = await runEval(target, cmd, opts);
      } catch (e) {
        diff = `target threw: ${(e as Error).stack ?? String(e)}`;
      }
      if (diff === undefined) out.passed++;
      else out.failures.push({ line: cmd.line, query: cmd.query, message: diff });
    }
  }
  return out;
}

/** Formats failures one per line, as `file:line: query: message`. */
export function formatFailures(file: string, failures: readonly Failure[]): string {
  return failures.map((f) => `${file}:${f.line}: ${f.query}\n    ${f.message}`).join('\n');
}
