/**
 * Command-line parsing for `stratus`, in Prometheus' style: a subcommand
 * (`serve` or `compact`), then long flags written `--flag=value` or
 * `--flag value`. Each flag belongs to the commands listed in its spec; the
 * storage flags are shared, so both commands open the same storage.
 *
 * Exit codes: 0 on success and for `--help`, 1 when the command itself fails,
 * 2 for usage errors (unknown command or flag, bad value).
 */

import { BadInputError } from '../util/errors.ts';
import { isLogLevel, LogLevel, type LogLevelName } from '../util/logger.ts';
import { parsePromDuration } from '../api/params.ts';
import { validateTenant } from '../storage/tenant.ts';
import { parseListenAddress } from './http.ts';
import { readFileSync } from 'node:fs';
import { parseDuration, parseRetentionOverrides, type RetentionConfig } from '../compact/retention.ts';
import { checkLevels, DefaultLevels, type Level } from '../compact/planner.ts';
import { formatDuration } from '../promql/parser/printer.ts';

/** Configuration of `stratus serve`. */
export interface ServeConfig {
  /** `host:port` to listen on. @default '0.0.0.0:9201' */
  listenAddress: string;
  /** Directory of the local object store and index. @default './data' */
  dataDir: string;
  /** Lowest level logged. @default 'info' */
  logLevel: LogLevelName;
  /** `local` (filesystem + LevelDB under dataDir) or `aws` (S3 + DynamoDB). @default 'local' */
  storage: 'local' | 'aws';
  /** S3 bucket, with storage `aws`. */
  bucket: string;
  /** DynamoDB table, with storage `aws`. */
  table: string;
  /** With storage `aws`: create the bucket and table if missing. @default false */
  createResources: boolean;
  /** Time between in-process compaction runs, ms; 0 turns the timer off. @default 300000 (5 min) */
  compactIntervalMs: number;
  /** Compaction levels: window sizes and settle times. @default DefaultLevels (10 min, 2 h, 1 d) */
  levels: Level[];
  /** Serve `POST /api/v1/admin/compact` (Prometheus' `--web.enable-admin-api`). @default false */
  enableAdminApi: boolean;
  /** Retention per resolution and tenant; set only when a `--retention.*` flag is given. @default keep everything */
  retention?: RetentionConfig;
}

/** Configuration of `stratus compact`. */
export interface CompactConfig {
  dataDir: string;
  logLevel: LogLevelName;
  storage: 'local' | 'aws';
  bucket: string;
  table: string;
  createResources: boolean;
  /** Compact every window now, settled or not. @default false */
  force: boolean;
  /** Tenants to compact, in order; empty means every tenant. @default [] */
  tenants: string[];
  /** Compaction levels: window sizes and settle times. @default DefaultLevels (10 min, 2 h, 1 d) */
  levels: Level[];
  /** Keep replaced objects this long before deleting them, ms. @default 3600000 (1 h) */
  deleteGraceMs: number;
  /** Retention per resolution and tenant; set only when a `--retention.*` flag is given. @default keep everything */
  retention?: RetentionConfig;
}

/** A parsed command line. */
export type CliCommand = { command: 'help' } | { command: 'serve'; config: ServeConfig } | { command: 'compact'; config: CompactConfig };

/** The commands `stratus` knows. */
const Commands = {
  serve: 'Run the server: remote_write, remote_read and the API over local or AWS storage, compacting on a timer.',
  compact: 'Compact the stored data now (segments into blocks, replaced objects deleted), then exit.',
} as const;
type CommandName = keyof typeof Commands;

/** The command line is wrong; the message says how, in one line. */
export class UsageError extends BadInputError {
  /** Whether the usage text should follow the message (e.g. for an unknown command). */
  readonly showUsage: boolean;

  constructor(message: string, opts: { showUsage?: boolean; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.showUsage = opts.showUsage ?? false;
  }
}

interface FlagSpec {
  placeholder: string;
  default: string;
  help: string;
  /** The commands that take the flag. */
  commands: readonly CommandName[];
  /** A switch: `--flag` alone means true; `--flag=false` is allowed. */
  boolean?: true;
  /** May be given several times; every value is kept. */
  repeatable?: true;
}

const both: readonly CommandName[] = ['serve', 'compact'];

const FLAGS: Readonly<Record<string, FlagSpec>> = {
  'listen-address': {
    placeholder: 'HOST:PORT',
    default: '0.0.0.0:9201',
    commands: ['serve'],
    help: 'Address to listen on for remote_write, remote_read, /metrics and the health endpoints.',
  },
  'data-dir': {
    placeholder: 'PATH',
    default: './data',
    commands: both,
    help: 'Directory holding the stored objects and the index.',
  },
  storage: {
    placeholder: 'KIND',
    default: 'local',
    commands: both,
    help: 'Where data lives: "local" (filesystem + LevelDB under --data-dir) or "aws" (S3 + DynamoDB; endpoints from AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL_DYNAMODB, region and credentials from the standard AWS chain).',
  },
  bucket: { placeholder: 'NAME', default: '', commands: both, help: 'S3 bucket of the objects (with --storage=aws).' },
  table: { placeholder: 'NAME', default: '', commands: both, help: 'DynamoDB table of the index and catalog (with --storage=aws).' },
  'create-resources': {
    placeholder: 'BOOL',
    default: 'false',
    boolean: true,
    commands: both,
    help: 'Create the bucket and table if missing (emulators, first runs; in AWS the stack creates them).',
  },
  'log.level': {
    placeholder: 'LEVEL',
    default: 'info',
    commands: both,
    help: `Only log messages at or above this level: one of ${Object.keys(LogLevel).join(', ')}.`,
  },
  'compact.interval': {
    placeholder: 'DURATION',
    default: '5m',
    commands: ['serve'],
    help: 'Time between compaction runs inside the server (the first starts a minute after startup, or sooner if the interval is shorter); 0s turns them off.',
  },
  'web.enable-admin-api': {
    placeholder: 'BOOL',
    default: 'false',
    boolean: true,
    commands: ['serve'],
    help: 'Serve admin endpoints (POST /api/v1/admin/compact), as Prometheus\' flag of the same name does.',
  },
  force: {
    placeholder: 'BOOL',
    default: 'false',
    boolean: true,
    commands: ['compact'],
    help: 'Compact every time window now, however recent, instead of only windows that ended --compact.settle ago.',
  },
  tenant: {
    placeholder: 'ID',
    default: 'every tenant',
    repeatable: true,
    commands: ['compact'],
    help: 'Compact only this tenant (repeatable).',
  },
  'compact.levels': {
    placeholder: 'DURATIONS',
    default: DefaultLevels.map((l) => formatDuration(l.windowMs)).join(','),
    commands: both,
    help: 'Compaction levels: time window sizes, smallest first, each a multiple of the one before. Segments become blocks of the first window; blocks of each level merge into the next.',
  },
  'compact.settle': {
    placeholder: 'DURATIONS',
    default: '5m,1h',
    commands: both,
    help: 'How long after a time window ends before it is compacted (late samples arrive meanwhile), per level of --compact.levels; the last value also applies to the levels after it, values beyond the last level are unused.',
  },

  'compact.delete-grace': {
    placeholder: 'DURATION',
    default: '1h',
    commands: ['compact'],
    help: 'How long replaced objects are kept before they are deleted (longer than any query; 0s deletes them in this run).',
  },
  // Retention (lib/compact/retention.ts), for both commands.
  'retention.raw': { placeholder: 'DURATION', default: '0', commands: both, help: 'How long raw samples (segments and raw blocks) are kept, e.g. 90d or 1y; 0 keeps them forever.' },
  'retention.5m': { placeholder: 'DURATION', default: '0', commands: both, help: 'How long 5-minute downsampled blocks are kept; 0 keeps them forever.' },
  'retention.1h': { placeholder: 'DURATION', default: '0', commands: both, help: 'How long 1-hour downsampled blocks are kept; 0 keeps them forever.' },
  'retention.overrides': {
    placeholder: 'PATH',
    default: 'none',
    commands: both,
    help: 'JSON file of per-tenant retention: {"<tenant>": {"raw": "30d", "5m": "180d", "1h": "2y"}}; fields left out take the flags above.',
  },
};

/** The retention flags, or undefined when none is given. */
function retentionFlags(values: FlagValues): RetentionConfig | undefined {
  if (!['retention.raw', 'retention.5m', 'retention.1h', 'retention.overrides'].some((f) => values.has(f))) return undefined;
  const get = getter(values);
  const dur = (name: string): number => {
    try {
      return parseDuration(get(name), `flag --${name}`);
    } catch (err) {
      throw new UsageError((err as Error).message, { cause: err });
    }
  };
  const defaults = { raw: dur('retention.raw'), fiveMinutes: dur('retention.5m'), oneHour: dur('retention.1h') };
  const path = values.get('retention.overrides')?.[0];
  if (path === undefined) return { defaults, overrides: {} };
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`flag --retention.overrides: cannot read ${JSON.stringify(path)}: ${(err as Error).message}`, { cause: err });
  }
  try {
    return { defaults, overrides: parseRetentionOverrides(text, `flag --retention.overrides: ${path}`) };
  } catch (err) {
    throw new UsageError((err as Error).message, { cause: err });
  }
}

function retentionOf(values: FlagValues): { retention?: RetentionConfig } {
  const retention = retentionFlags(values);
  return retention === undefined ? {} : { retention };
}

function flagsHelp(command: CommandName): string {
  const rows: [string, string][] = [];
  for (const [name, spec] of Object.entries(FLAGS)) {
    if (!spec.commands.includes(command)) continue;
    rows.push([`--${name}=${spec.placeholder}`, `${spec.help} (default: ${spec.default})`]);
  }
  const width = Math.max(...Object.keys(FLAGS).map((n) => `--${n}=${FLAGS[n]!.placeholder}`.length)) + 2;
  return rows.map(([left, right]) => `  ${left.padEnd(width)}${right}\n`).join('');
}

/** The text printed by `--help`. */
export const USAGE = `usage: stratus <command> [<flags>]

Long-term storage for Prometheus: remote_write in, remote_read out.

Commands:
${Object.entries(Commands)
  .map(([name, help]) => `  ${name.padEnd(8)}${help}\n`)
  .join('')}
Flags:
  --help  Show this help and exit.

Flags of serve:
${flagsHelp('serve')}
Flags of compact:
${flagsHelp('compact')}`;

/**
 * Parses `argv` (without the node and script paths). `--help` anywhere wins
 * over everything but a malformed flag. Throws {@link UsageError}.
 */
export function parseArgs(argv: readonly string[]): CliCommand {
  let command: string | undefined;
  let help = false;
  const values = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      if (name === 'help') throw new UsageError('flag --help takes no value');
      if (!Object.prototype.hasOwnProperty.call(FLAGS, name)) throw new UsageError(`unknown flag --${name}`);
      let value: string;
      if (eq >= 0) {
        value = arg.slice(eq + 1);
      } else if (FLAGS[name]!.boolean) {
        value = 'true';
      } else {
        const next = argv[i + 1];
        if (next === undefined || next.startsWith('--')) throw new UsageError(`flag --${name} needs a value`);
        value = next;
        i++;
      }
      const seen = values.get(name);
      if (seen !== undefined && !FLAGS[name]!.repeatable) throw new UsageError(`flag --${name} is given more than once`);
      if (seen === undefined) values.set(name, [value]);
      else seen.push(value);
      continue;
    }
    if (arg.startsWith('-') && arg !== '-') throw new UsageError(`unknown flag ${arg}`);
    if (command !== undefined) throw new UsageError(`unexpected argument "${arg}"`);
    command = arg;
  }
  if (help || command === 'help') return { command: 'help' };
  if (command === undefined) throw new UsageError('no command given', { showUsage: true });
  if (command !== 'serve' && command !== 'compact') throw new UsageError(`unknown command "${command}"`, { showUsage: true });
  for (const name of values.keys()) {
    if (!FLAGS[name]!.commands.includes(command)) throw new UsageError(`flag --${name} does not apply to ${command}`);
  }
  return command === 'serve' ? { command, config: serveConfig(values) } : { command, config: compactConfig(values) };
}

type FlagValues = ReadonlyMap<string, readonly string[]>;

function getter(values: FlagValues): (name: string) => string {
  return (name) => values.get(name)?.[0] ?? FLAGS[name]!.default;
}

function parseBool(name: string, v: string): boolean {
  if (v !== 'true' && v !== 'false') throw new UsageError(`flag --${name} is "${v}"; want true or false`);
  return v === 'true';
}

/** A Prometheus duration flag (`1h`, `30m`, `1h30m`, `0s`, `0`), in ms. */
function parseDurationFlag(name: string, v: string): number {
  const ms = parsePromDuration(v);
  if (ms === undefined) throw new UsageError(`flag --${name} is "${v}"; want a duration such as 1h, 15m, 1h30m or 0s`);
  return ms;
}

/** `--compact.levels` and `--compact.settle` as levels; usage errors name the flag. */
function parseLevels(windows: string, settles: string): Level[] {
  const list = (name: string, v: string) => v.split(',').map((d) => parseDurationFlag(name, d.trim()));
  const ws = list('compact.levels', windows);
  const ss = list('compact.settle', settles);
  const levels = ws.map((windowMs, i) => ({ windowMs, settleMs: ss[Math.min(i, ss.length - 1)]! }));
  try {
    checkLevels(levels);
  } catch (err) {
    throw new UsageError(`flag --compact.levels is "${windows}": ${(err as Error).message}`, { cause: err });
  }
  return levels;
}

/** The storage flags both commands share. */
function storageFlags(get: (name: string) => string): Pick<ServeConfig, 'dataDir' | 'logLevel' | 'storage' | 'bucket' | 'table' | 'createResources'> {
  const dataDir = get('data-dir');
  if (dataDir === '') throw new UsageError('flag --data-dir is empty; want a directory path');
  const logLevel = get('log.level');
  if (!isLogLevel(logLevel)) {
    throw new UsageError(`flag --log.level is "${logLevel}"; want one of ${Object.keys(LogLevel).join(', ')}`);
  }
  const storage = get('storage');
  if (storage !== 'local' && storage !== 'aws') throw new UsageError(`flag --storage is "${storage}"; want local or aws`);
  const bucket = get('bucket');
  const table = get('table');
  const createResources = parseBool('create-resources', get('create-resources'));
  if (storage === 'aws' && (bucket === '' || table === '')) throw new UsageError('--storage=aws needs --bucket and --table');
  if (storage === 'local' && (bucket !== '' || table !== '' || createResources)) {
    throw new UsageError('--bucket, --table and --create-resources go with --storage=aws');
  }
  return { dataDir, logLevel, storage, bucket, table, createResources };
}

function serveConfig(values: FlagValues): ServeConfig {
  const get = getter(values);
  const listenAddress = get('listen-address');
  try {
    parseListenAddress(listenAddress);
  } catch (err) {
    throw new UsageError(`flag --listen-address: ${(err as Error).message}`, { cause: err });
  }
  const common = storageFlags(get);
  return {
    listenAddress,
    ...common,
    compactIntervalMs: parseDurationFlag('compact.interval', get('compact.interval')),
    levels: parseLevels(get('compact.levels'), get('compact.settle')),
    enableAdminApi: parseBool('web.enable-admin-api', get('web.enable-admin-api')),
    ...retentionOf(values),
  };
}

function compactConfig(values: FlagValues): CompactConfig {
  const get = getter(values);
  const tenants = [...(values.get('tenant') ?? [])];
  for (const t of tenants) {
    try {
      validateTenant(t);
    } catch (err) {
      throw new UsageError(`flag --tenant: ${(err as Error).message}`, { cause: err });
    }
  }
  return {
    ...storageFlags(get),
    force: parseBool('force', get('force')),
    tenants: [...new Set(tenants)],
    levels: parseLevels(get('compact.levels'), get('compact.settle')),
    deleteGraceMs: parseDurationFlag('compact.delete-grace', get('compact.delete-grace')),
    ...retentionOf(values),
  };
}

/** What {@link runCli} needs from its surroundings. */
export interface CliDeps {
  /** Runs `serve`; resolves after a graceful shutdown. */
  serve(config: ServeConfig): Promise<void>;
  /** Runs `compact`; resolves when done, rejects (with a one-line message) when it failed. */
  compact(config: CompactConfig): Promise<void>;
  stdout(text: string): void;
  stderr(text: string): void;
}

/** Parses `argv`, runs the command and returns the process exit code. */
export async function runCli(argv: readonly string[], deps: CliDeps): Promise<number> {
  let cmd: CliCommand;
  try {
    cmd = parseArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    deps.stderr(`stratus: error: ${err.message}, try --help\n`);
    if (err.showUsage) deps.stderr(USAGE);
    return 2;
  }
  if (cmd.command === 'help') {
    deps.stdout(USAGE);
    return 0;
  }
  try {
    if (cmd.command === 'serve') await deps.serve(cmd.config);
    else await deps.compact(cmd.config);
    return 0;
  } catch (err) {
    deps.stderr(`stratus: error: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
