import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemKVStore } from '../../../lib/kvstore/mem.ts';

describe('MemKVStore', () => {
  it('query reads a snapshot taken when iteration starts', async () => {
    const kv = new MemKVStore();
    await kv.batchPut(['a', 'c'].map((sk) => ({ pk: 'p', sk, value: Uint8Array.of(1) })));
    const seen: string[] = [];
    for await (const item of kv.query('p')) {
      seen.push(item.sk);
      await kv.batchPut([{ pk: 'p', sk: 'b', value: Uint8Array.of(2) }]);
      await kv.batchDelete([{ pk: 'p', sk: 'c' }]);
    }
    assert.deepEqual(seen, ['a', 'c']);
  });

  it('copies values before batchPut returns, even before it resolves', async () => {
    const kv = new MemKVStore();
    const value = Uint8Array.of(1, 2);
    const done = kv.batchPut([{ pk: 'p', sk: 's', value }]);
    value.fill(0);
    await done;
    assert.deepEqual(await kv.get('p', 's'), Uint8Array.of(1, 2));
  });

  it('drops a partition once its last item is deleted', async () => {
    const kv = new MemKVStore();
    await kv.batchPut([{ pk: 'p', sk: 's', value: Uint8Array.of(1) }]);
    await kv.batchDelete([{ pk: 'p', sk: 's' }]);
    assert.equal(await kv.putIfAbsent({ pk: 'p', sk: 's', value: Uint8Array.of(2) }), true);
    assert.deepEqual(await kv.get('p', 's'), Uint8Array.of(2));
  });
});
