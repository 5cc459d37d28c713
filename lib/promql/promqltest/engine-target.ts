/**
 * A {@link PromQLTarget} running our own PromQL engine over an in-memory
 * Storage (MemBucket + MemKVStore), tenant `anonymous`. The engine is
 * passed in through {@link QueryEngineLike} so that this module does not
 * depend on the evaluator's construction options.
 */
import { MemKVStore } from '../../kvstore/mem.ts';
import { MemBucket } from '../../objstore/mem.ts';
import type { Queryable } from '../../storage/interface.ts';
import { newSeriesEntry, Storage } from '../../tsdb/db.ts';
import { PromQLError } from '../errors.ts';
import type { Value } from '../value.ts';
import type { PromQLTarget, TargetSeries } from './runner.ts';

/** What the runner needs of a query engine (lib/promql/index.ts `Engine`). */
export interface QueryEngineLike {
  instantQuery(q: Queryable, query: string, timeMs: number): Promise<{ value: Value }>;
  rangeQuery(q: Queryable, query: string, startMs: number, endMs: number, stepMs: number): Promise<{ value: Value }>;
}

const Tenant = 'anonymous';

export class EngineTarget implements PromQLTarget {
  private storage: Storage | undefined;

  constructor(private readonly engine: QueryEngineLike) {}

  private db() {
    this.storage ??= new Storage({ bucket: new MemBucket(), kv: new MemKVStore() });
    return this.storage.tenant(Tenant);
  }

  async load(series: TargetSeries[]): Promise<void> {
    const app = this.db().appender();
    for (const s of series) {
      const entry = newSeriesEntry(s.labels);
      for (const p of s.points) app.append(entry, p.t, p.v);
    }
    await app.commit();
  }

  async clear(): Promise<void> {
    await this.close();
  }

  /** Releases the current storage. */
  async close(): Promise<void> {
    const s = this.storage;
    this.storage = undefined;
    if (s !== undefined) await s.close();
  }

  async instant(query: string, tMs: number): Promise<Value | Error> {
    try {
      return (await this.engine.instantQuery(this.db(), query, tMs)).value;
    } catch (e) {
      return asError(e);
    }
  }

  async range(query: string, startMs: number, endMs: number, stepMs: number): Promise<Value | Error> {
    try {
      return (await this.engine.rangeQuery(this.db(), query, startMs, endMs, stepMs)).value;
    } catch (e) {
      return asError(e);
    }
  }
}

/** A PromQL error is the query's answer; anything else is a bug, thrown on. */
function asError(e: unknown): Error {
  if (e instanceof PromQLError) return e;
  throw e;
}
