import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BadInputError } from '../../../lib/util/errors.ts';
import { MAX_UVARINT, putUvarint, readUvarint, uvarintSize } from '../../../lib/util/varint.ts';
import type { VarintPos } from '../../../lib/util/varint.ts';

describe('uvarint', () => {
  const cases: { v: number; hex: string }[] = [
    { v: 0, hex: '00' },
    { v: 1, hex: '01' },
    { v: 127, hex: '7f' },
    { v: 128, hex: '8001' },
    { v: 300, hex: 'ac02' },
    { v: 16383, hex: 'ff7f' },
    { v: 16384, hex: '808001' },
    { v: 2 ** 28 - 1, hex: 'ffffff7f' },
    { v: 2 ** 28, hex: '8080808001' },
    { v: 2 ** 32, hex: '8080808010' },
    { v: 2 ** 49, hex: '80808080808080' + '01' },
    { v: MAX_UVARINT, hex: 'ffffffffffffff0f' },
  ];

  for (const { v, hex } of cases) {
    it(`encodes ${v} as ${hex} and reads it back`, () => {
      // Prepare
      const buf = new Uint8Array(12);
      // Act
      const end = putUvarint(buf, 1, v);
      const at: VarintPos = { pos: -1 };
      const back = readUvarint(buf, 1, at);
      // Assess
      assert.equal(Buffer.from(buf.subarray(1, end)).toString('hex'), hex);
      assert.equal(end - 1, uvarintSize(v));
      assert.equal(back, v);
      assert.equal(at.pos, end);
    });
  }

  it('agrees with a BigInt reference for random values', () => {
    let seed = 7;
    const buf = new Uint8Array(10);
    for (let i = 0; i < 5000; i++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const v = Math.floor((seed / 2 ** 31) * 2 ** (1 + (i % 53)));
      const end = putUvarint(buf, 0, v);
      let ref = BigInt(v);
      const exp: number[] = [];
      while (ref >= 0x80n) {
        exp.push(Number(ref & 0x7fn) | 0x80);
        ref >>= 7n;
      }
      exp.push(Number(ref));
      assert.deepEqual([...buf.subarray(0, end)], exp, `value ${v}`);
      assert.equal(readUvarint(buf, 0), v);
    }
  });

  it('accepts non-minimal encodings, as Go does', () => {
    const at = { pos: 0 };
    assert.equal(readUvarint(new Uint8Array([0x80, 0x80, 0x00]), 0, at), 0);
    assert.equal(at.pos, 3);
  });

  const bad: { name: string; bytes: number[]; end?: number; msg: RegExp }[] = [
    { name: 'empty', bytes: [], msg: /truncated at byte 0/ },
    { name: 'truncated', bytes: [0x80, 0x80], msg: /truncated/ },
    { name: 'cut short by end', bytes: [0x80, 0x01], end: 1, msg: /truncated/ },
    { name: 'over 2^53-1', bytes: [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10], msg: /exceeds 2\^53-1/ },
    { name: 'eleven bytes', bytes: [...Array(10).fill(0x80), 0], msg: /longer than 10 bytes/ },
    { name: 'uint64 max', bytes: [...Array(9).fill(0xff), 0x01], msg: /exceeds 2\^53-1/ },
  ];
  for (const c of bad) {
    it(`rejects ${c.name} with BadInputError`, () => {
      assert.throws(() => readUvarint(new Uint8Array(c.bytes), 0, undefined, c.end), (e: unknown) => {
        assert.ok(e instanceof BadInputError);
        assert.match(e.message, c.msg);
        return true;
      });
    });
  }

  it('refuses to encode negative, fractional or unsafe values', () => {
    for (const v of [-1, 1.5, 2 ** 53, NaN, Infinity]) {
      assert.throws(() => putUvarint(new Uint8Array(10), 0, v), BadInputError, String(v));
    }
  });
});
