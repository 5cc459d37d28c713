/**
 * The S3 backend of the object store. Imported on its own (not through
 * `lib/objstore/index.ts`) so that only the code paths that use S3 load the
 * AWS SDK.
 */
export { S3Bucket, type S3BucketOptions } from './s3-bucket.ts';
export { ensureBucket, type EnsureBucketOptions } from './ensure-bucket.ts';
export { isS3NotFound, isS3Throttled, toBucketError } from './sdk.ts';
