/**
 * Starts s3rver (an S3-compatible server from npm) on 127.0.0.1 for the S3
 * integration tests.
 *
 * It runs in a child process (`s3rver-child.mjs`), for two reasons: s3rver
 * encrypts ListObjectsV2 continuation tokens with DES, which Node 20's
 * OpenSSL 3 offers only with `--openssl-legacy-provider` (a flag the test
 * process cannot turn on once it runs), and a child keeps s3rver's Koa
 * stack, its logger and its synchronous filesystem walks out of the test
 * process. The child patches two s3rver bugs so that it behaves as S3 does
 * (see the comments there).
 */
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { sdkClientDefaults } from '../../../lib/aws/client-config.ts';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

// The SDK warns once per process that Node 20 support ends in 2027; the
// tests run on Node 20 on purpose, so keep their output clean.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const childScript = fileURLToPath(new URL('./s3rver-child.mjs', import.meta.url));

/** A running s3rver. */
export interface S3rverHandle {
  /** The base URL, `http://127.0.0.1:<port>`. */
  endpoint: string;
  /**
   * A new client for `endpoint` (or for `overrides.endpoint`, e.g. a proxy
   * in front of it) with path-style addressing and s3rver's fixed
   * credentials. The caller destroys it.
   */
  client(overrides?: Partial<S3ClientConfig>): S3Client;
  /** Stops the server and removes its folder. */
  stop(): Promise<void>;
}

/**
 * The client settings that work against s3rver, on top of the settings
 * production clients share (lib/aws/client-config.ts: the quiet logger).
 */
export function s3rverClientConfig(endpoint: string): S3ClientConfig {
  return {
    ...sdkClientDefaults(),
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    // s3rver predates the SDK's default CRC32 request checksums.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
}

/** Starts s3rver on 127.0.0.1 and a free port, storing into a new temporary folder. */
export async function startS3rver(): Promise<S3rverHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'stratus-s3rver-'));
  const proc = spawn(process.execPath, ['--openssl-legacy-provider', childScript, dir], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  const exited = once(proc, 'exit');
  const stderr: string[] = [];
  createInterface({ input: proc.stderr! }).on('line', (line) => stderr.push(line));
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`s3rver did not start in 15 s; stderr:\n${stderr.join('\n')}`)), 15_000);
      createInterface({ input: proc.stdout! }).once('line', (line) => {
        clearTimeout(timer);
        try {
          resolve((JSON.parse(line) as { port: number }).port);
        } catch (err) {
          reject(new Error(`s3rver child printed ${JSON.stringify(line)}`, { cause: err }));
        }
      });
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`s3rver exited with ${code} before listening; stderr:\n${stderr.join('\n')}`));
      });
    });
  } catch (err) {
    proc.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    client: (overrides = {}) => new S3Client({ ...s3rverClientConfig(endpoint), ...overrides }),
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.stdin!.end();
        const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
