/**
 * The values PromQL expressions evaluate to, after Prometheus'
 * promql/value.go. Times are milliseconds; values are float64.
 *
 * This file is the contract between the evaluator (engine.ts), the
 * function library (functions/) and the HTTP API (lib/api): change it
 * only together with all three.
 */
import type { Labels } from '../labels/labels.ts';

export const ValueType = {
  NONE: 'none',
  VECTOR: 'vector',
  SCALAR: 'scalar',
  MATRIX: 'matrix',
  STRING: 'string',
} as const;
export type ValueType = (typeof ValueType)[keyof typeof ValueType];

/** One element of an instant vector: a series' labels and one sample. */
export interface Sample {
  metric: Labels;
  /** Sample time, ms. */
  t: number;
  v: number;
}

/** An instant vector. No two elements share a label set. */
export type Vector = Sample[];

/** A float point of a series in a range vector or matrix. */
export interface Point {
  t: number;
  v: number;
}

/** One series of a matrix: labels and points in increasing time order. */
export interface MatrixSeries {
  metric: Labels;
  points: Point[];
}

/** A range vector (or a range query's result). */
export type Matrix = MatrixSeries[];

export interface Scalar {
  t: number;
  v: number;
}

export interface StringValue {
  t: number;
  v: string;
}

/** What an expression evaluates to, tagged by type. */
export type Value =
  | { type: 'vector'; value: Vector }
  | { type: 'matrix'; value: Matrix }
  | { type: 'scalar'; value: Scalar }
  | { type: 'string'; value: StringValue };
