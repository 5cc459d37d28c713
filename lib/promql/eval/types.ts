/**
 * Internal values of the evaluator. Every expression evaluates, over the
 * evaluator's steps, to a set of series with one point per step at which
 * it has a value (Prometheus evaluates the same way: an instant query is a
 * range evaluation of one step), or to a string.
 */
import type { Labels } from '../../labels/labels.ts';
import type { Series, SeriesSet, SelectHints } from '../../storage/interface.ts';
import type { FunctionImpl } from '../functions/types.ts';
import type { VectorSelector } from '../parser/ast.ts';
import type { QueryContext } from './context.ts';
import type { Offsets } from './plan.ts';

/** One series of an evaluated expression: points in time order, as parallel arrays. */
export interface EvalSeries {
  metric: Labels;
  ts: number[];
  vs: number[];
}

/** A string expression's value. */
export interface EvalString {
  kind: 'string';
  v: string;
  t: number;
}

/** What {@link Evaluator.eval} returns. */
export type EvalValue = EvalSeries[] | EvalString;

/** State shared by an evaluator and every evaluator it starts for subqueries and step-invariant parts. */
export interface SharedState {
  qc: QueryContext;
  lookbackDelta: number;
  noStepSubqueryInterval: (rangeMs: number) => number;
  functions: Readonly<Record<string, FunctionImpl>>;
  /** The offsets of selectors and subqueries, adjusted for `@`. */
  offsets: Offsets;
  /** The series of each selector, selected before evaluation and expanded on first use. */
  selects: Map<VectorSelector, { set: SeriesSet | undefined; hints: SelectHints; series?: Series[] }>;
  /** Opens the series set of a selector not planned ahead (never in a preprocessed tree). */
  select: (vs: VectorSelector) => SeriesSet;
}
