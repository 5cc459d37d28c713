/**
 * Bad input (DESIGN invariant 4): every malformed request gets the expected
 * 4xx and a one-line message naming what is wrong, the rejection is counted
 * by reason, and the server keeps serving.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { snappyEncode } from '../../lib/prompb/snappy.ts';
import { encodeWriteRequest } from '../../lib/prompb/write-v1.ts';
import { encodeReadRequest } from '../../lib/prompb/read.ts';
import { MatcherType, ResponseType } from '../../lib/prompb/types.ts';
import { remoteRead, remoteWrite } from '../../lib/remote/client.ts';
import { makeStorage, startStratus, type RunningStratus } from '../helpers/stratus.ts';

// A tiny protobuf builder for bytes our encoder would never produce.
function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}
function field(num: number, payload: number[] | Uint8Array): number[] {
  return [...varint((num << 3) | 2), ...varint(payload.length), ...payload];
}
const utf8 = (s: string) => [...new TextEncoder().encode(s)];
function label(name: number[] | string, value: number[] | string): number[] {
  return field(1, [...field(1, typeof name === 'string' ? utf8(name) : name), ...field(2, typeof value === 'string' ? utf8(value) : value)]);
}
function sample(t: number, v = 1): number[] {
  const d = new DataView(new ArrayBuffer(8));
  d.setFloat64(0, v, true);
  return field(2, [0x09, ...new Uint8Array(d.buffer), 0x10, ...varint(t)]);
}
function series(...parts: number[][]): number[] {
  return field(1, parts.flat());
}
const body = (bytes: number[]) => snappyEncode(Uint8Array.from(bytes));

const WriteHeaders = { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy' };

interface Case {
  name: string;
  path?: string;
  method?: string;
  headers?: Record<string, string>;
  body?: Uint8Array;
  status: number;
  message: RegExp;
}

/** A snappy block that declares 1 GiB of output in a few bytes. */
const snappyBomb = Uint8Array.from([...varint(1 << 30), 0x00]);

const cases: Case[] = [
  { name: 'malformed snappy', body: Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), status: 400, message: /snappy/ },
  { name: 'snappy declaring more than the decoded limit', body: snappyBomb, status: 413, message: /\d+.*\d+/ },
  { name: 'protobuf truncated', body: body([0x0a, 0x20, 0x0a]), status: 400, message: /protobuf/ },
  { name: 'protobuf wrong wire type', body: body([0x08, 0x01]), status: 400, message: /protobuf/ },
  { name: 'invalid label name', body: body(series(label('__name__', 'up'), label('bad-name', 'x'), sample(1))), status: 400, message: /bad-name/ },
  { name: 'label name starting with a digit', body: body(series(label('__name__', 'up'), label('1abc', 'x'), sample(1))), status: 400, message: /1abc/ },
  { name: 'duplicate label name', body: body(series(label('__name__', 'up'), label('job', 'a'), label('job', 'b'), sample(1))), status: 400, message: /not unique/ },
  { name: 'no labels after dropping empty values', body: body(series(label('job', ''), sample(1))), status: 400, message: /no labels/ },
  { name: 'invalid UTF-8 in a value', body: body(series(label('__name__', 'up'), label('job', [0xc3, 0x28]), sample(1))), status: 400, message: /label "job" value of series 0: invalid UTF-8/ },
  { name: 'native histogram', body: body(series(label('__name__', 'h'), field(4, [0x08, 0x01]))), status: 400, message: /histogram/ },
  { name: 'timestamp beyond 2^53', body: body(series(label('__name__', 'up'), sample(2 ** 60))), status: 400, message: /timestamp/ },
  { name: 'too many series', body: encodeBody(11), status: 413, message: /11 series, the limit is 10/ },
  { name: 'gzip encoding', headers: { ...WriteHeaders, 'Content-Encoding': 'gzip' }, body: encodeBody(1), status: 415, message: /Content-Encoding/ },
  { name: 'no encoding', headers: { 'Content-Type': 'application/x-protobuf' }, body: encodeBody(1), status: 415, message: /Content-Encoding/ },
  { name: 'JSON content type', headers: { ...WriteHeaders, 'Content-Type': 'application/json' }, body: encodeBody(1), status: 415, message: /Content-Type/ },
  { name: 'remote write 2.0 message', headers: { ...WriteHeaders, 'Content-Type': 'application/x-protobuf;proto=io.prometheus.write.v2.Request' }, body: encodeBody(1), status: 415, message: /write\.v2/ },
  { name: 'invalid tenant', headers: { ...WriteHeaders, 'X-Scope-OrgID': '../other' }, body: encodeBody(1), status: 400, message: /tenant/ },
  { name: 'GET on the write endpoint', method: 'GET', status: 405, message: /./ },
  { name: 'body over the transport limit', body: new Uint8Array(33 * 1024 * 1024), status: 413, message: /./ },
  { name: 'read: bad regex', path: '/api/v1/read', body: readBody([{ type: MatcherType.RE, name: 'job', value: 'a(' }]), status: 400, message: /error parsing regexp: missing closing \)/ },
  { name: 'read: unknown matcher type', path: '/api/v1/read', body: readBody([{ type: 7, name: 'job', value: 'a' }]), status: 400, message: /matcher type 7/ },
  { name: 'read: only unsupported response types', path: '/api/v1/read', body: readBody([{ type: MatcherType.EQ, name: 'job', value: 'a' }], [5]), status: 400, message: /response types/ },
  { name: 'read: malformed snappy', path: '/api/v1/read', body: Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), status: 400, message: /snappy/ },
  { name: 'read: GET', path: '/api/v1/read', method: 'GET', status: 405, message: /./ },
];

function encodeBody(n: number): Uint8Array {
  return snappyEncode(
    encodeWriteRequest(
      Array.from({ length: n }, (_, i) => ({ labels: [{ name: '__name__', value: 'm' }, { name: 'i', value: String(i) }], timestamps: [1], values: [1] })),
    ),
  );
}

function readBody(matchers: { type: number; name: string; value: string }[], types: number[] = [ResponseType.SAMPLES]): Uint8Array {
  return snappyEncode(encodeReadRequest({ queries: [{ startTimestampMs: 0, endTimestampMs: 10, matchers }], acceptedResponseTypes: types }));
}

describe('bad input', () => {
  let srv: RunningStratus;
  let cleanup: () => Promise<void>;
  before(async () => {
    const s = await makeStorage('mem');
    cleanup = s.cleanup;
    srv = await startStratus(s.storage, { maxSeriesPerRequest: 10 });
  });
  after(async () => {
    await srv.close();
    await cleanup();
  });

  for (const c of cases) {
    it(`${c.name} -> ${c.status}`, async (t) => {
      const res = await fetch(`${srv.url}${c.path ?? '/api/v1/write'}`, {
        method: c.method ?? 'POST',
        headers: c.headers ?? WriteHeaders,
        body: c.method === 'GET' ? undefined : c.body,
      });
      const text = await res.text();
      assert.equal(res.status, c.status, `status for ${c.name}: ${text}`);
      assert.match(text, c.message);
      assert.equal(text.trim().split('\n').length, 1, 'one-line message');
      t.diagnostic(`${res.status} ${text.trim()}`);
      // The server keeps serving: a good write and read still work.
      await remoteWrite(`${srv.url}/api/v1/write`, [{ labels: [{ name: '__name__', value: 'ok' }], timestamps: [5], values: [1] }]);
      const r = await remoteRead(`${srv.url}/api/v1/read`, [{ startTimestampMs: 0, endTimestampMs: 10, matchers: [{ type: MatcherType.EQ, name: '__name__', value: 'ok' }] }]);
      assert.equal(r.results[0]!.length, 1);
    });
  }

  it('counts rejections by reason on /metrics', async () => {
    const text = await (await fetch(`${srv.url}/metrics`)).text();
    for (const reason of ['invalid_snappy', 'invalid_protobuf', 'invalid_labels', 'unsupported_media_type', 'too_large', 'invalid_matcher']) {
      assert.match(text, new RegExp(`stratus_rejected_requests_total\\{[^}]*reason="${reason}"[^}]*\\} [1-9]`), reason);
    }
    assert.match(text, /stratus_remote_write_samples_total\{tenant="anonymous"\} [1-9]/);
    assert.match(text, /stratus_objects_written_total\{kind="segment"\} [1-9]/);
  });
});
