/**
 * Turns what bench/cost.ts measured into the cost model's figures
 * ({@link MeasuredFigures}) and renders the markdown of docs/cost.md's
 * generated section. Every assumption that is not a measurement is a named
 * constant here, so the report can print it.
 */
import { byScope, diffRows, usageOf, type LedgerRow } from './ledger.ts';
import { addUsage, isDynamoWrite, lambdaGbSeconds, s3RequestClass, totalCost, zeroUsage, type CostBreakdown, type Usage } from './model.ts';
import { project, type MeasuredFigures, type Projection } from './projection.ts';
import { AmpPrices, PricesTakenOn } from './prices.ts';
import { IndexBucketDays } from '../index/keys.ts';

/** One batch size's measurements. */
export interface BatchRun {
  batch: number;
  /** Whether label-index items were left to expire (DynamoDB TTL) instead of deleted at seal. */
  indexExpiry?: boolean;
  samples: number;
  requests: number;
  /** Requests carrying the first two rounds (the day's indexing happens there). */
  warmRequests: number;
  ingestRows: LedgerRow[];
  /** Ledger after the warm requests. */
  warmRows: LedgerRow[];
  compactRows: LedgerRow[];
  /** Compaction runs (Lambda invocations) the compaction rows came from. @default 1 */
  compactRuns?: number;
  ingestWallS: number;
  steadyWallMsPerRequest: number;
  compactWallS: number;
  reads: { series: number; wallMs: number; responseBytes: number; rows: LedgerRow[] }[];
  stored: { s3Objects: number; s3Bytes: number; dynamoItems: number; dynamoBytes: number; dynamoByKind: Record<string, { items: number; bytes: number }> };
  check: { op: string; metered: number; counted: number }[];
  cpu: { steadyCpuMsPerRequest: number; compactCpuMs: number };
  /**
   * What the write function's handler wrote in the replay (bench/cost.ts
   * replays through it): its log lines at the default level, and the
   * per-tenant EMF cost lines it wrote on the replayed hour's clock.
   */
  logs?: { loggerBytes: number; loggerLines: number; costLines: number; costLineBytes: number };
}

/**
 * Lambda's platform lines of one invocation in the JSON log format at
 * system log level INFO (`platform.start` and `platform.report`; shapes from
 * AWS's Lambda documentation, values typical of a write). At WARN, the
 * functions' default (infra/constructs/stratus-function.ts), Lambda writes
 * neither. The plain-text format's START/END/REPORT lines are ~260 bytes.
 */
export const PlatformLinesAtInfo = [
  '{"time":"2026-11-22T02:00:00.000Z","type":"platform.start","record":{"requestId":"8f5c1a4e-2b7d-4c1e-9a3f-6d0e5b7c2a1f","version":"$LATEST"}}',
  '{"time":"2026-11-22T02:00:00.042Z","type":"platform.report","record":{"requestId":"8f5c1a4e-2b7d-4c1e-9a3f-6d0e5b7c2a1f","metrics":{"durationMs":41.27,"billedDurationMs":42,"memorySizeMB":1024,"maxMemoryUsedMB":187},"status":"success"}}',
] as const;

/** Bytes of {@link PlatformLinesAtInfo}, newlines included. */
export const PlatformLogBytesAtInfo = PlatformLinesAtInfo.reduce((n, l) => n + l.length + 1, 0);

/** Assumptions of the Lambda duration estimate (not measured: no AWS access). */
export const LambdaAssumptions = {
  writeMemoryMb: 1024,
  compactMemoryMb: 2048,
  /** Memory at which Lambda gives one full vCPU (AWS documentation). */
  fullVcpuMb: 1769,
  /** Assumed round trips inside a region, ms (typical figures, not measured here). */
  latencyMs: { s3Put: 30, s3Get: 15, s3List: 20, dynamoWrite: 8, dynamoRead: 4 },
  /**
   * Lambda's system log level of the functions (infra default WARN: no
   * platform lines; INFO: {@link PlatformLogBytesAtInfo} per invocation).
   */
  systemLogLevel: 'WARN' as 'WARN' | 'INFO',
  /** Seconds between a write environment's cost lines (functions/cost.ts CostFlushIntervalMs). */
  costLineIntervalS: 60,
  /**
   * Write environments that each write a cost line every interval, at least
   * (more when the mean concurrency is higher): the benchmark payload's 4
   * remote-write shards send at once, so Lambda keeps about that many warm.
   */
  minWriteEnvironments: 4,
  /** Log bytes of a compaction invocation besides its cost lines (tenant and shared): its summary line, ~700 bytes. */
  compactionSummaryBytes: 700,
  /** Cold replacements of each write environment per day (AWS publishes no lifetime). */
  coldStartsPerEnvPerDay: 6,
  /**
   * Days a bucket's label-index items stay stored when they expire by TTL,
   * from the bucket's start: the bucket itself (a week), the 30-day horizon
   * after its end (lib/index/expiry.ts) and up to 3 days until DynamoDB
   * deletes expired items (AWS: "within a few days").
   */
  indexHeldDaysWithTtl: IndexBucketDays + 30 + 3,
  /**
   * Compaction requests the code keeps several of in flight (lib/compact:
   * whole-segment GETs read 4 ahead, object deletes 8 at a time), keyed
   * `<operation>:<scope>`: their waits overlap that many ways.
   */
  compactionOverlap: { 'GetObject:segments': 4, 'DeleteObject:segments': 8, 'DeleteObject:blocks': 8 } as Readonly<Record<string, number>>,
} as const;

/** Kind of stored DynamoDB items that are label-index items (bench/cost.ts dynamoStored). */
export const LabelIndexKind = 'label index';

/**
 * Milliseconds of waiting on the backends for `rows`, every request taken
 * as sequential (an upper bound) except those `overlap` says the code keeps
 * several of in flight.
 */
export function waitMs(rows: readonly LedgerRow[], overlap: Readonly<Record<string, number>> = {}): number {
  const l = LambdaAssumptions.latencyMs;
  let ms = 0;
  for (const r of rows) {
    const before = ms;
    if (r.service === 's3') {
      const cls = s3RequestClass(r.op);
      ms += r.requests * (r.op.startsWith('List') ? l.s3List : cls === 'put' ? l.s3Put : cls === 'get' ? l.s3Get : l.s3Get);
    } else {
      ms += r.requests * (isDynamoWrite(r.op) ? l.dynamoWrite : l.dynamoRead);
    }
    const k = overlap[`${r.op}:${r.scope}`];
    if (k !== undefined && k > 1) ms = before + (ms - before) / k;
  }
  return ms;
}

/** Local CPU ms as Lambda would take at `memoryMb` (a single-threaded process gets at most one vCPU). */
export function lambdaCpuMs(localCpuMs: number, memoryMb: number): number {
  return localCpuMs * Math.max(1, LambdaAssumptions.fullVcpuMb / memoryMb);
}

function scaleUsage(u: Usage, k: number): Usage {
  return addUsage(zeroUsage(), u, k);
}

/**
 * Log bytes of the write function: per invocation (the handler's measured
 * lines, plus Lambda's platform lines at system level INFO) and per cost line.
 * Runs without a log measurement count the cost line at ~640 bytes.
 */
export function logFigures(run: BatchRun): { perInvocation: number; costLineBytes: number; platform: number } {
  const platform = LambdaAssumptions.systemLogLevel === 'INFO' ? PlatformLogBytesAtInfo : 0;
  const lg = run.logs;
  return {
    perInvocation: (lg === undefined ? 0 : lg.loggerBytes / run.requests) + platform,
    costLineBytes: lg !== undefined && lg.costLines > 0 ? lg.costLineBytes / lg.costLines : 640,
    platform,
  };
}

/** Scope of the label index (lib/index/keys.ts `ix/…` partitions): its cost follows series x days, not samples. */
export const IndexScope = 'ix';

const isIndex = (r: LedgerRow) => r.service === 'dynamodb' && r.scope === IndexScope;

/**
 * The model's inputs from one batch run. Label-index work (writing a
 * series' items the first time it is seen in an index bucket, and dropping
 * them when the bucket is sealed) is charged per series and bucket; everything else per
 * request (ingest) or per sample (compaction).
 */
export function figuresOf(run: BatchRun, series: number): MeasuredFigures & { steadyRows: LedgerRow[]; compactMs: number } {
  const a = LambdaAssumptions;
  const steadyN = run.requests - run.warmRequests;
  const steadyRows = diffRows(run.ingestRows, run.warmRows);
  const perRequest = scaleUsage(usageOf(run.ingestRows.filter((r) => !isIndex(r))), 1 / run.requests);
  const writeMs = lambdaCpuMs(run.cpu.steadyCpuMsPerRequest, a.writeMemoryMb) + waitMs(steadyRows) / steadyN;
  const compactIndex = run.compactRows.filter(isIndex);
  const compactRest = run.compactRows.filter((r) => !isIndex(r));
  const compactMs = lambdaCpuMs(run.cpu.compactCpuMs, a.compactMemoryMb) + waitMs(compactRest, a.compactionOverlap);
  const l = logFigures(run);
  const indexWaitMs = waitMs(compactIndex);
  const perSeriesBucket = scaleUsage(
    {
      ...addUsage(usageOf(run.ingestRows.filter(isIndex)), usageOf(compactIndex)),
      lambdaGbSeconds: lambdaGbSeconds(indexWaitMs, a.compactMemoryMb),
    },
    1 / series,
  );
  const compaction: Usage = {
    ...usageOf(compactRest),
    lambdaInvocations: run.compactRuns ?? 1,
    lambdaGbSeconds: lambdaGbSeconds(compactMs, a.compactMemoryMb),
    logBytes: (run.compactRuns ?? 1) * (a.compactionSummaryBytes + 2 * l.costLineBytes),
  };
  return {
    perRequest,
    writeMs,
    writeMemoryMb: a.writeMemoryMb,
    logBytesPerInvocation: l.perInvocation,
    costLineBytes: l.costLineBytes,
    costLineIntervalS: a.costLineIntervalS,
    minWriteEnvironments: a.minWriteEnvironments,
    perSeriesBucket,
    indexBucketDays: IndexBucketDays,
    compactionPerSample: scaleUsage(compaction, 1 / run.samples),
    s3BytesPerSample: run.stored.s3Bytes / run.samples,
    // Index items left to expire are charged for their horizon (below), not for the retention.
    dynamoBytesPerSample: (run.stored.dynamoBytes - (run.stored.dynamoByKind[LabelIndexKind]?.bytes ?? 0)) / run.samples,
    indexBytesPerSeriesBucket: (run.stored.dynamoByKind[LabelIndexKind]?.bytes ?? 0) / series,
    indexHeldDays: run.indexExpiry === true ? a.indexHeldDaysWithTtl : 0,
    steadyRows,
    compactMs: compactMs + indexWaitMs,
  };
}

const f = (x: number, digits = 2) => (Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 }) : String(x));
const usd = (x: number) => (x >= 1 ? `$${f(x, 2)}` : x >= 0.001 ? `$${x.toFixed(4)}` : `$${x.toExponential(2)}`);

function opsTable(title: string, rows: readonly LedgerRow[], per: number, perName: string): string {
  const out = [`**${title}**`, '', `| service | operation | scope | requests | items | capacity units | bytes | requests per ${perName} |`, '|---|---|---|--:|--:|--:|--:|--:|'];
  for (const r of byScope(rows)) out.push(`| ${r.service} | ${r.op} | ${r.scope} | ${f(r.requests)} | ${f(r.items)} | ${f(r.capacityUnits)} | ${f(r.bytes, 0)} | ${f(r.requests / per, 3)} |`);
  return out.join('\n');
}

function breakdownCells(c: CostBreakdown): string {
  const k = (name: keyof CostBreakdown) => usd(c[name] ?? 0);
  return `${k('s3_requests')} | ${k('dynamodb_requests')} | ${k('lambda_requests')} | ${k('lambda_duration')} | ${k('cloudwatch_logs')}`;
}

function projectionRows(p: Projection, label: string): string {
  const s = p.per10M.storage;
  return `| ${label} | ${breakdownCells(p.per10M.ingest)} | ${usd((s.s3_storage ?? 0) + (s.dynamodb_storage ?? 0))} | **${usd(p.per10M.total)}** | ${usd(p.amp.total)} | **${f(p.cheaperBy, 1)}x** |`;
}

function logsSentence(run: BatchRun, fig: MeasuredFigures, minutes: number): string {
  const lg = run.logs;
  if (lg === undefined) return 'Logs: not measured in this run.';
  const l = logFigures(run);
  const p = project(fig, { activeSeries: 100_000, intervalS: 15, samplesPerRequest: run.batch, coldStartsPerEnvPerDay: LambdaAssumptions.coldStartsPerEnvPerDay });
  return (
    `Logs, measured through the write function's handler: ${f(lg.loggerLines)} handler log lines (${f(lg.loggerBytes, 0)} bytes) over ${f(run.requests)} requests at the default level, ` +
    `and ${f(lg.costLines)} per-tenant cost lines of ${f(l.costLineBytes, 0)} bytes each on the clock of the replayed ${f(minutes, 0)} minutes (${f(run.requests / minutes, 1)} requests a minute, one line a minute); ` +
    `Lambda's platform lines ${l.platform === 0 ? `0 (system log level WARN; ${PlatformLogBytesAtInfo} bytes per invocation at INFO)` : `${l.platform} bytes per invocation (system log level INFO)`}. ` +
    `At 100k series the model counts ${f(p.costLinesPerMonth, 0)} cost lines a month (${Math.max(LambdaAssumptions.minWriteEnvironments, Math.ceil(p.writeConcurrency))} write environments, one a minute each): ${f((p.costLinesPerMonth * l.costLineBytes) / (p.samplesPerMonth / run.batch), 1)} bytes per request.`
  );
}

/** The markdown of the generated section. */
export function report(runs: readonly BatchRun[], opts: { series: number; rounds: number }): string {
  const a = LambdaAssumptions;
  const md: string[] = [];
  const expiry = runs.every((r) => r.indexExpiry === true) ? 'label-index items expire by DynamoDB TTL (infra default)' : 'label-index items deleted when a bucket is sealed (`--ttl=off`)';
  md.push(`Generated by \`npm run bench:cost\` (${opts.series} series x ${opts.rounds} rounds at 15 s; ${expiry}; prices ${PricesTakenOn}).`, '');
  const figs = runs.map((r) => ({ run: r, fig: figuresOf(r, opts.series) }));

  md.push('### Dollars per 10 M samples ingested + stored 1 year', '');
  md.push('| scenario | S3 requests | DynamoDB requests | Lambda requests | Lambda duration (est.) | CloudWatch Logs | storage 12 months | Stratus total | AMP total | AMP / Stratus |', '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
  for (const { run, fig } of figs) {
    for (const seriesCount of [100_000, 1_000_000]) {
      const p = project(fig, { activeSeries: seriesCount, intervalS: 15, samplesPerRequest: run.batch, coldStartsPerEnvPerDay: a.coldStartsPerEnvPerDay });
      md.push(projectionRows(p, `${f(seriesCount / 1000, 0)}k series, ${run.batch} samples/request`));
    }
  }
  const p100 = project(figs[0]!.fig, { activeSeries: 100_000, intervalS: 15, samplesPerRequest: figs[0]!.run.batch, coldStartsPerEnvPerDay: a.coldStartsPerEnvPerDay });
  md.push(
    '',
    `AMP: ingestion at the volume's average tier price (100k series: ${usd(p100.amp.ingest)} per 10 M; the first tier alone is $0.90), storage at an assumed ${AmpPrices.assumedBytesPerSample} bytes/sample (${usd(p100.amp.storage)} per 10 M for 12 months). ` +
      `Against AMP's first-tier price ($0.90 + storage) Stratus at 100k series / ${figs[0]!.run.batch} samples per request is ${f((0.9 + p100.amp.storage) / p100.per10M.total, 1)}x cheaper.`,
    '',
  );

  for (const { run, fig } of figs) {
    const steadyN = run.requests - run.warmRequests;
    md.push(`### Measured: ${run.batch} samples per request (${f(run.requests)} requests, ${f(run.samples)} samples)`, '');
    md.push(opsTable('Ingest, all requests', run.ingestRows, run.requests, 'write request'), '');
    md.push(opsTable(`Ingest, steady state (after the first ${run.warmRequests} requests: every series indexed for the day)`, fig.steadyRows, steadyN, 'write request'), '');
    md.push(opsTable(`Compaction (${run.compactRuns ?? 1} runs: on the schedule while ingesting, then forced with delete grace 0; downsampling on)`, run.compactRows, run.samples / 1e6, 'million samples'), '');
    for (const r of run.reads) md.push(opsTable(`remote_read of ${r.series} series over the hour (${f(r.wallMs, 0)} ms on the emulators, ${f(r.responseBytes, 0)} response bytes)`, r.rows, 1, 'read'), '');
    const kinds = Object.entries(run.stored.dynamoByKind).map(([k, v]) => `${k} ${f(v.items)} items / ${f(v.bytes, 0)} B`).join(', ');
    md.push(
      `Stored after compaction: S3 ${f(run.stored.s3Objects)} objects, ${f(run.stored.s3Bytes, 0)} bytes (${f(fig.s3BytesPerSample, 3)} B/sample); ` +
        `DynamoDB ${f(run.stored.dynamoItems)} items, ${f(run.stored.dynamoBytes, 0)} bytes with 100 B/item overhead (${kinds}; ${f(fig.dynamoBytesPerSample, 4)} B/sample kept for the retention${run.indexExpiry === true ? `, the label index left to expire charged for ~${a.indexHeldDaysWithTtl} days` : ''}).`,
      '',
      `Timings: handler CPU ${f(run.cpu.steadyCpuMsPerRequest, 2)} ms per steady request on in-memory stores (this machine); ` +
        `estimated Lambda duration ${f(fig.writeMs, 1)} ms per write at ${a.writeMemoryMb} MB (CPU x ${f(a.fullVcpuMb / a.writeMemoryMb, 2)} for the vCPU share + assumed round trips ${JSON.stringify(a.latencyMs)}); ` +
        `${f(run.steadyWallMsPerRequest, 1)} ms wall per steady request on the emulators. Compaction: ${f(run.cpu.compactCpuMs, 0)} ms CPU in memory, ${f(run.compactWallS, 1)} s wall on the emulators, estimated ${f(fig.compactMs / 1000, 1)} s at ${a.compactMemoryMb} MB.`,
      '',
      logsSentence(run, fig, (opts.rounds * 15) / 60),
      '',
      run.indexExpiry === true
        ? `Label index per series and ${IndexBucketDays}-day bucket (written at first sight in a bucket; left to expire by DynamoDB TTL when compaction seals the bucket): ${f(fig.perSeriesBucket.dynamoWriteUnits, 2)} WRU, ${f(fig.perSeriesBucket.dynamoReadUnits, 2)} RRU; ${f(fig.indexBytesPerSeriesBucket ?? 0, 0)} bytes stored for ~${a.indexHeldDaysWithTtl} days.`
        : `Label index per series and ${IndexBucketDays}-day bucket (written at first sight in a bucket, queried and deleted when compaction seals the bucket): ${f(fig.perSeriesBucket.dynamoWriteUnits, 2)} WRU, ${f(fig.perSeriesBucket.dynamoReadUnits, 2)} RRU.`,
      '',
      `Cross-check, metered calls vs the backends' own request counters: ${run.check.map((c) => `${c.op} ${c.metered}/${c.counted}`).join(', ')}.`,
      '',
    );
  }
  void totalCost;
  return md.join('\n');
}

/** The figures scaled to `series` at 15 s for docs/scaling.md. */
export function scalingTable(runs: readonly BatchRun[], series: number, seriesMeasured: number): string {
  const a = LambdaAssumptions;
  const md = ['| samples/request | requests/s | write concurrency | WRU/s steady | RRU/s steady | index WRU per day (average) | S3 PUT/s | S3 GET/s (compaction) | $/month usage | $/month storage added |', '|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|'];
  for (const run of runs) {
    const fig = figuresOf(run, seriesMeasured);
    const p = project(fig, { activeSeries: series, intervalS: 15, samplesPerRequest: run.batch, coldStartsPerEnvPerDay: a.coldStartsPerEnvPerDay });
    const perS = (u: number) => u / (86_400 * 30);
    const m = p.monthly;
    md.push(
      `| ${run.batch} | ${f(p.requestsPerSecond, 1)} | ${f(p.writeConcurrency, 2)} | ${f(perS(m.requests.dynamoWriteUnits), 0)} | ${f(perS(m.requests.dynamoReadUnits + m.coldRechecks.dynamoReadUnits), 0)} | ${f(m.index.dynamoWriteUnits / 30, 0)} | ${f(perS(m.requests.s3PutClass + m.compaction.s3PutClass), 1)} | ${f(perS(m.compaction.s3GetClass), 1)} | ${usd(totalCost(p.monthlyUsageCost))} | ${usd(totalCost(p.monthlyStorageCostOfOneMonth))} |`,
    );
  }
  return md.join('\n');
}
