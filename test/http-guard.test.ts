// The Node-level guards on a real socket: body limit (declared and chunked) and Connection: close while draining.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { BODY_LIMIT_BYTES, guardRequests } from '../src/http-guard.ts';

let draining = false;
let handled = 0;
const server = http.createServer(
  guardRequests(
    (_req, res) => {
      handled++;
      res.end('ok');
    },
    { isDraining: () => draining },
  ),
);
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const port = (server.address() as AddressInfo).port;
after(() => server.close());

function request(options: { method?: string; headers?: Record<string, string>; body?: Buffer; chunked?: boolean }) {
  return new Promise<{ status: number; connection: string | undefined; body: string }>((resolve, reject) => {
    const req = http.request({ port, host: '127.0.0.1', path: '/', method: options.method ?? 'POST', headers: options.headers ?? {}, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body }));
    });
    req.on('error', reject);
    if (options.body && options.chunked) {
      // Two writes without a length: Node sends Transfer-Encoding: chunked.
      req.write(options.body.subarray(0, options.body.length / 2));
      req.end(options.body.subarray(options.body.length / 2));
    } else req.end(options.body);
  });
}

describe('guardRequests', () => {
  test('a declared body over the limit gets 413 and never reaches the app', async () => {
    const before = handled;
    const response = await request({ body: Buffer.alloc(BODY_LIMIT_BYTES + 1, 'a') });
    assert.equal(response.status, 413);
    assert.match(response.body, /over 1024 bytes/);
    assert.equal(handled, before);
  });

  test('a chunked body over the limit gets 413 too', async () => {
    const before = handled;
    const response = await request({ body: Buffer.alloc(8 * 1024, 'a'), chunked: true });
    assert.equal(response.status, 413);
    assert.equal(handled, before);
  });

  test('small bodies, chunked or not, and no body at all reach the app', async () => {
    const before = handled;
    assert.equal((await request({ body: Buffer.from('{}') })).status, 200);
    assert.equal((await request({ body: Buffer.alloc(100, 'a'), chunked: true })).status, 200);
    assert.equal((await request({ method: 'GET' })).status, 200);
    assert.equal(handled, before + 3);
  });

  test('while draining every response asks the client to close the connection', async () => {
    draining = true;
    try {
      const response = await request({ method: 'GET', headers: { connection: 'keep-alive' } });
      assert.equal(response.status, 200);
      assert.equal(response.connection, 'close');
    } finally {
      draining = false;
    }
  });
});
