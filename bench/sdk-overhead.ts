/**
 * `node --import tsx bench/sdk-overhead.ts [--rounds=5] [--calls=200]`:
 * this process's CPU per AWS SDK call through our stores, for the SDK
 * client settings before and after lib/aws/client-config.ts (a logger
 * without `info`), on s3rver and dynalite
 * started as the `stratus-aws` target starts them.
 *
 * Per round and setting: `calls` BatchWriteItems of 25 label-index-like
 * items (`DynamoKVStore.batchPut`), `calls` PutObjects of 100 KB
 * (`S3Bucket.put`) and `calls` Queries of 10 items (`DynamoKVStore.query`),
 * 8 in flight, each kind timed on its own. The two settings alternate
 * within each round, in alternating order (interleaved A/B); reported are
 * medians over the rounds of this process's CPU per call (user + system,
 * µs) and the emulators' CPU per call apart (a real AWS deployment does
 * not pay it). Both settings count requests (as the Lambda functions do),
 * and every round checks the counts and reads the written data back, so a
 * setting that drops or miscounts requests fails the benchmark instead of
 * looking cheap. Bounded: about 6 x rounds x calls requests.
 * `--only=new` runs one setting (for `node --cpu-prof`). (`cacheMiddleware`
 * was measured here too, -15-20% per call, and is not used: see
 * lib/aws/client-config.ts; our per-command request counting would also
 * miscount under it.)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { sdkClientDefaults } from '../lib/aws/client-config.ts';
import { DynamoKVStore } from '../lib/kvstore/dynamodb/dynamo-store.ts';
import { ensureTable } from '../lib/kvstore/dynamodb/ensure-table.ts';
import { ensureBucket } from '../lib/objstore/s3/ensure-bucket.ts';
import { S3Bucket } from '../lib/objstore/s3/s3-bucket.ts';
import { OpTotals } from '../lib/storage/ops.ts';
import { mapLimit } from '../lib/tsdb/segment-commit.ts';
import { startAwsEmulators } from './lib/aws-emulators.ts';
import { processCpuSeconds } from './lib/proc.ts';
import { fmt, spread, table } from './lib/stats.ts';

const { values: args } = parseArgs({
  options: { rounds: { type: 'string', default: '5' }, calls: { type: 'string', default: '200' }, only: { type: 'string' } },
});
const Rounds = Math.max(1, Number(args.rounds));
const Calls = Math.max(1, Number(args.calls));
const InFlight = 8;
const ObjectBytes = 100 * 1024;

/** Client settings compared: the SDK's defaults and ours. */
const settings: Record<string, object> = {
  old: {},
  new: sdkClientDefaults(),
};
if (args.only !== undefined) for (const k of Object.keys(settings)) if (k !== args.only) delete settings[k];
type Setting = string;
const kinds = ['BatchWriteItem', 'PutObject', 'Query'] as const;
type Kind = (typeof kinds)[number];

/** Runs `fn(i)` for i in [0, n), `InFlight` at a time. */
async function pool(n: number, fn: (i: number) => Promise<void>): Promise<void> {
  await mapLimit(Array.from({ length: n }, (_, i) => i), InFlight, fn);
}

interface Stores {
  kv: DynamoKVStore;
  bucket: S3Bucket;
  ops: OpTotals;
  close(): void;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'sdk-overhead-'));
  const emu = await startAwsEmulators(dir);
  const loopback = { region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } };
  const open = (s: Setting): Stores => {
    // As lib/server/app.ts builds them (`stratus serve --storage=aws`), with or without the new settings.
    const s3 = new S3Client({ ...settings[s], ...loopback, endpoint: emu.s3Endpoint, forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
    const ddb = new DynamoDBClient({ ...settings[s], ...loopback, endpoint: emu.ddbEndpoint });
    const ops = new OpTotals();
    return {
      kv: new DynamoKVStore({ client: ddb, table: 'sdk', counter: ops }),
      bucket: new S3Bucket({ client: s3, bucket: 'sdk', counter: ops }),
      ops,
      close() {
        s3.destroy();
        ddb.destroy();
      },
    };
  };
  const stores = Object.fromEntries(Object.keys(settings).map((s) => [s, open(s)]));
  const body = new Uint8Array(ObjectBytes).map((_, i) => (i * 7) & 0xff);
  const samples = new Map<string, { cpuUs: number; emuUs: number }[]>();
  try {
    const setup = new S3Client({ ...loopback, endpoint: emu.s3Endpoint, forcePathStyle: true });
    await ensureBucket(setup, 'sdk');
    setup.destroy();
    const setupDdb = new DynamoDBClient({ ...loopback, endpoint: emu.ddbEndpoint });
    await ensureTable(setupDdb, 'sdk');
    setupDdb.destroy();
    const calls: Record<Kind, (st: Stores, s: Setting, r: number, i: number) => Promise<void>> = {
      BatchWriteItem: async (st, s, r, i) => {
        const pk = `t/ix/${s.replace(' ', '-')}/${r}/${i}`;
        await st.kv.batchPut(Array.from({ length: 25 }, (_, j) => ({ pk, sk: `__name__=metric_${j}\u0000${(i * 25 + j).toString(16).padStart(16, '0')}`, value: new Uint8Array(0) })));
      },
      PutObject: async (st, s, r, i) => st.bucket.put(`t/seg/${s.replace(' ', '-')}/${r}/${i}`, body),
      Query: async (st, s, r, i) => {
        let n = 0;
        for await (const it of st.kv.query(`t/ix/${s.replace(' ', '-')}/${r}/${i}`, { limit: 10 })) n += it.sk.length > 0 ? 1 : 0;
        if (n !== 10) throw new Error(`query ${s} round ${r} call ${i}: ${n} items, want 10`);
      },
    };
    const emuPid: Record<Kind, number> = { BatchWriteItem: emu.pids.dynalite!, PutObject: emu.pids.s3rver!, Query: emu.pids.dynalite! };
    const run = async (s: Setting, r: number, record: boolean): Promise<void> => {
      const st = stores[s]!;
      st.ops.totals.clear();
      for (const kind of kinds) {
        const e0 = processCpuSeconds(emuPid[kind]);
        const c0 = process.cpuUsage();
        await pool(Calls, (i) => calls[kind](st, s, r, i));
        const c = process.cpuUsage(c0);
        const e = processCpuSeconds(emuPid[kind]) - e0;
        if (record) {
          const key = `${s}\u0000${kind}`;
          samples.set(key, [...(samples.get(key) ?? []), { cpuUs: (c.user + c.system) / Calls, emuUs: (e * 1e6) / Calls }]);
        }
      }
      // Exact counts, or this setting broke counting: one request per call, 25 items per batch.
      const want = { 'dynamodb:BatchWriteItem': [Calls, Calls * 25], 's3:PutObject': [Calls, Calls], 'dynamodb:Query': [Calls, Calls] };
      for (const [k, [req, units]] of Object.entries(want)) {
        const got = st.ops.totals.get(k);
        if (got?.requests !== req || got.units !== units) throw new Error(`${s}: ${k} counted ${JSON.stringify(got)}, want ${req} requests / ${units} units`);
      }
      const back = await st.bucket.get(`t/seg/${s.replace(' ', '-')}/${r}/${Calls - 1}`);
      if (!Buffer.from(back).equals(body)) throw new Error(`${s}: object read back differs`);
    };
    // Warm-up: connections, JIT, the handler caches.
    const names = Object.keys(settings);
    for (const s of names) await run(s, -1, false);
    for (let r = 0; r < Rounds; r++) {
      const order = r % 2 === 0 ? names : [...names].reverse();
      for (const s of order) await run(s, r, true);
    }
    const rows: string[][] = [];
    for (const kind of kinds) {
      for (const s of Object.keys(settings)) {
        const xs = samples.get(`${s}\u0000${kind}`)!;
        const cpu = spread(xs.map((x) => x.cpuUs));
        rows.push([kind, s, `${fmt(cpu.median, 0)} (${fmt(cpu.min, 0)}-${fmt(cpu.max, 0)})`, fmt(spread(xs.map((x) => x.emuUs)).median, 0)]);
      }
    }
    console.log(`${Calls} calls of each kind, ${InFlight} in flight; medians of ${Rounds} interleaved rounds (min-max):`);
    console.log(table(['call', 'client settings', 'CPU µs per call (this process)', 'emulator CPU µs per call'], rows));
  } finally {
    for (const st of Object.values(stores)) st.close();
    await emu.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
