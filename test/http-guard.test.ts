// The Node-level guards on a real socket: body limit (declared and chunked), nothing run behind a refusal, bounded
// pipelining, security headers on the guard's own answers, and Connection: close while draining.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http, { type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { BODY_LIMIT_BYTES, CLOSE_AT, guardRequests } from '../src/service/http-guard.ts';
import { rawExchange, statuses } from '../testing/support/raw-http.ts';

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

describe('guardRequests and pipelining', () => {
  test('nothing pipelined behind a refused request runs', async () => {
    const before = handled;
    const oversized = `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${BODY_LIMIT_BYTES + 1}\r\n\r\n${'a'.repeat(BODY_LIMIT_BYTES + 1)}`;
    const result = await rawExchange(port, oversized + 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(100));
    assert.deepEqual(statuses(result.response), [413]);
    assert.equal(result.closed, true);
    assert.equal(handled, before, 'requests behind the 413 reached the app');
  });

  test('the guard answers carry the security headers and are observed', async () => {
    const observed: string[] = [];
    const guarded = http.createServer(guardRequests(() => assert.fail('must not run'), { isDraining: () => false, observe: (route, _m, status) => observed.push(`${route} ${status}`) }));
    guarded.listen(0, '127.0.0.1');
    await once(guarded, 'listening');
    try {
      const result = await rawExchange((guarded.address() as AddressInfo).port, `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n`);
      assert.deepEqual(statuses(result.response), [413]);
      assert.match(result.response, /content-security-policy: default-src 'none'/i);
      assert.match(result.response, /x-content-type-options: nosniff/i);
      assert.deepEqual(observed, ['refused 413']);
    } finally {
      guarded.close();
    }
  });

  test('a client that pipelines without reading is cut off at CLOSE_AT unanswered requests', async () => {
    let started = 0;
    const pending: ServerResponse[] = [];
    const closed: string[] = [];
    // Answers never finish on their own: the app is slow, the client never reads.
    const slow = http.createServer(
      guardRequests((_req, res) => { started++; pending.push(res); }, { isDraining: () => false, warn: (_d, message) => closed.push(message) }),
    );
    slow.listen(0, '127.0.0.1');
    await once(slow, 'listening');
    try {
      const result = await rawExchange((slow.address() as AddressInfo).port, 'GET /visits HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(2000), 5_000);
      assert.equal(result.closed, true, 'the connection stayed open');
      assert.ok(started <= CLOSE_AT, `${started} requests reached the app (at most ${CLOSE_AT} may)`);
      assert.equal(closed.length, 1);
    } finally {
      for (const res of pending) res.destroy();
      slow.close();
    }
  });

  test('a client that pipelines 50 requests and reads gets every answer', async () => {
    const result = await rawExchange(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(50) + 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 10_000);
    assert.equal(statuses(result.response).filter((s) => s === 200).length, 51);
  });

  test('requests whose body is still arriving do not count as work in progress: they never push others into 503', async () => {
    const held: ServerResponse[] = [];
    const guarded = http.createServer(guardRequests((req, res) => {
      if (req.url === '/hold') held.push(res);
      else res.end('ok');
    }, { isDraining: () => false, globalLimit: 4 }));
    guarded.listen(0, '127.0.0.1');
    await once(guarded, 'listening');
    const guardedPort = (guarded.address() as AddressInfo).port;
    const trickling: import('node:net').Socket[] = [];
    try {
      // Ten chunked GET / whose bodies never end (the attack: a few bytes every few seconds).
      const net = await import('node:net');
      for (let i = 0; i < 10; i++) {
        const socket = net.connect(guardedPort, '127.0.0.1', () => socket.write('GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n'));
        socket.on('error', () => {});
        trickling.push(socket);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
      const fine = await rawExchange(guardedPort, 'GET /visits HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      assert.deepEqual(statuses(fine.response), [200], 'ten unfinished bodies made the server refuse a complete request');
      // Work that has arrived does count: four held requests fill the limit, the fifth gets 503...
      const holders = Array.from({ length: 4 }, () => rawExchange(guardedPort, 'GET /hold HTTP/1.1\r\nHost: x\r\n\r\n', 3_000));
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(held.length, 4);
      const over = await rawExchange(guardedPort, 'GET /visits HTTP/1.1\r\nHost: x\r\n\r\n');
      assert.deepEqual(statuses(over.response), [503]);
      // ...but the probes still answer.
      for (const probe of ['/healthz', '/readyz?verbose=1']) {
        const answer = await rawExchange(guardedPort, `GET ${probe} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
        assert.deepEqual(statuses(answer.response), [200], `${probe} was refused under load`);
      }
      for (const res of held) res.end('done');
      await Promise.all(holders);
    } finally {
      for (const socket of trickling) socket.destroy();
      guarded.close();
    }
  });

  test('a request with a small body runs only once that body has fully arrived', async () => {
    const net = await import('node:net');
    let ran = 0;
    const guarded = http.createServer(guardRequests((_req, res) => { ran++; res.end('ok'); }, { isDraining: () => false }));
    guarded.listen(0, '127.0.0.1');
    await once(guarded, 'listening');
    const socket = net.connect((guarded.address() as AddressInfo).port, '127.0.0.1');
    try {
      await once(socket, 'connect');
      socket.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12345');
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(ran, 0, 'it ran before its body arrived');
      socket.write('67890');
      await once(socket, 'data');
      assert.equal(ran, 1);
    } finally {
      socket.destroy();
      guarded.close();
    }
  });
});
