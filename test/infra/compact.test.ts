/**
 * CDK assertions on the compaction part of the stack: the function's
 * settings (15 min, 3008 MB, one at a time, no URL, no immediate retries),
 * its EventBridge rule (every 5 minutes) and the one resource policy that lets
 * EventBridge invoke it, its least-privilege role (CompactAccess, listing
 * limited to tenant prefixes), its alarms, and its bundle.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import { Template } from 'aws-cdk-lib/assertions';
import { EnvVars } from '../../lib/config/env.ts';
import { IndexTtlAttribute } from '../../lib/index/expiry.ts';
import { CompactAccess } from '../../infra/constructs/stratus-compactor.ts';
import { ObjectKeyPattern } from '../../infra/constructs/stratus-storage.ts';
import { newStratusApp } from './synth.ts';

type Resource = { Type: string; Properties: Record<string, any> };

let resources: Record<string, Resource>;
let assemblyDir: string;
let fnId = '';

function ofType(type: string, from = resources): [string, Resource][] {
  return Object.entries(from).filter(([, r]) => r.Type === type);
}

function getAtt(id: string, attr: string) {
  return { 'Fn::GetAtt': [id, attr] };
}

before(() => {
  const { app, stack } = newStratusApp({ bundle: true });
  resources = (Template.fromStack(stack).toJSON() as { Resources: Record<string, Resource> }).Resources;
  assemblyDir = app.synth().directory;
  const found = ofType('AWS::Lambda::Function').filter(([, r]) => /^Stratus compaction/.test(r.Properties.Description));
  assert.equal(found.length, 1, 'one compaction function');
  fnId = found[0]![0];
});

describe('compaction function', () => {
  it('runs on arm64 Node.js 22 for up to 15 min with 2048 MB (V8 heap 1536 MB), two invocations at a time at most', () => {
    const [tableId] = ofType('AWS::DynamoDB::Table')[0]!;
    const [dataId] = ofType('AWS::S3::Bucket').find(([, b]) => b.Properties.LoggingConfiguration !== undefined)!;
    const p = resources[fnId]!.Properties;
    const cases: [string, unknown, unknown][] = [
      ['Architectures', p.Architectures, ['arm64']],
      ['Runtime', p.Runtime, 'nodejs22.x'],
      ['Handler', p.Handler, 'index.handler'],
      ['Timeout', p.Timeout, 900],
      ['MemorySize', p.MemorySize, 2048],
      ['ReservedConcurrentExecutions', p.ReservedConcurrentExecutions, 2],
      [
        'Environment',
        p.Environment.Variables,
        { [EnvVars.bucket]: { Ref: dataId }, [EnvVars.table]: { Ref: tableId }, [EnvVars.logLevel]: 'info', [EnvVars.indexTtlAttribute]: IndexTtlAttribute, NODE_OPTIONS: '--enable-source-maps --max-old-space-size=1536' },
      ],
    ];
    for (const [what, got, want] of cases) assert.deepEqual(got, want, what);
  });

  it('has no Function URL and is not retried at once after a failure', () => {
    assert.equal(ofType('AWS::Lambda::Url').filter(([, u]) => u.Properties.TargetFunctionArn['Fn::GetAtt'][0] === fnId).length, 0);
    const [, cfg] = ofType('AWS::Lambda::EventInvokeConfig').find(([, c]) => c.Properties.FunctionName.Ref === fnId)!;
    assert.deepEqual(cfg.Properties, { FunctionName: { Ref: fnId }, MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 0, Qualifier: '$LATEST' });
  });

  it('is invoked every 5 minutes by an EventBridge rule, which alone may invoke it', () => {
    const rules = ofType('AWS::Events::Rule');
    assert.equal(rules.length, 1);
    const [ruleId, rule] = rules[0]!;
    assert.equal(rule.Properties.ScheduleExpression, 'rate(5 minutes)');
    assert.equal(rule.Properties.State, 'ENABLED');
    assert.deepEqual(rule.Properties.Targets.map((t: any) => t.Arn), [getAtt(fnId, 'Arn')]);
    const perms = ofType('AWS::Lambda::Permission');
    assert.deepEqual(perms.map(([, r]) => r.Properties), [
      { Action: 'lambda:InvokeFunction', FunctionName: getAtt(fnId, 'Arn'), Principal: 'events.amazonaws.com', SourceArn: getAtt(ruleId, 'Arn') },
    ]);
  });

  it('may call exactly CompactAccess: objects under tenants/, listings of tenants/ prefixes, the table', () => {
    const [tableId] = ofType('AWS::DynamoDB::Table')[0]!;
    const [dataId] = ofType('AWS::S3::Bucket').find(([, b]) => b.Properties.LoggingConfiguration !== undefined)!;
    const fn = resources[fnId]!.Properties;
    const roleId = fn.Role['Fn::GetAtt'][0] as string;
    assert.equal(resources[roleId]!.Properties.ManagedPolicyArns, undefined, 'no AWS managed policies');
    const policies = ofType('AWS::IAM::Policy').filter(([, p]) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: roleId }]));
    assert.equal(policies.length, 1);
    const asList = (a: string | string[]) => (Array.isArray(a) ? [...a].sort() : [a]);
    const statements = policies[0]![1].Properties.PolicyDocument.Statement.map((s: any) => ({ ...s, Action: asList(s.Action) }));
    assert.deepEqual(statements, [
      { Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: getAtt(fn.LoggingConfig.LogGroup.Ref, 'Arn') },
      { Effect: 'Allow', Action: [...CompactAccess.s3].sort(), Resource: { 'Fn::Join': ['', [getAtt(dataId, 'Arn'), '/tenants/*']] } },
      { Effect: 'Allow', Action: ['s3:ListBucket'], Resource: getAtt(dataId, 'Arn'), Condition: { StringLike: { 's3:prefix': ObjectKeyPattern } } },
      { Effect: 'Allow', Action: [...CompactAccess.dynamodb].sort(), Resource: getAtt(tableId, 'Arn') },
    ]);
    assert.deepEqual([...CompactAccess.s3, ...CompactAccess.s3Bucket, ...CompactAccess.dynamodb].sort(), [
      'dynamodb:BatchWriteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query',
      's3:DeleteObject', 's3:GetObject', 's3:ListBucket', 's3:PutObject',
    ]);
  });

  it('alarms on Errors, Throttles and a day without invocations, and has no 5xx metric filter (it answers no HTTP)', () => {
    const mine = ofType('AWS::CloudWatch::Alarm').filter(([, a]) => a.Properties.Dimensions?.[0]?.Value?.Ref === fnId);
    assert.deepEqual(mine.map(([, a]) => `${a.Properties.Namespace}/${a.Properties.MetricName}`).sort(), ['AWS/Lambda/Errors', 'AWS/Lambda/Invocations', 'AWS/Lambda/Throttles']);
    const [, idle] = mine.find(([, a]) => a.Properties.MetricName === 'Invocations')!;
    assert.deepEqual(
      [idle.Properties.Period, idle.Properties.Statistic, idle.Properties.Threshold, idle.Properties.ComparisonOperator, idle.Properties.TreatMissingData],
      [86400, 'Sum', 1, 'LessThanThreshold', 'breaching'],
    );
    const logGroup = resources[fnId]!.Properties.LoggingConfig.LogGroup.Ref;
    assert.equal(ofType('AWS::Logs::MetricFilter').filter(([, f]) => f.Properties.LogGroupName?.Ref === logGroup).length, 0);
  });

  it('follows the compactSchedule and compactMemorySize props', () => {
    const { stack } = newStratusApp({ bundle: false, props: { storage: { compactSchedule: events.Schedule.rate(Duration.minutes(30)), compactMemorySize: 4096 } } });
    const res = (Template.fromStack(stack).toJSON() as { Resources: Record<string, Resource> }).Resources;
    assert.deepEqual(ofType('AWS::Events::Rule', res).map(([, r]) => r.Properties.ScheduleExpression), ['rate(30 minutes)']);
    const fns = ofType('AWS::Lambda::Function', res).filter(([, r]) => /^Stratus compaction/.test(r.Properties.Description));
    assert.equal(fns[0]![1].Properties.MemorySize, 4096);
    // The V8 heap follows the memory (three quarters), not the 2048 MB default.
    assert.match(fns[0]![1].Properties.Environment.Variables.NODE_OPTIONS, / --max-old-space-size=3072$/);
  });
});

describe('compaction bundle', () => {
  it('is a self-contained ESM bundle without classic-level that loads outside the Lambda runtime', (t) => {
    const key = resources[fnId]!.Properties.Code.S3Key as string;
    const dir = join(assemblyDir, `asset.${key.replace(/\.zip$/, '')}`);
    const file = join(dir, 'index.mjs');
    const code = readFileSync(file, 'utf8');
    t.diagnostic(`compact: index.mjs ${(statSync(file).size / 1024).toFixed(0)} KiB`);
    assert.ok(code.startsWith("import { createRequire as __stratusCreateRequire } from 'node:module';"), 'require banner first');
    assert.ok(!code.includes('classic-level'), 'no classic-level');
    assert.ok(!existsSync(join(dir, 'node_modules')), 'nothing shipped beside the bundle');
    assert.ok(statSync(file).size < 3 * 1024 * 1024, 'bundle under 3 MiB');
    const script = `const m = await import(${JSON.stringify(file)}); console.log(JSON.stringify({ handler: typeof m.handler, factory: typeof m.newCompactHandler }));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, [EnvVars.bucket]: 'b', [EnvVars.table]: 't', [EnvVars.logLevel]: 'error', AWS_REGION: 'eu-west-1' },
      encoding: 'utf8',
    });
    assert.deepEqual(JSON.parse(out.trim().split('\n').pop()!), { handler: 'function', factory: 'function' });
  });
});

describe('compaction retention setting', () => {
  it('reaches the compact function as STRATUS_RETENTION, and a bad value fails at synth', () => {
    // Prepare + Act
    const retention = '{"raw":"90d","5m":"1y","1h":"5y"}';
    const { stack } = newStratusApp({ bundle: false, props: { storage: { retention } } });
    const res = (Template.fromStack(stack).toJSON() as { Resources: Record<string, Resource> }).Resources;
    const fn = ofType('AWS::Lambda::Function', res).find(([, r]) => /^Stratus compaction/.test(r.Properties.Description));
    // Assess
    assert.equal(fn?.[1].Properties.Environment.Variables[EnvVars.retention], retention);
    const others = ofType('AWS::Lambda::Function', res).filter(([, r]) => !/^Stratus compaction/.test(r.Properties.Description ?? ''));
    assert.ok(others.every(([, r]) => r.Properties.Environment?.Variables?.[EnvVars.retention] === undefined));
    assert.throws(() => newStratusApp({ bundle: false, props: { storage: { retention: '{"raw":"ninety days"}' } } }), /retention: defaults/);
  });
});
