/**
 * Element-wise math over an instant vector (abs, ceil, floor, round, exp,
 * sqrt, ln, log2, log10, sgn, clamp*, trigonometry, deg/rad) and `pi()`,
 * after Prometheus 2.42 promql/functions.go. Every one drops `__name__`.
 *
 * JavaScript's `Math` and Go's `math` are both fdlibm-derived or correctly
 * rounded, so transcendental results agree to an ulp or so. log2 and log10
 * follow Go's own formulas: Go's `Log10(x)` is `Log(x)·(1/Ln10)` with the
 * constant rounded once (`Math.LOG10E`), not always `Math.log10(x)`.
 */
import type { Vector } from '../value.ts';
import type { FunctionImpl } from './types.ts';
import { dropMetricName, scalarArg, single, vectorArg } from './util.ts';

/** Applies `f` to every sample's value, dropping `__name__`. */
function simple(f: (v: number) => number): FunctionImpl {
  return (args, ctx) => {
    const vec = vectorArg(args, 0);
    const out: Vector = new Array(vec.length);
    for (let i = 0; i < vec.length; i++) {
      const s = vec[i]!;
      out[i] = { metric: dropMetricName(s.metric), t: ctx.ts, v: f(s.v) };
    }
    return out;
  };
}

const scratch = new DataView(new ArrayBuffer(8));

/** Go's `math.Frexp`: `x = frac·2^exp` with `|frac|` in [0.5, 1). */
function frexp(x: number): [number, number] {
  if (x === 0 || !Number.isFinite(x)) return [x, 0];
  let e = 0;
  if (Math.abs(x) < 2.2250738585072014e-308) {
    x *= 2 ** 52; // normalise a subnormal
    e = -52;
  }
  scratch.setFloat64(0, x);
  const hi = scratch.getUint32(0);
  e += ((hi >>> 20) & 0x7ff) - 1022;
  scratch.setUint32(0, (hi & 0x800fffff) | (1022 << 20));
  return [scratch.getFloat64(0), e];
}

/** Go's `math.Log2`: exact for powers of two, else `Log(frac)·(1/Ln2) + exp`. */
function goLog2(x: number): number {
  const [frac, exp] = frexp(x);
  if (frac === 0.5) return exp - 1;
  return Math.log(frac) * Math.LOG2E + exp;
}

/** Rounds half to even, as the SSE conversion `CVTSD2SL` does. */
function rint(y: number): number {
  const r = Math.round(y);
  return r - y === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Go's `math.Exp` on amd64 (exp_amd64.s), which Debian's Prometheus runs:
 * it splits `x = k·ln2 + r` with `k = rint(x·log2e)` and overflows to +Inf
 * as soon as `k` reaches 1024, i.e. from x ≈ 709.44 on, although e^x is
 * finite up to x ≈ 709.78. Elsewhere its result is within an ulp or two of
 * `Math.exp`.
 */
function goExp(x: number): number {
  if (x > 709.782712893384 || rint(x * Math.LOG2E) >= 1024) return Infinity;
  return Math.exp(x);
}

/** Go's `math.Sinh`: through Exp for |x| > 21 (so it overflows where Exp does). */
function goSinh(x: number): number {
  if (x > 21) return goExp(x) * 0.5;
  if (x < -21) return -(goExp(-x) * 0.5);
  return Math.sinh(x);
}

/** Go's `math.Cosh`: through Exp for |x| > 21. */
function goCosh(x: number): number {
  const a = Math.abs(x);
  return a > 21 ? goExp(a) * 0.5 : Math.cosh(x);
}

/** Go's `math.Log10`: `Log(x)·(1/Ln10)`. */
function goLog10(x: number): number {
  return Math.log(x) * Math.LOG10E;
}

function sgn(v: number): number {
  if (v < 0) return -1;
  if (v > 0) return 1;
  return v;
}

const clamp: FunctionImpl = (args, ctx) => {
  const vec = vectorArg(args, 0);
  const lo = scalarArg(args, 1);
  const hi = scalarArg(args, 2);
  if (hi < lo) return [];
  return vec.map((s) => ({ metric: dropMetricName(s.metric), t: ctx.ts, v: Math.max(lo, Math.min(hi, s.v)) }));
};

const clampMax: FunctionImpl = (args, ctx) => {
  const vec = vectorArg(args, 0);
  const hi = scalarArg(args, 1);
  return vec.map((s) => ({ metric: dropMetricName(s.metric), t: ctx.ts, v: Math.min(hi, s.v) }));
};

const clampMin: FunctionImpl = (args, ctx) => {
  const vec = vectorArg(args, 0);
  const lo = scalarArg(args, 1);
  return vec.map((s) => ({ metric: dropMetricName(s.metric), t: ctx.ts, v: Math.max(lo, s.v) }));
};

/**
 * round(v, to_nearest = 1): rounds half up to a multiple of `to_nearest`,
 * dividing by its inverse as Prometheus does (fewer representation errors
 * than multiplying, e.g. for 0.1).
 */
const round: FunctionImpl = (args, ctx) => {
  const vec = vectorArg(args, 0);
  const toNearest = args.length >= 2 ? scalarArg(args, 1) : 1;
  const inv = 1.0 / toNearest;
  return vec.map((s) => ({ metric: dropMetricName(s.metric), t: ctx.ts, v: Math.floor(s.v * inv + 0.5) / inv }));
};

/** The element-wise math functions and pi(), by PromQL name. */
export const mathFunctions: Readonly<Record<string, FunctionImpl>> = {
  abs: simple(Math.abs),
  ceil: simple(Math.ceil),
  floor: simple(Math.floor),
  exp: simple(goExp),
  sqrt: simple(Math.sqrt),
  ln: simple(Math.log),
  log2: simple(goLog2),
  log10: simple(goLog10),
  sgn: simple(sgn),
  sin: simple(Math.sin),
  cos: simple(Math.cos),
  tan: simple(Math.tan),
  asin: simple(Math.asin),
  acos: simple(Math.acos),
  atan: simple(Math.atan),
  sinh: simple(goSinh),
  cosh: simple(goCosh),
  tanh: simple(Math.tanh),
  asinh: simple(Math.asinh),
  acosh: simple(Math.acosh),
  atanh: simple(Math.atanh),
  rad: simple((v) => (v * Math.PI) / 180),
  deg: simple((v) => (v * 180) / Math.PI),
  clamp,
  clamp_max: clampMax,
  clamp_min: clampMin,
  round,
  pi: (_args, ctx) => single(Math.PI, ctx.ts),
};
