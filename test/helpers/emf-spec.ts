/**
 * An independent reading of the CloudWatch Embedded Metric Format
 * specification, for tests: the rules a log line must follow for CloudWatch
 * to extract its metrics, checked on the parsed JSON (not on our encoder's
 * input). Returns what is wrong, an empty list when nothing is.
 *
 * Rules (CloudWatch_Embedded_Metric_Format_Specification): the root is an
 * object with `_aws` = { Timestamp: number, CloudWatchMetrics: MetricDirective[] };
 * a directive has Namespace (string), Dimensions (array of arrays of
 * strings, each at most 30 keys, each key a root member with a string
 * value) and Metrics (at most 100 of { Name: string, Unit?: string,
 * StorageResolution?: 1 | 60 }, each Name a root member holding a number or
 * an array of at most 100 numbers).
 */

const Units = new Set([
  'Seconds', 'Microseconds', 'Milliseconds', 'Bytes', 'Kilobytes', 'Megabytes', 'Gigabytes', 'Terabytes',
  'Bits', 'Kilobits', 'Megabits', 'Gigabits', 'Terabits', 'Percent', 'Count', 'Bytes/Second',
  'Kilobytes/Second', 'Megabytes/Second', 'Gigabytes/Second', 'Terabytes/Second', 'Bits/Second',
  'Kilobits/Second', 'Megabits/Second', 'Gigabits/Second', 'Terabits/Second', 'Count/Second', 'None',
]);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What in `line` (one log event's text) breaks the EMF specification. */
export function emfViolations(line: string): string[] {
  const bad: string[] = [];
  if (line.includes('\n')) bad.push('the line holds a newline (Lambda would split it into two log events)');
  let root: unknown;
  try {
    root = JSON.parse(line);
  } catch {
    return [...bad, 'not JSON'];
  }
  if (!isObject(root)) return [...bad, 'root is not an object'];
  const aws = root._aws;
  if (!isObject(aws)) return [...bad, '_aws missing or not an object'];
  if (typeof aws.Timestamp !== 'number' || !Number.isInteger(aws.Timestamp)) bad.push('_aws.Timestamp is not an integer number');
  const directives = aws.CloudWatchMetrics;
  if (!Array.isArray(directives) || directives.length === 0) return [...bad, '_aws.CloudWatchMetrics is not a non-empty array'];
  for (const [i, d] of directives.entries()) {
    const at = `CloudWatchMetrics[${i}]`;
    if (!isObject(d)) {
      bad.push(`${at} is not an object`);
      continue;
    }
    if (typeof d.Namespace !== 'string' || d.Namespace === '') bad.push(`${at}.Namespace is not a non-empty string`);
    if (!Array.isArray(d.Dimensions)) bad.push(`${at}.Dimensions is not an array`);
    else {
      for (const set of d.Dimensions) {
        if (!Array.isArray(set)) {
          bad.push(`${at}.Dimensions holds a non-array`);
          continue;
        }
        if (set.length > 30) bad.push(`${at}: a dimension set of ${set.length} keys`);
        for (const key of set) {
          if (typeof key !== 'string') bad.push(`${at}: dimension key ${String(key)} is not a string`);
          else if (typeof root[key] !== 'string' || (root[key] as string).trim() === '') bad.push(`${at}: dimension ${key} has no non-blank string value on the root`);
        }
      }
    }
    if (!Array.isArray(d.Metrics)) {
      bad.push(`${at}.Metrics is not an array`);
      continue;
    }
    if (d.Metrics.length > 100) bad.push(`${at}: ${d.Metrics.length} metrics`);
    for (const m of d.Metrics) {
      if (!isObject(m) || typeof m.Name !== 'string') {
        bad.push(`${at}: a metric without a string Name`);
        continue;
      }
      if (m.Unit !== undefined && (typeof m.Unit !== 'string' || !Units.has(m.Unit))) bad.push(`${at}: metric ${m.Name} has unit ${String(m.Unit)}`);
      if (m.StorageResolution !== undefined && m.StorageResolution !== 1 && m.StorageResolution !== 60) bad.push(`${at}: metric ${m.Name} has storage resolution ${String(m.StorageResolution)}`);
      const v = root[m.Name];
      const values = Array.isArray(v) ? v : [v];
      if (Array.isArray(v) && (v.length === 0 || v.length > 100)) bad.push(`${at}: metric ${m.Name} has ${v.length} values`);
      if (!values.every((x) => typeof x === 'number' && Number.isFinite(x))) bad.push(`${at}: metric ${m.Name} has no numeric value on the root`);
    }
  }
  return bad;
}

/** The metric values and dimension values of a line, by name (for assertions). */
export function emfValues(line: string): { dims: Record<string, string>; metrics: Record<string, number>; root: Record<string, any> } {
  const root = JSON.parse(line) as Record<string, any>;
  const dims: Record<string, string> = {};
  const metrics: Record<string, number> = {};
  for (const d of root._aws.CloudWatchMetrics) {
    for (const set of d.Dimensions) for (const k of set) dims[k] = root[k];
    for (const m of d.Metrics) metrics[m.Name] = root[m.Name];
  }
  return { dims, metrics, root };
}
