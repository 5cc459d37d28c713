/**
 * The Stratus stack: {@link StratusStorage}, the query function serving
 * the Prometheus HTTP API to Grafana, and outputs a user pastes into
 * Prometheus and Grafana: the endpoint URLs, ready-made `remote_write` and
 * `remote_read` blocks, and the managed policies the callers' IAM
 * principals need.
 */
import { CfnOutput, Fn, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { StratusFunction } from './constructs/stratus-function.ts';
import { ObjectKeyPattern, ReadAccess, StratusStorage, type StratusStorageProps } from './constructs/stratus-storage.ts';

/** Properties of {@link StratusStack}. */
export interface StratusStackProps extends StackProps {
  /** Passed to {@link StratusStorage}. @default its defaults */
  readonly storage?: StratusStorageProps;
  /**
   * Memory of the query function in MB (PromQL evaluates in memory; CPU
   * grows with memory). An initial choice, to be tuned from measurements.
   * @default 1024
   */
  readonly queryMemorySize?: number;
}

/**
 * The `sigv4` lines of a Prometheus remote block, indented for it.
 * Prometheus signs for the `aps` service unless told otherwise; only
 * Prometheus 3.5 and later can set `service_name` (prometheus/sigv4), and a
 * Function URL accepts only signatures for `lambda`.
 */
function sigv4Lines(region: string): string[] {
  return [
    '    sigv4:',
    `      region: ${region}`,
    '      # Prometheus >= 3.5. Older versions can only sign for "aps", which Function URLs',
    '      # reject; they need the bearer-token mode (planned).',
    '      service_name: lambda',
  ];
}

/** Stratus on AWS: storage, functions and the outputs to configure Prometheus. */
export class StratusStack extends Stack {
  readonly stratus: StratusStorage;
  /**
   * The Prometheus HTTP API for Grafana (functions/query-api.ts), response
   * streaming, with the read path's grants only: it never writes.
   */
  readonly queryFunction: StratusFunction;
  /** What a Grafana data source's IAM principal needs to call the query URL. */
  readonly queryPolicy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: StratusStackProps = {}) {
    super(scope, id, props);
    this.stratus = new StratusStorage(this, 'Stratus', props.storage);

    this.queryFunction = new StratusFunction(this, 'Query', {
      entry: 'functions/query-api.ts',
      description: 'Stratus query API for Grafana: /api/v1/query, query_range, series, labels (streamed)',
      memorySize: props.queryMemorySize ?? 1024,
      invokeMode: lambda.InvokeMode.RESPONSE_STREAM,
      logLevel: props.storage?.logLevel,
      systemLogLevel: props.storage?.systemLogLevel,
      logRetention: props.storage?.logRetention,
      alarmActions: props.storage?.alarmActions,
    });
    this.queryFunction.bindBucket(this.stratus.bucket, ReadAccess.s3, ObjectKeyPattern);
    this.queryFunction.bindTable(this.stratus.table, ReadAccess.dynamodb);
    const queryArn = [this.queryFunction.function.functionArn];
    this.queryPolicy = new iam.ManagedPolicy(this, 'QueryPolicy', {
      description: 'Lets a Grafana data source call the Stratus query API Function URL',
      statements: [
        new iam.PolicyStatement({
          actions: ['lambda:InvokeFunctionUrl'],
          resources: queryArn,
          conditions: { StringEquals: { 'lambda:FunctionUrlAuthType': 'AWS_IAM' } },
        }),
        // Function URLs created since October 2025 also require InvokeFunction.
        new iam.PolicyStatement({
          actions: ['lambda:InvokeFunction'],
          resources: queryArn,
          conditions: { Bool: { 'lambda:InvokedViaFunctionUrl': 'true' } },
        }),
      ],
    });

    // Function URLs end with a slash.
    const writeUrl = Fn.join('', [this.stratus.writeFunction.url.url, 'api/v1/write']);
    const readUrl = Fn.join('', [this.stratus.readFunction.url.url, 'api/v1/read']);
    const lines = (head: string[]) => Fn.join('\n', [...head, ...sigv4Lines(this.region)]);

    new CfnOutput(this, 'RemoteWriteUrl', { value: writeUrl, description: 'remote_write endpoint (AWS_IAM auth)' });
    new CfnOutput(this, 'RemoteReadUrl', { value: readUrl, description: 'remote_read endpoint (AWS_IAM auth, streamed)' });
    new CfnOutput(this, 'PrometheusRemoteWrite', {
      value: lines(['remote_write:', Fn.join('', ['  - url: ', writeUrl])]),
      description: 'Paste into prometheus.yml',
    });
    new CfnOutput(this, 'PrometheusRemoteRead', {
      // read_recent stays at its default (false): queries the local TSDB
      // covers are not sent here, which saves invocations.
      value: lines(['remote_read:', Fn.join('', ['  - url: ', readUrl])]),
      description: 'Paste into prometheus.yml',
    });
    new CfnOutput(this, 'SenderPolicyArn', {
      value: this.stratus.senderPolicy.managedPolicyArn,
      description: "Attach to Prometheus' IAM role or user: lets it call both URLs",
    });
    new CfnOutput(this, 'QueryApiUrl', {
      // Grafana's Prometheus data source takes the server's root URL and appends /api/v1/....
      value: this.queryFunction.url.url,
      description: "Prometheus server URL for Grafana's Prometheus data source (AWS_IAM auth, SigV4 for the lambda service)",
    });
    new CfnOutput(this, 'QueryPolicyArn', {
      value: this.queryPolicy.managedPolicyArn,
      description: "Attach to the Grafana data source's IAM role or user: lets it call the query URL",
    });
    new CfnOutput(this, 'BucketName', { value: this.stratus.bucket.bucketName });
    new CfnOutput(this, 'TableName', { value: this.stratus.table.tableName });
  }
}
