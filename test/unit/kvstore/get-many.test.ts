/**
 * getMany outside the backends: the fallback `kvGetMany` for stores without
 * it, the prefixing decorator, and the metering decorator's charges
 * (BatchGetItem requests and strongly consistent read units, attributed to
 * tenants and scopes). The stores themselves are covered by the
 * conformance suite (test/conformance/kvstore.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidKVKeyError } from '../../../lib/kvstore/errors.ts';
import { kvGetMany, type KVKey, type KVStore } from '../../../lib/kvstore/kvstore.ts';
import { MemKVStore } from '../../../lib/kvstore/mem.ts';
import { prefixedKVStore } from '../../../lib/kvstore/prefixed.ts';
import { faultyKVStore } from '../../../lib/kvstore/faulty.ts';
import { UsageLedger, byOperation, meteredKVStore, type LedgerRow } from '../../../lib/cost/index.ts';
import { dynamoItemBytes } from '../../../lib/cost/model.ts';

/** A store without getMany (as thin test wrappers are) that counts gets and the most in flight at once. */
function plainStore(inner: KVStore): { kv: KVStore; stats: { gets: number; inFlight: number; maxInFlight: number } } {
  const stats = { gets: 0, inFlight: 0, maxInFlight: 0 };
  const kv: KVStore = {
    get: async (pk, sk) => {
      stats.gets++;
      stats.maxInFlight = Math.max(stats.maxInFlight, ++stats.inFlight);
      try {
        await new Promise((r) => setImmediate(r));
        return await inner.get(pk, sk);
      } finally {
        stats.inFlight--;
      }
    },
    query: (pk, o) => inner.query(pk, o),
    batchPut: (items) => inner.batchPut(items),
    putIfAbsent: (item) => inner.putIfAbsent(item),
    replaceIf: (item, e) => inner.replaceIf(item, e),
    batchDelete: (keys) => inner.batchDelete(keys),
    close: () => inner.close(),
  };
  return { kv, stats };
}

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const str = (v: Uint8Array | undefined): string | undefined => (v === undefined ? undefined : new TextDecoder().decode(v));

describe('kvGetMany and prefixedKVStore.getMany', () => {
  it('falls back on get, at most 32 at a time, aligned with the keys', async () => {
    // Prepare
    const inner = new MemKVStore();
    await inner.batchPut(Array.from({ length: 100 }, (_, i) => ({ pk: 'p', sk: `k${i}`, value: bytes(`v${i}`) })));
    const { kv, stats } = plainStore(inner);
    const keys: KVKey[] = [...Array.from({ length: 120 }, (_, i) => ({ pk: 'p', sk: `k${i}` })), { pk: 'p', sk: 'k3' }];
    // Act
    const got = await kvGetMany(kv, keys);
    // Assess
    assert.deepEqual(got.map(str), keys.map((k) => (Number(k.sk.slice(1)) < 100 ? `v${k.sk.slice(1)}` : undefined)));
    assert.equal(stats.gets, 121);
    assert.equal(stats.maxInFlight, 32);
    assert.deepEqual(await kvGetMany(kv, []), []);
  });

  it('checks every key before reading any', async () => {
    const { kv, stats } = plainStore(new MemKVStore());
    await assert.rejects(kvGetMany(kv, [{ pk: 'p', sk: 'a' }, { pk: 'p', sk: '' }]), InvalidKVKeyError);
    await assert.rejects(new MemKVStore().getMany([{ pk: 'p', sk: 'a' }, { pk: 'a\u0000', sk: 'b' }]), InvalidKVKeyError);
    assert.equal(stats.gets, 0);
  });

  it('prefixes every pk, also over a store without getMany', async () => {
    // Prepare
    const mem = new MemKVStore();
    await mem.batchPut([
      { pk: 't1/series', sk: 'a', value: bytes('mine') },
      { pk: 'series', sk: 'a', value: bytes('unprefixed') },
      { pk: 't2/series', sk: 'b', value: bytes('other tenant') },
    ]);
    const keys = [{ pk: 'series', sk: 'a' }, { pk: 'series', sk: 'b' }, { pk: 'series', sk: 'a' }];
    for (const [name, inner] of [['MemKVStore', mem], ['no getMany', plainStore(mem).kv]] as const) {
      // Act
      const got = await prefixedKVStore(inner, 't1/').getMany!(keys);
      // Assess
      assert.deepEqual(got.map(str), ['mine', undefined, 'mine'], name);
    }
    // The caller's pk is checked, and errors name it.
    await assert.rejects(prefixedKVStore(mem, 't1/').getMany!([{ pk: '', sk: 'a' }]), /pk is empty/);
  });
});

/** The BatchGetItem row of each (tenant, scope). */
function batchGets(ledger: UsageLedger): LedgerRow[] {
  return ledger.rows().filter((r) => r.op === 'BatchGetItem');
}

describe('meteredKVStore.getMany', () => {
  it('charges one BatchGetItem per 100 distinct keys and 1 RRU per started 4 KB of each item, 1 per absent key', async () => {
    // Prepare: 150 items in tenant acme's label index, sizes around 4 KB.
    const ledger = new UsageLedger();
    const inner = new MemKVStore();
    const kv = meteredKVStore(inner, ledger);
    const pk = 'acme/ix/000020000/series';
    const value = (i: number): Uint8Array => new Uint8Array(i % 3 === 0 ? 10 : i % 3 === 1 ? 4096 - dynamoItemBytes(pk, `s${i}`, 0) : 5000);
    await inner.batchPut(Array.from({ length: 150 }, (_, i) => ({ pk, sk: `s${i}`, value: value(i) })));
    // 150 present + 60 absent distinct keys (210: three requests), 50 repeats.
    const keys: KVKey[] = [
      ...Array.from({ length: 210 }, (_, i) => ({ pk, sk: `s${i}` })),
      ...Array.from({ length: 50 }, (_, i) => ({ pk, sk: `s${i * 4}` })),
    ];
    // Act
    const got = await kv.getMany!(keys);
    // Assess: units 1, 1, 2 per three items; 1 per absent key.
    assert.equal(got.filter((v) => v !== undefined).length, 150 + 38, 'repeats s0..s148 are present');
    const wantBytes = Array.from({ length: 150 }, (_, i) => dynamoItemBytes(pk, `s${i}`, value(i).length)).reduce((a, b) => a + b, 0);
    assert.deepEqual(batchGets(ledger).map((r) => [r.tenant, r.scope, r.requests, r.items, r.capacityUnits, r.bytes]), [
      ['acme', 'ix', 3, 150, 50 * 4 + 60, wantBytes],
    ]);
    assert.equal(ledger.rows().filter((r) => r.op !== 'BatchGetItem' && r.op !== 'BatchWriteItem').length, 0, 'no GetItem charged');
  });

  it('charges nothing for no keys, and a further request per started 16 MB answered', async () => {
    // Prepare: 50 items of 390 KiB (19.5 MB).
    const ledger = new UsageLedger();
    const inner = new MemKVStore();
    const kv = meteredKVStore(inner, ledger);
    await inner.batchPut(Array.from({ length: 50 }, (_, i) => ({ pk: 'acme/catalog', sk: `c${i}`, value: new Uint8Array(390 * 1024) })));
    // Act
    await kv.getMany!([]);
    const before = batchGets(ledger).length;
    await kv.getMany!(Array.from({ length: 50 }, (_, i) => ({ pk: 'acme/catalog', sk: `c${i}` })));
    // Assess
    assert.equal(before, 0);
    const [row] = batchGets(ledger);
    assert.equal(row?.requests, 2);
    assert.equal(row?.capacityUnits, 50 * Math.ceil(dynamoItemBytes('acme/catalog', 'c10', 390 * 1024) / 4096));
  });

  it('splits requests over tenants and scopes in proportion to keys', async () => {
    const ledger = new UsageLedger();
    const inner = new MemKVStore();
    await inner.batchPut([{ pk: 'a/ix/000020000/series', sk: 's', value: bytes('x') }]);
    const kv = meteredKVStore(inner, ledger);
    await kv.getMany!([
      ...Array.from({ length: 75 }, (_, i) => ({ pk: 'a/ix/000020000/series', sk: i === 0 ? 's' : `n${i}` })),
      ...Array.from({ length: 25 }, (_, i) => ({ pk: 'b/catalog', sk: `n${i}` })),
      { pk: '_tenants', sk: 'a' },
    ]);
    assert.deepEqual(batchGets(ledger).map((r) => [r.tenant, r.scope, r.requests, r.items, r.capacityUnits]), [
      ['a', '_tenants', 2 / 101, 0, 1],
      ['a', 'ix', (2 * 75) / 101, 1, 75],
      ['b', 'catalog', (2 * 25) / 101, 0, 25],
    ]);
    assert.ok(Math.abs(byOperation(ledger.rows()).find((r) => r.op === 'BatchGetItem')!.requests - 2) < 1e-12);
  });

  it('charges a failed call its requests at 1 RRU per key, and works over a store without getMany', async () => {
    const ledger = new UsageLedger();
    const failing = faultyKVStore(new MemKVStore(), { failOn: (op) => (op === 'getMany' ? new Error('down') : undefined) });
    await assert.rejects(meteredKVStore(failing, ledger).getMany!([{ pk: 'a/catalog', sk: 'x' }, { pk: 'a/catalog', sk: 'x' }, { pk: 'a/catalog', sk: 'y' }]), /down/);
    assert.deepEqual(batchGets(ledger).map((r) => [r.requests, r.items, r.capacityUnits]), [[1, 0, 2]]);
    const inner = new MemKVStore();
    await inner.batchPut([{ pk: 'a/catalog', sk: 'x', value: bytes('1') }]);
    const plain = plainStore(inner);
    const got = await meteredKVStore(plain.kv, new UsageLedger()).getMany!([{ pk: 'a/catalog', sk: 'x' }, { pk: 'a/catalog', sk: 'z' }]);
    assert.deepEqual(got.map(str), ['1', undefined]);
    assert.equal(plain.stats.gets, 2);
  });
});
