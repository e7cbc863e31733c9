// The whole Node stack (limits, guards, Hono adapter) on a real socket: requests the adapter cannot turn into a
// Request are answered 400 at once, counted, logged in one line, never reach the app, and do not hold up close().
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { createHttpServer } from '../src/service/http-server.ts';
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
});
