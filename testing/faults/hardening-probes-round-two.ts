// The probes of the second hardening round, against any server entry, printed as a markdown column for
// docs/guarantees.md ("probe → before → after"):
//   node testing/faults/hardening-probes-round-two.ts [path/to/src/server.ts]     (as root: cgroup, chown, setpriv)
// Each probe starts its own server on a fresh directory, at a smaller scale than the fault-suite scenarios of the
// same names (slow-bodies, connection-flood, data-dir-replaced, data-dir-files, unroutable-requests), so that a run
// against an old tree finishes too.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { serviceNodeFlags } from '../../scripts/lib/service-command.ts';
import { rawExchange, statuses } from '../support/raw-http.ts';
import { request, SERVER, ServerProcess, startServer, visit } from './harness.ts';
import { MemoryCgroup } from './memory-cgroup.ts';

const entry = path.resolve(process.argv[2] ?? SERVER);
const dirs: string[] = [];
const fresh = () => {
  // Not the suite's rollcall-faults- prefix: a suite running at the same time checks for leftovers of its own.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rollcall-probe-'));
  dirs.push(dir);
  return dir;
};
const start = (dataDir: string, extra: { prefix?: string[]; env?: Record<string, string> } = {}) =>
  startServer({ dataDir, server: entry, nodeArgs: serviceNodeFlags(), ...extra });
const tally = (values: (string | number)[]) => {
  const counts: Record<string, number> = {};
  for (const v of values) counts[String(v)] = (counts[String(v)] ?? 0) + 1;
  return Object.entries(counts).map(([k, n]) => `${n} × ${k}`).join(', ');
};

async function exitOf(dataDir: string): Promise<{ code: number | null; line: string }> {
  const server = new ServerProcess({ dataDir, server: entry });
  const exit = await Promise.race([server.exited, sleep(20_000).then(() => undefined)]);
  if (!exit) {
    await server.kill();
    return { code: null, line: 'still running after 20 s' };
  }
  return { code: exit.code, line: String(server.logs[0]?.msg ?? '').slice(0, 140) };
}

const probes: [string, () => Promise<string>][] = [
  ['1. 2,100 chunked `GET /` trickling 56 B / 2 s, 8 s: `/healthz` and `/visits`', async () => {
    const server = await start(fresh());
    const sockets: net.Socket[] = [];
    for (let i = 0; i < 2_100; i++) {
      const s = net.connect(server.port, '127.0.0.1', () => s.write('GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n'));
      s.on('error', () => {});
      sockets.push(s);
      if (i % 250 === 249) await sleep(10);
    }
    const trickle = setInterval(() => sockets.forEach((s) => !s.destroyed && s.write(`32\r\n${'z'.repeat(50)}\r\n`)), 2_000);
    const seen: number[] = [];
    const t0 = performance.now();
    while (performance.now() - t0 < 8_000) {
      for (const p of ['/healthz', '/visits']) seen.push((await request(`${server.url}${p}`, { timeoutMs: 3_000 }).catch(() => ({ status: 0 }))).status);
      await sleep(250);
    }
    clearInterval(trickle);
    sockets.forEach((s) => s.destroy());
    await server.kill();
    return tally(seen);
  }],
  ['2. 14,000 connections with unfinished 15 KiB headers, server in a 256 MiB memory cgroup', async () => {
    const cgroup = MemoryCgroup.create(`rollcall-probe-${process.pid}`, 256 * 1024 * 1024);
    try {
      const server = await start(fresh(), { prefix: cgroup.prefix });
      const sockets: net.Socket[] = [];
      for (let i = 0; i < 14_000 && server.alive; i++) {
        const s = net.connect(server.port, '127.0.0.1', () => s.write(`GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(15 * 1024)}`));
        s.on('error', () => {});
        sockets.push(s);
        if (i % 250 === 249) await sleep(10);
      }
      await sleep(2_000);
      const alive = server.alive;
      const healthz = alive ? (await request(`${server.url}/healthz`, { timeoutMs: 3_000 }).catch(() => ({ status: 0 }))).status : 0;
      const metrics = alive ? (await request(`${server.url}/metrics`).catch(() => ({ body: '' }))).body : '';
      const closed = /http_connections_closed_at_limit_total\{which="oldest-idle"\} (\d+)/.exec(metrics)?.[1];
      sockets.forEach((s) => s.destroy());
      const oom = cgroup.oomKills();
      await server.kill();
      return alive
        ? `alive, ${oom} OOM kills, /healthz ${healthz}, ${closed === undefined ? 'no connection metric' : `${closed} oldest idle connections closed at the limit (counted)`}`
        : `killed (${server.exit?.signal ?? server.exit?.code}), ${oom} OOM kill(s)`;
    } finally {
      cgroup.remove();
    }
  }],
  ['3. `DATA_DIR` a symlink, repointed to an empty directory; a second server started there; 5 visits on each', async () => {
    const base = fresh();
    const a = path.join(base, 'a');
    const b = path.join(base, 'b');
    fs.mkdirSync(a);
    fs.mkdirSync(b);
    const link = path.join(base, 'data');
    fs.symlinkSync(a, link);
    const first = await start(link);
    for (let i = 0; i < 1000; i++) await visit(first.url);
    fs.symlinkSync(b, `${link}.new`);
    fs.renameSync(`${link}.new`, link);
    const second = await start(link).catch(() => undefined);
    const answers: string[] = [];
    for (let i = 0; i < 5; i++) {
      const f = await visit(first.url);
      answers.push(`first ${f.visit ?? f.status}`);
      if (second) answers.push(`second ${(await visit(second.url)).visit ?? 'refused'}`);
    }
    const onDisk = fs.existsSync(path.join(b, 'visits.json')) ? fs.readFileSync(path.join(b, 'visits.json'), 'utf8') : 'none';
    await first.kill();
    await second?.kill();
    return `${answers.join(', ')}; new directory's file ${onDisk}`;
  }],
  ['4. `.rollcall.lock.holder` a symlink to a root-only file', async () => {
    const dir = fresh();
    const secret = path.join(fresh(), 'root-only');
    fs.writeFileSync(secret, 'secret\n', { mode: 0o600 });
    fs.symlinkSync(secret, path.join(dir, '.rollcall.lock.holder'));
    const result = await exitOf(dir);
    return `exit ${result.code}; target ${fs.readFileSync(secret, 'utf8') === 'secret\n' ? 'unchanged' : `overwritten: ${JSON.stringify(fs.readFileSync(secret, 'utf8').slice(0, 60))}`}`;
  }],
  ['4. predictable temp names claimed by uid 65534 in a sticky `DATA_DIR`, 20 visits', async () => {
    const dir = fresh();
    fs.chmodSync(dir, 0o1777);
    const server = await start(dir);
    const pid = server.nodePid();
    const { run } = await import('./harness.ts');
    await run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'sh', '-c', `cd '${dir}' && i=1; while [ $i -le 500 ]; do : > visits.json.${pid}.$i.tmp; i=$((i + 1)); done`]);
    const answers: string[] = [];
    for (let i = 0; i < 20; i++) {
      const v = await visit(server.url);
      answers.push(v.visit !== undefined ? '200' : `${v.status} ${v.code ?? ''}`.trim());
    }
    await server.kill();
    return tally(answers);
  }],
  ['4. `DATA_DIR=/etc` as root', async () => {
    const before = new Set(fs.readdirSync('/etc'));
    const result = await exitOf('/etc');
    const written = fs.readdirSync('/etc').filter((name) => !before.has(name));
    for (const name of written) if (/^(visits\.json|\.rollcall\.lock)/.test(name)) fs.rmSync(path.join('/etc', name), { force: true });
    return `exit ${result.code}; written into /etc: ${written.join(', ') || 'nothing'}`;
  }],
  ['5. `.rollcall.lock` damaged (not a database)', async () => {
    const dir = fresh();
    fs.writeFileSync(path.join(dir, '.rollcall.lock'), 'x'.repeat(4096));
    fs.writeFileSync(path.join(dir, 'visits.json'), '{"counter": 7}');
    const server = new ServerProcess({ dataDir: dir, server: entry });
    const exit = await Promise.race([server.exited, server.listening(20_000).then(() => undefined, () => undefined)]);
    if (exit) return `exit ${exit.code}: "${String(server.logs[0]?.msg ?? '').slice(0, 160)}"`;
    const v = await visit(server.url);
    await server.kill();
    return `started; next visit ${v.visit}`;
  }],
  ["6. Node's own 400 (HTTP/2 preface): headers, metric; then 2,000 of them: warn lines", async () => {
    const server = await start(fresh());
    const logsBefore = server.rawStdout.length;
    const one = await rawExchange(server.port, 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
    await Promise.all(Array.from({ length: 2_000 }, () => rawExchange(server.port, 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 10_000)));
    await sleep(500);
    const metrics = (await request(`${server.url}/metrics`)).body;
    const counted = /http_requests_total\{route="malformed",method="unknown",status="400"\} (\d+)/.exec(metrics)?.[1] ?? '0';
    const warnLines = server.rawStdout.slice(logsBefore).filter((l) => l.includes('"level":40')).length;
    await server.kill();
    return `${statuses(one.response).join()} ${/content-security-policy/i.test(one.response) ? 'with CSP' : 'no CSP'}, counted ${counted}, ${warnLines} warn lines`;
  }],
];

const only = process.env.PROBES;
for (const [name, probe] of probes) {
  if (only && !name.startsWith(only)) continue;
  let result: string;
  try {
    result = await probe();
  } catch (error) {
    result = `error: ${(error as Error).message.slice(0, 160)}`;
  }
  console.log(`| ${name} | ${result} |`);
}
for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
process.exit(0);
