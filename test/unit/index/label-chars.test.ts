/**
 * Label values may hold any UTF-8 (Prometheus stores them as they come),
 * but index partition keys may not hold U+0000 (lib/kvstore/validate.ts)
 * nor a lone UTF-16 surrogate. Values that would put either in a key are
 * written in the shortened form of lib/index/keys.ts (a prefix, U+0001,
 * the SHA-256; the item holds the whole string). Before, a write with a
 * U+0000 in a label value was refused whole with a 400 (Prometheus drops
 * the batch, every other series of it with it), and a long value whose
 * 64-character prefix ended inside a surrogate pair could not be indexed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { keyString } from '../../../lib/index/keys.ts';
import { MemBucket } from '../../../lib/objstore/mem.ts';
import { MemKVStore } from '../../../lib/kvstore/mem.ts';
import { labelsFromPairs } from '../../../lib/labels/labels.ts';
import { MatchType, newMatcher } from '../../../lib/labels/matcher.ts';
import { newSeriesEntry, Storage } from '../../../lib/tsdb/db.ts';
import { dumpSeries } from '../../helpers/dump.ts';

/** A string of `n` code units ending in the high half of a surrogate pair at index 63. */
const straddling = 'x'.repeat(63) + '\u{1F600}' + 'y'.repeat(600);

describe('label values with characters keys cannot hold', () => {
  const values: { what: string; value: string }[] = [
    { what: 'U+0000 inside', value: 'a\u0000b' },
    { what: 'U+0000 alone', value: '\u0000' },
    { what: 'U+0001 inside (already shortened before)', value: 'a\u0001b' },
    { what: 'a long value whose 64-unit prefix ends inside a surrogate pair', value: straddling },
    { what: 'a plain value beside them', value: 'plain' },
  ];

  it('keyString never puts U+0000 or a lone surrogate in a key, and keeps distinct values distinct', () => {
    const keys = new Set<string>();
    for (const { what, value } of values) {
      const k = keyString(value);
      assert.equal(k.includes('\u0000'), false, what);
      assert.equal(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(k), false, what);
      keys.add(k);
    }
    assert.equal(keys.size, values.length);
  });

  it('are written, selected by = and =~, and listed as label values, exactly', async () => {
    // Prepare: one series per value, committed in one request.
    const st = new Storage({ bucket: new MemBucket(), kv: new MemKVStore() });
    const db = st.tenant('anonymous');
    const app = db.appender();
    values.forEach(({ value }, i) => app.append(newSeriesEntry(labelsFromPairs({ __name__: 'm', v: value })), 1000, i));
    // Act
    await app.commit();
    // Assess
    for (const [i, { what, value }] of values.entries()) {
      const byEq = await dumpSeries(db, 0, 2000, [newMatcher(MatchType.Equal, 'v', value)]);
      assert.equal(byEq.length, 1, what);
      assert.ok(byEq[0]!.endsWith(` 1000:${i}`), what);
    }
    const byRe = await dumpSeries(db, 0, 2000, [newMatcher(MatchType.Regexp, 'v', 'a.b')]);
    assert.equal(byRe.length, 2, 'a\\u0000b and a\\u0001b match a.b');
    const q = await db.querier(0, 2000);
    assert.deepEqual(await q.labelValues('v'), values.map((v) => v.value).sort());
  });
});
