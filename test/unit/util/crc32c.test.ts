import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { crc32c } from '../../../lib/util/crc32c.ts';

/** Bit-at-a-time reference implementation (reflected Castagnoli polynomial). */
function slowCrc32c(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of data) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

describe('crc32c', () => {
  const text = (s: string) => new TextEncoder().encode(s);
  // Vectors: the CRC catalogue check value and RFC 3720 (iSCSI) appendix B.4.
  const cases: { name: string; data: Uint8Array; want: number }[] = [
    { name: 'empty', data: new Uint8Array(0), want: 0 },
    { name: '"123456789"', data: text('123456789'), want: 0xe3069283 },
    { name: '32 zero bytes', data: new Uint8Array(32), want: 0x8a9136aa },
    { name: '32 0xff bytes', data: new Uint8Array(32).fill(0xff), want: 0x62a8ab43 },
    { name: '0..31 ascending', data: Uint8Array.from({ length: 32 }, (_, i) => i), want: 0x46dd794e },
    { name: '31..0 descending', data: Uint8Array.from({ length: 32 }, (_, i) => 31 - i), want: 0x113fdb5c },
    { name: '"a"', data: text('a'), want: 0xc1d04330 },
  ];
  for (const { name, data, want } of cases) {
    it(`of ${name} is 0x${want.toString(16)}`, () => {
      assert.equal(crc32c(data), want);
    });
  }

  it('matches a bit-wise reference for every length 0..100 and unaligned views', () => {
    const big = Uint8Array.from({ length: 300 }, (_, i) => (i * 151 + 7) & 0xff);
    for (let off = 0; off < 9; off++) {
      for (let n = 0; n <= 100; n++) {
        const v = big.subarray(off, off + n);
        assert.equal(crc32c(v), slowCrc32c(v), `offset ${off} length ${n}`);
      }
    }
  });

  it('continues a running checksum across pieces', () => {
    const data = Uint8Array.from({ length: 1000 }, (_, i) => (i * 31) & 0xff);
    for (const cut of [0, 1, 7, 8, 9, 500, 999, 1000]) {
      assert.equal(crc32c(data.subarray(cut), crc32c(data.subarray(0, cut))), crc32c(data), `cut at ${cut}`);
    }
  });

  it('returns an unsigned 32-bit integer', () => {
    const c = crc32c(new TextEncoder().encode('123456789')); // 0xe3069283 has the top bit set
    assert.ok(c > 0x7fffffff && Number.isInteger(c));
  });
});
