/**
 * One Stratus Lambda function with our defaults: a `NodejsFunction` bundled
 * by esbuild (no Docker), its own role with no managed policies, its own
 * log group in Lambda's JSON log format without the platform's per-invocation
 * START/REPORT lines (see {@link StratusFunctionProps.systemLogLevel}), a Function URL with AWS_IAM auth (unless it is invoked some
 * other way, such as by a schedule), alarms, and grant helpers that give
 * exactly the S3 and DynamoDB actions the handler's code calls.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { EnvVars } from '../../lib/config/env.ts';
import { IndexTtlAttribute } from '../../lib/index/expiry.ts';
import type { LogLevelName } from '../../lib/util/logger.ts';

/** The repository root: entries, package-lock.json and node_modules are found from here. */
export const RepoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** S3 object actions a function may be granted (on object ARNs only). */
export type S3ObjectAction = 's3:GetObject' | 's3:PutObject' | 's3:DeleteObject';

/** DynamoDB item actions a function may be granted (on the table ARN only). */
export type DynamoDBAction =
  | 'dynamodb:GetItem'
  | 'dynamodb:Query'
  | 'dynamodb:PutItem'
  | 'dynamodb:BatchWriteItem'
  | 'dynamodb:BatchGetItem'
  | 'dynamodb:DeleteItem';

/**
 * Prepended to the ESM bundle: CommonJS dependencies (prom-client, snappyjs)
 * call `require` for Node built-ins, which an ES module lacks. The import is
 * renamed so it cannot clash with a bundled module's own `createRequire`.
 */
const RequireBanner =
  "import { createRequire as __stratusCreateRequire } from 'node:module'; const require = __stratusCreateRequire(import.meta.url);";

/** Properties of {@link StratusFunction}. */
export interface StratusFunctionProps {
  /** The handler file, relative to the repository root (e.g. `functions/remote-write.ts`); it exports `handler`. */
  readonly entry: string;
  /** The function's description. @default none */
  readonly description?: string;
  /**
   * Memory in MB (CPU grows with it). An initial choice, to be tuned from
   * measured duration and max memory used. V8's old-generation heap is set
   * to three quarters of it ({@link heapLimitMb}); the rest is for buffers
   * outside the heap, code and the runtime.
   * @default 1024
   */
  readonly memorySize?: number;
  /** @default Duration.seconds(30) */
  readonly timeout?: Duration;
  /**
   * The Node.js runtime; the esbuild target follows it. Node 22 is the
   * runtime closest to what the code is tested on (Node 20 and later).
   * @default lambda.Runtime.NODEJS_22_X
   */
  readonly runtime?: lambda.Runtime;
  /** How long the function's logs are kept. @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** The handler's log level. @default 'info' */
  readonly logLevel?: LogLevelName;
  /**
   * Level of Lambda's own (platform) log lines. The logs are in Lambda's
   * JSON format. At INFO Lambda writes a `platform.start` and a
   * `platform.report` line for every invocation (~400 bytes, about 6 % of
   * the cost of a 2000-sample write: docs/cost.md); at WARN it writes only
   * platform problems (an invocation's error, timeout or crash is still
   * logged by the runtime as an application ERROR line). What the report
   * lines carry stays available as free metrics in the AWS/Lambda namespace
   * (Duration, Errors, Throttles, ConcurrentExecutions); only the maximum
   * memory used per invocation is not a metric: set INFO to see it when
   * tuning `memorySize`.
   * @default lambda.SystemLogLevel.WARN
   */
  readonly systemLogLevel?: lambda.SystemLogLevel;
  /** Invoke mode of the Function URL. @default lambda.InvokeMode.BUFFERED */
  readonly invokeMode?: lambda.InvokeMode;
  /**
   * Whether the function gets a Function URL (an HTTP endpoint). Without
   * one, it also has no server-errors alarm (that counts HTTP answers).
   * @default true
   */
  readonly functionUrl?: boolean;
  /** Concurrent executions reserved (and so also the most allowed). @default none: the account's pool */
  readonly reservedConcurrentExecutions?: number;
  /** Actions run when an alarm fires (an SNS topic, say). @default none */
  readonly alarmActions?: readonly cloudwatch.IAlarmAction[];
  /**
   * Answers with status 5xx (or cut short) within 5 minutes that raise the
   * server-errors alarm. Prometheus retries them silently, so they are the
   * first sign of backend trouble. An initial choice.
   * @default 5
   */
  readonly serverErrorsThreshold?: number;
}

/**
 * Lambda's application log level for a handler log level. Our logger drops
 * lines below its own level itself; Lambda's filter must only never drop
 * what it writes. The per-tenant EMF cost lines have no `level`, and Lambda
 * takes a line without one as INFO, so the filter stays at INFO even when
 * the handler logs only warnings (WARN would drop every cost line), and
 * goes down to DEBUG for a handler at debug.
 */
export function applicationLogLevel(level: LogLevelName): lambda.ApplicationLogLevel {
  return level === 'debug' ? lambda.ApplicationLogLevel.DEBUG : lambda.ApplicationLogLevel.INFO;
}

/**
 * V8's old-generation heap limit for a function of `memoryMb`: three
 * quarters of it. Set explicitly (`--max-old-space-size`) because V8 sizes
 * its default from the memory it sees, which need not be what the function
 * is configured with, and compaction relies on a known heap.
 */
export function heapLimitMb(memoryMb: number): number {
  return Math.floor((memoryMb * 3) / 4);
}

/** The construct-tree form of a CloudFormation reference, as cdk-nag writes it in finding ids. */
function nagReference(node: unknown): string {
  if (typeof node === 'string') return node;
  if (typeof node === 'object' && node !== null) {
    const o = node as Record<string, unknown>;
    if (Array.isArray(o['Fn::Join'])) {
      const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
      return parts.map(nagReference).join(sep);
    }
    if (Array.isArray(o['Fn::GetAtt'])) {
      const [res, attr] = o['Fn::GetAtt'] as [string, string];
      return `<${res}.${attr}>`;
    }
    if (typeof o.Ref === 'string') return `<${o.Ref}>`;
  }
  return JSON.stringify(node);
}

/** A Stratus Lambda function with its role, logs, Function URL and alarms. */
export class StratusFunction extends Construct {
  /** The function. */
  readonly function: NodejsFunction;
  /** The function's role: log writing plus whatever the bind helpers grant. */
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  readonly #url: lambda.FunctionUrl | undefined;
  /** Invocations that failed (crash, timeout, out of memory, failed cold start). */
  readonly errorsAlarm: cloudwatch.Alarm;
  /** Invocations Lambda refused for lack of concurrency (the client got 429). */
  readonly throttlesAlarm: cloudwatch.Alarm;
  /** Answers with status 5xx, counted from the handler's request log lines (functions with a URL only). */
  readonly serverErrorsAlarm: cloudwatch.Alarm | undefined;

  constructor(scope: Construct, id: string, props: StratusFunctionProps) {
    super(scope, id);
    const runtime = props.runtime ?? lambda.Runtime.NODEJS_22_X;
    const nodeMajor = /^nodejs(\d+)/.exec(runtime.name)?.[1] ?? '22';

    // An explicit role instead of AWSLambdaBasicExecutionRole: that managed
    // policy lets the function write to any log group in the account.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Stratus ${id} function`,
    });
    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );

    this.function = new NodejsFunction(this, 'Function', {
      entry: join(RepoRoot, props.entry),
      handler: 'handler',
      projectRoot: RepoRoot,
      depsLockFilePath: join(RepoRoot, 'package-lock.json'),
      description: props.description,
      runtime,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 1024,
      timeout: props.timeout ?? Duration.seconds(30),
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      systemLogLevelV2: props.systemLogLevel ?? lambda.SystemLogLevel.WARN,
      applicationLogLevelV2: applicationLogLevel(props.logLevel ?? 'info'),
      environment: {
        [EnvVars.logLevel]: props.logLevel ?? 'info',
        // Stack traces point into lib/ and functions/, not the minified bundle.
        NODE_OPTIONS: `--enable-source-maps --max-old-space-size=${heapLimitMb(props.memorySize ?? 1024)}`,
      },
      bundling: {
        format: OutputFormat.ESM, // lib/prompb/snappy.ts uses top-level await
        target: `node${nodeMajor}`,
        mainFields: ['module', 'main'],
        minify: true,
        sourceMap: true,
        banner: RequireBanner,
        // The AWS SDK is bundled (the versions we test), not taken from the
        // runtime. `snappy` is optional and native: its import fails in
        // Lambda and snappy.ts falls back to snappyjs. `classic-level` is
        // the local-mode index store and must never reach a function.
        externalModules: ['snappy', 'classic-level'],
        logLevel: LogLevel.WARNING,
      },
    });

    if (props.runtime === undefined) {
      Validations.of(this.function).acknowledge({
        id: 'AwsSolutions-L1',
        reason:
          'Node.js 22 is pinned on purpose: it is the Lambda runtime closest to the Node versions the code is ' +
          'tested on (package.json engines >=20), the esbuild target follows it, and Node.js 22 has upstream ' +
          'security support until April 2027. Moving to a newer runtime is a deliberate upgrade (props.runtime) ' +
          'made once the test suite passes on it.',
      });
    }

    this.#url =
      props.functionUrl === false
        ? undefined
        : this.function.addFunctionUrl({
            authType: lambda.FunctionUrlAuthType.AWS_IAM,
            invokeMode: props.invokeMode ?? lambda.InvokeMode.BUFFERED,
          });

    const fiveMinutes = { period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM };
    const alarm = (name: string, metric: cloudwatch.IMetric, threshold: number, what: string) => {
      const a = new cloudwatch.Alarm(this, name, {
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: `Stratus ${id}: ${what}`,
      });
      for (const action of props.alarmActions ?? []) a.addAlarmAction(action);
      return a;
    };
    this.errorsAlarm = alarm('ErrorsAlarm', this.function.metricErrors(fiveMinutes), 1, 'invocations failed (crash, timeout, out of memory or cold-start error)');
    this.throttlesAlarm = alarm('ThrottlesAlarm', this.function.metricThrottles(fiveMinutes), 1, 'invocations throttled (clients got 429)');

    if (this.#url === undefined) {
      this.serverErrorsAlarm = undefined;
      return;
    }
    // The handlers answer backend failures with 5xx instead of failing the
    // invocation, so Lambda's Errors metric misses them: count them from
    // each request's log line (functions/remote-*.ts; `fn` is the function
    // name, bound by functions/deps.ts).
    const filter = new logs.MetricFilter(this, 'ServerErrors', {
      logGroup: this.logGroup,
      filterPattern: logs.FilterPattern.literal('{ $.msg = "request" && ($.status >= 500 || $.status = "cut short") }'),
      metricNamespace: 'Stratus',
      metricName: 'ServerErrors',
      dimensions: { FunctionName: '$.fn' },
      metricValue: '1',
    });
    this.serverErrorsAlarm = alarm(
      'ServerErrorsAlarm',
      filter.metric({ ...fiveMinutes, dimensionsMap: { FunctionName: this.function.functionName } }),
      props.serverErrorsThreshold ?? 5,
      'answers with status 5xx or cut short (Prometheus retries them)',
    );
  }

  /**
   * The HTTPS endpoint, AWS_IAM-authenticated.
   *
   * @throws Error for a function made with `functionUrl: false`.
   */
  get url(): lambda.FunctionUrl {
    if (this.#url === undefined) throw new Error(`${this.node.path} has no Function URL (functionUrl: false)`);
    return this.#url;
  }

  /**
   * Grants `s3:ListBucket` on the bucket, for listings whose prefix matches
   * `prefixPattern` only (the `s3:prefix` condition key), and tells the
   * function the bucket's name.
   *
   * @param prefixPattern listing prefixes, IAM-style (`tenants/*`).
   */
  bindBucketListing(bucket: s3.IBucket, prefixPattern: string): void {
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': prefixPattern } },
      }),
    );
    this.function.addEnvironment(EnvVars.bucket, bucket.bucketName);
  }

  /**
   * Grants `actions` on the bucket's objects whose keys match `keyPattern`
   * and tells the function the bucket's name ({@link EnvVars.bucket}).
   *
   * @param keyPattern object keys, IAM-style (`tenants/*`). @default '*'
   */
  bindBucket(bucket: s3.IBucket, actions: readonly S3ObjectAction[], keyPattern = '*'): void {
    const resource = bucket.arnForObjects(keyPattern);
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: [...actions], resources: [resource] }));
    this.function.addEnvironment(EnvVars.bucket, bucket.bucketName);
    Validations.of(this.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagReference(Stack.of(this).resolve(resource))}]`,
      reason:
        `Object ARNs need a key wildcard: ${actions.join(', ')} is granted on the keys matching ` +
        `"${keyPattern}" of this one bucket only, because object keys are made at run time (tenant, time, ULID).`,
    });
  }

  /**
   * Grants `actions` on the table (not on any index: it has none) and tells
   * the function the table's name ({@link EnvVars.table}) and its label-index
   * TTL attribute ({@link EnvVars.indexTtlAttribute}; the table of
   * StratusStorage has TTL on that attribute).
   */
  bindTable(table: dynamodb.ITable, actions: readonly DynamoDBAction[]): void {
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: [...actions], resources: [table.tableArn] }));
    this.function.addEnvironment(EnvVars.table, table.tableName);
    this.function.addEnvironment(EnvVars.indexTtlAttribute, IndexTtlAttribute);
  }
}
