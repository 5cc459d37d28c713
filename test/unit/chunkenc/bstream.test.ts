import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { allocZeroed, BitWriter, ctz32, peek32 } from '../../../lib/chunkenc/bstream.ts';

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** Go's binary.PutVarint / PutUvarint, in BigInt, as the oracle. */
function goUvarint(u: bigint): string {
  const out: number[] = [];
  while (u >= 0x80n) {
    out.push(Number(u & 0x7fn) | 0x80);
    u >>= 7n;
  }
  out.push(Number(u));
  return Buffer.from(out).toString('hex');
}
function goVarint(x: bigint): string {
  return goUvarint(x >= 0n ? x << 1n : ((-x) << 1n) - 1n);
}

describe('BitWriter', () => {
  it('packs bits most significant first across byte boundaries', () => {
    const w = new BitWriter(new Uint8Array(0), 0);
    w.writeBits(0b101, 3);
    w.writeBits(0xabcd, 16);
    w.writeBit(1);
    w.writeBits(0xdeadbeef, 32);
    // 101 + abcd + 1 = 0xb579b (20 bits), then 0xdeadbeef, then 4 zero pad bits
    assert.equal(w.bitLen, 52);
    assert.equal(hex(w.bytes()), 'b579bdeadbeef0');
  });

  it('ignores bits of v above n', () => {
    const w = new BitWriter(new Uint8Array(0), 0);
    w.writeBits(0xffffffff, 4);
    w.writeBits(-1, 4);
    w.writeBits(0x1f0, 4);
    assert.equal(hex(w.bytes()), 'ff00');
    assert.equal(w.bitLen, 12);
  });

  const varints: bigint[] = [0n, 1n, -1n, 63n, -64n, 64n, -65n, 127n, 128n, 16383n, 16384n, 1_700_000_000_000n, -1_700_000_000_000n, 2n ** 53n - 1n, -(2n ** 53n - 1n), 2n ** 52n, -(2n ** 52n)];
  for (const v of varints) {
    it(`writes varint ${v} as Go does`, () => {
      const w = new BitWriter(new Uint8Array(0), 0);
      w.writeVarint(Number(v));
      assert.equal(hex(w.bytes()), goVarint(v));
      if (v >= 0n) {
        const u = new BitWriter(new Uint8Array(0), 0);
        u.writeUvarint(Number(v));
        assert.equal(hex(u.bytes()), goUvarint(v));
      }
    });
  }
});

describe('peek32', () => {
  it('reads 32 bits at any bit offset', () => {
    const b = new Uint8Array([0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0, 0, 0, 0, 0]);
    const dv = new DataView(b.buffer);
    const all = 0x123456789abcdef0n << 40n; // 104 bits
    for (let pos = 0; pos <= 64; pos++) {
      const want = Number((all >> BigInt(104 - 32 - pos)) & 0xffffffffn);
      assert.equal(peek32(dv, b, pos) >>> 0, want, `pos ${pos}`);
    }
  });
});

describe('ctz32 and allocZeroed', () => {
  it('counts trailing zeros', () => {
    const cases: [number, number][] = [[1, 0], [2, 1], [0x80000000, 31], [0, 32], [-1, 0], [0x00f00000, 20]];
    for (const [x, n] of cases) assert.equal(ctz32(x), n, `ctz32(${x})`);
  });

  it('hands out disjoint zeroed buffers', () => {
    const a = allocZeroed(100);
    a.fill(0xff);
    const b = allocZeroed(100);
    assert.ok(b.every((x) => x === 0));
    assert.equal(a.length, 100);
    assert.equal(allocZeroed(10_000).length, 10_000);
  });
});
