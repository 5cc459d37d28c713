/**
 * Starting real Prometheus, node_exporter and Alertmanager for end-to-end
 * tests, always on 127.0.0.1 with a free port and a temporary directory.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { requireBinary } from './binaries.ts';
import { type ManagedProcess, startProcess } from './process.ts';

/** A running Prometheus. */
export interface PrometheusProcess extends ManagedProcess {
  /** Directory of the TSDB (`--storage.tsdb.path`). */
  readonly dataDir: string;
  /** Path of the configuration file (`--config.file`). */
  readonly configFile: string;
  /**
   * Writes a new configuration and reloads it with SIGHUP; resolves once
   * Prometheus reports a successful reload (bounded, 10 s).
   */
  reload(configYaml: string | ((port: number) => string)): Promise<void>;
}

/** Options for {@link startPrometheus}. */
export interface PrometheusOptions {
  /** prometheus.yml contents, or a function of the chosen port (for self-scrape). */
  configYaml?: string | ((port: number) => string);
  /** More flags, e.g. `--web.enable-remote-write-receiver`. */
  extraArgs?: string[];
  /** Binary to run. @default requireBinary('prometheus') */
  binary?: string;
  /** @default 30000 */
  readyTimeoutMs?: number;
}

/** A minimal config: no scrape jobs. */
export const EMPTY_PROMETHEUS_CONFIG = 'global:\n  scrape_interval: 15s\n';

/** A config in which Prometheus scrapes itself every `interval`. */
export function selfScrapeConfig(port: number, interval = '1s'): string {
  return [
    'global:',
    `  scrape_interval: ${interval}`,
    `  evaluation_interval: ${interval}`,
    'scrape_configs:',
    '  - job_name: prometheus',
    '    static_configs:',
    `      - targets: ['127.0.0.1:${port}']`,
    '',
  ].join('\n');
}

function resolveBinary(name: Parameters<typeof requireBinary>[0], given?: string): string {
  const bin = given ?? requireBinary(name);
  if (bin === undefined) throw new Error(`${name} is not installed; call requireBinary() and skip first`);
  return bin;
}

async function reloadMetrics(url: string): Promise<{ ts: string; ok: string }> {
  const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(2000) });
  const text = await res.text();
  const ts = /^prometheus_config_last_reload_success_timestamp_seconds (\S+)$/m.exec(text)?.[1] ?? '';
  const ok = /^prometheus_config_last_reload_successful (\S+)$/m.exec(text)?.[1] ?? '';
  return { ts, ok };
}

/**
 * Starts Prometheus with `--web.listen-address=127.0.0.1:<port>`,
 * `--storage.tsdb.path=<tmp>/data` and `--config.file=<tmp>/prometheus.yml`,
 * and waits for `/-/ready`.
 */
export async function startPrometheus(opts: PrometheusOptions = {}): Promise<PrometheusProcess> {
  const binary = resolveBinary('prometheus', opts.binary);
  const render = (y: string | ((port: number) => string), port: number) => (typeof y === 'function' ? y(port) : y);
  const proc = await startProcess({
    name: 'prometheus',
    binary,
    readyPath: '/-/ready',
    readyTimeoutMs: opts.readyTimeoutMs ?? 30_000,
    prepare: (dir, port) => writeFile(join(dir, 'prometheus.yml'), render(opts.configYaml ?? EMPTY_PROMETHEUS_CONFIG, port)),
    args: (port, dir) => [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      ...(opts.extraArgs ?? []),
    ],
  });
  const configFile = join(proc.dir, 'prometheus.yml');
  return Object.assign(proc, {
    dataDir: join(proc.dir, 'data'),
    configFile,
    async reload(configYaml: string | ((port: number) => string)): Promise<void> {
      const before = await reloadMetrics(proc.url);
      await writeFile(configFile, render(configYaml, proc.port));
      // The success timestamp has 1 s resolution; make sure it can change.
      await sleep(1100);
      process.kill(proc.pid, 'SIGHUP');
      const deadline = Date.now() + 10_000;
      for (;;) {
        const now = await reloadMetrics(proc.url);
        if (now.ok === '0') throw new Error(`prometheus rejected the new config; log:\n${proc.logTail()}`);
        if (now.ts !== before.ts && now.ok === '1') return;
        if (Date.now() > deadline) throw new Error(`prometheus did not reload within 10 s; log:\n${proc.logTail()}`);
        await sleep(100);
      }
    },
  });
}

/** Options for {@link startNodeExporter} and {@link startAlertmanager}. */
export interface ExporterOptions {
  extraArgs?: string[];
  binary?: string;
  /** @default 20000 */
  readyTimeoutMs?: number;
}

/** Starts node_exporter on 127.0.0.1 and waits for `/metrics`. */
export async function startNodeExporter(opts: ExporterOptions = {}): Promise<ManagedProcess> {
  const binary = resolveBinary('prometheus-node-exporter', opts.binary);
  return startProcess({
    name: 'node-exporter',
    binary,
    readyPath: '/metrics',
    readyTimeoutMs: opts.readyTimeoutMs ?? 20_000,
    args: (port) => [`--web.listen-address=127.0.0.1:${port}`, ...(opts.extraArgs ?? [])],
  });
}

/** Options for {@link startAlertmanager}. */
export interface AlertmanagerOptions extends ExporterOptions {
  /** alertmanager.yml contents. @default a single no-op receiver */
  configYaml?: string;
}

/**
 * Starts Alertmanager on 127.0.0.1 with clustering disabled
 * (`--cluster.listen-address=`) and waits for `/-/ready`.
 */
export async function startAlertmanager(opts: AlertmanagerOptions = {}): Promise<ManagedProcess> {
  const binary = resolveBinary('prometheus-alertmanager', opts.binary);
  const yaml = opts.configYaml ?? 'route:\n  receiver: noop\nreceivers:\n  - name: noop\n';
  return startProcess({
    name: 'alertmanager',
    binary,
    readyPath: '/-/ready',
    readyTimeoutMs: opts.readyTimeoutMs ?? 20_000,
    prepare: (dir) => writeFile(join(dir, 'alertmanager.yml'), yaml),
    args: (port, dir) => [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
      ...(opts.extraArgs ?? []),
    ],
  });
}
