/**
 * Float64 values as exact 64-bit patterns, for tests of NaN payloads, -0.0
 * and the stale marker. Keep values as bit patterns in tests: V8 quiets
 * signalling NaNs (such as the stale marker) stored in plain JS arrays.
 */
const scratch = new DataView(new ArrayBuffer(8));

export function bitsOf(v: number): bigint {
  scratch.setFloat64(0, v);
  return scratch.getBigUint64(0);
}

export function fromBits(b: bigint): number {
  scratch.setBigUint64(0, b);
  return scratch.getFloat64(0);
}

/** Prometheus' stale marker. */
export const STALE = 0x7ff0000000000002n;
