/**
 * The remote-write pipeline without HTTP, for finding where ingest CPU
 * goes: `node --import tsx bench/ingest-inproc.ts [flags]`.
 *
 * Loads the `bench:ingest` payloads (default 10k series x 240 rounds, 2000
 * samples per request, 4 shards), builds the storage `stratus serve` builds
 * (`--store local`: filesystem + LevelDB in a temp folder, with the cost
 * metering decorators as the server has them; `--store mem`: in-memory
 * stores; `--store null`: in-memory index, segment bytes thrown away, i.e.
 * main-thread work without a growing heap) and calls the write handler directly,
 * one sender per shard each awaiting its requests in order, as the replay
 * does. Prints CPU seconds per million samples of this whole process (all
 * threads, /proc) and of the main thread, and checks every answer is 204.
 *
 * Flags: --store local|mem|null, --series N, --rounds N, --runs N,
 * --alloc-prof FILE (sample every allocation site of the runs, freed
 * objects included, and write the top sites to FILE). For a CPU profile,
 * run this script under `node --cpu-prof`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Registry } from 'prom-client';
import { DEFAULT_PARAMS, loadOrGenerate } from './lib/payloads.ts';
import { processCpu, clockTicksPerSecond } from './lib/proc.ts';
import { REPO_ROOT } from './lib/server.ts';
import { openLocalStorage } from '../lib/server/app.ts';
import { Storage } from '../lib/tsdb/db.ts';
import { MemBucket } from '../lib/objstore/mem.ts';
import type { Bucket } from '../lib/objstore/bucket.ts';
import { MemKVStore } from '../lib/kvstore/mem.ts';
import { newRemoteMetrics } from '../lib/remote/metrics.ts';
import { newWriteHandler } from '../lib/remote/write-handler.ts';
import { meterStores, TenantCostMetrics } from '../lib/cost/index.ts';
import { createLogger } from '../lib/util/logger.ts';

/** A bucket whose puts succeed and keep nothing (reads find nothing). */
function discardingBucket(): Bucket {
  const inner = new MemBucket();
  return { ...bindAll(inner), put: async () => {} };
}

function bindAll(b: MemBucket): Bucket {
  return {
    get: (k) => b.get(k),
    getRange: (k, o, l) => b.getRange(k, o, l),
    head: (k) => b.head(k),
    exists: (k) => b.exists(k),
    iter: (p) => b.iter(p),
    isNotFound: (e) => b.isNotFound(e),
    put: (k, d) => b.put(k, d),
    delete: (k) => b.delete(k),
    close: () => b.close(),
  };
}

const { values } = parseArgs({
  options: {
    store: { type: 'string', default: 'local' },
    series: { type: 'string' },
    rounds: { type: 'string' },
    runs: { type: 'string', default: '3' },
    'alloc-prof': { type: 'string' },
  },
});

function mainThreadCpu(): number {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / clockTicksPerSecond();
}

/** CPU seconds per live thread of this process, with its name. */
function threadCpu(): Map<number, { name: string; cpu: number }> {
  const out = new Map<number, { name: string; cpu: number }>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(tid), { name, cpu: (Number(f[11]) + Number(f[12])) / clockTicksPerSecond() });
    } catch {
      // the thread exited
    }
  }
  return out;
}

const params = { ...DEFAULT_PARAMS, ...(values.series ? { series: Number(values.series) } : {}), ...(values.rounds ? { rounds: Number(values.rounds) } : {}) };
const payloads = await loadOrGenerate(join(REPO_ROOT, 'bench', 'payloads'), params, (m) => process.stderr.write(m + '\n'));
const { index, bodies } = payloads;
const byShard: number[][] = Array.from({ length: params.shards }, () => []);
index.shardOfRequest.forEach((s, i) => byShard[s]!.push(i));

const session = values['alloc-prof'] === undefined ? undefined : new Session();
if (session !== undefined) {
  session.connect();
  await post('HeapProfiler.enable');
  await post('HeapProfiler.startSampling', { samplingInterval: 16384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
}

function post(method: string, params?: object): Promise<unknown> {
  return new Promise((resolve, reject) => session!.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res))));
}

const perRun: number[] = [];
const mainPerRun: number[] = [];
for (let run = 1; run <= Number(values.runs); run++) {
  const dir = await mkdtemp(join(tmpdir(), 'stratus-inproc-'));
  const registry = new Registry();
  const storage =
    values.store === 'mem'
      ? new Storage({ bucket: new MemBucket(), kv: new MemKVStore() })
      : values.store === 'null'
        ? new Storage({ bucket: discardingBucket(), kv: new MemKVStore() })
        : await openLocalStorage(join(dir, 'data'), (s) => meterStores(s, new TenantCostMetrics(registry)));
  const handler = newWriteHandler({ storage, metrics: newRemoteMetrics(registry), logger: createLogger({ level: 'error' }) });
  const headers = { 'content-encoding': 'snappy', 'content-type': 'application/x-protobuf', 'x-prometheus-remote-write-version': '0.1.0' };
  let bad = 0;
  const threads0 = threadCpu();
  const c0 = processCpu(process.pid);
  const m0 = mainThreadCpu();
  const t0 = performance.now();
  await Promise.all(
    byShard.map(async (reqs) => {
      for (const i of reqs) {
        const res = await handler({ method: 'POST', path: '/api/v1/write', headers, body: bodies[i]!, query: new URLSearchParams() } as never);
        if (res.status !== 204) {
          if (bad++ === 0) console.error('failed:', res.status, res.body === undefined ? '' : Buffer.from(res.body as Uint8Array).toString());
        }
      }
    }),
  );
  const wall = (performance.now() - t0) / 1000;
  const c1 = processCpu(process.pid);
  const m1 = mainThreadCpu();
  const cpu = c1.user - c0.user + (c1.system - c0.system);
  const M = index.samples / 1e6;
  perRun.push(cpu / M);
  mainPerRun.push((m1 - m0) / M);
  console.log(
    `run ${run} (${values.store}): ${(cpu / M).toFixed(2)} CPU-s/M all threads (user ${((c1.user - c0.user) / M).toFixed(2)}, sys ${((c1.system - c0.system) / M).toFixed(2)}), main thread ${((m1 - m0) / M).toFixed(2)}, wall ${wall.toFixed(2)} s, failed ${bad}`,
  );
  const threads = threadCpu();
  const lines: string[] = [];
  for (const [tid, { name, cpu: c }] of threads) {
    const d = c - (threads0.get(tid)?.cpu ?? 0);
    if (d > 0.01) lines.push(`${name}[${tid === process.pid ? 'main' : tid}] ${d.toFixed(2)} s`);
  }
  console.log(`  threads: ${lines.join(', ')}`);
  if (values.store === 'local') {
    const segs = readdirSync(join(dir, 'data', 'objects', 'tenants', 'anonymous', 'segments')).length;
    console.log(`  ${bodies.length} requests in ${segs} segments (${(bodies.length / segs).toFixed(2)} requests per segment)`);
  }
  await storage.close();
  await rm(dir, { recursive: true, force: true });
}

const sorted = (a: number[]) => [...a].sort((x, y) => x - y);
console.log(
  `min / median over ${perRun.length} run(s): ${sorted(perRun)[0]!.toFixed(2)} / ${sorted(perRun)[perRun.length >> 1]!.toFixed(2)} CPU-s/M all threads, ` +
    `main thread ${sorted(mainPerRun)[0]!.toFixed(2)} / ${sorted(mainPerRun)[mainPerRun.length >> 1]!.toFixed(2)}`,
);

if (session !== undefined) {
  interface Node {
    callFrame: { functionName: string; url: string; lineNumber: number };
    selfSize: number;
    children: Node[];
  }
  const { profile } = (await post('HeapProfiler.stopSampling')) as { profile: { head: Node } };
  const by = new Map<string, number>();
  const walk = (n: Node, parent: string): void => {
    const cf = n.callFrame;
    const site = `${cf.functionName || '(anonymous)'} ${cf.url.replace(/^.*\/(lib|bench|node_modules)\//, '$1/')}:${cf.lineNumber + 1} <- ${parent}`;
    by.set(site, (by.get(site) ?? 0) + n.selfSize);
    for (const c of n.children) walk(c, `${cf.functionName || '(anonymous)'}`);
  };
  walk(profile.head, '');
  const total = [...by.values()].reduce((a, b) => a + b, 0);
  const lines = [`allocated ${(total / 2 ** 20).toFixed(0)} MiB (sampled) over ${values.runs} run(s)`];
  for (const [k, v] of [...by].sort((a, b) => b[1] - a[1]).slice(0, 40)) lines.push(`${(v / 2 ** 20).toFixed(1).padStart(8)} MiB  ${k}`);
  writeFileSync(values['alloc-prof']!, lines.join('\n') + '\n');
  session.disconnect();
}
