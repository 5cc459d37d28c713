/**
 * What earlier compaction would do to reads of recent data:
 * `node --import tsx bench/early-compaction.ts --data DIR [--windows 10,30,120]`.
 *
 * DIR is a kept, uncompacted local data directory (`npm run bench:ingest --
 * --target stratus --runs 1 --no-compact --no-read-latency --keep`, then
 * `<run dir>/data`). For each window size (minutes) the directory is copied
 * to `DIR-w<minutes>` and compacted in this process with that one level
 * (`compactTenants` with `levels: [window]`, forced, no delete grace), as a
 * first compaction level of that size would leave the data. Prints the
 * compaction's wall time, CPU and counts. Then time the reads of each copy
 * with `node --import tsx bench/read-inproc.ts --data DIR-w<minutes>` (and of
 * DIR itself, the segments) and compare; remove the copies afterwards.
 * Bounded: one compaction of the payload per window.
 */
import { cp, rm } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { compactTenants } from '../lib/compact/service.ts';
import { openLocalStorage } from '../lib/server/app.ts';

const { values } = parseArgs({ options: { data: { type: 'string' }, windows: { type: 'string', default: '10,30,120' } } });
if (values.data === undefined) throw new Error('--data DIR is required (a kept, uncompacted local data directory)');
const MinuteMs = 60_000;

for (const w of values.windows!.split(',').map(Number)) {
  if (!(w > 0)) throw new Error(`--windows wants minutes > 0, got ${values.windows}`);
  const dst = `${values.data}-w${w}`;
  await rm(dst, { recursive: true, force: true });
  await cp(values.data, dst, { recursive: true });
  const storage = await openLocalStorage(dst);
  try {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const s = await compactTenants(storage, { levels: [{ windowMs: w * MinuteMs, settleMs: 0 }], force: true, deleteGraceMs: 0 });
    const c = process.cpuUsage(c0);
    console.log(`${w}-minute blocks in ${dst}: ${((performance.now() - t0) / 1000).toFixed(1)} s, CPU ${((c.user + c.system) / 1e6).toFixed(1)} s, ${JSON.stringify(s.totals)}`);
  } finally {
    await storage.close();
  }
}
