import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { Counter } from 'prom-client';
import { createHttpMetrics, createMetricsRegistry, HTTP_DURATION_BUCKETS } from '../../../lib/server/metrics.ts';
import { waitForShutdownSignal } from '../../../lib/server/signals.ts';

describe('metrics', () => {
  it('gives each registry its own metrics, with the process metrics by default', async () => {
    // Prepare
    const a = createMetricsRegistry();
    const b = createMetricsRegistry({ defaultMetrics: false });
    // Act
    createHttpMetrics(a).requestsTotal.inc({ handler: 'x', code: '200' });
    createHttpMetrics(b);
    // Assess
    const textA = await a.metrics();
    const textB = await b.metrics();
    assert.match(textA, /^process_cpu_user_seconds_total /m);
    assert.match(textA, /^stratus_http_requests_total\{handler="x",code="200"\} 1$/m);
    assert.doesNotMatch(textB, /process_cpu/);
    assert.doesNotMatch(textB, /handler="x"/);
  });

  it('returns the existing HTTP metrics when called twice on one registry', () => {
    const reg = createMetricsRegistry({ defaultMetrics: false });
    const first = createHttpMetrics(reg);
    const second = createHttpMetrics(reg);
    assert.equal(second.requestsTotal, first.requestsTotal);
    assert.equal(second.requestDuration, first.requestDuration);
    assert.equal(second.inFlight, first.inFlight);
  });

  it('lets other modules register their own metrics on the registry', async () => {
    const reg = createMetricsRegistry({ defaultMetrics: false });
    new Counter({ name: 'stratus_samples_received_total', help: 'h', registers: [reg] }).inc(5);
    assert.match(await reg.metrics(), /^stratus_samples_received_total 5$/m);
  });

  it('uses duration buckets from 5 ms to 60 s, ascending', () => {
    assert.equal(HTTP_DURATION_BUCKETS[0], 0.005);
    assert.equal(HTTP_DURATION_BUCKETS.at(-1), 60);
    for (let i = 1; i < HTTP_DURATION_BUCKETS.length; i++) assert.ok(HTTP_DURATION_BUCKETS[i]! > HTTP_DURATION_BUCKETS[i - 1]!);
  });
});

describe('waitForShutdownSignal', () => {
  it('resolves on the first signal, forces on the second, and stops listening once disposed', async () => {
    // Prepare
    const source = new EventEmitter();
    const forced: string[] = [];
    const sig = waitForShutdownSignal({ source, force: (s) => forced.push(s) });
    assert.equal(source.listenerCount('SIGTERM'), 1);
    assert.equal(source.listenerCount('SIGINT'), 1);
    // Act
    source.emit('SIGINT', 'SIGINT');
    // Assess
    assert.equal(await sig.received, 'SIGINT');
    assert.deepEqual(forced, []);
    source.emit('SIGTERM', 'SIGTERM');
    assert.deepEqual(forced, ['SIGTERM']);
    sig.dispose();
    assert.equal(source.listenerCount('SIGTERM'), 0);
    assert.equal(source.listenerCount('SIGINT'), 0);
  });

  it('listens only to the signals it is given', () => {
    const source = new EventEmitter();
    const sig = waitForShutdownSignal({ source, signals: ['SIGHUP'], force: () => {} });
    assert.equal(source.listenerCount('SIGHUP'), 1);
    assert.equal(source.listenerCount('SIGTERM'), 0);
    sig.dispose();
  });
});
