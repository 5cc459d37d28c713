import type { TenantDB } from '../../lib/tsdb/db.ts';
import { labelsToString } from '../../lib/labels/labels.ts';
import type { Matcher } from '../../lib/labels/matcher.ts';

/** What a select over [mint, maxt] returns, one line per series: its labels, then ` t:v` per sample. */
export async function dumpSeries(db: TenantDB, mint: number, maxt: number, matchers: readonly Matcher[]): Promise<string[]> {
  const q = await db.querier(mint, maxt);
  const set = q.select(true, undefined, ...matchers);
  const out: string[] = [];
  while (await set.next()) {
    const it = set.at().iterator();
    let line = labelsToString(set.at().labels);
    while (it.next()) line += ` ${it.atT()}:${it.atV()}`;
    out.push(line);
  }
  return out;
}
