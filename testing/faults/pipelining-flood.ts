// Pipelining clients that never read: 12 connections each write pipelined `GET /visits` as fast as the socket takes
// them and never read an answer, for 8 s, against the server started with the production node flags. The server's
// RSS must stay under 200 MiB (the pod's limit is 256 MiB; no cgroup v2 memory controller is assumed here, so the
// bound is checked on RSS, sampled every 250 ms), /healthz must answer within 1 s throughout, and visits.json must
// stay valid. A second round has the flooding clients reconnect as soon as they are cut off: its figures are
// reported, not checked against the bounds. Every new connection brings one more 64 KiB chunk that Node parses in
// full (up to ~1900 requests) before the guard can close it, so what that costs is bounded by the connection rate,
// which only something in front of the pod (a rate limit per client) can bound.
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { readState, request, rssKiB, startServer, STATE_FILE, visit } from './harness.ts';
import type { Context, Scenario } from './scenario.ts';

const CONNECTIONS = 12;
const SECONDS = 8;
const RSS_LIMIT_MIB = 200;
const HEALTHZ_LIMIT_MS = 1_000;
/** The production flags of `npm start` that matter for memory. */
const NODE_ARGS = ['--max-semi-space-size=8'];
const BURST = Buffer.from('GET /visits HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(1_000));

async function flood(ctx: Context, round: string, reconnect: boolean): Promise<string> {
  const check = (condition: boolean, message: string) => (reconnect ? condition || (ctx.log(`(reported only) ${message}`), true) : ctx.check(condition, message));
  const dir = ctx.tempDir(`${ctx.name}-${round}`);
  const server = await startServer({ dataDir: dir, nodeArgs: NODE_ARGS });
  ctx.defer(() => server.kill());
  ctx.figures.runs++;
  await visit(server.url);
  const baseline = Math.round(rssKiB(server.pid) / 1024);
  let stopped = false;
  let connections = 0;
  let cut = 0;
  const sockets = new Set<net.Socket>();
  const open = () => {
    if (stopped) return;
    connections++;
    const socket = net.connect(server.port, '127.0.0.1');
    sockets.add(socket);
    socket.pause(); // never read
    socket.on('error', () => {});
    const pump = () => {
      while (!socket.destroyed && socket.write(BURST)) {
        // keep writing until the kernel buffer is full
      }
    };
    socket.on('connect', pump);
    socket.on('drain', pump);
    socket.on('close', () => {
      sockets.delete(socket);
      if (!stopped) cut++;
      if (reconnect) setTimeout(open, 10);
    });
  };
  for (let i = 0; i < CONNECTIONS; i++) open();
  let maxRss = baseline;
  let slowestHealthz = 0;
  let healthFailures = 0;
  const started = performance.now();
  const sampler = (async () => {
    while (!stopped) {
      if (server.alive) maxRss = Math.max(maxRss, Math.round(rssKiB(server.pid) / 1024));
      await sleep(250);
    }
  })();
  while (performance.now() - started < SECONDS * 1000 && server.alive) {
    const t = performance.now();
    const health = await request(`${server.url}/healthz`, { timeoutMs: 3_000 }).catch(() => ({ status: 0 }));
    const ms = Math.round(performance.now() - t);
    slowestHealthz = Math.max(slowestHealthz, ms);
    if (health.status !== 200 || ms > HEALTHZ_LIMIT_MS) healthFailures++;
    await sleep(500);
  }
  stopped = true;
  await sampler;
  for (const socket of sockets) socket.destroy();
  ctx.check(server.alive, `${round}: the server died during the flood (${JSON.stringify(server.exit)})`);
  check(maxRss < RSS_LIMIT_MIB, `${round}: RSS reached ${maxRss} MiB (limit ${RSS_LIMIT_MIB})`);
  check(healthFailures === 0, `${round}: /healthz failed or took over ${HEALTHZ_LIMIT_MS} ms ${healthFailures} time(s), slowest ${slowestHealthz} ms`);
  const after = await visit(server.url);
  ctx.check(after.status === 200, `${round}: GET / after the flood: ${after.status}`);
  await server.stop();
  const state = readState(path.join(dir, STATE_FILE));
  if (!ctx.check('counter' in state && state.counter === 2, `${round}: visits.json ${JSON.stringify(state)} (want counter 2)`)) ctx.figures.corrupt++;
  ctx.figures.acknowledged += 2;
  return `${round}${reconnect ? ' (reported, not checked)' : ''}: RSS ${baseline} → max ${maxRss} MiB, /healthz slowest ${slowestHealthz} ms, ${connections} connections (${cut} closed by the server)`;
}

export const pipeliningFlood: Scenario = {
  name: 'pipelining-flood',
  proves: `${CONNECTIONS} pipelining clients that never read, ${SECONDS} s: RSS < ${RSS_LIMIT_MIB} MiB, /healthz < ${HEALTHZ_LIMIT_MS} ms, visits.json valid`,
  needs: {},
  async run(ctx) {
    const first = await flood(ctx, 'issue flood', false);
    const second = await flood(ctx, 'reconnecting flood', true);
    ctx.note(`${first}\n    ${second}`);
  },
};
