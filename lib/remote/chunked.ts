/**
 * Packs one series' chunks into STREAMED_XOR_CHUNKS frames the way
 * Prometheus does (storage/remote/read_handler.go): one series per frame,
 * chunks added while the frame stays within the byte limit, then a new frame
 * with the same labels. Sizes are exact, so no frame exceeds the limit
 * unless a single chunk alone does (then that chunk gets a frame of its own,
 * as in Prometheus).
 */
import { encodeFrame } from '../prompb/frames.ts';
import { encodeChunkedReadResponse, encodedChunkedReadResponseSize, encodedChunkSize, encodedLabelsSize } from '../prompb/read.ts';
import type { Label, ReadChunk } from '../prompb/types.ts';
import { uvarintSize } from '../util/varint.ts';

/** Bytes a frame adds around its message: length uvarint + CRC32C. */
function frameSize(msgBytes: number): number {
  return uvarintSize(msgBytes) + 4 + msgBytes;
}

/** The frames (uvarint length + CRC32C + message) of one series. */
export function* seriesFrames(labels: readonly Label[], chunks: readonly ReadChunk[], queryIndex: number, maxBytesInFrame: number): Generator<Uint8Array> {
  const labelBytes = encodedLabelsSize(labels);
  let batch: ReadChunk[] = [];
  let body = labelBytes;
  for (const c of chunks) {
    const cs = encodedChunkSize(c);
    if (batch.length > 0 && frameSize(encodedChunkedReadResponseSize(body + cs, queryIndex)) > maxBytesInFrame) {
      yield encodeFrame(encodeChunkedReadResponse({ chunkedSeries: [{ labels, chunks: batch }], queryIndex }));
      batch = [];
      body = labelBytes;
    }
    batch.push(c);
    body += cs;
  }
  if (batch.length > 0) yield encodeFrame(encodeChunkedReadResponse({ chunkedSeries: [{ labels, chunks: batch }], queryIndex }));
}
