/**
 * Retention: how long data of each resolution is kept, per tenant, and the
 * pass that removes what has expired.
 *
 * A policy gives a duration per resolution (raw, 5 m, 1 h); 0 keeps that
 * resolution forever, which is the default: user data is never deleted
 * unless retention is configured. Segments count as raw data.
 *
 * Removing an expired object follows compaction's order: the tombstone
 * first (lib/compact/deletions.ts: the object is deleted after the grace
 * period, when no query can still be reading it), then its catalog entries.
 * Before either, the index buckets (weeks) of the days it was recorded in
 * are scheduled for index GC (lib/compact/index-gc.ts), so a crash never
 * leaves a week emptied of catalog entries but never collected.
 */
import { resolutionOf } from '../catalog/catalog.ts';
import { Resolution } from '../block/format.ts';
import type { TenantStores } from '../tsdb/db.ts';
import { validateTenant } from '../storage/tenant.ts';
import { BadInputError } from '../util/errors.ts';
import { Deletions, removeFromCatalog } from './deletions.ts';
import { indexGcEnabled, scheduleIndexGc } from './index-gc.ts';

/** Retention per resolution, ms; 0 keeps that resolution forever. */
export interface RetentionPolicy {
  raw: number;
  fiveMinutes: number;
  oneHour: number;
}

/** The default: keep everything. */
export const KeepForever: RetentionPolicy = Object.freeze({ raw: 0, fiveMinutes: 0, oneHour: 0 });

/** A default policy with per-tenant overrides (from `--retention.overrides`). */
export interface RetentionConfig {
  defaults: RetentionPolicy;
  overrides: Readonly<Record<string, Partial<RetentionPolicy>>>;
}

/** The policy of one tenant: its overrides over the defaults. */
export function policyFor(cfg: RetentionConfig, tenant: string): RetentionPolicy {
  const o = Object.prototype.hasOwnProperty.call(cfg.overrides, tenant) ? cfg.overrides[tenant]! : {};
  return { ...cfg.defaults, ...o };
}

/** Retention of one resolution (ms) under a policy; 0 means forever. */
export function retentionOf(policy: RetentionPolicy, resolution: number): number {
  if (resolution === Resolution.RAW) return policy.raw;
  if (resolution === Resolution.FIVE_MINUTES) return policy.fiveMinutes;
  if (resolution === Resolution.ONE_HOUR) return policy.oneHour;
  return 0; // an unknown resolution is never deleted
}

const Units: Readonly<Record<string, number>> = { y: 365 * 86_400_000, w: 7 * 86_400_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
const DurationRe = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;

/**
 * Parses a duration in Prometheus' syntax (units y, w, d, h, m, s, ms in
 * that order, e.g. `90d`, `1y`, `1w3d12h`; `0` alone is zero), in ms.
 *
 * @throws BadInputError naming `what` and the string.
 */
export function parseDuration(s: string, what = 'duration'): number {
  if (s === '0') return 0;
  const m = s === '' ? null : DurationRe.exec(s);
  if (m === null) throw new BadInputError(`${what}: not a valid duration string: ${JSON.stringify(s)} (want e.g. 90d, 1y, 12h, or 0 to keep forever)`);
  const units = ['y', 'w', 'd', 'h', 'm', 's', 'ms'];
  let ms = 0;
  for (let i = 0; i < units.length; i++) if (m[i + 1] !== undefined) ms += Number(m[i + 1]) * Units[units[i]!]!;
  if (!Number.isSafeInteger(ms)) throw new BadInputError(`${what}: duration ${JSON.stringify(s)} is too long`);
  return ms;
}

/** Keys of an override object, as the CLI flags name the resolutions. */
const OverrideKeys: Readonly<Record<string, keyof RetentionPolicy>> = { raw: 'raw', '5m': 'fiveMinutes', '1h': 'oneHour' };

/**
 * Parses per-tenant overrides: a JSON object `tenant -> { "raw"?, "5m"?,
 * "1h"? }` whose values are duration strings (or 0). Fields left out take
 * the defaults.
 *
 * @throws BadInputError naming the tenant and field at fault.
 */
export function parseRetentionOverrides(json: string, what = 'retention overrides'): Record<string, Partial<RetentionPolicy>> {
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch (cause) {
    throw new BadInputError(`${what}: not valid JSON: ${(cause as Error).message}`, { cause });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new BadInputError(`${what}: want a JSON object of tenant -> {"raw", "5m", "1h"}`);
  const out: Record<string, Partial<RetentionPolicy>> = {};
  for (const [tenant, p] of Object.entries(doc)) {
    try {
      validateTenant(tenant);
    } catch (cause) {
      throw new BadInputError(`${what}: ${(cause as Error).message}`, { cause });
    }
    if (typeof p !== 'object' || p === null || Array.isArray(p)) throw new BadInputError(`${what}: tenant ${JSON.stringify(tenant)}: want an object with "raw", "5m" and/or "1h"`);
    const pol: Partial<RetentionPolicy> = {};
    for (const [k, v] of Object.entries(p as Record<string, unknown>)) {
      const field = OverrideKeys[k];
      if (field === undefined) throw new BadInputError(`${what}: tenant ${JSON.stringify(tenant)}: unknown field ${JSON.stringify(k)}; want "raw", "5m" or "1h"`);
      if (typeof v !== 'string' && v !== 0) throw new BadInputError(`${what}: tenant ${JSON.stringify(tenant)}: "${k}" must be a duration string like "90d"`);
      pol[field] = v === 0 ? 0 : parseDuration(v as string, `${what}: tenant ${JSON.stringify(tenant)}: "${k}"`);
    }
    out[tenant] = pol;
  }
  return out;
}

/** What one retention pass did. */
export interface RetentionResult {
  /** Objects whose catalog entries were removed (and that got a tombstone). */
  expired: number;
}

/**
 * Expires every catalog entry of resolution r whose maxTime is older than
 * `now - retention(r)`: schedules index GC of its buckets, writes its
 * tombstone (due `now + graceMs`) and removes its catalog entries.
 */
export async function applyRetention(
  s: TenantStores,
  policy: RetentionPolicy,
  now: number,
  graceMs: number,
  onExpire?: (key: string) => void,
): Promise<RetentionResult> {
  if (policy.raw === 0 && policy.fiveMinutes === 0 && policy.oneHour === 0) return { expired: 0 };
  const expired = (await s.catalog.all()).filter((r) => {
    const ret = retentionOf(policy, resolutionOf(r.entry));
    return ret > 0 && r.entry.maxTime < now - ret;
  });
  if (expired.length === 0) return { expired: 0 };
  if (indexGcEnabled(policy)) await scheduleIndexGc(s.kv, [...new Set(expired.flatMap((r) => r.buckets))]);
  await new Deletions(s.kv).schedule(
    expired.map((r) => ({ id: r.entry.id, key: r.entry.key, buckets: r.buckets })),
    now + graceMs,
  );
  await removeFromCatalog(s.kv, expired);
  for (const r of expired) onExpire?.(r.entry.key);
  return { expired: expired.length };
}

/**
 * Parses the compact function's retention setting (EnvVars.retention):
 * `{"raw":"90d","5m":"1y","1h":"5y","tenants":{"<tenant>":{"raw":"30d"}}}`.
 * Missing fields keep data forever.
 */
export function parseRetentionConfig(json: string, what = 'retention'): RetentionConfig {
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch (cause) {
    throw new BadInputError(`${what}: not valid JSON: ${(cause as Error).message}`, { cause });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new BadInputError(`${what}: want a JSON object with "raw", "5m", "1h" and "tenants"`);
  const { tenants, ...defaults } = doc as Record<string, unknown>;
  // The defaults use the per-tenant syntax; "anonymous" is only a carrier here.
  const d = parseRetentionOverrides(JSON.stringify({ anonymous: defaults }), `${what}: defaults`).anonymous!;
  const overrides = tenants === undefined ? {} : parseRetentionOverrides(JSON.stringify(tenants), `${what}: tenants`);
  return { defaults: { ...KeepForever, ...d }, overrides };
}
