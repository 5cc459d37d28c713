import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BadInputError, CorruptionError, TooLargeError } from '../../../lib/util/errors.ts';
import { crc32c } from '../../../lib/util/crc32c.ts';
import { DEFAULT_MAX_FRAME_BYTES, FrameReader, encodeFrame, readFrames } from '../../../lib/prompb/frames.ts';
import { decodeChunkedReadResponse, encodeChunkedReadResponse } from '../../../lib/prompb/read.ts';
import { int, rng } from './helpers.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Splits `b` into random pieces (some empty). */
function split(r: () => number, b: Uint8Array, maxPiece: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < b.length; ) {
    const n = int(r, maxPiece + 1);
    out.push(b.subarray(i, i + n));
    i += n;
  }
  return out;
}

function drain(fr: FrameReader): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let m = fr.next(); m !== undefined; m = fr.next()) out.push(m);
  return out;
}

describe('encodeFrame', () => {
  it('writes uvarint length, big-endian CRC32C, then the message', () => {
    const msg = new TextEncoder().encode('123456789');
    // CRC32C("123456789") = 0xe3069283, written most significant byte first.
    assert.equal(hex(encodeFrame(msg)), '09' + 'e3069283' + hex(msg));
  });

  it('uses a multi-byte length for messages of 128 bytes and more', () => {
    const msg = new Uint8Array(300).fill(7);
    const f = encodeFrame(msg);
    const crc = crc32c(msg);
    assert.equal(hex(f.subarray(0, 6)), 'ac02' + crc.toString(16).padStart(8, '0'));
    assert.equal(f.length, 2 + 4 + 300);
  });

  it('frames an empty message as five zero bytes', () => {
    assert.equal(hex(encodeFrame(new Uint8Array(0))), '0000000000');
  });
});

describe('FrameReader', () => {
  it('reassembles 200 random streams however they are split', () => {
    const r = rng(3);
    for (let iter = 0; iter < 200; iter++) {
      // Prepare
      const msgs = Array.from({ length: int(r, 6) }, () =>
        Uint8Array.from({ length: [0, 1, 127, 128, 5000][int(r, 5)]! }, () => int(r, 256)),
      );
      const stream = concat(msgs.map(encodeFrame));
      const fr = new FrameReader();
      const got: Uint8Array[] = [];
      // Act
      for (const piece of split(r, stream, iter % 2 === 0 ? 3 : 2000)) {
        fr.push(piece);
        got.push(...drain(fr));
      }
      fr.end();
      // Assess
      assert.deepEqual(got.map(hex), msgs.map(hex));
    }
  });

  it('returns a view, not a copy, when a message lies within one piece', () => {
    const stream = encodeFrame(Uint8Array.of(1, 2, 3));
    const fr = new FrameReader();
    fr.push(stream);
    const m = fr.next()!;
    assert.equal(m.buffer, stream.buffer);
    assert.equal(fr.next(), undefined);
  });

  it('detects a corrupted message byte with CorruptionError', () => {
    const a = encodeFrame(Uint8Array.of(1, 2, 3));
    const b = encodeFrame(Uint8Array.of(4, 5, 6, 7));
    b[b.length - 1]! ^= 0x01;
    const fr = new FrameReader();
    fr.push(concat([a, b]));
    assert.deepEqual([...fr.next()!], [1, 2, 3]);
    assert.throws(
      () => fr.next(),
      (e: unknown) =>
        e instanceof CorruptionError && /frame 1 at stream byte 8: CRC32C mismatch \(header 0x[0-9a-f]{8}, message 0x[0-9a-f]{8}\)/.test(e.message),
    );
  });

  it('detects a corrupted CRC byte', () => {
    const f = encodeFrame(Uint8Array.of(9, 9));
    f[1]! ^= 0x80;
    const fr = new FrameReader();
    fr.push(f);
    assert.throws(() => fr.next(), CorruptionError);
  });

  it('refuses a frame over maxFrameBytes as soon as its length is read', () => {
    const fr = new FrameReader({ maxFrameBytes: 100 });
    fr.push(Uint8Array.of(0xe5, 0x00)); // declares 101 bytes; no CRC or body yet
    assert.throws(
      () => fr.next(),
      (e: unknown) => e instanceof TooLargeError && /declares 101 bytes, over the limit of 100 bytes/.test(e.message),
    );
    const ok = new FrameReader({ maxFrameBytes: 100 });
    ok.push(encodeFrame(new Uint8Array(100)));
    assert.equal(ok.next()!.length, 100);
  });

  it('defaults the limit to Prometheus chunked_read_limit (50 MB)', () => {
    assert.equal(DEFAULT_MAX_FRAME_BYTES, 5e7);
    const fr = new FrameReader();
    fr.push(Uint8Array.of(0x81, 0xe1, 0xeb, 0x17)); // 5e7 + 1
    assert.throws(() => fr.next(), TooLargeError);
  });

  it('rejects a length varint longer than 10 bytes', () => {
    const fr = new FrameReader();
    fr.push(new Uint8Array(11).fill(0x80));
    assert.throws(() => fr.next(), (e: unknown) => e instanceof BadInputError && /longer than 10 bytes/.test(e.message));
  });

  it('end() reports a stream cut inside a frame', () => {
    const f = encodeFrame(Uint8Array.of(1, 2, 3, 4));
    for (const cut of [1, 4, 5, f.length - 1]) {
      const fr = new FrameReader();
      fr.push(f.subarray(0, cut));
      assert.equal(fr.next(), undefined);
      assert.throws(
        () => fr.end(),
        (e: unknown) => e instanceof BadInputError && new RegExp(`stream ended inside frame 0 .*\\(${cut} bytes left over\\)`).test(e.message),
      );
    }
  });
});

describe('readFrames', () => {
  it('yields the ChunkedReadResponses of a streamed body', async () => {
    // Prepare
    const resps = [0, 1, 2].map((i) =>
      encodeChunkedReadResponse({
        chunkedSeries: [{ labels: [{ name: '__name__', value: `m${i}` }], chunks: [{ minTimeMs: i, maxTimeMs: i + 1, type: 1, data: Uint8Array.of(i) }] }],
        queryIndex: i,
      }),
    );
    const body = concat(resps.map(encodeFrame));
    async function* source() {
      for (let i = 0; i < body.length; i += 7) yield body.subarray(i, i + 7);
    }
    // Act
    const got: number[] = [];
    for await (const m of readFrames(source())) got.push(decodeChunkedReadResponse(m).queryIndex);
    // Assess
    assert.deepEqual(got, [0, 1, 2]);
  });

  it('throws when the body ends inside a frame', async () => {
    const f = encodeFrame(Uint8Array.of(1, 2, 3));
    async function* source() {
      yield f.subarray(0, f.length - 1);
    }
    await assert.rejects(async () => {
      for await (const _ of readFrames(source())) assert.fail('no frame expected');
    }, BadInputError);
  });
});
