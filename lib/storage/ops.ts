/**
 * Counting the requests a backend makes, by operation (for /metrics and the
 * AWS cost model: S3 and DynamoDB bill per request). Backends take an
 * optional counter and call it once per request sent, retries included.
 */
export interface OpCounter {
  /**
   * `service` is 's3' or 'dynamodb'; `op` the API operation name as AWS
   * bills it (`PutObject`, `GetObject`, `ListObjectsV2`, `BatchWriteItem`,
   * `BatchGetItem`, `Query`, ...); `units` extra detail such as items
   * written or keys asked for (default 1).
   */
  count(service: string, op: string, units?: number): void;
}

/** An OpCounter that keeps totals in memory (tests, benchmarks). */
export class OpTotals implements OpCounter {
  readonly totals = new Map<string, { requests: number; units: number }>();

  count(service: string, op: string, units = 1): void {
    const k = `${service}:${op}`;
    const t = this.totals.get(k) ?? { requests: 0, units: 0 };
    t.requests++;
    t.units += units;
    this.totals.set(k, t);
  }
}
