/**
 * Command-line parsing for `stratus`, in Prometheus' style: a subcommand,
 * then long flags written `--flag=value` or `--flag value`.
 *
 * Exit codes: 0 on success and for `--help`, 1 when the command itself fails,
 * 2 for usage errors (unknown command or flag, bad value).
 */

import { BadInputError } from '../util/errors.ts';
import { isLogLevel, LogLevel, type LogLevelName } from '../util/logger.ts';
import { parseListenAddress } from './http.ts';

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
}

/** A parsed command line. */
export type CliCommand = { command: 'help' } | { command: 'serve'; config: ServeConfig };

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
  key: keyof ServeConfig;
  placeholder: string;
  default: string;
  help: string;
  /** A switch: `--flag` alone means true; `--flag=false` is allowed. */
  boolean?: true;
}

const FLAGS: Readonly<Record<string, FlagSpec>> = {
  'listen-address': {
    key: 'listenAddress',
    placeholder: 'HOST:PORT',
    default: '0.0.0.0:9201',
    help: 'Address to listen on for remote_write, remote_read, /metrics and the health endpoints.',
  },
  'data-dir': {
    key: 'dataDir',
    placeholder: 'PATH',
    default: './data',
    help: 'Directory holding the stored objects and the index.',
  },
  storage: {
    key: 'storage',
    placeholder: 'KIND',
    default: 'local',
    help: 'Where data lives: "local" (filesystem + LevelDB under --data-dir) or "aws" (S3 + DynamoDB; endpoints from AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL_DYNAMODB, region and credentials from the standard AWS chain).',
  },
  bucket: { key: 'bucket', placeholder: 'NAME', default: '', help: 'S3 bucket of the objects (with --storage=aws).' },
  table: { key: 'table', placeholder: 'NAME', default: '', help: 'DynamoDB table of the index and catalog (with --storage=aws).' },
  'create-resources': {
    key: 'createResources',
    placeholder: 'BOOL',
    default: 'false',
    boolean: true,
    help: 'Create the bucket and table if missing (emulators, first runs; in AWS the stack creates them).',
  },
  'log.level': {
    key: 'logLevel',
    placeholder: 'LEVEL',
    default: 'info',
    help: `Only log messages at or above this level: one of ${Object.keys(LogLevel).join(', ')}.`,
  },
};

function flagsHelp(): string {
  const rows: [string, string][] = [['--help', 'Show this help and exit.']];
  for (const [name, spec] of Object.entries(FLAGS)) {
    rows.push([`--${name}=${spec.placeholder}`, `${spec.help} (default: ${spec.default})`]);
  }
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  return rows.map(([left, right]) => `  ${left.padEnd(width)}${right}\n`).join('');
}

/** The text printed by `--help`. */
export const USAGE = `usage: stratus <command> [<flags>]

Long-term storage for Prometheus: remote_write in, remote_read out.

Commands:
  serve  Run the server: remote_write and remote_read over local or AWS storage.

Flags:
${flagsHelp()}`;

/**
 * Parses `argv` (without the node and script paths). `--help` anywhere wins
 * over everything but a malformed flag. Throws {@link UsageError}.
 */
export function parseArgs(argv: readonly string[]): CliCommand {
  let command: string | undefined;
  let help = false;
  const values = new Map<string, string>();
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
      if (values.has(name)) throw new UsageError(`flag --${name} is given more than once`);
      values.set(name, value);
      continue;
    }
    if (arg.startsWith('-') && arg !== '-') throw new UsageError(`unknown flag ${arg}`);
    if (command !== undefined) throw new UsageError(`unexpected argument "${arg}"`);
    command = arg;
  }
  if (help || command === 'help') return { command: 'help' };
  if (command === undefined) throw new UsageError('no command given', { showUsage: true });
  if (command !== 'serve') throw new UsageError(`unknown command "${command}"`, { showUsage: true });
  return { command: 'serve', config: serveConfig(values) };
}

function serveConfig(values: ReadonlyMap<string, string>): ServeConfig {
  const get = (name: string): string => values.get(name) ?? FLAGS[name]!.default;
  const listenAddress = get('listen-address');
  try {
    parseListenAddress(listenAddress);
  } catch (err) {
    throw new UsageError(`flag --listen-address: ${(err as Error).message}`, { cause: err });
  }
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
  const cr = get('create-resources');
  if (cr !== 'true' && cr !== 'false') throw new UsageError(`flag --create-resources is "${cr}"; want true or false`);
  if (storage === 'aws' && (bucket === '' || table === '')) throw new UsageError('--storage=aws needs --bucket and --table');
  if (storage === 'local' && (bucket !== '' || table !== '' || cr === 'true')) {
    throw new UsageError('--bucket, --table and --create-resources go with --storage=aws');
  }
  return { listenAddress, dataDir, logLevel, storage, bucket, table, createResources: cr === 'true' };
}

/** What {@link runCli} needs from its surroundings. */
export interface CliDeps {
  /** Runs `serve`; resolves after a graceful shutdown. */
  serve(config: ServeConfig): Promise<void>;
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
    await deps.serve(cmd.config);
    return 0;
  } catch (err) {
    deps.stderr(`stratus: error: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
