import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BadInputError, TooLargeError } from '../../../lib/util/errors.ts';
import {
  jsSnappy,
  nativeSnappy,
  snappy,
  snappyDecode,
  snappyDecodedLength,
  snappyEncode,
  validateSnappyBlock,
} from '../../../lib/prompb/snappy.ts';
import type { SnappyCodec } from '../../../lib/prompb/snappy.ts';
import { encodeWriteRequest } from '../../../lib/prompb/write-v1.ts';
import { int, mutate, rng } from './helpers.ts';

const codecs: SnappyCodec[] = [jsSnappy];
if (nativeSnappy !== undefined) codecs.push(nativeSnappy);
else console.warn('snappy.test: the native `snappy` package did not load; testing snappyjs only');

function payloads(): Uint8Array[] {
  const r = rng(5);
  const text = new TextEncoder().encode('node_cpu_seconds_total{cpu="0",mode="idle"} '.repeat(500));
  const random = Uint8Array.from({ length: 70_000 }, () => int(r, 256));
  const wr = encodeWriteRequest(
    Array.from({ length: 200 }, (_, i) => ({
      labels: [
        { name: '__name__', value: `metric_${i % 20}` },
        { name: 'instance', value: 'localhost:9100' },
      ],
      timestamps: [1_700_000_000_000 + i],
      values: new Float64Array([i]),
    })),
  );
  return [new Uint8Array(0), Uint8Array.of(42), text, random, wr];
}

function throwsClass(fn: () => unknown, cls: typeof BadInputError | typeof TooLargeError, msg: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof cls, `want ${cls.name}, got ${String(e)}`);
    assert.match(e.message, msg);
    return true;
  });
}

describe('snappy', () => {
  it('prefers the native codec when it loads', () => {
    assert.equal(snappy, nativeSnappy ?? jsSnappy);
  });

  for (const enc of codecs) {
    for (const dec of codecs) {
      it(`${dec.name} decodes what ${enc.name} encodes`, () => {
        for (const p of payloads()) {
          const z = enc.encode(p);
          assert.equal(snappyDecodedLength(z), p.length);
          const out = dec.decode(z, p.length);
          assert.equal(Object.getPrototypeOf(out), Uint8Array.prototype, 'a plain Uint8Array, not a Buffer');
          assert.deepEqual(Buffer.from(out), Buffer.from(p));
        }
      });
    }
  }

  it('snappyDecode and snappyEncode round-trip', () => {
    const p = payloads()[2]!;
    assert.deepEqual(Buffer.from(snappyDecode(snappyEncode(p), 1 << 20)), Buffer.from(p));
  });

  for (const c of codecs) {
    it(`${c.name}: a declared length over the limit is TooLargeError before any decoding`, () => {
      // Prepare: a preamble declaring 4 GiB-1 followed by garbage that would not decode.
      const huge = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f, 0xde, 0xad);
      const before = process.memoryUsage().arrayBuffers;
      // Act + Assess
      throwsClass(() => c.decode(huge, 1 << 20), TooLargeError, /decoded length 4294967295 bytes exceeds the limit of 1048576 bytes/);
      assert.ok(process.memoryUsage().arrayBuffers - before < 1 << 20, 'nothing large was allocated');
      // One byte over the limit is refused, exactly at the limit is accepted.
      const z = c.encode(new Uint8Array(1000));
      throwsClass(() => c.decode(z, 999), TooLargeError, /decoded length 1000 bytes exceeds the limit of 999 bytes/);
      assert.equal(c.decode(z, 1000).length, 1000);
    });

    const bad: { name: string; bytes: number[]; msg: RegExp }[] = [
      { name: 'empty input', bytes: [], msg: /^snappy: empty input/ },
      { name: 'a truncated preamble', bytes: [0x80], msg: /^snappy: truncated length preamble/ },
      { name: 'a preamble over 32 bits', bytes: [0x80, 0x80, 0x80, 0x80, 0x10], msg: /^snappy: declared length \d+ exceeds 2\^32-1/ },
      { name: 'a preamble longer than 5 bytes', bytes: [0x80, 0x80, 0x80, 0x80, 0x80, 0x00], msg: /^snappy: length preamble longer than 5 bytes/ },
      { name: 'a copy before any output', bytes: [5, 0x01, 0x01], msg: /^snappy: / },
      { name: 'a literal running past the input', bytes: [5, 0x10, 0x61], msg: /^snappy: / },
      { name: 'output shorter than declared', bytes: [5, 0x00, 0x61], msg: /^snappy: / },
      { name: 'output longer than declared', bytes: [1, 0x04, 0x61, 0x62], msg: /^snappy: / },
      // This 7-byte block sends unvalidated snappyjs into an endless loop.
      { name: 'a negative literal length (snappyjs hang)', bytes: [10, 0xfc, 0xfa, 0xff, 0xff, 0xff, 0], msg: /^snappy: / },
    ];
    for (const b of bad) {
      it(`${c.name}: rejects ${b.name} with BadInputError`, () => {
        throwsClass(() => c.decode(Uint8Array.from(b.bytes), 1 << 20), BadInputError, b.msg);
      });
    }
  }

  it('validateSnappyBlock accepts exactly what the native decoder accepts on 3000 mutated blocks', () => {
    const r = rng(8);
    const seeds = payloads().map((p) => jsSnappy.encode(p));
    let accepted = 0;
    for (let i = 0; i < 3000; i++) {
      const z = mutate(r, seeds[int(r, seeds.length)]!);
      let js: Uint8Array | Error;
      try {
        js = jsSnappy.decode(z, 1 << 20);
        accepted++;
      } catch (e) {
        assert.ok(e instanceof BadInputError || e instanceof TooLargeError, String(e));
        js = e as Error;
      }
      if (nativeSnappy === undefined) continue;
      let native: Uint8Array | Error;
      try {
        native = nativeSnappy.decode(z, 1 << 20);
      } catch (e) {
        assert.ok(e instanceof BadInputError || e instanceof TooLargeError, String(e));
        native = e as Error;
      }
      if (js instanceof Error || native instanceof Error) {
        assert.equal(js instanceof Error, native instanceof Error, `mutation ${i}: js ${String(js)} vs native ${String(native)}`);
      } else {
        assert.deepEqual(Buffer.from(js), Buffer.from(native));
      }
    }
    assert.ok(accepted > 50, `only ${accepted} mutations decoded`);
  });

  it('validateSnappyBlock rejects copies with offset 0', () => {
    // 'abcd' literal, then a 1-byte-offset copy with offset 0.
    const z = Uint8Array.of(8, 0x0c, 0x61, 0x62, 0x63, 0x64, 0x01, 0x00);
    assert.throws(() => validateSnappyBlock(z, 1, 8), /copy offset 0 at byte 6 is invalid/);
  });
});
