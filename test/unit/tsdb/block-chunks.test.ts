/**
 * remote_read answers from compacted blocks: the XOR chunks of series that
 * a query covers whole are kept in the page cache (lib/tsdb/series-chunks.ts).
 * Checks that answers are byte-identical whether the chunks come from the
 * cache, are encoded afresh (another process, or a cache too small to keep
 * them), and that writes made after the chunks were cached, by this or
 * another process, are in the very next answer (the catalog and label
 * index are read per query; only immutable block data is cached).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { Compactor } from '../../../lib/compact/compactor.ts';
import { UlidFactory } from '../../../lib/tsdb/ulid.ts';
import { Storage } from '../../../lib/tsdb/db.ts';
import { MemBucket } from '../../../lib/objstore/mem.ts';
import { MemKVStore } from '../../../lib/kvstore/mem.ts';
import { ContentTypeSamples, newReadHandler } from '../../../lib/remote/read-handler.ts';
import { newRemoteMetrics } from '../../../lib/remote/metrics.ts';
import { createLogger } from '../../../lib/util/logger.ts';
import { decodeChunkedReadResponse, decodeReadResponse, encodeReadRequest } from '../../../lib/prompb/read.ts';
import { readFrames } from '../../../lib/prompb/frames.ts';
import { snappyDecode, snappyEncode } from '../../../lib/prompb/snappy.ts';
import { MatcherType, ResponseType } from '../../../lib/prompb/types.ts';
import { XORChunk } from '../../../lib/chunkenc/xor.ts';
import { labelsToString } from '../../../lib/labels/labels.ts';
import { Clock, D0, Hour, MaxT, Minute, Model, assertReadsModel, dataset, hexBits, readRanges, storesOn, writeRequests } from '../compact/helpers.ts';

type Handler = ReturnType<typeof newReadHandler>;

function handlerOf(storage: Storage): Handler {
  return newReadHandler({ storage, metrics: newRemoteMetrics(), logger: createLogger({ level: 'error' }) });
}

/** The answer body of one remote_read request (streams drained), and its samples as model lines. */
async function read(h: Handler, tenant: string, mint: number, maxt: number, type: number): Promise<{ body: Buffer; lines: string[] }> {
  const res = await h({
    method: 'POST',
    path: '/api/v1/read',
    query: new URLSearchParams(),
    headers: { 'content-encoding': 'snappy', 'x-scope-orgid': tenant },
    body: snappyEncode(
      encodeReadRequest({
        queries: [{ startTimestampMs: mint, endTimestampMs: maxt, matchers: [{ type: MatcherType.RE, name: '__name__', value: '.+' }] }],
        acceptedResponseTypes: [type],
      }),
    ),
  });
  assert.equal(res.status, 200, String(res.body));
  const lines: string[] = [];
  const f = new Float64Array(1);
  if (res.headers?.['content-type'] === ContentTypeSamples) {
    assert.ok(res.body instanceof Uint8Array);
    const rr = decodeReadResponse(snappyDecode(res.body, 1 << 30));
    for (const s of rr.results[0]!.timeseries) {
      for (let i = 0; i < s.timestamps.length; i++) {
        f[0] = s.values[i]!;
        lines.push(`${labelsToString(s.labels)} ${s.timestamps[i]} ${hexBits(f[0]!)}`);
      }
    }
    return { body: Buffer.from(res.body), lines };
  }
  const pieces: Buffer[] = [];
  // A streamed answer that fits one piece comes as bytes (read-handler.ts, startStream).
  if (res.body instanceof Uint8Array) pieces.push(Buffer.from(res.body));
  else for await (const p of res.body as AsyncIterable<Uint8Array>) pieces.push(Buffer.from(p));
  const body = Buffer.concat(pieces);
  async function* once(): AsyncIterable<Uint8Array> {
    yield body;
  }
  for await (const msg of readFrames(once())) {
    for (const s of decodeChunkedReadResponse(msg.slice()).chunkedSeries) {
      for (const c of s.chunks) {
        const it = XORChunk.fromBytes(c.data).iterator();
        while (it.next()) {
          f[0] = it.atV();
          lines.push(`${labelsToString(s.labels)} ${it.atT()} ${hexBits(f[0]!)}`);
        }
        assert.equal(it.err(), null);
      }
    }
  }
  return { body, lines };
}

describe('remote_read of blocks with cached XOR chunks', () => {
  it('answers byte-identically from the cache, afresh, and with a tiny cache, and sees every later write', async () => {
    // Prepare: one tenant's data compacted into blocks; three storages on the same stores
    // (this process, another process, a process with a cache too small for anything).
    const bucket = new MemBucket();
    const kv = new MemKVStore();
    const main = new Storage({ bucket, kv });
    const other = new Storage({ bucket, kv });
    const tiny = new Storage({ bucket, kv, pageCacheBytes: 64 });
    const clock = new Clock(D0 + 40 * Hour);
    const ulids = new UlidFactory(clock.now);
    const model = new Model();
    const db = main.tenant('t1');
    const { series, requests } = dataset();
    await writeRequests(db, requests, model);
    await new Compactor(storesOn(db, ulids), { now: clock.now, quality: 4, deleteGraceMs: 0 }).run({ force: true });
    const [h, ho, ht] = [main, other, tiny].map(handlerOf) as [Handler, Handler, Handler];
    const ranges: [number, number][] = [...readRanges(), [D0 - 4 * Hour, D0 + 30 * Hour]];

    for (const [mint, maxt] of ranges) {
      // Act
      const first = await read(h, 't1', mint, maxt, ResponseType.STREAMED_XOR_CHUNKS);
      const again = await read(h, 't1', mint, maxt, ResponseType.STREAMED_XOR_CHUNKS);
      const fresh = await read(ho, 't1', mint, maxt, ResponseType.STREAMED_XOR_CHUNKS);
      const small = await read(ht, 't1', mint, maxt, ResponseType.STREAMED_XOR_CHUNKS);
      const samples = await read(h, 't1', mint, maxt, ResponseType.SAMPLES);
      // Assess
      const what = `[${mint}, ${maxt}]`;
      assert.deepEqual(first.lines, model.lines(mint, maxt), `${what}: chunks hold the model's samples`);
      assert.deepEqual(samples.lines, model.lines(mint, maxt), `${what}: SAMPLES hold the model's samples`);
      assert.ok(again.body.equals(first.body), `${what}: a cached answer is the same bytes`);
      assert.ok(fresh.body.equals(first.body), `${what}: another process' answer is the same bytes`);
      assert.ok(small.body.equals(first.body), `${what}: an answer without cached chunks is the same bytes`);
    }

    // Act 2: another process rewrites samples the cache holds, and adds new ones.
    const late: [number, number][] = [
      [D0 + 2 * Hour + 10 * Minute, 777],
      [D0 + 2 * Hour + 11 * Minute, 778],
    ];
    const app = other.tenant('t1').appender();
    for (const [t, v] of late) {
      app.append(series[0]!, t, v);
      model.apply(labelsToString(series[0]!.labels), t, v);
    }
    await app.commit();

    // Assess 2: this process' very next reads hold them, through both response types and both queriers.
    for (const [mint, maxt] of ranges) {
      const chunks = await read(h, 't1', mint, maxt, ResponseType.STREAMED_XOR_CHUNKS);
      const samples = await read(h, 't1', mint, maxt, ResponseType.SAMPLES);
      assert.deepEqual(chunks.lines, model.lines(mint, maxt), `after the late write, chunks [${mint}, ${maxt}]`);
      assert.deepEqual(samples.lines, model.lines(mint, maxt), `after the late write, samples [${mint}, ${maxt}]`);
    }
    await assertReadsModel(db, model, 'after the late write');

    // Act 3: compacting again replaces the block; cached chunks of the old one must not be read.
    clock.t += 2 * Hour;
    await new Compactor(storesOn(db, ulids), { now: clock.now, quality: 4, deleteGraceMs: 0 }).run({ force: true });
    const all = await read(h, 't1', -MaxT, MaxT, ResponseType.STREAMED_XOR_CHUNKS);
    assert.deepEqual(all.lines, model.lines(-MaxT, MaxT), 'after compacting the late write');
    assert.ok((await read(ho, 't1', -MaxT, MaxT, ResponseType.STREAMED_XOR_CHUNKS)).body.equals(all.body));
  });
});
