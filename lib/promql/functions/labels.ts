/**
 * label_replace and label_join, after Prometheus 2.42 promql/functions.go.
 * Both keep `__name__` and every other label not written.
 *
 * label_replace compiles `^(?:regex)$` with RE2 syntax (re2js, as Go's
 * regexp) and expands the replacement as Go's `Regexp.ExpandString` does:
 * `$1`, `${1}`, `$name`, `${name}`, `$$` for a dollar; a name runs as far as
 * letters, digits and `_` go (so `$1x` is the group named `1x`, which is
 * empty); unknown groups expand to nothing; a malformed `$` stays literal.
 */
import { RE2JS } from 're2js';
import { labelsGet } from '../../labels/labels.ts';
import { PromQLError } from '../errors.ts';
import type { Vector } from '../value.ts';
import type { FunctionImpl } from './types.ts';
import { setLabel, stringArg, vectorArg } from './util.ts';

/** Prometheus' (pre-UTF-8) label name syntax, `model.LabelNameRE`. */
const labelNameRe = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Reports a `(?<` group, which Go 1.19 (Prometheus 2.42's toolchain)
 * rejects while re2js accepts it as a named group. Escapes and character
 * classes are skipped.
 */
function hasAngleGroup(re: string): boolean {
  let inClass = false;
  for (let i = 0; i < re.length; i++) {
    const c = re[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') {
      inClass = true;
      // A `]` right after `[` or `[^` is a literal.
      if (re[i + 1] === '^') i++;
      if (re[i + 1] === ']') i++;
      continue;
    }
    if (c === '(' && re.startsWith('?<', i + 1)) return true;
  }
  return false;
}

const nameChar = /[\p{L}\p{Nd}_]/u;

/** One parsed `$` reference of a template: a group number or a name, and where the template continues. */
function extractRef(s: string, at: number): { num: number; name: string; next: number } | undefined {
  let i = at;
  const brace = s[i] === '{';
  if (brace) i++;
  const start = i;
  while (i < s.length) {
    const cp = s.codePointAt(i)!;
    const ch = String.fromCodePoint(cp);
    if (!nameChar.test(ch)) break;
    i += ch.length;
  }
  if (i === start) return undefined;
  const name = s.slice(start, i);
  if (brace) {
    if (s[i] !== '}') return undefined;
    i++;
  }
  let num = 0;
  for (let j = 0; j < name.length; j++) {
    const c = name.charCodeAt(j);
    if (c < 48 || c > 57 || num >= 1e8) {
      num = -1;
      break;
    }
    num = num * 10 + (c - 48);
  }
  if (name[0] === '0' && name.length > 1) num = -1;
  return { num, name, next: i };
}

/** Go's `Regexp.ExpandString` of `template` for a match whose groups are `groups` (null when unset). */
function expand(template: string, groups: (string | null)[], names: Record<string, number>): string {
  let out = '';
  let i = 0;
  for (;;) {
    const d = template.indexOf('$', i);
    if (d < 0) break;
    out += template.slice(i, d);
    i = d + 1;
    if (template[i] === '$') {
      out += '$';
      i++;
      continue;
    }
    const ref = extractRef(template, i);
    if (ref === undefined) {
      out += '$';
      continue;
    }
    i = ref.next;
    const idx = ref.num >= 0 ? ref.num : names[ref.name];
    if (idx !== undefined && idx < groups.length) out += groups[idx] ?? '';
  }
  return out + template.slice(i);
}

const labelReplace: FunctionImpl = (args, ctx) => {
  const vec = vectorArg(args, 0);
  const dst = stringArg(args, 1);
  const repl = stringArg(args, 2);
  const src = stringArg(args, 3);
  const regex = stringArg(args, 4);
  let re: RE2JS;
  try {
    if (hasAngleGroup(regex)) throw new Error('(?< is not Go 1.19 syntax');
    re = RE2JS.compile('^(?:' + regex + ')$');
  } catch (cause) {
    throw new PromQLError('execution', `invalid regular expression in label_replace(): ${regex}`, { cause });
  }
  if (!labelNameRe.test(dst)) {
    throw new PromQLError('execution', `invalid destination label name in label_replace(): ${dst}`);
  }
  const names = re.namedGroups();
  const ngroups = re.groupCount() + 1;
  const groups: (string | null)[] = new Array(ngroups);
  const out: Vector = new Array(vec.length);
  for (let i = 0; i < vec.length; i++) {
    const s = vec[i]!;
    const m = re.matcher(labelsGet(s.metric, src));
    let metric = s.metric;
    if (m.find()) {
      for (let g = 0; g < ngroups; g++) groups[g] = m.group(g);
      metric = setLabel(s.metric, dst, expand(repl, groups, names));
    }
    out[i] = { metric, t: ctx.ts, v: s.v };
  }
  return out;
};

const labelJoin: FunctionImpl = (args, ctx) => {
  const vec = vectorArg(args, 0);
  const dst = stringArg(args, 1);
  const sep = stringArg(args, 2);
  const srcs: string[] = [];
  for (let i = 3; i < args.length; i++) {
    const src = stringArg(args, i);
    if (!labelNameRe.test(src)) throw new PromQLError('execution', `invalid source label name in label_join(): ${src}`);
    srcs.push(src);
  }
  if (!labelNameRe.test(dst)) throw new PromQLError('execution', `invalid destination label name in label_join(): ${dst}`);
  return vec.map((s) => ({
    metric: setLabel(s.metric, dst, srcs.map((n) => labelsGet(s.metric, n)).join(sep)),
    t: ctx.ts,
    v: s.v,
  }));
};

/** label_replace and label_join, by PromQL name. */
export const labelFunctions: Readonly<Record<string, FunctionImpl>> = {
  label_replace: labelReplace,
  label_join: labelJoin,
};
