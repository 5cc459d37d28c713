/**
 * `/api/v1/series`, `/api/v1/labels` and `/api/v1/label/<name>/values`:
 * series and label listings over the tenant's storage, with Prometheus
 * 2.42's parameters, defaults (unbounded time range) and error texts
 * (web/api/v1/api.go `series`, `labelNames`, `labelValues`).
 */
import { compareLabels, type Labels } from '../labels/labels.ts';
import type { Matcher } from '../labels/matcher.ts';
import { goQuote } from '../labels/quote.ts';
import type { Querier } from '../storage/interface.ts';
import { tenantFromHeaders } from '../storage/tenant.ts';
import type { HttpRequest } from '../server/types.ts';
import { compareUtf8 } from '../util/utf8.ts';
import { ApiError, ErrorType, invalidParam } from './errors.ts';
import { jsonString, labelsJson } from './json.ts';
import { MaxTimeMs, MinTimeMs, parseTimeParam, type FormValues } from './params.ts';
import type { ApiResult } from './respond.ts';
import { parseMatchersParam } from './selectors.ts';
import type { ApiOptions } from './types.ts';

/** Valid label names (Prometheus' `model.LabelNameRE`). */
const LabelNameRe = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** The path of label values; the name is one path segment. */
export const LabelValuesPathRe = /^\/api\/v1\/label\/([^/]+)\/values$/;

function stringsJson(xs: readonly string[]): string {
  return '[' + xs.map(jsonString).join(',') + ']';
}

/** Sorted union, in byte order (Go's `slices.Sort` on strings). */
function sortedUnion(lists: readonly (readonly string[])[]): string[] {
  const set = new Set<string>();
  for (const l of lists) for (const x of l) set.add(x);
  return [...set].sort(compareUtf8);
}

/** Parses match[] for the label endpoints, whose parse errors are not wrapped in "invalid parameter". */
function labelMatchers(form: FormValues): Matcher[][] {
  try {
    return parseMatchersParam(form.all('match[]'));
  } catch (err) {
    throw new ApiError(ErrorType.badData, (err as Error).message, { cause: err });
  }
}

/**
 * Clamps a time to the safe-integer range the storage keys times in.
 * Prometheus' unbounded defaults (about ±9.2e18 ms) lie outside it; no
 * sample can, so clamping changes no answer.
 */
export function clampTime(t: number): number {
  return Math.min(Number.MAX_SAFE_INTEGER, Math.max(Number.MIN_SAFE_INTEGER, t));
}

async function withQuerier<T>(opts: ApiOptions, req: HttpRequest, mint: number, maxt: number, fn: (q: Querier) => Promise<T>): Promise<T> {
  const q = await opts.storage.tenant(tenantFromHeaders(req.headers)).querier(clampTime(mint), clampTime(maxt));
  try {
    return await fn(q);
  } finally {
    await q.close();
  }
}

/** The series and label endpoints over `opts`. */
export function seriesFuncs(opts: ApiOptions) {
  /** `/api/v1/labels`: optional `match[]`, `start`, `end`. */
  async function labelNames(req: HttpRequest, form: FormValues): Promise<ApiResult> {
    const start = parseTimeParam(form, 'start', MinTimeMs);
    const end = parseTimeParam(form, 'end', MaxTimeMs);
    const sets = labelMatchers(form);
    const names = await withQuerier(opts, req, start, end, async (q) => {
      if (sets.length === 0) return q.labelNames();
      return sortedUnion(await Promise.all(sets.map((ms) => q.labelNames(...ms))));
    });
    return { data: stringsJson(names) };
  }

  /** `/api/v1/label/<name>/values`: optional `match[]`, `start`, `end`. */
  async function labelValues(req: HttpRequest, form: FormValues): Promise<ApiResult> {
    const m = LabelValuesPathRe.exec(req.path);
    if (m === null) throw new ApiError(ErrorType.notFound, `no endpoint at ${req.path}`);
    const name = m[1]!;
    if (!LabelNameRe.test(name)) throw new ApiError(ErrorType.badData, `invalid label name: ${goQuote(name)}`);
    const start = parseTimeParam(form, 'start', MinTimeMs);
    const end = parseTimeParam(form, 'end', MaxTimeMs);
    const sets = labelMatchers(form);
    const values = await withQuerier(opts, req, start, end, async (q) => {
      if (sets.length === 0) return q.labelValues(name);
      return Promise.all(sets.map((ms) => q.labelValues(name, ...ms)));
    });
    return { data: stringsJson(sets.length === 0 ? sortedUnion([values as string[]]) : sortedUnion(values as string[][])) };
  }

  /** `/api/v1/series`: required `match[]`, optional `start`, `end`. */
  async function series(req: HttpRequest, form: FormValues): Promise<ApiResult> {
    const matches = form.all('match[]');
    if (matches.length === 0) throw new ApiError(ErrorType.badData, 'no match[] parameter provided');
    const start = parseTimeParam(form, 'start', MinTimeMs);
    const end = parseTimeParam(form, 'end', MaxTimeMs);
    let sets: Matcher[][];
    try {
      sets = parseMatchersParam(matches);
    } catch (err) {
      throw invalidParam('match[]', (err as Error).message, err);
    }
    const warnings: string[] = [];
    const found = await withQuerier(opts, req, start, end, async (q) => {
      const all: Labels[] = [];
      // "series" is Prometheus' hint for lookups that need no samples.
      const hints = { start: clampTime(start), end: clampTime(end), func: 'series' };
      for (const ms of sets) {
        const set = q.select(true, hints, ...ms);
        while (await set.next()) all.push(set.at().labels);
        warnings.push(...set.warnings());
      }
      return all;
    });
    // Several match[] may select the same series: merge them in label order, each once.
    found.sort(compareLabels);
    const parts: string[] = [];
    for (let i = 0; i < found.length; i++) {
      if (i > 0 && compareLabels(found[i - 1]!, found[i]!) === 0) continue;
      parts.push(labelsJson(found[i]!));
    }
    return { data: '[' + parts.join(',') + ']', warnings };
  }

  return { labelNames, labelValues, series };
}
