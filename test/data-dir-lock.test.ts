// The data directory lock: one holder at a time, named to the loser; released on release() and on process death.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { DataDirLockedError, HOLDER_FILE_NAME, LOCK_FILE_NAME, lockDataDirectory } from '../src/service/data-dir-lock.ts';
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
});
