import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ClassicLevel } from 'classic-level';
import { LevelKVStore, itemKey } from '../../../lib/kvstore/leveldb/leveldb-store.ts';
import { BackendError } from '../../../lib/util/errors.ts';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('LevelKVStore', () => {
  let base: string;
  let n = 0;
  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'stratus-leveldb-unit-'));
  });
  after(async () => {
    await rm(base, { recursive: true, force: true });
  });
  const freshDir = (): string => join(base, `db${n++}`);

  it('keeps items across close and reopen', async () => {
    // Prepare
    const dir = freshDir();
    const first = await LevelKVStore.open({ dir });
    await first.batchPut([{ pk: 'p', sk: 'a', value: enc('1') }]);
    assert.equal(await first.putIfAbsent({ pk: 'p', sk: 'b', value: enc('2') }), true);
    await first.batchDelete([{ pk: 'p', sk: 'a' }]);
    await first.batchPut([{ pk: 'p', sk: 'c', value: enc('3') }]);
    await first.close();
    // Act
    const second = await LevelKVStore.open({ dir });
    // Assess
    const items = await collect(second.query('p'));
    assert.deepEqual(
      items.map((i) => [i.sk, new TextDecoder().decode(i.value)]),
      [['b', '2'], ['c', '3']],
    );
    await second.close();
  });

  it('lays keys out as UTF-8(pk) 0x00 UTF-8(sk), values as given', async () => {
    // Prepare
    const dir = freshDir();
    const store = await LevelKVStore.open({ dir });
    await store.batchPut([
      { pk: 'é', sk: 'x\u0000y', value: Uint8Array.of(1, 2) },
      { pk: 'a', sk: '😀', value: Uint8Array.of(3) },
    ]);
    await store.close();
    // Act: read the raw LevelDB.
    const raw = new ClassicLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
    await raw.open();
    const entries = await raw.iterator().all();
    await raw.close();
    // Assess
    assert.deepEqual(
      entries.map(([k, v]) => [Buffer.from(k).toString('hex'), [...v]]),
      [
        ['6100f09f9880', [3]],
        ['c3a900780079', [1, 2]],
      ],
    );
    assert.deepEqual(itemKey('é', 'x\u0000y'), Uint8Array.of(0xc3, 0xa9, 0, 0x78, 0, 0x79));
  });

  it('returns plain Uint8Arrays, not Buffers', async () => {
    const store = await LevelKVStore.open({ dir: freshDir() });
    await store.batchPut([{ pk: 'p', sk: 's', value: Uint8Array.of(1) }]);
    assert.equal((await store.get('p', 's'))!.constructor, Uint8Array);
    assert.equal((await collect(store.query('p')))[0].value.constructor, Uint8Array);
    await store.close();
  });

  it('putIfAbsent is atomic against a concurrent batchPut of the same key', async () => {
    const store = await LevelKVStore.open({ dir: freshDir() });
    for (let i = 0; i < 30; i++) {
      const sk = `k${i}`;
      // Act: both start before either finishes.
      const [, won] = await Promise.all([
        store.batchPut([{ pk: 'p', sk, value: enc('batch') }]),
        store.putIfAbsent({ pk: 'p', sk, value: enc('conditional') }),
      ]);
      // Assess: batchPut started first, so putIfAbsent must see its item.
      assert.equal(won, false, sk);
      assert.deepEqual(await store.get('p', sk), enc('batch'));
    }
    await store.close();
  });

  it('refuses a folder another store holds open, with a BackendError', async () => {
    const dir = freshDir();
    const first = await LevelKVStore.open({ dir });
    await assert.rejects(LevelKVStore.open({ dir }), BackendError);
    await first.close();
  });

  it('closes cleanly after a query was abandoned', async () => {
    const store = await LevelKVStore.open({ dir: freshDir() });
    await store.batchPut(Array.from({ length: 1000 }, (_, i) => ({ pk: 'p', sk: String(i), value: enc('v') })));
    for await (const _ of store.query('p')) break;
    await store.close();
  });
});
