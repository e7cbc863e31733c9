// Startup and signals of the real server process: one owner per data directory, nothing touched before the
// configuration is valid, a directory that takes no durable write stops startup, every signal decided and logged.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { spawnServer, startServer, visit } from '../testing/support/server-process.ts';
import { tempDir } from '../testing/support/temp-dir.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('server startup', () => {
  test('a second server on the same DATA_DIR exits 1 with one line naming the directory and the holder, touching nothing', async () => {
    const dir = await tempDir();
    const first = await startServer({ DATA_DIR: dir, SHUTDOWN_DRAIN_MS: '0', POD_NAME: 'rollcall-0' });
    assert.equal((await visit(first.url)).body.visit, 1);
    // A temp file of the live server's shape (pid 4242 stands for it) and an operator's file must both survive.
    await writeFile(path.join(dir, 'visits.json.4242.9.tmp'), '{"counter": 1}');
    await writeFile(path.join(dir, 'visits.json.backup.tmp'), 'operator');
    const before = (await readdir(dir)).sort();
    const second = spawnServer({ DATA_DIR: dir, POD_NAME: 'rollcall-0-twin' });
    assert.equal(await second.exited, 1);
    assert.equal(second.logs.length, 1, JSON.stringify(second.logs));
    const line = second.logs[0]!;
    assert.match(String(line.msg), new RegExp(`${dir} is in use by another rollcall process \\(pid ${first.child.pid}, pod rollcall-0`));
    assert.deepEqual((await readdir(dir)).sort(), before);
    assert.equal(await readFile(path.join(dir, 'visits.json'), 'utf8'), '{"counter": 1}');
    assert.equal((await visit(first.url)).body.visit, 2, 'the first server is unaffected');
    first.child.kill('SIGKILL');
    await first.exited;
    // Killed: the kernel released the lock, a replacement starts at once and clears the dead one's temp file only.
    const third = await startServer({ DATA_DIR: dir, SHUTDOWN_DRAIN_MS: '0' });
    assert.equal((await visit(third.url)).body.visit, 3);
    assert.ok(!existsSync(path.join(dir, 'visits.json.4242.9.tmp')));
    assert.ok(existsSync(path.join(dir, 'visits.json.backup.tmp')));
    third.child.kill('SIGTERM');
    assert.equal(await third.exited, 0);
  });

  test('HOST that does not resolve exits 2 naming HOST, before DATA_DIR is created', async () => {
    const dir = await tempDir();
    const dataDir = path.join(dir, 'never-created');
    const server = spawnServer({ DATA_DIR: dataDir, HOST: 'no-such-host.invalid' });
    assert.equal(await server.exited, 2);
    assert.match(JSON.stringify(server.logs), /HOST: cannot be resolved/);
    assert.equal(existsSync(dataDir), false);
  });

  test('PORT=" " exits 2 before DATA_DIR is created', async () => {
    const dir = await tempDir();
    const dataDir = path.join(dir, 'never-created');
    const server = spawnServer({ DATA_DIR: dataDir, PORT: ' ' });
    assert.equal(await server.exited, 2);
    assert.equal(existsSync(dataDir), false);
  });

  test('a system directory as DATA_DIR (/proc, /etc, a path inside /usr) exits 2 with one line, nothing created', async () => {
    for (const dataDir of ['/proc', '/etc', '/usr/lib/rollcall-data']) {
      const server = spawnServer({ DATA_DIR: dataDir });
      assert.equal(await server.exited, 2, dataDir);
      assert.equal(server.logs.length, 1, JSON.stringify(server.logs));
      assert.match(String(server.logs[0]!.msg), /invalid environment: DATA_DIR: .* system directory/);
    }
    assert.equal(existsSync('/etc/visits.json') || existsSync('/etc/.rollcall.lock') || existsSync('/usr/lib/rollcall-data'), false);
  });

  test('a DATA_DIR every user may write to is refused with one line naming it; sticky and ours is accepted', async () => {
    const dir = await tempDir();
    await chmod(dir, 0o777);
    const refused = spawnServer({ DATA_DIR: dir });
    assert.equal(await refused.exited, 1);
    assert.equal(refused.logs.length, 1, JSON.stringify(refused.logs));
    assert.match(String(refused.logs[0]!.msg), new RegExp(`cannot start: ${dir}: is writable by every user \\(mode 0777\\)`));
    assert.deepEqual(await readdir(dir), [], 'nothing was created');
    await chmod(dir, 0o1777);
    const sticky = await startServer({ DATA_DIR: dir, SHUTDOWN_DRAIN_MS: '0' });
    assert.equal((await visit(sticky.url)).body.visit, 1);
    sticky.child.kill('SIGTERM');
    assert.equal(await sticky.exited, 0);
  });

  test('a damaged .rollcall.lock does not stop a start (it holds no data)', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, '.rollcall.lock'), 'garbage, not a database '.repeat(100));
    await writeFile(path.join(dir, 'visits.json'), '{"counter": 7}');
    const server = await startServer({ DATA_DIR: dir, SHUTDOWN_DRAIN_MS: '0' });
    assert.equal((await visit(server.url)).body.visit, 8);
    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0);
  });

  test('a start-up error about the lock names the lock file, not visits.json', async () => {
    const dir = await tempDir();
    await mkdir(path.join(dir, '.rollcall.lock'));
    const server = spawnServer({ DATA_DIR: dir });
    assert.equal(await server.exited, 1);
    assert.equal(server.logs.length, 1, JSON.stringify(server.logs));
    const line = String(server.logs[0]!.msg);
    assert.match(line, new RegExp(`^cannot start: ${dir}/\\.rollcall\\.lock: `));
    assert.doesNotMatch(line, /visits\.json|left untouched/);
  });
});

describe('server signals', () => {
  test('SIGHUP, SIGUSR1 and SIGUSR2 are logged and ignored; SIGUSR1 opens no inspector', async () => {
    const dir = await tempDir();
    const server = spawnServer({ DATA_DIR: dir, SHUTDOWN_DRAIN_MS: '0' });
    const url = await server.listening;
    for (const signal of ['SIGHUP', 'SIGUSR1', 'SIGUSR2'] as const) {
      server.child.kill(signal);
      await sleep(100);
      assert.equal(server.child.exitCode, null, `${signal} stopped the server`);
      assert.ok(server.logs.some((line) => line.msg === `${signal} ignored`), `no log line for ${signal}`);
    }
    assert.ok(!server.logs.some((line) => /Debugger listening/.test(String(line.msg))), 'the inspector was opened');
    assert.equal((await visit(url)).body.visit, 1);
    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0);
  });

  test('SIGQUIT is a graceful shutdown: exit 0, count kept', async () => {
    const dir = await tempDir();
    const server = await startServer({ DATA_DIR: dir, SHUTDOWN_DRAIN_MS: '0' });
    assert.equal((await visit(server.url)).body.visit, 1);
    server.child.kill('SIGQUIT');
    assert.equal(await server.exited, 0);
    assert.ok(server.logs.some((line) => line.signal === 'SIGQUIT' && /shutdown/.test(String(line.msg))));
    assert.equal(await readFile(path.join(dir, 'visits.json'), 'utf8'), '{"counter": 1}');
  });
});
