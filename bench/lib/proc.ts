/**
 * Measuring another process through Linux's /proc: CPU time (utime + stime,
 * all threads, in clock ticks), CPU time per thread name, peak and current
 * resident memory, and the size of a directory on disk.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let clkTck: number | undefined;

/** Clock ticks per second (`getconf CLK_TCK`), the unit of /proc CPU times. */
export function clockTicksPerSecond(): number {
  if (clkTck === undefined) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    } catch {
      clkTck = NaN;
    }
    if (!Number.isFinite(clkTck) || clkTck <= 0) clkTck = 100;
  }
  return clkTck;
}

/**
 * utime and stime (fields 14 and 15) of a /proc stat line, in ticks. The
 * command name (field 2) is in parentheses and may contain spaces, so the
 * fields are counted from the last `)`.
 */
function parseStat(line: string): { comm: string; ticks: number; user: number; system: number } {
  const open = line.indexOf('(');
  const close = line.lastIndexOf(')');
  const comm = line.slice(open + 1, close);
  const rest = line.slice(close + 2).split(' ');
  // rest[0] is field 3 (state); utime is field 14, stime field 15.
  const user = Number(rest[11]);
  const system = Number(rest[12]);
  return { comm, ticks: user + system, user, system };
}

/** CPU seconds (user + system, every thread, living or exited) the process has used. */
export function processCpuSeconds(pid: number): number {
  return parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8')).ticks / clockTicksPerSecond();
}

/** User and system CPU seconds of the process (every thread, living or exited). */
export function processCpu(pid: number): { user: number; system: number } {
  const s = parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  return { user: s.user / clockTicksPerSecond(), system: s.system / clockTicksPerSecond() };
}

/** The live threads of `pid`: id, name (`comm`) and CPU seconds; threads that exit meanwhile are left out. */
export function liveThreads(pid: number): { tid: number; comm: string; seconds: number }[] {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const out: { tid: number; comm: string; seconds: number }[] = [];
  for (const tid of tids) {
    try {
      const { comm, ticks } = parseStat(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'));
      out.push({ tid: Number(tid), comm, seconds: ticks / clockTicksPerSecond() });
    } catch {
      // the thread exited meanwhile
    }
  }
  return out;
}

/**
 * CPU seconds per thread name (`comm`) of the live threads, e.g. `node`
 * (the JS main thread), `libuv-worker`, `V8 DefaultWorke` (GC helpers).
 * Threads that exited are missing; compare the sum with
 * {@link processCpuSeconds}.
 */
export function threadCpuSeconds(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const { tid, comm, seconds } of liveThreads(pid)) {
    const name = tid === pid ? `${comm} (main)` : comm;
    out.set(name, (out.get(name) ?? 0) + seconds);
  }
  return out;
}

/** The difference `after - before` per thread name (names only in `after` count from 0). */
export function diffThreadCpu(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, s] of after) out.set(name, s - (before.get(name) ?? 0));
  return out;
}

/** A `Vm*` field of /proc/<pid>/status in bytes (e.g. `VmHWM`, `VmRSS`); NaN when absent. */
export function procStatusBytes(pid: number, field: string): number {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  return m ? Number(m[1]) * 1024 : NaN;
}

/**
 * Size of a directory tree: `allocated` is what `du -s` reports (blocks in
 * use, in bytes), `apparent` the sum of file lengths (`du -sb`). Entries
 * named `exclude` (a `du --exclude` pattern) are left out.
 */
export function diskUsage(dir: string, exclude?: string): { allocated: number; apparent: number } {
  const ex = exclude === undefined ? [] : [`--exclude=${exclude}`];
  const allocated = Number(execFileSync('du', ['-s', '--block-size=1', ...ex, dir], { encoding: 'utf8' }).split('\t')[0]);
  const apparent = Number(execFileSync('du', ['-sb', ...ex, dir], { encoding: 'utf8' }).split('\t')[0]);
  return { allocated, apparent };
}

/** Machine facts for the report: CPU count and model, memory, kernel, node. */
export function machineInfo(): { nproc: number; cpuModel: string; memTotalGiB: number; kernel: string; node: string } {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? 'unknown';
  const memKb = Number(/^MemTotal:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? NaN);
  let nproc = NaN;
  try {
    nproc = Number(execFileSync('nproc', { encoding: 'utf8' }).trim());
  } catch {
    // leave NaN
  }
  return {
    nproc,
    cpuModel: model,
    memTotalGiB: memKb / 1024 / 1024,
    kernel: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(),
    node: process.version,
  };
}

/**
 * Waits until the process's CPU time has stopped moving (under 15 ms of CPU
 * in a second) or `maxMs` has passed; returns the seconds until it went
 * quiet (deferred work such as GC or LevelDB compaction after a load).
 */
export async function waitQuiet(pid: number, maxMs: number): Promise<number> {
  const t0 = performance.now();
  let last = processCpuSeconds(pid);
  let quietSince = performance.now();
  while (performance.now() - t0 < maxMs) {
    await new Promise((r) => setTimeout(r, 250));
    const c = processCpuSeconds(pid);
    if (c - last > 0.015) {
      last = c;
      quietSince = performance.now();
    } else if (performance.now() - quietSince >= 1000) {
      break;
    }
  }
  return (quietSince - t0) / 1000;
}
