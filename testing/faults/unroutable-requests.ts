// Requests the HTTP adapter cannot turn into a Request (no or invalid Host, `OPTIONS *`, a backslash in the path, an
// invalid absolute URL), sent on raw sockets to the real server: each must get 400 within a second with the
// connection closed, count no visit, show up in http_requests_total{route="invalid"}, and log one short line. Then
// SIGTERM with such sockets and idle keep-alive sockets open must still exit 0, well inside the timeout.
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { rawExchange, statuses } from '../support/raw-http.ts';
import { request, startServer, visitsCounter } from './harness.ts';
import type { Scenario } from './scenario.ts';

export const UNROUTABLE: Record<string, string> = {
  'OPTIONS *': 'OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n',
  'HTTP/1.0 without Host': 'GET / HTTP/1.0\r\n\r\n',
  'empty Host': 'GET / HTTP/1.1\r\nHost:\r\n\r\n',
  'Host: a b': 'GET / HTTP/1.1\r\nHost: a b\r\n\r\n',
  'Host: x@y': 'GET / HTTP/1.1\r\nHost: x@y\r\n\r\n',
  'Host: [::1': 'GET / HTTP/1.1\r\nHost: [::1\r\n\r\n',
  'Host: a:99999': 'GET / HTTP/1.1\r\nHost: a:99999\r\n\r\n',
  'backslash in the path': 'GET /\\evil HTTP/1.1\r\nHost: x\r\n\r\n',
  'invalid absolute URL': 'GET http://[x/ HTTP/1.1\r\nHost: x\r\n\r\n',
};
const TIMEOUT_MS = 5_000;
/** A log line longer than this is a stack, not a line. */
const SHORT_LINE = 400;

export const unroutableRequests: Scenario = {
  name: 'unroutable-requests',
  proves: 'bad Host, OPTIONS *, backslash, invalid absolute URL → 400 within 1 s, closed, counted, one short log line, no visit; SIGTERM with such and idle sockets → exit 0',
  needs: {},
  async run(ctx) {
    const dir = ctx.tempDir();
    const server = await startServer({ dataDir: dir, env: { SHUTDOWN_DRAIN_MS: '0', SHUTDOWN_TIMEOUT_MS: String(TIMEOUT_MS) } });
    ctx.defer(() => server.kill());
    ctx.figures.runs++;
    const before = await visitsCounter(server.url);
    const logsBefore = server.rawStdout.length;
    const slowest: number[] = [];
    for (const [name, bytes] of Object.entries(UNROUTABLE)) {
      const result = await rawExchange(server.port, bytes, 3_000);
      ctx.check(statuses(result.response).join() === '400', `${name}: ${result.response.split('\r\n')[0] || 'no answer'} (want 400)`);
      ctx.check(result.closed && result.ms < 1_000, `${name}: connection ${result.closed ? `closed after ${result.ms} ms` : 'left open'} (want closed within 1 s)`);
      ctx.check(/content-security-policy:/i.test(result.response), `${name}: no security headers on the 400`);
      slowest.push(result.ms);
    }
    // 300 at once, as the issue's probe did under `ulimit -n 256`: all answered, and the service still serves.
    const many = await Promise.all(Array.from({ length: 300 }, () => rawExchange(server.port, UNROUTABLE['OPTIONS *']!, 5_000)));
    const answered = many.filter((r) => statuses(r.response).join() === '400' && r.closed).length;
    ctx.check(answered === 300, `${answered}/300 concurrent unroutable requests answered 400 and closed`);
    ctx.check((await request(`${server.url}/healthz`, { timeoutMs: 1_000 })).status === 200, '/healthz not 200 after 300 unroutable requests');
    const after = await visitsCounter(server.url);
    ctx.check(after === before, `unroutable requests counted visits: ${before} → ${after}`);
    const metrics = (await request(`${server.url}/metrics`)).body;
    const counted = Number(/http_requests_total\{route="invalid",method="[^"]*",status="400"\} (\d+)/.exec(metrics)?.[1] ?? 0);
    const sent = Object.keys(UNROUTABLE).length + 300;
    ctx.check(counted === sent, `http_requests_total{route="invalid"} = ${counted} (want ${sent})`);
    const lines = server.rawStdout.slice(logsBefore).filter((line) => line.includes('cannot be routed'));
    ctx.check(lines.length === sent, `${lines.length} log lines for ${sent} unroutable requests (want one each)`);
    const longest = Math.max(0, ...lines.map((line) => line.length));
    ctx.check(longest <= SHORT_LINE, `longest log line ${longest} bytes (want ≤ ${SHORT_LINE}, no stack)`);

    // SIGTERM while an unroutable request's socket and idle keep-alive sockets are open.
    const idle = await Promise.all(
      Array.from({ length: 5 }, () =>
        new Promise<net.Socket>((resolve) => {
          const socket = net.connect(server.port, '127.0.0.1', () => {
            socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
            socket.once('data', () => resolve(socket));
          });
          socket.on('error', () => {});
        }),
      ),
    );
    const pending = rawExchange(server.port, UNROUTABLE['Host: a b']!, 10_000);
    await sleep(100);
    const sigtermAt = performance.now();
    server.signal('SIGTERM');
    const exit = await server.exited;
    const exitMs = Math.round(exit.at - sigtermAt);
    for (const socket of idle) socket.destroy();
    await pending;
    ctx.check(exit.code === 0, `SIGTERM with idle and unroutable sockets open: exit code ${exit.code} (want 0)`);
    ctx.check(exitMs < TIMEOUT_MS, `SIGTERM took ${exitMs} ms (timeout ${TIMEOUT_MS})`);
    ctx.note(
      `${Object.keys(UNROUTABLE).length} kinds → 400 in ≤ ${Math.max(...slowest)} ms; 300 concurrent → ${answered} × 400; counted ${counted} under route="invalid"; ` +
        `${lines.length} log lines, longest ${longest} B; SIGTERM with 5 idle + 1 unroutable socket → exit ${exit.code} in ${exitMs} ms`,
    );
  },
};
