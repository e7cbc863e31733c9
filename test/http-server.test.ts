// The whole Node stack (limits, guards, Hono adapter) on a real socket: requests the adapter cannot turn into a
// Request are answered 400 at once, counted, logged in one line, never reach the app, and do not hold up close().
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { createHttpServer, openConnections } from '../src/service/http-server.ts';
import { rawExchange, statuses } from '../testing/support/raw-http.ts';

let reached = 0;
const observed: string[] = [];
const warnings: string[] = [];
const server = createHttpServer(
  () => {
    reached++;
    return new Response('ok');
  },
  { isDraining: () => false, observe: (route, _method, status) => observed.push(`${route} ${status}`), warn: (_d, message) => warnings.push(message) },
);
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const port = (server.address() as AddressInfo).port;
after(() => server.close());

const UNROUTABLE: Record<string, string> = {
  'OPTIONS *': 'OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n',
  'HTTP/1.0 without Host': 'GET / HTTP/1.0\r\n\r\n',
  'an empty Host': 'GET / HTTP/1.1\r\nHost:\r\n\r\n',
  'Host "a b"': 'GET / HTTP/1.1\r\nHost: a b\r\n\r\n',
  'Host "x@y"': 'GET / HTTP/1.1\r\nHost: x@y\r\n\r\n',
  'Host "[::1"': 'GET / HTTP/1.1\r\nHost: [::1\r\n\r\n',
  'Host "a:99999"': 'GET / HTTP/1.1\r\nHost: a:99999\r\n\r\n',
  'a backslash in the path': 'GET /\\evil HTTP/1.1\r\nHost: x\r\n\r\n',
  'an invalid absolute URL': 'GET http://[x/ HTTP/1.1\r\nHost: x\r\n\r\n',
};

describe('createHttpServer', () => {
  for (const [name, bytes] of Object.entries(UNROUTABLE)) {
    test(`${name}: 400 with security headers, connection closed, app not reached, counted once`, async () => {
      const before = { reached, observed: observed.length, warnings: warnings.length };
      const result = await rawExchange(port, bytes);
      assert.deepEqual(statuses(result.response), [400], result.response || 'no answer');
      assert.equal(result.closed, true);
      assert.match(result.response, /content-security-policy: /i);
      assert.equal(reached, before.reached);
      assert.deepEqual(observed.slice(before.observed), ['invalid 400']);
      assert.equal(warnings.length, before.warnings + 1);
    });
  }

  test('a valid request still reaches the app', async () => {
    const result = await rawExchange(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.deepEqual(statuses(result.response), [200]);
  });

  test('close() is not held up by a socket that sent an unroutable request', async () => {
    const other = createHttpServer(() => new Response('ok'), { isDraining: () => false });
    other.listen(0, '127.0.0.1');
    await once(other, 'listening');
    const pending = rawExchange((other.address() as AddressInfo).port, 'OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n', 5_000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = performance.now();
    await new Promise<void>((resolve) => {
      other.close(() => resolve());
      other.closeIdleConnections();
    });
    assert.ok(performance.now() - started < 2_000, 'close() waited on the socket');
    assert.deepEqual(statuses((await pending).response), [400]);
  });

  // Node's own answers: before, a bare status line with no security header, counted nowhere, logged nowhere.
  const NODE_ANSWERS: [string, string | ((socket: import('node:net').Socket) => void), number, string][] = [
    ['an HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 400, 'malformed'],
    ['TLS bytes', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03', 400, 'malformed'],
    ['a NUL in a header', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n', 400, 'malformed'],
    ['obs-fold', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n  b\r\n\r\n', 400, 'malformed'],
    ['a duplicate Content-Length', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab', 400, 'malformed'],
    ['headers over 16 KiB', `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(17 * 1024)}\r\n\r\n`, 431, 'too-large'],
    ['an unknown Expect', 'GET / HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\n\r\n', 417, 'expectation'],
  ];
  for (const [name, bytes, status, route] of NODE_ANSWERS) {
    test(`${name}: Node's ${status} carries the security headers, is counted and logged`, async () => {
      const before = { reached, observed: observed.length, warnings: warnings.length };
      const result = await rawExchange(port, bytes);
      assert.deepEqual(statuses(result.response), [status], result.response || 'no answer');
      assert.match(result.response, /content-security-policy: /i);
      assert.match(result.response, /x-content-type-options: nosniff/i);
      assert.match(result.response, /\r\n\r\n\{"error":/);
      assert.equal(reached, before.reached);
      assert.deepEqual(observed.slice(before.observed), [`${route} ${status}`]);
      assert.equal(warnings.length, before.warnings + 1);
    });
  }

  test("a client too slow to send its headers gets Node's 408 with the security headers, counted", async () => {
    const slow = createHttpServer(() => new Response('ok'), { isDraining: () => false, observe: (route, _m, status) => observed.push(`${route} ${status}`) });
    // Node's headersTimeout is read once at construction; shorten it through the request-timeout checker instead.
    slow.headersTimeout = 300;
    slow.requestTimeout = 300;
    slow.listen(0, '127.0.0.1');
    await once(slow, 'listening');
    try {
      const before = observed.length;
      const result = await rawExchange((slow.address() as AddressInfo).port, 'GET / HTTP/1.1\r\nHost: x\r\n', 5_000);
      assert.deepEqual(statuses(result.response), [408], result.response || 'no answer');
      assert.match(result.response, /content-security-policy: /i);
      assert.deepEqual(observed.slice(before), ['timeout 408']);
    } finally {
      slow.close();
    }
  });

  test('at the connection limit the oldest idle connection makes room: a probe on a new connection is answered', async () => {
    const closed: string[] = [];
    const limited = createHttpServer(() => new Response('ok'), { isDraining: () => false, maxConnections: 8, onConnectionLimit: (which) => closed.push(which) });
    limited.listen(0, '127.0.0.1');
    await once(limited, 'listening');
    const limitedPort = (limited.address() as AddressInfo).port;
    const net = await import('node:net');
    const idle: import('node:net').Socket[] = [];
    try {
      // Twenty connections that never finish their headers: only 8 stay open, the oldest closed first.
      for (let i = 0; i < 20; i++) {
        const socket = net.connect(limitedPort, '127.0.0.1', () => socket.write('GET / HTTP/1.1\r\nHost: x\r\n'));
        socket.on('error', () => {});
        idle.push(socket);
        await once(socket, 'connect');
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(openConnections(limited), 8);
      assert.deepEqual(closed, Array(12).fill('oldest-idle'));
      assert.equal(idle.filter((s) => !s.destroyed).length, 8, 'the server did not close the oldest ones');
      assert.ok(idle.slice(0, 12).every((s) => s.destroyed), 'the oldest were not the ones closed');
      const probe = await rawExchange(limitedPort, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      assert.deepEqual(statuses(probe.response), [200]);
    } finally {
      for (const socket of idle) socket.destroy();
      limited.close();
    }
  });

  test('at the connection limit with every connection working, the new one is closed and counted', async () => {
    const closed: string[] = [];
    const held: (() => void)[] = [];
    const limited = createHttpServer(() => new Promise<Response>((resolve) => held.push(() => resolve(new Response('ok')))), {
      isDraining: () => false,
      maxConnections: 3,
      onConnectionLimit: (which) => closed.push(which),
    });
    limited.listen(0, '127.0.0.1');
    await once(limited, 'listening');
    const limitedPort = (limited.address() as AddressInfo).port;
    try {
      const working = Array.from({ length: 3 }, () => rawExchange(limitedPort, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 5_000));
      while (held.length < 3) await new Promise((resolve) => setTimeout(resolve, 20));
      const refused = await rawExchange(limitedPort, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', 2_000);
      assert.equal(refused.closed, true);
      assert.equal(refused.response, '');
      assert.deepEqual(closed, ['new']);
      for (const release of held) release();
      for (const result of await Promise.all(working)) assert.deepEqual(statuses(result.response), [200], 'a working request was cut');
    } finally {
      limited.close();
    }
  });
});
