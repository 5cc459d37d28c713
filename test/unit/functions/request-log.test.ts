/**
 * The request line of the functions (functions/request-log.ts) and the
 * shape of the functions' log lines for Lambda's JSON log format: accepted
 * requests at debug, 4xx at warn and 5xx / cut short at error with the
 * error text; the line keeps `msg` "request" and `status` (the ServerErrors
 * metric filter); every line has `level` and an RFC 3339 `timestamp`, which
 * Lambda needs to filter it by its level.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EnvVars } from '../../../lib/config/env.ts';
import { createLogger, type LogLevelName } from '../../../lib/util/logger.ts';
import { CutShort, errorOf, logRequest, MaxErrorChars, RequestMsg, requestLevel } from '../../../functions/request-log.ts';

const Rfc3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

describe('request lines', () => {
  it('are written at a level that follows the status, with the error text from 400 up', () => {
    const cases: { status: number | typeof CutShort; body?: unknown; level: LogLevelName; error?: string }[] = [
      { status: 204, level: 'debug' },
      { status: 200, body: new Uint8Array([0xff, 0xfe]), level: 'debug' },
      { status: 400, body: 'snappy: corrupt input\n', level: 'warn', error: 'snappy: corrupt input' },
      { status: 413, body: new TextEncoder().encode('request body is 7000000 bytes, the limit is 6291456'), level: 'warn', error: 'request body is 7000000 bytes, the limit is 6291456' },
      { status: 404, body: 'x'.repeat(2000), level: 'warn', error: `${'x'.repeat(MaxErrorChars)}…` },
      { status: 503, body: 'DynamoDB throttled', level: 'error', error: 'DynamoDB throttled' },
      { status: 500, body: undefined, level: 'error', error: undefined },
      { status: CutShort, level: 'error' },
    ];
    for (const threshold of ['debug', 'info', 'warn'] as const) {
      for (const c of cases) {
        // Prepare
        const lines: Record<string, any>[] = [];
        const logger = createLogger({ level: threshold, write: (l) => lines.push(JSON.parse(l)), timestampKey: 'timestamp' });
        let built = 0;
        // Act
        const error = typeof c.status === 'number' ? errorOf({ status: c.status, body: c.body }) : undefined;
        logRequest(logger, c.status, () => (built++, { path: '/api/v1/write', ops: { 's3:PutObject': 1 } }), error);
        // Assess
        assert.equal(requestLevel(c.status), c.level);
        const written = logger.enabled(c.level);
        assert.equal(lines.length, written ? 1 : 0, `${c.status} at ${threshold}`);
        assert.equal(built, written ? 1 : 0, 'fields are built only for a line written');
        if (!written) continue;
        const l = lines[0]!;
        assert.deepEqual([l.msg, l.level, l.status, l.error, l.path], [RequestMsg, c.level, c.status, c.error, '/api/v1/write']);
        assert.match(l.timestamp, Rfc3339);
        assert.equal(l.ts, undefined);
      }
    }
  });

  it("the functions' logger stamps `timestamp` (Lambda's key), other loggers `ts`", async () => {
    // Prepare
    const env = { [EnvVars.bucket]: 'b', [EnvVars.table]: 't', AWS_REGION: 'eu-west-1', AWS_LAMBDA_FUNCTION_NAME: 'f', [EnvVars.logLevel]: 'debug' };
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    Object.assign(process.env, env);
    const { loadDeps } = await import('../../../functions/deps.ts');
    const d = loadDeps(env);
    const captured: string[] = [];
    const origWrite = process.stderr.write.bind(process.stderr);
    (process.stderr as { write: unknown }).write = (chunk: string) => (captured.push(String(chunk)), true);
    // Act
    try {
      d.logger.warn('w', { timestamp: 'shadowed' });
      d.logger.child({ component: 'c' }).debug('d');
    } finally {
      (process.stderr as { write: unknown }).write = origWrite;
    }
    const plain: string[] = [];
    createLogger({ write: (l) => plain.push(l) }).info('i');
    // Assess
    const lines = captured.map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => [Object.keys(l).slice(0, 3), l.level, l.fn]), [
      [['timestamp', 'level', 'msg'], 'warn', 'f'],
      [['timestamp', 'level', 'msg'], 'debug', 'f'],
    ]);
    for (const l of lines) assert.match(l.timestamp, Rfc3339);
    assert.equal(lines[0]['field.timestamp'], 'shadowed', 'a field cannot overwrite the time');
    assert.deepEqual(Object.keys(JSON.parse(plain[0]!)).slice(0, 3), ['ts', 'level', 'msg']);
  });
});
