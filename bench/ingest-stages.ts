/**
 * CPU per stage of the remote-write path, each stage run alone over the
 * `bench:ingest` payloads, in process and single-threaded:
 * `node --import tsx bench/ingest-stages.ts [--series N] [--rounds N] [--reps N]`.
 *
 * Stages (cumulative: each includes the ones before it):
 *   snappy   - decompress every body
 *   decode   - + protobuf decode into columns (recycled, as the handler does)
 *   resolve  - + series-cache lookup of every series (cache warmed first)
 *   append   - + buffering in an appender
 *   segment  - + the segment built for each request (nothing written)
 * Prints the minimum over `reps` of main-thread CPU seconds per million
 * samples, and the difference between consecutive stages.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_PARAMS, loadOrGenerate } from './lib/payloads.ts';
import { REPO_ROOT } from './lib/server.ts';
import { snappyDecode } from '../lib/prompb/snappy.ts';
import { decodeWriteRequest, type WriteRequestColumns } from '../lib/prompb/write-v1.ts';
import { MemBucket } from '../lib/objstore/mem.ts';
import { MemKVStore } from '../lib/kvstore/mem.ts';
import { newSeriesEntry, Storage, type TenantDB } from '../lib/tsdb/db.ts';
import { canonicalize } from '../lib/labels/validate.ts';
import { utf8Decode } from '../lib/prompb/pb.ts';
import type { SeriesHandle } from '../lib/tsdb/series-cache.ts';
import { SegmentBuilder } from '../lib/segment/writer.ts';
import { idOrder } from '../lib/tsdb/appender.ts';

const { values } = parseArgs({ options: { series: { type: 'string' }, rounds: { type: 'string' }, reps: { type: 'string', default: '5' } } });
const params = { ...DEFAULT_PARAMS, ...(values.series ? { series: Number(values.series) } : {}), ...(values.rounds ? { rounds: Number(values.rounds) } : {}) };
const { index, bodies } = await loadOrGenerate(join(REPO_ROOT, 'bench', 'payloads'), params, () => {});
const M = index.samples / 1e6;

const Stage = { Snappy: 0, Decode: 1, Resolve: 2, Append: 3, Segment: 4 } as const;
const names = ['snappy', 'decode', 'resolve', 'append', 'segment'];

function resolve(db: TenantDB, wr: WriteRequestColumns, i: number, dv: DataView, prev: SeriesHandle | undefined): SeriesHandle {
  const start = wr.labelsByteStart[i]!;
  const end = wr.labelsByteEnd[i]!;
  const hit = db.series.find(wr.buf, dv, start, end, prev);
  if (hit !== undefined) return hit;
  const names: string[] = [];
  const vals: string[] = [];
  for (let j = wr.labelStart[i]!; j < wr.labelStart[i + 1]!; j++) {
    names.push(utf8Decode(wr.buf, wr.nameOff[j]!, wr.nameLen[j]!));
    vals.push(utf8Decode(wr.buf, wr.valueOff[j]!, wr.valueLen[j]!));
  }
  return db.series.add(wr.buf, dv, start, end, newSeriesEntry(canonicalize(names, vals)), prev);
}

function run(stage: number, db: TenantDB): void {
  let spare: WriteRequestColumns | undefined;
  for (const body of bodies) {
    const raw = snappyDecode(body, 64 << 20);
    if (stage === Stage.Snappy) continue;
    const wr = decodeWriteRequest(raw, spare);
    spare = wr;
    if (stage === Stage.Decode) continue;
    const dv = new DataView(wr.buf.buffer, wr.buf.byteOffset, wr.buf.byteLength);
    const app = stage >= Stage.Append ? db.appender({ samples: wr.numSamples, series: wr.numSeries }) : undefined;
    let prev: SeriesHandle | undefined;
    for (let i = 0; i < wr.numSeries; i++) {
      prev = resolve(db, wr, i, dv, prev);
      app?.appendMany(prev.entry, wr.timestamps, wr.values, wr.sampleStart[i]!, wr.sampleStart[i + 1]!);
    }
    if (stage === Stage.Segment) {
      // What commit does before writing, minus index and catalog.
      const w = (app as unknown as { entries: never[]; runs: number; ts: Float64Array; vs: Float64Array; runStart: Int32Array });
      const order = idOrder(w.entries, w.runs);
      const b = new SegmentBuilder();
      for (let k = 0; k < w.runs; k++) {
        const r = order[k]!;
        const s = w.entries[r]! as { w0: number; w1: number; w2: number; w3: number };
        b.addSeriesWords(s.w0, s.w1, s.w2, s.w3, new Uint8Array(0), w.ts, w.vs, w.runStart[r]!, r + 1 < w.runs ? w.runStart[r + 1]! : app!.numSamples);
      }
      b.finish();
    }
  }
}

function mainCpu(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

const best = names.map(() => Infinity);
for (let rep = 0; rep < Number(values.reps); rep++) {
  for (let stage = 0; stage < names.length; stage++) {
    const db = new Storage({ bucket: new MemBucket(), kv: new MemKVStore() }).tenant('t');
    if (stage >= Stage.Resolve) run(Stage.Resolve, db); // warm the cache
    const c0 = mainCpu();
    run(stage, db);
    best[stage] = Math.min(best[stage]!, (mainCpu() - c0) / M);
  }
}
names.forEach((n, i) => console.log(`${n.padEnd(8)} ${best[i]!.toFixed(3)} CPU-s/M (+${(best[i]! - (i > 0 ? best[i - 1]! : 0)).toFixed(3)})`));
