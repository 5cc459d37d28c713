/**
 * Structured logging: one JSON object per line, written to stderr by default.
 *
 * Each line has `ts` (ISO 8601, UTC; named `timestamp` with
 * {@link LoggerOptions.timestampKey}), `level` and `msg` first, then the
 * logger's bound fields (from {@link Logger.child}) and the call's fields; a
 * call's field wins over a bound field of the same name. `Error` values are
 * written as `{ name, message, stack, cause? }`, bigints as strings.
 *
 * Calls below the threshold return after one comparison, so debug logging on
 * a hot path costs little when it is off; guard expensive field building with
 * {@link Logger.enabled}.
 */

import { systemClock, type Clock } from './clock.ts';

/** Severity levels, lowest first; the values order them. */
export const LogLevel = {
  debug: 10,
  info: 20,
  warn: 30,
  error: 40,
} as const;

/** The name of a log level: `debug`, `info`, `warn` or `error`. */
export type LogLevelName = keyof typeof LogLevel;

/** Extra key/value pairs of a log line. */
export type LogFields = Readonly<Record<string, unknown>>;

/** A structured logger. Implementations never throw. */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** Whether lines at `level` are written (use it to skip building costly fields). */
  enabled(level: LogLevelName): boolean;
  /** A logger that adds `fields` to every line, on top of this logger's own. */
  child(fields: LogFields): Logger;
}

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Lines below this level are dropped. @default 'info' */
  level?: LogLevelName;
  /** Receives each line, without the trailing newline. @default a write to `process.stderr` */
  write?: (line: string) => void;
  /** Stamps `ts`. @default systemClock */
  clock?: Clock;
  /** Fields bound to every line. */
  fields?: LogFields;
  /**
   * Name of the time field. Lambda's JSON log format reads a line's level
   * from `level` only when the line also has an RFC 3339 time under a key it
   * knows (`timestamp`); without one it takes the line as INFO, so its
   * application log-level filter would pass or drop our warn and debug lines
   * by the wrong level. The Lambda functions use `timestamp`.
   * @default 'ts'
   */
  timestampKey?: 'ts' | 'timestamp';
}

/** Whether `s` names a log level. */
export function isLogLevel(s: string): s is LogLevelName {
  return Object.prototype.hasOwnProperty.call(LogLevel, s);
}

function writeStderr(line: string): void {
  process.stderr.write(line + '\n');
}

/** Makes `Error`s, bigints and other non-JSON values printable. */
function replacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) {
    const out: Record<string, unknown> = { name: value.name, message: value.message };
    if (value.stack !== undefined) out.stack = value.stack;
    if (value.cause !== undefined) out.cause = value.cause;
    return out;
  }
  return value;
}

function fieldsJson(fields: LogFields, reserved: ReadonlySet<string>): string {
  let out = '';
  for (const key of Object.keys(fields)) {
    const value = fields[key];
    if (value === undefined) continue;
    const name = reserved.has(key) ? `field.${key}` : key;
    let encoded: string | undefined;
    try {
      encoded = JSON.stringify(value, replacer);
    } catch {
      encoded = JSON.stringify(String(value)); // circular structures and the like
    }
    if (encoded === undefined) continue; // functions, symbols
    out += ',' + JSON.stringify(name) + ':' + encoded;
  }
  return out;
}

class JsonLogger implements Logger {
  readonly #threshold: number;
  readonly #write: (line: string) => void;
  readonly #clock: Clock;
  readonly #bound: LogFields;
  readonly #tsKey: 'ts' | 'timestamp';
  readonly #reserved: ReadonlySet<string>;
  /** The bound fields, pre-encoded as `,"k":v…` for the common case of calls without fields. */
  readonly #boundJson: string;

  constructor(threshold: number, write: (line: string) => void, clock: Clock, bound: LogFields, tsKey: 'ts' | 'timestamp') {
    this.#threshold = threshold;
    this.#write = write;
    this.#clock = clock;
    this.#bound = bound;
    this.#tsKey = tsKey;
    this.#reserved = new Set([tsKey, 'level', 'msg']);
    this.#boundJson = fieldsJson(bound, this.#reserved);
  }

  debug(msg: string, fields?: LogFields): void {
    if (LogLevel.debug >= this.#threshold) this.#log('debug', msg, fields);
  }

  info(msg: string, fields?: LogFields): void {
    if (LogLevel.info >= this.#threshold) this.#log('info', msg, fields);
  }

  warn(msg: string, fields?: LogFields): void {
    if (LogLevel.warn >= this.#threshold) this.#log('warn', msg, fields);
  }

  error(msg: string, fields?: LogFields): void {
    if (LogLevel.error >= this.#threshold) this.#log('error', msg, fields);
  }

  enabled(level: LogLevelName): boolean {
    return LogLevel[level] >= this.#threshold;
  }

  child(fields: LogFields): Logger {
    return new JsonLogger(this.#threshold, this.#write, this.#clock, { ...this.#bound, ...fields }, this.#tsKey);
  }

  #log(level: LogLevelName, msg: string, fields: LogFields | undefined): void {
    let rest = this.#boundJson;
    if (fields !== undefined) {
      rest = fieldsJson(this.#boundJson === '' ? fields : { ...this.#bound, ...fields }, this.#reserved);
    }
    const ts = new Date(this.#clock.now()).toISOString();
    const line = `{"${this.#tsKey}":"${ts}","level":"${level}","msg":${JSON.stringify(msg)}${rest}}`;
    try {
      this.#write(line);
    } catch {
      // A logger must not take the process down (e.g. EPIPE on a closed stderr).
    }
  }
}

/** Creates a JSON-lines logger; see the module comment for the line format. */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? 'info';
  return new JsonLogger(LogLevel[level], opts.write ?? writeStderr, opts.clock ?? systemClock, opts.fields ?? {}, opts.timestampKey ?? 'ts');
}

/** A logger that drops everything, for tests and for callers that do not log. */
export const nopLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  enabled: () => false,
  child: () => nopLogger,
};
