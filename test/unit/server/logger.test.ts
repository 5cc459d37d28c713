// Tests of lib/util/logger.ts and lib/util/clock.ts (kept beside the server tests, which own them for now).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock, systemClock } from '../../../lib/util/clock.ts';
import { BackendError } from '../../../lib/util/errors.ts';
import { createLogger, isLogLevel, nopLogger, type LogLevelName } from '../../../lib/util/logger.ts';

function capture(level: LogLevelName = 'debug') {
  const lines: string[] = [];
  const clock = new ManualClock(Date.UTC(2024, 0, 2, 3, 4, 5, 678));
  const logger = createLogger({ level, clock, write: (l) => lines.push(l) });
  return { lines, logger, clock };
}

describe('createLogger', () => {
  it('writes one JSON object per line: ts, level, msg first, then fields', () => {
    const { lines, logger } = capture();
    logger.info('hello "world"', { n: 1, ok: true, skip: undefined });
    assert.equal(lines.length, 1);
    assert.equal(lines[0], '{"ts":"2024-01-02T03:04:05.678Z","level":"info","msg":"hello \\"world\\"","n":1,"ok":true}');
  });

  const thresholds: { level: LogLevelName; written: LogLevelName[] }[] = [
    { level: 'debug', written: ['debug', 'info', 'warn', 'error'] },
    { level: 'info', written: ['info', 'warn', 'error'] },
    { level: 'warn', written: ['warn', 'error'] },
    { level: 'error', written: ['error'] },
  ];
  for (const c of thresholds) {
    it(`at threshold ${c.level} writes ${c.written.join(', ')}`, () => {
      const { lines, logger } = capture(c.level);
      logger.debug('d');
      logger.info('i');
      logger.warn('w');
      logger.error('e');
      assert.deepEqual(
        lines.map((l) => JSON.parse(l).level),
        c.written,
      );
      assert.equal(logger.enabled('debug'), c.level === 'debug');
      assert.equal(logger.enabled('error'), true);
    });
  }

  it('child loggers add their fields; call fields win; reserved names are renamed', () => {
    const { lines, logger } = capture();
    const child = logger.child({ component: 'http', tenant: 'a' }).child({ route: 'write' });
    child.warn('slow', { tenant: 'b', msg: 'not the message' });
    child.info('plain');
    assert.deepEqual(JSON.parse(lines[0]!), {
      ts: '2024-01-02T03:04:05.678Z',
      level: 'warn',
      msg: 'slow',
      component: 'http',
      tenant: 'b',
      route: 'write',
      'field.msg': 'not the message',
    });
    assert.deepEqual(JSON.parse(lines[1]!).component, 'http');
    assert.equal(lines.length, 2);
  });

  it('serialises errors with name, message, stack and cause; bigints as strings; survives cycles', () => {
    const { lines, logger } = capture();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    logger.error('put failed', { err: new BackendError('put chunk', { cause: new Error('timeout') }), big: 2n ** 64n, cyclic });
    const rec = JSON.parse(lines[0]!);
    assert.equal(rec.err.name, 'BackendError');
    assert.equal(rec.err.message, 'put chunk');
    assert.match(rec.err.stack, /BackendError: put chunk/);
    assert.equal(rec.err.cause.message, 'timeout');
    assert.equal(rec.big, '18446744073709551616');
    assert.equal(rec.cyclic, '[object Object]');
  });

  it('uses the clock for ts', () => {
    const { lines, logger, clock } = capture();
    clock.advance(1000);
    logger.info('tick');
    assert.equal(JSON.parse(lines[0]!).ts, '2024-01-02T03:04:06.678Z');
  });

  it('never throws when the sink does', () => {
    const logger = createLogger({
      write: () => {
        throw new Error('EPIPE');
      },
    });
    assert.doesNotThrow(() => logger.error('x'));
  });

  it('nopLogger drops everything and reports nothing enabled', () => {
    assert.equal(nopLogger.enabled('error'), false);
    assert.equal(nopLogger.child({ a: 1 }), nopLogger);
    assert.doesNotThrow(() => nopLogger.error('x', { a: 1 }));
  });

  it('isLogLevel accepts exactly the four level names', () => {
    assert.deepEqual(
      ['debug', 'info', 'warn', 'error', 'trace', 'INFO', 'toString'].map(isLogLevel),
      [true, true, true, true, false, false, false],
    );
  });
});

describe('clock', () => {
  it('ManualClock moves only when told', () => {
    const clock = new ManualClock(100);
    assert.equal(clock.now(), 100);
    assert.equal(clock.advance(50), 150);
    clock.set(10);
    assert.equal(clock.now(), 10);
  });

  it('systemClock follows Date.now()', () => {
    const before = Date.now();
    const t = systemClock.now();
    assert.ok(t >= before && t <= Date.now());
  });
});
