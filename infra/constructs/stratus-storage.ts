/**
 * Stratus on AWS, as one reusable construct: the S3 bucket holding the
 * objects, the DynamoDB table holding the label index and catalog, and the
 * remote_write and remote_read functions behind AWS_IAM Function URLs, and
 * the scheduled compaction function, each granted exactly the calls its
 * code makes.
 */
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { LogLevelName } from '../../lib/util/logger.ts';
import { IndexTtlAttribute } from '../../lib/index/expiry.ts';
import type * as events from 'aws-cdk-lib/aws-events';
import { StratusCompactor, type StratusCompactorProps } from './stratus-compactor.ts';
import { StratusFunction, type DynamoDBAction, type S3ObjectAction } from './stratus-function.ts';

/**
 * The keys the functions may touch: every tenant's objects live under
 * `tenants/<tenant>/` (`tenantObjectPrefix` in lib/tsdb/db.ts; a test keeps
 * the two in step).
 */
export const ObjectKeyPattern = 'tenants/*';

/** The actions a function's code calls, by service. */
export interface FunctionAccess {
  readonly s3: readonly S3ObjectAction[];
  readonly dynamodb: readonly DynamoDBAction[];
}

/**
 * What the remote_write path calls: the segment object is written with
 * PutObject (Appender.commit -> S3Bucket.put); whether the series a cold
 * process meets are indexed is one BatchGetItem per 100
 * (LabelIndex.hasSeriesMany -> DynamoKVStore.getMany); the tenant record
 * and seal marks are GetItems; postings, series records and the catalog
 * entry are BatchWriteItems (LabelIndex.add, Catalog.addSegment ->
 * DynamoKVStore.batchPut).
 */
export const WriteAccess: FunctionAccess = {
  s3: ['s3:PutObject'],
  dynamodb: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem'],
};

/**
 * What the remote_read path calls: catalog, postings and label listings are
 * Queries; a week's postings token is a GetItem (LabelIndex.select, with
 * the postings cache of the functions); series records are BatchGetItems
 * of 100 (LabelIndex.select -> DynamoKVStore.getMany); segments are read
 * with ranged GetObjects, and
 * HeadObject (S3Bucket.head, for a segment whose size is unknown) is
 * authorized by s3:GetObject too.
 */
export const ReadAccess: FunctionAccess = {
  s3: ['s3:GetObject'],
  dynamodb: ['dynamodb:Query', 'dynamodb:GetItem', 'dynamodb:BatchGetItem'],
};

/** Properties of {@link StratusStorage}. */
export interface StratusStorageProps {
  /**
   * What happens to the data bucket, the access-log bucket and the table
   * when they leave the stack. Metrics are data: keep them unless told.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Whether the data bucket's server access logs are kept, in a bucket this
   * construct creates.
   * @default true
   */
  readonly serverAccessLogs?: boolean;
  /** How long server access logs are kept. @default Duration.days(90) */
  readonly accessLogsRetention?: Duration;
  /** Log level of both functions. @default 'info' */
  readonly logLevel?: LogLevelName;
  /**
   * Level of Lambda's platform log lines of the functions (see
   * {@link StratusFunctionProps.systemLogLevel}): INFO brings back the
   * START/REPORT lines of every invocation.
   * @default lambda.SystemLogLevel.WARN
   */
  readonly systemLogLevel?: lambda.SystemLogLevel;
  /** Retention JSON for the compact function (lib/config/env.ts EnvVars.retention). @default keep everything */
  readonly retention?: string;
  /** How long the functions' logs are kept. @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Memory of the write function in MB. An initial choice, to be tuned from
   * measurements (duration and max memory used per request size).
   * @default 1024
   */
  readonly writeMemorySize?: number;
  /**
   * Memory of the read function in MB. An initial choice, to be tuned from
   * measurements (queries decode chunks and cache segment tables).
   * @default 1024
   */
  readonly readMemorySize?: number;
  /** Actions run when any alarm fires. @default none */
  readonly alarmActions?: readonly cloudwatch.IAlarmAction[];
  /** Memory of the compaction function in MB (see {@link StratusCompactorProps.memorySize}). @default 2048 */
  readonly compactMemorySize?: number;
  /** When compaction runs. @default events.Schedule.rate(Duration.minutes(5)) */
  readonly compactSchedule?: events.Schedule;
}

/** The Stratus storage and its remote_write / remote_read endpoints. */
export class StratusStorage extends Construct {
  /** Segment and block objects. */
  readonly bucket: s3.Bucket;
  /** Server access logs of {@link bucket}, when kept. */
  readonly accessLogsBucket: s3.Bucket | undefined;
  /** Label index and catalog (partition key `pk`, sort key `sk`). */
  readonly table: dynamodb.Table;
  /** `POST /api/v1/write`, buffered. */
  readonly writeFunction: StratusFunction;
  /** `POST /api/v1/read`, response streaming. */
  readonly readFunction: StratusFunction;
  /**
   * What a sender (Prometheus' IAM principal) needs to call both Function
   * URLs: attach it to that role or user.
   */
  readonly senderPolicy: iam.ManagedPolicy;
  /** The scheduled compaction function (no URL). */
  readonly compactor: StratusCompactor;

  constructor(scope: Construct, id: string, props: StratusStorageProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const protections = {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy,
    };
    const abortUploads: s3.LifecycleRule = { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) };

    if (props.serverAccessLogs ?? true) {
      this.accessLogsBucket = new s3.Bucket(this, 'AccessLogs', {
        ...protections, // SSE-S3: server access logging cannot deliver to SSE-KMS buckets
        lifecycleRules: [abortUploads, { id: 'expire-logs', expiration: props.accessLogsRetention ?? Duration.days(90) }],
      });
      // cdk-nag's S1 exempts a bucket that receives another's access logs, so
      // this one needs no acknowledgment.
    }
    this.bucket = new s3.Bucket(this, 'Data', {
      ...protections,
      lifecycleRules: [abortUploads],
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: this.accessLogsBucket === undefined ? undefined : 'data/',
    });
    if (this.accessLogsBucket === undefined) {
      Validations.of(this.bucket).acknowledge({
        id: 'AwsSolutions-S1',
        reason:
          'Server access logging was turned off by the deployer (serverAccessLogs: false). Only the two Stratus ' +
          'function roles can reach the objects; CloudTrail S3 data events can audit access instead.',
      });
    }

    this.table = new dynamodb.Table(this, 'Index', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // Label-index items carry their expiry here (lib/index/expiry.ts): sealed days' index
      // items are removed by Time to Live, which costs no write units, instead of deletes.
      timeToLiveAttribute: IndexTtlAttribute,
      removalPolicy,
    });

    const common = { logLevel: props.logLevel, systemLogLevel: props.systemLogLevel, logRetention: props.logRetention, alarmActions: props.alarmActions };
    this.writeFunction = new StratusFunction(this, 'Write', {
      ...common,
      entry: 'functions/remote-write.ts',
      description: 'Stratus remote_write: POST /api/v1/write',
      memorySize: props.writeMemorySize ?? 1024,
    });
    this.readFunction = new StratusFunction(this, 'Read', {
      ...common,
      entry: 'functions/remote-read.ts',
      description: 'Stratus remote_read: POST /api/v1/read (streamed)',
      memorySize: props.readMemorySize ?? 1024,
      invokeMode: lambda.InvokeMode.RESPONSE_STREAM,
    });
    for (const [fn, access] of [
      [this.writeFunction, WriteAccess],
      [this.readFunction, ReadAccess],
    ] as const) {
      fn.bindBucket(this.bucket, access.s3, ObjectKeyPattern);
      fn.bindTable(this.table, access.dynamodb);
    }

    this.compactor = new StratusCompactor(this, 'Compactor', {
      ...common,
      bucket: this.bucket,
      table: this.table,
      keyPattern: ObjectKeyPattern,
      memorySize: props.compactMemorySize,
      schedule: props.compactSchedule,
      retention: props.retention,
    });

    const functionArns = [this.writeFunction.function.functionArn, this.readFunction.function.functionArn];
    this.senderPolicy = new iam.ManagedPolicy(this, 'SenderPolicy', {
      description: 'Lets a Prometheus server call the Stratus remote_write and remote_read Function URLs',
      statements: [
        new iam.PolicyStatement({
          actions: ['lambda:InvokeFunctionUrl'],
          resources: functionArns,
          conditions: { StringEquals: { 'lambda:FunctionUrlAuthType': 'AWS_IAM' } },
        }),
        // Function URLs created since October 2025 also require InvokeFunction.
        new iam.PolicyStatement({
          actions: ['lambda:InvokeFunction'],
          resources: functionArns,
          conditions: { Bool: { 'lambda:InvokedViaFunctionUrl': 'true' } },
        }),
      ],
    });
  }

  /** Lets `grantee` call the remote_write URL (for senders defined in the same app). */
  grantRemoteWrite(grantee: iam.IGrantable): iam.Grant {
    return this.writeFunction.url.grantInvokeUrl(grantee);
  }

  /** Lets `grantee` call the remote_read URL (for senders defined in the same app). */
  grantRemoteRead(grantee: iam.IGrantable): iam.Grant {
    return this.readFunction.url.grantInvokeUrl(grantee);
  }
}
