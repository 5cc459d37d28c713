/**
 * The compaction a schedule would have run at a given moment, for the
 * ingest benchmark's "scheduled" state (bench/lib/scheduled.ts): a child
 * process of its own, so that its CPU is the kernel's account of that
 * process alone, as for `stratus compact` (bench/lib/compaction.ts).
 *
 * It opens the storage as `stratus serve` does (lib/server/app.ts
 * `openStorage`: a data directory, or a bucket and table through the
 * endpoints in the environment) and runs `compactTenants` with the
 * library's defaults (levels, settle times, delete grace), not forced,
 * with downsampling on as the server's timer runs it, and with the clock
 * set to `--now` (the payload's last sample: the moment its last round was
 * written). Then it counts the catalog's entries over `--from`..`--to`:
 * what a read of that range has to open.
 *
 *   node --import tsx bench/lib/compact-at.ts --now MS --from MS --to MS --out FILE
 *        (--data-dir DIR | --storage=aws --bucket B --table T [--create-resources])
 *
 * Writes a {@link CompactAtResult} as JSON to `--out`; exits 1 when a
 * tenant failed.
 */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { compactTenants, describeSummary } from '../../lib/compact/service.ts';
import type { CompactionCounts } from '../../lib/compact/compactor.ts';
import { openStorage } from '../../lib/server/app.ts';
import { formatDuration } from '../../lib/promql/parser/printer.ts';
import type { Storage } from '../../lib/tsdb/db.ts';

/** Raw catalog entries over a time range, summed over tenants. */
export interface CatalogCounts {
  /** Segments (each a separate object a read opens). */
  segments: number;
  /** Raw blocks. */
  blocks: number;
  /** Raw blocks by window size ("10m", "2h", "1d", ...). */
  blocksByWindow: Record<string, number>;
}

/** What {@link compactAt} did and left. */
export interface CompactAtResult {
  /** The clock the compaction ran with, ms. */
  nowMs: number;
  /** The library's one-line summary (lib/compact/service.ts describeSummary). */
  summary: string;
  totals: CompactionCounts;
  failed: number;
  /** Catalog entries over the range before and after the compaction. */
  before: CatalogCounts;
  after: CatalogCounts;
}

/** Counts the raw (full-resolution) catalog entries of every tenant overlapping `[fromMs, toMs]`. */
export async function catalogCounts(storage: Storage, fromMs: number, toMs: number): Promise<CatalogCounts> {
  const out: CatalogCounts = { segments: 0, blocks: 0, blocksByWindow: {} };
  for (const id of await storage.tenantIds()) {
    const { entries } = await storage.tenant(id).stores.catalog.entries(fromMs, toMs);
    for (const e of entries) {
      if (e.kind === 'segment') {
        out.segments++;
        continue;
      }
      out.blocks++;
      const w = formatDuration(e.windowEnd - e.windowStart);
      out.blocksByWindow[w] = (out.blocksByWindow[w] ?? 0) + 1;
    }
  }
  return out;
}

/**
 * Compacts every tenant of `storage` as a scheduled (not forced) run at
 * `nowMs` would, with the library's defaults, and counts the catalog's
 * entries over `[fromMs, toMs]` before and after.
 */
export async function compactAt(storage: Storage, nowMs: number, fromMs: number, toMs: number): Promise<CompactAtResult> {
  const before = await catalogCounts(storage, fromMs, toMs);
  const s = await compactTenants(storage, { now: () => nowMs, downsample: true });
  const after = await catalogCounts(storage, fromMs, toMs);
  return { nowMs, summary: describeSummary(s), totals: s.totals, failed: s.failed, before, after };
}

function ms(v: string | undefined, flag: string): number {
  const n = Number(v);
  if (v === undefined || !Number.isSafeInteger(n)) throw new Error(`--${flag} wants ms since the epoch, got ${JSON.stringify(v)}`);
  return n;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      now: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      out: { type: 'string' },
      storage: { type: 'string', default: 'local' },
      'data-dir': { type: 'string', default: '' },
      bucket: { type: 'string', default: '' },
      table: { type: 'string', default: '' },
      'create-resources': { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.out === undefined) throw new Error('--out FILE is required');
  if (values.storage !== 'local' && values.storage !== 'aws') throw new Error(`--storage ${values.storage}; want local or aws`);
  const storage = await openStorage({
    storage: values.storage,
    dataDir: values['data-dir'],
    bucket: values.bucket,
    table: values.table,
    createResources: values['create-resources'],
  });
  try {
    const r = await compactAt(storage, ms(values.now, 'now'), ms(values.from, 'from'), ms(values.to, 'to'));
    await writeFile(values.out, JSON.stringify(r));
    process.stderr.write(`${r.summary}\n`);
    return r.failed > 0 ? 1 : 0;
  } finally {
    await storage.close();
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main().catch((err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    return 1;
  });
}
