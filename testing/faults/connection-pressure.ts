// Clients that hold connections instead of finishing requests, against the real server:
// - slow-bodies: 2,100 chunked `GET /` whose bodies trickle in (56 bytes every 2 s). Before, each counted as a
//   request in progress from its headers on, and past 2,048 every route answered 503, the probes included, until
//   Node's request timeout dropped them (36 s of 503 in the attacker's report). Now none of them counts: the probes,
//   /visits and visits keep answering 200 throughout, and the 408s Node gives them at its request timeout are logged
//   at a bounded rate.
// - connection-flood: 14,000 connections that each send 15 KiB of headers and never finish, with the server in a
//   memory cgroup of 256 MiB (the StatefulSet's limit), which it reads to derive its connection limit. Before, each
//   cost ~25 KiB and nothing capped them: the kernel OOM-killed the server. Now it keeps at most its limit open,
//   closes the oldest idle ones to make room (counted in http_connections_closed_at_limit_total), stays under the
//   limit, and /healthz on a new connection keeps answering.
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { serviceNodeFlags } from '../../scripts/lib/service-command.ts';
import { connectionLimitFor } from '../../src/service/connection-limit.ts';
import { BURST } from '../../src/service/rate-limited-log.ts';
import { request, rssKiB, startServer, visit, type ServerProcess } from './harness.ts';
import { MemoryCgroup } from './memory-cgroup.ts';
import type { Scenario } from './scenario.ts';

const MIB = 1024 * 1024;

interface ProbeLog {
  statuses: Record<string, number>;
  slowest: number;
  samples: number;
}

/** Asks each path on a fresh connection every `everyMs` until `stop` says so; counts answers by status. */
async function probeWhile(server: ServerProcess, paths: string[], everyMs: number, stop: () => boolean): Promise<ProbeLog> {
  const log: ProbeLog = { statuses: {}, slowest: 0, samples: 0 };
  while (!stop()) {
    for (const p of paths) {
      const started = performance.now();
      let key: string;
      if (p === '/') {
        const v = await visit(server.url).catch((e: Error) => ({ status: 0, code: e.message }));
        key = `${p} ${v.status}`;
      } else {
        const r = await request(`${server.url}${p}`, { timeoutMs: 3_000 }).catch(() => ({ status: 0 }));
        key = `${p} ${r.status}`;
      }
      log.statuses[key] = (log.statuses[key] ?? 0) + 1;
      log.slowest = Math.max(log.slowest, Math.round(performance.now() - started));
      log.samples++;
    }
    await sleep(everyMs);
  }
  return log;
}

const failures = (log: ProbeLog) => Object.entries(log.statuses).filter(([key]) => !key.endsWith(' 200'));
const metric = (text: string, pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? NaN);

/** Opens `count` connections as fast as the loop allows, each writing `first` once connected. */
async function openMany(port: number, count: number, first: string, sockets: net.Socket[]): Promise<void> {
  for (let i = 0; i < count; i++) {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(first));
    socket.on('error', () => {});
    sockets.push(socket);
    if (i % 250 === 249) await sleep(10);
  }
}

export const slowBodies: Scenario = {
  name: 'slow-bodies',
  proves: '2,100 chunked requests whose bodies trickle in for 12 s: /healthz, /readyz, /visits and visits keep answering 200 (a body still arriving is not work in progress); their 408s logged at a bounded rate',
  needs: {},
  async run(ctx) {
    const dir = ctx.tempDir();
    const server = await startServer({ dataDir: dir, nodeArgs: serviceNodeFlags() });
    ctx.defer(() => server.kill());
    ctx.figures.runs++;
    const sockets: net.Socket[] = [];
    ctx.defer(() => sockets.forEach((s) => s.destroy()));
    const logsBefore = server.rawStdout.length;
    await openMany(server.port, 2_100, 'GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n', sockets);
    const trickle = setInterval(() => {
      for (const s of sockets) if (!s.destroyed) s.write(`32\r\n${'z'.repeat(50)}\r\n`);
    }, 2_000);
    ctx.defer(() => clearInterval(trickle));
    const started = performance.now();
    let open = 0;
    const counting = setInterval(() => (open = Math.max(open, sockets.filter((s) => !s.destroyed && s.readyState === 'open').length)), 500);
    const log = await probeWhile(server, ['/healthz', '/readyz', '/visits', '/'], 250, () => performance.now() - started > 12_000);
    clearInterval(counting);
    clearInterval(trickle);
    const metrics = (await request(`${server.url}/metrics`)).body;
    const timeouts = metric(metrics, /http_requests_total\{route="timeout",method="unknown",status="408"\} (\d+)/);
    const overloaded = metric(metrics, /http_requests_total\{route="overloaded",[^}]*\} (\d+)/);
    const warnLines = server.rawStdout.slice(logsBefore).filter((line) => line.includes('"level":40'));
    ctx.check(server.alive, 'the server died');
    ctx.check(failures(log).length === 0, `answers other than 200 while bodies trickled: ${JSON.stringify(failures(log))}`);
    ctx.check(open >= 2_000, `only ${open} trickling connections were open at once (want ≥ 2000, or the attack did not happen)`);
    ctx.check(Number.isNaN(overloaded), `${overloaded} requests refused as overloaded`);
    ctx.check(timeouts >= 2_000, `${timeouts} × 408 counted under route="timeout" (want the trickling requests, ≥ 2000)`);
    // The burst, then about one a second, plus a summary line per 10 s.
    const allowed = BURST + 15 + 3;
    ctx.check(warnLines.length <= allowed, `${warnLines.length} warn lines for ${timeouts} timeouts (want ≤ ${allowed})`);
    ctx.note(
      `2,100 trickling chunked GET / (max ${open} open at once) for 12 s: ${log.samples} probe answers ${JSON.stringify(log.statuses)}, slowest ${log.slowest} ms; ` +
        `${timeouts} × 408 at Node's request timeout, counted; ${warnLines.length} warn lines; 0 × 503`,
    );
  },
};

export const connectionFlood: Scenario = {
  name: 'connection-flood',
  proves: '14,000 connections with unfinished 15 KiB headers against a server in a 256 MiB memory cgroup: no OOM kill, connections capped at the limit derived from the cgroup, refusals counted, /healthz answering',
  needs: { root: true, memoryCgroup: true },
  async run(ctx) {
    const limit = 256 * MIB;
    const cgroup = MemoryCgroup.create(`rollcall-faults-flood-${process.pid}`, limit);
    ctx.defer(() => cgroup.remove());
    const dir = ctx.tempDir();
    const server = await startServer({ dataDir: dir, prefix: cgroup.prefix, nodeArgs: serviceNodeFlags() });
    ctx.defer(() => server.kill());
    ctx.figures.runs++;
    const listening = server.logs.find((l) => l.msg === 'listening') as { maxConnections?: number; memoryLimit?: { bytes: number; source: string } } | undefined;
    const expected = connectionLimitFor(limit);
    ctx.check(listening?.maxConnections === expected && listening.memoryLimit?.source === 'cgroup', `listening line: maxConnections ${listening?.maxConnections}, memory limit ${JSON.stringify(listening?.memoryLimit)} (want ${expected} from the cgroup)`);
    const pid = server.nodePid();
    const baseRss = rssKiB(pid);
    const sockets: net.Socket[] = [];
    ctx.defer(() => sockets.forEach((s) => s.destroy()));
    let maxRss = 0;
    const sampling = setInterval(() => (maxRss = Math.max(maxRss, rssKiB(pid))), 100);
    ctx.defer(() => clearInterval(sampling));
    const started = performance.now();
    const probing = probeWhile(server, ['/healthz'], 250, () => performance.now() - started > 10_000 || !server.alive);
    await openMany(server.port, 14_000, `GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(15 * 1024)}`, sockets);
    const openedMs = Math.round(performance.now() - started);
    const log = await probing;
    clearInterval(sampling);
    const alive = server.alive;
    const oom = cgroup.oomKills();
    const metrics = alive ? (await request(`${server.url}/metrics`)).body : '';
    const evicted = metric(metrics, /http_connections_closed_at_limit_total\{which="oldest-idle"\} (\d+)/);
    const refusedNew = metric(metrics, /http_connections_closed_at_limit_total\{which="new"\} (\d+)/);
    ctx.check(alive && server.exit === undefined, `the server died: ${JSON.stringify(server.exit)}`);
    ctx.check(oom === 0, `${oom} OOM kill(s) in the cgroup`);
    ctx.check(evicted + refusedNew > 0, `no connection counted as closed at the limit (oldest-idle ${evicted}, new ${refusedNew})`);
    ctx.check(failures(log).length === 0, `/healthz answers other than 200 during the flood: ${JSON.stringify(failures(log))}`);
    ctx.note(
      `14,000 connections with unfinished 15 KiB headers opened in ${openedMs} ms against a 256 MiB cgroup (limit ${listening?.maxConnections} connections from the cgroup): ` +
        `${alive ? 'alive' : 'DIED'}, ${oom} OOM kills, RSS ${Math.round(baseRss / 1024)} → max ${Math.round(maxRss / 1024)} MiB (cgroup peak ${Math.round(cgroup.peakBytes() / MIB)} MiB); ` +
        `closed at the limit: ${evicted} oldest idle, ${refusedNew} new; /healthz ${JSON.stringify(log.statuses)}, slowest ${log.slowest} ms`,
    );
    await server.kill();
  },
};

