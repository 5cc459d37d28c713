import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidKVKeyError, InvalidKVRequestError, KVValueTooLargeError } from '../../../lib/kvstore/errors.ts';
import type { KVItem, KVQueryOptions } from '../../../lib/kvstore/kvstore.ts';
import {
  MAX_KEY_BYTES,
  MAX_VALUE_BYTES,
  checkBatch,
  checkItem,
  checkQuery,
} from '../../../lib/kvstore/validate.ts';
import { BadInputError, TooLargeError } from '../../../lib/util/errors.ts';
import { prng } from '../../helpers/prng.ts';

const v = (n = 1): Uint8Array => new Uint8Array(n);

describe('kvstore limits', () => {
  it('match the documented numbers', () => {
    assert.equal(MAX_KEY_BYTES, 1024);
    assert.equal(MAX_VALUE_BYTES, 399_360);
  });

  const items: { name: string; item: KVItem; error?: Function; message?: RegExp }[] = [
    { name: 'plain', item: { pk: 'p', sk: 's', value: v() } },
    { name: 'NUL in sk', item: { pk: 'p', sk: '\0', value: v() } },
    { name: 'empty value', item: { pk: 'p', sk: 's', value: v(0) } },
    { name: 'pk 1024 bytes of 3-byte chars', item: { pk: '\uE000'.repeat(341) + 'a', sk: 's', value: v() } },
    { name: 'empty pk', item: { pk: '', sk: 's', value: v() }, error: InvalidKVKeyError, message: /pk is empty/ },
    { name: 'empty sk', item: { pk: 'p', sk: '', value: v() }, error: InvalidKVKeyError, message: /sk is empty/ },
    { name: 'NUL in pk', item: { pk: '\0', sk: 's', value: v() }, error: InvalidKVKeyError, message: /U\+0000/ },
    {
      name: 'pk 1025 bytes',
      item: { pk: '\uE000'.repeat(341) + 'ab', sk: 's', value: v() },
      error: InvalidKVKeyError,
      message: /pk is 1025 UTF-8 bytes/,
    },
    {
      name: 'sk 1028 bytes in 257 astral chars',
      item: { pk: 'p', sk: '😀'.repeat(257), value: v() },
      error: InvalidKVKeyError,
      message: /sk is 1028 UTF-8 bytes/,
    },
    {
      name: 'lone surrogate at the end',
      item: { pk: 'p', sk: 'x\uD800', value: v() },
      error: InvalidKVKeyError,
      message: /surrogate/,
    },
    {
      name: 'value too large',
      item: { pk: 'p', sk: 's', value: v(MAX_VALUE_BYTES + 1) },
      error: KVValueTooLargeError,
      message: /399361 bytes/,
    },
    {
      name: 'value not bytes',
      item: { pk: 'p', sk: 's', value: 'text' as unknown as Uint8Array },
      error: InvalidKVRequestError,
    },
  ];
  for (const c of items) {
    it(`checkItem: ${c.name}`, () => {
      if (c.error === undefined) return checkItem(c.item);
      assert.throws(
        () => checkItem(c.item),
        (err) => err instanceof c.error! && (c.message === undefined || c.message.test((err as Error).message)),
      );
    });
  }

  it('maps key errors to BadInputError and size errors to TooLargeError', () => {
    assert.ok(new InvalidKVKeyError('x') instanceof BadInputError);
    assert.ok(new InvalidKVRequestError('x') instanceof BadInputError);
    assert.ok(new KVValueTooLargeError('x') instanceof TooLargeError);
  });

  it('checkBatch rejects a repeated (pk, sk) but not the same sk in two partitions', () => {
    checkBatch([
      { pk: 'a', sk: 's', value: v() },
      { pk: 'b', sk: 's', value: v() },
    ]);
    assert.throws(
      () =>
        checkBatch([
          { pk: 'a', sk: 's', value: v() },
          { pk: 'a', sk: 's', value: v(2) },
        ]),
      InvalidKVRequestError,
    );
  });

  it('checkBatch (partition keys checked once per batch) throws exactly what per-item checks and a joined-key set would, on random batches', () => {
    // Prepare: batches mixing a few partitions (one of them invalid: U+0000,
    // empty, a lone surrogate, too long), repeated sort keys across and
    // within partitions, and now and then an oversized value.
    const rnd = prng(7);
    const pks = ['t/ix/w1/p/a=b', 't/ix/w1/p/c=d', 't/ix/w1/names', 'bad\u0000pk', '', '\uD800x', 'k'.repeat(MAX_KEY_BYTES + 1)];
    const sks = ['s1', 's2', 's3', '\uDC00', 'z'];
    const reference = (items: readonly KVItem[]): void => {
      const seen = new Set<string>();
      for (const item of items) {
        checkItem(item);
        const id = `${item.pk}\u0000${item.sk}`;
        if (seen.has(id)) throw new InvalidKVRequestError(`batchPut holds (${item.pk}, ${item.sk}) twice`);
        seen.add(id);
      }
    };
    const outcome = (f: () => void): string => {
      try {
        f();
        return 'ok';
      } catch (err) {
        return `${(err as Error).constructor.name}: ${(err as Error).message}`;
      }
    };
    let thrown = 0;
    for (let round = 0; round < 400; round++) {
      const n = 1 + Math.floor(rnd() * 12);
      const items: KVItem[] = [];
      for (let i = 0; i < n; i++) {
        // Mostly valid partitions, so that many batches get as far as a duplicate.
        const pk = rnd() < 0.9 ? pks[Math.floor(rnd() * 3)]! : pks[3 + Math.floor(rnd() * 4)]!;
        const sk = rnd() < 0.95 ? sks[Math.floor(rnd() * 3)]! + String(Math.floor(rnd() * 3)) : sks[3 + Math.floor(rnd() * 2)]!;
        items.push({ pk, sk, value: rnd() < 0.02 ? new Uint8Array(MAX_VALUE_BYTES + 1) : v() });
      }
      // Act
      const got = outcome(() => checkBatch(items));
      // Assess
      assert.equal(got, outcome(() => reference(items)), JSON.stringify(items.map((it) => [it.pk.slice(0, 20), it.sk, it.value.length])));
      if (got !== 'ok') thrown++;
    }
    // Both outcomes occur often enough to matter.
    assert.ok(thrown > 100 && thrown < 380, `${thrown} of 400 threw`);
  });

  const queries: { name: string; opts: KVQueryOptions; ok: boolean }[] = [
    { name: 'none', opts: {}, ok: true },
    { name: 'prefix, reverse, limit', opts: { prefix: 'a', reverse: true, limit: 3 }, ok: true },
    { name: 'start and end', opts: { start: 'a', end: 'b' }, ok: true },
    { name: 'empty strings', opts: { start: '', end: '' }, ok: true },
    { name: 'limit 0', opts: { limit: 0 }, ok: true },
    { name: 'prefix and start', opts: { prefix: 'a', start: 'a' }, ok: false },
    { name: 'limit NaN', opts: { limit: Number.NaN }, ok: false },
    { name: 'limit Infinity', opts: { limit: Infinity }, ok: false },
    { name: 'end with lone surrogate', opts: { end: '\uDFFF' }, ok: false },
  ];
  for (const q of queries) {
    it(`checkQuery: ${q.name}`, () => {
      if (q.ok) checkQuery('p', q.opts);
      else assert.throws(() => checkQuery('p', q.opts), InvalidKVRequestError);
    });
  }
});
