/**
 * Locating the real Prometheus-ecosystem programs the end-to-end tests use as
 * oracles. A missing program is reported loudly; the test then calls
 * `t.skip(skipReason(name))` so that it is counted as skipped, never passed.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Programs the harness knows, with the Debian package and other names. */
export const PROGRAMS = {
  prometheus: { pkg: 'prometheus', aliases: ['prometheus'] },
  'prometheus-node-exporter': { pkg: 'prometheus-node-exporter', aliases: ['prometheus-node-exporter', 'node_exporter'] },
  'prometheus-alertmanager': { pkg: 'prometheus-alertmanager', aliases: ['prometheus-alertmanager', 'alertmanager'] },
} as const;

/** A program name known to the harness. */
export type ProgramName = keyof typeof PROGRAMS;

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The absolute path of `name`: `/usr/bin/<name>` first, then each alias on
 * PATH. Returns undefined, after printing a loud note to stderr, if none is
 * found.
 */
export function requireBinary(name: ProgramName): string | undefined {
  const { aliases } = PROGRAMS[name];
  const dirs = ['/usr/bin', ...(process.env['PATH'] ?? '').split(delimiter).filter((d) => d !== '')];
  for (const dir of dirs) {
    for (const alias of aliases) {
      const p = join(dir, alias);
      if (isExecutable(p)) return p;
    }
  }
  process.stderr.write(`\n*** e2e: ${name} NOT FOUND (looked for ${aliases.join(', ')} in ${dirs.join(':')}); ${skipReason(name)} ***\n\n`);
  return undefined;
}

/** The message to skip a test with when `name` is missing. */
export function skipReason(name: ProgramName): string {
  return `${name} not installed: apt-get install -y ${PROGRAMS[name].pkg}`;
}
