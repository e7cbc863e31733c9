// The probes of the hardening issue, against any server entry, printed as a markdown column for
// docs/guarantees.md ("probe → before → after"):
//   node testing/faults/hardening-probes.ts [path/to/src/server.ts]
// Each probe starts its own server on a fresh directory; figures are what that run saw.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { rawExchange, statuses } from '../support/raw-http.ts';
import { request, rssKiB, SERVER, ServerProcess, startServer } from './harness.ts';
import { serviceNodeFlags } from '../../scripts/lib/service-command.ts';

const entry = path.resolve(process.argv[2] ?? SERVER);
const dirs: string[] = [];
const fresh = () => {
  // Not the suite's rollcall-faults- prefix: a suite running at the same time checks for leftovers of its own.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rollcall-probe-'));
  dirs.push(dir);
  return dir;
};
const start = (dataDir: string, env: Record<string, string> = {}, nodeArgs: string[] = []) => startServer({ dataDir, env, server: entry, nodeArgs });
const first = (response: string) => response.split('\r\n')[0] || 'no answer';

async function exitOf(env: Record<string, string>, dataDir: string): Promise<string> {
  const server = new ServerProcess({ dataDir, env, server: entry });
  const exit = await Promise.race([server.exited, sleep(30_000).then(() => undefined)]);
  if (!exit) {
    const port = server.port;
    await server.kill();
    return `still running after 30 s${port ? ` (listening on ${port})` : ''}`;
  }
  return `exit ${exit.code}`;
}

const probes: [string, () => Promise<string>][] = [
  ['1. `OPTIONS * HTTP/1.1`', async () => {
    const server = await start(fresh());
    const r = await rawExchange(server.port, 'OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n', 3_000);
    await server.kill();
    return r.response ? `${first(r.response)} in ${r.ms} ms` : 'no answer in 3 s, socket open';
  }],
  ['1. `Host: a b`, then SIGTERM with that socket open', async () => {
    const server = await start(fresh(), { SHUTDOWN_DRAIN_MS: '0', SHUTDOWN_TIMEOUT_MS: '5000' });
    const pending = rawExchange(server.port, 'GET / HTTP/1.1\r\nHost: a b\r\n\r\n', 10_000);
    await sleep(200);
    const t = performance.now();
    server.signal('SIGTERM');
    const exit = await server.exited;
    const r = await pending;
    return `${r.response ? first(r.response) : 'no answer'}; exit ${exit.code} after ${Math.round(exit.at - t)} ms`;
  }],
  ['2. second server on a live DATA_DIR', async () => {
    const dir = fresh();
    const a = await start(dir, { POD_NAME: 'a' });
    const result = await exitOf({ POD_NAME: 'b' }, dir);
    await a.kill();
    return `second: ${result}`;
  }],
  ['2. startup with `visits.json.backup.tmp` present', async () => {
    const dir = fresh();
    fs.writeFileSync(path.join(dir, 'visits.json.backup.tmp'), 'operator');
    const server = await start(dir);
    await server.kill();
    return fs.existsSync(path.join(dir, 'visits.json.backup.tmp')) ? 'kept' : 'deleted';
  }],
  ['3. 12 pipelining clients that never read, 6 s (RSS max, /healthz slowest)', async () => {
    const server = await start(fresh(), {}, serviceNodeFlags());
    const burst = Buffer.from('GET /visits HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(1000));
    const sockets = Array.from({ length: 12 }, () => {
      const s = net.connect(server.port, '127.0.0.1');
      s.pause();
      s.on('error', () => {});
      const pump = () => { while (!s.destroyed && s.write(burst)) { /* fill */ } };
      s.on('connect', pump);
      s.on('drain', pump);
      return s;
    });
    let maxRss = 0;
    let slowest = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < 6_000 && server.alive) {
      maxRss = Math.max(maxRss, Math.round(rssKiB(server.pid) / 1024));
      const t = performance.now();
      const h = await request(`${server.url}/healthz`, { timeoutMs: 2_000 }).catch(() => ({ status: 0 }));
      slowest = Math.max(slowest, h.status === 200 ? Math.round(performance.now() - t) : 2_000);
      await sleep(300);
    }
    for (const s of sockets) s.destroy();
    const alive = server.alive;
    await server.kill();
    return `RSS max ${maxRss} MiB, /healthz slowest ${slowest >= 2_000 ? '≥ 2000 (timeout)' : slowest} ms${alive ? '' : ', server died'}`;
  }],
  ['4. oversized POST + 100 pipelined `GET /`', async () => {
    const server = await start(fresh());
    const before = (await request(`${server.url}/visits`)).body;
    await rawExchange(server.port, `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n${'a'.repeat(2000)}` + 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(100), 3_000);
    const after = (await request(`${server.url}/visits`)).body;
    await server.kill();
    return `visits ${JSON.parse(before).counter} → ${JSON.parse(after).counter}`;
  }],
  ['5. SIGUSR1', async () => {
    const server = await start(fresh());
    server.signal('SIGUSR1');
    await sleep(500);
    const opened = /Debugger listening/.test(server.stderr);
    await server.kill();
    return opened ? 'inspector opened on 127.0.0.1:9229' : 'logged, ignored; no inspector';
  }],
  ['6. SIGHUP', async () => {
    const server = await start(fresh());
    server.signal('SIGHUP');
    await sleep(500);
    const alive = server.alive;
    const logged = server.logs.some((l) => /SIGHUP/.test(String(l.msg)));
    await server.kill();
    return alive ? `still serving${logged ? ', logged' : ''}` : `killed at once (signal ${server.exit?.signal}), no log line`;
  }],
  ['7. `DATA_DIR=/proc`', async () => {
    const server = new ServerProcess({ dataDir: '/proc', server: entry });
    const exit = await Promise.race([server.exited, server.listening().then(() => undefined, () => undefined)]);
    if (exit) return `exit ${exit.code}`;
    const ready = await request(`${server.url}/readyz`);
    await server.kill();
    return `listening, /readyz ${ready.status}`;
  }],
  ['9. `PORT=0x1f90`', async () => exitOf({ PORT: '0x1f90' }, fresh())],
  ['9. `HOST=garbage` (DATA_DIR created?)', async () => {
    const dir = path.join(fresh(), 'data');
    const result = await exitOf({ HOST: 'garbage' }, dir);
    return `${result}; DATA_DIR ${fs.existsSync(dir) ? 'created' : 'not created'}`;
  }],
  ['10. `{"counter": 5, "counter": 6}`', async () => {
    const dir = fresh();
    fs.writeFileSync(path.join(dir, 'visits.json'), '{"counter": 5, "counter": 6}');
    return exitOf({}, dir);
  }],
  ['11. counter at 2^53−1: a visit, then /readyz', async () => {
    const dir = fresh();
    fs.writeFileSync(path.join(dir, 'visits.json'), `{"counter": ${Number.MAX_SAFE_INTEGER}}`);
    const server = await start(dir);
    const v = await request(`${server.url}/`, { headers: { Accept: 'application/json' } });
    const ready = await request(`${server.url}/readyz`);
    const metrics = (await request(`${server.url}/metrics`)).body;
    await server.kill();
    const failures = /store_write_failures_total\{code="EOVERFLOW"\} (\d+)/.exec(metrics)?.[1] ?? '0';
    return `visit ${v.status}; /readyz ${ready.status} ${ready.body}; EOVERFLOW failures counted: ${failures}`;
  }],
  ['12. `Accept: application/json;q=0`', async () => {
    const server = await start(fresh());
    const r = await request(`${server.url}/`, { headers: { Accept: 'application/json;q=0' } });
    await server.kill();
    return String(r.headers['content-type']);
  }],
  ['13. 413 answer: CSP header? / `X-Frame-Options` on GET /healthz', async () => {
    const server = await start(fresh());
    const r = await rawExchange(server.port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n', 3_000);
    const h = await request(`${server.url}/healthz`);
    await server.kill();
    return `${statuses(r.response).join()} ${/content-security-policy/i.test(r.response) ? 'with CSP' : 'no CSP'} / ${h.headers['x-frame-options'] ?? 'absent'}`;
  }],
];

const only = process.env.PROBES;
for (const [name, probe] of probes) {
  if (only && !name.startsWith(only)) continue;
  let result: string;
  try {
    result = await probe();
  } catch (error) {
    result = `error: ${(error as Error).message.slice(0, 120)}`;
  }
  console.log(`| ${name} | ${result} |`);
}
for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
process.exit(0);
