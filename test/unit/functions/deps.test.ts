/**
 * functions/deps.ts: the cold-start wiring reads its environment strictly,
 * and the per-request operation counter reports and resets.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EnvVars } from '../../../lib/config/env.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// Importing deps.ts wires the process's dependencies at once, as in Lambda.
Object.assign(process.env, { [EnvVars.bucket]: 'b', [EnvVars.table]: 't', AWS_REGION: 'eu-west-1' });
const { loadDeps, RequestOps, deps } = await import('../../../functions/deps.ts');

describe('loadDeps', () => {
  const good = { [EnvVars.bucket]: 'bucket', [EnvVars.table]: 'table' };
  const cases: { name: string; env: Record<string, string>; error: RegExp }[] = [
    { name: 'missing bucket', env: { [EnvVars.table]: 'table' }, error: /STRATUS_BUCKET is not set/ },
    { name: 'empty table', env: { [EnvVars.bucket]: 'bucket', [EnvVars.table]: '' }, error: /STRATUS_TABLE is not set/ },
    { name: 'bad log level', env: { ...good, [EnvVars.logLevel]: 'verbose' }, error: /STRATUS_LOG_LEVEL is "verbose"; want debug, info, warn or error/ },
    { name: 'an index TTL attribute other than the one items are stamped with', env: { ...good, [EnvVars.indexTtlAttribute]: 'ttl' }, error: /STRATUS_INDEX_TTL_ATTRIBUTE is "ttl"; the label index expires by "expires"/ },
  ];
  for (const c of cases) {
    it(`fails the cold start on ${c.name}`, () => {
      assert.throws(() => loadDeps(c.env), c.error);
    });
  }

  it('builds storage, metrics and a logger at the requested level from a complete environment', () => {
    const d = loadDeps({ ...good, [EnvVars.logLevel]: 'warn', AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512' });
    assert.equal(typeof d.storage.tenant, 'function');
    assert.equal(d.logger.enabled('info'), false);
    assert.equal(d.logger.enabled('warn'), true);
    assert.equal(typeof d.metrics.samplesReceived.inc, 'function');
  });

  it('lets label-index items expire only when the TTL attribute is set', () => {
    assert.equal(loadDeps(good).indexItemsExpire, false);
    assert.equal(loadDeps({ ...good, [EnvVars.indexTtlAttribute]: '' }).indexItemsExpire, false);
    assert.equal(loadDeps({ ...good, [EnvVars.indexTtlAttribute]: 'expires' }).indexItemsExpire, true);
  });

  it('wired the module-level deps from process.env at import', () => {
    assert.ok(deps.storage.tenant('anonymous'));
    assert.equal(deps.logger.enabled('info'), true);
  });
});

describe('RequestOps', () => {
  it('counts requests per operation, units where they differ, and resets on take', () => {
    const ops = new RequestOps();
    ops.count('s3', 'PutObject');
    ops.count('dynamodb', 'BatchWriteItem', 25);
    ops.count('dynamodb', 'BatchWriteItem', 1);
    ops.count('dynamodb', 'GetItem');
    ops.count('dynamodb', 'GetItem');
    assert.deepEqual(ops.take(), {
      's3:PutObject': 1,
      'dynamodb:BatchWriteItem': 2,
      'dynamodb:BatchWriteItem.units': 26,
      'dynamodb:GetItem': 2,
    });
    assert.deepEqual(ops.take(), {});
  });
});
