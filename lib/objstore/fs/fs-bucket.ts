/**
 * A bucket on the local filesystem, after Thanos' `providers/filesystem`:
 * the object `a/b/c` is the file `<dir>/a/b/c`.
 *
 * Writes are crash-safe: the bytes go to a temporary file beside the target
 * (`.tmp-<random>`), which is fsynced and then renamed over the target, and
 * the folder is fsynced after the rename. A crash therefore leaves either
 * the old object, the new one, or (for a new key) nothing, plus at worst a
 * stray temporary file that `iter` and `get` never show.
 *
 * Limits of the mapping that S3 does not have: a key cannot also be a folder
 * of other keys (`a` and `a/b` cannot both exist), each segment must fit in
 * a file name (255 bytes on most filesystems), and segments starting with
 * `.tmp-` are reserved for temporary files. Such keys are rejected with an
 * {@link InvalidKeyError}.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsync as fsFsync, openSync, renameSync, write as fsWrite, type Dirent } from 'node:fs';
import { promisify } from 'node:util';
import { mkdir, open, readdir, rm, rmdir, stat, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { BackendError, StratusError } from '../../util/errors.ts';
import { compareUtf8 } from '../../util/utf8.ts';
import type { Bucket, ObjectAttributes } from '../bucket.ts';
import { InvalidKeyError, NotFoundError } from '../errors.ts';
import { checkRange, isPossiblePrefix, validateKey } from '../validate.ts';

/** The name prefix of temporary files; key segments may not start with it. */
export const TEMP_PREFIX = '.tmp-';

/** How often `put` starts over when a concurrent `delete` removed its folder. */
const MAX_PUT_ATTEMPTS = 5;

/** Options of {@link FsBucket}. */
export interface FsBucketOptions {
  /** The root folder; it is created on the first `put`. */
  dir: string;
}

/**
 * A {@link Bucket} stored as files under one folder. Safe for concurrent use
 * within a process; several processes may share the folder too, since every
 * change is a single rename or unlink. `delete` removes folders that it
 * leaves empty, up to (not including) the root.
 */
export class FsBucket implements Bucket {
  /** The absolute root folder. */
  readonly dir: string;
  /** Folders known to exist with a durable entry in their parent. */
  readonly #durableDirs = new Set<string>();

  constructor(opts: FsBucketOptions) {
    this.dir = resolve(opts.dir);
  }

  async get(key: string): Promise<Uint8Array> {
    const path = this.#path(key);
    let fh: FileHandle | undefined;
    try {
      fh = await open(path, 'r');
      const st = await fh.stat();
      if (!st.isFile()) throw new NotFoundError(`get ${key}`);
      return await readAt(fh, 0, st.size);
    } catch (err) {
      throw wrapRead('get', key, err);
    } finally {
      await fh?.close();
    }
  }

  async getRange(key: string, offset: number, length: number): Promise<Uint8Array> {
    checkRange(key, offset, length);
    const path = this.#path(key);
    let fh: FileHandle | undefined;
    try {
      fh = await open(path, 'r');
      const st = await fh.stat();
      if (!st.isFile()) throw new NotFoundError(`getRange ${key}`);
      const start = Math.min(offset, st.size);
      const end = Math.min(st.size, start + length);
      return await readAt(fh, start, end - start);
    } catch (err) {
      throw wrapRead('getRange', key, err);
    } finally {
      await fh?.close();
    }
  }

  async head(key: string): Promise<ObjectAttributes> {
    const path = this.#path(key);
    try {
      const st = await stat(path);
      if (!st.isFile()) throw new NotFoundError(`head ${key}`);
      return { size: st.size, lastModified: st.mtime };
    } catch (err) {
      throw wrapRead('head', key, err);
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.head(key);
      return true;
    } catch (err) {
      if (err instanceof NotFoundError) return false;
      throw err;
    }
  }

  async *iter(prefix: string): AsyncIterable<string> {
    if (!isPossiblePrefix(prefix)) return;
    const cut = prefix.lastIndexOf('/');
    yield* this.#walk(prefix.slice(0, cut + 1), prefix.slice(cut + 1));
  }

  isNotFound(err: unknown): boolean {
    return err instanceof NotFoundError;
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    const path = this.#path(key);
    const parent = dirname(path);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#ensureDir(parent);
        await writeAtomically(parent, path, data);
        return;
      } catch (err) {
        // A concurrent delete may have removed the (then empty) folder
        // between our mkdir and our write; make it again.
        if (errorCode(err) === 'ENOENT' && attempt < MAX_PUT_ATTEMPTS) {
          this.#forgetDirs(parent);
          continue;
        }
        throw wrapWrite(key, err);
      }
    }
  }

  async delete(key: string): Promise<void> {
    const path = this.#path(key);
    try {
      await unlink(path);
    } catch (err) {
      const code = errorCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      // unlink(2) of a folder fails with EISDIR (Linux) or EPERM (POSIX):
      // a folder is not an object, so there is nothing to delete.
      if ((code === 'EISDIR' || code === 'EPERM') && (await isDirectory(path))) return;
      throw new BackendError(`delete ${key}`, { cause: err });
    }
    const parent = dirname(path);
    try {
      await syncDir(parent);
    } catch (err) {
      if (errorCode(err) !== 'ENOENT') throw new BackendError(`delete ${key}: fsync folder`, { cause: err });
      // A concurrent delete of the folder's last other object removed the
      // folder, our unlink with it: what has to be durable now is the
      // folder's removal, recorded in the nearest folder still there.
      this.#forgetDirs(parent);
      await this.#syncNearest(dirname(parent), key);
      return;
    }
    await this.#removeEmptyDirs(parent);
  }

  /** Fsyncs `dir`, or its nearest ancestor up to the root that still exists. */
  async #syncNearest(dir: string, key: string): Promise<void> {
    for (let d = dir; d.startsWith(this.dir); d = dirname(d)) {
      try {
        await syncDir(d);
        return;
      } catch (err) {
        if (errorCode(err) !== 'ENOENT') throw new BackendError(`delete ${key}: fsync folder`, { cause: err });
        if (d === this.dir) return;
      }
    }
  }

  async close(): Promise<void> {}

  /** The file path of a key; throws InvalidKeyError for a bad key. */
  #path(key: string): string {
    const segments = validateKey(key);
    for (const s of segments) {
      if (s.startsWith(TEMP_PREFIX)) {
        throw new InvalidKeyError(
          `object key ${JSON.stringify(key)}: segments starting with "${TEMP_PREFIX}" are reserved by the filesystem bucket`,
        );
      }
    }
    return join(this.dir, ...segments);
  }

  /**
   * Makes `dir` and its ancestors up to the root exist, and fsyncs the
   * parent of each one not known to be durable yet, root first, so that a
   * crash cannot lose the folder entries an acknowledged object sits in.
   */
  async #ensureDir(dir: string): Promise<void> {
    if (this.#durableDirs.has(dir)) return;
    await mkdir(dir, { recursive: true });
    const chain: string[] = [];
    for (let d = dir; ; d = dirname(d)) {
      chain.push(d);
      if (d === this.dir) break;
    }
    for (let i = chain.length - 1; i >= 0; i--) {
      const d = chain[i];
      if (this.#durableDirs.has(d)) continue;
      await syncDir(dirname(d));
      this.#durableDirs.add(d);
    }
  }

  #forgetDirs(dir: string): void {
    for (let d = dir; ; d = dirname(d)) {
      this.#durableDirs.delete(d);
      if (d === this.dir) break;
    }
  }

  /** Removes `dir` and its ancestors below the root while they are empty. */
  async #removeEmptyDirs(dir: string): Promise<void> {
    for (let d = dir; d !== this.dir && d.startsWith(this.dir); d = dirname(d)) {
      try {
        await rmdir(d);
      } catch {
        return; // not empty (or gone, or in use): keep it
      }
      this.#durableDirs.delete(d);
    }
  }

  /**
   * Yields the keys under folder `dirKey` (`''` or ending in `/`) whose next
   * segment starts with `namePrefix`, depth first. Sorting the entries of
   * each folder with `/` appended to sub-folder names yields the keys in
   * UTF-8 byte order: all keys below `a/` share that prefix, and `a-b`
   * (0x2D) sorts before `a/` (0x2F) while `a0` (0x30) sorts after it.
   */
  async *#walk(dirKey: string, namePrefix: string): AsyncGenerator<string> {
    let entries: Dirent[];
    try {
      entries = await readdir(join(this.dir, dirKey), { withFileTypes: true });
    } catch (err) {
      const code = errorCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw new BackendError(`iter ${dirKey}${namePrefix}`, { cause: err });
    }
    const names: string[] = [];
    for (const e of entries) {
      if (!e.name.startsWith(namePrefix)) continue;
      if (e.isFile()) {
        if (!e.name.startsWith(TEMP_PREFIX)) names.push(e.name);
      } else if (e.isDirectory()) {
        names.push(e.name + '/');
      }
      // Anything else (symlinks, sockets) was not written by a bucket.
    }
    names.sort(compareUtf8);
    for (const name of names) {
      if (name.endsWith('/')) yield* this.#walk(dirKey + name, '');
      else yield dirKey + name;
    }
  }
}

/**
 * Writes `data` to a temporary file in `dir`, fsyncs it, renames it to
 * `path`, fsyncs `dir`. The write and the fsyncs go to the thread pool;
 * open, close and rename, which only change cached metadata, are made on
 * this thread: three thread-pool round trips per object instead of eight,
 * about 0.2 ms less CPU per object (all threads, measured), for a few
 * microseconds of blocking.
 */
async function writeAtomically(dir: string, path: string, data: Uint8Array): Promise<void> {
  const tmp = join(dir, TEMP_PREFIX + randomBytes(8).toString('hex'));
  let renamed = false;
  try {
    const fd = openSync(tmp, 'wx', 0o644);
    try {
      await writeAll(fd, data);
      await fsyncFd(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    renamed = true;
  } finally {
    if (!renamed) await rm(tmp, { force: true }).catch(() => {});
  }
  await syncDir(dir);
}

const writeFd = promisify(fsWrite);
const fsyncFd = promisify(fsFsync);

/** Writes all of `data` at the start of the (new, empty) file `fd`. */
async function writeAll(fd: number, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) {
    const { bytesWritten } = await writeFd(fd, data, off, data.length - off, off);
    if (bytesWritten <= 0) throw new Error(`write returned ${bytesWritten} at byte ${off} of ${data.length}`);
    off += bytesWritten;
  }
}

/** Reads exactly `n` bytes at `position` (fewer only if the file is shorter). */
async function readAt(fh: FileHandle, position: number, n: number): Promise<Uint8Array> {
  const buf = new Uint8Array(n);
  let off = 0;
  while (off < n) {
    const { bytesRead } = await fh.read(buf, off, n - off, position + off);
    if (bytesRead === 0) break;
    off += bytesRead;
  }
  return off === n ? buf : buf.subarray(0, off);
}

/** Flushes a folder's entries to disk (open and close on this thread, the fsync on the pool). */
async function syncDir(dir: string): Promise<void> {
  const fd = openSync(dir, 'r');
  try {
    await fsyncFd(fd);
  } finally {
    closeSync(fd);
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

function errorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string'
    ? err.code
    : undefined;
}

/** Maps an error of a reading operation to our classes. */
function wrapRead(op: string, key: string, err: unknown): Error {
  if (err instanceof StratusError) return err;
  switch (errorCode(err)) {
    case 'ENOENT':
    case 'ENOTDIR': // a segment of the key is an object, not a folder
    case 'EISDIR': // the key is a folder of other keys, not an object
      return new NotFoundError(`${op} ${key}`, { cause: err });
    case 'ENAMETOOLONG':
      return new InvalidKeyError(`${op} ${key}: a segment is too long for a file name`, { cause: err });
    default:
      return new BackendError(`${op} ${key}`, { cause: err });
  }
}

/** Maps an error of `put` to our classes. */
function wrapWrite(key: string, err: unknown): Error {
  if (err instanceof StratusError) return err;
  switch (errorCode(err)) {
    case 'ENOTDIR':
    case 'EEXIST':
    case 'EISDIR':
    case 'ENOTEMPTY':
      return new InvalidKeyError(
        `put ${key}: an object stands where a folder must be, or a folder where the object must be ` +
          '(on the filesystem a key cannot also be a prefix "key/" of other keys)',
        { cause: err },
      );
    case 'ENAMETOOLONG':
      return new InvalidKeyError(`put ${key}: a segment is too long for a file name`, { cause: err });
    default:
      return new BackendError(`put ${key}`, { cause: err });
  }
}
