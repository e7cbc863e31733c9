// The data directory lock: one holder at a time, named to the loser; released on release() and on process death.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, link, mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { DataDirLockedError, HOLDER_FILE_NAME, LOCK_FILE_NAME, LockFileError, lockDataDirectory } from '../src/service/data-dir-lock.ts';
import { tempDir } from '../testing/support/temp-dir.ts';

const LOCK_MODULE = path.resolve(import.meta.dirname, '../src/service/data-dir-lock.ts');

/** A child process that takes the lock, says so, and holds it until killed. */
async function holdInChild(dir: string): Promise<{ pid: number; kill(): Promise<void> }> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', `
    const { lockDataDirectory } = await import(${JSON.stringify(LOCK_MODULE)});
    lockDataDirectory(${JSON.stringify(dir)}, { pod: 'child-pod' });
    console.log('locked');
    setInterval(() => {}, 1000);
  `], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout, 'data')) as [Buffer];
  assert.equal(line.toString().trim(), 'locked');
  return {
    pid: child.pid!,
    async kill() {
      child.kill('SIGKILL');
      await once(child, 'exit');
    },
  };
}

describe('lockDataDirectory', () => {
  const dirs: string[] = [];
  after(async () => {
    const { rm } = await import('node:fs/promises');
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });
  const fresh = async () => {
    const dir = await tempDir();
    dirs.push(dir);
    return dir;
  };

  test('a second lock on the same directory fails and names the holder', async () => {
    const dir = await fresh();
    const first = lockDataDirectory(dir, { pod: 'pod-a' });
    try {
      assert.throws(() => lockDataDirectory(dir, { pod: 'pod-b' }), (error: unknown) => {
        assert.ok(error instanceof DataDirLockedError);
        assert.equal(error.holder?.pod, 'pod-a');
        assert.equal(error.holder?.pid, process.pid);
        assert.match(error.message, new RegExp(`${dir} is in use by another rollcall process \\(pid ${process.pid}, pod pod-a`));
        return true;
      });
    } finally {
      first.release();
    }
    lockDataDirectory(dir, { pod: 'pod-b' }).release();
  });

  test('another process holding it keeps us out; its death (SIGKILL) frees the lock at once', async () => {
    const dir = await fresh();
    const child = await holdInChild(dir);
    assert.throws(() => lockDataDirectory(dir, { pod: 'me' }), (error: unknown) => error instanceof DataDirLockedError && error.holder?.pid === child.pid && error.holder.pod === 'child-pod');
    await child.kill();
    const lock = lockDataDirectory(dir, { pod: 'me' });
    lock.release();
  });

  test('leaves only the lock file and the holder file in the directory', async () => {
    const dir = await fresh();
    lockDataDirectory(dir, { pod: 'p' }).release();
    assert.deepEqual((await readdir(dir)).sort(), [LOCK_FILE_NAME, HOLDER_FILE_NAME].sort());
  });

  test('a directory it cannot create the lock file in gives the file-system error', async () => {
    const dir = await fresh();
    const missing = path.join(dir, 'missing');
    assert.throws(() => lockDataDirectory(missing, { pod: 'p' }), /ENOENT/);
    if (process.getuid?.() !== 0) {
      const readOnly = path.join(dir, 'ro');
      await mkdir(readOnly);
      await chmod(readOnly, 0o555);
      assert.throws(() => lockDataDirectory(readOnly, { pod: 'p' }), /EACCES/);
    }
  });

  test('a damaged lock file does not stop a start: it holds no data, so it is emptied in place and locked', async () => {
    const dir = await fresh();
    const lockFile = path.join(dir, LOCK_FILE_NAME);
    await writeFile(lockFile, 'this is not a database '.repeat(200));
    const before = await stat(lockFile);
    const lock = lockDataDirectory(dir, { pod: 'p' });
    try {
      assert.equal((await stat(lockFile)).ino, before.ino, 'the same inode: a process that has it open locks the same file');
      assert.throws(() => lockDataDirectory(dir, { pod: 'q' }), DataDirLockedError);
    } finally {
      lock.release();
    }
  });

  test('random bytes in the lock file do not stop a start either', async () => {
    const dir = await fresh();
    const { randomBytes } = await import('node:crypto');
    await writeFile(path.join(dir, LOCK_FILE_NAME), randomBytes(8192));
    lockDataDirectory(dir, { pod: 'p' }).release();
  });

  test('a symlink planted as the lock file or the holder file is never followed, and the error names that file', async () => {
    const dir = await fresh();
    const elsewhere = path.join(await fresh(), 'root-only');
    await writeFile(elsewhere, 'precious');
    for (const name of [LOCK_FILE_NAME, HOLDER_FILE_NAME]) {
      const planted = path.join(dir, name);
      await symlink(elsewhere, planted);
      assert.throws(() => lockDataDirectory(dir, { pod: 'p' }), (error: unknown) => {
        assert.ok(error instanceof LockFileError, String(error));
        assert.equal(error.file, planted);
        assert.match(error.message, /is a symlink; refusing to follow it/);
        return true;
      });
      assert.equal(await readFile(elsewhere, 'utf8'), 'precious');
      const { rm } = await import('node:fs/promises');
      await rm(planted);
    }
  });

  test('a holder file with a second hard link is not written (it would write the other file too)', async () => {
    const dir = await fresh();
    const elsewhere = path.join(dir, 'other-file');
    await writeFile(elsewhere, 'precious');
    await link(elsewhere, path.join(dir, HOLDER_FILE_NAME));
    assert.throws(() => lockDataDirectory(dir, { pod: 'p' }), (error: unknown) => error instanceof LockFileError && error.file === path.join(dir, HOLDER_FILE_NAME) && /2 hard links/.test(error.message));
    assert.equal(await readFile(elsewhere, 'utf8'), 'precious');
  });

  test('returns the identity of the directory it locked', async () => {
    const dir = await fresh();
    const lock = lockDataDirectory(dir, { pod: 'p' });
    const s = await stat(dir);
    assert.deepEqual(lock.identity, { dev: s.dev, ino: s.ino });
    lock.release();
  });
});
