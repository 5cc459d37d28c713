// Runs s3rver in its own process for the S3 integration tests (see s3rver.ts).
//
// Started as `node --openssl-legacy-provider s3rver-child.mjs <dir>`: s3rver
// encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3 offers
// only through its legacy provider. Prints `{"port":N}` on stdout once it
// listens on 127.0.0.1, and exits when stdin closes (the parent went away).
//
// s3rver 3.7 differs from S3 in ways the bucket acceptance suite notices, so
// this script replaces three methods of its filesystem store:
// - listObjects walked folders in readdir order, so `a/b` came before `a-b`,
//   and compared continuation points as JavaScript strings. S3 lists keys in
//   UTF-8 byte order; so does the replacement.
// - putObject wrote straight into the object's file and answered before the
//   data reached it, so a reader could see a torn or short object. The
//   replacement writes a temporary file and renames it once complete, which
//   makes a PUT atomic and visible when it returns, as on S3.
// - getObject took the size from one stat and the bytes from a later open
//   (a concurrent PUT in between yielded a wrong Content-Length), read
//   `bytes=0-0` as the whole object, and for an empty object answered a
//   range with a Content-Length of 1 and no body instead of 416. The
//   replacement reads size and bytes from one open file.
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import S3rver from 's3rver';

const require = createRequire(import.meta.url);
const FilesystemStore = require('s3rver/lib/stores/filesystem.js');
const S3Object = require('s3rver/lib/models/object.js');

const OBJECT_SUFFIX = '._S3rver_object';

/** S3's key order: by UTF-8 bytes. */
function compareUtf8(a, b) {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Every key under `dir` (whose keys start with `rel`) that could start with `prefix`. */
async function collectKeys(dir, rel, prefix, out) {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return;
    throw err;
  }
  for (const e of entries) {
    if (e.isDirectory()) {
      const sub = `${rel}${e.name}/`;
      if (sub.startsWith(prefix) || prefix.startsWith(sub)) await collectKeys(join(dir, e.name), sub, prefix, out);
    } else if (e.isFile() && e.name.endsWith(OBJECT_SUFFIX)) {
      const key = rel + e.name.slice(0, -OBJECT_SUFFIX.length);
      if (key.startsWith(prefix)) out.push(key);
    }
  }
}

FilesystemStore.prototype.listObjects = async function listObjects(bucket, options) {
  const { delimiter = '', startAfter = '', prefix = '', maxKeys = Infinity } = options;
  const all = [];
  await collectKeys(this.getBucketPath(bucket), '', prefix, all);
  all.sort(compareUtf8);
  const commonPrefixes = new Set();
  const keys = [];
  let isTruncated = false;
  for (const key of all) {
    if (startAfter !== '' && compareUtf8(key, startAfter) <= 0) continue;
    if (delimiter !== '') {
      const idx = key.indexOf(delimiter, prefix.length);
      if (idx !== -1) {
        commonPrefixes.add(key.slice(0, idx + delimiter.length));
        continue;
      }
    }
    if (keys.length >= maxKeys) {
      isTruncated = true;
      break;
    }
    keys.push(key);
  }
  const objects = [];
  for (const key of keys) {
    try {
      objects.push(new S3Object(bucket, key, null, await this.getMetadata(bucket, key)));
    } catch (err) {
      if (err.code !== 'ENOENT') throw err; // deleted meanwhile
    }
  }
  return { objects, commonPrefixes: [...commonPrefixes].sort(compareUtf8), isTruncated };
};

FilesystemStore.prototype.putObject = async function putObject(object) {
  const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
  await mkdir(dirname(objectPath), { recursive: true });
  const tmp = `${objectPath}.tmp-${randomBytes(6).toString('hex')}`;
  const hash = createHash('md5');
  let size = 0;
  const source = Buffer.isBuffer(object.content) ? Readable.from([object.content]) : object.content;
  try {
    await pipeline(
      source,
      new Transform({
        transform(chunk, _encoding, callback) {
          hash.update(chunk);
          size += chunk.length;
          callback(null, chunk);
        },
      }),
      createWriteStream(tmp),
    );
    await rename(tmp, objectPath);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  const md5 = hash.digest('hex');
  await this.putMetadata(object.bucket, object.key, object.metadata, md5);
  return { size, md5 };
};

FilesystemStore.prototype.getObject = async function getObject(bucket, key, options) {
  let fh;
  try {
    fh = await open(this.getResourcePath(bucket, key, 'object'), 'r');
  } catch (err) {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return null;
    throw err;
  }
  try {
    const st = await fh.stat();
    let metadata;
    try {
      metadata = await this.getMetadata(bucket, key);
    } catch (err) {
      if (err.code !== 'ENOENT') throw err;
      metadata = {}; // replaced or deleted after our open: the open file is still whole
    }
    metadata['content-length'] = st.size;
    metadata['last-modified'] = st.mtime.toUTCString();
    const ranged = options !== undefined && options.start !== undefined;
    const start = ranged ? options.start : 0;
    const end = Math.min(ranged && options.end !== undefined ? options.end : Infinity, st.size - 1);
    if (ranged && !(start >= 0 && start <= end)) {
      // Not satisfiable: the controller answers 416 InvalidRange.
      const object = new S3Object(bucket, key, null, metadata);
      object.range = { start, end };
      await fh.close();
      return object;
    }
    let content;
    if (st.size === 0) {
      content = Readable.from([]);
      await fh.close();
    } else {
      content = fh.createReadStream({ start, end, autoClose: true }); // closes fh when done or destroyed
    }
    fh = undefined;
    const object = new S3Object(bucket, key, content, metadata);
    if (ranged) object.range = { start, end };
    return object;
  } catch (err) {
    await fh?.close();
    throw err;
  }
};

const directory = process.argv[2];
if (!directory) {
  process.stderr.write('usage: s3rver-child.mjs <directory>\n');
  process.exit(2);
}

const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory });
const { port } = await server.run();
process.stdout.write(JSON.stringify({ port }) + '\n');

let closing = false;
async function shutdown() {
  if (closing) return;
  closing = true;
  await server.close().catch(() => {});
  process.exit(0);
}
process.stdin.on('end', shutdown);
process.stdin.on('error', shutdown);
process.stdin.resume();
process.on('SIGTERM', shutdown);
