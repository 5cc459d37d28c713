import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidKeyError, InvalidRangeError } from '../../../lib/objstore/errors.ts';
import { MAX_KEY_BYTES, checkRange, isPossiblePrefix, validateKey } from '../../../lib/objstore/validate.ts';
import { BadInputError } from '../../../lib/util/errors.ts';

describe('validateKey', () => {
  const valid: { key: string; segments: string[] }[] = [
    { key: 'a', segments: ['a'] },
    { key: 'a/b/c', segments: ['a', 'b', 'c'] },
    { key: '.hidden/..x/...', segments: ['.hidden', '..x', '...'] },
    { key: 'sp ace/😀', segments: ['sp ace', '😀'] },
    { key: 'x'.repeat(MAX_KEY_BYTES), segments: ['x'.repeat(MAX_KEY_BYTES)] },
    { key: 'é'.repeat(512), segments: ['é'.repeat(512)] },
  ];
  for (const v of valid) {
    it(`accepts ${JSON.stringify(v.key.slice(0, 20))}`, () => {
      assert.deepEqual(validateKey(v.key), v.segments);
    });
  }

  const invalid: { name: string; key: string; message: RegExp }[] = [
    { name: 'empty', key: '', message: /empty/ },
    { name: 'leading slash', key: '/a', message: /segment/ },
    { name: 'trailing slash', key: 'a/', message: /segment/ },
    { name: 'double slash', key: 'a//b', message: /segment/ },
    { name: 'dot', key: 'a/.', message: /segment/ },
    { name: 'dot-dot', key: '../a', message: /segment/ },
    { name: 'NUL', key: 'a\0', message: /U\+0000/ },
    { name: 'lone high surrogate', key: 'a\uD83D', message: /surrogate/ },
    { name: 'lone low surrogate', key: '\uDE00a', message: /surrogate/ },
    { name: 'reversed pair', key: '\uDE00\uD83D', message: /surrogate/ },
    { name: '1025 bytes', key: 'x'.repeat(MAX_KEY_BYTES + 1), message: /1025 UTF-8 bytes/ },
    { name: '1026 bytes in 513 units', key: 'é'.repeat(513), message: /1026 UTF-8 bytes/ },
  ];
  for (const c of invalid) {
    it(`rejects ${c.name}`, () => {
      assert.throws(
        () => validateKey(c.key),
        (err) => err instanceof InvalidKeyError && err instanceof BadInputError && c.message.test(err.message),
      );
    });
  }
});

describe('isPossiblePrefix', () => {
  const cases: { prefix: string; want: boolean }[] = [
    { prefix: '', want: true },
    { prefix: 'a', want: true },
    { prefix: 'a/', want: true },
    { prefix: 'a/b', want: true },
    { prefix: 'a/.', want: true }, // a/.hidden
    { prefix: 'a/..', want: true }, // a/..x
    { prefix: '..', want: true }, // ..x
    { prefix: '/', want: false },
    { prefix: '/a', want: false },
    { prefix: 'a//', want: false },
    { prefix: 'a/../', want: false },
    { prefix: './', want: false },
    { prefix: 'a\0', want: false },
    { prefix: 'a\uD83D', want: false },
  ];
  for (const c of cases) {
    it(`${JSON.stringify(c.prefix)} -> ${c.want}`, () => {
      assert.equal(isPossiblePrefix(c.prefix), c.want);
    });
  }
});

describe('checkRange', () => {
  const cases: { offset: number; length: number; ok: boolean }[] = [
    { offset: 0, length: 0, ok: true },
    { offset: 2 ** 40, length: 2 ** 20, ok: true },
    { offset: -1, length: 1, ok: false },
    { offset: 0, length: -1, ok: false },
    { offset: 0.5, length: 1, ok: false },
    { offset: 0, length: Infinity, ok: false },
    { offset: Number.NaN, length: 1, ok: false },
  ];
  for (const c of cases) {
    it(`offset ${c.offset}, length ${c.length}: ${c.ok ? 'accepted' : 'rejected'}`, () => {
      if (c.ok) checkRange('k', c.offset, c.length);
      else assert.throws(() => checkRange('k', c.offset, c.length), InvalidRangeError);
    });
  }
});
