import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type KVOp, KVOps, faultyKVStore } from '../../../lib/kvstore/faulty.ts';
import type { KVStore } from '../../../lib/kvstore/kvstore.ts';
import { MemKVStore } from '../../../lib/kvstore/mem.ts';

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

const calls: Record<KVOp, (kv: KVStore) => Promise<unknown>> = {
  get: (kv) => kv.get('p', 'a'),
  getMany: (kv) => kv.getMany!([{ pk: 'p', sk: 'a' }]),
  query: (kv) => collect(kv.query('p')),
  batchPut: (kv) => kv.batchPut([{ pk: 'p', sk: 'new', value: Uint8Array.of(1) }]),
  putIfAbsent: (kv) => kv.putIfAbsent({ pk: 'p', sk: 'new2', value: Uint8Array.of(1) }),
  replaceIf: (kv) => kv.replaceIf({ pk: 'p', sk: 'a', value: Uint8Array.of(2) }, Uint8Array.of(1)),
  batchDelete: (kv) => kv.batchDelete([{ pk: 'p', sk: 'a' }]),
};

describe('faultyKVStore', () => {
  for (const op of KVOps) {
    it(`failOn(${op}) rejects that operation without performing it`, async () => {
      // Prepare
      const inner = new MemKVStore();
      await inner.batchPut([{ pk: 'p', sk: 'a', value: Uint8Array.of(0) }]);
      const boom = new Error(`injected ${op}`);
      const kv = faultyKVStore(inner, { failOn: (o) => (o === op ? boom : undefined) });
      // Act + Assess
      await assert.rejects(calls[op](kv), (err) => err === boom);
      assert.deepEqual(
        (await collect(inner.query('p'))).map((i) => i.sk),
        ['a'],
        'nothing changed',
      );
      // Every other read goes through.
      if (op !== 'get') assert.deepEqual(await kv.get('p', 'a'), Uint8Array.of(0));
    });
  }

  it('fails a batch on one item: all-or-nothing by default, partial on request', async () => {
    const items = ['a', 'b', 'c'].map((sk) => ({ pk: 'p', sk, value: Uint8Array.of(1) }));
    const failOn = (_op: KVOp, _pk: string, sk: string | undefined) => (sk === 'b' ? new Error('b fails') : undefined);

    const whole = new MemKVStore();
    await assert.rejects(faultyKVStore(whole, { failOn }).batchPut(items), /b fails/);
    assert.deepEqual(await collect(whole.query('p')), []);

    const part = new MemKVStore();
    await assert.rejects(faultyKVStore(part, { failOn, partial: true }).batchPut(items), /b fails/);
    assert.deepEqual((await collect(part.query('p'))).map((i) => i.sk), ['a', 'c']);
  });

  it('getMany consults failOn for every key and rejects with the first error, reading nothing', async () => {
    // Prepare
    const inner = new MemKVStore();
    await inner.batchPut([{ pk: 'p', sk: 'a', value: Uint8Array.of(1) }]);
    const asked: string[] = [];
    let reads = 0;
    const counting = Object.assign(Object.create(MemKVStore.prototype) as MemKVStore, {
      get: (pk: string, sk: string) => {
        reads++;
        return inner.get(pk, sk);
      },
    });
    const kv = faultyKVStore(counting, {
      failOn: (op, pk, sk) => {
        asked.push(`${op} ${pk} ${sk}`);
        return sk === 'b' || sk === 'c' ? new Error(`${sk} fails`) : undefined;
      },
    });
    // Act + Assess
    await assert.rejects(kv.getMany!([{ pk: 'p', sk: 'a' }, { pk: 'p', sk: 'b' }, { pk: 'q', sk: 'c' }]), /^Error: b fails$/);
    assert.deepEqual(asked, ['getMany p a', 'getMany p b', 'getMany q c']);
    assert.equal(reads, 0, 'nothing was read');
    asked.length = 0;
    assert.deepEqual(await kv.getMany!([{ pk: 'p', sk: 'a' }, { pk: 'p', sk: 'x' }, { pk: 'p', sk: 'a' }]), [Uint8Array.of(1), undefined, Uint8Array.of(1)]);
    assert.equal(reads, 3);
    assert.deepEqual(asked, ['getMany p a', 'getMany p x', 'getMany p a']);
  });

  it('getMany with failAfter reads, then reports the error', async () => {
    const inner = new MemKVStore();
    let after = 0;
    const kv = faultyKVStore(inner, {
      failOn: () => undefined,
      failAfter: (op) => (op === 'getMany' && ++after === 2 ? new Error('lost reply') : undefined),
    });
    await assert.rejects(kv.getMany!([{ pk: 'p', sk: 'a' }, { pk: 'p', sk: 'b' }]), /lost reply/);
    assert.equal(after, 2);
  });

  it('failAfter performs the write but reports an error', async () => {
    const inner = new MemKVStore();
    const kv = faultyKVStore(inner, {
      failOn: () => undefined,
      failAfter: (op) => (op === 'putIfAbsent' ? new Error('lost reply') : undefined),
    });
    await assert.rejects(kv.putIfAbsent({ pk: 'p', sk: 's', value: Uint8Array.of(5) }), /lost reply/);
    assert.deepEqual(await inner.get('p', 's'), Uint8Array.of(5));
  });
});
