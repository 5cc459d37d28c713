/**
 * A deliberately naive XOR chunk encoder for tests: one bit at a time, with
 * BigInt for every 64-bit quantity, written straight from the layout in
 * lib/chunkenc/FORMAT.md. It is independent of the optimized code, so byte
 * equality between the two is evidence, and it can produce chunks our
 * appender refuses to (huge delta-of-deltas, Prometheus' continuation quirk).
 */

/** A sample as exact bit patterns: int64 timestamp, float64 bits. */
export interface RefSample {
  t: bigint;
  v: bigint;
}

/** Options to mimic producers other than a single fresh appender. */
export interface RefOptions {
  /**
   * Emulate Prometheus' `XORChunk.Appender()` continuing after this many
   * samples: when no value window was written yet, its rebuilt appender has
   * leading = trailing = 0 instead of "unset".
   */
  prometheusContinueAt?: number;
}

class BitList {
  readonly bits: number[] = [];
  write(v: bigint, n: number): void {
    for (let i = n - 1; i >= 0; i--) this.bits.push(Number((v >> BigInt(i)) & 1n));
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(Math.ceil(this.bits.length / 8));
    this.bits.forEach((b, i) => {
      if (b) out[i >> 3]! |= 0x80 >> (i & 7);
    });
    return out;
  }
}

function clz64(x: bigint): number {
  let n = 0;
  for (let i = 63; i >= 0 && ((x >> BigInt(i)) & 1n) === 0n; i--) n++;
  return n;
}

function ctz64(x: bigint): number {
  let n = 0;
  for (let i = 0; i < 64 && ((x >> BigInt(i)) & 1n) === 0n; i++) n++;
  return n;
}

function writeUvarint(b: BitList, u: bigint): void {
  while (u >= 0x80n) {
    b.write((u & 0x7fn) | 0x80n, 8);
    u >>= 7n;
  }
  b.write(u, 8);
}

/** Whether x fits Prometheus' n-bit bucket: [-(2^(n-1)-1), 2^(n-1)]. */
function fits(x: bigint, n: number): boolean {
  const half = 1n << BigInt(n - 1);
  return x >= -(half - 1n) && x <= half;
}

/** Encodes samples (timestamps strictly increasing) as an XOR chunk. */
export function referenceEncode(samples: readonly RefSample[], opts: RefOptions = {}): Uint8Array {
  const b = new BitList();
  b.write(BigInt(samples.length), 16);
  let leading = 0xff;
  let trailing = 0;
  let prevT = 0n;
  let prevDelta = 0n;
  let prevV = 0n;
  samples.forEach((s, i) => {
    if (i === opts.prometheusContinueAt && leading === 0xff) {
      // Its iterator never saw a window, so the rebuilt state is 0/0.
      leading = 0;
      trailing = 0;
    }
    if (i === 0) {
      const zz = s.t >= 0n ? s.t << 1n : ((-s.t) << 1n) - 1n;
      writeUvarint(b, zz);
      b.write(s.v, 64);
    } else {
      const delta = s.t - prevT;
      if (i === 1) {
        writeUvarint(b, delta);
      } else {
        const dod = delta - prevDelta;
        if (dod === 0n) b.write(0n, 1);
        else if (fits(dod, 14)) (b.write(0b10n, 2), b.write(BigInt.asUintN(14, dod), 14));
        else if (fits(dod, 17)) (b.write(0b110n, 3), b.write(BigInt.asUintN(17, dod), 17));
        else if (fits(dod, 20)) (b.write(0b1110n, 4), b.write(BigInt.asUintN(20, dod), 20));
        else (b.write(0b1111n, 4), b.write(BigInt.asUintN(64, dod), 64));
      }
      prevDelta = delta;
      const x = s.v ^ prevV;
      if (x === 0n) {
        b.write(0n, 1);
      } else {
        b.write(1n, 1);
        let lead = clz64(x);
        const trail = ctz64(x);
        if (lead >= 32) lead = 31;
        if (leading !== 0xff && lead >= leading && trail >= trailing) {
          b.write(0n, 1);
          b.write(x >> BigInt(trailing), 64 - leading - trailing);
        } else {
          leading = lead;
          trailing = trail;
          const sig = 64 - lead - trail;
          b.write(1n, 1);
          b.write(BigInt(lead), 5);
          b.write(BigInt(sig & 63), 6);
          b.write(x >> BigInt(trail), sig);
        }
      }
    }
    prevT = s.t;
    prevV = s.v;
  });
  return b.bytes();
}
