/**
 * Label selections of an exact number of series on a benchmark payload, for
 * timing remote_read: `{__name__=~"m1|m2|...", instance=~"host-0:9100|..."}`
 * over metrics that every host exposes exactly once (memory, load, kernel
 * counters...), k metrics x H hosts = the wanted count. The count is not
 * assumed: it is recounted over the whole generated fleet with the same
 * anchored regex semantics a server applies, and a mismatch throws.
 */
import { MatcherType, type LabelMatcher } from '../../lib/prompb/types.ts';
import { buildFleet, type Fleet } from './node-exporter.ts';
import type { PayloadIndex } from './payloads.ts';

/** One selection: matchers, the promQL-style selector text and what it must return. */
export interface Selection {
  /** Wanted and verified series count. */
  series: number;
  metrics: string[];
  hosts: string[];
  matchers: LabelMatcher[];
  /** The selector as text (for VictoriaMetrics' export and the report). */
  selector: string;
  /** Inclusive query range, ms: one hour from the first sample. */
  startMs: number;
  endMs: number;
  /** Samples the range must return, when the payload lies wholly inside it (else undefined). */
  expectedSamples: number | undefined;
}

/** One hour, ms. */
const HOUR_MS = 3_600_000;

/** The instance label of a fleet host. */
function instanceOf(fleet: Fleet, first: number): string {
  return fleet.labels[first]!.find((l) => l.name === 'instance')!.value;
}

/**
 * Metric names with exactly one series on host `h`, in the fleet's order.
 */
function singleSeriesMetrics(fleet: Fleet, h: number): string[] {
  const host = fleet.hosts[h]!;
  const count = new Map<string, number>();
  for (let i = host.firstSeries; i < host.firstSeries + host.numSeries; i++) {
    const name = fleet.metricNames[fleet.metric[i]!]!;
    count.set(name, (count.get(name) ?? 0) + 1);
  }
  return [...count].filter(([, c]) => c === 1).map(([n]) => n);
}

/** Anchored alternation of literal strings (the strings must carry no regex metacharacters). */
function alternation(values: readonly string[]): string {
  for (const v of values) if (/[\\^$.|?*+()[\]{}]/.test(v)) throw new Error(`"${v}" needs escaping in a regex`);
  return values.join('|');
}

/**
 * Builds the selection of exactly `n` series: the smallest k dividing `n`
 * such that n/k hosts exist whole (not the fleet's last, possibly cut
 * short, host) and expose k single-series metrics in common.
 *
 * @throws Error when the payload is too small for `n`, or the recount differs.
 */
export function selectSeries(index: PayloadIndex, n: number, fleet = buildFleet(index.params.series, index.params.seed)): Selection {
  const wholeHosts = fleet.hosts.length - 1;
  for (let k = 1; k <= n; k++) {
    if (n % k !== 0 || n / k > wholeHosts) continue;
    const h = n / k;
    let common = singleSeriesMetrics(fleet, 0);
    for (let j = 1; j < h; j++) {
      const s = new Set(singleSeriesMetrics(fleet, j));
      common = common.filter((m) => s.has(m));
    }
    if (common.length < k) continue;
    const metrics = common.slice(0, k);
    const hosts = fleet.hosts.slice(0, h).map((host) => instanceOf(fleet, host.firstSeries));
    const matchers: LabelMatcher[] = [
      { type: MatcherType.RE, name: '__name__', value: alternation(metrics) },
      { type: MatcherType.RE, name: 'instance', value: alternation(hosts) },
    ];
    // Recount over every series of the fleet, regexes anchored as servers anchor them.
    const res = matchers.map((m) => new RegExp(`^(?:${m.value})$`));
    let got = 0;
    for (const ls of fleet.labels) {
      if (matchers.every((m, j) => res[j]!.test(ls.find((l) => l.name === m.name)?.value ?? ''))) got++;
    }
    if (got !== n) throw new Error(`selection for ${n} series matches ${got} series of the payload`);
    const startMs = index.minT;
    const endMs = index.minT + HOUR_MS - 1;
    const selector = `{__name__=~${JSON.stringify(matchers[0]!.value)},instance=~${JSON.stringify(matchers[1]!.value)}}`;
    // Every host is scraped once per round: with the whole payload in range, each series has `rounds` samples.
    const expectedSamples = index.maxT <= endMs ? n * index.params.rounds : undefined;
    return { series: n, metrics, hosts, matchers, selector, startMs, endMs, expectedSamples };
  }
  throw new Error(`the payload (${fleet.hosts.length} hosts) is too small to select exactly ${n} series this way`);
}
