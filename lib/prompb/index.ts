/**
 * Public surface of the prompb codecs: remote-write 1.0, remote-read
 * (SAMPLES and STREAMED_XOR_CHUNKS), snappy and the chunked-read framing.
 * See README.md in this folder.
 */
export * from './types.ts';
export { decodeWriteRequest, encodeWriteRequest, utf8Decode } from './write-v1.ts';
export {
  DEFAULT_MAX_BYTES_IN_FRAME,
  decodeChunkedReadResponse,
  decodeReadRequest,
  decodeReadResponse,
  encodeChunkedReadResponse,
  encodeReadRequest,
  encodeReadResponse,
  encodedChunkSize,
  encodedChunkedReadResponseSize,
  encodedLabelsSize,
} from './read.ts';
export { snappyDecode, snappyDecodedLength, snappyEncode } from './snappy.ts';
export type { SnappyCodec } from './snappy.ts';
export { DEFAULT_MAX_FRAME_BYTES, FrameReader, encodeFrame, readFrames } from './frames.ts';
export type { FrameReaderOptions } from './frames.ts';
