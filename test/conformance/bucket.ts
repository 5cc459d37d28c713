/**
 * One acceptance suite for every Bucket implementation (after Thanos'
 * `objstore.AcceptanceTest`). It tests only what `lib/objstore/bucket.ts`
 * and the shared key rules promise, so it runs unchanged against memory,
 * the filesystem and S3. Each test gets a fresh, empty bucket from `make`.
 *
 * Keys are chosen so that no key is also a "folder" of another key (`a` and
 * `a/b`), which the filesystem backend cannot hold.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Bucket } from '../../lib/objstore/bucket.ts';
import { InvalidKeyError, InvalidRangeError } from '../../lib/objstore/errors.ts';
import { byUtf8Bytes, collect } from './helpers.ts';

/** A fresh bucket and a function that removes it. */
export interface BucketFixture {
  bucket: Bucket;
  cleanup(): Promise<void>;
}

/** Registers the acceptance tests for one bucket implementation. */
export function bucketAcceptance(name: string, make: () => Promise<BucketFixture>): void {
  async function withBucket(fn: (bkt: Bucket) => Promise<void>): Promise<void> {
    const { bucket, cleanup } = await make();
    try {
      await fn(bucket);
    } finally {
      await bucket.close();
      await cleanup();
    }
  }

  describe(`bucket acceptance: ${name}`, () => {
    it('reports absent keys as not found from get, getRange and head, and false from exists', () =>
      withBucket(async (bkt) => {
        // Prepare: an object whose key is a "folder" of the absent keys below.
        await bkt.put('obj', bytes('x'));
        await bkt.put('dir/inner', bytes('y'));
        const absent = ['missing', 'deep/er/missing', 'obj/below', 'dir', 'di', 'dir/inne'];
        for (const key of absent) {
          // Act + Assess
          for (const [op, call] of [
            ['get', () => bkt.get(key)],
            ['getRange', () => bkt.getRange(key, 0, 1)],
            ['getRange empty', () => bkt.getRange(key, 0, 0)],
            ['head', () => bkt.head(key)],
          ] as const) {
            await assert.rejects(call(), (err) => {
              assert.ok(bkt.isNotFound(err), `${op} ${key}: expected not-found, got ${String(err)}`);
              return true;
            });
          }
          assert.equal(await bkt.exists(key), false, `exists ${key}`);
        }
      }));

    it('isNotFound is false for other errors', () =>
      withBucket(async (bkt) => {
        assert.equal(bkt.isNotFound(new Error('boom')), false);
        assert.equal(bkt.isNotFound(undefined), false);
        const err = await bkt.get('').catch((e: unknown) => e);
        assert.ok(err instanceof InvalidKeyError);
        assert.equal(bkt.isNotFound(err), false);
      }));

    const contents: { name: string; key: string; data: Uint8Array }[] = [
      { name: 'empty object', key: 'empty', data: new Uint8Array(0) },
      { name: 'one byte', key: 'one', data: Uint8Array.of(0) },
      { name: 'every byte value', key: 'deep/er/bytes.bin', data: everyByte() },
      { name: '64 KiB pattern', key: 'a/b/c/d/e/f/pattern', data: pattern(64 * 1024, 7) },
      { name: 'unicode key', key: '😀/é/\uE000', data: bytes('unicode') },
      { name: 'URL-special characters', key: 'sp ace/plus+sign/pct%20/q?x=1#frag&y=2', data: bytes('url') },
    ];
    for (const c of contents) {
      it(`put then get returns the same bytes: ${c.name}`, () =>
        withBucket(async (bkt) => {
          // Act
          await bkt.put(c.key, c.data);
          // Assess
          assert.deepEqual(await bkt.get(c.key), c.data);
          assert.equal((await bkt.head(c.key)).size, c.data.length);
          assert.equal(await bkt.exists(c.key), true);
          assert.deepEqual(await collect(bkt.iter('')), [c.key]);
        }));
    }

    it('put overwrites an object, with a shorter or longer one', () =>
      withBucket(async (bkt) => {
        await bkt.put('k/v', bytes('first version'));
        await bkt.put('k/v', bytes('2nd'));
        assert.deepEqual(await bkt.get('k/v'), bytes('2nd'));
        assert.equal((await bkt.head('k/v')).size, 3);
        await bkt.put('k/v', bytes('a third, longer version'));
        assert.deepEqual(await bkt.get('k/v'), bytes('a third, longer version'));
        // Idempotent: the same bytes again change nothing.
        await bkt.put('k/v', bytes('a third, longer version'));
        assert.deepEqual(await bkt.get('k/v'), bytes('a third, longer version'));
        assert.deepEqual(await collect(bkt.iter('k/')), ['k/v']);
      }));

    it('keys that differ only in Unicode normalization are different objects', () =>
      withBucket(async (bkt) => {
        await bkt.put('n/\u00e9', bytes('nfc'));
        await bkt.put('n/e\u0301', bytes('nfd'));
        assert.deepEqual(await bkt.get('n/\u00e9'), bytes('nfc'));
        assert.deepEqual(await bkt.get('n/e\u0301'), bytes('nfd'));
        assert.deepEqual(await collect(bkt.iter('n/')), ['n/e\u0301', 'n/\u00e9']);
      }));

    it('neither side can change stored bytes through a shared buffer', () =>
      withBucket(async (bkt) => {
        // Prepare
        const input = bytes('original');
        await bkt.put('own', input);
        // Act: change the caller's input after put resolved, and a returned copy.
        input.fill(0);
        const first = await bkt.get('own');
        first.fill(1);
        const range = await bkt.getRange('own', 0, 4);
        range.fill(2);
        // Assess
        assert.deepEqual(await bkt.get('own'), bytes('original'));
      }));

    const rangeData = pattern(100, 3);
    const ranges: { name: string; offset: number; length: number; want: [number, number] }[] = [
      { name: 'zero length at start', offset: 0, length: 0, want: [0, 0] },
      { name: 'zero length in the middle', offset: 50, length: 0, want: [50, 50] },
      { name: 'head of the object', offset: 0, length: 10, want: [0, 10] },
      { name: 'middle', offset: 10, length: 5, want: [10, 15] },
      { name: 'ends exactly at the end', offset: 90, length: 10, want: [90, 100] },
      { name: 'last byte', offset: 99, length: 1, want: [99, 100] },
      { name: 'runs past the end: cut', offset: 95, length: 10, want: [95, 100] },
      { name: 'whole object', offset: 0, length: 100, want: [0, 100] },
      { name: 'far longer than the object', offset: 0, length: 1_000_000, want: [0, 100] },
      { name: 'offset at the end: empty', offset: 100, length: 5, want: [100, 100] },
      { name: 'offset past the end: empty', offset: 150, length: 5, want: [100, 100] },
    ];
    it('getRange returns the requested bytes, cut at the end of the object', () =>
      withBucket(async (bkt) => {
        await bkt.put('range/obj', rangeData);
        for (const r of ranges) {
          const got = await bkt.getRange('range/obj', r.offset, r.length);
          assert.deepEqual(got, rangeData.slice(r.want[0], r.want[1]), r.name);
        }
      }));

    it('getRange rejects negative or fractional offsets and lengths', () =>
      withBucket(async (bkt) => {
        await bkt.put('range/obj', rangeData);
        for (const [offset, length] of [
          [-1, 5],
          [0, -1],
          [1.5, 2],
          [0, Number.NaN],
        ]) {
          await assert.rejects(bkt.getRange('range/obj', offset, length), InvalidRangeError, `${offset}, ${length}`);
        }
      }));

    it('head reports size and a plausible modification time', () =>
      withBucket(async (bkt) => {
        const before = Date.now();
        await bkt.put('h/obj', pattern(1234, 1));
        const after = Date.now();
        const attrs = await bkt.head('h/obj');
        assert.equal(attrs.size, 1234);
        assert.ok(attrs.lastModified instanceof Date);
        // Backends may round to whole seconds (S3 does).
        const t = attrs.lastModified.getTime();
        assert.ok(t >= before - 2000 && t <= after + 2000, `lastModified ${attrs.lastModified.toISOString()}`);
      }));

    it('iter lists every key in UTF-8 byte order, not JavaScript string order', () =>
      withBucket(async (bkt) => {
        // Prepare: written in a scrambled order.
        const sorted = [
          'Z', 'a-b', 'a.c', 'a/b', 'a/c/d', 'a0', 'b', 'x/a b', 'x/~', 'x/é', 'x/\uE000', 'x/😀',
          '~', 'é', '\uE000', '\uFFFD', '😀',
        ];
        assert.deepEqual([...sorted].sort(byUtf8Bytes), sorted, 'the expectation is in byte order');
        assert.notDeepEqual([...sorted].sort(), sorted, 'JavaScript order differs, so the test can tell');
        for (const key of scramble(sorted)) await bkt.put(key, bytes(key));
        // Act + Assess
        assert.deepEqual(await collect(bkt.iter('')), sorted);
        assert.deepEqual(await collect(bkt.iter('x/')), sorted.filter((k) => k.startsWith('x/')));
      }));

    const iterKeys = [
      'a/b', 'a/bc/d', 'id1-x', 'id1/obj_1', 'id1/obj_2', 'id1/sub/s1', 'id10/o', 'id2/o', 'obj_5',
      'é/1', 'éa', '.hidden/x', 'dot/.name',
    ];
    const prefixes: { prefix: string; want: string[] }[] = [
      { prefix: '', want: [...iterKeys].sort(byUtf8Bytes) },
      { prefix: 'id1', want: ['id1-x', 'id1/obj_1', 'id1/obj_2', 'id1/sub/s1', 'id10/o'] },
      { prefix: 'id1/', want: ['id1/obj_1', 'id1/obj_2', 'id1/sub/s1'] },
      { prefix: 'id1/obj', want: ['id1/obj_1', 'id1/obj_2'] },
      { prefix: 'id1/obj_1', want: ['id1/obj_1'] },
      { prefix: 'id1/sub', want: ['id1/sub/s1'] },
      { prefix: 'id1/sub/', want: ['id1/sub/s1'] },
      { prefix: 'a/b', want: ['a/b', 'a/bc/d'] },
      { prefix: 'a/bc', want: ['a/bc/d'] },
      { prefix: 'é', want: ['é/1', 'éa'] },
      { prefix: '.', want: ['.hidden/x'] },
      { prefix: 'dot/.', want: ['dot/.name'] },
      { prefix: 'nope', want: [] },
      { prefix: 'nope/', want: [] },
      { prefix: 'id1/obj_1/', want: [] },
      { prefix: 'obj_5/x', want: [] },
      { prefix: 'id1//', want: [] },
      { prefix: '/id1', want: [] },
      { prefix: 'id1/../id2/', want: [] },
      { prefix: './id1', want: [] },
    ];
    it('iter with a prefix lists the keys that start with it, at every depth', () =>
      withBucket(async (bkt) => {
        await Promise.all(iterKeys.map((k) => bkt.put(k, bytes(k))));
        for (const p of prefixes) {
          assert.deepEqual(await collect(bkt.iter(p.prefix)), p.want, `prefix ${JSON.stringify(p.prefix)}`);
        }
      }));

    it('iter can be abandoned early', () =>
      withBucket(async (bkt) => {
        for (const k of ['s/1', 's/2', 's/3']) await bkt.put(k, bytes(k));
        const seen: string[] = [];
        for await (const k of bkt.iter('s/')) {
          seen.push(k);
          if (seen.length === 2) break;
        }
        assert.deepEqual(seen, ['s/1', 's/2']);
        assert.deepEqual(await collect(bkt.iter('')), ['s/1', 's/2', 's/3']);
      }));

    it('delete removes an object, is idempotent and leaves its neighbours', () =>
      withBucket(async (bkt) => {
        // Prepare
        await bkt.put('d/x', bytes('x'));
        await bkt.put('d/y', bytes('y'));
        await bkt.put('d/sub/z', bytes('z'));
        // Act
        await bkt.delete('d/y');
        await bkt.delete('d/y');
        await bkt.delete('never/was');
        await bkt.delete('d'); // a "folder", not an object
        // Assess
        assert.equal(await bkt.exists('d/y'), false);
        await assert.rejects(bkt.get('d/y'), (err) => bkt.isNotFound(err));
        assert.deepEqual(await collect(bkt.iter('')), ['d/sub/z', 'd/x']);
        // The last object of a "folder" goes, then the folder can be used again.
        await bkt.delete('d/sub/z');
        assert.deepEqual(await collect(bkt.iter('d/sub')), []);
        await bkt.put('d/sub/z', bytes('again'));
        assert.deepEqual(await bkt.get('d/sub/z'), bytes('again'));
      }));

    const badKeys: { name: string; key: string }[] = [
      { name: 'empty', key: '' },
      { name: 'leading slash', key: '/a' },
      { name: 'trailing slash', key: 'a/' },
      { name: 'empty segment', key: 'a//b' },
      { name: 'dot segment', key: 'a/./b' },
      { name: 'leading dot segment', key: './a' },
      { name: 'dot-dot segment', key: 'a/../b' },
      { name: 'only dot-dot', key: '..' },
      { name: 'NUL', key: 'a\u0000b' },
      { name: 'lone surrogate', key: 'a\uD800' },
      { name: 'longer than 1024 UTF-8 bytes', key: 'é/'.repeat(342) + 'x' },
    ];
    for (const b of badKeys) {
      it(`rejects a bad key (${b.name}) in every method`, () =>
        withBucket(async (bkt) => {
          const calls: [string, () => Promise<unknown>][] = [
            ['put', () => bkt.put(b.key, bytes('data'))],
            ['get', () => bkt.get(b.key)],
            ['getRange', () => bkt.getRange(b.key, 0, 1)],
            ['head', () => bkt.head(b.key)],
            ['exists', () => bkt.exists(b.key)],
            ['delete', () => bkt.delete(b.key)],
          ];
          for (const [op, call] of calls) {
            await assert.rejects(call(), (err) => {
              assert.ok(err instanceof InvalidKeyError, `${op}: got ${String(err)}`);
              assert.equal(bkt.isNotFound(err), false, op);
              return true;
            });
          }
          assert.deepEqual(await collect(bkt.iter('')), []);
        }));
    }

    it('stores and reads back a 5 MiB object, whole and in ranges', () =>
      withBucket(async (bkt) => {
        const big = pattern(5 * 1024 * 1024, 11);
        await bkt.put('big/object', big);
        assert.equal((await bkt.head('big/object')).size, big.length);
        assert.ok(equalBytes(await bkt.get('big/object'), big), 'whole object');
        const off = 3 * 1024 * 1024 - 7;
        assert.ok(equalBytes(await bkt.getRange('big/object', off, 1024 * 1024), big.subarray(off, off + 1024 * 1024)));
        assert.ok(equalBytes(await bkt.getRange('big/object', big.length - 10, 100), big.subarray(big.length - 10)));
      }));

    it('concurrent puts of distinct keys all land', () =>
      withBucket(async (bkt) => {
        const keys = Array.from({ length: 60 }, (_, i) => `c/${i % 3}/n/${String(i).padStart(3, '0')}`);
        await Promise.all(keys.map((k) => bkt.put(k, bytes(k))));
        assert.deepEqual(await collect(bkt.iter('c/')), [...keys].sort(byUtf8Bytes));
        for (const k of keys) assert.deepEqual(await bkt.get(k), bytes(k));
      }));

    it('concurrent puts of one key: readers see one whole version, never a mix', () =>
      withBucket(async (bkt) => {
        const size = 256 * 1024;
        await bkt.put('race', new Uint8Array(size).fill(100));
        const writes = Array.from({ length: 8 }, (_, i) => bkt.put('race', new Uint8Array(size).fill(i)));
        const reads = Array.from({ length: 16 }, () => bkt.get('race'));
        await Promise.all(writes);
        for (const got of [...(await Promise.all(reads)), await bkt.get('race')]) {
          assert.equal(got.length, size);
          assert.ok(got.every((b) => b === got[0]), 'one version throughout');
          assert.ok(got[0] === 100 || got[0] < 8);
        }
        assert.deepEqual(await collect(bkt.iter('')), ['race']);
      }));
  });
}

function bytes(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

function everyByte(): Uint8Array {
  const b = new Uint8Array(256);
  for (let i = 0; i < 256; i++) b[i] = i;
  return b;
}

/** Deterministic pseudo-random bytes (a linear congruential generator). */
function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

/** A fixed permutation that is far from sorted. */
function scramble<T>(xs: readonly T[]): T[] {
  const out = [...xs].reverse();
  for (let i = 0; i + 1 < out.length; i += 3) [out[i], out[i + 1]] = [out[i + 1], out[i]];
  return out;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}
