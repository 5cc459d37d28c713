/**
 * Reading a V8 `.cpuprofile` (as `node --cpu-prof` writes it): self time per
 * function and per source file, optionally restricted to a time window.
 *
 * The profile's clock is V8's TimeTicks, which on Linux is CLOCK_MONOTONIC
 * in microseconds, the same clock as `process.hrtime` in any process on the
 * machine; so a client can cut the server's profile down to the interval it
 * measured.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TsxSourceLines, type ProfiledPosition } from './sourcemap.ts';
import { table } from './stats.ts';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}

/** The parts of a `.cpuprofile` used here. */
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** One row of a self-time table. */
export interface SelfTimeRow {
  /** Function name (or `(anonymous)`, `(garbage collector)`, ...). */
  name: string;
  /** `file:line` relative to the repository, or '' for V8's pseudo-frames. */
  where: string;
  selfMs: number;
  /** Share of the non-idle sampled time, 0..1. */
  share: number;
}

/** A summary of a profile over a window. */
export interface ProfileSummary {
  /** Sampled time in the window, ms, idle included. */
  totalMs: number;
  /** Sampled time spent in `(idle)`, ms. */
  idleMs: number;
  functions: SelfTimeRow[];
  /** Self time per source file (node internals grouped by module). */
  files: SelfTimeRow[];
}

/** Loads a profile from disk. */
export function readCpuProfile(file: string): CpuProfile {
  return JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
}

function shortUrl(url: string, root: string): string {
  let u = url.startsWith('file://') ? decodeURIComponent(url.slice(7)) : url;
  if (u.startsWith(root + '/')) u = u.slice(root.length + 1);
  const nm = u.lastIndexOf('node_modules/');
  if (nm >= 0) u = u.slice(nm);
  return u;
}

/**
 * Self time per function and per file, over samples taken in
 * `[fromUs, toUs]` (profile clock; the whole profile when omitted). Each
 * sample is credited with the interval up to the next sample.
 */
export function summarizeProfile(
  p: CpuProfile,
  root: string,
  window?: { fromUs: number; toUs: number },
  lines: TsxSourceLines = new TsxSourceLines(),
): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  const positions = new Map<string, ProfiledPosition[]>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    const url = n.callFrame.url;
    if (url.startsWith('file://') && url.endsWith('.ts')) {
      const list = positions.get(url) ?? [];
      list.push(n.callFrame);
      positions.set(url, list);
    }
  }
  for (const [url, list] of positions) lines.prepare(fileURLToPath(url), list);
  const where = (cf: CallFrame, file: string): string => {
    if (file === '') return '';
    if (positions.has(cf.url)) {
      const line = lines.line(fileURLToPath(cf.url), cf.lineNumber, cf.columnNumber);
      return line === undefined ? `${file}:${cf.lineNumber + 1}:${cf.columnNumber + 1}` : `${file}:${line}`;
    }
    return `${file}:${cf.lineNumber + 1}`;
  };
  const selfUs = new Map<number, number>();
  let t = p.startTime;
  let total = 0;
  const n = p.samples.length;
  for (let i = 0; i < n; i++) {
    t += p.timeDeltas[i]!;
    if (window && (t < window.fromUs || t > window.toUs)) continue;
    const dt = i + 1 < n ? p.timeDeltas[i + 1]! : 0;
    if (dt <= 0) continue;
    const id = p.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
    total += dt;
  }

  const fn = new Map<string, { name: string; where: string; us: number }>();
  const files = new Map<string, number>();
  let idle = 0;
  for (const [id, us] of selfUs) {
    const cf = byId.get(id)!.callFrame;
    if (cf.functionName === '(idle)') idle += us;
    const name = cf.functionName || '(anonymous)';
    const file = shortUrl(cf.url, root);
    const loc = where(cf, file);
    const key = `${name}\u0000${loc}`;
    const row = fn.get(key);
    if (row) row.us += us;
    else fn.set(key, { name, where: loc, us });
    const fileKey = file === '' ? name : file;
    files.set(fileKey, (files.get(fileKey) ?? 0) + us);
  }
  const busy = Math.max(1, total - idle);
  const functions = [...fn.values()]
    .filter((r) => r.name !== '(idle)')
    .sort((a, b) => b.us - a.us)
    .map((r) => ({ name: r.name, where: r.where, selfMs: r.us / 1000, share: r.us / busy }));
  const fileRows = [...files.entries()]
    .filter(([k]) => k !== '(idle)')
    .sort((a, b) => b[1] - a[1])
    .map(([k, us]) => ({ name: k, where: '', selfMs: us / 1000, share: us / busy }));
  return { totalMs: total / 1000, idleMs: idle / 1000, functions, files: fileRows };
}

/**
 * The profile tables of one run as text: the top `top` functions by self
 * time and the top files, for the main JS thread within the ingest window.
 */
export function profileReport(title: string, p: { file: string; summary: ProfileSummary; others: string[] }, top: number): string {
  const s = p.summary;
  const pct = (x: number): string => (x * 100).toFixed(1);
  const ms = (x: number): string => x.toFixed(0);
  return [
    `\nCPU profile of ${title} (main JS thread only; ${p.file}),` +
      ` ingest window: ${(s.totalMs / 1000).toFixed(2)} s sampled, ${((s.totalMs - s.idleMs) / 1000).toFixed(2)} s busy` +
      (p.others.length > 0 ? `; other JS threads in the window: ${p.others.join(', ')}` : ''),
    table(
      ['self ms', '%', 'function', 'location'],
      s.functions.slice(0, top).map((f) => [ms(f.selfMs), pct(f.share), f.name, f.where]),
    ).replace(/^/gm, '  '),
    `\nSelf time by file:`,
    table(
      ['self ms', '%', 'file'],
      s.files.slice(0, 15).map((f) => [ms(f.selfMs), pct(f.share), f.name]),
    ).replace(/^/gm, '  '),
  ].join('\n');
}
