/**
 * CloudWatch Embedded Metric Format (EMF): one JSON object per log line that
 * CloudWatch Logs turns into custom metrics, with no API call from the
 * function (the mechanism of Powertools' Metrics utility, written here
 * without the dependency).
 *
 * The shape, as the specification requires it
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html):
 *
 * ```
 * { "_aws": { "Timestamp": <ms since the epoch>,
 *             "CloudWatchMetrics": [ { "Namespace": "...",
 *                                      "Dimensions": [ ["tenant"], ... ],
 *                                      "Metrics": [ { "Name": "...", "Unit": "..." }, ... ] } ] },
 *   "tenant": "acme",          <- a dimension's value: a string member of the root
 *   "EstimatedCostUSD": 1e-6,  <- a metric's value: a number (or up to 100 numbers) on the root
 *   "requestId": "..." }       <- anything else is kept in the log, not made a metric
 * ```
 *
 * Limits checked here: at most 30 dimension keys per dimension set, at most
 * 100 metric definitions per directive (more metrics are split over several
 * directives of the same document), at most 100 values per metric, finite
 * numbers only; dimension values are 1-1024 printable ASCII characters, not
 * all blank (CloudWatch's rule for dimension values); metric names 1-255
 * characters. A document lives in one dimension-value space: every directive
 * of a line shares the root's members, so a line carries one value per
 * dimension key, e.g. one tenant.
 *
 * Cost note: every distinct (namespace, metric name, dimension values)
 * triple is a custom metric, billed about $0.30 a month (first 10,000 per
 * account; prorated by the hour it receives data). Keep dimension sets and
 * metric counts small; put detail in plain properties, which Logs Insights
 * can still aggregate.
 */
import { StratusError } from '../util/errors.ts';

/** A document that EMF would reject, or could not encode. */
export class EmfError extends StratusError {}

/** The limits of the EMF specification and of CloudWatch's metric identity. */
export const EmfLimits = {
  dimensionsPerSet: 30,
  metricsPerDirective: 100,
  valuesPerMetric: 100,
  dimensionValueLength: 1024,
  nameLength: 255,
} as const;

/** CloudWatch's metric units (MetricDatum.Unit). `None` when none fits (dollars, GB-seconds). */
export const EmfUnit = {
  seconds: 'Seconds',
  microseconds: 'Microseconds',
  milliseconds: 'Milliseconds',
  bytes: 'Bytes',
  kilobytes: 'Kilobytes',
  megabytes: 'Megabytes',
  gigabytes: 'Gigabytes',
  terabytes: 'Terabytes',
  bits: 'Bits',
  kilobits: 'Kilobits',
  megabits: 'Megabits',
  gigabits: 'Gigabits',
  terabits: 'Terabits',
  percent: 'Percent',
  count: 'Count',
  bytesPerSecond: 'Bytes/Second',
  kilobytesPerSecond: 'Kilobytes/Second',
  megabytesPerSecond: 'Megabytes/Second',
  gigabytesPerSecond: 'Gigabytes/Second',
  terabytesPerSecond: 'Terabytes/Second',
  bitsPerSecond: 'Bits/Second',
  kilobitsPerSecond: 'Kilobits/Second',
  megabitsPerSecond: 'Megabits/Second',
  gigabitsPerSecond: 'Gigabits/Second',
  terabitsPerSecond: 'Terabits/Second',
  countPerSecond: 'Count/Second',
  none: 'None',
} as const;
export type EmfUnit = (typeof EmfUnit)[keyof typeof EmfUnit];

const Units = new Set<string>(Object.values(EmfUnit));

/** One metric of a document. */
export interface EmfMetric {
  /** The metric name, also the root member holding the value. */
  readonly name: string;
  /** @default 'None' (left out of the definition) */
  readonly unit?: EmfUnit;
  /** One value, or up to 100 values (each a data point). */
  readonly value: number | readonly number[];
  /** 1 for high resolution (billed more); @default 60 (left out) */
  readonly storageResolution?: 1 | 60;
}

/** What {@link encodeEmf} writes. */
export interface EmfDocument {
  /** CloudWatch namespace, 1-255 ASCII characters, not `AWS/...`. */
  readonly namespace: string;
  /** When the values were measured, ms since the epoch (CloudWatch takes it as the data points' time). */
  readonly timestamp: number;
  /** Dimension sets; each key must have a value in {@link dimensions}. An empty set means "no dimension". */
  readonly dimensionSets: readonly (readonly string[])[];
  /** Values of the dimension keys. */
  readonly dimensions: Readonly<Record<string, string>>;
  readonly metrics: readonly EmfMetric[];
  /** Other members of the line (searchable in Logs Insights, not metrics). Undefined values are left out. */
  readonly properties?: Readonly<Record<string, unknown>>;
}

function isPrintableAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

function checkName(what: string, name: string): void {
  if (name.length === 0 || name.length > EmfLimits.nameLength || !isPrintableAscii(name) || name.trim() === '') {
    throw new EmfError(`${what} ${JSON.stringify(name)}: want 1-${EmfLimits.nameLength} printable ASCII characters, not all blank`);
  }
}

function checkValue(name: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new EmfError(`metric ${name}: value ${String(v)} is not a finite number`);
}

/**
 * Encodes one EMF document as one JSON line (no newline).
 *
 * @throws EmfError when the document breaks a rule of the module comment
 *   (CloudWatch would drop the whole line).
 */
export function encodeEmf(doc: EmfDocument): string {
  checkName('namespace', doc.namespace);
  if (doc.namespace.startsWith('AWS/')) throw new EmfError(`namespace ${doc.namespace}: the AWS/ prefix is reserved`);
  if (!Number.isSafeInteger(doc.timestamp) || doc.timestamp < 0) throw new EmfError(`timestamp ${doc.timestamp} is not ms since the epoch`);

  const root: Record<string, unknown> = {};
  const owner = new Map<string, string>(); // member name -> what put it there
  const claim = (name: string, what: string): void => {
    if (name === '_aws') throw new EmfError(`${what} may not be named _aws`);
    const prev = owner.get(name);
    if (prev !== undefined) throw new EmfError(`${what} ${name} clashes with ${prev} ${name}`);
    owner.set(name, what);
  };

  for (const [key, value] of Object.entries(doc.dimensions)) {
    checkName('dimension key', key);
    if (typeof value !== 'string' || value.length === 0 || value.length > EmfLimits.dimensionValueLength || !isPrintableAscii(value) || value.trim() === '') {
      throw new EmfError(`dimension ${key}: value ${JSON.stringify(value)} is not 1-${EmfLimits.dimensionValueLength} printable ASCII characters, not all blank`);
    }
    claim(key, 'dimension');
    root[key] = value;
  }
  for (const set of doc.dimensionSets) {
    if (set.length > EmfLimits.dimensionsPerSet) throw new EmfError(`dimension set [${set.join(', ')}] has ${set.length} keys; at most ${EmfLimits.dimensionsPerSet}`);
    if (new Set(set).size !== set.length) throw new EmfError(`dimension set [${set.join(', ')}] repeats a key`);
    for (const key of set) {
      if (owner.get(key) !== 'dimension') throw new EmfError(`dimension set [${set.join(', ')}]: no value for ${key}`);
    }
  }

  const definitions: Record<string, unknown>[] = [];
  for (const m of doc.metrics) {
    checkName('metric name', m.name);
    claim(m.name, 'metric');
    if (typeof m.value === 'number') {
      checkValue(m.name, m.value);
      root[m.name] = m.value;
    } else {
      if (m.value.length === 0 || m.value.length > EmfLimits.valuesPerMetric) throw new EmfError(`metric ${m.name}: ${m.value.length} values; want 1-${EmfLimits.valuesPerMetric}`);
      for (const v of m.value) checkValue(m.name, v);
      root[m.name] = [...m.value];
    }
    const def: Record<string, unknown> = { Name: m.name };
    if (m.unit !== undefined) {
      if (!Units.has(m.unit)) throw new EmfError(`metric ${m.name}: unknown unit ${m.unit}`);
      def.Unit = m.unit;
    }
    if (m.storageResolution !== undefined) {
      if (m.storageResolution !== 1 && m.storageResolution !== 60) throw new EmfError(`metric ${m.name}: storage resolution ${m.storageResolution}; want 1 or 60`);
      def.StorageResolution = m.storageResolution;
    }
    definitions.push(def);
  }

  for (const [key, value] of Object.entries(doc.properties ?? {})) {
    if (value === undefined) continue;
    claim(key, 'property');
    root[key] = value;
  }

  const directives: Record<string, unknown>[] = [];
  const dimensions = doc.dimensionSets.map((s) => [...s]);
  for (let i = 0; i < definitions.length || i === 0; i += EmfLimits.metricsPerDirective) {
    directives.push({ Namespace: doc.namespace, Dimensions: dimensions, Metrics: definitions.slice(i, i + EmfLimits.metricsPerDirective) });
  }
  try {
    return JSON.stringify({ _aws: { Timestamp: doc.timestamp, CloudWatchMetrics: directives }, ...root });
  } catch (cause) {
    throw new EmfError('encode EMF document properties', { cause });
  }
}
