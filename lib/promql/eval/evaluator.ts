/**
 * The PromQL evaluator, after Prometheus 2.42's `evaluator` (promql/
 * engine.go). It evaluates an expression at every step of
 * `[start, end]` (`interval` apart) and returns, for each output series,
 * the points of the steps at which it has a value. Selectors, subqueries
 * and step-invariant parts behave as in Prometheus, down to how many
 * samples are held in memory at each point (for the maxSamples limit).
 */
import type { Labels } from '../../labels/labels.ts';
import type { Series } from '../../storage/interface.ts';
import { PromQLError } from '../errors.ts';
import { exprType, type AggregateExpr, type BinaryExpr, type Expr, type SubqueryExpr, type VectorSelector } from '../parser/ast.ts';
import type { Vector } from '../value.ts';
import { aggregate, type AggregationSpec } from './aggregation.ts';
import {
  BinopCache,
  isSetOperator,
  scalarBinop,
  vectorAnd,
  vectorBinop,
  vectorOr,
  vectorScalarBinop,
  vectorUnless,
} from './binary.ts';
import { evalCall } from './calls.ts';
import { containsSameLabelset, dropMetricName, groupingKey, labelsKey, signatureFunc } from './label-ops.ts';
import { setOffsetForAtModifier } from './plan.ts';
import { LookbackCursor, WindowCursor } from './selectors.ts';
import type { EvalSeries, EvalValue, SharedState } from './types.ts';

/** One step's inputs for {@link Evaluator.rangeEval}'s callback: a vector per expression and their series keys. */
export type StepFn = (vectors: Vector[], keys: string[][], ts: number) => Vector;

/** Strips parentheses. */
export function unwrapParens(e: Expr): Expr {
  while (e.type === 'ParenExpr') e = e.expr;
  return e;
}

/** Strips one step-invariant wrapper (Prometheus' `unwrapStepInvariantExpr`). */
export function unwrapStepInvariant(e: Expr): Expr {
  return e.type === 'StepInvariantExpr' ? e.expr : e;
}

const sameLabelset = 'vector cannot contain metrics with the same labelset';

export class Evaluator {
  constructor(
    readonly start: number,
    readonly end: number,
    readonly interval: number,
    readonly shared: SharedState,
  ) {}

  /** Number of steps. */
  get numSteps(): number {
    return Math.trunc((this.end - this.start) / this.interval) + 1;
  }

  /** Evaluates `expr` over this evaluator's steps. */
  async eval(expr: Expr): Promise<EvalValue> {
    const qc = this.shared.qc;
    await qc.checkAndYield();
    switch (expr.type) {
      case 'AggregateExpr':
        return this.evalAggregate(expr);
      case 'Call':
        return evalCall(this, expr);
      case 'ParenExpr':
        return this.eval(expr.expr);
      case 'UnaryExpr': {
        const mat = (await this.eval(expr.expr)) as EvalSeries[];
        if (expr.op === '-') {
          for (const s of mat) {
            s.metric = dropMetricName(s.metric);
            for (let j = 0; j < s.vs.length; j++) s.vs[j] = -s.vs[j]!;
          }
          if (containsSameLabelset(mat)) throw new PromQLError('execution', sameLabelset);
        }
        return mat;
      }
      case 'BinaryExpr':
        return this.evalBinary(expr);
      case 'NumberLiteral': {
        const v = expr.val;
        return this.rangeEval(null, () => [{ metric: [], t: 0, v }], []);
      }
      case 'StringLiteral':
        return { kind: 'string', v: expr.val, t: this.start };
      case 'VectorSelector':
        return this.evalVectorSelector(expr);
      case 'MatrixSelector':
        if (this.start !== this.end) throw new PromQLError('internal', 'cannot do range evaluation of matrix selector');
        return this.evalMatrixSelector(expr.vectorSelector, expr.range);
      case 'SubqueryExpr':
        return this.evalSubqueryExpr(expr);
      case 'StepInvariantExpr':
        return this.evalStepInvariant(expr.expr);
    }
  }

  /**
   * Evaluates `exprs` (null entries skipped), then calls `fn` at every step
   * with each expression's vector at that step, and assembles the results
   * into series (Prometheus' `rangeEval`). `prep` computes a key per input
   * series once (grouping key, match signature), passed beside the vectors.
   */
  async rangeEval(prep: ((ls: Labels) => string) | null, fn: StepFn, exprs: (Expr | null)[]): Promise<EvalSeries[]> {
    const qc = this.shared.qc;
    const originalNumSamples = qc.currentSamples;
    const matrixes: EvalSeries[][] = [];
    for (const e of exprs) {
      if (e !== null && exprType(e) !== 'string') matrixes.push((await this.eval(e)) as EvalSeries[]);
      else matrixes.push([]);
    }
    const seriesKeys = matrixes.map((m) => (prep === null ? [] : m.map((s) => prep(s.metric))));
    const pos = matrixes.map((m) => new Int32Array(m.length));
    const vectors: Vector[] = matrixes.map(() => []);
    const keys: string[][] = matrixes.map(() => []);
    const out = new Map<string, EvalSeries>();
    let tempNumSamples = qc.currentSamples;
    const max = qc.maxSamples;

    for (let ts = this.start; ts <= this.end; ts += this.interval) {
      await qc.checkAndYield();
      qc.currentSamples = tempNumSamples;
      for (let i = 0; i < matrixes.length; i++) {
        const m = matrixes[i]!;
        const p = pos[i]!;
        const vec: Vector = [];
        const k: string[] = [];
        for (let si = 0; si < m.length; si++) {
          const s = m[si]!;
          const j = p[si]!;
          if (j < s.ts.length && s.ts[j] === ts) {
            if (qc.currentSamples >= max) qc.tooManySamples();
            vec.push({ metric: s.metric, t: ts, v: s.vs[j]! });
            if (prep !== null) k.push(seriesKeys[i]![si]!);
            p[si] = j + 1;
            qc.currentSamples++;
          }
        }
        vectors[i] = vec;
        keys[i] = k;
      }
      const result = fn(vectors, keys, ts);
      if (containsSameLabelset(result)) throw new PromQLError('execution', sameLabelset);
      qc.currentSamples += result.length;
      tempNumSamples += result.length;
      if (qc.currentSamples > max) qc.tooManySamples();

      if (this.start === this.end) {
        // One step (an instant evaluation): keep the function's order.
        qc.currentSamples = originalNumSamples + result.length;
        return result.map((s) => ({ metric: s.metric, ts: [ts], vs: [s.v] }));
      }
      for (const s of result) {
        const key = labelsKey(s.metric);
        let ss = out.get(key);
        if (ss === undefined) {
          ss = { metric: s.metric, ts: [], vs: [] };
          out.set(key, ss);
        }
        ss.ts.push(ts);
        ss.vs.push(s.v);
      }
    }
    const mat = [...out.values()];
    qc.currentSamples = originalNumSamples + totalPoints(mat);
    return mat;
  }

  private async evalAggregate(e: AggregateExpr): Promise<EvalSeries[]> {
    const grouping = [...e.grouping].sort();
    const spec: AggregationSpec = { op: e.op, grouping, groupingSet: new Set(grouping), without: e.without };
    const keyOf = (ls: Labels) => groupingKey(ls, spec.groupingSet, spec.without);
    if (e.param !== undefined) {
      const param = unwrapParens(unwrapStepInvariant(unwrapParens(e.param)));
      if (param.type === 'StringLiteral') {
        const label = param.val;
        return this.rangeEval(keyOf, (v, k) => aggregate(spec, label, v[0]!, k[0]!), [e.expr]);
      }
      return this.rangeEval(keyOf, (v, k) => aggregate(spec, v[0]![0]!.v, v[1]!, k[1]!), [e.param, e.expr]);
    }
    return this.rangeEval(keyOf, (v, k) => aggregate(spec, undefined, v[1]!, k[1]!), [null, e.expr]);
  }

  private async evalBinary(e: BinaryExpr): Promise<EvalSeries[]> {
    const lt = exprType(e.lhs);
    const rt = exprType(e.rhs);
    const op = e.op;
    if (lt === 'scalar' && rt === 'scalar') {
      return this.rangeEval(null, (v) => [{ metric: [], t: 0, v: scalarBinop(op, v[0]![0]!.v, v[1]![0]!.v) }], [e.lhs, e.rhs]);
    }
    if (lt === 'vector' && rt === 'vector') {
      const matching = e.matching ?? {
        card: isSetOperator(op) ? 'many-to-many' : 'one-to-one',
        matchingLabels: [],
        on: false,
        include: [],
      };
      const sig = signatureFunc(matching.on, matching.matchingLabels);
      switch (op) {
        case 'and':
          return this.rangeEval(sig, (v, k) => vectorAnd(v[0]!, v[1]!, k[0]!, k[1]!), [e.lhs, e.rhs]);
        case 'or':
          return this.rangeEval(sig, (v, k) => vectorOr(v[0]!, v[1]!, k[0]!, k[1]!), [e.lhs, e.rhs]);
        case 'unless':
          return this.rangeEval(sig, (v, k) => vectorUnless(v[0]!, v[1]!, k[0]!, k[1]!), [e.lhs, e.rhs]);
        default: {
          const cache = new BinopCache();
          return this.rangeEval(
            sig,
            (v, k) => vectorBinop(op, v[0]!, v[1]!, matching, e.returnBool, k[0]!, k[1]!, cache),
            [e.lhs, e.rhs],
          );
        }
      }
    }
    if (lt === 'vector' && rt === 'scalar') {
      return this.rangeEval(null, (v) => vectorScalarBinop(op, v[0]!, v[1]![0]!.v, false, e.returnBool), [e.lhs, e.rhs]);
    }
    if (lt === 'scalar' && rt === 'vector') {
      return this.rangeEval(null, (v) => vectorScalarBinop(op, v[1]!, v[0]![0]!.v, true, e.returnBool), [e.lhs, e.rhs]);
    }
    throw new PromQLError('internal', `binary expression between ${lt} and ${rt}`);
  }

  /** The evaluation offset of a selector or subquery (its own offset, adjusted for `@`). */
  offsetOf(n: VectorSelector | SubqueryExpr): number {
    return this.shared.offsets.get(n) ?? n.offset;
  }

  /** The series a selector matches (read from storage on first use). */
  async expand(vs: VectorSelector): Promise<Series[]> {
    const { qc } = this.shared;
    let entry = this.shared.selects.get(vs);
    if (entry === undefined) {
      entry = { set: undefined, hints: { start: this.start, end: this.end } };
      this.shared.selects.set(vs, entry);
    }
    if (entry.series !== undefined) return entry.series;
    const set = entry.set ?? this.shared.select(vs);
    const series: Series[] = [];
    while (await qc.race(set.next())) {
      qc.check();
      series.push(set.at());
    }
    qc.warnings.push(...set.warnings());
    entry.series = series;
    entry.set = undefined;
    return series;
  }

  private async evalVectorSelector(vs: VectorSelector): Promise<EvalSeries[]> {
    const { qc, lookbackDelta } = this.shared;
    const series = await this.expand(vs);
    const offset = this.offsetOf(vs);
    const max = qc.maxSamples;
    const out: EvalSeries[] = [];
    for (const s of series) {
      await qc.checkAndYield();
      const cur = new LookbackCursor(s.iterator(), lookbackDelta);
      const ts: number[] = [];
      const vs2: number[] = [];
      for (let t = this.start; t <= this.end; t += this.interval) {
        if (cur.at(t - offset)) {
          if (qc.currentSamples >= max) qc.tooManySamples();
          ts.push(t);
          vs2.push(cur.v);
          qc.currentSamples++;
        }
      }
      if (ts.length > 0) out.push({ metric: s.labels, ts, vs: vs2 });
    }
    return out;
  }

  /**
   * A selector's instant vector at one time, samples keeping their own
   * timestamps (for timestamp(); Prometheus' `vectorSelector`). The series
   * must have been expanded.
   */
  vectorSelectorAt(vs: VectorSelector, ts: number, series: readonly Series[]): Vector {
    const { qc, lookbackDelta } = this.shared;
    const refTime = ts - this.offsetOf(vs);
    const out: Vector = [];
    for (const s of series) {
      const cur = new LookbackCursor(s.iterator(), lookbackDelta);
      if (cur.at(refTime)) {
        out.push({ metric: s.labels, t: cur.t, v: cur.v });
        qc.currentSamples++;
        if (qc.currentSamples > qc.maxSamples) qc.tooManySamples();
      }
    }
    return out;
  }

  private async evalMatrixSelector(vs: VectorSelector, range: number): Promise<EvalSeries[]> {
    const { qc } = this.shared;
    const series = await this.expand(vs);
    const maxt = this.start - this.offsetOf(vs);
    const mint = maxt - range;
    const out: EvalSeries[] = [];
    for (const s of series) {
      await qc.checkAndYield();
      const w = new WindowCursor(qc);
      w.reset(s.iterator());
      const pts = w.window(mint, maxt);
      if (pts.length > 0) out.push({ metric: s.labels, ts: pts.map((p) => p.t), vs: pts.map((p) => p.v) });
    }
    return out;
  }

  private async evalSubqueryExpr(e: SubqueryExpr): Promise<EvalValue> {
    const offset = this.offsetOf(e);
    const interval = e.step !== 0 ? e.step : this.shared.noStepSubqueryInterval(e.range);
    const from = this.start - offset - e.range;
    // The first step at or after `from` that is a multiple of the interval.
    let start = interval * Math.trunc(from / interval);
    if (start < from) start += interval;
    if (start !== this.start) setOffsetForAtModifier(this.shared.offsets, start, e.expr);
    return new Evaluator(start, this.end - offset, interval, this.shared).eval(e.expr);
  }

  private async evalStepInvariant(inner: Expr): Promise<EvalValue> {
    if (inner.type === 'StringLiteral' || inner.type === 'NumberLiteral') return this.eval(inner);
    const qc = this.shared.qc;
    const res = await new Evaluator(this.start, this.start, this.interval, this.shared).eval(inner);
    if (inner.type === 'MatrixSelector' || inner.type === 'SubqueryExpr') return res;
    if (!Array.isArray(res)) {
      throw new PromQLError('execution', 'unexpected result in StepInvariantExpr evaluation: *parser.StepInvariantExpr');
    }
    // The same value at every step, each at its own time.
    for (const s of res) {
      if (s.ts.length !== 1) throw new PromQLError('internal', 'unexpected number of samples');
      const v = s.vs[0]!;
      for (let ts = this.start + this.interval; ts <= this.end; ts += this.interval) {
        s.ts.push(ts);
        s.vs.push(v);
        qc.currentSamples++;
        if (qc.currentSamples > qc.maxSamples) qc.tooManySamples();
      }
    }
    return res;
  }
}

/** Points held by a set of series. */
export function totalPoints(mat: readonly EvalSeries[]): number {
  let n = 0;
  for (const s of mat) n += s.ts.length;
  return n;
}
