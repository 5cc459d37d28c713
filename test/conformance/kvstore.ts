/**
 * One acceptance suite for every KVStore implementation. It tests only what
 * `lib/kvstore/kvstore.ts` promises, plus the shared limits and errors of
 * `lib/kvstore/validate.ts`, so it runs unchanged against memory, LevelDB
 * and DynamoDB. Each test gets a fresh, empty store from `make`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidKVKeyError, InvalidKVRequestError, KVValueTooLargeError } from '../../lib/kvstore/errors.ts';
import type { KVItem, KVQueryOptions, KVStore } from '../../lib/kvstore/kvstore.ts';
import { byUtf8Bytes, collect } from './helpers.ts';
import { prng } from '../helpers/prng.ts';

/** A fresh store and a function that removes it. */
export interface KVStoreFixture {
  store: KVStore;
  cleanup(): Promise<void>;
}

/** Registers the acceptance tests for one KVStore implementation. */
export function kvStoreAcceptance(name: string, make: () => Promise<KVStoreFixture>): void {
  async function withStore(fn: (store: KVStore) => Promise<void>): Promise<void> {
    const { store, cleanup } = await make();
    try {
      await fn(store);
    } finally {
      await store.close();
      await cleanup();
    }
  }

  describe(`kvstore acceptance: ${name}`, () => {
    it('get of a missing item is undefined', () =>
      withStore(async (kv) => {
        assert.equal(await kv.get('p', 's'), undefined);
        await kv.batchPut([item('p', 's', 'v')]);
        assert.equal(await kv.get('p', 't'), undefined, 'other sk');
        assert.equal(await kv.get('q', 's'), undefined, 'other pk');
        assert.equal(await kv.get('p', 's\u0000'), undefined, 'longer sk');
        assert.deepEqual(await collect(kv.query('q')), []);
      }));

    const values: { name: string; value: Uint8Array }[] = [
      { name: 'empty', value: new Uint8Array(0) },
      { name: 'one zero byte', value: Uint8Array.of(0) },
      { name: 'every byte value', value: Uint8Array.from({ length: 256 }, (_, i) => i) },
      { name: 'invalid UTF-8', value: Uint8Array.of(0xff, 0xfe, 0xc3, 0x28, 0x80) },
      { name: '64 KiB', value: Uint8Array.from({ length: 65536 }, (_, i) => (i * 31) & 0xff) },
    ];
    it('batchPut stores values byte-exact', () =>
      withStore(async (kv) => {
        await kv.batchPut(values.map((v) => ({ pk: 'vals', sk: v.name, value: v.value })));
        for (const v of values) assert.deepEqual(await kv.get('vals', v.name), v.value, v.name);
        const listed = await collect(kv.query('vals'));
        assert.deepEqual(
          listed.map((i) => [i.sk, i.value]),
          [...values].sort((a, b) => byUtf8Bytes(a.name, b.name)).map((v) => [v.name, v.value]),
        );
      }));

    it('batchPut overwrites, and empty batches are no-ops', () =>
      withStore(async (kv) => {
        await kv.batchPut([item('p', 'a', 'one'), item('p', 'b', 'two')]);
        await kv.batchPut([item('p', 'a', 'ONE, longer')]);
        await kv.batchPut([]);
        await kv.batchDelete([]);
        assert.deepEqual(await kv.get('p', 'a'), text('ONE, longer'));
        assert.deepEqual(await kv.get('p', 'b'), text('two'));
        assert.deepEqual(await skValues(kv, 'p'), [['a', 'ONE, longer'], ['b', 'two']]);
      }));

    it('copies values: changing buffers after the call changes nothing stored', () =>
      withStore(async (kv) => {
        // Prepare
        const a = text('alpha');
        const b = text('beta');
        await kv.batchPut([{ pk: 'c', sk: 'a', value: a }]);
        assert.equal(await kv.putIfAbsent({ pk: 'c', sk: 'b', value: b }), true);
        // Act: mutate the inputs and everything handed out.
        a.fill(0);
        b.fill(0);
        (await kv.get('c', 'a'))!.fill(1);
        for await (const i of kv.query('c')) i.value.fill(2);
        // Assess
        assert.deepEqual(await kv.get('c', 'a'), text('alpha'));
        assert.deepEqual(await kv.get('c', 'b'), text('beta'));
      }));

    const trickySks = [
      'Z', 'a', 'a\u0000b', 'a\u0001', 'a-b', 'a/b', 'ab', 'b', 'é', '\uE000', '\uFFFD', '😀', '😀😀',
    ];
    it('query orders sort keys by UTF-8 bytes, not JavaScript string order', () =>
      withStore(async (kv) => {
        assert.deepEqual([...trickySks].sort(byUtf8Bytes), trickySks, 'the expectation is in byte order');
        assert.notDeepEqual([...trickySks].sort(), trickySks, 'JavaScript order differs, so the test can tell');
        await kv.batchPut([...trickySks].reverse().map((sk) => item('t', sk, sk)));
        // Act
        const items = await collect(kv.query('t'));
        // Assess
        assert.deepEqual(items.map((i) => i.sk), trickySks);
        assert.ok(items.every((i) => i.pk === 't' && i.sk === decode(i.value)));
        assert.deepEqual(
          (await collect(kv.query('t', { reverse: true }))).map((i) => i.sk),
          [...trickySks].reverse(),
        );
        assert.deepEqual(await kv.get('t', 'a\u0000b'), text('a\u0000b'));
      }));

    const sks = ['a', 'a/1', 'a/2', 'a/3', 'ab', 'b', 'b/1', 'é', 'é/1', '\uE000', '😀'];
    const queries: { name: string; opts: KVQueryOptions; want: string[] }[] = [
      { name: 'everything', opts: {}, want: sks },
      { name: 'empty prefix', opts: { prefix: '' }, want: sks },
      { name: 'prefix a', opts: { prefix: 'a' }, want: ['a', 'a/1', 'a/2', 'a/3', 'ab'] },
      { name: 'prefix a/', opts: { prefix: 'a/' }, want: ['a/1', 'a/2', 'a/3'] },
      { name: 'prefix equal to a key', opts: { prefix: 'a/2' }, want: ['a/2'] },
      { name: 'multi-byte prefix', opts: { prefix: 'é' }, want: ['é', 'é/1'] },
      { name: 'astral prefix', opts: { prefix: '😀' }, want: ['😀'] },
      { name: 'prefix with no match', opts: { prefix: 'zz' }, want: [] },
      { name: 'start inclusive', opts: { start: 'b' }, want: ['b', 'b/1', 'é', 'é/1', '\uE000', '😀'] },
      { name: 'end inclusive', opts: { end: 'a/2' }, want: ['a', 'a/1', 'a/2'] },
      { name: 'end excludes longer keys', opts: { end: 'a' }, want: ['a'] },
      { name: 'start and end inclusive', opts: { start: 'a/1', end: 'a/3' }, want: ['a/1', 'a/2', 'a/3'] },
      { name: 'bounds between keys', opts: { start: 'a/15', end: 'a/25' }, want: ['a/2'] },
      { name: 'start equals end', opts: { start: 'ab', end: 'ab' }, want: ['ab'] },
      { name: 'start after end', opts: { start: 'b', end: 'a' }, want: [] },
      { name: 'empty start', opts: { start: '' }, want: sks },
      { name: 'end before everything', opts: { end: 'A' }, want: [] },
      { name: 'start after everything', opts: { start: '\u{10FFFF}' }, want: [] },
      { name: 'end at \\uE000 excludes astral', opts: { start: 'é/1', end: '\uE000' }, want: ['é/1', '\uE000'] },
      { name: 'reverse', opts: { reverse: true }, want: [...sks].reverse() },
      { name: 'limit', opts: { limit: 3 }, want: ['a', 'a/1', 'a/2'] },
      { name: 'limit 0', opts: { limit: 0 }, want: [] },
      { name: 'limit above count', opts: { limit: 100 }, want: sks },
      { name: 'reverse + limit', opts: { reverse: true, limit: 2 }, want: ['😀', '\uE000'] },
      { name: 'prefix + reverse + limit', opts: { prefix: 'a', reverse: true, limit: 2 }, want: ['ab', 'a/3'] },
      { name: 'prefix + limit', opts: { prefix: 'a/', limit: 2 }, want: ['a/1', 'a/2'] },
      {
        name: 'range + reverse + limit',
        opts: { start: 'a/1', end: 'b', reverse: true, limit: 3 },
        want: ['b', 'ab', 'a/3'],
      },
      { name: 'range + reverse', opts: { start: 'a/2', end: 'ab', reverse: true }, want: ['ab', 'a/3', 'a/2'] },
    ];
    it('query selects by prefix, inclusive start/end, reverse and limit', () =>
      withStore(async (kv) => {
        await kv.batchPut(sks.map((sk) => item('q', sk, `v:${sk}`)));
        await kv.batchPut([item('q0', 'a', 'other'), item('p', 'a/1', 'other')]); // neighbours
        for (const q of queries) {
          const got = await collect(kv.query('q', q.opts));
          assert.deepEqual(got.map((i) => i.sk), q.want, q.name);
          assert.ok(got.every((i) => i.pk === 'q' && decode(i.value) === `v:${i.sk}`), q.name);
        }
      }));

    it('partitions are isolated, including pks that are prefixes of each other', () =>
      withStore(async (kv) => {
        const pks = ['a', 'a\u0001', 'ab', 'a b', 'A', 'a/', 'é'];
        await kv.batchPut(pks.flatMap((pk) => [item(pk, 'x', `${pk}|x`), item(pk, 'y', `${pk}|y`)]));
        for (const pk of pks) {
          assert.deepEqual(await skValues(kv, pk), [['x', `${pk}|x`], ['y', `${pk}|y`]], JSON.stringify(pk));
          assert.deepEqual(await skValues(kv, pk, { reverse: true }), [['y', `${pk}|y`], ['x', `${pk}|x`]]);
          assert.deepEqual(await kv.get(pk, 'x'), text(`${pk}|x`));
        }
        await kv.batchDelete([{ pk: 'a', sk: 'x' }, { pk: 'a', sk: 'y' }]);
        assert.deepEqual(await skValues(kv, 'a'), []);
        assert.deepEqual(await skValues(kv, 'a\u0001'), [['x', 'a\u0001|x'], ['y', 'a\u0001|y']]);
      }));

    it('putIfAbsent writes only when the item is absent', () =>
      withStore(async (kv) => {
        assert.equal(await kv.putIfAbsent(item('p', 's', 'first')), true);
        assert.equal(await kv.putIfAbsent(item('p', 's', 'second')), false);
        assert.deepEqual(await kv.get('p', 's'), text('first'));
        await kv.batchPut([item('p', 'put', 'by batchPut')]);
        assert.equal(await kv.putIfAbsent(item('p', 'put', 'late')), false);
        assert.deepEqual(await kv.get('p', 'put'), text('by batchPut'));
        await kv.batchDelete([{ pk: 'p', sk: 's' }]);
        assert.equal(await kv.putIfAbsent(item('p', 's', 'third')), true);
        assert.deepEqual(await kv.get('p', 's'), text('third'));
      }));

    it('replaceIf writes only over the expected value', () =>
      withStore(async (kv) => {
        // Absent: never written.
        assert.equal(await kv.replaceIf(item('p', 'r', 'new'), text('old')), false);
        assert.equal(await kv.get('p', 'r'), undefined);
        await kv.batchPut([item('p', 'r', 'old')]);
        // Wrong expectation: unchanged; a longer/shorter prefix is not equal.
        assert.equal(await kv.replaceIf(item('p', 'r', 'new'), text('ol')), false);
        assert.equal(await kv.replaceIf(item('p', 'r', 'new'), text('old!')), false);
        assert.deepEqual(await kv.get('p', 'r'), text('old'));
        // Right expectation: replaced.
        assert.equal(await kv.replaceIf(item('p', 'r', 'new'), text('old')), true);
        assert.deepEqual(await kv.get('p', 'r'), text('new'));
      }));

    it('concurrent replaceIf on one key: exactly one wins', () =>
      withStore(async (kv) => {
        await kv.batchPut([item('cas', 'k', 'v0')]);
        const results = await Promise.all(Array.from({ length: 8 }, (_, i) => kv.replaceIf(item('cas', 'k', `v${i + 1}`), text('v0'))));
        const winners = results.flatMap((ok, i) => (ok ? [i] : []));
        assert.equal(winners.length, 1, `winners: ${winners.join(',')}`);
        assert.deepEqual(await kv.get('cas', 'k'), text(`v${winners[0]! + 1}`));
      }));

    it('concurrent putIfAbsent on one key: exactly one wins and its value stays', () =>
      withStore(async (kv) => {
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) => kv.putIfAbsent(item('race', 'key', `writer ${i}`))),
        );
        const winners = results.flatMap((ok, i) => (ok ? [i] : []));
        assert.equal(winners.length, 1, `winners: ${winners.join(',')}`);
        assert.deepEqual(await kv.get('race', 'key'), text(`writer ${winners[0]}`));
        // Distinct keys do not block one another.
        const distinct = await Promise.all(
          Array.from({ length: 10 }, (_, i) => kv.putIfAbsent(item('race', `k${i}`, 'v'))),
        );
        assert.ok(distinct.every((ok) => ok));
      }));

    it('batchDelete removes the listed items only, and tolerates absent and repeated keys', () =>
      withStore(async (kv) => {
        await kv.batchPut(['a', 'b', 'c', 'd'].map((sk) => item('p', sk, sk)));
        await kv.batchPut([item('other', 'a', 'a')]);
        await kv.batchDelete([
          { pk: 'p', sk: 'b' },
          { pk: 'p', sk: 'd' },
          { pk: 'p', sk: 'never' },
          { pk: 'nobody', sk: 'x' },
          { pk: 'p', sk: 'b' },
        ]);
        assert.deepEqual(await skValues(kv, 'p'), [['a', 'a'], ['c', 'c']]);
        assert.equal(await kv.get('p', 'b'), undefined);
        assert.deepEqual(await kv.get('other', 'a'), text('a'));
      }));

    it('large batches and partitions of more than 1 MiB page through completely', () =>
      withStore(async (kv) => {
        const n = 1200;
        const value = new Uint8Array(1024).fill(7);
        const sk = (i: number): string => `s/${String(i).padStart(5, '0')}`;
        const all = Array.from({ length: n }, (_, i) => ({ pk: 'big', sk: sk(i), value }));
        await kv.batchPut(all.slice(0, 700));
        await kv.batchPut(all.slice(700));
        let count = 0;
        for await (const it of kv.query('big')) {
          assert.equal(it.sk, sk(count));
          assert.equal(it.value.length, 1024);
          count++;
        }
        assert.equal(count, n);
        const tail = await collect(kv.query('big', { reverse: true, limit: 3 }));
        assert.deepEqual(tail.map((i) => i.sk), [sk(n - 1), sk(n - 2), sk(n - 3)]);
        const mid = await collect(kv.query('big', { start: sk(500), limit: 600 }));
        assert.equal(mid.length, 600);
        assert.equal(mid[599].sk, sk(1099));
      }));

    it('a query can be abandoned early and the store stays usable', () =>
      withStore(async (kv) => {
        await kv.batchPut(['1', '2', '3', '4'].map((sk) => item('e', sk, sk)));
        const seen: string[] = [];
        for await (const i of kv.query('e')) {
          seen.push(i.sk);
          if (seen.length === 2) break;
        }
        assert.deepEqual(seen, ['1', '2']);
        await kv.batchPut([item('e', '5', '5')]);
        assert.equal((await collect(kv.query('e'))).length, 5);
      }));

    it('query results agree with a naive model on random data', () =>
      withStore(async (kv) => {
        // Prepare: random sort keys over an alphabet of tricky characters.
        const rnd = prng(42);
        const alphabet = ['a', 'b', '/', '-', '\u0000', 'é', '\uE000', '😀', 'Z'];
        const word = (): string =>
          Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => alphabet[Math.floor(rnd() * alphabet.length)]).join('');
        const model = new Map<string, string>();
        for (let i = 0; i < 150; i++) model.set(word(), `v${i}`);
        await kv.batchPut([...model].map(([sk, v]) => item('m', sk, v)));
        const sorted = [...model.keys()].sort(byUtf8Bytes);
        for (let q = 0; q < 60; q++) {
          const opts: KVQueryOptions = {};
          if (rnd() < 0.4) opts.prefix = word().slice(0, 2);
          else {
            if (rnd() < 0.6) opts.start = word();
            if (rnd() < 0.6) opts.end = word();
          }
          if (rnd() < 0.5) opts.reverse = true;
          if (rnd() < 0.5) opts.limit = Math.floor(rnd() * 20);
          // The model: filter, order, cut.
          let want = sorted.filter(
            (sk) =>
              (opts.prefix === undefined || Buffer.from(sk).subarray(0, Buffer.byteLength(opts.prefix)).equals(Buffer.from(opts.prefix))) &&
              (opts.start === undefined || byUtf8Bytes(sk, opts.start) >= 0) &&
              (opts.end === undefined || byUtf8Bytes(sk, opts.end) <= 0),
          );
          if (opts.reverse) want.reverse();
          if (opts.limit !== undefined) want = want.slice(0, opts.limit);
          const got = await collect(kv.query('m', opts));
          assert.deepEqual(got.map((i) => i.sk), want, JSON.stringify(opts));
          assert.ok(got.every((i) => decode(i.value) === model.get(i.sk)));
        }
      }));

    it('getMany returns values aligned with its keys: present, absent, repeated, across partitions', () =>
      withStore(async (kv) => {
        // Prepare: neighbours that share prefixes, and sort keys with U+0000.
        assert.equal(typeof kv.getMany, 'function', 'every store implements getMany');
        await kv.batchPut([item('a', 'x', 'a|x'), item('a', 'x\u0000', 'a|x0'), item('a\u0001', 'x', 'a1|x'), item('ab', 'y', 'ab|y')]);
        const keys = [
          { pk: 'a', sk: 'x' }, { pk: 'nobody', sk: 'x' }, { pk: 'a\u0001', sk: 'x' }, { pk: 'a', sk: 'x\u0000' },
          { pk: 'a', sk: 'y' }, { pk: 'a', sk: 'x' }, { pk: 'ab', sk: 'y' }, { pk: 'a', sk: 'x' }, { pk: 'a', sk: 'xx' },
        ];
        // Act
        const got = await kv.getMany!(keys);
        // Assess: the same as one get per key, position by position.
        assert.deepEqual(got.map((v) => (v === undefined ? undefined : decode(v))), ['a|x', undefined, 'a1|x', 'a|x0', undefined, 'a|x', 'ab|y', 'a|x', undefined]);
        for (let i = 0; i < keys.length; i++) assert.deepEqual(got[i], await kv.get(keys[i]!.pk, keys[i]!.sk), `key ${i}`);
        assert.deepEqual(await kv.getMany!([]), []);
        assert.deepEqual(await kv.getMany!([{ pk: 'none', sk: 'n' }]), [undefined]);
      }));

    it('getMany hands out copies, one per position, and sees later writes and deletes', () =>
      withStore(async (kv) => {
        await kv.batchPut([item('c', 'a', 'alpha'), item('c', 'b', 'beta')]);
        const first = await kv.getMany!([{ pk: 'c', sk: 'a' }, { pk: 'c', sk: 'a' }, { pk: 'c', sk: 'b' }]);
        // Act: mutate everything handed out.
        first[0]!.fill(0);
        assert.deepEqual(first[1], text('alpha'), 'a repeated key gets its own copy');
        first[1]!.fill(1);
        first[2]!.fill(2);
        await kv.batchPut([item('c', 'b', 'BETA')]);
        await kv.batchDelete([{ pk: 'c', sk: 'a' }]);
        // Assess
        assert.deepEqual(await kv.getMany!([{ pk: 'c', sk: 'a' }, { pk: 'c', sk: 'b' }]), [undefined, text('BETA')]);
        assert.deepEqual(await kv.get('c', 'b'), text('BETA'));
      }));

    it('getMany of more than 100 keys and more than 16 MB of values reads every one', () =>
      withStore(async (kv) => {
        // Prepare: 120 items of 200 KiB (24 MB) in two partitions, each value distinct.
        const size = 200 * 1024;
        const value = (i: number): Uint8Array => new Uint8Array(size).map((_, j) => (i * 7 + j) & 0xff);
        const key = (i: number) => ({ pk: `big${i % 2}`, sk: `s/${String(i).padStart(3, '0')}` });
        for (let i = 0; i < 120; i += 20) {
          await kv.batchPut(Array.from({ length: 20 }, (_, k) => ({ ...key(i + k), value: value(i + k) })));
        }
        // Ask for them shuffled, with 40 absent keys and 30 repeats in between (190 keys).
        const rnd = prng(7);
        const wanted: number[] = [...Array.from({ length: 120 }, (_, i) => i), ...Array.from({ length: 40 }, (_, i) => 1000 + i), ...Array.from({ length: 30 }, (_, i) => (i * 37) % 120)];
        for (let i = wanted.length - 1; i > 0; i--) {
          const j = Math.floor(rnd() * (i + 1));
          [wanted[i], wanted[j]] = [wanted[j]!, wanted[i]!];
        }
        // Act
        const got = await kv.getMany!(wanted.map(key));
        // Assess
        assert.equal(got.length, wanted.length);
        for (let i = 0; i < wanted.length; i++) {
          const n = wanted[i]!;
          if (n >= 1000) assert.equal(got[i], undefined, `absent key ${n}`);
          else assert.ok(got[i] !== undefined && Buffer.from(got[i]!).equals(value(n)), `key ${n} at ${i}`);
        }
      }));

    const kib390 = 390 * 1024;
    const accepted: { name: string; item: KVItem }[] = [
      { name: 'pk of 1024 UTF-8 bytes', item: { pk: 'é'.repeat(512), sk: 's', value: new Uint8Array(1) } },
      { name: 'sk of 1024 UTF-8 bytes', item: { pk: 'p', sk: '😀'.repeat(256), value: new Uint8Array(1) } },
      { name: 'value of exactly 390 KiB', item: { pk: 'p', sk: 'big', value: new Uint8Array(kib390).fill(9) } },
      { name: 'sk with U+0000', item: { pk: 'p', sk: '\u0000', value: new Uint8Array(1) } },
    ];
    it('accepts items at the limits', () =>
      withStore(async (kv) => {
        for (const a of accepted) {
          await kv.batchPut([a.item]);
          assert.deepEqual(await kv.get(a.item.pk, a.item.sk), a.item.value, a.name);
          assert.equal(await kv.putIfAbsent(a.item), false, a.name);
          assert.deepEqual((await collect(kv.query(a.item.pk, { prefix: a.item.sk }))).map((i) => i.sk), [a.item.sk]);
        }
      }));

    type ErrorClass = typeof InvalidKVKeyError | typeof KVValueTooLargeError;
    const rejected: { name: string; pk: string; sk: string; value?: Uint8Array; error: ErrorClass }[] = [
      { name: 'empty pk', pk: '', sk: 's', error: InvalidKVKeyError },
      { name: 'empty sk', pk: 'p', sk: '', error: InvalidKVKeyError },
      { name: 'pk with U+0000', pk: 'a\u0000b', sk: 's', error: InvalidKVKeyError },
      { name: 'pk of 1025 UTF-8 bytes (513 UTF-16 units)', pk: 'é'.repeat(512) + 'a', sk: 's', error: InvalidKVKeyError },
      { name: 'sk of 1025 UTF-8 bytes', pk: 'p', sk: '😀'.repeat(256) + 'a', error: InvalidKVKeyError },
      { name: 'pk with a lone surrogate', pk: 'a\uD800', sk: 's', error: InvalidKVKeyError },
      { name: 'sk with a lone surrogate', pk: 'p', sk: '\uDC00x', error: InvalidKVKeyError },
      { name: 'value of 390 KiB + 1', pk: 'p', sk: 's', value: new Uint8Array(kib390 + 1), error: KVValueTooLargeError },
    ];
    for (const r of rejected) {
      it(`rejects ${r.name} in every operation, writing nothing`, () =>
        withStore(async (kv) => {
          const bad: KVItem = { pk: r.pk, sk: r.sk, value: r.value ?? text('v') };
          const good = item('good', 'g', 'g');
          await assert.rejects(kv.batchPut([good, bad]), r.error, 'batchPut');
          await assert.rejects(kv.putIfAbsent(bad), r.error, 'putIfAbsent');
          if (r.value === undefined) {
            await assert.rejects(kv.get(r.pk, r.sk), InvalidKVKeyError, 'get');
            await assert.rejects(kv.getMany!([{ pk: 'good', sk: 'g' }, { pk: r.pk, sk: r.sk }]), InvalidKVKeyError, 'getMany');
            await assert.rejects(kv.batchDelete([{ pk: 'good', sk: 'g' }, { pk: r.pk, sk: r.sk }]), InvalidKVKeyError);
          }
          if (r.sk === 's' && r.value === undefined) {
            await assert.rejects(collect(kv.query(r.pk)), InvalidKVKeyError, 'query');
          }
          // The good item of the rejected batch was not written.
          assert.equal(await kv.get('good', 'g'), undefined);
        }));
    }

    it('rejects a batchPut that holds the same key twice, writing nothing', () =>
      withStore(async (kv) => {
        await assert.rejects(
          kv.batchPut([item('p', 'a', '1'), item('p', 'b', '2'), item('p', 'a', '3')]),
          InvalidKVRequestError,
        );
        assert.deepEqual(await skValues(kv, 'p'), []);
      }));

    const badQueries: { name: string; opts: KVQueryOptions }[] = [
      { name: 'prefix with start', opts: { prefix: 'a', start: 'a' } },
      { name: 'prefix with end', opts: { prefix: 'a', end: 'b' } },
      { name: 'negative limit', opts: { limit: -1 } },
      { name: 'fractional limit', opts: { limit: 1.5 } },
      { name: 'prefix with a lone surrogate', opts: { prefix: '\uD83D' } },
      { name: 'start longer than 1024 bytes', opts: { start: 'x'.repeat(1025) } },
    ];
    for (const b of badQueries) {
      it(`query rejects ${b.name}`, () =>
        withStore(async (kv) => {
          await kv.batchPut([item('p', 'a', 'a')]);
          await assert.rejects(collect(kv.query('p', b.opts)), InvalidKVRequestError);
        }));
    }
  });
}

function item(pk: string, sk: string, value: string): KVItem {
  return { pk, sk, value: text(value) };
}

function text(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

function decode(b: Uint8Array): string {
  return new TextDecoder().decode(b);
}

async function skValues(kv: KVStore, pk: string, opts?: KVQueryOptions): Promise<[string, string][]> {
  return (await collect(kv.query(pk, opts))).map((i) => [i.sk, decode(i.value)]);
}

