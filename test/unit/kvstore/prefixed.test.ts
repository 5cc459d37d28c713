import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidKVKeyError } from '../../../lib/kvstore/errors.ts';
import { MemKVStore } from '../../../lib/kvstore/mem.ts';
import { prefixedKVStore } from '../../../lib/kvstore/prefixed.ts';

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('prefixedKVStore', () => {
  it('prepends the prefix to every pk and hands back the caller pk', async () => {
    // Prepare
    const inner = new MemKVStore();
    const kv = prefixedKVStore(inner, 't1/');
    // Act
    await kv.batchPut([{ pk: 'series', sk: 'a', value: Uint8Array.of(1) }]);
    assert.equal(await kv.putIfAbsent({ pk: 'series', sk: 'b', value: Uint8Array.of(2) }), true);
    // Assess
    assert.deepEqual(await inner.get('t1/series', 'a'), Uint8Array.of(1));
    assert.deepEqual(await inner.get('t1/series', 'b'), Uint8Array.of(2));
    assert.equal(await inner.get('series', 'a'), undefined);
    assert.deepEqual(await kv.get('series', 'b'), Uint8Array.of(2));
    assert.deepEqual(
      (await collect(kv.query('series', { reverse: true }))).map((i) => [i.pk, i.sk]),
      [['series', 'b'], ['series', 'a']],
    );
    await kv.batchDelete([{ pk: 'series', sk: 'a' }]);
    assert.equal(await inner.get('t1/series', 'a'), undefined);
  });

  it('does not see partitions of other prefixes', async () => {
    const inner = new MemKVStore();
    await inner.batchPut([
      { pk: 't2/series', sk: 'a', value: Uint8Array.of(9) },
      { pk: 'series', sk: 'a', value: Uint8Array.of(9) },
    ]);
    const kv = prefixedKVStore(inner, 't1/');
    assert.equal(await kv.get('series', 'a'), undefined);
    assert.deepEqual(await collect(kv.query('series')), []);
    await kv.batchPut([{ pk: 'series', sk: 'b', value: Uint8Array.of(1, 2) }]);
    assert.deepEqual((await collect(kv.query('series'))).map((it) => it.sk), ['b']);
  });

  it('checks the caller pk, and the whole pk against the limits', async () => {
    const kv = prefixedKVStore(new MemKVStore(), 't1/');
    await assert.rejects(kv.get('', 's'), InvalidKVKeyError);
    await assert.rejects(collect(kv.query('a\0')), InvalidKVKeyError);
    await assert.rejects(kv.batchPut([{ pk: 'a\0', sk: 's', value: Uint8Array.of(1) }]), InvalidKVKeyError);
    // 1022 bytes of caller pk + 3 bytes of prefix = 1025.
    await assert.rejects(kv.batchPut([{ pk: 'x'.repeat(1022), sk: 's', value: Uint8Array.of(1) }]), InvalidKVKeyError);
    await kv.batchPut([{ pk: 'x'.repeat(1021), sk: 's', value: Uint8Array.of(1) }]);
  });

  it('returns the store itself for an empty prefix and refuses U+0000', () => {
    const inner = new MemKVStore();
    assert.equal(prefixedKVStore(inner, ''), inner);
    assert.throws(() => prefixedKVStore(inner, 'a\0'), InvalidKVKeyError);
  });
});
