/**
 * The Stratus stack: {@link StratusStorage} plus outputs a user pastes
 * into Prometheus: the endpoint URLs, ready-made `remote_write` and
 * `remote_read` blocks, and the managed policy Prometheus' IAM principal
 * needs.
 */
import { CfnOutput, Fn, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { StratusStorage, type StratusStorageProps } from './constructs/stratus-storage.ts';

/** Properties of {@link StratusStack}. */
export interface StratusStackProps extends StackProps {
  /** Passed to {@link StratusStorage}. @default its defaults */
  readonly storage?: StratusStorageProps;
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

  constructor(scope: Construct, id: string, props: StratusStackProps = {}) {
    super(scope, id, props);
    this.stratus = new StratusStorage(this, 'Stratus', props.storage);

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
    new CfnOutput(this, 'BucketName', { value: this.stratus.bucket.bucketName });
    new CfnOutput(this, 'TableName', { value: this.stratus.table.tableName });
  }
}
