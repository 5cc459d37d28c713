/**
 * What the query benchmark asks: typical Grafana dashboard panels over the
 * node_exporter fleet of bench/lib/node-exporter.ts, each as a range query
 * over the last hour and the last day of the payload, with the steps
 * Grafana picks for such ranges on a wide panel.
 */
import type { PayloadIndex } from './payloads.ts';

/** One dashboard panel's query. */
export interface QueryDef {
  /** Short name for the tables. */
  name: string;
  expr: string;
}

/** A time range as Grafana sends it: start and end aligned to the step. */
export interface RangeDef {
  name: string;
  startMs: number;
  endMs: number;
  stepMs: number;
}

/** A query over one range: one row of the results. */
export interface QueryCase {
  query: QueryDef;
  range: RangeDef;
}

/** The panels: CPU, memory, network, filesystem, load, target count. */
export const BaseQueries: readonly QueryDef[] = [
  { name: 'cpu busy by instance', expr: 'sum by (instance) (rate(node_cpu_seconds_total{mode!="idle"}[5m]))' },
  { name: 'cpu % by instance', expr: '100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m])))' },
  { name: 'memory available ratio', expr: 'node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes' },
  { name: 'top 5 network rx', expr: 'topk(5, rate(node_network_receive_bytes_total[5m]))' },
  { name: 'filesystem used ratio', expr: '1 - node_filesystem_avail_bytes / node_filesystem_size_bytes' },
  { name: 'load1 (raw selector)', expr: 'node_load1' },
  { name: 'targets up by job', expr: 'count by (job) (up)' },
];

/**
 * The panels for a payload: {@link BaseQueries}, plus a histogram_quantile
 * panel over the first classic histogram (`*_bucket`) if the payload has
 * one (the node_exporter fleet has none today).
 */
export function queriesFor(index: PayloadIndex): QueryDef[] {
  const out = [...BaseQueries];
  const bucket = Object.keys(index.metrics)
    .filter((m) => m.endsWith('_bucket'))
    .sort()[0];
  if (bucket !== undefined) {
    out.push({ name: 'p90 from histogram', expr: `histogram_quantile(0.9, sum by (le) (rate(${bucket}[5m])))` });
  }
  return out;
}

const Minute = 60_000;
const Hour = 60 * Minute;

/**
 * The last hour at a 15 s step and the last day at a 5 m step, both ending
 * at the payload's last sample rounded down to the step (as Grafana aligns
 * `now` to the step).
 */
export function rangesFor(index: PayloadIndex): RangeDef[] {
  const mk = (name: string, span: number, step: number): RangeDef => {
    const endMs = Math.floor(index.maxT / step) * step;
    return { name, startMs: endMs - span, endMs, stepMs: step };
  };
  return [mk('1h @ 15s', Hour, 15_000), mk('24h @ 5m', 24 * Hour, 5 * Minute)];
}

/** Every query over every range, ranges outermost. */
export function casesFor(index: PayloadIndex): QueryCase[] {
  const qs = queriesFor(index);
  return rangesFor(index).flatMap((range) => qs.map((query) => ({ query, range })));
}

/** The form body of a query_range request (POST, as Grafana sends it). */
export function rangeForm(c: QueryCase): URLSearchParams {
  return new URLSearchParams({
    query: c.query.expr,
    start: String(c.range.startMs / 1000),
    end: String(c.range.endMs / 1000),
    step: String(c.range.stepMs / 1000),
  });
}
