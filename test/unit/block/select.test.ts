/**
 * BlockIndex.select (postings per label value) against a plain evaluation
 * of every matcher on every series, with Prometheus' rule that a matcher
 * matching '' also selects series lacking the label.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { BlockWriter } from '../../../lib/block/writer.ts';
import { readBlockIndex } from '../../../lib/block/reader.ts';
import { blockKey } from '../../../lib/block/format.ts';
import { MemBucket } from '../../../lib/objstore/mem.ts';
import { compareLabels, encodeLabels, labelsFromPairs, labelsGet, seriesIdBytes, type Labels } from '../../../lib/labels/labels.ts';
import { MatchType, newMatcher, type Matcher } from '../../../lib/labels/matcher.ts';
import { prng } from '../../helpers/prng.ts';

const meta = { id: '01JD3Q5Z8W0000000000000000', windowStart: 0, windowEnd: 7_200_000, level: 1, resolution: 0, orderKey: '01JD3Q5Z8W0000000000000001', numSources: 1 };

async function blockOf(sets: Labels[]) {
  const w = new BlockWriter({ quality: 1 });
  const sorted = [...sets].sort(compareLabels);
  for (const labels of sorted) {
    const canonical = encodeLabels(labels);
    w.add(seriesIdBytes(canonical), canonical, Float64Array.from([1000]), [Float64Array.from([1])], 1);
  }
  const { bytes, indexOffset, indexLength } = w.finish(meta, ['a']);
  const bucket = new MemBucket();
  await bucket.put(blockKey(meta.id), bytes);
  return { ix: await readBlockIndex(bucket, blockKey(meta.id), { size: bytes.length, indexOffset, indexLength }), sorted };
}

describe('BlockIndex.select', () => {
  it('selects exactly the series every matcher matches (randomized)', async () => {
    // Prepare: series with some labels missing, so '' matters.
    const rnd = prng(17);
    const seen = new Set<string>();
    const sets: Labels[] = [];
    for (let i = 0; i < 400; i++) {
      const pairs: Record<string, string> = { __name__: `m${Math.floor(rnd() * 8)}`, instance: `h${Math.floor(rnd() * 20)}` };
      if (rnd() < 0.6) pairs.job = rnd() < 0.5 ? 'api' : 'web';
      if (rnd() < 0.3) pairs.mode = ['idle', 'user', 'system'][Math.floor(rnd() * 3)]!;
      const ls = labelsFromPairs(pairs);
      const key = JSON.stringify(ls);
      if (!seen.has(key)) {
        seen.add(key);
        sets.push(ls);
      }
    }
    const { ix, sorted } = await blockOf(sets);
    const pool: [MatchType, string, string][] = [
      [MatchType.Equal, '__name__', 'm3'],
      [MatchType.Equal, 'job', ''],
      [MatchType.Equal, 'nope', 'x'],
      [MatchType.NotEqual, 'job', 'api'],
      [MatchType.NotEqual, 'mode', ''],
      [MatchType.Regexp, '__name__', 'm1|m2|m7|zz'],
      [MatchType.Regexp, 'instance', 'h1.*'],
      [MatchType.Regexp, 'job', 'api|'],
      [MatchType.Regexp, 'mode', '.+'],
      [MatchType.Regexp, 'mode', '.*'],
      [MatchType.NotRegexp, 'instance', 'h[0-4]'],
      [MatchType.NotRegexp, 'job', '.*'],
      [MatchType.Regexp, 'instance', 'h(1|2)'],
    ];
    for (let round = 0; round < 300; round++) {
      const ms: Matcher[] = [];
      const k = 1 + Math.floor(rnd() * 3);
      for (let j = 0; j < k; j++) {
        const [t, n, v] = pool[Math.floor(rnd() * pool.length)]!;
        ms.push(newMatcher(t, n, v));
      }
      // Act
      const got = ix.select(ms);
      // Assess
      const want: number[] = [];
      sorted.forEach((ls, i) => {
        if (ms.every((m) => m.matches(labelsGet(ls, m.name)))) want.push(i);
      });
      assert.deepEqual(got, want, ms.map(String).join(', '));
    }
    // Label sets are decoded on demand, once: readers key per-series state on the object.
    for (const i of [0, 7, sorted.length - 1]) {
      assert.deepEqual(ix.labelSet(i), sorted[i], `label set ${i}`);
      assert.equal(ix.labelSet(i), ix.labelSet(i), `label set ${i} decoded again`);
    }
  });

  it('keeps answers apart for matcher lists that a joined key could confuse', async () => {
    // Prepare: values holding the characters a naive key would join matchers with.
    const t = MatchType.Equal;
    const tricky = `x\u0001${t}\u0000job\u0000y`;
    const sets = [labelsFromPairs({ job: 'x' }), labelsFromPairs({ job: 'y' }), labelsFromPairs({ job: tricky }), labelsFromPairs({ job: `x;${t},3,1:joby;` })];
    const { ix, sorted } = await blockOf(sets);
    const lists: Matcher[][] = [
      [newMatcher(t, 'job', tricky)],
      [newMatcher(t, 'job', 'x'), newMatcher(t, 'job', 'y')],
      [newMatcher(t, 'job', `x;${t},3,1:joby;`)],
      [newMatcher(t, 'job', 'x')],
    ];
    for (let round = 0; round < 3; round++) {
      for (const ms of lists) {
        // Act: asked again and again (answers are kept per matcher list).
        const got = ix.select(ms);
        // Assess
        const want: number[] = [];
        sorted.forEach((ls, i) => {
          if (ms.every((m) => m.matches(labelsGet(ls, m.name)))) want.push(i);
        });
        assert.deepEqual(got, want, `round ${round}: ${ms.map(String).join(', ')}`);
      }
    }
  });
});
