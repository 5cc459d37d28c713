/**
 * The Lambda functions' label-index TTL, wired from the environment as
 * infra/ sets it (STRATUS_INDEX_TTL_ATTRIBUTE): the remote_write function
 * stamps every label-index item (and nothing else) with the table's TTL
 * attribute, 30 days out, and the compact function seals the day without
 * deleting those items, while reads stay complete. Against dynalite and
 * s3rver, through the real handlers.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import type { ScheduledEvent } from 'aws-lambda';
import { EnvVars } from '../../lib/config/env.ts';
import { IndexExpiryMs, IndexTtlAttribute } from '../../lib/index/expiry.ts';
import { indexBucketKey } from '../../lib/index/keys.ts';
import { labelsGet } from '../../lib/labels/labels.ts';
import { MatchType, newMatcher } from '../../lib/labels/matcher.ts';
import { encodeWriteRequest } from '../../lib/prompb/write-v1.ts';
import { snappyEncode } from '../../lib/prompb/snappy.ts';
import { createLogger } from '../../lib/util/logger.ts';
import { functionUrlEvent } from '../helpers/lambda-event.ts';
import { startAwsEmulators } from '../helpers/stratus.ts';

const Day = 86_400_000;
const Old = Math.floor(Date.now() / Day) * Day - 10 * Day + 3_600_000; // settled: compaction takes it; its index bucket (a week) ended before yesterday

async function scan(emu: Awaited<ReturnType<typeof startAwsEmulators>>): Promise<Record<string, AttributeValue>[]> {
  const client = emu.ddb.client();
  const out: Record<string, AttributeValue>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: emu.table, ExclusiveStartKey: start }));
    out.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return out;
}

const isIndexItem = (item: Record<string, AttributeValue>): boolean => /^[^/]+\/ix\//.test(item.pk!.S!);

describe('Lambda label-index TTL from STRATUS_INDEX_TTL_ATTRIBUTE', { timeout: 120_000 }, () => {
  let emu: Awaited<ReturnType<typeof startAwsEmulators>>;
  let deps: typeof import('../../functions/deps.ts').deps;
  let write: typeof import('../../functions/remote-write.ts');
  let compact: typeof import('../../functions/compact.ts');
  const logs: Record<string, any>[] = [];

  before(async () => {
    emu = await startAwsEmulators();
    Object.assign(process.env, {
      [EnvVars.bucket]: emu.bucket,
      [EnvVars.table]: emu.table,
      [EnvVars.indexTtlAttribute]: IndexTtlAttribute,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_ENDPOINT_URL_S3: emu.s3.endpoint,
      AWS_ENDPOINT_URL_DYNAMODB: emu.ddb.endpoint,
    });
    ({ deps } = await import('../../functions/deps.ts'));
    deps.logger = createLogger({ write: (l) => logs.push(JSON.parse(l)) });
    write = await import('../../functions/remote-write.ts');
    compact = await import('../../functions/compact.ts');
  });
  after(async () => {
    await emu?.stop();
  });

  it('stamps index items only, and compaction leaves them to expire with reads intact', async () => {
    // Prepare: three series written through the function, on a settled day.
    assert.equal(deps.indexItemsExpire, true);
    const series = [0, 1, 2].map((i) => ({
      labels: [{ name: '__name__', value: 'up' }, { name: 'instance', value: `host-${i}` }, { name: 'job', value: 'node' }],
      timestamps: [Old, Old + 15_000],
      values: [i, i + 0.5],
    }));
    const before = Date.now();
    const res = await write.handler(functionUrlEvent('/api/v1/write', snappyEncode(encodeWriteRequest(series))));
    const after = Date.now();
    assert.equal(res.statusCode, 204);

    // Assess: every index item carries the TTL, 30 days after its writing (the day is older); nothing else does.
    const items = await scan(emu);
    const ix = items.filter(isIndexItem);
    assert.ok(ix.length >= 3, `index items: ${ix.length}`);
    for (const item of ix) {
      const at = Number(item[IndexTtlAttribute]?.N) * 1000;
      assert.ok(at >= before + IndexExpiryMs - 1000 && at <= after + IndexExpiryMs + 1000, `${item.pk!.S} expires at ${at}`);
    }
    for (const item of items.filter((i) => !isIndexItem(i))) assert.equal(item[IndexTtlAttribute], undefined, item.pk!.S);

    // Act: two compaction runs, the second past the seal's 10-minute wait.
    const handler = compact.newCompactHandler({ deleteGraceMs: 0 });
    const event = { time: new Date().toISOString() } as ScheduledEvent;
    await handler(event);
    const sealed = compact.newCompactHandler({ deleteGraceMs: 0, now: () => Date.now() + 3_600_000 });
    await sealed(event);

    // Assess: the day is in blocks and the index items are still there (left to expire), reads complete.
    const left = (await scan(emu)).filter(isIndexItem);
    assert.deepEqual(left.map((i) => i.pk!.S + ' ' + i.sk!.S).sort(), ix.map((i) => i.pk!.S + ' ' + i.sk!.S).sort());
    const all = await scan(emu);
    // A week is marked sealed only once blocks alone hold it (lib/compact/seal.ts).
    assert.ok(all.some((i) => i.pk!.S === 'anonymous/sealed' && i.sk!.S === indexBucketKey(Math.floor(Old / Day))), 'the week is marked sealed');
    const q = await deps.storage.tenant('anonymous').querier(Old - 1, Old + 60_000);
    const set = q.select(true, undefined, newMatcher(MatchType.Equal, '__name__', 'up'));
    const got: string[] = [];
    while (await set.next()) {
      const s = set.at();
      const it = s.iterator();
      const samples: string[] = [];
      while (it.next()) samples.push(`${it.atT() - Old}:${it.atV()}`);
      assert.equal(it.err(), null);
      got.push(`${labelsGet(s.labels, 'instance')} ${samples.join(',')}`);
    }
    assert.deepEqual(got, ['host-0 0:0,15000:0.5', 'host-1 0:1,15000:1.5', 'host-2 0:2,15000:2.5']);
  });
});
