/**
 * functions/compact.ts invoked directly with EventBridge scheduled events,
 * over in-memory storage (deps.storage swapped after the cold start): it
 * compacts every tenant (settled windows only), logs one summary line,
 * stops starting steps when the function's remaining time is short and
 * finishes on the next run with reads exact, fails the invocation when a
 * tenant fails, and rotates the tenant order hourly.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ScheduledEvent } from 'aws-lambda';
import { EnvVars } from '../../../lib/config/env.ts';
import { Storage } from '../../../lib/tsdb/db.ts';
import { MemBucket } from '../../../lib/objstore/mem.ts';
import { MemKVStore } from '../../../lib/kvstore/mem.ts';
import { BackendError } from '../../../lib/util/errors.ts';
import { createLogger } from '../../../lib/util/logger.ts';
import { CompactionFailedError } from '../../../lib/compact/service.ts';
import { Model, assertReadsModel, catalogState, dataset, writeRequests } from '../compact/helpers.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
Object.assign(process.env, { [EnvVars.bucket]: 'b', [EnvVars.table]: 't', AWS_REGION: 'eu-west-1' });
const { deps } = await import('../../../functions/deps.ts');
const { handler, MinDeadlineMarginMs, newCompactHandler, rotateTenants } = await import('../../../functions/compact.ts');

const Hour = 3_600_000;

function scheduledEvent(time: string): ScheduledEvent {
  return { id: 'ev-1', version: '0', account: '123456789012', region: 'eu-west-1', source: 'aws.events', 'detail-type': 'Scheduled Event', time, resources: ['arn:aws:events:eu-west-1:123456789012:rule/x'], detail: {} };
}

const lines: Record<string, any>[] = [];
before(() => {
  deps.logger = createLogger({ level: 'debug', write: (l) => lines.push(JSON.parse(l)) });
});

/** Fresh storage with two tenants of the compaction data set (2024: long settled). */
async function freshStorage(bucket = new MemBucket()) {
  const storage = new Storage({ bucket, kv: new MemKVStore() });
  const tenants = ['alpha', 'beta'].map((name) => ({ name, db: storage.tenant(name), model: new Model() }));
  for (const [i, t] of tenants.entries()) await writeRequests(t.db, dataset(i).requests, t.model);
  deps.storage = storage;
  return tenants;
}

describe('compact handler', () => {
  it('compacts every tenant on a scheduled event and logs one summary line', async () => {
    // Prepare
    const tenants = await freshStorage();
    lines.length = 0;
    // Act
    const s = await handler(scheduledEvent('2024-03-01T10:00:00Z'), { getRemainingTimeInMillis: () => 900_000, awsRequestId: 'req-1' });
    // Assess
    assert.equal(s.force, false);
    assert.deepEqual(s.tenants.map((t) => t.outcome), ['done', 'done']);
    assert.ok(s.totals.blocksWritten >= 4);
    const summary = lines.filter((l) => l.msg === 'compaction');
    assert.equal(summary.length, 1);
    assert.deepEqual(
      [summary[0]!.level, summary[0]!.requestId, summary[0]!.eventTime, summary[0]!.blocksWritten, summary[0]!.failed, summary[0]!.stopped],
      ['info', 'req-1', '2024-03-01T10:00:00Z', s.totals.blocksWritten, 0, false],
    );
    assert.match(summary[0]!.summary, /^compaction done in /);
    assert.equal(typeof summary[0]!.ops, 'object');
    assert.equal(lines.filter((l) => l.msg === 'compaction progress' && l.level === 'info').length, s.totals.blocksWritten, 'a line per block at info');
    for (const t of tenants) {
      await assertReadsModel(t.db, t.model, t.name);
      assert.equal((await catalogState(t.db.stores)).segments, 0);
    }
  });

  it('stops starting steps when the remaining time is short, and the next run finishes', async () => {
    // Prepare: remaining time that drops below the margin once a block is written.
    const tenants = await freshStorage();
    lines.length = 0;
    let remaining = 900_000;
    const run = newCompactHandler({ deleteGraceMs: 0 });
    const ctx = { getRemainingTimeInMillis: () => remaining };
    deps.logger = createLogger({
      level: 'debug',
      write: (l) => {
        const j = JSON.parse(l);
        lines.push(j);
        if (j.msg === 'compaction progress' && / -> blocks\//.test(j.detail)) remaining = MinDeadlineMarginMs - 1;
      },
    });
    // Act
    const first = await run(scheduledEvent('2024-03-01T10:00:00Z'), ctx);
    // Assess: one block, then a clean stop; nothing lost.
    assert.equal(first.stopped, true);
    assert.equal(first.totals.blocksWritten, 1);
    assert.equal(first.tenants.length + first.notStarted.length, 2);
    assert.equal(lines.filter((l) => l.msg === 'compaction').pop()!.stopped, true);
    for (const t of tenants) await assertReadsModel(t.db, t.model, `${t.name} after the stop`);
    // Act 2: no time at all: nothing starts.
    const none = await run(scheduledEvent('2024-03-01T11:00:00Z'), ctx);
    assert.deepEqual([none.tenants.length, none.notStarted.length], [0, 2]);
    // Act 3: a run with time to spare finishes the work.
    remaining = 900_000;
    deps.logger = createLogger({ write: () => {} });
    const last = await run(scheduledEvent('2024-03-01T12:00:00Z'), { getRemainingTimeInMillis: () => 900_000 });
    assert.deepEqual(last.tenants.map((t) => t.outcome), ['done', 'done']);
    for (const t of tenants) {
      await assertReadsModel(t.db, t.model, `${t.name} after the last run`);
      assert.equal((await catalogState(t.db.stores)).segments, 0);
    }
  });

  it('fails the invocation (after compacting the other tenants) when a tenant fails', async () => {
    class FailAlpha extends MemBucket {
      override async put(key: string, data: Uint8Array): Promise<void> {
        if (key.startsWith('tenants/alpha/blocks/')) throw new BackendError(`put ${key}`, { cause: new Error('injected') });
        return super.put(key, data);
      }
    }
    const tenants = await freshStorage(new FailAlpha());
    lines.length = 0;
    deps.logger = createLogger({ write: (l) => lines.push(JSON.parse(l)) });
    await assert.rejects(handler(scheduledEvent('2024-03-01T10:00:00Z'), {}), (e: unknown) => e instanceof CompactionFailedError && /tenant alpha: put tenants\/alpha\/blocks\//.test(e.message));
    assert.equal((await catalogState(tenants[1]!.db.stores)).segments, 0, 'beta compacted');
    const summary = lines.find((l) => l.msg === 'compaction')!;
    assert.deepEqual([summary.level, summary.failed], ['error', 1]);
    assert.ok(lines.some((l) => l.msg === 'compaction of a tenant failed' && l.tenant === 'alpha'));
  });
});

describe('rotateTenants', () => {
  const ids = ['a', 'b', 'c'];
  const cases: [number, string[]][] = [
    [0, ['a', 'b', 'c']],
    [Hour - 1, ['a', 'b', 'c']],
    [Hour, ['b', 'c', 'a']],
    [2 * Hour + 5, ['c', 'a', 'b']],
    [3 * Hour, ['a', 'b', 'c']],
  ];
  for (const [t, want] of cases) it(`at ${t} ms`, () => assert.deepEqual(rotateTenants(ids, t), want));
  it('of no tenants', () => assert.deepEqual(rotateTenants([], 5 * Hour), []));
});
