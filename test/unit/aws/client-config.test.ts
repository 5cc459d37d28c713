/**
 * lib/aws/client-config.ts against the installed AWS SDK, with a fake
 * request handler in place of the network: the logger without `info` and
 * `error` works with the SDK's middleware and still passes warnings on,
 * and the shared settings keep concurrent requests to their own bucket.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { sdkClientDefaults, sdkLogger } from '../../../lib/aws/client-config.ts';

interface Seen {
  hostname: string;
  path: string;
  headers: Record<string, string>;
}

/** An S3 client whose requests are answered by `answer` after a random delay of up to 2 ms. */
function fakeS3(config: Record<string, unknown>, answer: (r: Seen) => number = () => 200): { client: S3Client; seen: Seen[] } {
  const seen: Seen[] = [];
  const requestHandler = {
    async handle(req: Seen) {
      seen.push({ hostname: req.hostname, path: req.path, headers: { ...req.headers } });
      await new Promise((r) => setTimeout(r, Math.random() * 2));
      return { response: { statusCode: answer(req), headers: {}, body: Readable.from([]) } };
    },
  };
  const client = new S3Client({
    region: 'eu-west-1',
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    maxAttempts: 1,
    ...config,
    requestHandler: requestHandler as unknown as S3Client['config']['requestHandler'],
  });
  return { client, seen };
}

describe('sdkLogger', () => {
  it('has no info or error (so the SDK builds no per-call record), a no-op debug, and passes warnings on', () => {
    // Prepare
    const warnings: string[] = [];
    const logger = sdkLogger((m) => warnings.push(m));
    // Act
    logger.debug('ignored');
    logger.warn('plain', { a: 1 });
    logger.warn(new Error('boom'));
    // Assess
    assert.equal('info' in logger, false);
    assert.equal('error' in logger, false);
    assert.deepEqual(warnings, ['plain {"a":1}', 'boom']);
  });

  it("works with the SDK's middleware on success and failure, and receives the SDK's warnings", async () => {
    // Prepare: a PutObject body of unknown length, without request checksums, makes the S3 client warn.
    const warnings: string[] = [];
    const { client } = fakeS3({ ...sdkClientDefaults((m) => warnings.push(m)), requestChecksumCalculation: 'WHEN_REQUIRED' }, (r) => (r.path.endsWith('/missing') ? 404 : 200));
    // Act
    await client.send(new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: Readable.from([Buffer.from('abc')]) }));
    const failed = await client.send(new GetObjectCommand({ Bucket: 'b', Key: 'missing' })).then(
      () => undefined,
      (err: unknown) => err,
    );
    // Assess
    assert.equal((failed as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode, 404);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /Stream of unknown length/);
  });
});

describe('sdkClientDefaults', () => {
  it('sends concurrent requests for two buckets each to its own bucket (no handler cache, which shares the resolved endpoint)', async () => {
    // Prepare: with `cacheMiddleware: true` about half of these reach the other bucket's host (SDK 3.116x).
    const { client, seen } = fakeS3({ ...sdkClientDefaults() });
    // Act
    await Promise.all(
      Array.from({ length: 200 }, (_, i) => {
        const bucket = i % 2 === 0 ? 'bucket-a' : 'bucket-b';
        return client.send(new PutObjectCommand({ Bucket: bucket, Key: `k${i}`, Body: 'x', Metadata: { bucket } }));
      }),
    );
    // Assess
    assert.equal(seen.length, 200);
    const wrong = seen.filter((s) => !s.hostname.startsWith(`${s.headers['x-amz-meta-bucket']}.`)).map((s) => `${s.hostname}${s.path}`);
    assert.deepEqual(wrong, []);
  });
});
