/**
 * What the durability syscalls of one remote-write request cost in CPU:
 * `node --import tsx bench/durability-cost.ts [--n 1200] [--size 104000] [--concurrency 4]`.
 *
 * Runs each step of a local-mode commit alone, `n` times with
 * `concurrency` in flight, and prints CPU microseconds per operation over
 * all threads of this process (utime + stime from /proc, so the libuv
 * pool's fsyncs and LevelDB's threads count):
 *
 * - `file`: open a temp file, write `size` bytes, fsync, close, rename;
 * - `file-nosync`: the same without the fsync;
 * - `dir`: open the folder, fsync it, close;
 * - `leveldb-sync`: one synced LevelDB batch of one ~300-byte item;
 * - `leveldb-nosync`: the same batch unsynced;
 * - `wal`: append `size` bytes to one open file and fdatasync it.
 *
 * Figures are per operation; a request pays file + dir + leveldb-sync today.
 */
import { mkdtemp, open, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ClassicLevel } from 'classic-level';
import { processCpu } from './lib/proc.ts';

const { values } = parseArgs({
  options: { n: { type: 'string' }, size: { type: 'string' }, concurrency: { type: 'string' }, only: { type: 'string' } },
});
const N = Number(values.n ?? 1200);
const SIZE = Number(values.size ?? 104_000);
const CONC = Number(values.concurrency ?? 4);

async function measure(name: string, op: (i: number) => Promise<void>): Promise<void> {
  const before = processCpu(process.pid);
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONC }, async () => {
      while (next < N) await op(next++);
    }),
  );
  const wall = performance.now() - t0;
  const after = processCpu(process.pid);
  const user = after.user - before.user;
  const sys = after.system - before.system;
  const per = ((user + sys) / N) * 1e6;
  console.log(`${name.padEnd(16)} ${per.toFixed(0).padStart(6)} CPU-us/op (user ${((user / N) * 1e6).toFixed(0)}, sys ${((sys / N) * 1e6).toFixed(0)}), wall ${(wall / N).toFixed(2)} ms/op`);
}

const dir = await mkdtemp(join(tmpdir(), 'stratus-dur-'));
const data = new Uint8Array(SIZE).map((_, i) => (i * 31) & 0xff);
const db = new ClassicLevel<Uint8Array, Uint8Array>(join(dir, 'ldb'), { keyEncoding: 'view', valueEncoding: 'view' });
await db.open();
const value = new Uint8Array(300).fill(7);
const wal = await open(join(dir, 'wal'), 'a');
const only = values.only?.split(',');
const want = (s: string) => only === undefined || only.includes(s);

try {
  if (want('file')) {
    await measure('file', async (i) => {
      const tmp = join(dir, `.tmp-${i}`);
      const fh = await open(tmp, 'wx');
      await fh.writeFile(data);
      await fh.sync();
      await fh.close();
      await rename(tmp, join(dir, `seg-${i}`));
    });
  }
  if (want('file-nosync')) {
    await measure('file-nosync', async (i) => {
      const tmp = join(dir, `.tmp-n${i}`);
      const fh = await open(tmp, 'wx');
      await fh.writeFile(data);
      await fh.close();
      await rename(tmp, join(dir, `segn-${i}`));
    });
  }
  if (want('dir')) {
    await measure('dir', async () => {
      const fh = await open(dir, 'r');
      await fh.sync();
      await fh.close();
    });
  }
  if (want('leveldb-sync')) {
    await measure('leveldb-sync', async (i) => {
      const b = db.batch();
      b.put(new TextEncoder().encode(`catalog\u0000k${i}`), value);
      await b.write({ sync: true });
    });
  }
  if (want('leveldb-nosync')) {
    await measure('leveldb-nosync', async (i) => {
      const b = db.batch();
      b.put(new TextEncoder().encode(`catalogn\u0000k${i}`), value);
      await b.write({ sync: false });
    });
  }
  if (want('wal')) {
    await measure('wal', async () => {
      await wal.write(data);
      await wal.datasync();
    });
  }
} finally {
  await wal.close();
  await db.close();
  await rm(dir, { recursive: true, force: true });
}
