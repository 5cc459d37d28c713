/**
 * `stratus serve --storage=aws` lets concurrent remote_write requests of a
 * tenant share a segment (lib/tsdb/group-commit.ts), on real S3- and
 * DynamoDB-compatible servers (s3rver, dynalite): fewer segment objects
 * than requests, and every acknowledged sample comes back bit for bit from
 * the very next remote_read, in both response types (invariant 1).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { remoteRead, remoteWrite } from '../../lib/remote/client.ts';
import { MatcherType, ResponseType, type WriteSeries } from '../../lib/prompb/types.ts';
import { makeStorage, startStratus } from '../helpers/stratus.ts';

const Senders = 4;
const RequestsPerSender = 6;
const SeriesPerSender = 5;
const SamplesPerRequest = 20;
const Base = 1_700_000_000_000;

/** Request `r` of sender `s`: its own series, samples after the sender's previous request. */
function request(s: number, r: number): WriteSeries[] {
  return Array.from({ length: SeriesPerSender }, (_, k) => {
    const timestamps = new Float64Array(SamplesPerRequest);
    const values = new Float64Array(SamplesPerRequest);
    for (let i = 0; i < SamplesPerRequest; i++) {
      timestamps[i] = Base + (r * SamplesPerRequest + i) * 15_000;
      values[i] = s * 1e6 + k * 1e3 + r * SamplesPerRequest + i + 0.25;
    }
    return { labels: [{ name: '__name__', value: 'gc_test' }, { name: 'sender', value: String(s) }, { name: 'k', value: String(k) }], timestamps, values };
  });
}

describe('group commit in AWS mode (s3rver + dynalite)', () => {
  it('shares segments between concurrent requests and acknowledges only what the next read returns', async () => {
    // Prepare: the storage serve builds in AWS mode.
    const { storage, cleanup } = await makeStorage('aws');
    const srv = await startStratus(storage);
    try {
      // Act: 4 senders, each sending its requests in order, as remote_write shards do.
      await Promise.all(
        Array.from({ length: Senders }, async (_, s) => {
          for (let r = 0; r < RequestsPerSender; r++) await remoteWrite(`${srv.url}/api/v1/write`, request(s, r));
        }),
      );

      // Assess: fewer segments than requests, all samples back in both response types.
      const entries = await storage.tenant('anonymous').stores.catalog.all();
      const segments = entries.filter((e) => e.entry.kind === 'segment').length;
      const requests = Senders * RequestsPerSender;
      assert.ok(segments >= 1 && segments < requests, `${segments} segments for ${requests} concurrent requests`);
      const q = { startTimestampMs: Base, endTimestampMs: Base + 86_400_000, matchers: [{ type: MatcherType.EQ, name: '__name__', value: 'gc_test' }] };
      for (const type of [ResponseType.SAMPLES, ResponseType.STREAMED_XOR_CHUNKS]) {
        const got = (await remoteRead(`${srv.url}/api/v1/read`, [q], type)).results[0]!;
        assert.equal(got.length, Senders * SeriesPerSender, `series (response type ${type})`);
        for (const series of got) {
          const s = Number(series.labels.find((l) => l.name === 'sender')!.value);
          const k = Number(series.labels.find((l) => l.name === 'k')!.value);
          const want = Array.from({ length: RequestsPerSender }, (_, r) => request(s, r)[k]!);
          assert.deepEqual(Array.from(series.timestamps), want.flatMap((w) => Array.from(w.timestamps)), `timestamps of sender ${s} series ${k}`);
          assert.deepEqual(Array.from(series.values), want.flatMap((w) => Array.from(w.values)), `values of sender ${s} series ${k}`);
        }
      }
    } finally {
      await srv.close();
      await cleanup();
    }
  });
});
