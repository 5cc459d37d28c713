import assert from 'node:assert/strict';
import { mkdir, mkdtemp, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InvalidKeyError, NotFoundError } from '../../../lib/objstore/errors.ts';
import { FsBucket, TEMP_PREFIX } from '../../../lib/objstore/fs/fs-bucket.ts';
import { BackendError } from '../../../lib/util/errors.ts';

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('FsBucket', () => {
  let base: string;
  let n = 0;
  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'stratus-fs-unit-'));
  });
  after(async () => {
    await rm(base, { recursive: true, force: true });
  });
  /** A fresh, not yet existing root folder. */
  const freshDir = (): string => join(base, `b${n++}`);

  it('maps keys to files and reads them back through a new instance', async () => {
    // Prepare
    const dir = freshDir();
    const first = new FsBucket({ dir });
    // Act
    await first.put('tenant/segments/0001', enc('hello'));
    await first.close();
    const second = new FsBucket({ dir });
    // Assess
    assert.deepEqual(await readFile(join(dir, 'tenant', 'segments', '0001')), Buffer.from('hello'));
    assert.deepEqual(await second.get('tenant/segments/0001'), enc('hello'));
    assert.deepEqual(await collect(second.iter('')), ['tenant/segments/0001']);
  });

  it('leaves no temporary files behind after puts and overwrites', async () => {
    const dir = freshDir();
    const bkt = new FsBucket({ dir });
    await Promise.all(Array.from({ length: 20 }, (_, i) => bkt.put(`t/${i % 2}`, enc(String(i)))));
    assert.deepEqual((await readdir(join(dir, 't'))).sort(), ['0', '1']);
  });

  it('writes every byte of concurrent puts of many sizes (fd writes on the pool, open/close/rename on the main thread)', async () => {
    // Prepare: sizes around 0, page and write-chunk boundaries, and a few MB.
    const b = new FsBucket({ dir: freshDir() });
    const sizes = [0, 1, 4095, 4096, 4097, 65_536, 524_289, 3_000_001];
    const data = sizes.map((size, i) => Uint8Array.from({ length: size }, (_, k) => (k * 31 + i * 7 + (k >>> 9)) & 0xff));

    // Act: all at once, twice into the same keys (the second replaces the first).
    await Promise.all(data.map((d, i) => b.put(`c/${i}`, d.map((x) => x ^ 0xff))));
    await Promise.all(data.map((d, i) => b.put(`c/${i}`, d)));

    // Assess: each file is exactly its bytes, and no temporary file is left.
    for (let i = 0; i < sizes.length; i++) assert.deepEqual(new Uint8Array(await readFile(join(b.dir, 'c', String(i)))), data[i], `size ${sizes[i]}`);
    assert.deepEqual((await readdir(join(b.dir, 'c'))).filter((f) => f.startsWith(TEMP_PREFIX)), []);
  });

  it('ignores a temporary file left by a crash: not listed, not returned, old version kept', async () => {
    // Prepare: an object, then the remains of a crashed overwrite and of a
    // crashed first write, as a kill between write and rename leaves them.
    const dir = freshDir();
    const bkt = new FsBucket({ dir });
    await bkt.put('a/x', enc('version 1'));
    await writeFile(join(dir, 'a', `${TEMP_PREFIX}0123456789abcdef`), 'version 2, trunc');
    await mkdir(join(dir, 'b'));
    await writeFile(join(dir, 'b', `${TEMP_PREFIX}fedcba9876543210`), 'partial');
    await writeFile(join(dir, `${TEMP_PREFIX}00`), 'partial');
    const reopened = new FsBucket({ dir });
    // Act + Assess
    assert.deepEqual(await collect(reopened.iter('')), ['a/x']);
    assert.deepEqual(await collect(reopened.iter('a/')), ['a/x']);
    assert.deepEqual(await collect(reopened.iter('a/.')), []);
    assert.deepEqual(await reopened.get('a/x'), enc('version 1'));
    assert.equal(await reopened.exists('b/y'), false);
    await assert.rejects(reopened.get('b/y'), NotFoundError);
    // The key of a temporary file is reserved, so it can never be read as an object.
    await assert.rejects(reopened.get(`a/${TEMP_PREFIX}0123456789abcdef`), InvalidKeyError);
    await assert.rejects(reopened.put(`${TEMP_PREFIX}x/y`, enc('v')), InvalidKeyError);
    // Later writes proceed normally.
    await reopened.put('b/y', enc('new'));
    assert.deepEqual(await reopened.get('b/y'), enc('new'));
  });

  it('delete removes folders it leaves empty, up to but not including the root', async () => {
    const dir = freshDir();
    const bkt = new FsBucket({ dir });
    await bkt.put('a/b/c/d', enc('1'));
    await bkt.put('a/keep', enc('2'));
    await bkt.delete('a/b/c/d');
    assert.deepEqual(await readdir(join(dir, 'a')), ['keep']);
    await bkt.delete('a/keep');
    assert.deepEqual(await readdir(dir), []);
    assert.ok((await stat(dir)).isDirectory());
  });

  it('delete keeps a folder that still holds a leftover temporary file', async () => {
    const dir = freshDir();
    const bkt = new FsBucket({ dir });
    await bkt.put('a/x', enc('1'));
    await writeFile(join(dir, 'a', `${TEMP_PREFIX}aa`), 'junk');
    await bkt.delete('a/x');
    assert.deepEqual(await readdir(join(dir, 'a')), [`${TEMP_PREFIX}aa`]);
    assert.deepEqual(await collect(bkt.iter('')), []);
  });

  it('rejects a key that needs a file where a folder is, and the other way round', async () => {
    const dir = freshDir();
    const bkt = new FsBucket({ dir });
    await bkt.put('obj', enc('1'));
    await bkt.put('folder/x', enc('2'));
    await assert.rejects(bkt.put('obj/below', enc('3')), InvalidKeyError);
    await assert.rejects(bkt.put('folder', enc('4')), InvalidKeyError);
    assert.deepEqual(await collect(bkt.iter('')), ['folder/x', 'obj']);
    assert.deepEqual(await bkt.get('obj'), enc('1'));
    assert.deepEqual((await readdir(join(dir, 'folder'))), ['x']);
  });

  it('rejects a segment too long for a file name', async () => {
    const bkt = new FsBucket({ dir: freshDir() });
    const key = `a/${'x'.repeat(300)}`;
    await assert.rejects(bkt.put(key, enc('1')), InvalidKeyError);
    await assert.rejects(bkt.get(key), InvalidKeyError);
  });

  it('lists nothing and finds nothing before the root folder exists', async () => {
    const bkt = new FsBucket({ dir: freshDir() });
    assert.deepEqual(await collect(bkt.iter('')), []);
    assert.equal(await bkt.exists('a'), false);
    await bkt.delete('a');
  });

  it('does not list symlinks or other entries a bucket never writes', async () => {
    const dir = freshDir();
    const bkt = new FsBucket({ dir });
    await bkt.put('real', enc('1'));
    const { symlink } = await import('node:fs/promises');
    await symlink(join(dir, 'real'), join(dir, 'link'));
    assert.deepEqual(await collect(bkt.iter('')), ['real']);
  });

  it('getRange reads only the range: a 3 GiB sparse file is never read whole', async () => {
    // Prepare: a sparse file far larger than a Uint8Array we could allocate cheaply.
    const dir = freshDir();
    const bkt = new FsBucket({ dir });
    await bkt.put('sparse', new Uint8Array(0));
    const fh = await open(join(dir, 'sparse'), 'r+');
    const size = 3 * 1024 ** 3;
    await fh.truncate(size);
    await fh.write(Uint8Array.of(1, 2, 3), 0, 3, size - 3);
    await fh.close();
    // Act
    const got = await bkt.getRange('sparse', size - 5, 100);
    // Assess
    assert.deepEqual(got, Uint8Array.of(0, 0, 1, 2, 3));
    assert.equal((await bkt.head('sparse')).size, size);
  });

  it('head reports the file modification time', async () => {
    const dir = freshDir();
    const bkt = new FsBucket({ dir });
    await bkt.put('m', enc('1'));
    assert.equal((await bkt.head('m')).lastModified.getTime(), (await stat(join(dir, 'm'))).mtime.getTime());
  });

  it('a put survives a concurrent delete that empties and removes its folder', async () => {
    const dir = freshDir();
    const bkt = new FsBucket({ dir });
    for (let i = 0; i < 100; i++) {
      await bkt.put(`r/${i}/old`, enc('o'));
      await Promise.all([bkt.delete(`r/${i}/old`), bkt.put(`r/${i}/new`, enc('n'))]);
      assert.deepEqual(await bkt.get(`r/${i}/new`), enc('n'), `round ${i}`);
    }
    assert.equal((await collect(bkt.iter('r/'))).length, 100);
  });

  it('concurrent deletes of a folder\'s objects all succeed, the last one removing the folder', async () => {
    // A delete fsyncs its folder after the unlink; a concurrent delete of
    // the folder's last other object may have removed the folder by then
    // (a forced compaction failed on that: "fsync folder: ENOENT").
    const dir = freshDir();
    const bkt = new FsBucket({ dir });
    for (let round = 0; round < 100; round++) {
      const keys = Array.from({ length: 8 }, (_, i) => `seg/${round}/${i}`);
      for (const k of keys) await bkt.put(k, enc(k));
      await Promise.all(keys.map((k) => bkt.delete(k)));
      assert.deepEqual(await collect(bkt.iter(`seg/${round}/`)), [], `round ${round}`);
    }
    assert.deepEqual(await readdir(dir), [], 'emptied folders are removed');
  });

  it('wraps I/O errors other than "absent" as BackendError', async () => {
    // Prepare: the root is a file, so nothing can be created below it.
    const file = join(base, `not-a-dir-${n++}`);
    await writeFile(file, 'x');
    const bkt = new FsBucket({ dir: join(file, 'sub') });
    // Act + Assess: reads see "absent", a write cannot proceed.
    assert.equal(await bkt.exists('a'), false);
    const err = await bkt.put('a', enc('1')).catch((e: unknown) => e);
    assert.ok(err instanceof InvalidKeyError || err instanceof BackendError, String(err));
    assert.equal(bkt.isNotFound(err), false);
  });
});
