/**
 * Scheduled compaction on AWS: the compact function (functions/compact.ts)
 * run by an EventBridge rule every 5 minutes, at most two invocations at a
 * time, with exactly the S3 and DynamoDB calls the compactor makes.
 */
import { Duration } from 'aws-cdk-lib';
import { EnvVars } from '../../lib/config/env.ts';
import { parseRetentionConfig } from '../../lib/compact/retention.ts';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { LogLevelName } from '../../lib/util/logger.ts';
import { StratusFunction, type DynamoDBAction, type S3ObjectAction } from './stratus-function.ts';

/**
 * What a compaction calls (measured by test/infra/access.test.ts):
 * - S3 objects: segments and blocks are read with (ranged) GetObject, new
 *   blocks written with PutObject, replaced objects and orphans removed
 *   with DeleteObject;
 * - S3 bucket: the orphan sweep lists `tenants/<tenant>/blocks/` with
 *   ListObjectsV2, which IAM authorizes as s3:ListBucket (granted for
 *   prefixes under `tenants/` only);
 * - DynamoDB: the tenant list, catalog, tombstones and label index are
 *   Queries; the lease is a conditional PutItem (take, renew, release) and a
 *   GetItem (read an expired one); catalog entries, tombstones and their
 *   removal are BatchWriteItems.
 */
export const CompactAccess: {
  readonly s3: readonly S3ObjectAction[];
  readonly s3Bucket: readonly 's3:ListBucket'[];
  readonly dynamodb: readonly DynamoDBAction[];
} = {
  s3: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
  s3Bucket: ['s3:ListBucket'],
  dynamodb: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:BatchWriteItem'],
};

/** Properties of {@link StratusCompactor}. */
/** Default memory of the compaction function, MB (see {@link StratusCompactorProps.memorySize}). */
export const DefaultCompactMemoryMb = 2048;

export interface StratusCompactorProps {
  readonly bucket: s3.IBucket;
  readonly table: dynamodb.ITable;
  /** Object keys the function may touch, IAM-style. */
  readonly keyPattern: string;
  /**
   * When compaction runs. Segments become 10-min blocks 5 minutes after
   * their window ends (lib/compact/planner.ts DefaultLevels), so runs every
   * 5 minutes keep at most ~20 minutes of segments, which reads of recent
   * data pay for per object (docs/benchmarks.md); an idle run costs a few
   * requests per tenant (docs/cost.md).
   * @default events.Schedule.rate(Duration.minutes(5))
   */
  readonly schedule?: events.Schedule;
  /**
   * Memory in MB. One job merges at most 4 M samples from segments (the
   * compactor's `maxSegmentJobSamples`; merging segments costs about 250
   * bytes per sample at peak: the 50k-series benchmark hour, 12 M samples
   * in 4 M jobs, peaks at 1245 MiB RSS) or 30 M from blocks, and the block
   * it builds sits in memory beside them until it is uploaded. 2048 MB
   * holds that with room (V8's heap is set to three quarters of it, see
   * {@link StratusFunctionProps.memorySize}) and gives about 1.2 vCPU;
   * 3008 MB cost ~$0.0012 more per 10 M samples (docs/cost.md) for CPU
   * the mostly single-threaded merge cannot use.
   * @default 2048
   */
  readonly memorySize?: number;
  /** @default 'info' */
  readonly logLevel?: LogLevelName;
  /** Level of Lambda's platform log lines (see StratusFunctionProps.systemLogLevel). @default lambda.SystemLogLevel.WARN */
  readonly systemLogLevel?: lambda.SystemLogLevel;
  /**
   * Retention, as JSON for the compact function (see EnvVars.retention in
   * lib/config/env.ts), e.g. `{"raw":"90d","5m":"1y","1h":"5y"}`.
   * @default keep everything
   */
  readonly retention?: string;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** @default none */
  readonly alarmActions?: readonly cloudwatch.IAlarmAction[];
}

/** The compaction function and its schedule. */
export class StratusCompactor extends Construct {
  readonly function: StratusFunction;
  readonly rule: events.Rule;
  /**
   * Fires when the function was not invoked for a whole day (schedule
   * disabled, rule deleted, account-level throttling): sealed days' label
   * index expires 30 days after the day (lib/index/expiry.ts) and a day
   * still holding segments needs a compaction run within 20 days to keep
   * its index (docs/storage-format.md, "Label index expiry").
   */
  readonly notRunningAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: StratusCompactorProps) {
    super(scope, id);
    this.function = new StratusFunction(this, 'Compact', {
      entry: 'functions/compact.ts',
      description: 'Stratus compaction: segments into blocks, deletion of replaced objects (scheduled)',
      memorySize: props.memorySize ?? DefaultCompactMemoryMb,
      // Lambda's longest. The handler stops starting new steps a few
      // minutes before the end; the compaction lease (16 min) outlives it.
      timeout: Duration.minutes(15),
      // A run outlasting the schedule's period (a backlog, a day's merge) has
      // the next one start beside it: that one skips the tenants whose lease
      // the first holds and compacts the others, instead of being throttled
      // (the Throttles alarm). A third at once is throttled: compaction is
      // not keeping up.
      reservedConcurrentExecutions: 2,
      functionUrl: false,
      logLevel: props.logLevel,
      systemLogLevel: props.systemLogLevel,
      logRetention: props.logRetention,
      alarmActions: props.alarmActions,
    });
    this.function.bindBucket(props.bucket, CompactAccess.s3, props.keyPattern);
    this.function.bindBucketListing(props.bucket, props.keyPattern);
    this.function.bindTable(props.table, CompactAccess.dynamodb);
    // A failed run is not retried at once (it would likely fail the same
    // way, for up to 15 minutes each time): the next scheduled run retries
    // it, and the failure shows in the Errors alarm.
    if (props.retention !== undefined) {
      parseRetentionConfig(props.retention); // fail at synth, not at 3 a.m.
      this.function.function.addEnvironment(EnvVars.retention, props.retention);
    }
    this.function.function.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.hours(1) });

    this.notRunningAlarm = new cloudwatch.Alarm(this, 'NotRunningAlarm', {
      metric: this.function.function.metricInvocations({ period: Duration.days(1), statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      alarmDescription: `Stratus ${id}: compaction was not invoked for a day (label indexes of days still holding segments expire after 30 days)`,
    });
    for (const action of props.alarmActions ?? []) this.notRunningAlarm.addAlarmAction(action);

    this.rule = new events.Rule(this, 'Schedule', {
      description: 'Runs Stratus compaction',
      schedule: props.schedule ?? events.Schedule.rate(Duration.minutes(5)),
      targets: [new targets.LambdaFunction(this.function.function, { retryAttempts: 2, maxEventAge: Duration.hours(1) })],
    });
  }
}
