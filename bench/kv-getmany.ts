/**
 * `node --import tsx bench/kv-getmany.ts [--rounds=5] [--keys=1000]`:
 * point reads of the index store one by one (`get`, 32 in flight, as the
 * write path's series check and the read path's series records do today)
 * against one `getMany` call (DynamoDB: BatchGetItems of 100 keys, 4 in
 * flight; LevelDB: one multi-get), on dynalite (its own child process, as
 * the `stratus-aws` target runs it) and on LevelDB.
 *
 * Each round runs every (store, method) pair once, the order of the two
 * methods alternating between rounds (interleaved A/B); reported are the
 * medians over the rounds of this process's CPU (user + system, ms: the
 * SDK's and our code; the emulator's own CPU is shown apart) and wall time.
 * Every run's values are checked against the items written, so a wrong
 * batched read fails the benchmark instead of looking fast. Bounded: about
 * 2 x rounds x 2 x keys requests' worth of work, well under a minute.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoKVStore } from '../lib/kvstore/dynamodb/dynamo-store.ts';
import { ensureTable } from '../lib/kvstore/dynamodb/ensure-table.ts';
import { kvGetMany, type KVKey, type KVStore } from '../lib/kvstore/kvstore.ts';
import { LevelKVStore } from '../lib/kvstore/leveldb/leveldb-store.ts';
import { startAwsEmulators } from './lib/aws-emulators.ts';
import { processCpuSeconds } from './lib/proc.ts';
import { fmt, spread, table } from './lib/stats.ts';

const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, keys: { type: 'string', default: '1000' } } });
const Rounds = Math.max(1, Number(args.rounds));
const Keys = Math.max(1, Number(args.keys));

/** Point reads in flight at once in the one-by-one method (segment-commit's series check). */
const GetConcurrency = 32;

/** One `get` per key, `GetConcurrency` at a time. */
async function oneByOne(kv: KVStore, keys: readonly KVKey[]): Promise<(Uint8Array | undefined)[]> {
  const out: (Uint8Array | undefined)[] = new Array(keys.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < keys.length) {
      const i = next++;
      out[i] = await kv.get(keys[i]!.pk, keys[i]!.sk);
    }
  };
  await Promise.all(Array.from({ length: GetConcurrency }, worker));
  return out;
}

const methods = {
  get: oneByOne,
  getMany: (kv: KVStore, keys: readonly KVKey[]) => kvGetMany(kv, keys),
} as const;
type Method = keyof typeof methods;

/** Series-record-like items: one index partition, 16-hex-digit ids, 200-byte values (encoded labels). */
function dataset(n: number): { items: { pk: string; sk: string; value: Uint8Array }[]; keys: KVKey[] } {
  const pk = 'bench/ix/000020412/series';
  const items = Array.from({ length: n }, (_, i) => ({
    pk,
    sk: Math.imul(i + 1, 0x9e3779b1).toString(16).replace('-', '').padStart(8, '0') + i.toString(16).padStart(8, '0'),
    value: new Uint8Array(200).map((_, j) => (i + j * 31) & 0xff),
  }));
  // Read in an order other than the sort-key order, and ask for 5% absent ids too.
  const keys: KVKey[] = items.map((it) => ({ pk: it.pk, sk: it.sk })).reverse();
  for (let i = 0; i < Math.ceil(n / 20); i++) keys[i * 20] = { pk, sk: `absent${i}` };
  return { items, keys };
}

function check(got: readonly (Uint8Array | undefined)[], keys: readonly KVKey[], want: Map<string, Uint8Array>): void {
  for (let i = 0; i < keys.length; i++) {
    const w = want.get(keys[i]!.sk);
    const g = got[i];
    if ((w === undefined) !== (g === undefined) || (w !== undefined && !Buffer.from(w).equals(g!))) {
      throw new Error(`wrong value for key ${i} (${keys[i]!.sk})`);
    }
  }
}

interface Sample {
  cpuMs: number;
  wallMs: number;
  emulatorCpuMs: number;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'kv-getmany-'));
  const emu = await startAwsEmulators(dir);
  const client = new DynamoDBClient({ endpoint: emu.ddbEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  const level = await LevelKVStore.open({ dir: join(dir, 'leveldb') });
  try {
    await ensureTable(client, 'getmany');
    const dynamo = new DynamoKVStore({ client, table: 'getmany' });
    const stores: { name: string; kv: KVStore; pid?: number }[] = [
      { name: 'dynalite', kv: dynamo, pid: emu.pids.dynalite },
      { name: 'leveldb', kv: level },
    ];
    const { items, keys } = dataset(Keys);
    const want = new Map(items.map((it) => [it.sk, it.value]));
    for (const s of stores) {
      for (let i = 0; i < items.length; i += 500) await s.kv.batchPut(items.slice(i, i + 500));
    }
    const samples = new Map<string, Sample[]>();
    const run = async (s: (typeof stores)[number], m: Method, record: boolean): Promise<void> => {
      const emu0 = s.pid === undefined ? 0 : processCpuSeconds(s.pid);
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const got = await methods[m](s.kv, keys);
      const wallMs = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const emulatorCpuMs = s.pid === undefined ? 0 : (processCpuSeconds(s.pid) - emu0) * 1000;
      check(got, keys, want);
      if (!record) return;
      const k = `${s.name}\u0000${m}`;
      samples.set(k, [...(samples.get(k) ?? []), { cpuMs: (cpu.user + cpu.system) / 1000, wallMs, emulatorCpuMs }]);
    };
    // Warm-up: connections, JIT, LevelDB's cache.
    for (const s of stores) for (const m of Object.keys(methods) as Method[]) await run(s, m, false);
    for (let r = 0; r < Rounds; r++) {
      const order: Method[] = r % 2 === 0 ? ['get', 'getMany'] : ['getMany', 'get'];
      for (const s of stores) for (const m of order) await run(s, m, true);
    }
    const rows: string[][] = [];
    for (const s of stores) {
      for (const m of Object.keys(methods) as Method[]) {
        const xs = samples.get(`${s.name}\u0000${m}`)!;
        const cpu = spread(xs.map((x) => x.cpuMs));
        const wall = spread(xs.map((x) => x.wallMs));
        const emuCpu = spread(xs.map((x) => x.emulatorCpuMs));
        rows.push([s.name, m, `${fmt(cpu.median, 1)} (${fmt(cpu.min, 1)}-${fmt(cpu.max, 1)})`, `${fmt(wall.median, 1)} (${fmt(wall.min, 1)}-${fmt(wall.max, 1)})`, s.pid === undefined ? '-' : fmt(emuCpu.median, 0)]);
      }
    }
    console.log(`${Keys} point reads (${Math.ceil(Keys / 20)} absent), medians of ${Rounds} interleaved rounds (min-max):`);
    console.log(table(['store', 'method', 'CPU ms (this process)', 'wall ms', 'emulator CPU ms'], rows));
  } finally {
    await level.close();
    client.destroy();
    await emu.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
