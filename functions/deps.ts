/**
 * Wiring of the Lambda functions, done once per cold start at module scope
 * (as Powertools' `functions/commons/` does): read the environment, build
 * the SDK clients, the S3 bucket and DynamoDB index stores, the storage,
 * the metrics and the logger. Every function imports {@link deps}; a
 * missing or bad variable fails the cold start with a message naming it.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { sdkClientDefaults } from '../lib/aws/client-config.ts';
import { EnvVars } from '../lib/config/env.ts';
import { meterStores, type RootStores } from '../lib/cost/index.ts';
import { DynamoKVStore } from '../lib/kvstore/dynamodb/dynamo-store.ts';
import { IndexTtlAttribute, labelIndexExpiry } from '../lib/index/expiry.ts';
import { S3Bucket } from '../lib/objstore/s3/s3-bucket.ts';
import { newRemoteMetrics, type RemoteMetrics } from '../lib/remote/metrics.ts';
import type { OpCounter } from '../lib/storage/ops.ts';
import { Storage } from '../lib/tsdb/db.ts';
import { StratusError } from '../lib/util/errors.ts';
import { createLogger, isLogLevel, type Logger } from '../lib/util/logger.ts';
import { CostAggregator, InvocationMeter } from './cost.ts';

/** The environment as the functions read it. */
export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Counts the S3 and DynamoDB requests of the request being served, for its
 * log line (the cost model's raw data). A Lambda execution environment
 * serves one request at a time, so one counter per process is exact.
 */
export class RequestOps implements OpCounter {
  #counts = new Map<string, { requests: number; units: number }>();

  count(service: string, op: string, units = 1): void {
    const key = `${service}:${op}`;
    const c = this.#counts.get(key);
    if (c === undefined) this.#counts.set(key, { requests: 1, units });
    else {
      c.requests++;
      c.units += units;
    }
  }

  /**
   * The counts since the last call: requests keyed `service:Operation`, and
   * `service:Operation.units` where units (items written) differ from requests.
   */
  take(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [key, c] of this.#counts) {
      out[key] = c.requests;
      if (c.units !== c.requests) out[`${key}.units`] = c.units;
    }
    this.#counts = new Map();
    return out;
  }
}

/** What the handlers need. */
export interface Deps {
  storage: Storage;
  metrics: RemoteMetrics;
  logger: Logger;
  ops: RequestOps;
  /** Sees every S3 and DynamoDB call of {@link storage}, by tenant, for the per-tenant cost lines (functions/cost.ts). */
  meter: InvocationMeter;
  /** This environment's per-tenant cost sums, written as EMF lines at most once a minute (functions/cost.ts). */
  costs: CostAggregator;
  /** Configured memory, MB (`AWS_LAMBDA_FUNCTION_MEMORY_SIZE`; the context's `memoryLimitInMB` wins where given). */
  memoryMb: number;
  /**
   * Writes one EMF line: to stdout, whatever `STRATUS_LOG_LEVEL` is
   * (CloudWatch Logs extracts the metrics; the line has no `level`, so
   * Lambda's JSON log format takes it as INFO, and the functions'
   * application log level is never above INFO: infra/); dropped outside
   * Lambda (no `AWS_LAMBDA_FUNCTION_NAME`).
   */
  emit: (line: string) => void;
  /**
   * Label-index items carry a TTL ({@link EnvVars.indexTtlAttribute} set):
   * the compact function then leaves sealed days' items to expire.
   */
  indexItemsExpire: boolean;
}

function required(env: Env, name: string): string {
  const value = env[name];
  if (value === undefined || value === '') throw new StratusError(`environment variable ${name} is not set`);
  return value;
}

/**
 * SDK timeouts: a stuck connection must fail (and be retried by the SDK)
 * well within the function's 30 s timeout. Initial choices.
 */
const requestHandler = { connectionTimeout: 2_000, requestTimeout: 5_000 };

/**
 * The storage of the functions over root stores: both wrapped in the
 * metering decorators reporting to `meter`, cache sizes from `memoryMb`
 * (see {@link loadDeps}).
 */
function meteredStorage(stores: RootStores, meter: InvocationMeter, memoryMb: number): Storage {
  const memoryBytes = memoryMb * 1024 * 1024;
  return new Storage({
    ...meterStores(stores, meter),
    tableCacheBytes: Math.floor(memoryBytes / 8),
    seriesCacheSize: Math.floor(memoryBytes / 4 / 1024),
    // Functions do not own the table: postings are kept while their week's token holds.
    postingsCache: true,
  });
}

function writeStdout(line: string): void {
  process.stdout.write(line + '\n');
}

/**
 * Builds the dependencies from `env`. Cache sizes follow the function's
 * memory (`AWS_LAMBDA_FUNCTION_MEMORY_SIZE`, in MB): an eighth for parsed
 * segment tables and a quarter for the series cache at about 1 KiB per
 * entry. Both are first guesses, to be tuned from measurements.
 * `stores` replaces the S3 bucket and DynamoDB table (tests); they are
 * metered all the same.
 *
 * @throws StratusError naming a missing or invalid variable.
 */
export function loadDeps(env: Env, stores?: RootStores): Deps {
  const bucket = required(env, EnvVars.bucket);
  const table = required(env, EnvVars.table);
  const level = env[EnvVars.logLevel] ?? 'info';
  if (!isLogLevel(level)) throw new StratusError(`environment variable ${EnvVars.logLevel} is "${level}"; want debug, info, warn or error`);
  const memoryMb = Number(env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? '1024') || 1024;

  const ttl = env[EnvVars.indexTtlAttribute];
  const indexItemsExpire = ttl !== undefined && ttl !== '';
  if (indexItemsExpire && ttl !== IndexTtlAttribute) {
    throw new StratusError(`environment variable ${EnvVars.indexTtlAttribute} is "${ttl}"; the label index expires by "${IndexTtlAttribute}"`);
  }
  const fn = env.AWS_LAMBDA_FUNCTION_NAME;
  // `fn` lets one CloudWatch metric filter count each function's 5xx answers (infra/).
  // `timestamp`: the key Lambda's JSON log format reads the time from; without it, it
  // would take every line as INFO and filter warn and debug lines by the wrong level.
  const logger = createLogger({ level, fields: { fn }, timestampKey: 'timestamp' });
  const ops = new RequestOps();
  const meter = new InvocationMeter();
  // A logger without `info` (lib/aws/client-config.ts); the SDK's warnings go to our log.
  const sdk = sdkClientDefaults((message) => logger.warn('aws sdk warning', { message }));
  const roots = stores ?? {
    bucket: new S3Bucket({ client: new S3Client({ ...sdk, requestHandler }), bucket, counter: ops }),
    kv: new DynamoKVStore({
      client: new DynamoDBClient({ ...sdk, requestHandler }),
      table,
      counter: ops,
      ...(indexItemsExpire ? { expiry: labelIndexExpiry() } : {}),
    }),
  };
  const storage = meteredStorage(roots, meter, memoryMb);
  const emit = fn === undefined || fn === '' ? () => {} : writeStdout;
  return { storage, metrics: newRemoteMetrics(), logger, ops, meter, costs: new CostAggregator(), memoryMb, emit, indexItemsExpire };
}

/** The process's dependencies, built at cold start. */
export const deps: Deps = loadDeps(process.env);
