import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import protobuf from 'protobufjs';
import { BadInputError } from '../../../lib/util/errors.ts';
import { PbReader, PbWriter, copyDoubleBytes, utf8Decode, utf8Length } from '../../../lib/prompb/pb.ts';
import { SPECIAL_TIMESTAMPS, SPECIAL_VALUE_BITS, arrayBits, i64, int, randomString, rng } from './helpers.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** The varint bytes of a 64-bit two's-complement integer. */
function varint64(v: bigint): Uint8Array {
  let u = BigInt.asUintN(64, v);
  const out: number[] = [];
  while (u >= 0x80n) {
    out.push(Number(u & 0x7fn) | 0x80);
    u >>= 7n;
  }
  out.push(Number(u));
  return Uint8Array.from(out);
}

function throwsBad(fn: () => unknown, msg: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof BadInputError, `want BadInputError, got ${String(e)}`);
    assert.match(e.message, msg);
    return true;
  });
}

describe('PbWriter.int64 / PbReader.int64', () => {
  const r = rng(1);
  const values = [...SPECIAL_TIMESTAMPS];
  for (let i = 0; i < 2000; i++) {
    const mag = Math.floor(r() * 2 ** (1 + int(r, 53)));
    values.push(r() < 0.5 && mag !== 0 ? -mag : mag);
  }

  it('writes the same bytes as protobufjs and as a BigInt reference', () => {
    for (const v of values) {
      // Act
      const w = new PbWriter();
      w.int64(v);
      const ours = w.finish();
      // Assess
      assert.equal(hex(ours), hex(protobuf.Writer.create().int64(i64(v)).finish()), `value ${v}`);
      assert.equal(hex(ours), hex(varint64(BigInt(v))), `value ${v}`);
    }
  });

  it('reads back every value, negatives as ten bytes', () => {
    for (const v of values) {
      const bytes = varint64(BigInt(v));
      if (v < 0) assert.equal(bytes.length, 10);
      const rd = new PbReader(bytes);
      assert.equal(rd.int64(), v, `value ${v}`);
      assert.equal(rd.pos, bytes.length);
    }
  });

  const outOfRange: bigint[] = [2n ** 53n, -(2n ** 53n), 2n ** 63n - 1n, -(2n ** 63n), 2n ** 60n, -(2n ** 60n) - 5n];
  for (const v of outOfRange) {
    it(`rejects ${v} (not exactly representable) on read`, () => {
      throwsBad(() => new PbReader(varint64(v)).int64(), /int64 at byte 0 is outside ±\(2\^53-1\)/);
    });
  }

  it('rejects unsafe or fractional values on write, naming the field', () => {
    for (const v of [2 ** 53, -(2 ** 53), 1.5, NaN, Infinity]) {
      throwsBad(() => new PbWriter().int64(v, 'Sample.timestamp'), /^Sample\.timestamp: .* not an integer within ±\(2\^53-1\)/);
    }
  });

  it('rejects truncated and overlong varints', () => {
    throwsBad(() => new PbReader(Uint8Array.from([0x80, 0x80])).int64(), /truncated varint at byte 0/);
    throwsBad(() => new PbReader(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x80])).int64(), /truncated varint/);
    throwsBad(() => new PbReader(Uint8Array.from([...Array(10).fill(0xff), 0x01])).int64(), /longer than 10 bytes/);
  });
});

describe('doubles', () => {
  it('write and copy keep every bit pattern (NaN payloads, -0.0)', () => {
    // Prepare
    const src = new Float64Array(SPECIAL_VALUE_BITS.length);
    new BigUint64Array(src.buffer).set(SPECIAL_VALUE_BITS);
    // Act: write each value, then copy the wire bytes into a fresh array.
    const w = new PbWriter();
    for (let i = 0; i < src.length; i++) w.double(src[i]!);
    const wire = w.finish();
    const dst = new Float64Array(src.length);
    const dstBytes = new Uint8Array(dst.buffer);
    for (let i = 0; i < src.length; i++) copyDoubleBytes(wire, i * 8, dstBytes, i * 8);
    // Assess
    assert.deepEqual(arrayBits(dst), arrayBits(src));
    for (let i = 0; i < SPECIAL_VALUE_BITS.length; i++) {
      const le = new DataView(wire.buffer, wire.byteOffset + i * 8, 8).getBigUint64(0, true);
      assert.equal(le, SPECIAL_VALUE_BITS[i]);
    }
  });

  it('PbReader.double returns NaN payloads and -0.0 intact', () => {
    const w = new PbWriter();
    const src = new Float64Array(SPECIAL_VALUE_BITS.length);
    new BigUint64Array(src.buffer).set(SPECIAL_VALUE_BITS);
    for (let i = 0; i < src.length; i++) w.double(src[i]!);
    const rd = new PbReader(w.finish());
    const dst = new Float64Array(src.length);
    for (let i = 0; i < src.length; i++) dst[i] = rd.double();
    assert.deepEqual(arrayBits(dst), arrayBits(src));
  });

  it('PbReader.double reads little-endian and rejects truncation', () => {
    const b = Uint8Array.from([0, 0, 0, 0, 0, 0, 0xf0, 0x3f]);
    assert.equal(new PbReader(b).double(), 1);
    throwsBad(() => new PbReader(b.subarray(0, 7)).double(), /truncated fixed64 at byte 0/);
  });
});

describe('PbReader framing', () => {
  const cases: { name: string; bytes: number[]; msg: RegExp }[] = [
    { name: 'field number 0', bytes: [0x00, 0x01], msg: /invalid field number 0 at byte 0/ },
    { name: 'wire type 6', bytes: [0x0e], msg: /invalid wire type 6 at byte 0/ },
    { name: 'wire type 7', bytes: [0x0f], msg: /invalid wire type 7/ },
    { name: 'start group', bytes: [0x0b, 0x0c], msg: /group wire type 3/ },
    { name: 'end group', bytes: [0x0c], msg: /group wire type 4/ },
    { name: 'tag over 32 bits', bytes: [0x88, 0x80, 0x80, 0x80, 0x80, 0x01, 0x00], msg: /tag overflows 32 bits/ },
    { name: 'truncated tag', bytes: [0x88], msg: /truncated varint at byte 0/ },
    { name: 'truncated varint field', bytes: [0x08, 0x80], msg: /truncated varint at byte 1/ },
    { name: 'truncated fixed32', bytes: [0x0d, 1, 2, 3], msg: /truncated fixed32 at byte 1/ },
    { name: 'truncated fixed64', bytes: [0x09, 1, 2, 3, 4, 5, 6, 7], msg: /truncated fixed64 at byte 1/ },
    { name: 'length past the end', bytes: [0x0a, 0x05, 1, 2], msg: /length 5 at byte 1 exceeds the 2 bytes left/ },
    { name: 'huge length', bytes: [0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f], msg: /exceeds the 0 bytes left/ },
  ];
  for (const c of cases) {
    it(`rejects ${c.name}`, () => {
      throwsBad(() => {
        const r = new PbReader(Uint8Array.from(c.bytes));
        while (!r.eof()) r.skip(r.tag() & 7);
      }, c.msg);
    });
  }

  it('skips one field of every accepted wire type', () => {
    // field 1 varint (10 bytes), 2 fixed64, 3 bytes, 4 fixed32, then 5 varint = 7
    const bytes = Uint8Array.from([
      0x08, ...varint64(-1n), 0x11, 1, 2, 3, 4, 5, 6, 7, 8, 0x1a, 2, 9, 9, 0x25, 1, 2, 3, 4, 0x28, 7,
    ]);
    const r = new PbReader(bytes);
    const seen: number[] = [];
    for (;;) {
      const t = r.tag();
      seen.push(t >>> 3);
      if (t >>> 3 === 5) break;
      r.skip(t & 7);
    }
    assert.deepEqual(seen, [1, 2, 3, 4, 5]);
    assert.equal(r.uvarint(), 7);
    assert.ok(r.eof());
  });

  it('reads bools as Go does (any non-zero varint is true)', () => {
    const cases: [number[], boolean][] = [
      [[0], false],
      [[1], true],
      [[2], true],
      [[0x80, 0x00], false],
      [[0x80, 0x01], true],
    ];
    for (const [bytes, want] of cases) assert.equal(new PbReader(Uint8Array.from(bytes)).bool(), want, String(bytes));
  });

  it('respects the end of a sub-range', () => {
    const r = new PbReader(Uint8Array.from([0x08, 0x96, 0x01]), 0, 2);
    r.tag();
    throwsBad(() => r.uvarint(), /truncated varint at byte 1/);
  });
});

describe('PbWriter nesting', () => {
  for (const size of [0, 1, 127, 128, 16383, 16384, 70000]) {
    it(`writes a nested message of ${size} bytes with the right length prefix`, () => {
      // Prepare
      const payload = Uint8Array.from({ length: size }, (_, i) => i & 0xff);
      // Act
      const w = new PbWriter(4);
      w.uvarint(42); // something before
      const outer = w.fork(1);
      const inner = w.fork(2);
      w.bytesField(3, payload);
      w.join(inner);
      w.join(outer);
      w.uvarint(43); // something after
      const out = w.finish();
      // Assess against protobufjs' writer
      const pw = protobuf.Writer.create();
      pw.uint32(42).uint32(10).fork().uint32(18).fork();
      if (size > 0) pw.uint32(26).bytes(payload);
      pw.ldelim().ldelim().uint32(43);
      assert.equal(hex(out), hex(pw.finish()));
    });
  }
});

describe('UTF-8', () => {
  it('utf8Decode handles ASCII, multi-byte and four-byte characters at any length', () => {
    const r = rng(3);
    const enc = new TextEncoder();
    for (let i = 0; i < 3000; i++) {
      const s = i % 3 === 0 ? 'x'.repeat(int(r, 100)) : randomString(r);
      const b = enc.encode('..' + s);
      assert.equal(utf8Decode(b, 2, b.length - 2), s);
    }
  });

  const invalid: [string, number[]][] = [
    ['a lone continuation byte', [0x61, 0x80]],
    ['0xff', [0xff]],
    ['an overlong NUL', [0xc0, 0x80]],
    ['an encoded surrogate', [0xed, 0xa0, 0x80]],
    ['a truncated sequence', [0xe2, 0x82]],
    ['a code point over U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
  ];
  for (const [name, bytes] of invalid) {
    it(`utf8Decode rejects ${name}`, () => {
      throwsBad(() => utf8Decode(Uint8Array.from(bytes), 0, bytes.length), /invalid UTF-8 in the \d+ bytes at byte 0/);
      const long = Uint8Array.from([...Array(80).fill(0x61), ...bytes]);
      throwsBad(() => utf8Decode(long, 0, long.length), /invalid UTF-8/);
    });
  }

  it('utf8Decode rejects a range outside the buffer', () => {
    throwsBad(() => utf8Decode(new Uint8Array(4), 2, 3), /outside a buffer of 4 bytes/);
  });

  it('utf8Length and PbWriter.string agree with TextEncoder, lone surrogates included', () => {
    const r = rng(4);
    const enc = new TextEncoder();
    const extras = ['\ud800', 'a\udc00b', '\ud83d\ude80', '\udbff', 'x\ud800\ud800'];
    for (let i = 0; i < 2000; i++) {
      const s = i < extras.length ? extras[i]! : randomString(r);
      const want = enc.encode(s);
      assert.equal(utf8Length(s), want.length, JSON.stringify(s));
      const w = new PbWriter(2);
      w.string(s);
      const out = w.finish();
      const rd = new PbReader(out);
      const n = rd.len();
      assert.equal(hex(out.subarray(rd.pos, rd.pos + n)), hex(want), JSON.stringify(s));
    }
  });
});
