/**
 * Installing the peers the benchmark compares against (Prometheus 2.42 and
 * VictoriaMetrics 1.79, from Debian's packages) when they are missing:
 * as root with apt-get, `apt-get update` once first; otherwise the harness
 * names the apt-get line and the target is skipped.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { TargetName } from './server.ts';

/** Debian package of each peer that can be installed. */
export const DEBIAN_PACKAGE: Partial<Record<TargetName, string>> = {
  [TargetName.PROMETHEUS]: 'prometheus',
  [TargetName.VICTORIAMETRICS]: 'victoria-metrics',
};

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/**
 * Installs the Debian packages of `missing` targets with apt-get when run as
 * root; returns a message per target it could not install (empty when all
 * went well or nothing was missing).
 */
export function installMissing(missing: readonly TargetName[], log: (msg: string) => void): string[] {
  const pkgs = missing.map((t) => DEBIAN_PACKAGE[t]).filter((p): p is string => p !== undefined);
  if (pkgs.length === 0) return [];
  const line = `apt-get update && apt-get install -y ${pkgs.join(' ')}`;
  if (!isRoot() || !existsSync('/usr/bin/apt-get')) return [`not root or no apt-get: install with \`${line}\``];
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    log(`installing ${pkgs.join(', ')} (apt-get)`);
    execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'], env, timeout: 600_000 });
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...pkgs], { stdio: ['ignore', 'ignore', 'inherit'], env, timeout: 900_000 });
    return [];
  } catch (err) {
    return [`apt-get failed (${(err as Error).message.split('\n')[0]}); install with \`${line}\``];
  }
}
