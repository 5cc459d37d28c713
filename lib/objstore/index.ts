/**
 * The object store: the {@link Bucket} interface, the in-memory bucket, key
 * rules and decorators. Backends are imported from their own folders
 * (`fs/fs-bucket.ts`, later `s3/`), so that a bundle never pulls in a
 * backend it does not use.
 */
export type { Bucket, BucketReader, ObjectAttributes } from './bucket.ts';
export { InvalidKeyError, InvalidRangeError, NotFoundError } from './errors.ts';
export { MemBucket, type MemBucketOptions } from './mem.ts';
export { prefixedBucket } from './prefixed.ts';
export {
  BucketOps,
  faultyBucket,
  type BucketFaultFn,
  type BucketOp,
  type FaultyBucketOptions,
} from './faulty.ts';
export { MAX_KEY_BYTES, checkRange, isPossiblePrefix, validateKey } from './validate.ts';
