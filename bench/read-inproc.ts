/**
 * remote_read in one process, without HTTP: `node --import tsx bench/read-inproc.ts --data DIR [flags]`.
 *
 * Opens a copy of a kept, compacted local data directory (filesystem +
 * LevelDB, as `stratus serve` does), builds the same read handler
 * (lib/remote/read-handler.ts) and calls it with the benchmark's remote_read
 * requests (bench/lib/selections.ts), draining streamed answers; reports
 * per read the median, p90 and mean wall ms and the CPU ms per request
 * (process.cpuUsage, warm-up excluded) and a checksum of the answer's
 * bytes (so a change of output shows; for SAMPLES, of the decompressed
 * body). For quick iterations and clean `node --cpu-prof` profiles;
 * bench/read-ab.ts measures over HTTP against other trees and Prometheus.
 *
 * Flags: --data DIR (required), --runs N (default 30), --sizes 100,1000,
 * --kinds samples,chunks, --series N (payload, default 10000), --segment-runs off
 * (read every segment as it is: lib/tsdb/segment-runs.ts), --cpu-prof-timed DIR
 * (a CPU profile of the timed reads only, one file per read kind, in DIR).
 */
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { openLocalStorage } from '../lib/server/app.ts';
import { newReadHandler } from '../lib/remote/read-handler.ts';
import { newRemoteMetrics } from '../lib/remote/metrics.ts';
import { createLogger } from '../lib/util/logger.ts';
import { encodeReadRequest } from '../lib/prompb/read.ts';
import { snappyDecode, snappyEncode } from '../lib/prompb/snappy.ts';
import { ResponseType } from '../lib/prompb/types.ts';
import { crc32c } from '../lib/util/crc32c.ts';
import { DEFAULT_PARAMS, payloadKey, type PayloadIndex } from './lib/payloads.ts';
import { quantile } from './lib/replay.ts';
import { REPO_ROOT } from './lib/server.ts';
import { selectSeries } from './lib/selections.ts';
import { formatTidCpu, tidCpuSeconds } from './lib/threads.ts';

const { values } = parseArgs({
  options: {
    data: { type: 'string' },
    runs: { type: 'string' },
    sizes: { type: 'string' },
    kinds: { type: 'string' },
    series: { type: 'string' },
    'segment-runs': { type: 'string' },
    'cpu-prof-timed': { type: 'string' },
  },
  strict: true,
});
if (values.data === undefined) throw new Error('--data DIR is required');
const runs = Number(values.runs ?? 30);
const sizes = (values.sizes ?? '100,1000').split(',').map(Number);
const kinds = (values.kinds ?? 'samples,chunks').split(',');
const params = { ...DEFAULT_PARAMS, series: Number(values.series ?? DEFAULT_PARAMS.series) };
const index = JSON.parse(readFileSync(join(REPO_ROOT, 'bench', 'payloads', payloadKey(params), 'index.json'), 'utf8')) as PayloadIndex;

const work = await mkdtemp(join(tmpdir(), 'stratus-read-inproc-'));
await cp(values.data, join(work, 'data'), { recursive: true });
const storage = await openLocalStorage(join(work, 'data'), undefined, { segmentRuns: values['segment-runs'] !== 'off' });
try {
  const handler = newReadHandler({ storage, metrics: newRemoteMetrics(), logger: createLogger({ level: 'error' }) });
  for (const n of sizes) {
    const sel = selectSeries(index, n);
    for (const kind of kinds) {
      const body = snappyEncode(
        encodeReadRequest({
          queries: [{ startTimestampMs: sel.startMs, endTimestampMs: sel.endMs, matchers: sel.matchers }],
          acceptedResponseTypes: [kind === 'samples' ? ResponseType.SAMPLES : ResponseType.STREAMED_XOR_CHUNKS],
        }),
      );
      // Sends the request; drains streamed answers; sums up the answer only when `check` (untimed).
      const once = async (check = false): Promise<{ bytes: number; crc: number }> => {
        const res = await handler({
          method: 'POST',
          path: '/api/v1/read',
          query: new URLSearchParams(),
          headers: { 'content-encoding': 'snappy', 'content-type': 'application/x-protobuf' },
          body,
        });
        if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${String(res.body)}`);
        const b = res.body;
        // Streamed answers that fit one piece come as bytes too (their CRC is of the frames).
        if (b instanceof Uint8Array) return { bytes: b.length, crc: check ? crc32c(kind === 'samples' ? snappyDecode(b, 1 << 30) : b) : 0 };
        if (typeof b === 'string' || b === undefined) throw new Error('unexpected body');
        let bytes = 0;
        let crc = 0;
        for await (const piece of b) {
          bytes += piece.length;
          if (check) crc = crc32c(piece, crc);
        }
        return { bytes, crc };
      };
      // Warm-up, until merged runs of segments (built in the background
      // after a run is seen twice) are all built: timed is the steady
      // state of repeated reads.
      // (Level-2 runs are asked for only once their level-1 runs are built:
      // reads and waits alternate until a round builds nothing new.)
      for (let i = 0, built = -1; i < 12 && built !== (storage.runs?.built ?? 0); i++) {
        built = storage.runs?.built ?? 0;
        await once();
        await once();
        await storage.runs?.idle();
      }
      const ms = new Float64Array(runs);
      const profiler = values['cpu-prof-timed'] === undefined ? undefined : await startProfile();
      const c0 = process.cpuUsage();
      const t0s = tidCpuSeconds(process.pid);
      for (let i = 0; i < runs; i++) {
        const t0 = performance.now();
        await once();
        ms[i] = performance.now() - t0;
        // Reads arriving over a network leave the event loop turns between them.
        await new Promise((r) => setImmediate(r));
      }
      const c = process.cpuUsage(c0);
      const threads = formatTidCpu(process.pid, t0s, tidCpuSeconds(process.pid));
      const mean = ms.reduce((a, b) => a + b, 0) / runs;
      if (profiler !== undefined) await stopProfile(profiler, join(values['cpu-prof-timed']!, `read-${n}-${kind}.cpuprofile`));
      const last = await once(true);
      ms.sort();
      console.log(
        `${String(n).padStart(5)} ${kind.padEnd(8)} median ${quantile(ms, 0.5).toFixed(2)} ms  min ${ms[0]!.toFixed(2)}  p90 ${quantile(ms, 0.9).toFixed(2)}  mean ${mean.toFixed(2)}  cpu ${((c.user + c.system) / 1000 / runs).toFixed(2)} ms/req  ${last.bytes} bytes crc ${last.crc}`,
      );
      console.log(`      CPU s by thread over the timed reads: ${threads}`);
    }
  }
} finally {
  await storage.close();
  await rm(work, { recursive: true, force: true });
}

async function startProfile(): Promise<Session> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return session;
}

async function stopProfile(session: Session, file: string): Promise<void> {
  const { profile } = await session.post('Profiler.stop');
  session.disconnect();
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(profile));
}
