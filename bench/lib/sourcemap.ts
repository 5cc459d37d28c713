/**
 * Maps positions in a `.cpuprofile` back to TypeScript source lines.
 *
 * The server runs its TypeScript through tsx, which hands V8 esbuild's
 * output with whitespace minified, so every function of a file sits on
 * line 1 at some column. tsx keeps each transformed file, with its source
 * map, in a cache directory (`<tmpdir>/tsx-<uid>/`, one JSON file
 * `{ code, map }` per transform). This module finds the cache entry of a
 * source file (several may exist for edited files: the one whose code has
 * the profiled function names at the profiled columns wins, the newest on a
 * tie) and decodes its mappings. When nothing fits, positions stay
 * unresolved and the caller shows the column instead.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

interface CacheEntry {
  code: string;
  map: { sources?: string[]; mappings: string };
  mtimeMs: number;
}

/** A function position as the profile gives it (0-based line and column). */
export interface ProfiledPosition {
  functionName: string;
  lineNumber: number;
  columnNumber: number;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Int8Array(128).fill(-1);
for (let i = 0; i < B64.length; i++) B64_INDEX[B64.charCodeAt(i)] = i;

/**
 * Decodes source-map v3 `mappings` into, per generated line, sorted
 * `[generatedColumn, sourceLine]` pairs (0-based).
 */
export function decodeMappings(mappings: string): Array<Array<[number, number]>> {
  const lines: Array<Array<[number, number]>> = [[]];
  let genCol = 0;
  let srcLine = 0;
  const fields = [0, 0, 0, 0, 0];
  let nField = 0;
  let value = 0;
  let shift = 0;
  const endSegment = (): void => {
    if (nField >= 1) genCol += fields[0]!;
    if (nField >= 4) {
      srcLine += fields[2]!;
      lines[lines.length - 1]!.push([genCol, srcLine]);
    }
    nField = 0;
  };
  for (let i = 0; i < mappings.length; i++) {
    const ch = mappings.charCodeAt(i);
    if (ch === 0x2c /* , */) {
      endSegment();
      continue;
    }
    if (ch === 0x3b /* ; */) {
      endSegment();
      lines.push([]);
      genCol = 0;
      continue;
    }
    const digit = ch < 128 ? B64_INDEX[ch]! : -1;
    if (digit < 0) throw new Error(`source map: bad base64 character ${JSON.stringify(mappings[i])}`);
    value += (digit & 31) * 2 ** shift;
    if (digit & 32) {
      shift += 5;
      continue;
    }
    const neg = value % 2 === 1;
    const v = Math.floor(value / 2);
    fields[nField++] = neg ? -v : v;
    value = 0;
    shift = 0;
  }
  endSegment();
  return lines;
}

/** The source line (0-based) of the last mapping at or before `col` on `line`; -1 if none. */
export function lookup(decoded: Array<Array<[number, number]>>, line: number, col: number): number {
  const segs = decoded[line];
  if (!segs || segs.length === 0) return -1;
  let lo = 0;
  let hi = segs.length - 1;
  if (segs[0]![0] > col) return segs[0]![1];
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (segs[mid]![0] <= col) lo = mid;
    else hi = mid - 1;
  }
  return segs[lo]![1];
}

/** Resolves profile positions of files transformed by tsx to source lines. */
export class TsxSourceLines {
  #byPath: Map<string, CacheEntry[]> | undefined;
  #decoded = new Map<string, Array<Array<[number, number]>> | null>();
  readonly #cacheDir: string;

  constructor(cacheDir = join(tmpdir(), `tsx-${userInfo().uid}`)) {
    this.#cacheDir = cacheDir;
  }

  #index(): Map<string, CacheEntry[]> {
    if (this.#byPath) return this.#byPath;
    const byPath = new Map<string, CacheEntry[]>();
    let names: string[] = [];
    try {
      names = readdirSync(this.#cacheDir);
    } catch {
      // no cache: nothing resolves
    }
    for (const name of names) {
      const file = join(this.#cacheDir, name);
      try {
        const e = JSON.parse(readFileSync(file, 'utf8')) as Omit<CacheEntry, 'mtimeMs'>;
        const src = e.map?.sources?.[0];
        if (typeof e.code !== 'string' || typeof src !== 'string') continue;
        const list = byPath.get(src) ?? [];
        list.push({ ...e, mtimeMs: statSync(file).mtimeMs });
        byPath.set(src, list);
      } catch {
        // not a transform entry
      }
    }
    this.#byPath = byPath;
    return byPath;
  }

  /**
   * Picks, for `path`, the cache entry that best explains `positions` (named
   * functions found at their columns) and returns its decoded mappings.
   */
  prepare(path: string, positions: readonly ProfiledPosition[]): void {
    if (this.#decoded.has(path)) return;
    const cands = this.#index().get(path) ?? [];
    let best: CacheEntry | undefined;
    let bestScore = -1;
    for (const c of cands) {
      let score = 0;
      for (const p of positions) {
        if (p.functionName === '' || p.lineNumber !== 0) continue;
        const near = c.code.slice(Math.max(0, p.columnNumber - p.functionName.length - 16), p.columnNumber + p.functionName.length + 16);
        if (near.includes(p.functionName)) score++;
      }
      if (score > bestScore || (score === bestScore && best !== undefined && c.mtimeMs > best.mtimeMs)) {
        best = c;
        bestScore = score;
      }
    }
    this.#decoded.set(path, best ? decodeMappings(best.map.mappings) : null);
  }

  /** The 1-based source line of a profiled position in `path`, or undefined. */
  line(path: string, lineNumber: number, columnNumber: number): number | undefined {
    const d = this.#decoded.get(path);
    if (!d) return undefined;
    const l = lookup(d, lineNumber, columnNumber);
    return l < 0 ? undefined : l + 1;
  }
}
