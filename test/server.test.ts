// The real server process over a real socket: startup, restart, refusal of bad input, graceful shutdown.
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { describe, test } from 'node:test';
import { spawnServer, startServer, visit } from '../testing/support/server-process.ts';
import { tempDir } from '../testing/support/temp-dir.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('server process', () => {
  test('serves visits on a real socket and keeps the count across a restart', async () => {
    const dir = await tempDir();
    const first = await startServer({ DATA_DIR: dir, SHUTDOWN_DRAIN_MS: '0', POD_NAME: 'rollcall-0' });
    assert.deepEqual((await visit(first.url)).body.visit, 1);
    assert.deepEqual((await visit(first.url)).body.visit, 2);
    const visits = await (await fetch(`${first.url}/visits`)).json();
    assert.deepEqual(visits, { counter: 2, pod: 'rollcall-0', version: '1.0.0' });
    first.child.kill('SIGTERM');
    assert.equal(await first.exited, 0);
    assert.equal(await readFile(path.join(dir, 'visits.json'), 'utf8'), '{"counter": 2}');

    const second = await startServer({ DATA_DIR: dir, SHUTDOWN_DRAIN_MS: '0' });
    assert.equal((await visit(second.url)).body.visit, 3);
    const started = second.logs.find((line) => line.msg === 'listening');
    assert.equal(started?.counter, 2, 'the startup log reports the loaded counter');
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0);
  });

  test('creates DATA_DIR when missing and removes temp files a crash left', async () => {
    const dir = await tempDir();
    const dataDir = path.join(dir, 'nested', 'data');
    const first = await startServer({ DATA_DIR: dataDir, SHUTDOWN_DRAIN_MS: '0' });
    await visit(first.url);
    first.child.kill('SIGKILL');
    await first.exited;
    await writeFile(path.join(dataDir, 'visits.json.4242.7.tmp'), '{"counter": 99');
    const second = await startServer({ DATA_DIR: dataDir, SHUTDOWN_DRAIN_MS: '0' });
    // The lock file and its holder note stay: the lock is a file the kernel locks, never removed (src/service/data-dir-lock.ts).
    assert.deepEqual((await readdir(dataDir)).sort(), ['.rollcall.lock', '.rollcall.lock.holder', 'visits.json']);
    assert.equal((await visit(second.url)).body.visit, 2, 'the temp file was never read');
    second.child.kill('SIGTERM');
    await second.exited;
  });

  test('a bad environment stops startup with exit 2, naming every bad variable', async () => {
    const dir = await tempDir();
    const { exited, logs } = spawnServer({ DATA_DIR: dir, PORT: 'eighty', TIME_ZONE: 'Nowhere/Land' });
    assert.equal(await exited, 2);
    const text = JSON.stringify(logs);
    assert.match(text, /PORT/);
    assert.match(text, /TIME_ZONE/);
    assert.match(text, /IANA time zone/);
    assert.deepEqual(await readdir(dir), [], 'nothing was created');
  });

  test('a corrupt visits.json stops startup with one log line and stays byte-for-byte unchanged', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'visits.json');
    await writeFile(file, '{"counter": 66');
    const { exited, logs } = spawnServer({ DATA_DIR: dir });
    assert.equal(await exited, 1);
    const fatal = logs.filter((line) => line.level >= 50);
    assert.equal(fatal.length, 1);
    assert.equal(fatal[0]?.file, file);
    assert.match(String(fatal[0]?.msg), /not valid JSON/);
    assert.equal(await readFile(file, 'utf8'), '{"counter": 66');
  });

  test('SIGTERM under load: readyz fails at once, in-flight visits finish, the count is kept, exit 0', async () => {
    const dir = await tempDir();
    // A drain long enough that a stalled machine still asks /readyz before the listener closes.
    const server = await startServer({ DATA_DIR: dir, SHUTDOWN_DRAIN_MS: '2000', SHUTDOWN_TIMEOUT_MS: '5000' });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    let stop = false;
    const acknowledged: number[] = [];
    const failures: string[] = [];
    const client = async () => {
      while (!stop) {
        try {
          const response = await fetchWithAgent(`${server.url}/`, agent);
          if (response.status === 200) acknowledged.push((JSON.parse(response.body) as { visit: number }).visit);
          else failures.push(`status ${response.status}`);
        } catch (error) {
          // After the drain the listener closes: new connections are refused, which is expected.
          if (!['ECONNREFUSED', 'ECONNRESET'].includes((error as NodeJS.ErrnoException).code ?? '')) failures.push(String(error));
          return;
        }
      }
    };
    const clients = Array.from({ length: 16 }, client);
    // Under load, not after a fixed time: a busy machine may serve few visits in the first few hundred ms.
    for (let waited = 0; acknowledged.length < 50 && waited < 20_000; waited += 20) await sleep(20);
    server.child.kill('SIGTERM');
    await sleep(50);
    const ready = await fetchWithAgent(`${server.url}/readyz`, new http.Agent());
    assert.equal(ready.status, 503, 'readiness fails as soon as the signal arrives');
    const exitCode = await server.exited;
    stop = true;
    await Promise.all(clients);
    agent.destroy();
    assert.equal(exitCode, 0);
    assert.deepEqual(failures, []);
    assert.ok(acknowledged.length >= 50, `clients were acknowledged (${acknowledged.length})`);
    const counter = (JSON.parse(await readFile(path.join(dir, 'visits.json'), 'utf8')) as { counter: number }).counter;
    assert.equal(counter, acknowledged.length, 'every acknowledged visit is in the file, no more');
    assert.equal(Math.max(...acknowledged), counter);
  });

  test('a second signal exits at once with a non-zero code', async () => {
    const dir = await tempDir();
    const server = await startServer({ DATA_DIR: dir, SHUTDOWN_DRAIN_MS: '10000' });
    server.child.kill('SIGTERM');
    await sleep(100);
    server.child.kill('SIGINT');
    const started = performance.now();
    assert.equal(await server.exited, 130);
    assert.ok(performance.now() - started < 2000);
  });
});

/** A GET over a given agent, reading the whole body (fetch has no per-request keep-alive agent control). */
function fetchWithAgent(url: string, agent: http.Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent, headers: { accept: 'application/json' } }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}
