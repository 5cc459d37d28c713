/**
 * A bucket on Amazon S3 (or an S3-compatible server) through AWS SDK v3,
 * after Thanos' `providers/s3`: the object `a/b/c` is the S3 object with
 * key `a/b/c` in one S3 bucket.
 *
 * S3 gives every guarantee the interface asks for: a PUT is atomic and
 * durable when it returns, reads after a write are strongly consistent, and
 * ListObjectsV2 returns keys in ascending UTF-8 byte order. Keys follow the
 * shared rules of `validate.ts`; they are checked before any request is
 * sent.
 *
 * Retries are the SDK's: the client's `retryMode` and `maxAttempts`
 * (standard mode, 3 attempts, unless the caller configured otherwise)
 * decide them, and every attempt is counted. Errors that remain are mapped
 * by `toBucketError` (NotFoundError, ThrottledError, BackendError).
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { OpCounter } from '../../storage/ops.ts';
import { BackendError } from '../../util/errors.ts';
import type { Bucket, ObjectAttributes } from '../bucket.ts';
import { NotFoundError } from '../errors.ts';
import { checkRange, isPossiblePrefix, validateKey } from '../validate.ts';
import { countRequests, sdkErrorName, sdkHttpStatus, toBucketError } from './sdk.ts';

/** Options of {@link S3Bucket}. */
export interface S3BucketOptions {
  /** The SDK client; its region, endpoint, credentials and retry settings are used as they are. */
  client: S3Client;
  /** The S3 bucket name. The bucket must exist (see `ensureBucket`). */
  bucket: string;
  /** Counts every request sent (`s3`, `PutObject` etc.), retries included. */
  counter?: OpCounter;
  /**
   * Whether `close` destroys `client`. Off by default: the caller made the
   * client and may share it (several tenants' prefixed buckets over one
   * S3Bucket, or several S3Buckets over one client).
   * @default false
   */
  ownsClient?: boolean;
}

/**
 * A {@link Bucket} stored in one S3 bucket. Safe for concurrent use; holds
 * no state besides the client.
 */
export class S3Bucket implements Bucket {
  /** The S3 bucket name. */
  readonly bucket: string;
  readonly #client: S3Client;
  readonly #counter: OpCounter | undefined;
  readonly #ownsClient: boolean;

  constructor(opts: S3BucketOptions) {
    this.bucket = opts.bucket;
    this.#client = opts.client;
    this.#counter = opts.counter;
    this.#ownsClient = opts.ownsClient ?? false;
  }

  async get(key: string): Promise<Uint8Array> {
    validateKey(key);
    try {
      const out = await this.#client.send(
        countRequests(new GetObjectCommand({ Bucket: this.bucket, Key: key }), this.#counter, 'GetObject'),
      );
      return out.Body === undefined ? new Uint8Array(0) : await out.Body.transformToByteArray();
    } catch (err) {
      throw toBucketError(`get ${key}`, err);
    }
  }

  /**
   * Sends one ranged GET (`Range: bytes=offset-(offset+length-1)`), so only
   * the range crosses the network. S3 answers 416 InvalidRange when the
   * offset is at or past the end, which yields an empty array. A zero
   * length cannot be written as an HTTP range, so it costs a HEAD instead
   * (to report an absent key). Should a server ignore the range or send
   * more than asked, the extra bytes are cut off here.
   */
  async getRange(key: string, offset: number, length: number): Promise<Uint8Array> {
    validateKey(key);
    checkRange(key, offset, length);
    if (length === 0) {
      await this.#head('getRange', key);
      return new Uint8Array(0);
    }
    const last = Math.min(offset + length, Number.MAX_SAFE_INTEGER) - 1;
    let body: Uint8Array;
    let bodyStart: number;
    try {
      const out = await this.#client.send(
        countRequests(
          new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: `bytes=${offset}-${last}` }),
          this.#counter,
          'GetObject',
        ),
      );
      body = out.Body === undefined ? new Uint8Array(0) : await out.Body.transformToByteArray();
      bodyStart = out.ContentRange === undefined ? 0 : contentRangeStart(out.ContentRange);
    } catch (err) {
      if (isUnsatisfiableRange(err)) return new Uint8Array(0);
      throw toBucketError(`getRange ${key}`, err);
    }
    const from = offset - bodyStart;
    if (from < 0 || Number.isNaN(from)) {
      throw new BackendError(`getRange ${key}: S3 sent bytes from ${bodyStart}, asked for ${offset}`);
    }
    if (from === 0 && body.length <= length) return body;
    return body.slice(Math.min(from, body.length), Math.min(from + length, body.length));
  }

  async head(key: string): Promise<ObjectAttributes> {
    validateKey(key);
    return this.#head('head', key);
  }

  async exists(key: string): Promise<boolean> {
    validateKey(key);
    try {
      await this.#head('exists', key);
      return true;
    } catch (err) {
      if (err instanceof NotFoundError) return false;
      throw err;
    }
  }

  /**
   * Pages through ListObjectsV2 (up to 1000 keys a request) lazily: the
   * next page is fetched only when the consumer asks for more, so
   * abandoning the iteration costs no further requests. Keys
   * are requested URL-encoded (`EncodingType=url`), since XML 1.0 cannot
   * carry every character a key may hold, and decoded when the server says
   * it encoded them. Objects whose keys break the shared key rules (a
   * console "folder" `a/`, say) were not written through a Bucket and are
   * skipped.
   */
  async *iter(prefix: string): AsyncIterable<string> {
    if (!isPossiblePrefix(prefix)) return;
    let token: string | undefined;
    do {
      let out;
      try {
        out = await this.#client.send(
          countRequests(
            new ListObjectsV2Command({
              Bucket: this.bucket,
              Prefix: prefix === '' ? undefined : prefix,
              ContinuationToken: token,
              EncodingType: 'url',
            }),
            this.#counter,
            'ListObjectsV2',
          ),
        );
      } catch (err) {
        throw toBucketError(`iter ${prefix}`, err);
      }
      const encoded = out.EncodingType === 'url';
      for (const obj of out.Contents ?? []) {
        if (obj.Key === undefined) continue;
        const key = encoded ? decodeListedKey(prefix, obj.Key) : obj.Key;
        if (isValidKey(key)) yield key;
      }
      token = out.IsTruncated === true ? out.NextContinuationToken : undefined;
      if (out.IsTruncated === true && token === undefined) {
        throw new BackendError(`iter ${prefix}: S3 cut the listing short without a continuation token`);
      }
    } while (token !== undefined);
  }

  isNotFound(err: unknown): boolean {
    return err instanceof NotFoundError;
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    validateKey(key);
    try {
      await this.#client.send(
        countRequests(
          new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: data, ContentLength: data.length }),
          this.#counter,
          'PutObject',
        ),
      );
    } catch (err) {
      throw toBucketError(`put ${key}`, err);
    }
  }

  /** S3 answers 204 whether or not the object existed, so a repeated delete is free of errors. */
  async delete(key: string): Promise<void> {
    validateKey(key);
    try {
      await this.#client.send(
        countRequests(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }), this.#counter, 'DeleteObject'),
      );
    } catch (err) {
      // A not-found here (an S3 compatible that answers 404) already means "gone".
      const mapped = toBucketError(`delete ${key}`, err);
      if (mapped instanceof NotFoundError) return;
      throw mapped;
    }
  }

  /** Destroys the client only when {@link S3BucketOptions.ownsClient} is set. */
  async close(): Promise<void> {
    if (this.#ownsClient) this.#client.destroy();
  }

  async #head(op: string, key: string): Promise<ObjectAttributes> {
    let out;
    try {
      out = await this.#client.send(
        countRequests(new HeadObjectCommand({ Bucket: this.bucket, Key: key }), this.#counter, 'HeadObject'),
      );
    } catch (err) {
      throw toBucketError(`${op} ${key}`, err);
    }
    if (out.ContentLength === undefined || out.LastModified === undefined) {
      throw new BackendError(`${op} ${key}: S3 sent no Content-Length or Last-Modified`);
    }
    return { size: out.ContentLength, lastModified: out.LastModified };
  }
}

/** True for S3's answer to a range that starts at or past the end of the object. */
function isUnsatisfiableRange(err: unknown): boolean {
  return sdkErrorName(err) === 'InvalidRange' || sdkHttpStatus(err) === 416;
}

/** The first byte position of a `Content-Range: bytes first-last/size` header; NaN when it does not parse. */
export function contentRangeStart(header: string): number {
  const m = /^bytes (\d+)-\d+\/(?:\d+|\*)$/.exec(header.trim());
  return m === null ? Number.NaN : Number(m[1]);
}

/**
 * Decodes a key from a listing made with `EncodingType=url`. S3 encodes
 * keys as an HTML form does: a space becomes `+`, and a `+` `%2B`.
 */
export function decodeListedKey(prefix: string, encoded: string): string {
  try {
    return decodeURIComponent(encoded.replace(/\+/g, ' '));
  } catch (err) {
    throw new BackendError(`iter ${prefix}: S3 listed a key that is not URL-encoded: ${JSON.stringify(encoded)}`, {
      cause: err,
    });
  }
}

function isValidKey(key: string): boolean {
  try {
    validateKey(key);
    return true;
  } catch {
    return false;
  }
}
