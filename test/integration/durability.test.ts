/**
 * Durability (DESIGN invariant 3): the real server is killed with SIGKILL
 * in the middle of a stream of concurrent writes, several times; after each
 * restart on the same data directory, every request that got a 2xx is read
 * back in full.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { remoteRead, remoteWrite } from '../../lib/remote/client.ts';
import { MatcherType, ResponseType, type WriteSeries } from '../../lib/prompb/types.ts';
import { startStratusChild, type StratusChild } from '../helpers/child.ts';
import { startAwsEmulators } from '../helpers/stratus.ts';

const SeriesPerRequest = 20;
const SamplesPerSeries = 5;

/** Request r: 20 series x 5 samples at timestamps unique to r. */
function request(r: number): WriteSeries[] {
  return Array.from({ length: SeriesPerRequest }, (_, s) => ({
    labels: [
      { name: '__name__', value: 'durability_test' },
      { name: 'series', value: String(s) },
    ],
    timestamps: Float64Array.from({ length: SamplesPerSeries }, (_, k) => r * 100 + k),
    values: Float64Array.from({ length: SamplesPerSeries }, (_, k) => r + k / 10),
  }));
}

for (const kind of ['local', 'aws'] as const) describe(`durability (${kind} storage)`, () => {
  it('every acknowledged write survives kill -9, three times over', { timeout: 180_000 }, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'stratus-durability-'));
    // With aws, the S3 and DynamoDB emulators outlive the killed server.
    const emu = kind === 'aws' ? await startAwsEmulators() : undefined;
    const args = emu ? ['--storage=aws', `--bucket=${emu.bucket}`, `--table=${emu.table}`] : [];
    const env: Record<string, string> = emu
      ? { AWS_ENDPOINT_URL_S3: emu.s3.endpoint, AWS_ENDPOINT_URL_DYNAMODB: emu.ddb.endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' }
      : {};
    const acked = new Set<number>();
    let next = 0;
    let child: StratusChild | undefined;
    try {
      for (let round = 0; round < 3; round++) {
        child = await startStratusChild(dir, args, env);
        const url = child.url;
        const ackedAtStart = acked.size;
        let stop = false;
        const writers = Array.from({ length: 4 }, async () => {
          while (!stop) {
            const r = next++;
            try {
              await remoteWrite(`${url}/api/v1/write`, request(r));
              acked.add(r);
            } catch {
              // The server died under us: this request was not acknowledged.
              return;
            }
          }
        });
        // Kill at a different point in each round, while writes are in flight.
        await sleep(800 + round * 450);
        await child.kill();
        stop = true;
        await Promise.all(writers);
        assert.ok(acked.size > ackedAtStart, `round ${round}: no write was acknowledged before the kill`);

        // Restart and read everything back.
        child = await startStratusChild(dir, args, env);
        const res = await remoteRead(`${child.url}/api/v1/read`, [
          { startTimestampMs: 0, endTimestampMs: next * 100, matchers: [{ type: MatcherType.EQ, name: '__name__', value: 'durability_test' }] },
        ], ResponseType.SAMPLES);
        const got = new Map<string, Map<number, number>>();
        for (const s of res.results[0]!) {
          const id = s.labels.find((l) => l.name === 'series')!.value;
          const m = new Map<number, number>();
          for (let i = 0; i < s.timestamps.length; i++) m.set(s.timestamps[i]!, s.values[i]!);
          got.set(id, m);
        }
        let missing = 0;
        for (const r of acked) {
          for (let s = 0; s < SeriesPerRequest; s++) {
            for (let k = 0; k < SamplesPerSeries; k++) {
              if (got.get(String(s))?.get(r * 100 + k) !== r + k / 10) missing++;
            }
          }
        }
        assert.equal(missing, 0, `round ${round}: ${missing} acknowledged samples missing after kill -9 (${acked.size} requests acknowledged)`);
        t.diagnostic(`round ${round}: ${acked.size} acknowledged requests, all readable after kill -9`);
        await child.stop();
        child = undefined;
      }
      assert.ok(acked.size >= 30, `only ${acked.size} requests acknowledged in total`);
    } finally {
      await child?.kill();
      await emu?.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
