/**
 * A real Prometheus (2.42) writes through a storage outage: the object store
 * throttles, then the index store fails, then writes land but their answers
 * are lost. Prometheus must retry every batch (nothing counted as failed,
 * i.e. dropped) and, once storage recovers, Stratus must hold exactly what
 * Prometheus holds. This is the test that showed 429 to be unsafe as the
 * throttling answer: Prometheus 2.x drops batches answered 429.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { requireBinary, skipReason, startPrometheus, type PrometheusProcess } from './harness/index.ts';
import { remoteReadSamples } from './harness/remote-oracle.ts';
import { assertSameAnswer, fromOracleSamples, fromOurs, remoteStorageMetric } from './harness/compare.ts';
import { remoteRead } from '../../lib/remote/client.ts';
import { MatcherType, ResponseType } from '../../lib/prompb/types.ts';
import { Storage } from '../../lib/tsdb/db.ts';
import { MemBucket } from '../../lib/objstore/mem.ts';
import { MemKVStore } from '../../lib/kvstore/mem.ts';
import { faultyBucket } from '../../lib/objstore/faulty.ts';
import { faultyKVStore } from '../../lib/kvstore/faulty.ts';
import { BackendError, ThrottledError } from '../../lib/util/errors.ts';
import { startStratus, type RunningStratus } from '../helpers/stratus.ts';

type Mode = 'ok' | 'throttled' | 'index-down' | 'answers-lost';

describe('end to end: Prometheus writing through backend faults', () => {
  it('retries every batch and loses nothing', { timeout: 180_000 }, async (t) => {
    if (!requireBinary('prometheus')) return t.skip(skipReason('prometheus'));
    let mode: Mode = 'ok';
    const faults = { throttled: 0, indexDown: 0, answersLost: 0 };
    const bucket = faultyBucket(new MemBucket(), {
      failOn: (op) => {
        if (op !== 'put' || mode !== 'throttled') return undefined;
        faults.throttled++;
        return new ThrottledError('SlowDown (injected)');
      },
      // The object is stored, but its answer never arrives.
      failAfter: (op) => {
        if (op !== 'put' || mode !== 'answers-lost') return undefined;
        faults.answersLost++;
        return new BackendError('connection reset (injected)');
      },
    });
    const kv = faultyKVStore(new MemKVStore(), {
      failOn: (op, pk) => {
        if (op !== 'batchPut' || mode !== 'index-down' || !pk.endsWith('catalog')) return undefined;
        faults.indexDown++;
        return new BackendError('InternalServerError (injected)');
      },
    });
    let stratus: RunningStratus | undefined;
    let prom: PrometheusProcess | undefined;
    try {
      stratus = await startStratus(new Storage({ bucket, kv }));
      const url = stratus.url;
      const startMs = Date.now();
      prom = await startPrometheus({
        configYaml: (port) =>
          [
            'global: { scrape_interval: 1s }',
            'scrape_configs:',
            '  - job_name: prometheus',
            `    static_configs: [{ targets: ['127.0.0.1:${port}'] }]`,
            'remote_write:',
            `  - url: ${url}/api/v1/write`,
            '    queue_config: { batch_send_deadline: 1s, min_backoff: 100ms, max_backoff: 1s }',
            '',
          ].join('\n'),
      });

      // Act: 5 s fine, then 5 s of each fault, then fine again.
      await sleep(5_000);
      for (const m of ['throttled', 'index-down', 'answers-lost'] as Mode[]) {
        mode = m;
        await sleep(5_000);
      }
      mode = 'ok';
      const cutoff = Date.now();
      // Wait until everything up to the cutoff has been delivered.
      const deadline = Date.now() + 60_000;
      for (;;) {
        const m = await (await fetch(`${prom.url}/metrics`)).text();
        const sent = remoteStorageMetric(m, 'prometheus_remote_storage_queue_highest_sent_timestamp_seconds');
        if (sent * 1000 > cutoff + 2_000 && remoteStorageMetric(m, 'prometheus_remote_storage_samples_pending') === 0) break;
        assert.ok(Date.now() < deadline, 'Prometheus did not catch up after the faults');
        await sleep(500);
      }

      // Assess: Prometheus dropped nothing and retried; Stratus has it all.
      const metrics = await (await fetch(`${prom.url}/metrics`)).text();
      const failed = remoteStorageMetric(metrics, 'prometheus_remote_storage_samples_failed_total');
      const retried = remoteStorageMetric(metrics, 'prometheus_remote_storage_samples_retried_total');
      t.diagnostic(`faults injected: ${JSON.stringify(faults)}; Prometheus retried ${retried} samples, failed ${failed}`);
      assert.ok(faults.throttled > 0 && faults.indexDown > 0 && faults.answersLost > 0, 'every kind of fault happened');
      assert.equal(failed, 0, 'Prometheus dropped samples');
      assert.ok(retried > 0, 'Prometheus retried');

      const window = { start: startMs - 10_000, end: cutoff };
      const matchers = [{ type: 'EQ' as const, name: 'job', value: 'prometheus' }];
      const theirs = fromOracleSamples((await remoteReadSamples(prom.url, [{ ...window, matchers }]))[0]!);
      const ours = fromOurs(
        (await remoteRead(`${url}/api/v1/read`, [{ startTimestampMs: window.start, endTimestampMs: window.end, matchers: [{ type: MatcherType.EQ, name: 'job', value: 'prometheus' }] }], ResponseType.SAMPLES)).results[0]!,
      );
      const n = assertSameAnswer(ours, theirs, 'after the outage', true);
      assert.ok(n > 5_000, `only ${n} samples compared`);
      t.diagnostic(`${n} samples equal after the outage`);
    } finally {
      await prom?.stop();
      await stratus?.close();
    }
  });
});
