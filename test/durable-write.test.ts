import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { DurableFile, isTempFileOf } from '../src/service/durable-write.ts';
import { FaultyFileSystem } from '../testing/support/faulty-fs.ts';
import { tempDir } from '../testing/support/temp-dir.ts';

const bytes = (text: string) => new TextEncoder().encode(text);

async function setup() {
  const dir = await tempDir();
  const target = path.join(dir, 'visits.json');
  await writeFile(target, '{"counter": 1}');
  const fs = new FaultyFileSystem();
  return { dir, target, fs, file: new DurableFile(fs, target) };
}

describe('DurableFile', () => {
  test('a directory replaced while running is never written: every write fails EDATADIRREPLACED until the path names it again', async () => {
    const { dir, target, fs } = await setup();
    const file = new DurableFile(fs, target);
    await file.replace(bytes('{"counter": 2}'));
    // The operator moves the directory away and creates a new, empty one at the same path.
    await rename(dir, `${dir}.old`);
    await mkdir(dir);
    await assert.rejects(file.replace(bytes('{"counter": 3}')), (error: NodeJS.ErrnoException) => error.code === 'EDATADIRREPLACED' && error.message.includes(dir));
    assert.deepEqual(await readdir(dir), [], 'nothing was written into the new directory');
    assert.equal(await readFile(path.join(`${dir}.old`, 'visits.json'), 'utf8'), '{"counter": 2}');
    // The locked directory back at its path: writes go on.
    await rm(dir, { recursive: true });
    await rename(`${dir}.old`, dir);
    await file.replace(bytes('{"counter": 3}'));
    assert.equal(await readFile(target, 'utf8'), '{"counter": 3}');
    await file.close();
  });

  test('a directory pinned by the lock is checked from the first write: another one at the path is refused', async () => {
    const { dir, target, fs } = await setup();
    const { statSync } = await import('node:fs');
    const locked = statSync(dir);
    await rename(dir, `${dir}.old`);
    await mkdir(dir);
    const file = new DurableFile(fs, target, { directory: { dev: locked.dev, ino: locked.ino } });
    await assert.rejects(file.probe(), { code: 'EDATADIRREPLACED' });
    assert.deepEqual(await readdir(dir), []);
    await file.close();
    await rm(`${dir}.old`, { recursive: true, force: true });
  });

  test('temp file names are unpredictable, and a name already taken (file or symlink) is never written through', async () => {
    const { dir, target, fs } = await setup();
    const file = new DurableFile(fs, target);
    const names = new Set<string>();
    for (let i = 0; i < 20; i++) names.add(path.basename(await file.prepare(bytes('{"counter": 5}'))));
    for (const name of names) assert.match(name, /^visits\.json\.\d+\.\d+\.[0-9a-f]{16}\.tmp$/);
    // The old predictable shape (pid.seq) planted by another user for the next sequence numbers changes nothing.
    const { symlinkSync } = await import('node:fs');
    for (let seq = 21; seq < 30; seq++) symlinkSync('/nonexistent-target', path.join(dir, `visits.json.${process.pid}.${seq}.tmp`));
    await file.replace(bytes('{"counter": 6}'));
    assert.equal(await readFile(target, 'utf8'), '{"counter": 6}');
    await file.close();
  });

  test('probe() proves the directory takes durable writes and leaves nothing behind', async () => {
    const { dir, fs, file } = await setup();
    await file.probe();
    assert.deepEqual(await readdir(dir), ['visits.json']);
    assert.deepEqual(fs.calls.map((c) => c.op), ['open', 'fsync', 'close', 'unlink', 'open', 'fsync']);
    fs.fail('open', 'EACCES', 1);
    await assert.rejects(file.probe(), /EACCES/);
    await file.close();
  });

  test('replaces the file: temp write, fsync, rename, directory fsync, in that order', async () => {
    const { dir, target, fs, file } = await setup();
    await file.replace(bytes('{"counter": 2}'));
    assert.equal(await readFile(target, 'utf8'), '{"counter": 2}');
    assert.deepEqual(await readdir(dir), ['visits.json']);
    const ops = fs.calls.map((c) => c.op);
    assert.deepEqual(ops, ['open', 'write', 'fsync', 'close', 'rename', 'open', 'fsync']);
    assert.equal(fs.calls[5]?.args[0], dir, 'the second open is the directory, for its fsync');
    await file.close();
  });

  test('keeps writing after short writes until every byte is on disk', async () => {
    const { target, fs, file } = await setup();
    fs.shortWriteBytes = 3;
    const content = '{"counter": 123456789}';
    await file.replace(bytes(content));
    assert.equal(await readFile(target, 'utf8'), content);
    assert.equal(fs.calls.filter((c) => c.op === 'write').length, Math.ceil(content.length / 3));
    await file.close();
  });

  test('a write that makes no progress fails instead of spinning, leaving no temp file', async () => {
    const { dir, target, fs, file } = await setup();
    fs.shortWriteBytes = 0;
    await assert.rejects(file.replace(bytes('{"counter": 2}')), /short write/);
    assert.equal(await readFile(target, 'utf8'), '{"counter": 1}');
    assert.deepEqual(await readdir(dir), ['visits.json']);
  });

  for (const op of ['write', 'fsync', 'close', 'rename'] as const) {
    test(`a failed ${op} keeps the old content and leaves no temp file`, async () => {
      const { dir, target, fs, file } = await setup();
      fs.fail(op, op === 'write' ? 'ENOSPC' : 'EIO', 1);
      await assert.rejects(file.replace(bytes('{"counter": 2}')), { code: op === 'write' ? 'ENOSPC' : 'EIO' });
      assert.equal(await readFile(target, 'utf8'), '{"counter": 1}');
      assert.deepEqual(await readdir(dir), ['visits.json']);
    });
  }

  test('every attempt uses a fresh temp file name, also after a failed fsync', async () => {
    const { target, fs, file } = await setup();
    fs.fail('fsync', 'EIO', 1);
    await assert.rejects(file.replace(bytes('{"counter": 2}')));
    await file.replace(bytes('{"counter": 2}'));
    const temps = fs.tempFilesOpened();
    assert.equal(temps.length, 2);
    assert.notEqual(temps[0], temps[1]);
    for (const temp of temps) assert.ok(isTempFileOf(target, path.basename(temp)), temp);
    assert.equal(await readFile(target, 'utf8'), '{"counter": 2}');
    await file.close();
  });

  test('a failed directory fsync is reported and the directory is reopened next time', async () => {
    const { fs, file } = await setup();
    await file.replace(bytes('{"counter": 2}'));
    // Fail the second fsync of the next replace: the first is the temp file's, the second the directory's.
    let fsyncs = 0;
    const realFsync = fs.fsync;
    fs.fsync = (fd: number) => (++fsyncs === 2 ? Promise.reject(Object.assign(new Error('EIO'), { code: 'EIO' })) : realFsync(fd));
    await assert.rejects(file.replace(bytes('{"counter": 3}')), { code: 'EIO' });
    const opensBefore = fs.calls.filter((c) => c.op === 'open').length;
    await file.replace(bytes('{"counter": 4}'));
    const opens = fs.calls.filter((c) => c.op === 'open').slice(opensBefore);
    assert.equal(opens.length, 2, 'temp file and directory both opened again');
    await file.close();
  });

  test('a temp file that could not be removed (read-only volume) is removed after the next successful write', async () => {
    const { dir, target, fs, file } = await setup();
    fs.fail('rename', 'EROFS', 1);
    fs.fail('unlink', 'EROFS', 1);
    await assert.rejects(file.replace(bytes('{"counter": 2}')), { code: 'EROFS' });
    assert.equal((await readdir(dir)).length, 2, 'the temp file is stranded while the volume is read-only');
    await file.replace(bytes('{"counter": 3}'));
    assert.deepEqual(await readdir(dir), ['visits.json']);
    assert.equal(await readFile(target, 'utf8'), '{"counter": 3}');
    await file.close();
  });

  test('recognises only its own temp files', () => {
    assert.ok(isTempFileOf('/d/visits.json', 'visits.json.12.3.tmp'));
    assert.ok(isTempFileOf('/d/visits.json', 'visits.json.12.3.0123456789abcdef.tmp'));
    assert.ok(!isTempFileOf('/d/visits.json', 'visits.json.12.3.0123456789ABCDEF.tmp'));
    assert.ok(!isTempFileOf('/d/visits.json', 'visits.json.12.3.0123456789abcde.tmp'));
    assert.ok(!isTempFileOf('/d/visits.json', 'visits.json'));
    assert.ok(!isTempFileOf('/d/visits.json', 'visits.json.bak'));
    assert.ok(!isTempFileOf('/d/visits.json', 'other.json.1.1.tmp'));
    // Only our exact shape: an operator's backup or anything else ending in .tmp is not ours to remove.
    assert.ok(!isTempFileOf('/d/visits.json', 'visits.json.backup.tmp'));
    assert.ok(!isTempFileOf('/d/visits.json', 'visits.json.1.tmp'));
    assert.ok(!isTempFileOf('/d/visits.json', 'visits.json.1.2.3.tmp'));
    assert.ok(!isTempFileOf('/d/visits.json', 'visits.json..1.tmp'));
    assert.ok(!isTempFileOf('/d/visits.json', 'visits.json.12.x.tmp'));
  });
});
