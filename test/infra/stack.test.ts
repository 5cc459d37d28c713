/**
 * CDK assertions on the synthesized Stratus stack: resource counts, the
 * bucket and table settings, the functions' runtime and URLs, least-privilege
 * IAM per function, alarms, outputs, and the bundles themselves (they load
 * and answer without the Lambda runtime).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { IndexTtlAttribute } from '../../lib/index/expiry.ts';
import { Template, Match } from 'aws-cdk-lib/assertions';
import { EnvVars } from '../../lib/config/env.ts';
import { tenantObjectPrefix } from '../../lib/tsdb/db.ts';
import { ObjectKeyPattern, ReadAccess, WriteAccess } from '../../infra/constructs/stratus-storage.ts';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { applicationLogLevel } from '../../infra/constructs/stratus-function.ts';
import { newStratusApp } from './synth.ts';

type Resource = { Type: string; Properties: Record<string, any>; DependsOn?: string[] };

let template: Template;
let resources: Record<string, Resource>;
let outputs: Record<string, { Value: unknown }>;
let assemblyDir: string;
/** Logical ids, found through the Function URLs. */
const fns = { write: '', read: '', query: '' };

function ofType(type: string): [string, Resource][] {
  return Object.entries(resources).filter(([, r]) => r.Type === type);
}

function only(type: string, pred: (r: Resource) => boolean): [string, Resource] {
  const found = ofType(type).filter(([, r]) => pred(r));
  assert.equal(found.length, 1, `exactly one ${type} should match`);
  return found[0]!;
}

function getAtt(logicalId: string, attr: string) {
  return { 'Fn::GetAtt': [logicalId, attr] };
}

/** Renders a CloudFormation value with stand-ins for the values only known at deploy time. */
function render(v: unknown, subst: (ref: string) => string): string {
  if (typeof v === 'string') return v;
  const o = v as Record<string, any>;
  if (o['Fn::Join']) return (o['Fn::Join'][1] as unknown[]).map((x) => render(x, subst)).join(o['Fn::Join'][0]);
  if (o['Fn::GetAtt']) return subst(o['Fn::GetAtt'].join('.'));
  if (o.Ref) return subst(o.Ref);
  throw new Error(`cannot render ${JSON.stringify(v)}`);
}

before(() => {
  const { app, stack } = newStratusApp({ bundle: true });
  template = Template.fromStack(stack);
  assemblyDir = app.synth().directory;
  const json = template.toJSON() as { Resources: Record<string, Resource>; Outputs: Record<string, { Value: unknown }> };
  resources = json.Resources;
  outputs = json.Outputs;
  for (const [, url] of ofType('AWS::Lambda::Url')) {
    const target = url.Properties.TargetFunctionArn['Fn::GetAtt'][0] as string;
    if (url.Properties.InvokeMode !== 'RESPONSE_STREAM') fns.write = target;
    else if (/query API/.test(resources[target]!.Properties.Description)) fns.query = target;
    else fns.read = target;
  }
});

describe('StratusStack resources', () => {
  it('has the expected number of each resource type', () => {
    const cases: [string, number][] = [
      ['AWS::S3::Bucket', 2], // data + access logs
      ['AWS::S3::BucketPolicy', 2],
      ['AWS::DynamoDB::Table', 1],
      ['AWS::Lambda::Function', 4], // write, read, query, compact (no URL; test/infra/compact.test.ts)
      ['AWS::Lambda::Url', 3],
      ['AWS::Lambda::Permission', 1], // only EventBridge's, for the compaction schedule; callers use IAM identity policies
      ['AWS::Events::Rule', 1],
      ['AWS::Lambda::EventInvokeConfig', 1],
      ['AWS::IAM::Role', 4],
      ['AWS::IAM::Policy', 4],
      ['AWS::IAM::ManagedPolicy', 2], // senders (Prometheus), query callers (Grafana)
      ['AWS::Logs::LogGroup', 4],
      ['AWS::Logs::MetricFilter', 3], // none for compact: it answers no HTTP requests
      ['AWS::CloudWatch::Alarm', 12], // 3 per HTTP function, Errors + Throttles + not running for compact
    ];
    for (const [type, n] of cases) template.resourceCountIs(type, n);
  });

  it('encrypts both buckets, blocks public access and aborts stale multipart uploads after a day', () => {
    for (const [id, b] of ofType('AWS::S3::Bucket')) {
      assert.deepEqual(b.Properties.BucketEncryption, {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      }, id);
      assert.deepEqual(b.Properties.PublicAccessBlockConfiguration, {
        BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true,
      }, id);
      const abort = b.Properties.LifecycleConfiguration.Rules.find((r: any) => r.AbortIncompleteMultipartUpload);
      assert.deepEqual(abort?.AbortIncompleteMultipartUpload, { DaysAfterInitiation: 1 }, id);
      assert.equal((b as any).DeletionPolicy, 'Retain', id);
    }
  });

  it('denies non-TLS requests on both buckets', () => {
    for (const [id] of ofType('AWS::S3::Bucket')) {
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: id },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
  });

  it('logs data bucket access to the log bucket', () => {
    const [logsId] = only('AWS::S3::Bucket', (b) => b.Properties.LoggingConfiguration === undefined);
    const [, data] = only('AWS::S3::Bucket', (b) => b.Properties.LoggingConfiguration !== undefined);
    assert.deepEqual(data.Properties.LoggingConfiguration, { DestinationBucketName: { Ref: logsId }, LogFilePrefix: 'data/' });
  });

  it('has one table with pk/sk string keys, on-demand billing, point-in-time recovery and TTL on the label-index expiry attribute', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: IndexTtlAttribute, Enabled: true },
      GlobalSecondaryIndexes: Match.absent(),
    });
  });
});

describe('StratusStack functions', () => {
  it('runs every function on arm64 Node.js 22 with 30 s, 1024 MB, source maps and the shared env var names', () => {
    const [tableId] = ofType('AWS::DynamoDB::Table')[0]!;
    const [dataId] = only('AWS::S3::Bucket', (b) => b.Properties.LoggingConfiguration !== undefined);
    assert.ok(fns.write && fns.read && fns.query, 'all three functions found by their URLs');
    for (const id of [fns.write, fns.read, fns.query]) {
      const p = resources[id]!.Properties;
      assert.deepEqual(p.Architectures, ['arm64']);
      assert.equal(p.Runtime, 'nodejs22.x');
      assert.equal(p.Handler, 'index.handler');
      assert.equal(p.Timeout, 30);
      assert.equal(p.MemorySize, 1024);
      assert.deepEqual(p.Environment.Variables, {
        [EnvVars.bucket]: { Ref: dataId },
        [EnvVars.table]: { Ref: tableId },
        [EnvVars.logLevel]: 'info',
        // The table's TTL attribute: writers stamp label-index items with it (functions/deps.ts).
        [EnvVars.indexTtlAttribute]: IndexTtlAttribute,
        // V8's heap: three quarters of the 1024 MB (infra/constructs/stratus-function.ts heapLimitMb).
        NODE_OPTIONS: '--enable-source-maps --max-old-space-size=768',
      });
      assert.ok(p.LoggingConfig.LogGroup.Ref, 'logs go to the construct-owned log group');
    }
  });

  it('logs every function in JSON, without the platform START/REPORT lines, letting INFO lines (the EMF cost lines) through', () => {
    // Prepare: every function of the stack (compaction included), and a stack asking for the platform lines back.
    const all = ofType('AWS::Lambda::Function');
    assert.equal(all.length, 4);
    const withPlatform = Template.fromStack(newStratusApp({ bundle: false, props: { storage: { systemLogLevel: lambda.SystemLogLevel.INFO, logLevel: 'debug' } } }).stack);
    const cases = [
      { name: 'default', fns: all.map(([, r]) => r.Properties), want: { LogFormat: 'JSON', SystemLogLevel: 'WARN', ApplicationLogLevel: 'INFO' } },
      {
        name: 'systemLogLevel INFO, logLevel debug',
        fns: Object.values(withPlatform.findResources('AWS::Lambda::Function')).map((r) => (r as Resource).Properties),
        want: { LogFormat: 'JSON', SystemLogLevel: 'INFO', ApplicationLogLevel: 'DEBUG' },
      },
    ];
    for (const c of cases) {
      // Assess
      assert.equal(c.fns.length, 4, c.name);
      for (const p of c.fns) {
        const { LogGroup, ...rest } = p.LoggingConfig;
        assert.ok(LogGroup.Ref, `${c.name}: the construct-owned log group`);
        assert.deepEqual(rest, c.want, c.name);
      }
    }
    // Our logger writes `warn` lines: Lambda's filter must never be above INFO, or the level-less EMF lines go.
    assert.deepEqual(
      (['debug', 'info', 'warn', 'error'] as const).map((l) => applicationLogLevel(l)),
      [lambda.ApplicationLogLevel.DEBUG, lambda.ApplicationLogLevel.INFO, lambda.ApplicationLogLevel.INFO, lambda.ApplicationLogLevel.INFO],
    );
  });

  it('serves every URL with AWS_IAM auth, the read and query ones streamed', () => {
    template.hasResourceProperties('AWS::Lambda::Url', { TargetFunctionArn: getAtt(fns.write, 'Arn'), AuthType: 'AWS_IAM', InvokeMode: 'BUFFERED' });
    template.hasResourceProperties('AWS::Lambda::Url', { TargetFunctionArn: getAtt(fns.read, 'Arn'), AuthType: 'AWS_IAM', InvokeMode: 'RESPONSE_STREAM' });
    template.hasResourceProperties('AWS::Lambda::Url', { TargetFunctionArn: getAtt(fns.query, 'Arn'), AuthType: 'AWS_IAM', InvokeMode: 'RESPONSE_STREAM' });
  });

  it('grants each function exactly the actions its code calls, on the bucket/table ARNs only', () => {
    const [tableId] = ofType('AWS::DynamoDB::Table')[0]!;
    const [dataId] = only('AWS::S3::Bucket', (b) => b.Properties.LoggingConfiguration !== undefined);
    const cases = [
      { fn: fns.write, s3: ['s3:PutObject'], dynamodb: ['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem', 'dynamodb:GetItem'] },
      { fn: fns.read, s3: ['s3:GetObject'], dynamodb: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query'] },
      // The query API reads exactly as remote_read does: nothing that writes or deletes.
      { fn: fns.query, s3: ['s3:GetObject'], dynamodb: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query'] },
    ];
    for (const c of cases) {
      const roleId = resources[c.fn]!.Properties.Role['Fn::GetAtt'][0] as string;
      assert.equal(resources[roleId]!.Properties.ManagedPolicyArns, undefined, 'no AWS managed policies');
      const [, policy] = only('AWS::IAM::Policy', (p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: roleId }]));
      const logGroupId = resources[c.fn]!.Properties.LoggingConfig.LogGroup.Ref as string;
      const asList = (a: string | string[]) => (Array.isArray(a) ? [...a].sort() : [a]);
      const statements = policy.Properties.PolicyDocument.Statement.map((s: any) => ({ Effect: s.Effect, Action: asList(s.Action), Resource: s.Resource }));
      assert.deepEqual(statements, [
        { Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: getAtt(logGroupId, 'Arn') },
        { Effect: 'Allow', Action: c.s3, Resource: { 'Fn::Join': ['', [getAtt(dataId, 'Arn'), '/tenants/*']] } },
        { Effect: 'Allow', Action: c.dynamodb, Resource: getAtt(tableId, 'Arn') },
      ]);
      assert.ok(!JSON.stringify(statements.map((s: any) => s.Action)).includes('*'), 'no wildcard actions');
    }
  });

  it('keeps the granted key pattern and action lists in step with lib/ and infra/', () => {
    assert.ok(tenantObjectPrefix('t').startsWith(ObjectKeyPattern.replace(/\*$/, '')));
    assert.deepEqual([...WriteAccess.s3, ...WriteAccess.dynamodb].sort(), ['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem', 'dynamodb:GetItem', 's3:PutObject']);
    assert.deepEqual([...ReadAccess.s3, ...ReadAccess.dynamodb].sort(), ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query', 's3:GetObject']);
  });

  it('offers senders a managed policy for both URLs, scoped to the two functions', () => {
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Action: 'lambda:InvokeFunctionUrl',
            Condition: { StringEquals: { 'lambda:FunctionUrlAuthType': 'AWS_IAM' } },
            Resource: Match.arrayEquals([getAtt(fns.read, 'Arn'), getAtt(fns.write, 'Arn')]),
          },
          {
            Effect: 'Allow',
            Action: 'lambda:InvokeFunction',
            Condition: { Bool: { 'lambda:InvokedViaFunctionUrl': 'true' } },
            Resource: Match.arrayEquals([getAtt(fns.read, 'Arn'), getAtt(fns.write, 'Arn')]),
          },
        ],
      },
    });
  });

  it('offers Grafana a managed policy for the query URL only', () => {
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Action: 'lambda:InvokeFunctionUrl',
            Condition: { StringEquals: { 'lambda:FunctionUrlAuthType': 'AWS_IAM' } },
            Resource: getAtt(fns.query, 'Arn'),
          },
          {
            Effect: 'Allow',
            Action: 'lambda:InvokeFunction',
            Condition: { Bool: { 'lambda:InvokedViaFunctionUrl': 'true' } },
            Resource: getAtt(fns.query, 'Arn'),
          },
        ],
      },
    });
  });

  it('alarms on Errors, Throttles and 5xx answers of each function', () => {
    for (const id of [fns.write, fns.read, fns.query]) {
      for (const metric of ['Errors', 'Throttles']) {
        template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          Namespace: 'AWS/Lambda',
          MetricName: metric,
          Dimensions: [{ Name: 'FunctionName', Value: { Ref: id } }],
          Statistic: 'Sum',
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        });
      }
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'Stratus',
        MetricName: 'ServerErrors',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: id } }],
      });
    }
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      FilterPattern: Match.stringLikeRegexp('\\$\\.status >= 500'),
      MetricTransformations: [Match.objectLike({ MetricNamespace: 'Stratus', MetricName: 'ServerErrors' })],
    });
  });
});

describe('StratusStack outputs', () => {
  const url = (fn: string) => `https://${fn}.lambda-url.eu-west-1.on.aws/`;
  const subst = (ref: string) => {
    if (ref === 'AWS::Region') return 'eu-west-1';
    const urlId = ref.replace(/\.FunctionUrl$/, '');
    const target = resources[urlId]?.Properties.TargetFunctionArn['Fn::GetAtt'][0];
    return target === fns.write ? url('write') : target === fns.read ? url('read') : target === fns.query ? url('query') : `<${ref}>`;
  };

  it('has the URLs, both Prometheus blocks, the sender and query policies and the storage names', () => {
    assert.deepEqual(Object.keys(outputs).sort(), [
      'BucketName', 'PrometheusRemoteRead', 'PrometheusRemoteWrite', 'QueryApiUrl', 'QueryPolicyArn', 'RemoteReadUrl', 'RemoteWriteUrl',
      'SenderPolicyArn', 'TableName',
    ]);
    assert.equal(render(outputs.RemoteWriteUrl!.Value, subst), `${url('write')}api/v1/write`);
    assert.equal(render(outputs.RemoteReadUrl!.Value, subst), `${url('read')}api/v1/read`);
    // Grafana appends /api/v1/... itself: the output is the URL's root.
    assert.equal(render(outputs.QueryApiUrl!.Value, subst), url('query'));
  });

  it('renders ready-to-paste remote_write and remote_read YAML with sigv4 for lambda', () => {
    const sigv4 = [
      '    sigv4:',
      '      region: eu-west-1',
      '      # Prometheus >= 3.5. Older versions can only sign for "aps", which Function URLs',
      '      # reject; they need the bearer-token mode (planned).',
      '      service_name: lambda',
    ];
    const cases = [
      { output: 'PrometheusRemoteWrite', want: ['remote_write:', `  - url: ${url('write')}api/v1/write`, ...sigv4] },
      { output: 'PrometheusRemoteRead', want: ['remote_read:', `  - url: ${url('read')}api/v1/read`, ...sigv4] },
    ];
    for (const c of cases) assert.deepEqual(render(outputs[c.output]!.Value, subst).split('\n'), c.want);
  });
});

describe('function bundles', () => {
  function assetDir(fn: string): string {
    const key = resources[fn]!.Properties.Code.S3Key as string;
    return join(assemblyDir, `asset.${key.replace(/\.zip$/, '')}`);
  }

  it('are self-contained ESM bundles (snappyjs inside), without classic-level or the native snappy', (t) => {
    for (const [name, fn] of Object.entries(fns)) {
      const dir = assetDir(fn);
      const code = readFileSync(join(dir, 'index.mjs'), 'utf8');
      const size = statSync(join(dir, 'index.mjs')).size;
      t.diagnostic(`${name}: index.mjs ${(size / 1024).toFixed(0)} KiB, map ${(statSync(join(dir, 'index.mjs.map')).size / 1024).toFixed(0)} KiB`);
      assert.ok(code.startsWith("import { createRequire as __stratusCreateRequire } from 'node:module';"), 'require banner first');
      assert.ok(!code.includes('classic-level'), `${name} bundle must not reference classic-level`);
      assert.ok(!existsSync(join(dir, 'node_modules')), 'nothing shipped beside the bundle: snappyjs is bundled');
      // The query API decodes no snappy; the remote_write and remote_read bundles must carry snappyjs.
      if (name !== 'query') assert.ok(code.includes('snappy'), 'snappyjs is in the bundle');
      assert.ok(size < 3 * 1024 * 1024, `${name} bundle is ${size} bytes; something large slipped in`);
    }
  });

  it('load and answer outside the Lambda runtime (wrong method -> 405, buildinfo -> 200; no network)', () => {
    const event = (path: string) => ({
      version: '2.0', routeKey: '$default', rawPath: path, rawQueryString: '', headers: {}, isBase64Encoded: false,
      requestContext: { requestId: 'r1', http: { method: 'GET', path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 't' } },
    });
    const script = `
      const { Writable } = await import('node:stream');
      const write = await import(${JSON.stringify(join(assetDir(fns.write), 'index.mjs'))});
      const read = await import(${JSON.stringify(join(assetDir(fns.read), 'index.mjs'))});
      const w = await write.handler(${JSON.stringify(event('/api/v1/write'))});
      let prelude; const chunks = [];
      const sink = new Writable({ write(c, _e, cb) { chunks.push(Buffer.from(c).toString()); cb(); } });
      await read.newStreamRead((s, p) => { prelude = p; return s; })(${JSON.stringify(event('/api/v1/read'))}, sink);
      const query = await import(${JSON.stringify(join(assetDir(fns.query), 'index.mjs'))});
      let qPrelude; const qChunks = [];
      const qSink = new Writable({ write(c, _e, cb) { qChunks.push(Buffer.from(c).toString()); cb(); } });
      await query.newStreamQuery((s, p) => { qPrelude = p; return s; })(${JSON.stringify(event('/api/v1/status/buildinfo'))}, qSink);
      console.log(JSON.stringify({ write: w.statusCode, allow: w.headers.allow, read: prelude.statusCode, readBody: chunks.join(''),
        query: qPrelude.statusCode, queryType: qPrelude.headers['content-type'], queryBody: qChunks.join('') }));
    `;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, [EnvVars.bucket]: 'b', [EnvVars.table]: 't', [EnvVars.logLevel]: 'error', AWS_REGION: 'eu-west-1' },
      encoding: 'utf8',
    });
    const got = JSON.parse(out.trim().split('\n').pop()!);
    assert.equal(got.write, 405);
    assert.equal(got.allow, 'POST');
    assert.equal(got.read, 405);
    assert.match(got.readBody, /method GET is not allowed on \/api\/v1\/read/);
    assert.equal(got.query, 200);
    assert.equal(got.queryType, 'application/json');
    assert.equal(JSON.parse(got.queryBody).data.version, '2.42.0');
  });
});
