/**
 * Child process of batched-select.test.ts ("reads ... within a small
 * heap"): writes `segments` uncompacted segments of `series` one-sample
 * chunks each into memory stores, then reads everything back with one
 * STREAMED_XOR_CHUNKS remote read through the real handler, and prints
 * `samples <n> checksum <x>` of what it decoded. The parent runs it with a
 * small --max-old-space-size: a read that holds an object per stored chunk
 * runs out of heap, one that holds a batch at a time does not.
 *
 * Usage: node --import tsx --max-old-space-size=MB batched-select-heap-child.ts SEGMENTS SERIES T0_MS
 */
import { Storage, newSeriesEntry } from '../../../lib/tsdb/db.ts';
import { MemBucket } from '../../../lib/objstore/mem.ts';
import { MemKVStore } from '../../../lib/kvstore/mem.ts';
import { labelsFromPairs } from '../../../lib/labels/labels.ts';
import { newReadHandler } from '../../../lib/remote/read-handler.ts';
import { newRemoteMetrics } from '../../../lib/remote/metrics.ts';
import { createLogger } from '../../../lib/util/logger.ts';
import { decodeChunkedReadResponse, encodeReadRequest } from '../../../lib/prompb/read.ts';
import { readFrames } from '../../../lib/prompb/frames.ts';
import { snappyEncode } from '../../../lib/prompb/snappy.ts';
import { MatcherType, ResponseType } from '../../../lib/prompb/types.ts';
import { XORChunk } from '../../../lib/chunkenc/xor.ts';

const [segments, numSeries, T0] = process.argv.slice(2).map(Number) as [number, number, number];

const storage = new Storage({ bucket: new MemBucket(), kv: new MemKVStore() });
const db = storage.tenant('anonymous');
const series = Array.from({ length: numSeries }, (_, i) => newSeriesEntry(labelsFromPairs({ __name__: `m${i % 7}`, job: 'node', i: String(i) })));
for (let s = 0; s < segments; s++) {
  // One sample per series per request, as a scrape-driven remote write sends them.
  const app = db.appender({ series: numSeries, samples: numSeries });
  for (let i = 0; i < numSeries; i++) app.append(series[i]!, T0 + s * 15_000 + i, s * 0.5 + i);
  await app.commit();
}

const handler = newReadHandler({ storage, metrics: newRemoteMetrics(), logger: createLogger({ level: 'error' }) });
const res = await handler({
  method: 'POST',
  path: '/api/v1/read',
  query: new URLSearchParams(),
  headers: { 'content-encoding': 'snappy' },
  body: snappyEncode(
    encodeReadRequest({
      queries: [{ startTimestampMs: T0, endTimestampMs: T0 + segments * 15_000, matchers: [{ type: MatcherType.EQ, name: 'job', value: 'node' }] }],
      acceptedResponseTypes: [ResponseType.STREAMED_XOR_CHUNKS],
    }),
  ),
});
if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${String(res.body)}`);
let samples = 0;
let checksum = 0;
// Frames are decoded as they arrive and dropped: the reader holds nothing.
// A streamed answer that fits one piece comes as bytes (read-handler.ts, startStream).
const body = res.body instanceof Uint8Array ? (async function* (b: Uint8Array) { yield b; })(res.body) : (res.body as AsyncIterable<Uint8Array>);
for await (const msg of readFrames(body)) {
  for (const s of decodeChunkedReadResponse(msg.slice()).chunkedSeries) {
    for (const c of s.chunks) {
      const it = XORChunk.fromBytes(c.data).iterator();
      while (it.next()) {
        samples++;
        checksum = (checksum * 31 + it.atT() + it.atV() * 7) % 1_000_000_007;
      }
      const e = it.err();
      if (e !== null) throw e;
    }
  }
}
console.log(`samples ${samples} checksum ${checksum}`);
