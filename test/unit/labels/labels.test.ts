import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  type Labels,
  compareLabels,
  decodeLabels,
  encodeLabels,
  goQuote,
  LabelError,
  labelsEqual,
  labelsFromPairs,
  labelsGet,
  labelsToString,
  seriesId,
  seriesIdBytes,
  seriesIdFromHex,
  seriesIdToHex,
  utf8ByteLength,
} from '../../../lib/labels/index.ts';
import { CorruptionError } from '../../../lib/util/errors.ts';

/** Deterministic PRNG (mulberry32) so failures reproduce. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Characters chosen to straddle every UTF-8 / UTF-16 boundary.
const alphabet = ['a', 'b', '_', '\u007f', '\u0080', 'é', '\u07ff', '\u0800', '\ud7ff', '\ue000', '\uffff', '😀', '\u{10000}', '\u{10ffff}'];

function randomString(next: () => number, maxLen: number): string {
  let s = '';
  const n = Math.floor(next() * (maxLen + 1));
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(next() * alphabet.length)];
  return s;
}

/** Go compares strings byte by byte: the oracle for our order. */
function goCompare(a: string, b: string): number {
  return Math.sign(Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
}

function goCompareLabels(a: Labels, b: Labels): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const n = goCompare(a[i]!.name, b[i]!.name);
    if (n !== 0) return n;
    const v = goCompare(a[i]!.value, b[i]!.value);
    if (v !== 0) return v;
  }
  return Math.sign(a.length - b.length);
}

describe('compareLabels', () => {
  const cases: { name: string; a: Labels; b: Labels; want: number }[] = [
    { name: 'equal', a: labelsFromPairs({ a: '1', b: '2' }), b: labelsFromPairs({ a: '1', b: '2' }), want: 0 },
    { name: 'name decides first', a: labelsFromPairs({ a: '9' }), b: labelsFromPairs({ b: '1' }), want: -1 },
    { name: 'then value', a: labelsFromPairs({ a: '1' }), b: labelsFromPairs({ a: '2' }), want: -1 },
    { name: 'prefix set first', a: labelsFromPairs({ a: '1' }), b: labelsFromPairs({ a: '1', b: '1' }), want: -1 },
    { name: 'empty set first', a: [], b: labelsFromPairs({ a: '1' }), want: -1 },
    // UTF-16 puts U+E000 after U+1F600 (a surrogate pair); UTF-8 bytes, and Go, do not.
    { name: 'private use vs emoji', a: labelsFromPairs({ a: '\uE000' }), b: labelsFromPairs({ a: '😀' }), want: -1 },
    { name: 'U+FFFF vs U+10000', a: labelsFromPairs({ a: '\uffff' }), b: labelsFromPairs({ a: '\u{10000}' }), want: -1 },
    { name: 'bytes not code units in names', a: labelsFromPairs({ '\uE000': 'x' }), b: labelsFromPairs({ '😀': 'x' }), want: -1 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.equal(Math.sign(compareLabels(c.a, c.b)), c.want);
      assert.equal(Math.sign(compareLabels(c.b, c.a)), 0 - c.want || 0);
    });
  }

  it('returns the length difference when one set is a prefix, like Go', () => {
    assert.equal(compareLabels(labelsFromPairs({ a: '1' }), labelsFromPairs({ a: '1', b: '1', c: '1' })), -2);
  });

  it('agrees with Go byte order on random label sets', () => {
    const next = rng(42);
    const randomSet = (): Labels => {
      const pairs: [string, string][] = [];
      const n = Math.floor(next() * 3);
      for (let i = 0; i < n; i++) pairs.push([randomString(next, 2) + String(i), randomString(next, 3)]);
      return labelsFromPairs(pairs);
    };
    for (let i = 0; i < 5000; i++) {
      const a = randomSet();
      const b = next() < 0.2 ? a.map((l) => ({ ...l })) : randomSet();
      assert.equal(Math.sign(compareLabels(a, b)), goCompareLabels(a, b), `${labelsToString(a)} vs ${labelsToString(b)}`);
    }
  });
});

describe('labelsFromPairs, labelsGet, labelsEqual', () => {
  it('sorts by name in byte order and drops empty values', () => {
    // Act
    const ls = labelsFromPairs([
      ['😀', 'e'],
      ['job', 'node'],
      ['empty', ''],
      ['\uE000', 'p'],
      ['__name__', 'up'],
    ]);
    // Assess
    assert.deepEqual(
      ls.map((l) => l.name),
      ['__name__', 'job', '\uE000', '😀'],
    );
  });

  it('refuses a repeated name', () => {
    assert.throws(
      () =>
        labelsFromPairs([
          ['a', '1'],
          ['a', '2'],
        ]),
      (e: unknown) => e instanceof LabelError && e.message === 'label name "a" is not unique',
    );
  });

  it('gets values, with "" for a missing label', () => {
    const ls = labelsFromPairs({ __name__: 'up', job: 'node' });
    assert.equal(labelsGet(ls, 'job'), 'node');
    assert.equal(labelsGet(ls, 'instance'), '');
  });

  it('compares for equality pair by pair', () => {
    assert.equal(labelsEqual(labelsFromPairs({ a: '1' }), labelsFromPairs({ a: '1' })), true);
    assert.equal(labelsEqual(labelsFromPairs({ a: '1' }), labelsFromPairs({ a: '2' })), false);
    assert.equal(labelsEqual(labelsFromPairs({ a: '1' }), labelsFromPairs({ a: '1', b: '1' })), false);
  });
});

describe('labelsToString and goQuote', () => {
  it('prints like Prometheus Labels.String', () => {
    assert.equal(labelsToString(labelsFromPairs({ job: 'x', __name__: 'up' })), '{__name__="up", job="x"}');
    assert.equal(labelsToString([]), '{}');
  });

  // Expected strings are what Prometheus 2.42 (Go 1.19 strconv.Quote) printed
  // for the same values in `promtool test rules` output.
  const cases: { value: string; want: string }[] = [
    { value: 'plain', want: '"plain"' },
    { value: 'a"b\\c', want: '"a\\"b\\\\c"' },
    { value: '\n\t\r\x07\b\f\v', want: '"\\n\\t\\r\\a\\b\\f\\v"' },
    { value: '\x00\x1f\x7f', want: '"\\x00\\x1f\\x7f"' },
    { value: 'é日本😀', want: '"é日本😀"' },
    { value: '\u00a0', want: '"\\u00a0"' },
    { value: '\u00ad', want: '"\\u00ad"' },
    { value: '\u0085', want: '"\\u0085"' },
    { value: '\u00a1\u00ff', want: '"\u00a1\u00ff"' },
    { value: '\u200b', want: '"\\u200b"' },
    { value: '\ue000', want: '"\\ue000"' },
    { value: '\u2028', want: '"\\u2028"' },
    { value: '\u3000', want: '"\\u3000"' },
    { value: '\ufeffx', want: '"\\ufeffx"' },
    { value: '\u0378', want: '"\\u0378"' },
    { value: '\u{10ffff}', want: '"\\U0010ffff"' },
    { value: '\u{e0001}', want: '"\\U000e0001"' },
    { value: '\u{f0000}', want: '"\\U000f0000"' },
    { value: 'ǅ\u0301', want: '"ǅ\u0301"' },
    { value: '`\'', want: '"`\'"' },
    // UTF-8 cannot hold a lone surrogate; it is stored, and printed, as U+FFFD.
    { value: '\ud800', want: '"\ufffd"' },
  ];
  for (const c of cases) {
    it(`quotes ${JSON.stringify(c.value)}`, () => {
      assert.equal(goQuote(c.value), c.want);
    });
  }

  it('keeps every printed series on one line', () => {
    const s = labelsToString(labelsFromPairs({ a: 'x\ny\r\u2028z' }));
    assert.equal(/[\n\r\u2028]/.test(s), false);
  });
});

describe('encodeLabels / decodeLabels', () => {
  it('writes the documented layout', () => {
    // Prepare
    const ls = labelsFromPairs({ __name__: 'up', job: 'node' });
    // Act
    const buf = encodeLabels(ls);
    // Assess
    const want = [2, 8, ...Buffer.from('__name__'), 2, ...Buffer.from('up'), 3, ...Buffer.from('job'), 4, ...Buffer.from('node')];
    assert.deepEqual([...buf], want);
  });

  it('uses multi-byte varints and byte lengths', () => {
    const value = 'é'.repeat(100); // 200 bytes: varint 0xc8 0x01
    const buf = encodeLabels(labelsFromPairs({ a: value }));
    assert.deepEqual([...buf.subarray(0, 6)], [1, 1, 0x61, 0xc8, 0x01, 0xc3]);
    assert.equal(buf.length, 5 + 200);
  });

  it('round-trips random label sets and matches TextEncoder byte for byte', () => {
    const next = rng(7);
    for (let i = 0; i < 2000; i++) {
      // Prepare
      const pairs: [string, string][] = [];
      const n = Math.floor(next() * 5);
      for (let j = 0; j < n; j++) pairs.push([randomString(next, 4) + j, randomString(next, next() < 0.1 ? 100 : 6) + 'v']);
      const ls = labelsFromPairs(pairs);
      // Act
      const buf = encodeLabels(ls);
      const padded = new Uint8Array(buf.length + 7);
      padded.set(buf, 3);
      const back = decodeLabels(padded, 3, buf.length);
      // Assess
      assert.deepEqual(back, ls);
      const enc = new TextEncoder();
      const parts: number[] = [ls.length];
      for (const l of ls) {
        for (const s of [l.name, l.value]) {
          const b = enc.encode(s);
          assert.equal(utf8ByteLength(s), b.length);
          let len = b.length;
          while (len >= 0x80) {
            parts.push((len & 0x7f) | 0x80);
            len >>>= 7;
          }
          parts.push(len, ...b);
        }
      }
      assert.deepEqual([...buf], parts);
    }
  });

  it('round-trips long values (scratch growth, three-byte varints)', () => {
    for (const value of ['x'.repeat(20000), '😀'.repeat(9000), 'é'.repeat(70000)]) {
      const ls = labelsFromPairs({ a: 'short', big: value });
      const buf = encodeLabels(ls);
      assert.equal(buf.length, 1 + 2 + 6 + 4 + utf8ByteLength(value) + (utf8ByteLength(value) >= 16384 ? 3 : 2));
      assert.deepEqual(decodeLabels(buf, 0, buf.length), ls);
    }
  });

  it('gives each call its own bytes', () => {
    // Prepare
    const results = Array.from({ length: 3000 }, (_, i) => ({ i, bytes: encodeLabels(labelsFromPairs({ n: String(i) })) }));
    const ids = results.map((r) => seriesIdBytes(r.bytes));
    // Assess: later calls did not overwrite earlier results.
    for (const { i, bytes } of results) {
      assert.deepEqual(decodeLabels(bytes, 0, bytes.length), labelsFromPairs({ n: String(i) }));
      assert.equal(Buffer.from(ids[i]!).toString('hex'), seriesId(bytes));
    }
    // Exactly sized, so keeping one keeps nothing else alive.
    assert.equal(results[0]!.bytes.buffer.byteLength, results[0]!.bytes.length);
    assert.equal(ids[0]!.buffer.byteLength, 16);
  });

  it('keeps a leading byte-order mark in a value', () => {
    const ls = labelsFromPairs({ a: '\ufeffx' });
    const buf = encodeLabels(ls);
    assert.deepEqual(decodeLabels(buf, 0, buf.length), ls);
  });

  it('encodes a lone surrogate as U+FFFD, as TextEncoder does', () => {
    const buf = encodeLabels([{ name: 'a', value: 'x\udc00' }]);
    assert.deepEqual(decodeLabels(buf, 0, buf.length), [{ name: 'a', value: 'x\ufffd' }]);
  });

  const good = [...encodeLabels(labelsFromPairs({ a: '1', b: '2' }))];
  const corrupt: { name: string; bytes: number[]; message: RegExp }[] = [
    { name: 'empty input', bytes: [], message: /truncated varint/ },
    { name: 'truncated string', bytes: good.slice(0, good.length - 1), message: /runs past the end|does not fit/ },
    { name: 'trailing bytes', bytes: [...good, 0], message: /1 trailing bytes/ },
    { name: 'count too large', bytes: [9, 1, 0x61, 1, 0x31], message: /count 9 does not fit/ },
    { name: 'endless varint', bytes: [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80], message: /varint too long/ },
    { name: 'invalid UTF-8', bytes: [1, 1, 0x61, 2, 0xc3, 0x28], message: /invalid UTF-8/ },
    { name: 'unsorted names', bytes: [2, 1, 0x62, 1, 0x31, 1, 0x61, 1, 0x31], message: /does not sort after/ },
    { name: 'repeated name', bytes: [2, 1, 0x61, 1, 0x31, 1, 0x61, 1, 0x32], message: /does not sort after/ },
    { name: 'empty value', bytes: [1, 1, 0x61, 0, 0, 0], message: /empty value/ },
  ];
  for (const c of corrupt) {
    it(`refuses ${c.name} with CorruptionError`, () => {
      const buf = Uint8Array.from(c.bytes);
      assert.throws(() => decodeLabels(buf, 0, buf.length), (e: unknown) => e instanceof CorruptionError && c.message.test(e.message));
    });
  }

  it('refuses a range outside the buffer', () => {
    assert.throws(() => decodeLabels(Uint8Array.from(good), 2, good.length), CorruptionError);
  });
});

describe('seriesId', () => {
  // Expected values from `printf '<bytes>' | sha256sum`, first 32 hex digits.
  const cases: { pairs: Record<string, string>; want: string }[] = [
    { pairs: { __name__: 'up' }, want: '007ba9065301bd83c7cbe4e1de0b21c6' },
    { pairs: { __name__: 'up', job: 'node' }, want: 'ee0057e3a80f28baef13464907d00bbb' },
  ];
  for (const c of cases) {
    it(`is the SHA-256 prefix for ${JSON.stringify(c.pairs)}`, () => {
      const bytes = encodeLabels(labelsFromPairs(c.pairs));
      assert.equal(seriesId(bytes), c.want);
      assert.equal(Buffer.from(seriesIdBytes(bytes)).toString('hex'), c.want);
      assert.equal(seriesIdBytes(bytes).length, 16);
    });
  }

  it('converts between hex and bytes', () => {
    const hex = '007ba9065301bd83c7cbe4e1de0b21c6';
    const bytes = seriesIdFromHex(hex);
    assert.equal(bytes[1], 0x7b);
    assert.equal(seriesIdToHex(bytes), hex);
    assert.throws(() => seriesIdFromHex('00'), RangeError);
    assert.throws(() => seriesIdFromHex('007BA9065301BD83C7CBE4E1DE0B21C6'), RangeError);
  });

  it('differs for sets that concatenate to the same text', () => {
    const a = seriesId(encodeLabels(labelsFromPairs({ a: 'bc' })));
    const b = seriesId(encodeLabels(labelsFromPairs({ ab: 'c' })));
    assert.notEqual(a, b);
  });
});
