/**
 * `npm run bench:cost`: what Stratus costs on AWS, from the requests the
 * code really makes.
 *
 * For each batch size (samples per remote_write request; default 2000 and
 * 500), on fresh S3 and DynamoDB emulators (s3rver in a child process,
 * dynalite in-process; test/helpers/stratus.ts):
 * 1. replays the benchmark payload (10k series x 240 rounds at 15 s,
 *    bench/lib/payloads.ts) one request at a time through the write
 *    function's Lambda handler (functions/remote-write.ts, wired by
 *    functions/deps.ts as in Lambda: Function URL events, metering, cost
 *    lines) over S3Bucket + DynamoKVStore, metered per tenant and operation
 *    (lib/cost/metered.ts) and cross-checked against the backends' own
 *    request counters; the handler's log lines and EMF cost lines are
 *    counted in bytes, the cost lines' clock following the payload's time;
 * 2. compacts as a deployment does: while ingesting, every 5 minutes of
 *    the payload's time (`--schedule`, the stack's default rate), a
 *    scheduled run (not forced, default levels, settle times and delete
 *    grace, downsampling on) on the payload's clock; then one forced run
 *    with delete grace 0 nine days later, so replaced objects are deleted,
 *    the rest of the hour reaches the 2 h and 1 d levels and the week is
 *    sealed. Every run's requests are compaction's;
 * 3. sends a few remote_reads (1, 100, 1000 series over the hour);
 * 4. measures what is stored (S3 object bytes; DynamoDB item bytes + 100 B
 *    overhead each, from a Scan).
 * The same payload is replayed and compacted once more over in-memory
 * stores to time the handler's own CPU (the emulators' CPU excluded).
 *
 * Lambda duration is an ESTIMATE: local CPU time scaled to the vCPU share
 * of the configured memory, plus assumed AWS round-trip latencies per
 * sequential backend request. Then lib/cost/projection.ts scales the
 * figures to 100k and 1M active series. Prints markdown; with --write,
 * replaces the generated section of docs/cost.md.
 *
 * Label-index expiry (lib/index/expiry.ts) is on by default, as infra/
 * deploys it: the DynamoDB store stamps index items with a TTL attribute
 * and sealing deletes nothing. dynalite does not expire items, so the
 * index items left are reported as held for the TTL horizon (storage), not
 * as deleted. `--ttl=off` measures the delete-on-seal path instead.
 *
 * Clock: the payload starts on Monday 2024-01-01; the stores and the
 * compactor run on a clock one hour after it while ingesting and nine days
 * later while compacting (the data's index bucket, that week, has ended
 * and may be sealed, as the hourly schedule would do on the Tuesday after
 * it).
 *
 * Flags: --series=10000 --rounds=240 --batches=2000,500 --ttl=on|off --schedule=5m (0 = one forced run only) --write
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DynamoDBClient, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { startAwsEmulators } from '../test/helpers/stratus.ts';
import { S3Bucket } from '../lib/objstore/s3/s3-bucket.ts';
import { DynamoKVStore } from '../lib/kvstore/dynamodb/dynamo-store.ts';
import { MemBucket } from '../lib/objstore/mem.ts';
import { MemKVStore } from '../lib/kvstore/mem.ts';
import { OpTotals } from '../lib/storage/ops.ts';
import { Storage } from '../lib/tsdb/db.ts';
import { newWriteHandler } from '../lib/remote/write-handler.ts';
import { newReadHandler } from '../lib/remote/read-handler.ts';
import { newRemoteMetrics } from '../lib/remote/metrics.ts';
import { compactTenants } from '../lib/compact/service.ts';
import { encodeReadRequest, ResponseType } from '../lib/prompb/read.ts';
import { snappyEncode } from '../lib/prompb/snappy.ts';
import { nopLogger } from '../lib/util/logger.ts';
import type { HttpHandler, HttpRequest } from '../lib/server/types.ts';
import { byOperation, diffRows, DynamoItemOverheadBytes, meterStores, UsageLedger, type LedgerRow } from '../lib/cost/index.ts';
import { DEFAULT_PARAMS, START_MS, loadOrGenerate, type Payloads } from './lib/payloads.ts';
import { parseDuration } from '../lib/compact/retention.ts';
import { labelIndexExpiry } from '../lib/index/expiry.ts';
import { selectSeries } from './lib/selections.ts';
import { EnvVars } from '../lib/config/env.ts';
import { IndexTtlAttribute } from '../lib/index/expiry.ts';
import { createLogger } from '../lib/util/logger.ts';
import { functionUrlEvent } from '../test/helpers/lambda-event.ts';
import { LambdaAssumptions, report, scalingTable, type BatchRun } from '../lib/cost/report.ts';

const ROOT = join(import.meta.dirname, '..');
const flags = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string | undefined]));
const series = Number(flags.get('series') ?? DEFAULT_PARAMS.series);
const rounds = Number(flags.get('rounds') ?? DEFAULT_PARAMS.rounds);
const batches = (flags.get('batches') ?? '2000,500').split(',').map(Number);
const ttl = (flags.get('ttl') ?? 'on') !== 'off';
const scheduleMs = parseDuration(flags.get('schedule') ?? '5m', '--schedule');
const log = (msg: string) => process.stderr.write(`${msg}\n`);

function writeRequest(body: Uint8Array): HttpRequest {
  return {
    method: 'POST',
    path: '/api/v1/write',
    query: new URLSearchParams(),
    headers: { 'content-encoding': 'snappy', 'content-type': 'application/x-protobuf', 'x-prometheus-remote-write-version': '0.1.0' },
    body,
  };
}

async function drain(handler: HttpHandler, req: HttpRequest): Promise<{ status: number; bytes: number }> {
  const res = await handler(req);
  let bytes = 0;
  const b = res.body;
  if (b instanceof Uint8Array) bytes = b.length;
  else if (typeof b === 'string') bytes = b.length;
  else if (b !== undefined) for await (const c of b) bytes += c.length;
  if (res.status >= 300) throw new Error(`${req.path}: HTTP ${res.status}`);
  return { status: res.status, bytes };
}

/** The benchmark's clock: an hour after the payload's start while ingesting, nine days later while compacting. */
const Day = 86_400_000;
const IngestNow = START_MS + 3_600_000;
const CompactNow = START_MS + 9 * Day + 3_600_000;
let clock = IngestNow;
const now = (): number => clock;
const compactOptions = { force: true, deleteGraceMs: 0, downsample: true, indexItemsExpire: ttl, now } as const;

/**
 * The scheduled compaction runs of the replay: before request `i` (written
 * at payload time `atMs`), the runs whose time has come, each on a clock
 * set to its scheduled time. Returns how many ran.
 */
class Schedule {
  next = START_MS + scheduleMs;
  runs = 0;
  async due(storage: Storage, atMs: number): Promise<number> {
    let n = 0;
    while (scheduleMs > 0 && atMs >= this.next) {
      const saved = clock;
      clock = this.next;
      try {
        await compactTenants(storage, { downsample: true, indexItemsExpire: ttl, now });
      } finally {
        clock = saved;
      }
      this.next += scheduleMs;
      n++;
    }
    this.runs += n;
    return n;
  }
}

/** Payload time at which request `i` of `n` is written (its rounds spread evenly over the span). */
function payloadTime(i: number, n: number): number {
  return START_MS + Math.round((i * rounds * 15_000) / n);
}

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** The number of requests that carry the first two rounds (every series seen, day indexed). */
function warmRequests(p: Payloads): number {
  let samples = 0;
  for (let i = 0; i < p.index.samplesPerRequest.length; i++) {
    samples += p.index.samplesPerRequest[i]!;
    if (samples >= 2 * p.index.series) return i + 1;
  }
  return p.index.samplesPerRequest.length;
}

/** Replays and compacts over in-memory stores: the handler's and compactor's own CPU. */
async function cpuRun(p: Payloads): Promise<{ steadyCpuMsPerRequest: number; compactCpuMs: number }> {
  const storage = new Storage({ bucket: new MemBucket(), kv: new MemKVStore() });
  const write = newWriteHandler({ storage, metrics: newRemoteMetrics(), logger: nopLogger });
  const warm = warmRequests(p);
  const schedule = new Schedule();
  let steadyCpu = 0;
  let scheduledCpu = 0;
  for (let i = 0; i < p.bodies.length; i++) {
    const s0 = cpuMs();
    await schedule.due(storage, payloadTime(i, p.bodies.length));
    scheduledCpu += cpuMs() - s0;
    const c0 = cpuMs();
    await drain(write, writeRequest(p.bodies[i]!));
    if (i >= warm) steadyCpu += cpuMs() - c0;
  }
  clock = CompactNow;
  const c0 = cpuMs();
  await compactTenants(storage, compactOptions);
  const compactCpuMs = scheduledCpu + cpuMs() - c0;
  clock = IngestNow;
  await storage.close();
  return { steadyCpuMsPerRequest: steadyCpu / (p.bodies.length - warm), compactCpuMs };
}

/** DynamoDB item bytes as billed for storage (names + values + 100 B overhead), by partition kind. */
async function dynamoStored(client: DynamoDBClient, table: string): Promise<{ items: number; bytes: number; byKind: Record<string, { items: number; bytes: number }> }> {
  const out = { items: 0, bytes: 0, byKind: {} as Record<string, { items: number; bytes: number }> };
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
    for (const it of page.Items ?? []) {
      const pk = it.pk?.S ?? '';
      const size = 2 + Buffer.byteLength(pk) + 2 + Buffer.byteLength(it.sk?.S ?? '') + 1 + (it.v?.B?.length ?? 0) + DynamoItemOverheadBytes;
      const kind = pk.includes('/ix/') ? 'label index' : pk.endsWith('/catalog') ? 'catalog' : 'other';
      const k = (out.byKind[kind] ??= { items: 0, bytes: 0 });
      k.items++;
      k.bytes += size;
      out.items++;
      out.bytes += size;
    }
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return out;
}

/** The write function's environment, as infra/ sets it (functions/deps.ts reads it at import). */
const FunctionEnv = {
  [EnvVars.bucket]: 'bench',
  [EnvVars.table]: 'bench',
  [EnvVars.logLevel]: 'info',
  AWS_REGION: 'us-east-1',
  AWS_LAMBDA_FUNCTION_NAME: 'stratus-bench-write',
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1024',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  ...(ttl ? { [EnvVars.indexTtlAttribute]: IndexTtlAttribute } : {}),
};
Object.assign(process.env, FunctionEnv);
const { loadDeps } = await import('../functions/deps.ts');
const { newWriteFunction } = await import('../functions/remote-write.ts');
const { CostAggregator, CostFlushIntervalMs } = await import('../functions/cost.ts');
if (CostFlushIntervalMs !== LambdaAssumptions.costLineIntervalS * 1000) throw new Error('LambdaAssumptions.costLineIntervalS is not functions/cost.ts CostFlushIntervalMs');

async function awsRun(p: Payloads): Promise<Omit<BatchRun, 'batch' | 'cpu'>> {
  const emu = await startAwsEmulators();
  const s3c = emu.s3.client();
  const ddb = emu.ddb.client();
  const real = new OpTotals();
  const ledger = new UsageLedger();
  const rootBucket = new S3Bucket({ client: s3c, bucket: emu.bucket, counter: real });
  const rootKv = new DynamoKVStore({ client: ddb, table: emu.table, counter: real, ...(ttl ? { expiry: labelIndexExpiry(), now } : {}) });
  // The write function's wiring (metering, cost sums, logger) over the emulators, metered again by the ledger.
  const deps = loadDeps(FunctionEnv, meterStores({ bucket: rootBucket, kv: rootKv }, ledger));
  const storage = deps.storage;
  const logs = { loggerBytes: 0, loggerLines: 0, costLines: 0, costLineBytes: 0 };
  deps.logger = createLogger({
    level: 'info',
    fields: { fn: FunctionEnv.AWS_LAMBDA_FUNCTION_NAME },
    timestampKey: 'timestamp',
    write: (l) => {
      logs.loggerLines++;
      logs.loggerBytes += Buffer.byteLength(l) + 1;
    },
  });
  deps.emit = (l) => {
    logs.costLines++;
    logs.costLineBytes += Buffer.byteLength(l) + 1;
  };
  // The cost lines' clock: the payload's time, request i at i / n of the replayed span.
  let wallMs = START_MS;
  deps.costs = new CostAggregator(CostFlushIntervalMs, () => wallMs);
  try {
    const write = newWriteFunction(deps);
    const warm = warmRequests(p);
    let warmRows: LedgerRow[] = [];
    // Scheduled compaction runs between the writes: their requests apart from ingest's.
    const schedule = new Schedule();
    const scheduled = new UsageLedger();
    let scheduledWallMs = 0;
    const t0 = performance.now();
    let steadyWallMs = 0;
    for (let i = 0; i < p.bodies.length; i++) {
      if (i === warm) warmRows = diffRows(ledger.rows(), scheduled.rows());
      wallMs = payloadTime(i, p.bodies.length);
      const before = ledger.rows();
      const s0 = performance.now();
      if ((await schedule.due(storage, wallMs)) > 0) {
        for (const r of ledger.since(before)) scheduled.record(r);
        scheduledWallMs += performance.now() - s0;
      }
      const w0 = performance.now();
      const res = await write(functionUrlEvent('/api/v1/write', p.bodies[i]!, { 'x-prometheus-remote-write-version': '0.1.0' }));
      if ((res.statusCode ?? 0) >= 300) throw new Error(`write ${i}: HTTP ${res.statusCode}: ${res.body}`);
      if (i >= warm) steadyWallMs += performance.now() - w0;
    }
    const ingestWallS = (performance.now() - t0 - scheduledWallMs) / 1000;
    const afterIngest = ledger.rows();
    const ingestRows = diffRows(afterIngest, scheduled.rows());
    log(`  ingested ${p.index.samples} samples in ${p.bodies.length} requests, ${ingestWallS.toFixed(1)} s; logs ${JSON.stringify(logs)}`);
    log(`  ${schedule.runs} scheduled compaction runs while ingesting, ${(scheduledWallMs / 1000).toFixed(1)} s`);

    clock = CompactNow;
    const c0 = performance.now();
    const summary = await compactTenants(storage, compactOptions);
    const compactWallS = (performance.now() - c0 + scheduledWallMs) / 1000;
    for (const r of ledger.since(afterIngest)) scheduled.record(r);
    const compactRows = scheduled.rows();
    log(`  compacted in ${compactWallS.toFixed(1)} s: ${JSON.stringify(summary.totals)}`);

    const read = newReadHandler({ storage, metrics: newRemoteMetrics(), logger: nopLogger });
    const reads: BatchRun['reads'] = [];
    for (const n of [1, 100, 1000]) {
      const sel = selectSeries(p.index, n);
      const before = ledger.rows();
      const body = snappyEncode(
        encodeReadRequest({
          queries: [{ startTimestampMs: sel.startMs, endTimestampMs: sel.endMs, matchers: sel.matchers }],
          acceptedResponseTypes: [ResponseType.STREAMED_XOR_CHUNKS],
        }),
      );
      const r0 = performance.now();
      const res = await drain(read, {
        method: 'POST',
        path: '/api/v1/read',
        query: new URLSearchParams(),
        headers: { 'content-encoding': 'snappy', 'content-type': 'application/x-protobuf', 'x-prometheus-remote-read-version': '0.1.0' },
        body,
      });
      reads.push({ series: n, wallMs: performance.now() - r0, responseBytes: res.bytes, rows: ledger.since(before) });
    }

    // What is stored, read without counting.
    const plain = new S3Bucket({ client: s3c, bucket: emu.bucket });
    let s3Objects = 0;
    let s3Bytes = 0;
    for await (const key of plain.iter('')) {
      s3Objects++;
      s3Bytes += (await plain.head(key)).size;
    }
    const dynamo = await dynamoStored(ddb, emu.table);

    // The decorators' request counts against the backends' own (retries included there).
    const check = byOperation(ledger.rows()).map((r) => ({ op: `${r.service}:${r.op}`, metered: r.requests, counted: real.totals.get(`${r.service}:${r.op}`)?.requests ?? 0 }));
    clock = IngestNow;
    return {
      indexExpiry: ttl,
      samples: p.index.samples,
      requests: p.bodies.length,
      warmRequests: warm,
      ingestRows,
      warmRows,
      compactRows,
      compactRuns: schedule.runs + 1,
      ingestWallS,
      steadyWallMsPerRequest: steadyWallMs / (p.bodies.length - warm),
      compactWallS,
      reads,
      stored: { s3Objects, s3Bytes, dynamoItems: dynamo.items, dynamoBytes: dynamo.bytes, dynamoByKind: dynamo.byKind },
      check,
      logs,
    };
  } finally {
    await storage.close();
    s3c.destroy();
    await emu.stop();
  }
}

async function main(): Promise<void> {
  const runs: BatchRun[] = [];
  for (const batch of batches) {
    const p = await loadOrGenerate(join(ROOT, 'bench', 'payloads'), { ...DEFAULT_PARAMS, series, rounds, batch }, log);
    log(`batch ${batch}: AWS emulators ...`);
    const aws = await awsRun(p);
    log(`batch ${batch}: CPU on in-memory stores ...`);
    const cpu = await cpuRun(p);
    runs.push({ batch, cpu, ...aws });
  }
  const md = report(runs, { series, rounds }) + '\n\n### Scaled to 1 M active series at 15 s\n\n' + scalingTable(runs, 1_000_000, series);
  process.stdout.write(md + '\n');
  if (flags.has('write')) {
    const file = join(ROOT, 'docs', 'cost.md');
    const text = await readFile(file, 'utf8');
    const begin = '<!-- bench:cost begin -->';
    const end = '<!-- bench:cost end -->';
    const a = text.indexOf(begin);
    const b = text.indexOf(end);
    if (a < 0 || b < a) throw new Error(`${file} has no ${begin} ... ${end} section`);
    await writeFile(file, text.slice(0, a + begin.length) + '\n' + md + '\n' + text.slice(b));
    log(`wrote ${file}`);
  }
}

await main();
