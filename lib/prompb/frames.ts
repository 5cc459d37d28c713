/**
 * Framing of STREAMED_XOR_CHUNKS remote-read answers, byte-compatible with
 * Prometheus' storage/remote/chunked.go. Each frame is
 *
 * ```
 * ┌──────────────────────┬───────────────────────────┬──────────────┐
 * │ len(msg) uvarint     │ CRC32C(msg) uint32, BE    │ msg          │
 * └──────────────────────┴───────────────────────────┴──────────────┘
 * ```
 *
 * where msg is one encoded `ChunkedReadResponse`. The CRC uses the
 * Castagnoli polynomial and covers msg only.
 */
import { crc32c } from '../util/crc32c.ts';
import { BadInputError, CorruptionError, TooLargeError } from '../util/errors.ts';
import { putUvarint, uvarintSize } from '../util/varint.ts';

/**
 * Prometheus' client-side default for the largest frame it accepts
 * (`remote_read.chunked_read_limit`, 50 MB).
 */
export const DEFAULT_MAX_FRAME_BYTES = 50_000_000;

/**
 * Frames one message: uvarint length, big-endian CRC32C, message. An empty
 * message gives the 5-byte frame `00 00 00 00 00` (Prometheus' writer
 * sends nothing for one; {@link FrameReader} accepts it).
 */
export function encodeFrame(msg: Uint8Array): Uint8Array {
  const h = uvarintSize(msg.length);
  const out = new Uint8Array(h + 4 + msg.length);
  putUvarint(out, 0, msg.length);
  const crc = crc32c(msg);
  out[h] = crc >>> 24;
  out[h + 1] = (crc >>> 16) & 0xff;
  out[h + 2] = (crc >>> 8) & 0xff;
  out[h + 3] = crc & 0xff;
  out.set(msg, h + 4);
  return out;
}

/** Options of {@link FrameReader}. */
export interface FrameReaderOptions {
  /** Largest message accepted, in bytes. @default DEFAULT_MAX_FRAME_BYTES */
  maxFrameBytes?: number;
}

/**
 * Splits a byte stream, arriving in arbitrary pieces, into verified frame
 * messages. Feed it with {@link push}, drain it with {@link next} until that
 * returns undefined, and call {@link end} when the stream is over.
 *
 * Ownership: `push` keeps a reference to each piece until its bytes are
 * consumed, so do not modify a piece after pushing it. A message that lies
 * within one piece is returned as a view of it (no copy); one that spans
 * pieces is copied into a new array. Returned messages are never reused.
 */
export class FrameReader {
  private readonly maxFrameBytes: number;
  private pieces: Uint8Array[] = [];
  /** Read position within pieces[0]. */
  private off = 0;
  /** Unconsumed bytes over all pieces. */
  private buffered = 0;
  /** Byte offset in the whole stream of the next frame, for messages. */
  private streamPos = 0;
  private frames = 0;

  constructor(opts: FrameReaderOptions = {}) {
    this.maxFrameBytes = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  }

  /** Adds the next piece of the stream. */
  push(piece: Uint8Array): void {
    if (piece.length === 0) return;
    this.pieces.push(piece);
    this.buffered += piece.length;
  }

  /**
   * Returns the next complete message, or undefined if more bytes are
   * needed.
   *
   * @throws TooLargeError if a frame declares more than `maxFrameBytes`
   *   (checked as soon as the length is read, before buffering the body).
   * @throws CorruptionError if a message does not match its CRC32C.
   * @throws BadInputError if a length varint is malformed.
   */
  next(): Uint8Array | undefined {
    // The header is a uvarint (at most 10 bytes) and a 4-byte CRC.
    let len = 0;
    let mul = 1;
    let h = 0;
    for (;;) {
      if (h >= this.buffered) return undefined;
      if (h === 10) throw new BadInputError(`frames: length varint longer than 10 bytes at stream byte ${this.streamPos}`);
      const b = this.peek(h++);
      len += (b & 0x7f) * mul;
      if (b < 0x80) break;
      mul *= 0x80;
    }
    if (len > this.maxFrameBytes) {
      throw new TooLargeError(
        `frames: frame ${this.frames} at stream byte ${this.streamPos} declares ${len} bytes, over the limit of ${this.maxFrameBytes} bytes`,
      );
    }
    if (this.buffered < h + 4 + len) return undefined;
    const want = ((this.peek(h) << 24) | (this.peek(h + 1) << 16) | (this.peek(h + 2) << 8) | this.peek(h + 3)) >>> 0;
    this.consume(h + 4);
    const msg = this.take(len);
    const got = crc32c(msg);
    if (got !== want) {
      throw new CorruptionError(
        `frames: frame ${this.frames} at stream byte ${this.streamPos}: CRC32C mismatch (header ${hex(want)}, message ${hex(got)})`,
      );
    }
    this.streamPos += h + 4 + len;
    this.frames++;
    return msg;
  }

  /**
   * Declares the stream finished.
   *
   * @throws BadInputError if bytes of an incomplete frame remain.
   */
  end(): void {
    if (this.buffered > 0) {
      throw new BadInputError(
        `frames: stream ended inside frame ${this.frames} at stream byte ${this.streamPos} (${this.buffered} bytes left over)`,
      );
    }
  }

  private peek(i: number): number {
    let k = 0;
    i += this.off;
    while (i >= this.pieces[k]!.length) {
      i -= this.pieces[k]!.length;
      k++;
    }
    return this.pieces[k]![i]!;
  }

  private consume(n: number): void {
    this.buffered -= n;
    while (n > 0) {
      const first = this.pieces[0]!;
      const left = first.length - this.off;
      if (n < left) {
        this.off += n;
        return;
      }
      n -= left;
      this.pieces.shift();
      this.off = 0;
    }
  }

  private take(n: number): Uint8Array {
    const first = this.pieces[0];
    if (first === undefined || n === 0) return new Uint8Array(0);
    if (this.off + n <= first.length) {
      const v = first.subarray(this.off, this.off + n);
      this.consume(n);
      return v;
    }
    const out = new Uint8Array(n);
    let w = 0;
    while (w < n) {
      const p = this.pieces[0]!;
      const k = Math.min(n - w, p.length - this.off);
      out.set(p.subarray(this.off, this.off + k), w);
      w += k;
      this.consume(k);
    }
    return out;
  }
}

function hex(v: number): string {
  return '0x' + v.toString(16).padStart(8, '0');
}

/**
 * Yields the verified messages of a framed stream, e.g. an HTTP response
 * body. Errors as for {@link FrameReader.next} and {@link FrameReader.end}.
 */
export async function* readFrames(
  source: AsyncIterable<Uint8Array>,
  opts: FrameReaderOptions = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  const r = new FrameReader(opts);
  for await (const piece of source) {
    r.push(piece);
    for (let m = r.next(); m !== undefined; m = r.next()) yield m;
  }
  r.end();
}
