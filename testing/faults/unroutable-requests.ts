// Requests the HTTP adapter cannot turn into a Request (no or invalid Host, `OPTIONS *`, a backslash in the path, an
// invalid absolute URL), sent on raw sockets to the real server: each must get 400 within a second with the
// connection closed, count no visit, show up in http_requests_total{route="invalid"}, and log one short line, at a
// bounded rate (one client sending such requests produced 3,800 warn lines a second before). The same for the
// answers Node's own parser gives (an HTTP/2 preface, TLS bytes, a NUL, obs-fold, a duplicate Content-Length → 400,
// headers over 16 KiB → 431, an unknown Expect → 417): security headers, counted, logged. Then SIGTERM with such
// sockets and idle keep-alive sockets open must still exit 0, well inside the timeout.
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { rawExchange, statuses } from '../support/raw-http.ts';
import { BURST } from '../../src/service/rate-limited-log.ts';
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
/** Bytes Node's parser refuses before any listener runs: the status it answers and the metric route. */
export const NODE_REFUSED: Record<string, [string, number, string]> = {
  'HTTP/2 preface': ['PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 400, 'malformed'],
  'TLS ClientHello': ['\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03', 400, 'malformed'],
  'NUL in a header': ['GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n', 400, 'malformed'],
  'obs-fold': ['GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n  b\r\n\r\n', 400, 'malformed'],
  'duplicate Content-Length': ['POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab', 400, 'malformed'],
  'headers over 16 KiB': [`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(17 * 1024)}\r\n\r\n`, 431, 'too-large'],
  'Expect: teapot': ['GET / HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\n\r\n', 417, 'expectation'],
};
const TIMEOUT_MS = 5_000;
/** A log line longer than this is a stack, not a line. */
const SHORT_LINE = 400;

export const unroutableRequests: Scenario = {
  name: 'unroutable-requests',
  proves: "bad Host, OPTIONS *, backslash, invalid absolute URL → 400 within 1 s, closed, counted, no visit; Node's own 400/431/417 with security headers, counted; log lines bounded (burst, then 1/s, summary); SIGTERM with such and idle sockets → exit 0",
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
    const lines = server.rawStdout.slice(logsBefore).filter((line) => line.includes('"level":40'));
    const routedLines = lines.filter((line) => line.includes('cannot be routed'));
    // The first BURST requests get a line each; the rest are held back (about one a second gets through) and summed up.
    ctx.check(routedLines.length >= Math.min(sent, BURST) && routedLines.length <= BURST + 5, `${routedLines.length} 'cannot be routed' lines for ${sent} requests (want the burst of ${BURST}, then about 1/s)`);
    const longest = Math.max(0, ...lines.map((line) => line.length));
    ctx.check(longest <= SHORT_LINE, `longest log line ${longest} bytes (want ≤ ${SHORT_LINE}, no stack)`);

    // Node's own answers, then a flood of them: every one counted, the log bounded.
    const nodeCounts: string[] = [];
    for (const [name, [bytes, status, route]] of Object.entries(NODE_REFUSED)) {
      const result = await rawExchange(server.port, bytes, 3_000);
      ctx.check(statuses(result.response).join() === String(status), `${name}: ${result.response.split('\r\n')[0] || 'no answer'} (want ${status})`);
      ctx.check(/content-security-policy:/i.test(result.response), `${name}: no security headers on Node's ${status}`);
      nodeCounts.push(`${route} ${status}`);
    }
    const floodStarted = performance.now();
    const flood = await Promise.all(Array.from({ length: 2_000 }, (_, i) => rawExchange(server.port, i % 2 ? NODE_REFUSED['NUL in a header']![0] : NODE_REFUSED['HTTP/2 preface']![0], 10_000)));
    const floodMs = Math.round(performance.now() - floodStarted);
    ctx.check(flood.every((r) => statuses(r.response).join() === '400'), `${flood.filter((r) => statuses(r.response).join() !== '400').length} of 2000 malformed requests not answered 400`);
    const after2 = (await request(`${server.url}/metrics`)).body;
    const malformed = Number(/http_requests_total\{route="malformed",method="unknown",status="400"\} (\d+)/.exec(after2)?.[1] ?? 0);
    ctx.check(malformed === 2_000 + 5, `http_requests_total{route="malformed"} = ${malformed} (want ${2_000 + 5})`);
    await new Promise((resolve) => setTimeout(resolve, 11_000));
    const allLines = server.rawStdout.slice(logsBefore).filter((line) => line.includes('"level":40'));
    const summaries = allLines.filter((line) => line.includes('held back'));
    const heldBack = summaries.reduce((sum, line) => sum + Number(/"(\d+) similar warn/.exec(line)?.[1] ?? /^.*?"msg":"(\d+)/.exec(line)?.[1] ?? 0), 0);
    ctx.check(allLines.length <= BURST + 40, `${allLines.length} warn lines for ${sent + 2_000 + 7} client errors (want ≤ ${BURST + 40}: the burst, about 1/s, a summary per 10 s)`);
    ctx.check(summaries.length >= 1, 'no summary line saying how many lines were held back');
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
        `Node's own: ${nodeCounts.join(', ')} with security headers; 2000 malformed in ${floodMs} ms → 2000 × 400, counted ${malformed}; ` +
        `${allLines.length} warn lines in all for ${sent + 2_000 + 7} client errors (${summaries.length} summaries, ${heldBack} lines held back), longest ${longest} B; ` +
        `SIGTERM with 5 idle + 1 unroutable socket → exit ${exit.code} in ${exitMs} ms`,
    );
  },
};
