/**
 * docs/storage-format.md must describe the keys the code really builds:
 * rebuild its examples with the real key builders (our `mdox-exec`).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { bucketKey, bucketOf, IndexKeys, indexBucketKey, indexBucketOfDay } from '../../../lib/index/keys.ts';
import { CatalogPartition } from '../../../lib/catalog/catalog.ts';
import { segmentKey, FooterSize, HeaderSize, SamplesPerChunk } from '../../../lib/segment/format.ts';
import { tenantIndexPrefix, tenantObjectPrefix } from '../../../lib/tsdb/db.ts';
import { DefaultTenant } from '../../../lib/storage/tenant.ts';

const doc = readFileSync(new URL('../../../docs/storage-format.md', import.meta.url), 'utf8');
const ulid = '01JD3Q5Z8W0000000000000000';
const bucket = bucketOf(Date.UTC(2025, 10, 21, 12));

describe('docs/storage-format.md', () => {
  const examples: [string, string][] = [
    ['tenant object key', tenantObjectPrefix(DefaultTenant) + segmentKey(ulid)],
    ['tenant catalog pk', tenantIndexPrefix(DefaultTenant) + CatalogPartition],
    ['catalog sk', `${bucketKey(bucket)}/${ulid}`],
    ['bucket key of 2025-11-21', `bucket ${bucket} = 2025-11-21 has key \`${bucketKey(bucket)}\``],
    ['index bucket of 2025-11-21', `day ${bucket} (2025-11-21) is in index bucket ${indexBucketOfDay(bucket)} (the week of Monday 2025-11-17), key \`${indexBucketKey(bucket)}\``],
    ['index bucket of 1970-01-01', `The week\naround 1970-01-01 is index bucket ${indexBucketOfDay(0)} (Monday 1969-12-29)`],
    ['series partition', '`' + IndexKeys.series(bucket).replace(indexBucketKey(bucket), '<week>') + '`'],
    ['names partition', '`' + IndexKeys.names(bucket).replace(indexBucketKey(bucket), '<week>') + '`'],
    ['values partition', '`' + IndexKeys.values(bucket, '<name>').replace(indexBucketKey(bucket), '<week>') + '`'],
    ['postings partition', '`' + IndexKeys.postings(bucket, '<name>', '<value>').replace(indexBucketKey(bucket), '<week>') + '`'],
    ['footer size', `footer, ${FooterSize} bytes`],
    ['header size', `header, ${HeaderSize} bytes`],
    ['chunk size', `at most ${SamplesPerChunk}`],
  ];
  for (const [name, text] of examples) {
    it(`shows the real ${name}`, () => assert.ok(doc.includes(text), `docs/storage-format.md lacks ${JSON.stringify(text)}`));
  }
});
