/**
 * The read handler compiles each query's matcher list once and keeps it
 * by a key of the list (lib/remote/read-handler.ts, cachedMatchers). Names
 * and values may hold any character, so the key must not let two lists
 * meet: with separator characters, the list [a="v", b="w"] and the single
 * matcher a="v<sep>0<sep>b<sep>w" made the same key, and the second query
 * got the first one's matchers (and its series).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { MemBucket } from '../../../lib/objstore/mem.ts';
import { MemKVStore } from '../../../lib/kvstore/mem.ts';
import { newReadHandler } from '../../../lib/remote/read-handler.ts';
import { newRemoteMetrics } from '../../../lib/remote/metrics.ts';
import { createLogger } from '../../../lib/util/logger.ts';
import { decodeReadResponse, encodeReadRequest } from '../../../lib/prompb/read.ts';
import { snappyDecode, snappyEncode } from '../../../lib/prompb/snappy.ts';
import { MatcherType, ResponseType } from '../../../lib/prompb/types.ts';
import { labelsFromPairs } from '../../../lib/labels/labels.ts';
import { newSeriesEntry, Storage } from '../../../lib/tsdb/db.ts';

type Matchers = { type: number; name: string; value: string }[];

describe('remote_read matcher cache', () => {
  it('never hands one matcher list the compiled matchers of another', async () => {
    // Prepare: one series {a="v", b="w"}; lists that an unescaped
    // separator key (\u0000 between fields, \u0001 after each matcher,
    // the type first) would confuse, and lists that differ only in where
    // a name ends and its value begins.
    const storage = new Storage({ bucket: new MemBucket(), kv: new MemKVStore() });
    const app = storage.tenant('anonymous').appender();
    app.append(newSeriesEntry(labelsFromPairs({ __name__: 'm', a: 'v', b: 'w' })), 1000, 1);
    await app.commit();
    const h = newReadHandler({ storage, metrics: newRemoteMetrics(), logger: createLogger({ level: 'error' }) });
    const eq = MatcherType.EQ;
    const cases: { name: string; matchers: Matchers; series: number }[] = [
      { name: 'two matchers that match', matchers: [{ type: eq, name: 'a', value: 'v' }, { type: eq, name: 'b', value: 'w' }], series: 1 },
      { name: 'one matcher spelling the two with separators', matchers: [{ type: eq, name: 'a', value: `v\u0001${eq}\u0000b\u0000w` }], series: 0 },
      { name: 'the two again (cached)', matchers: [{ type: eq, name: 'a', value: 'v' }, { type: eq, name: 'b', value: 'w' }], series: 1 },
      { name: 'one matcher spelling the two in the length-first key', matchers: [{ type: eq, name: 'a', value: `v;${eq},1,1:bw` }], series: 0 },
      { name: 'a value that moves into the name', matchers: [{ type: eq, name: 'av', value: 'x' }, { type: eq, name: 'b', value: 'w' }], series: 0 },
      { name: 'the two once more', matchers: [{ type: eq, name: 'a', value: 'v' }, { type: eq, name: 'b', value: 'w' }], series: 1 },
    ];
    for (const c of cases) {
      // Act
      const res = await h({
        method: 'POST',
        path: '/api/v1/read',
        query: new URLSearchParams(),
        headers: { 'content-encoding': 'snappy' },
        body: snappyEncode(encodeReadRequest({ queries: [{ startTimestampMs: 0, endTimestampMs: 2000, matchers: c.matchers }], acceptedResponseTypes: [ResponseType.SAMPLES] })),
      });
      // Assess
      assert.equal(res.status, 200, `${c.name}: ${String(res.body)}`);
      assert.ok(res.body instanceof Uint8Array, c.name);
      const rr = decodeReadResponse(snappyDecode(res.body, 1 << 20));
      assert.equal(rr.results[0]!.timeseries.length, c.series, c.name);
    }
  });
});
