/**
 * A bucket decorator that injects failures, for tests of crash safety and
 * retries (what happens when the third `put` of a compaction fails?).
 */
import type { Bucket, ObjectAttributes } from './bucket.ts';

/** The bucket operations a fault can be injected into. */
export const BucketOps = ['get', 'getRange', 'head', 'exists', 'iter', 'put', 'delete'] as const;

/** One of {@link BucketOps}. */
export type BucketOp = (typeof BucketOps)[number];

/**
 * Decides whether a call fails: returns the error to reject with, or
 * undefined to let the call through. `key` is the object key, or the prefix
 * for `iter`.
 */
export type BucketFaultFn = (op: BucketOp, key: string) => Error | undefined;

/** Options of {@link faultyBucket}. */
export interface FaultyBucketOptions {
  /**
   * Consulted before each call; when it returns an error the call rejects
   * with it and the inner bucket is not called (the operation did not
   * happen). For `iter` it is consulted when iteration starts.
   */
  failOn: BucketFaultFn;
  /**
   * Consulted after each call that succeeded; when it returns an error the
   * caller gets that error although the operation did happen, as when a
   * response is lost on the way back. @default never
   */
  failAfter?: BucketFaultFn;
}

/**
 * Wraps `bkt` so that chosen calls fail. `isNotFound` and `close` pass
 * through untouched; an injected error counts as "not found" only if the
 * inner bucket's `isNotFound` says so.
 */
export function faultyBucket(bkt: Bucket, opts: FaultyBucketOptions): Bucket {
  const { failOn, failAfter } = opts;
  async function run<T>(op: BucketOp, key: string, call: () => Promise<T>): Promise<T> {
    const before = failOn(op, key);
    if (before !== undefined) throw before;
    const result = await call();
    const after = failAfter?.(op, key);
    if (after !== undefined) throw after;
    return result;
  }
  return {
    get: (key: string): Promise<Uint8Array> => run('get', key, () => bkt.get(key)),
    getRange: (key: string, offset: number, length: number): Promise<Uint8Array> =>
      run('getRange', key, () => bkt.getRange(key, offset, length)),
    head: (key: string): Promise<ObjectAttributes> => run('head', key, () => bkt.head(key)),
    exists: (key: string): Promise<boolean> => run('exists', key, () => bkt.exists(key)),
    async *iter(prefix: string): AsyncIterable<string> {
      const before = failOn('iter', prefix);
      if (before !== undefined) throw before;
      yield* bkt.iter(prefix);
      const after = failAfter?.('iter', prefix);
      if (after !== undefined) throw after;
    },
    isNotFound: (err: unknown): boolean => bkt.isNotFound(err),
    put: (key: string, data: Uint8Array): Promise<void> => run('put', key, () => bkt.put(key, data)),
    delete: (key: string): Promise<void> => run('delete', key, () => bkt.delete(key)),
    close: (): Promise<void> => bkt.close(),
  } satisfies Bucket;
}
