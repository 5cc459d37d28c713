/**
 * Parser of Prometheus' PromQL test-script language (promql/promqltest):
 * `load <step>` blocks, `clear`, and `eval` commands with their expected
 * results. Both the 2.42 form (`eval[_fail|_ordered] instant at <t> <q>`)
 * and the newer one (`eval range from <t> to <t> step <d> <q>`, and
 * `expect fail|ordered|string|range vector` lines) are accepted.
 *
 * Lines are trimmed; a line starting with `#` counts as empty, and an
 * empty line ends a block (as in Prometheus). Line numbers are 1-based.
 */
import type { Labels } from '../../labels/labels.ts';
import {
  parseDurationMs,
  parseNumber,
  parseSeriesDesc,
  readQuoted,
  ScriptSyntaxError,
  type SequenceValue,
} from './series.ts';

/** One series of a `load` block, expanded to samples. */
export interface LoadSeries {
  labels: Labels;
  /** Samples in time order (objects keep the stale marker's NaN bits). */
  points: { t: number; v: number }[];
  line: number;
}

export interface LoadCommand {
  kind: 'load';
  line: number;
  stepMs: number;
  series: LoadSeries[];
}

export interface ClearCommand {
  kind: 'clear';
  line: number;
}

/** An expected series: labels and an expanded value sequence. */
export interface ExpectedSeries {
  labels: Labels;
  values: SequenceValue[];
  line: number;
}

/** What an `expect fail` line demands of the error message, if anything. */
export interface FailExpectation {
  /** The exact message (`msg:`). */
  msg?: string;
  /** A pattern the message must contain a match of (`regex:`). */
  regex?: RegExp;
}

export interface EvalCommand {
  kind: 'eval';
  line: number;
  query: string;
  /** Instant: `at`; range: `from`..`to` every `step`. Milliseconds. */
  range?: { start: number; end: number; step: number };
  at: number;
  /** The query must fail (with a matching message when given). */
  fail?: FailExpectation;
  /** The instant vector must come in the expected order. */
  ordered: boolean;
  /** An instant query returning a plain number. */
  scalar?: { v: number; line: number };
  /** An instant query returning a string. */
  string?: string;
  /** An instant query returning a range vector, with the times of its expected points. */
  rangeVector?: { start: number; end: number; step: number };
  series: ExpectedSeries[];
}

export type Command = LoadCommand | ClearCommand | EvalCommand;

const LoadRe = /^load\s+(.+?)$/i;
const EvalInstantRe = /^eval(?:_(fail|ordered))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)$/i;
const EvalRangeRe = /^eval(?:_(fail))?\s+range\s+from\s+(.+?)\s+to\s+(.+?)\s+step\s+(.+?)\s+(.+)$/i;
const ExpectRe = /^expect\s+(\w+)(?:\s+(msg|regex):\s*(.*))?$/i;
const RangeVectorRe = /^expect\s+range\s+vector\s+from\s+(\S+)\s+to\s+(\S+)\s+step\s+(\S+)$/i;

function duration(s: string, line: number, what: string): number {
  const ms = parseDurationMs(s.trim());
  if (ms === undefined) throw new ScriptSyntaxError(line, `invalid ${what} ${JSON.stringify(s)}: not a duration`);
  return ms;
}

/** Unquotes an `expect ... msg:` text if it is quoted, as Prometheus does. */
function messageText(s: string, line: number): string {
  const t = s.trim();
  if (t.length >= 2 && (t[0] === '"' || t[0] === '`') && t.endsWith(t[0])) return readQuoted(t, 0, line).value;
  return t;
}

/** Parses a whole script. Throws {@link ScriptSyntaxError} naming the line. */
export function parseScript(input: string): Command[] {
  const lines = input.split('\n').map((l) => {
    const t = l.trim();
    return t.startsWith('#') ? '' : t;
  });
  const cmds: Command[] = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l === '') continue;
    const word = l.split(/[\t ]+/, 1)[0]!.toLowerCase();
    if (word === 'clear') {
      cmds.push({ kind: 'clear', line: i + 1 });
    } else if (word === 'load') {
      i = parseLoad(lines, i, cmds);
    } else if (word.startsWith('eval')) {
      i = parseEval(lines, i, cmds);
    } else {
      throw new ScriptSyntaxError(i + 1, `invalid command ${JSON.stringify(l)}`);
    }
  }
  return cmds;
}

function parseLoad(lines: string[], i: number, cmds: Command[]): number {
  const m = LoadRe.exec(lines[i]!);
  if (m === null) throw new ScriptSyntaxError(i + 1, 'invalid load command. (load <step:duration>)');
  const stepMs = duration(m[1]!, i + 1, 'step');
  const line = i + 1;
  const byKey = new Map<string, LoadSeries>();
  while (i + 1 < lines.length && lines[i + 1] !== '') {
    i++;
    const desc = parseSeriesDesc(lines[i]!, i + 1);
    const points: { t: number; v: number }[] = [];
    desc.values.forEach((sv, k) => {
      if (!sv.omitted) points.push({ t: k * stepMs, v: sv.v });
    });
    // A series defined twice in one block: the later definition wins.
    byKey.set(JSON.stringify(desc.labels), { labels: desc.labels, points, line: i + 1 });
  }
  cmds.push({ kind: 'load', line, stepMs, series: [...byKey.values()] });
  return i;
}

function parseEval(lines: string[], i: number, cmds: Command[]): number {
  const line = i + 1;
  const text = lines[i]!;
  let cmd: EvalCommand;
  let mi: RegExpExecArray | null;
  let mr: RegExpExecArray | null;
  if ((mr = EvalRangeRe.exec(text)) !== null) {
    const start = duration(mr[2]!, line, 'start');
    const end = duration(mr[3]!, line, 'end');
    const step = duration(mr[4]!, line, 'step');
    if (step <= 0) throw new ScriptSyntaxError(line, 'invalid step: must be positive');
    if (end < start) throw new ScriptSyntaxError(line, 'invalid range: end before start');
    cmd = { kind: 'eval', line, query: mr[5]!, range: { start, end, step }, at: start, ordered: false, series: [] };
    if (mr[1] !== undefined) cmd.fail = {};
  } else if ((mi = EvalInstantRe.exec(text)) !== null) {
    const at = mi[2] === undefined ? 0 : duration(mi[2], line, 'evaluation time');
    cmd = { kind: 'eval', line, query: mi[3]!, at, ordered: false, series: [] };
    if (mi[1]?.toLowerCase() === 'fail') cmd.fail = {};
    if (mi[1]?.toLowerCase() === 'ordered') cmd.ordered = true;
  } else {
    throw new ScriptSyntaxError(
      line,
      'invalid evaluation command. (eval[_fail|_ordered] instant [at <offset:duration>] <query> or eval[_fail] range from <from> to <to> step <step> <query>)',
    );
  }
  const seen = new Set<string>();
  while (i + 1 < lines.length && lines[i + 1] !== '') {
    i++;
    const l = lines[i]!;
    if (parseExpectLine(cmd, l, i + 1)) continue;
    if (cmd.scalar !== undefined || cmd.string !== undefined) throw new ScriptSyntaxError(i + 1, 'nothing may follow an expected scalar or string');
    const n = parseNumber(l);
    if (n !== undefined && cmd.range === undefined && cmd.series.length === 0) {
      cmd.scalar = { v: n, line: i + 1 };
      continue;
    }
    const desc = parseSeriesDesc(l, i + 1);
    const key = JSON.stringify(desc.labels);
    if (seen.has(key)) throw new ScriptSyntaxError(i + 1, `series ${l.split(/\s/)[0]} expected twice`);
    seen.add(key);
    if (cmd.range === undefined && cmd.rangeVector === undefined && desc.values.length !== 1) {
      throw new ScriptSyntaxError(i + 1, 'expecting multiple values in instant evaluation not allowed');
    }
    cmd.series.push({ labels: desc.labels, values: desc.values, line: i + 1 });
  }
  if (cmd.fail !== undefined && (cmd.series.length > 0 || cmd.scalar !== undefined || cmd.string !== undefined)) {
    throw new ScriptSyntaxError(line, 'a failing evaluation cannot expect results');
  }
  if (cmd.ordered && cmd.range !== undefined) throw new ScriptSyntaxError(line, 'ordered results are only defined for instant queries');
  cmds.push(cmd);
  return i;
}

/** Handles `expect ...` and the older `expected_fail_*` lines; false if `l` is neither. */
function parseExpectLine(cmd: EvalCommand, l: string, line: number): boolean {
  const lower = l.toLowerCase();
  if (lower.startsWith('expected_fail_message ') || lower.startsWith('expected_fail_regexp ')) {
    if (cmd.fail === undefined) throw new ScriptSyntaxError(line, 'expected_fail_* needs eval_fail');
    const arg = l.slice(l.indexOf(' ') + 1).trim();
    if (lower.startsWith('expected_fail_message')) cmd.fail.msg = arg;
    else cmd.fail.regex = compileRegex(arg, line);
    return true;
  }
  if (!lower.startsWith('expect ')) return false;
  const rv = RangeVectorRe.exec(l);
  if (rv !== null) {
    if (cmd.range !== undefined) throw new ScriptSyntaxError(line, 'expect range vector is only for instant queries');
    const start = duration(rv[1]!, line, 'start');
    const end = duration(rv[2]!, line, 'end');
    const step = duration(rv[3]!, line, 'step');
    if (step <= 0) throw new ScriptSyntaxError(line, 'invalid step: must be positive');
    cmd.rangeVector = { start, end, step };
    return true;
  }
  const str = /^expect\s+string\s+(.+)$/i.exec(l);
  if (str !== null) {
    if (cmd.range !== undefined) throw new ScriptSyntaxError(line, 'expect string is only for instant queries');
    const q = readQuoted(str[1]!.trim(), 0, line);
    if (q.end !== str[1]!.trim().length) throw new ScriptSyntaxError(line, 'text after the expected string');
    cmd.string = q.value;
    return true;
  }
  const m = ExpectRe.exec(l);
  if (m === null) throw new ScriptSyntaxError(line, `invalid expect line ${JSON.stringify(l)}`);
  const type = m[1]!.toLowerCase();
  if (type === 'fail') {
    cmd.fail ??= {};
    if (m[2]?.toLowerCase() === 'msg') cmd.fail.msg = messageText(m[3]!, line);
    if (m[2]?.toLowerCase() === 'regex') cmd.fail.regex = compileRegex(messageText(m[3]!, line), line);
    return true;
  }
  if (type === 'ordered') {
    if (m[2] !== undefined) throw new ScriptSyntaxError(line, 'expect ordered takes no message');
    cmd.ordered = true;
    return true;
  }
  // warn/info annotations do not exist in Prometheus 2.42.
  throw new ScriptSyntaxError(line, `unsupported expectation ${JSON.stringify(type)} (Prometheus 2.42 has no annotations)`);
}

function compileRegex(src: string, line: number): RegExp {
  try {
    return new RegExp(src);
  } catch (e) {
    throw new ScriptSyntaxError(line, `invalid regex: ${(e as Error).message}`);
  }
}
