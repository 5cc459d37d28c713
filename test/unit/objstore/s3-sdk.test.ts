import { NoSuchBucket, NoSuchKey, NotFound, S3ServiceException } from '@aws-sdk/client-s3';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidKeyError, NotFoundError } from '../../../lib/objstore/errors.ts';
import { contentRangeStart, decodeListedKey } from '../../../lib/objstore/s3/s3-bucket.ts';
import { isS3NotFound, isS3Throttled, toBucketError } from '../../../lib/objstore/s3/sdk.ts';
import { BackendError, StratusError, ThrottledError } from '../../../lib/util/errors.ts';

/** An S3 error as the SDK builds it from a response. */
function s3Error(name: string, status: number | undefined): S3ServiceException {
  return new S3ServiceException({
    name,
    $fault: status !== undefined && status < 500 ? 'client' : 'server',
    $metadata: { httpStatusCode: status },
    message: `${name} from the test`,
  });
}

describe('toBucketError', () => {
  const cases: { name: string; err: unknown; want: typeof StratusError; notFound: boolean }[] = [
    { name: 'NoSuchKey (GET)', err: new NoSuchKey({ message: 'no key', $metadata: { httpStatusCode: 404 } }), want: NotFoundError, notFound: true },
    { name: 'NotFound (HEAD, no body)', err: new NotFound({ message: 'UnknownError', $metadata: { httpStatusCode: 404 } }), want: NotFoundError, notFound: true },
    { name: 'NoSuchBucket', err: new NoSuchBucket({ message: 'no bucket', $metadata: { httpStatusCode: 404 } }), want: BackendError, notFound: false },
    { name: '503 SlowDown', err: s3Error('SlowDown', 503), want: ThrottledError, notFound: false },
    { name: '503 without a code', err: s3Error('Unknown', 503), want: ThrottledError, notFound: false },
    { name: '429', err: s3Error('TooManyRequests', 429), want: ThrottledError, notFound: false },
    { name: 'ThrottlingException without status', err: s3Error('ThrottlingException', undefined), want: ThrottledError, notFound: false },
    { name: '500 InternalError', err: s3Error('InternalError', 500), want: BackendError, notFound: false },
    { name: '403 AccessDenied', err: s3Error('AccessDenied', 403), want: BackendError, notFound: false },
    { name: 'network error', err: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), want: BackendError, notFound: false },
    { name: 'a thrown string', err: 'weird', want: BackendError, notFound: false },
  ];
  for (const c of cases) {
    it(`maps ${c.name} to ${c.want.name}`, () => {
      // Act
      const got = toBucketError('get a/b', c.err);
      // Assess
      assert.ok(got instanceof c.want, `got ${got.name}`);
      if (c.want === BackendError) assert.ok(!(got instanceof ThrottledError), 'not a throttle');
      assert.equal(got instanceof NotFoundError, c.notFound);
      assert.equal(isS3NotFound(c.err), c.notFound);
      assert.equal(got.cause, c.err);
      assert.match(got.message, /^get a\/b/);
    });
  }

  it('names the error code and HTTP status in the message', () => {
    assert.equal(
      toBucketError('put k', s3Error('InternalError', 500)).message,
      'put k: InternalError (HTTP 500): InternalError from the test',
    );
  });

  it('passes our own errors through unchanged', () => {
    const own = new InvalidKeyError('bad');
    assert.equal(toBucketError('get x', own), own);
  });

  it('isS3Throttled is false for ordinary failures', () => {
    assert.equal(isS3Throttled(s3Error('InternalError', 500)), false);
    assert.equal(isS3Throttled(new Error('boom')), false);
    assert.equal(isS3Throttled(undefined), false);
  });
});

describe('decodeListedKey', () => {
  const cases: { encoded: string; want: string }[] = [
    { encoded: 'plain/key', want: 'plain/key' },
    { encoded: 'sp+ace/plus%2Bsign', want: 'sp ace/plus+sign' },
    { encoded: 'pct%2520/q%3Fx%3D1%23frag%26y%3D2', want: 'pct%20/q?x=1#frag&y=2' },
    { encoded: '%F0%9F%98%80/%C3%A9/%EE%80%80', want: '😀/é/\uE000' },
    { encoded: 'ctl%01%0A', want: 'ctl\u0001\n' },
  ];
  for (const c of cases) {
    it(`decodes ${c.encoded}`, () => {
      assert.equal(decodeListedKey('', c.encoded), c.want);
    });
  }

  it('rejects a malformed encoding with a BackendError', () => {
    assert.throws(() => decodeListedKey('p/', 'bad%E0%A4'), BackendError);
  });
});

describe('contentRangeStart', () => {
  const cases: { header: string; want: number }[] = [
    { header: 'bytes 0-9/100', want: 0 },
    { header: 'bytes 300000-300999/1048576', want: 300000 },
    { header: 'bytes 5-5/*', want: 5 },
    { header: 'bytes */100', want: Number.NaN },
    { header: 'items 0-9/100', want: Number.NaN },
    { header: '', want: Number.NaN },
  ];
  for (const c of cases) {
    it(`parses ${JSON.stringify(c.header)}`, () => {
      assert.equal(contentRangeStart(c.header), c.want);
    });
  }
});
