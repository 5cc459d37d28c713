/**
 * End-to-end, with a real Prometheus (Debian's 2.42) as the oracle:
 *
 * 1. Prometheus A scrapes itself and a node_exporter every second and
 *    remote_writes to Stratus. Partway, node_exporter is stopped (its series
 *    go stale), then A's scrape jobs are removed (all series go stale), and
 *    A's queue is drained.
 * 2. For several matcher sets, Stratus' /api/v1/read equals A's own
 *    /api/v1/read over the same window: the same series and the same samples,
 *    bit for bit (stale markers included), in both response types. A's
 *    answers are decoded with protobufjs (an independent codec), Stratus'
 *    with ours.
 * 3. Prometheus B, with no data of its own and only `remote_read` pointed at
 *    Stratus, answers PromQL range queries exactly as A does.
 * 4. Stratus compacts everything (forced), and steps 2 and 3 run again.
 */
import { Compactor } from '../../lib/compact/compactor.ts';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  requireBinary,
  skipReason,
  startNodeExporter,
  startPrometheus,
  type ManagedProcess,
  type PrometheusProcess,
} from './harness/index.ts';
import { remoteReadChunks, remoteReadSamples, type OracleMatcher, type OracleQuery } from './harness/remote-oracle.ts';
import { remoteRead } from '../../lib/remote/client.ts';
import { MatcherType, ResponseType } from '../../lib/prompb/types.ts';
import { assertSameAnswer, fromOracleChunks, fromOracleSamples, fromOurs, remoteStorageMetric, StaleBits } from './harness/compare.ts';
import { makeStorage, startAwsEmulators, startStratus } from '../helpers/stratus.ts';
import { startStratusChild } from '../helpers/child.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A Stratus to test: its URL and how to stop it. */
interface Target {
  url: string;
  /** Compacts everything now (forced). */
  compact(): Promise<void>;
  close(): Promise<void>;
}

const targets: { name: string; start(): Promise<Target> }[] = [
  {
    name: 'local storage (filesystem + LevelDB)',
    async start() {
      const { storage, cleanup } = await makeStorage('local');
      const srv = await startStratus(storage);
      return {
        url: srv.url,
        compact: async () => {
          const run = await new Compactor(storage.tenant('anonymous').stores).run({ force: true });
          assert.ok(run.blocksWritten > 0, JSON.stringify(run));
        },
        close: async () => (await srv.close(), await cleanup()),
      };
    },
  },
  {
    name: 'stratus serve --storage=aws on s3rver + dynalite',
    async start() {
      const emu = await startAwsEmulators();
      const dir = await mkdtemp(join(tmpdir(), 'stratus-aws-'));
      const child = await startStratusChild(dir, ['--storage=aws', '--bucket=stratus-e2e', '--table=stratus-e2e', '--create-resources', '--web.enable-admin-api'], {
        AWS_ENDPOINT_URL_S3: emu.s3.endpoint,
        AWS_ENDPOINT_URL_DYNAMODB: emu.ddb.endpoint,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'S3RVER',
        AWS_SECRET_ACCESS_KEY: 'S3RVER',
      });
      return {
        url: child.url,
        compact: async () => {
          // Through the admin endpoint of the running server, as an operator would.
          const res = await fetch(`${child.url}/api/v1/admin/compact?force=true`, { method: 'POST' });
          const body = await res.text();
          assert.equal(res.status, 200, body);
          assert.match(body, /"blocksWritten":[1-9]/);
        },
        close: async () => {
          const code = await child.stop();
          await emu.stop();
          await rm(dir, { recursive: true, force: true });
          assert.equal(code, 0, `stratus exited with ${code}; log:\n${child.logs.join('\n')}`);
        },
      };
    },
  },
];

for (const target of targets) describe(`end to end against a real Prometheus: ${target.name}`, () => {
  it('remote_read equals Prometheus own answers; a remote_read-only Prometheus answers PromQL the same', { timeout: 240_000 }, async (t) => {
    if (!requireBinary('prometheus')) return t.skip(skipReason('prometheus'));
    if (!requireBinary('prometheus-node-exporter')) return t.skip(skipReason('prometheus-node-exporter'));

    let stratus: Target | undefined;
    let exporter: ManagedProcess | undefined;
    let a: PrometheusProcess | undefined;
    let b: PrometheusProcess | undefined;
    try {
      stratus = await target.start();
      exporter = await startNodeExporter();
      const writeCfg = [
        'remote_write:',
        `  - url: ${stratus.url}/api/v1/write`,
        '    queue_config: { batch_send_deadline: 1s, min_backoff: 100ms, max_backoff: 1s }',
        '',
      ].join('\n');
      const scrapeCfg = (port: number) =>
        [
          'global: { scrape_interval: 1s, evaluation_interval: 1s }',
          'scrape_configs:',
          '  - job_name: prometheus',
          `    static_configs: [{ targets: ['127.0.0.1:${port}'] }]`,
          '  - job_name: node',
          `    static_configs: [{ targets: ['127.0.0.1:${exporter!.port}'] }]`,
          writeCfg,
        ].join('\n');
      const startMs = Date.now();
      a = await startPrometheus({ configYaml: scrapeCfg });

      // Act: 20 s of scraping, node_exporter goes away (its series go
      // stale), 12 s more, then every scrape job is removed (everything goes
      // stale) and A's queue drains.
      await sleep(20_000);
      await exporter.stop();
      exporter = undefined;
      await sleep(12_000);
      await a.reload(['global: { scrape_interval: 1s }', writeCfg].join('\n'));
      await sleep(4_000);
      const drainDeadline = Date.now() + 30_000;
      for (;;) {
        const m = await (await fetch(`${a.url}/metrics`)).text();
        const pending = remoteStorageMetric(m, 'prometheus_remote_storage_samples_pending');
        const failed = remoteStorageMetric(m, 'prometheus_remote_storage_samples_failed_total');
        assert.equal(failed, 0, 'Stratus rejected samples Prometheus sent');
        if (pending === 0) break;
        assert.ok(Date.now() < drainDeadline, `queue did not drain: ${pending} pending`);
        await sleep(500);
      }
      await sleep(2_000); // a last batch in flight
      const endMs = Date.now();
      assert.ok(endMs - startMs >= 30_000);

      // Assess 1: remote_read answers, Stratus vs Prometheus, both types.
      const matcherSets: { name: string; ms: OracleMatcher[] }[] = [
        { name: 'exact', ms: [{ type: 'EQ', name: '__name__', value: 'up' }, { type: 'EQ', name: 'job', value: 'prometheus' }] },
        { name: 'regex', ms: [{ type: 'RE', name: '__name__', value: 'node_cpu_seconds_total|node_memory_.*|prometheus_http_requests_total' }] },
        { name: 'negative', ms: [{ type: 'RE', name: '__name__', value: 'go_.*' }, { type: 'NEQ', name: 'job', value: 'prometheus' }] },
        { name: 'negative regex', ms: [{ type: 'EQ', name: 'job', value: 'node' }, { type: 'NRE', name: '__name__', value: 'node_.*|go_.*' }] },
        { name: 'broad', ms: [{ type: 'RE', name: '__name__', value: '.+' }] },
      ];
      const windows = [
        { start: startMs - 60_000, end: endMs + 60_000 },
        { start: startMs + 10_000, end: startMs + 25_000 },
      ];
      const types = { EQ: MatcherType.EQ, NEQ: MatcherType.NEQ, RE: MatcherType.RE, NRE: MatcherType.NRE };
      const assessRead = async (phase: string): Promise<{ samples: number; stale: number }> => {
      let samples = 0;
      let stale = 0;
      for (const w of windows) {
        for (const set of matcherSets) {
          const q: OracleQuery = { start: w.start, end: w.end, matchers: set.ms };
          const ourQuery = { startTimestampMs: w.start, endTimestampMs: w.end, matchers: set.ms.map((m) => ({ type: types[m.type], name: m.name, value: m.value })) };
          const what = `${phase}: ${set.name} [${w.start - startMs}, ${w.end - startMs}]`;

          const theirSamples = fromOracleSamples((await remoteReadSamples(a!.url, [q]))[0]!);
          const ourSamples = fromOurs((await remoteRead(`${stratus!.url}/api/v1/read`, [ourQuery], ResponseType.SAMPLES)).results[0]!);
          samples += assertSameAnswer(ourSamples, theirSamples, `SAMPLES ${what}`, true);

          const theirChunks = fromOracleChunks((await remoteReadChunks(a!.url, [q])).series, w.start, w.end);
          const ourChunks = fromOurs((await remoteRead(`${stratus!.url}/api/v1/read`, [ourQuery], ResponseType.STREAMED_XOR_CHUNKS)).results[0]!);
          assertSameAnswer(ourChunks, theirChunks, `STREAMED_XOR_CHUNKS ${what}`, false);
          for (const list of theirChunks.values()) stale += list.filter((s) => s.endsWith(StaleBits)).length;
        }
      }
      return { samples, stale };
      };
      const { samples, stale } = await assessRead('before compaction');
      t.diagnostic(`compared ${samples} samples in SAMPLES mode; ${stale} stale markers seen in chunk answers`);
      assert.ok(samples > 20_000, `only ${samples} samples compared`);
      assert.ok(stale > 100, `only ${stale} stale markers: the staleness part of the test did not happen`);

      // Assess 2: a Prometheus reading only from Stratus answers PromQL the same.
      b = await startPrometheus({
        configYaml: ['global: { scrape_interval: 15s }', 'remote_read:', `  - url: ${stratus.url}/api/v1/read`, '    read_recent: true', ''].join('\n'),
      });
      const qs = [
        'up',
        'rate(prometheus_http_requests_total[5s])',
        'sum by (mode) (rate(node_cpu_seconds_total[5s]))',
        'node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes',
        'count by (job) ({__name__=~".+"})',
        'max_over_time(go_goroutines[10s])',
      ];
      const step = 1;
      const qStart = Math.ceil(startMs / 1000) + 3;
      const qEnd = Math.floor(endMs / 1000);
      const assessPromQL = async (phase: string): Promise<number> => {
      let points = 0;
      for (const expr of qs) {
        const url = (base: string) => `${base}/api/v1/query_range?query=${encodeURIComponent(expr)}&start=${qStart}&end=${qEnd}&step=${step}`;
        const ra = (await (await fetch(url(a!.url))).json()) as { status: string; data: { result: { metric: object; values: [number, string][] }[] } };
        const rb = (await (await fetch(url(b!.url))).json()) as typeof ra;
        assert.equal(ra.status, 'success', expr);
        assert.equal(rb.status, 'success', expr);
        const norm = (r: typeof ra) => r.data.result.map((s) => ({ m: JSON.stringify(s.metric), v: s.values })).sort((x, y) => (x.m < y.m ? -1 : 1));
        assert.deepEqual(norm(rb), norm(ra), `${phase}: PromQL ${expr}`);
        assert.ok(ra.data.result.length > 0, `${expr} returned data`);
        points += ra.data.result.reduce((n, s) => n + s.values.length, 0);
      }
      return points;
      };
      const points = await assessPromQL('before compaction');
      t.diagnostic(`PromQL: ${qs.length} range queries, ${points} points equal`);

      // Assess 3: the same after compacting everything into blocks.
      await stratus.compact();
      const after = await assessRead('after compaction');
      assert.ok(after.samples >= samples, `after compaction: ${after.samples} samples compared, before ${samples}`);
      const pointsAfter = await assessPromQL('after compaction');
      t.diagnostic(`after compaction: ${after.samples} samples and ${pointsAfter} PromQL points equal`);
    } finally {
      await b?.stop();
      await a?.stop();
      await exporter?.stop();
      await stratus?.close();
    }
  });
});
