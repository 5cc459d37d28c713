import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseArgs, runCli, UsageError, USAGE, type CliCommand, type ServeConfig } from '../../../lib/server/cli.ts';
import { send, waitFor } from './helpers.ts';
import { DefaultLevels } from '../../../lib/compact/planner.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const BIN = path.join(ROOT, 'bin/stratus.js');
const DEFAULTS: ServeConfig = {
  listenAddress: '0.0.0.0:9201',
  dataDir: './data',
  logLevel: 'info',
  storage: 'local',
  bucket: '',
  table: '',
  createResources: false,
  compactIntervalMs: 5 * 60_000,
  levels: [...DefaultLevels],
  enableAdminApi: false,
};

describe('parseArgs', () => {
  const ok: { args: string[]; want: CliCommand }[] = [
    { args: ['serve'], want: { command: 'serve', config: DEFAULTS } },
    {
      args: ['serve', '--listen-address=127.0.0.1:0', '--data-dir', '/tmp/d', '--log.level=debug'],
      want: { command: 'serve', config: { ...DEFAULTS, listenAddress: '127.0.0.1:0', dataDir: '/tmp/d', logLevel: 'debug' } },
    },
    { args: ['--log.level', 'warn', 'serve'], want: { command: 'serve', config: { ...DEFAULTS, logLevel: 'warn' } } },
    { args: ['serve', '--listen-address=[::1]:9201'], want: { command: 'serve', config: { ...DEFAULTS, listenAddress: '[::1]:9201' } } },
    { args: ['serve', '--data-dir=a=b'], want: { command: 'serve', config: { ...DEFAULTS, dataDir: 'a=b' } } },
    {
      args: ['serve', '--storage=aws', '--bucket', 'b', '--table=t', '--create-resources'],
      want: { command: 'serve', config: { ...DEFAULTS, storage: 'aws', bucket: 'b', table: 't', createResources: true } },
    },
    { args: ['serve', '--storage=aws', '--bucket=b', '--table=t', '--create-resources=false'], want: { command: 'serve', config: { ...DEFAULTS, storage: 'aws', bucket: 'b', table: 't' } } },
    { args: ['--help'], want: { command: 'help' } },
    { args: ['serve', '-h'], want: { command: 'help' } },
    { args: ['help'], want: { command: 'help' } },
  ];
  for (const c of ok) {
    it(`${JSON.stringify(c.args)} parses`, () => {
      assert.deepEqual(parseArgs(c.args), c.want);
    });
  }

  const bad: { args: string[]; err: RegExp; usage?: boolean }[] = [
    { args: [], err: /^no command given$/, usage: true },
    { args: ['bogus'], err: /^unknown command "bogus"$/, usage: true },
    { args: ['serve', '--bogus=1'], err: /^unknown flag --bogus$/ },
    { args: ['serve', '-x'], err: /^unknown flag -x$/ },
    { args: ['serve', '--data-dir'], err: /^flag --data-dir needs a value$/ },
    { args: ['serve', '--data-dir', '--log.level=info'], err: /^flag --data-dir needs a value$/ },
    { args: ['serve', '--data-dir='], err: /^flag --data-dir is empty/ },
    { args: ['serve', '--log.level=trace'], err: /^flag --log\.level is "trace"; want one of debug, info, warn, error$/ },
    { args: ['serve', '--listen-address=9201'], err: /^flag --listen-address: .*has no port/ },
    { args: ['serve', '--listen-address=h:99999'], err: /^flag --listen-address: .*from 0 to 65535/ },
    { args: ['serve', '--data-dir=a', '--data-dir=b'], err: /^flag --data-dir is given more than once$/ },
    { args: ['serve', 'extra'], err: /^unexpected argument "extra"$/ },
    { args: ['serve', '--help=yes'], err: /^flag --help takes no value$/ },
    { args: ['serve', '--storage=s3'], err: /^flag --storage is "s3"; want local or aws$/ },
    { args: ['serve', '--storage=aws', '--bucket=b'], err: /^--storage=aws needs --bucket and --table$/ },
    { args: ['serve', '--table=t'], err: /go with --storage=aws$/ },
    { args: ['serve', '--storage=aws', '--bucket=b', '--table=t', '--create-resources=maybe'], err: /want true or false$/ },
  ];
  for (const c of bad) {
    it(`${JSON.stringify(c.args)} is a usage error`, () => {
      assert.throws(
        () => parseArgs(c.args),
        (err: unknown) => err instanceof UsageError && c.err.test(err.message) && err.showUsage === (c.usage ?? false),
      );
    });
  }
});

describe('runCli', () => {
  function harness(serve: (cfg: ServeConfig) => Promise<void> = async () => {}) {
    const out = { stdout: '', stderr: '', served: [] as ServeConfig[] };
    const deps = {
      serve: async (cfg: ServeConfig) => {
        out.served.push(cfg);
        await serve(cfg);
      },
      compact: async () => {
        throw new Error('compact is not under test here (see cli-compact.test.ts)');
      },
      stdout: (t: string) => (out.stdout += t),
      stderr: (t: string) => (out.stderr += t),
    };
    return { out, deps };
  }

  it('prints usage to stdout and returns 0 for --help', async () => {
    const { out, deps } = harness();
    assert.equal(await runCli(['--help'], deps), 0);
    assert.equal(out.stdout, USAGE);
    assert.equal(out.served.length, 0);
  });

  it('prints a one-line reason and returns 2 for a bad flag', async () => {
    const { out, deps } = harness();
    assert.equal(await runCli(['serve', '--log.level=loud'], deps), 2);
    assert.equal(out.stderr.split('\n').filter(Boolean).length, 1);
    assert.match(out.stderr, /^stratus: error: flag --log\.level is "loud".*, try --help\n$/);
  });

  it('adds the usage for an unknown command and returns 2', async () => {
    const { out, deps } = harness();
    assert.equal(await runCli(['frobnicate'], deps), 2);
    assert.ok(out.stderr.startsWith('stratus: error: unknown command "frobnicate", try --help\n'));
    assert.ok(out.stderr.endsWith(USAGE));
  });

  it('runs serve with the parsed config and returns 0, or 1 when it fails', async () => {
    const ok = harness();
    assert.equal(await runCli(['serve', '--data-dir=/x'], ok.deps), 0);
    assert.deepEqual(ok.out.served, [{ ...DEFAULTS, dataDir: '/x' }]);
    const failing = harness(async () => {
      throw new Error('listen on 0.0.0.0:9201: EADDRINUSE');
    });
    assert.equal(await runCli(['serve'], failing.deps), 1);
    assert.equal(failing.out.stderr, 'stratus: error: listen on 0.0.0.0:9201: EADDRINUSE\n');
  });
});

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `node bin/stratus.js args…`, killing it if it outlives `timeoutMs`. */
function runBin(args: string[], timeoutMs = 20_000): { child: ReturnType<typeof spawn>; exit: Promise<Exit>; stderr: () => string } {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exit = new Promise<Exit>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { child, exit, stderr: () => stderr };
}

describe('bin/stratus.js', { timeout: 60_000 }, () => {
  it('--help exits 0 with the usage on stdout', async () => {
    const { exit } = runBin(['--help']);
    const r = await exit;
    assert.equal(r.code, 0);
    assert.equal(r.stdout, USAGE);
  });

  it('a bad flag exits 2 with one line on stderr', async () => {
    const { exit } = runBin(['serve', '--no-such-flag']);
    const r = await exit;
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'stratus: error: unknown flag --no-such-flag, try --help\n');
  });

  it('an unknown command exits 2', async () => {
    const r = await runBin(['launch']).exit;
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command "launch"/);
  });

  it('serve becomes ready, serves /metrics, then exits 0 on SIGTERM', async (t) => {
    // Prepare
    const dataDir = await mkdtemp(path.join(tmpdir(), 'stratus-cli-'));
    t.after(() => rm(dataDir, { recursive: true, force: true }));
    const { child, exit, stderr } = runBin(['serve', '--listen-address=127.0.0.1:0', `--data-dir=${dataDir}`]);
    try {
      // the real port comes from the structured "listening" log line
      let port = 0;
      await waitFor(
        () => {
          for (const line of stderr().split('\n')) {
            if (!line.startsWith('{')) continue;
            const rec = JSON.parse(line) as { msg: string; port?: number };
            if (rec.msg === 'listening' && rec.port) port = rec.port;
          }
          return port > 0 || child.exitCode !== null;
        },
        20_000,
        'the listening log line',
      );
      assert.ok(port > 0, `no listening line; stderr: ${stderr()}`);
      await waitFor(async () => (await send(port, '/-/ready').catch(() => ({ status: 0 }))).status === 200, 10_000, '/-/ready');
      // The merged-run figures are served (a benchmark waits on them after a restart).
      const metrics = String((await send(port, '/metrics')).body);
      assert.match(metrics, /^stratus_segment_run_builds_pending 0$/m);
      assert.match(metrics, /^# TYPE stratus_segment_runs_built_total counter$/m);
      // Act
      child.kill('SIGTERM');
      const r = await exit;
      // Assess
      assert.equal(r.code, 0, `stderr: ${r.stderr}`);
      const lines = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as { level: string; msg: string });
      assert.ok(lines.some((l) => /received signal/.test(l.msg)));
      assert.ok(lines.every((l) => l.level !== 'error'));
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
