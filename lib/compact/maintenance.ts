/**
 * The maintenance part of a compaction run, after the compaction passes
 * and before due deletions are carried out: downsampling (5 m, then 1 h),
 * retention, then index GC. Runs under the compactor's lease.
 */
import type { TenantStores } from '../tsdb/db.ts';
import { planFiveMinutes, planOneHour, runDownsampleJob, type DownsampleJob } from './downsample-jobs.ts';
import { applyRetention, KeepForever, type RetentionPolicy } from './retention.ts';
import { runIndexGc } from './index-gc.ts';

export interface MaintenanceOptions {
  /** Make 5 m and 1 h blocks. */
  downsample: boolean;
  retention: RetentionPolicy;
  /** Window of the top compaction level, ms (raw blocks of that size are downsampled). */
  topWindowMs: number;
  force: boolean;
  graceMs: number;
  quality: number;
  now: () => number;
  /** Renews the lease between jobs; throws when it is lost. */
  renew: () => Promise<void>;
  progress: (msg: string) => void;
}

/** What maintenance did (merged into the CompactionRun). */
export interface MaintenanceResult {
  downsampledBlocks: number;
  expiredObjects: number;
  indexBucketsRemoved: number;
}

export async function maintain(s: TenantStores, opts: MaintenanceOptions): Promise<MaintenanceResult> {
  const res: MaintenanceResult = { downsampledBlocks: 0, expiredObjects: 0, indexBucketsRemoved: 0 };
  const policy = opts.retention ?? KeepForever;
  if (opts.downsample) {
    const five = planFiveMinutes(await s.catalog.all(), opts.now(), { topWindowMs: opts.topWindowMs, force: opts.force, rawRetentionMs: policy.raw });
    res.downsampledBlocks += await runJobs(s, five, opts);
    const hour = planOneHour(await s.catalog.all(), opts.now(), { force: opts.force });
    res.downsampledBlocks += await runJobs(s, hour, opts);
  }
  res.expiredObjects = (await applyRetention(s, policy, opts.now(), opts.graceMs, (key) => opts.progress(`tenant ${s.tenant}: ${key} expired`))).expired;
  res.indexBucketsRemoved = (
    await runIndexGc(s.kv, policy, opts.now(), (b, n) => opts.progress(`tenant ${s.tenant}: week of ${new Date(b * 86_400_000).toISOString().slice(0, 10)} expired: removed ${n} label index items`))
  ).buckets;
  return res;
}

async function runJobs(s: TenantStores, jobs: readonly DownsampleJob[], opts: MaintenanceOptions): Promise<number> {
  let n = 0;
  for (const job of jobs) {
    await opts.renew();
    const t0 = opts.now();
    const made = await runDownsampleJob(s, job, { graceMs: opts.graceMs, now: opts.now, quality: opts.quality });
    const what = `${job.resolution / 60_000} m block of ${new Date(job.windowStart).toISOString()}`;
    if (made === undefined) {
      opts.progress(`tenant ${s.tenant}: ${what}: no samples to aggregate (NaNs only)`);
      continue;
    }
    n++;
    opts.progress(
      `tenant ${s.tenant}: ${what}: ${job.inputs.length} blocks aggregated into ${made.key} (${made.numSeries} series, ${made.numSamples} rows, ${made.size} bytes, ${opts.now() - t0} ms)` +
        (job.replaces.length > 0 ? `, replacing ${job.replaces.map((r) => r.entry.id).join(', ')}` : ''),
    );
  }
  return n;
}
