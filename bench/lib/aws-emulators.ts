/**
 * The `stratus-aws` benchmark target's backends: s3rver (S3) and dynalite
 * (DynamoDB), each started as its own child process on 127.0.0.1 with its
 * data in the run directory, so that their CPU can be read from /proc and
 * reported apart from Stratus' own (a real AWS deployment does not pay it).
 *
 * - s3rver runs through test/integration/s3/s3rver-child.mjs (the same
 *   child the integration tests use: it patches s3rver to list, put and get
 *   as S3 does) and stores each object as a file `<key>._S3rver_object`
 *   next to small metadata files, under `<runDir>/s3/<bucket>/`;
 * - dynalite runs its own CLI with `--path <runDir>/dynamodb`, i.e. on an
 *   on-disk LevelDB (values as JSON), so the table outlives nothing but can
 *   be measured.
 *
 * Stored size ({@link awsStoredSize}): the S3 figure is the sum of the
 * object files' lengths (what S3 bills; s3rver's metadata files are left
 * out), the DynamoDB figure is the sum of the table's item sizes by
 * DynamoDB's rules (UTF-8 bytes of attribute names and string values plus
 * binary lengths) plus the 100 bytes of per-item overhead DynamoDB bills for
 * storage, from a full Scan. `du` of both directories is kept beside it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { DynamoDBClient, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { ClassicLevel } from 'classic-level';
import { diskUsage } from './proc.ts';

// The SDK warns once per process that Node 20 support ends in 2027; the benchmark runs on Node 20 on purpose.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** Bucket and table the `stratus-aws` target uses (created by `--create-resources`). */
export const AWS_BUCKET = 'stratus-bench';
export const AWS_TABLE = 'stratus-bench';

/** Storage overhead DynamoDB adds to every item for its indexes (billed table size). */
export const DDB_ITEM_OVERHEAD_BYTES = 100;

const REPO = resolve(import.meta.dirname, '..', '..');
const S3RVER_CHILD = join(REPO, 'test', 'integration', 's3', 's3rver-child.mjs');
const DYNALITE_CLI = join(REPO, 'node_modules', 'dynalite', 'cli.js');
const OBJECT_SUFFIX = '._S3rver_object';

/** Running emulators of one run directory. */
export interface AwsEmulators {
  s3Endpoint: string;
  ddbEndpoint: string;
  s3Dir: string;
  ddbDir: string;
  /** Process ids, for CPU accounting: name -> pid. */
  pids: Record<string, number>;
  stop(): Promise<void>;
}

const running = new Map<string, AwsEmulators>();
/** dynalite's child process per run directory (replaced by {@link compactDynaliteStore}). */
const dynaliteChildren = new Map<string, ChildProcess>();
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

function freePort(): Promise<number> {
  return new Promise((done, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      srv.close(() => done(port));
    });
  });
}

/** Spawns a node child and resolves with the first stdout line `ready` accepts (or rejects on exit/timeout). */
async function spawnUntil(name: string, args: string[], ready: (line: string) => boolean, timeoutMs = 20_000): Promise<ChildProcess> {
  const child = spawn(process.execPath, args, {
    cwd: REPO,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const err: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (l) => err.length < 50 && err.push(l));
  await new Promise<void>((done, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start in ${timeoutMs} ms; stderr:\n${err.join('\n')}`)), timeoutMs);
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (line) => {
      if (ready(line)) {
        clearTimeout(timer);
        done();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before it was ready; stderr:\n${err.join('\n')}`));
    });
  });
  return child;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  child.stdin?.end();
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

function spawnDynalite(port: number, dir: string): Promise<ChildProcess> {
  return spawnUntil(
    'dynalite',
    [DYNALITE_CLI, '--host', '127.0.0.1', '--port', String(port), '--path', dir, '--createTableMs', '0', '--deleteTableMs', '0', '--updateTableMs', '0'],
    (line) => line.startsWith('Dynalite listening'),
  );
}

/** Starts s3rver and dynalite for `runDir` (data under `runDir/s3` and `runDir/dynamodb`). */
export async function startAwsEmulators(runDir: string): Promise<AwsEmulators> {
  const s3Dir = join(runDir, 's3');
  const ddbDir = join(runDir, 'dynamodb');
  await mkdir(s3Dir, { recursive: true });
  let s3Port = 0;
  const s3 = await spawnUntil('s3rver', ['--openssl-legacy-provider', S3RVER_CHILD, s3Dir], (line) => {
    try {
      s3Port = (JSON.parse(line) as { port: number }).port;
      return true;
    } catch {
      return false;
    }
  });
  const ddbPort = await freePort();
  try {
    dynaliteChildren.set(runDir, await spawnDynalite(ddbPort, ddbDir));
  } catch (err) {
    await stopChild(s3);
    throw err;
  }
  const emu: AwsEmulators = {
    s3Endpoint: `http://127.0.0.1:${s3Port}`,
    ddbEndpoint: `http://127.0.0.1:${ddbPort}`,
    s3Dir,
    ddbDir,
    pids: { s3rver: s3.pid ?? -1, dynalite: dynaliteChildren.get(runDir)!.pid ?? -1 },
    async stop() {
      const ddb = dynaliteChildren.get(runDir);
      await Promise.all([stopChild(s3), ddb === undefined ? undefined : stopChild(ddb)]);
      running.delete(runDir);
      dynaliteChildren.delete(runDir);
    },
  };
  running.set(runDir, emu);
  return emu;
}

/**
 * Stops dynalite of `runDir`, compacts its LevelDB and starts it again on
 * the same port and directory; returns the directory's size before and
 * after. Why: dynalite keeps the table in LevelDB, which keeps deleted and
 * overwritten items until it compacts them. After `stratus compact` removed
 * thousands of catalog and label-index items, the store is mostly such
 * debris (measured: 817 MB holding 8 live items at 50k series), and one
 * consistent Query wades through it (58 ms instead of ~4). DynamoDB has no
 * such debt, so the read figures after compaction would measure the
 * emulator, not Stratus.
 */
export async function compactDynaliteStore(runDir: string): Promise<{ beforeBytes: number; afterBytes: number }> {
  const e = emulatorsOf(runDir);
  const child = dynaliteChildren.get(runDir);
  if (child === undefined) throw new Error(`no dynalite child for ${runDir}`);
  const beforeBytes = diskUsage(e.ddbDir).allocated;
  await stopChild(child);
  const db = new ClassicLevel<Uint8Array, Uint8Array>(e.ddbDir, { keyEncoding: 'view', valueEncoding: 'view', createIfMissing: false });
  await db.open();
  try {
    // dynalite's keys are sublevel-prefixed strings: this range holds them all.
    await db.compactRange(new Uint8Array(0), new Uint8Array(64).fill(0xff));
  } finally {
    await db.close();
  }
  const port = Number(new URL(e.ddbEndpoint).port);
  const next = await spawnDynalite(port, e.ddbDir);
  dynaliteChildren.set(runDir, next);
  e.pids.dynalite = next.pid ?? -1;
  return { beforeBytes, afterBytes: diskUsage(e.ddbDir).allocated };
}

/** The emulators started for `runDir`; throws when there are none. */
export function emulatorsOf(runDir: string): AwsEmulators {
  const e = running.get(runDir);
  if (e === undefined) throw new Error(`no S3/DynamoDB emulators running for ${runDir}`);
  return e;
}

/** Stops the emulators of `runDir`, if any. */
export async function stopAwsEmulators(runDir: string): Promise<void> {
  await running.get(runDir)?.stop();
}

/** Environment for a Stratus process talking to the emulators of `runDir`. */
export function awsEnv(runDir: string): Record<string, string> {
  const e = emulatorsOf(runDir);
  return {
    AWS_ENDPOINT_URL_S3: e.s3Endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: e.ddbEndpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

/** `stratus` storage flags of the `stratus-aws` target. */
export const AWS_STORAGE_ARGS = ['--storage=aws', `--bucket=${AWS_BUCKET}`, `--table=${AWS_TABLE}`, '--create-resources'] as const;

/** Lengths of the S3 objects under `dir` (s3rver's layout), by object key. */
export function s3ObjectSizes(s3Dir: string, bucket = AWS_BUCKET): Map<string, number> {
  const out = new Map<string, number>();
  const root = join(s3Dir, bucket);
  const walk = (d: string, rel: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name), `${rel}${e.name}/`);
      else if (e.name.endsWith(OBJECT_SUFFIX)) out.set(rel + e.name.slice(0, -OBJECT_SUFFIX.length), statSync(join(d, e.name)).size);
    }
  };
  if (existsSync(root)) walk(root, '');
  return out;
}

function utf8Len(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** An attribute value's size by DynamoDB's item-size rules (numbers approximated by their digits). */
function valueSize(v: AttributeValue): number {
  if (v.S !== undefined) return utf8Len(v.S);
  if (v.B !== undefined) return v.B.length;
  if (v.N !== undefined) return Math.ceil(v.N.replace(/[-.]|e.*$/i, '').length / 2) + 1;
  if (v.BOOL !== undefined || v.NULL !== undefined) return 1;
  if (v.SS !== undefined) return v.SS.reduce((a, s) => a + utf8Len(s), 0);
  if (v.BS !== undefined) return v.BS.reduce((a, b) => a + b.length, 0);
  if (v.NS !== undefined) return v.NS.reduce((a, n) => a + valueSize({ N: n }), 0);
  if (v.L !== undefined) return 3 + v.L.reduce((a, x) => a + 1 + valueSize(x), 0);
  if (v.M !== undefined) return 3 + Object.entries(v.M).reduce((a, [k, x]) => a + 1 + utf8Len(k) + valueSize(x), 0);
  return 0;
}

/** Items and their total size (names + values, no overhead) of `table`, by a full Scan. */
export async function scanTableSize(endpoint: string, table = AWS_TABLE): Promise<{ items: number; bytes: number }> {
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  let items = 0;
  let bytes = 0;
  try {
    let start: Record<string, AttributeValue> | undefined;
    do {
      const out = await client.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
      for (const item of out.Items ?? []) {
        items++;
        for (const [name, v] of Object.entries(item)) bytes += utf8Len(name) + valueSize(v);
      }
      start = out.LastEvaluatedKey;
    } while (start !== undefined);
  } finally {
    client.destroy();
  }
  return { items, bytes };
}

/** The stored size of the `stratus-aws` target; see the module comment. */
export interface AwsStoredSize {
  /** S3 object bytes + DynamoDB item bytes with per-item overhead. */
  total: number;
  s3ObjectBytes: number;
  s3Objects: number;
  ddbItems: number;
  /** Item sizes without the per-item overhead. */
  ddbItemBytes: number;
  /** `du` (allocated) of s3rver's directory, metadata files included. */
  s3DirAllocated: number;
  /** `du` (allocated) of dynalite's LevelDB directory (JSON-encoded values). */
  ddbDirAllocated: number;
  /** Object bytes by key. */
  objects: Map<string, number>;
}

/** Measures what the emulators of `runDir` hold (see the module comment). */
export async function awsStoredSize(runDir: string): Promise<AwsStoredSize> {
  const e = emulatorsOf(runDir);
  const objects = s3ObjectSizes(e.s3Dir);
  const s3ObjectBytes = [...objects.values()].reduce((a, b) => a + b, 0);
  const { items, bytes } = await scanTableSize(e.ddbEndpoint);
  return {
    total: s3ObjectBytes + bytes + items * DDB_ITEM_OVERHEAD_BYTES,
    s3ObjectBytes,
    s3Objects: objects.size,
    ddbItems: items,
    ddbItemBytes: bytes,
    s3DirAllocated: diskUsage(e.s3Dir).allocated,
    ddbDirAllocated: existsSync(e.ddbDir) ? diskUsage(e.ddbDir).allocated : 0,
    objects,
  };
}
