import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { crc32c, crc32cRange } from '../../../lib/util/crc32c.ts';

describe('crc32cRange', () => {
  it('equals crc32c of the same bytes as a view, for every start and end', () => {
    const data = Uint8Array.from({ length: 40 }, (_, i) => (i * 37 + 11) & 0xff);
    for (let start = 0; start <= data.length; start++) {
      for (let end = start; end <= data.length; end++) {
        assert.equal(crc32cRange(data, start, end), crc32c(data.subarray(start, end)), `${start}..${end}`);
      }
    }
  });
});
