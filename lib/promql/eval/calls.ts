/**
 * Function calls, after the `*parser.Call` case of Prometheus 2.42's
 * `evaluator.eval`: timestamp() of a plain selector reads stored sample
 * times; a function with a range-vector argument (a matrix selector or a
 * subquery) is called once per series and step with that series' points in
 * `[t - offset - range, t - offset]`; other functions are called once per
 * step with their arguments' values at that step.
 */
import type { Labels } from '../../labels/labels.ts';
import type { SampleIterator } from '../../storage/interface.ts';
import { PromQLError } from '../errors.ts';
import { absentLabels } from '../functions/absent.ts';
import type { ArgValue, FunctionContext, FunctionImpl } from '../functions/types.ts';
import { exprType, type Call, type Expr, type StringLiteral, type SubqueryExpr, type VectorSelector } from '../parser/ast.ts';
import type { Matrix } from '../value.ts';
import { Evaluator, totalPoints, unwrapParens, unwrapStepInvariant } from './evaluator.ts';
import { containsSameLabelset, dropMetricName } from './label-ops.ts';
import { PointsIterator, WindowCursor } from './selectors.ts';
import type { EvalSeries } from './types.ts';

/** The value of a string argument (a literal, maybe in parentheses). */
function stringArg(e: Expr): string {
  const s = unwrapParens(unwrapStepInvariant(unwrapParens(e)));
  if (s.type !== 'StringLiteral') throw new PromQLError('internal', `expected a string literal, got ${s.type}`);
  return (s as StringLiteral).val;
}

/** Evaluates a call over the evaluator's steps. */
export async function evalCall(ev: Evaluator, e: Call): Promise<EvalSeries[]> {
  const name = e.func.name;
  const impl = ev.shared.functions[name];
  if (impl === undefined) throw new PromQLError('internal', `function "${name}" is not implemented`);
  // Prometheus strips the parentheses around arguments before using them.
  const args = e.args.map(unwrapParens);

  if (name === 'timestamp') {
    const a = unwrapParens(unwrapStepInvariant(args[0]!));
    if (a.type === 'VectorSelector') return timestampOfSelector(ev, a, impl, args);
  }

  // The first range-vector argument, if any (a subquery counts as one).
  let matrixIndex = -1;
  for (let i = 0; i < args.length; i++) {
    const a = unwrapParens(unwrapStepInvariant(args[i]!));
    if (a.type === 'MatrixSelector' || a.type === 'SubqueryExpr') {
      matrixIndex = i;
      break;
    }
  }
  if (matrixIndex < 0) {
    const types = args.map((a) => exprType(a));
    const strings = args.map((a, i) => (types[i] === 'string' ? stringArg(a) : ''));
    const ctx: FunctionContext = { ts: 0, rangeStart: 0, rangeEnd: 0, args };
    const callArgs: ArgValue[] = new Array(args.length);
    return ev.rangeEval(
      null,
      (vectors, _keys, ts) => {
        for (let i = 0; i < args.length; i++) {
          const t = types[i];
          callArgs[i] = t === 'string' ? strings[i]! : t === 'scalar' ? vectors[i]![0]!.v : vectors[i]!;
        }
        ctx.ts = ts;
        return impl(callArgs, ctx);
      },
      args,
    );
  }
  return callWithRange(ev, e, impl, args, matrixIndex);
}

/** timestamp(selector): the selector is read at each step with the samples' own times. */
async function timestampOfSelector(ev: Evaluator, vs: VectorSelector, impl: FunctionImpl, args: Expr[]): Promise<EvalSeries[]> {
  const series = await ev.expand(vs);
  const ctx: FunctionContext = { ts: 0, rangeStart: 0, rangeEnd: 0, args };
  return ev.rangeEval(
    null,
    (_v, _k, ts) => {
      // With `@`, every step reads the `@` time minus the offset. (The v2.42.0
      // source drops the offset here; the Debian 2.42 build, our oracle, keeps it.)
      if (vs.timestamp !== undefined) ev.shared.offsets.set(vs, ts - vs.timestamp + vs.offset);
      const vec = ev.vectorSelectorAt(vs, ts, series);
      ctx.ts = ts;
      return impl([vec], ctx);
    },
    [],
  );
}

/** A source of series for the range-vector argument. */
interface RangeSource {
  series: { labels: Labels; iterator: () => SampleIterator }[];
  offset: number;
  range: number;
}

/** Evaluates a subquery argument into series held in memory (Prometheus' `evalSubquery`). */
async function subquerySource(ev: Evaluator, sq: SubqueryExpr): Promise<{ src: RangeSource; total: number }> {
  const mat = (await ev.eval(sq)) as EvalSeries[];
  let offset = ev.offsetOf(sq);
  if (sq.timestamp !== undefined) offset = sq.offset + (ev.start - sq.timestamp);
  const series = mat.map((s) => ({ labels: s.metric, iterator: () => new PointsIterator(s.ts, s.vs) }));
  return { src: { series, offset, range: sq.range }, total: totalPoints(mat) };
}

async function callWithRange(ev: Evaluator, e: Call, impl: FunctionImpl, args: Expr[], matrixIndex: number): Promise<EvalSeries[]> {
  const { qc } = ev.shared;
  const name = e.func.name;
  const arg = unwrapParens(unwrapStepInvariant(args[matrixIndex]!));
  let src: RangeSource;
  let subquerySamples = 0;
  if (arg.type === 'SubqueryExpr') {
    const r = await subquerySource(ev, arg);
    src = r.src;
    subquerySamples = r.total;
  } else if (arg.type === 'MatrixSelector') {
    src = { series: [], offset: 0, range: arg.range };
  } else {
    throw new PromQLError('internal', `unexpected range argument ${arg.type}`);
  }
  try {
    // The other arguments are scalars (one value per step) or strings.
    const others: (number[] | string | undefined)[] = [];
    for (let i = 0; i < args.length; i++) {
      if (i === matrixIndex) others.push(undefined);
      else if (exprType(args[i]!) === 'string') others.push(stringArg(args[i]!));
      else {
        const m = (await ev.eval(args[i]!)) as EvalSeries[];
        others.push(m[0]?.vs ?? []);
      }
    }
    if (arg.type === 'MatrixSelector') {
      const vs = arg.vectorSelector;
      const series = await ev.expand(vs);
      src = { series: series.map((s) => ({ labels: s.labels, iterator: () => s.iterator() })), offset: ev.offsetOf(vs), range: arg.range };
    }

    const out: EvalSeries[] = [];
    const inMatrix: Matrix = [{ metric: [], points: [] }];
    const callArgs: ArgValue[] = others.map((o) => (typeof o === 'string' ? o : 0));
    callArgs[matrixIndex] = inMatrix;
    const ctx: FunctionContext = { ts: 0, rangeStart: 0, rangeEnd: 0, args };
    const absentOverTime = name === 'absent_over_time';
    const window = new WindowCursor(qc);
    for (const s of src.series) {
      await qc.checkAndYield();
      window.reset(s.iterator());
      // last_over_time acts like offset and keeps the metric name; the others drop it.
      const metric = name === 'last_over_time' ? s.labels : dropMetricName(s.labels);
      inMatrix[0]!.metric = s.labels;
      const ts: number[] = [];
      const vs: number[] = [];
      let step = -1;
      for (let t = ev.start; t <= ev.end; t += ev.interval) {
        step++;
        for (let j = 0; j < others.length; j++) {
          const o = others[j];
          if (Array.isArray(o)) callArgs[j] = o[step]!;
        }
        const maxt = t - src.offset;
        const mint = maxt - src.range;
        const points = window.window(mint, maxt);
        if (points.length === 0) continue;
        if (absentOverTime) {
          // Any point means "present"; the output is built below.
          ts.push(t);
          vs.push(1);
          continue;
        }
        inMatrix[0]!.points = points;
        ctx.ts = t;
        ctx.rangeStart = mint;
        ctx.rangeEnd = maxt;
        const res = impl(callArgs, ctx);
        if (res.length > 0) {
          ts.push(t);
          vs.push(res[0]!.v);
        }
      }
      if (ts.length > 0) {
        if (qc.currentSamples + ts.length > qc.maxSamples) qc.tooManySamples();
        out.push({ metric, ts, vs });
        qc.currentSamples += ts.length;
      }
    }
    window.release();

    if (absentOverTime) return absentOverTimeResult(ev, out, args[0]!);
    if (containsSameLabelset(out)) throw new PromQLError('execution', 'vector cannot contain metrics with the same labelset');
    return out;
  } finally {
    // The subquery's points are no longer held.
    qc.currentSamples -= subquerySamples;
  }
}

/** absent_over_time: one series, 1 at the steps where no input series has points. */
function absentOverTimeResult(ev: Evaluator, mat: EvalSeries[], arg: Expr): EvalSeries[] {
  const steps = ev.numSteps;
  for (const s of mat) if (s.ts.length === steps) return [];
  const found = new Set<number>();
  for (let i = 0; i < mat.length; i++) {
    for (const t of mat[i]!.ts) found.add(t);
    if (i > 0 && found.size === steps) return [];
  }
  const ts: number[] = [];
  const vs: number[] = [];
  for (let t = ev.start; t <= ev.end; t += ev.interval) {
    if (!found.has(t)) {
      ts.push(t);
      vs.push(1);
    }
  }
  return [{ metric: absentLabels(arg), ts, vs }];
}
