// `npm start` as a user runs it: SIGTERM or SIGINT to the npm process must reach the server (npm passes the signal
// to its script, and the script `exec`s node, so there is no shell in between that would swallow it), the server
// shuts down gracefully, npm exits with the server's code, and no process is left behind.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { followServerLog } from '../scripts/lib/server-log.ts';

const root = path.resolve(import.meta.dirname, '..');
const work = mkdtempSync(path.join(os.tmpdir(), 'rollcall-npm-start-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** npm itself: the one running `npm test` when there is one, else the one on PATH. */
function npmCommand(): [string, string[]] {
  const cli = process.env['npm_execpath'];
  return cli && /npm-cli\.js$/.test(cli) ? [process.execPath, [cli]] : ['npm', []];
}

/** The direct children of a process, from /proc (Linux). */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function alive(pid: number): boolean {
  try {
    // A zombie still answers kill(0); it is gone once its state is no longer Z.
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

describe('npm start and signals', { skip: process.platform !== 'linux' ? 'reads /proc (Linux only)' : false }, () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    test(`${signal} to npm reaches the server: graceful shutdown, npm exits 0, nothing left behind`, async () => {
      const [command, prefix] = npmCommand();
      const npm = spawn(command, [...prefix, 'start', '--silent'], {
        cwd: root,
        env: { ...process.env, HOST: '127.0.0.1', PORT: '0', DATA_DIR: mkdtempSync(path.join(work, 'data-')), SHUTDOWN_DRAIN_MS: '50', LOG_LEVEL: 'info' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      npm.stderr!.resume();
      const exited = once(npm, 'close').then(([code, sig]) => (code ?? sig) as number | string);
      const { logs, listening } = followServerLog(npm.stdout!);
      let server: number | undefined;
      after(() => {
        for (const pid of [server, npm.pid]) if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
      });
      const port = await Promise.race([listening, exited.then((code) => Promise.reject(new Error(`npm start exited (${code}) before listening`)))]);
      assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);

      // exec: npm's only child is the server itself, not a shell.
      const kids = childrenOf(npm.pid!);
      assert.equal(kids.length, 1, `npm has exactly one child: ${kids.join(' ')}`);
      server = kids[0]!;
      assert.match(readFileSync(`/proc/${server}/cmdline`, 'utf8').split('\0').join(' '), /node .*src\/server\.ts/);
      assert.deepEqual(childrenOf(server), [], 'the server has no children');

      npm.kill(signal);
      assert.equal(await exited, 0, 'npm exits with the server, code 0');
      assert.ok(logs.some((line) => line.msg === 'shutdown: complete'), `graceful shutdown logged: ${JSON.stringify(logs.map((l) => l.msg))}`);
      assert.ok(logs.some((line) => line['signal'] === signal), `the server saw ${signal}`);
      // The server's exit is what npm waited for; allow the kernel a moment to reap it (its parent is gone).
      for (let i = 0; i < 50 && alive(server); i++) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(alive(server), false, 'no server left behind');
    });
  }
});
