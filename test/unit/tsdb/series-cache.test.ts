import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SeriesCache } from '../../../lib/tsdb/series-cache.ts';
import { newSeriesEntry } from '../../../lib/tsdb/db.ts';
import { labelsFromPairs } from '../../../lib/labels/labels.ts';
import { hashBytes } from '../../../lib/util/hash.ts';

const h = (b: Uint8Array, s = 0, e = b.length) => hashBytes(new DataView(b.buffer, b.byteOffset, b.byteLength), b, s, e);

describe('hashBytes', () => {
  it('depends on every byte and on the length, tails included', () => {
    const seen = new Set<number>();
    for (let len = 0; len < 12; len++) {
      for (let pos = 0; pos < len; pos++) {
        const b = new Uint8Array(len);
        b[pos] = 1;
        seen.add(h(b));
      }
      seen.add(h(new Uint8Array(len)));
    }
    assert.equal(seen.size, 1 + 11 * 12 / 2 + 11, 'all distinct');
    const b = Buffer.from('xxabcdefghij');
    assert.equal(h(b, 2), h(Buffer.from('abcdefghij')), 'only the range counts');
    assert.ok(Number.isSafeInteger(h(b)));
  });
});

describe('SeriesCache', () => {
  const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
  const entry = (v: string) => newSeriesEntry(labelsFromPairs({ __name__: v }));

  it('finds series by their bytes, never another one', () => {
    const cache = new SeriesCache(100);
    const a = entry('a');
    const raw = Buffer.from('--label-bytes--');
    cache.add(raw, dv(raw), 2, 13, a);
    raw.fill(0); // the cache keeps its own copy
    const probe = Buffer.from('label-bytes');
    assert.equal(cache.find(probe, dv(probe), 0, probe.length)?.entry.id, a.id);
    const other = Buffer.from('label-bytez');
    assert.equal(cache.find(other, dv(other), 0, other.length), undefined);
    assert.equal(cache.find(probe, dv(probe), 0, 5), undefined, 'a prefix is another series');
  });

  it('tries the last follower first, and a wrong guess is only a guess', () => {
    const cache = new SeriesCache(100);
    const bytes = ['series-a', 'series-b', 'series-c'].map((s) => Buffer.from(s));
    const [a, b] = [entry('a'), entry('b')];
    const ha = cache.add(bytes[0]!, dv(bytes[0]!), 0, 8, a);
    const hb = cache.add(bytes[1]!, dv(bytes[1]!), 0, 8, b, ha); // b followed a
    assert.equal(cache.find(bytes[1]!, dv(bytes[1]!), 0, 8, ha), hb, 'the guess');
    assert.equal(cache.find(bytes[2]!, dv(bytes[2]!), 0, 8, ha), undefined, 'c is not b, and not cached');
    assert.equal(cache.find(bytes[0]!, dv(bytes[0]!), 0, 8, hb), ha, 'found by hash; a now follows b');
    assert.equal(cache.find(bytes[0]!, dv(bytes[0]!), 0, 8, hb)?.entry.id, a.id);
  });

  it('stays bounded and keeps recently used entries', () => {
    const cache = new SeriesCache(10);
    const first = Buffer.from('k0');
    cache.add(first, dv(first), 0, 2, entry('k0'));
    for (let i = 1; i < 100; i++) {
      const b = Buffer.from(`k${i}`);
      cache.add(b, dv(b), 0, b.length, entry(`k${i}`));
      assert.ok(cache.find(first, dv(first), 0, 2) !== undefined, 'kept warm, never dropped');
    }
    assert.ok(cache.size <= 10);
  });

  it("hands out one entry per series, holding the added entry's fields", () => {
    // Prepare
    const cache = new SeriesCache(100);
    const a = entry('a');
    const raw = Buffer.from('series-a');
    // Act
    const h = cache.add(raw, dv(raw), 0, raw.length, a);
    h.entry.indexed.push(7);
    h.entry.lastIndexed = 7;
    const again = cache.find(raw, dv(raw), 0, raw.length);
    // Assess: the same object every time, with a's identity and its own state.
    assert.equal(again, h);
    assert.equal(again?.entry, h.entry);
    for (const k of ['id', 'sortKey', 'w0', 'w1', 'w2', 'w3', 'canonical', 'labels', 'idBytes'] as const) assert.equal(h.entry[k], a[k], k);
    assert.deepEqual(again?.entry.indexed, [7]);
    assert.deepEqual(a.indexed, [], 'the added entry is copied, not shared');
  });

  it('compares bytes exactly where float64 compares would not (signed zeros, NaNs)', () => {
    // Prepare: eight-byte words that are +0 and -0, and one NaN pattern, as doubles.
    const cache = new SeriesCache(100);
    const zero = new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0, 0, 9]);
    const negZero = new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0, 0x80, 9]);
    const nan = new Uint8Array([1, 1, 0, 0, 0, 0, 0, 0xf8, 0x7f, 9]);
    const nan2 = new Uint8Array([1, 2, 0, 0, 0, 0, 0, 0xf8, 0x7f, 9]);
    cache.add(zero, dv(zero), 1, 10, entry('zero'));
    cache.add(nan, dv(nan), 1, 10, entry('nan'));
    // Act + Assess
    assert.equal(cache.find(zero, dv(zero), 1, 10)?.entry.id, entry('zero').id);
    assert.equal(cache.find(negZero, dv(negZero), 1, 10), undefined, '-0 is other bytes than +0');
    assert.equal(cache.find(nan.slice(), dv(nan.slice()), 1, 10)?.entry.id, entry('nan').id, 'equal NaN bytes match');
    assert.equal(cache.find(nan2, dv(nan2), 1, 10), undefined, 'another NaN is other bytes');
  });

  it('tells apart label bytes that differ in any one byte, at any alignment of entry and request', () => {
    // Prepare: entries of odd lengths (so each starts at a padded offset in
    // the arena), each probed from a request buffer at offsets 0..7.
    const cache = new SeriesCache(10_000);
    const sets = Array.from({ length: 40 }, (_, i) => Uint8Array.from({ length: 3 + i * 3 }, (_, k) => (k * 31 + i) & 0xff));
    const handles = sets.map((b, i) => cache.add(b, dv(b), 0, b.length, entry(`odd${i}`)));
    for (let i = 0; i < sets.length; i++) {
      const b = sets[i]!;
      for (let shift = 0; shift < 8; shift++) {
        const req = new Uint8Array(b.length + shift + 3);
        req.set(b, shift);
        // Act + Assess: the exact bytes find the entry ...
        assert.equal(cache.find(req, dv(req), shift, shift + b.length), handles[i], `set ${i} at +${shift}`);
        // ... and a change of any single byte finds nothing.
        for (let pos = 0; pos < b.length; pos++) {
          req[shift + pos] ^= 0x80;
          assert.equal(cache.find(req, dv(req), shift, shift + b.length), undefined, `set ${i} at +${shift}, byte ${pos} changed`);
          req[shift + pos] ^= 0x80;
        }
      }
    }
  });

  it('compares against the entry\'s own bytes, not its neighbour\'s, in the arena', () => {
    // Prepare: a 5-byte entry, then an 8-byte one that follows it. A probe
    // made of the first entry's bytes and the start of the second is what
    // an 8-byte read at the wrong place in the arena would see.
    const cache = new SeriesCache(100);
    const a = Uint8Array.from([11, 12, 13, 14, 15]);
    const b = Uint8Array.from([21, 22, 23, 24, 25, 26, 27, 28]);
    const ha = cache.add(a, dv(a), 0, a.length, entry('a'));
    const hb = cache.add(b, dv(b), 0, b.length, entry('b'), ha);
    const probe = Uint8Array.from([11, 12, 13, 14, 15, 21, 22, 23]);
    // Act + Assess: b is tried first (it followed a), and must not match.
    assert.equal(cache.find(probe, dv(probe), 0, 8, ha), undefined);
    assert.equal(cache.find(b, dv(b), 0, 8, ha), hb);
  });

  it('keeps finding every series across many arena chunks', () => {
    // Prepare: label sets of 1..3000 bytes, more than one chunk's worth.
    const cache = new SeriesCache(100_000);
    const sets = Array.from({ length: 600 }, (_, i) => Buffer.alloc(1 + ((i * 997) % 3000), i % 251));
    const handles = sets.map((b, i) => cache.add(b, dv(b), 0, b.length, entry(`s${i}`)));
    // Act + Assess
    sets.forEach((b, i) => assert.equal(cache.find(b, dv(b), 0, b.length), handles[i], `set ${i}`));
  });
});
