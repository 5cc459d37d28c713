/**
 * The CDK app (the `app` of cdk.json): one Stratus stack, checked by
 * cdk-nag's AWS Solutions rules during synthesis, so `cdk synth` and
 * `cdk deploy` fail on any finding that is not acknowledged with a reason.
 *
 * The stack is environment-agnostic unless CDK_DEFAULT_ACCOUNT and
 * CDK_DEFAULT_REGION are set (the CLI sets them from the profile).
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { StratusStack } from './stratus-stack.ts';

const app = new App();
const account = process.env.CDK_DEFAULT_ACCOUNT;
const region = process.env.CDK_DEFAULT_REGION;
// `cdk deploy -c retention='{"raw":"90d","5m":"1y","1h":"5y"}'` (default: keep everything).
const retention = app.node.tryGetContext('retention') as string | undefined;
new StratusStack(app, 'Stratus', {
  description: 'Stratus: long-term storage for Prometheus on S3 and DynamoDB',
  env: account !== undefined && region !== undefined ? { account, region } : undefined,
  ...(retention === undefined ? {} : { storage: { retention: typeof retention === 'string' ? retention : JSON.stringify(retention) } }),
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
