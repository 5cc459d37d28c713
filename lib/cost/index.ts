/**
 * The AWS cost model and per-tenant cost attribution: list prices
 * (prices.ts), the arithmetic (model.ts), metering decorators for the
 * bucket and index store (metered.ts), a ledger for benchmarks (ledger.ts)
 * and the /metrics counters (metrics.ts).
 */
import type { Bucket } from '../objstore/bucket.ts';
import type { KVStore } from '../kvstore/kvstore.ts';
import { meteredBucket, meteredKVStore, type OpSink } from './metered.ts';

export * from './prices.ts';
export * from './model.ts';
export * from './metered.ts';
export * from './ledger.ts';
export * from './metrics.ts';
export * from './projection.ts';

/** The root stores of a Storage. */
export interface RootStores {
  bucket: Bucket;
  kv: KVStore;
}

/** Both root stores wrapped in metering decorators reporting to `sink`. */
export function meterStores(stores: RootStores, sink: OpSink): RootStores {
  return { bucket: meteredBucket(stores.bucket, sink), kv: meteredKVStore(stores.kv, sink) };
}
