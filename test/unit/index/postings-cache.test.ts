/**
 * The label index's postings cache (option `postingsCache`, AWS mode):
 * postings and label values are kept with the week's postings token and
 * reused while the token holds, so a warm reader makes one point read per
 * week instead of a query per label value; a writer in another process
 * that indexes new series rewrites the token, and the very next select
 * sees them. A week without a token is cached only by the store's sole
 * writer (local mode).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemKVStore } from '../../../lib/kvstore/mem.ts';
import type { KVStore } from '../../../lib/kvstore/kvstore.ts';
import { encodeLabels, labelsFromPairs } from '../../../lib/labels/labels.ts';
import { MatchType, newMatcher, type Matcher } from '../../../lib/labels/matcher.ts';
import { IndexKeys } from '../../../lib/index/keys.ts';
import { LabelIndex } from '../../../lib/index/label-index.ts';
import { dropBucketIndex } from '../../../lib/index/gc.ts';

/** Monday 2024-10-07 (day 20003), the first day of an index bucket. */
const Mon = 20_003;

/** A store counting the queries of postings and values partitions. */
function counting(kv: MemKVStore): { store: KVStore; queries: () => number } {
  let n = 0;
  const listed = (pk: string) => {
    if (pk.includes('/p/') || pk.includes('/values/')) n++;
  };
  const store: KVStore = {
    get: (pk, sk) => kv.get(pk, sk),
    getMany: (keys) => kv.getMany(keys),
    query: (pk, o) => (listed(pk), kv.query(pk, o)),
    batchPut: (items) => kv.batchPut(items),
    putIfAbsent: (item) => kv.putIfAbsent(item),
    replaceIf: (item, expected) => kv.replaceIf(item, expected),
    batchDelete: (keys) => kv.batchDelete(keys),
    close: () => Promise.resolve(),
  };
  return { store, queries: () => n };
}

async function index(ix: LabelIndex, pairs: Record<string, string>, id: string): Promise<void> {
  const labels = labelsFromPairs(pairs);
  await ix.add([{ bucket: Mon + 1, id: id.repeat(32), labels, canonical: encodeLabels(labels) }]);
}

const ids = async (ix: LabelIndex, ms: Matcher[]) => [...(await ix.select(Mon + 2, ms)).keys()].map((id) => id[0]).join('');

describe('postings cache', () => {
  const literal = [newMatcher(MatchType.Equal, 'job', 'x'), newMatcher(MatchType.Regexp, 'instance', '1|2|3')];
  const regex = [newMatcher(MatchType.Regexp, 'instance', '[12]'), newMatcher(MatchType.NotEqual, 'job', 'y')];

  it('reuses postings while the token holds and sees another writer at once', async () => {
    // Prepare: a writer process and a caching reader process on one store.
    const kv = new MemKVStore();
    const writer = new LabelIndex(kv);
    const { store, queries } = counting(kv);
    const reader = new LabelIndex(store, { postingsCache: true });
    await index(writer, { __name__: 'up', job: 'x', instance: '1' }, 'a');
    await index(writer, { __name__: 'up', job: 'x', instance: '2' }, 'b');
    await index(writer, { __name__: 'up', job: 'y', instance: '1' }, 'c');

    // Act + Assess: a cold select queries; a warm one makes no query.
    assert.equal(await ids(reader, literal), 'ab');
    assert.equal(await ids(reader, regex), 'ab');
    const cold = queries();
    assert.ok(cold >= 5, `${cold} queries cold`);
    assert.equal(await ids(reader, literal), 'ab');
    assert.equal(await ids(reader, regex), 'ab');
    assert.equal(queries(), cold, 'a warm select queried postings or values');

    // Act 2: another process indexes a series both selections match.
    await index(writer, { __name__: 'up', job: 'x', instance: '3' }, 'd');
    await index(writer, { __name__: 'up', job: 'z', instance: '2' }, 'e');

    // Assess 2: the very next selects see them (the token changed), then are warm again.
    assert.equal(await ids(reader, literal), 'abd');
    assert.equal(await ids(reader, regex), 'abe');
    const after = queries();
    assert.ok(after > cold, 'no query after the token changed');
    assert.equal(await ids(reader, literal), 'abd');
    assert.equal(queries(), after);
  });

  it('never caches a week without a token, and a dropped week takes its token along', async () => {
    // Prepare: postings written, then the token removed (as by a writer from before tokens).
    const kv = new MemKVStore();
    const writer = new LabelIndex(kv);
    await index(writer, { __name__: 'up', job: 'x', instance: '1' }, 'a');
    await kv.batchDelete([{ pk: IndexKeys.token(Mon), sk: 'v' }]);
    const { store, queries } = counting(kv);
    const reader = new LabelIndex(store, { postingsCache: true });
    // Act + Assess
    assert.equal(await ids(reader, literal), 'a');
    const first = queries();
    assert.equal(await ids(reader, literal), 'a');
    assert.equal(queries(), 2 * first, 'a week without a token was served from the cache');

    // A week dropped by index GC leaves no token behind.
    await index(writer, { __name__: 'up', job: 'x', instance: '2' }, 'b');
    assert.notEqual(await kv.get(IndexKeys.token(Mon), 'v'), undefined);
    await dropBucketIndex(kv, Mon);
    assert.equal(await kv.get(IndexKeys.token(Mon), 'v'), undefined);
    assert.equal(await ids(reader, literal), '');
  });

  it('caches a week without a token for the store\'s sole writer, until its next write there', async () => {
    // Prepare: a week indexed before tokens existed, in a store one process owns (local mode).
    const kv = new MemKVStore();
    const { store, queries } = counting(kv);
    const owner = new LabelIndex(store, { postingsCache: { soleWriter: true } });
    await index(owner, { __name__: 'up', job: 'x', instance: '1' }, 'a');
    await kv.batchDelete([{ pk: IndexKeys.token(Mon), sk: 'v' }]);
    // Act + Assess: the second read is served from memory.
    assert.equal(await ids(owner, literal), 'a');
    const first = queries();
    assert.equal(await ids(owner, literal), 'a');
    assert.equal(queries(), first, 'read again although the sole writer wrote nothing');
    // Its next write there brings a token: the very next read sees the new series.
    await index(owner, { __name__: 'up', job: 'x', instance: '2' }, 'b');
    assert.equal(await ids(owner, literal), 'ab');
    assert.ok(queries() > first);
  });
});

describe('selects under way', () => {
  it('a select begun after a write was acknowledged sees it, though an identical select begun before is still reading', async () => {
    // Prepare: a reader whose series-record reads wait at a gate, and a writer in another process.
    const kv = new MemKVStore();
    const writer = new LabelIndex(kv);
    let open: () => void = () => {};
    let gate: Promise<void> | undefined;
    const gated: KVStore = {
      ...counting(kv).store,
      getMany: async (keys) => {
        const out = await kv.getMany(keys);
        if (gate !== undefined) await gate;
        return out;
      },
    };
    for (const cache of [false, true]) {
      const reader = new LabelIndex(gated, { postingsCache: cache });
      const job = newMatcher(MatchType.Equal, 'job', cache ? 'c' : 'n');
      await index(writer, { __name__: 'up', job: job.value, instance: '1' }, 'a');
      gate = new Promise<void>((r) => (open = r));
      // Act: a select begins and waits for its series records ...
      const before = reader.select(Mon + 2, [job]);
      await new Promise((r) => setImmediate(r));
      // ... while a new series is indexed and acknowledged; then another select begins.
      await index(writer, { __name__: 'up', job: job.value, instance: '2' }, 'b');
      const after = reader.select(Mon + 2, [job]);
      open();
      gate = undefined;
      // Assess: the first may miss the new series (it began before the write); the second must not.
      assert.ok(['a', 'ab'].includes([...(await before).keys()].map((id) => id[0]).join('')));
      assert.equal([...(await after).keys()].map((id) => id[0]).join(''), 'ab', `cache ${cache}: a select after the write missed its series`);
    }
  });
});
