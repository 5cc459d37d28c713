/**
 * Creating the S3 bucket when it is missing, for emulators in tests and for
 * `--create-resources`. In production the CDK stack owns the bucket.
 */
import { CreateBucketCommand, HeadBucketCommand, type BucketLocationConstraint, type S3Client } from '@aws-sdk/client-s3';
import type { OpCounter } from '../../storage/ops.ts';
import { countRequests, sdkErrorName, sdkHttpStatus, toBucketError } from './sdk.ts';

/** Options of {@link ensureBucket}. */
export interface EnsureBucketOptions {
  /** Counts the requests sent (`HeadBucket`, `CreateBucket`). */
  counter?: OpCounter;
}

/**
 * Makes sure the bucket exists: a HeadBucket first (so an existing bucket
 * needs no `s3:CreateBucket` permission), then a CreateBucket in the
 * client's region if it is missing. Idempotent, also when two callers race:
 * `BucketAlreadyOwnedByYou` counts as success. Resolves to true when this
 * call created the bucket. Rejects with a BackendError (or ThrottledError)
 * otherwise, e.g. when someone else owns the name (`BucketAlreadyExists`).
 */
export async function ensureBucket(client: S3Client, bucket: string, opts: EnsureBucketOptions = {}): Promise<boolean> {
  const { counter } = opts;
  try {
    await client.send(countRequests(new HeadBucketCommand({ Bucket: bucket }), counter, 'HeadBucket'));
    return false;
  } catch (err) {
    // HEAD has no body: a missing bucket is a bare 404 (`NotFound`).
    if (sdkHttpStatus(err) !== 404 && sdkErrorName(err) !== 'NoSuchBucket') {
      throw toBucketError(`ensure bucket ${bucket}`, err);
    }
  }
  const region = await client.config.region();
  try {
    await client.send(
      countRequests(
        new CreateBucketCommand({
          Bucket: bucket,
          // us-east-1 is the default location and must not be named.
          CreateBucketConfiguration:
            region === undefined || region === '' || region === 'us-east-1'
              ? undefined
              : { LocationConstraint: region as BucketLocationConstraint },
        }),
        counter,
        'CreateBucket',
      ),
    );
    return true;
  } catch (err) {
    if (sdkErrorName(err) === 'BucketAlreadyOwnedByYou') return false;
    throw toBucketError(`create bucket ${bucket}`, err);
  }
}
