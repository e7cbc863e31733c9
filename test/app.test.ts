import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createApp, type Counter } from '../src/service/app.ts';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { DurableFile } from '../src/service/durable-write.ts';
import { nodeFileSystem } from '../src/service/file-system.ts';
import { createMetrics } from '../src/service/metrics.ts';
import { VisitCounter } from '../src/service/visit-counter.ts';
import { tempDir } from '../testing/support/temp-dir.ts';

class FakeCounter implements Counter {
  value = 0;
  healthy = true;
  problem: string | undefined = undefined;
  failWith: string | undefined;
  async visit(): Promise<number> {
    if (this.failWith) throw Object.assign(new Error('injected'), { code: this.failWith });
    return ++this.value;
  }
}

function build(options: { notReady?: string } = {}) {
  const counter = new FakeCounter();
  const lifecycle = { reason: options.notReady as string | undefined, notReadyReason() { return this.reason; } };
  const metrics = createMetrics({ defaultMetrics: false });
  const app = createApp({
    counter,
    lifecycle,
    clock: { now: () => new Date('2026-01-02T03:04:05.000Z') },
    config: { podName: 'rollcall-1', version: '9.9.9', timeZone: 'Europe/Moscow' },
    metrics,
  });
  return { app, counter, lifecycle };
}

const JSON_ACCEPT = { headers: { accept: 'application/json' } };

describe('GET /', () => {
  test('counts a visit and answers HTML with the time in TIME_ZONE, the pod name and the number', async () => {
    const { app, counter } = build();
    const response = await app.request('/');
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /text\/html/);
    const html = await response.text();
    assert.match(html, /visit number <strong id="visit">1<\/strong>/);
    assert.match(html, /rollcall-1/);
    assert.match(html, /06:04:05/, 'Moscow is UTC+3');
    assert.match(html, /Europe\/Moscow/);
    assert.equal(counter.value, 1);
  });

  test('answers JSON when the client accepts JSON', async () => {
    const { app } = build();
    await app.request('/');
    const response = await app.request('/', JSON_ACCEPT);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { visit: 2, pod: 'rollcall-1', version: '9.9.9', time: '2026-01-02T03:04:05.000Z' });
  });

  test('HEAD does not count a visit', async () => {
    const { app, counter } = build();
    const response = await app.request('/', { method: 'HEAD' });
    assert.equal(response.status, 200);
    assert.equal(counter.value, 0);
  });

  test('a visit the store cannot write gets 503 with a JSON error', async () => {
    const { app, counter } = build();
    counter.failWith = 'ENOSPC';
    const response = await app.request('/', JSON_ACCEPT);
    assert.equal(response.status, 503);
    assert.equal(response.headers.get('retry-after'), '1');
    const body = (await response.json()) as { error: string; code: string };
    assert.equal(body.code, 'ENOSPC');
    assert.match(body.error, /not counted/);
  });

  test('escapes the pod name in HTML', async () => {
    const counter = new FakeCounter();
    const app = createApp({
      counter,
      lifecycle: { notReadyReason: () => undefined },
      clock: { now: () => new Date() },
      config: { podName: '<script>x</script>', version: '1', timeZone: 'UTC' },
    });
    const html = await (await app.request('/')).text();
    assert.ok(!html.includes('<script>'));
    assert.match(html, /&lt;script&gt;/);
  });
});

describe('GET /visits', () => {
  test('returns the counter without counting a visit', async () => {
    const { app, counter } = build();
    counter.value = 66;
    const response = await app.request('/visits');
    assert.deepEqual(await response.json(), { counter: 66, pod: 'rollcall-1', version: '9.9.9' });
    assert.equal(counter.value, 66);
  });
});

describe('probes', () => {
  test('/healthz is 200 while the process runs, even when not ready', async () => {
    const { app } = build({ notReady: 'draining' });
    assert.equal((await app.request('/healthz')).status, 200);
  });

  test('/readyz is 200 when ready', async () => {
    const { app } = build();
    const response = await app.request('/readyz');
    assert.equal(response.status, 200);
  });

  for (const reason of ['starting', 'draining']) {
    test(`/readyz is 503 while ${reason}`, async () => {
      const { app } = build({ notReady: reason });
      const response = await app.request('/readyz');
      assert.equal(response.status, 503);
      assert.deepEqual(await response.json(), { status: 'not ready', reason });
    });
  }

  test('/readyz is 503 while the store cannot write', async () => {
    const { app, counter } = build();
    counter.healthy = false;
    const response = await app.request('/readyz');
    assert.equal(response.status, 503);
    assert.equal(((await response.json()) as { reason: string }).reason, 'store-unwritable');
  });
});

describe('GET /metrics', () => {
  test('exposes request, visit and store metrics in Prometheus text', async () => {
    const { app } = build();
    await app.request('/', JSON_ACCEPT);
    await app.request('/nope');
    const response = await app.request('/metrics');
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /text\/plain/);
    const text = await response.text();
    assert.match(text, /http_requests_total\{route="\/",method="GET",status="200"\} 1/);
    assert.match(text, /http_requests_total\{route="unmatched",method="GET",status="404"\} 1/);
    assert.match(text, /visits_total 1/);
    assert.match(text, /http_request_duration_seconds_bucket/);
    assert.match(text, /store_write_duration_seconds/);
    assert.match(text, /store_batch_size/);
  });
});

describe('errors and headers', () => {
  test('an unknown path gets 404 JSON', async () => {
    const { app } = build();
    const response = await app.request('/missing');
    assert.equal(response.status, 404);
    assert.deepEqual(await response.json(), { error: 'not found', path: '/missing' });
  });

  for (const [method, path] of [['POST', '/'], ['DELETE', '/visits'], ['PUT', '/readyz']] as const) {
    test(`${method} ${path} gets 405 with Allow`, async () => {
      const { app, counter } = build();
      const response = await app.request(path, { method });
      assert.equal(response.status, 405);
      assert.equal(response.headers.get('allow'), 'GET, HEAD');
      assert.equal(counter.value, 0);
    });
  }

  test('every response carries secure headers', async () => {
    const { app } = build();
    for (const path of ['/', '/visits', '/missing', '/readyz']) {
      const response = await app.request(path);
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff', path);
      // One framing rule: CSP frame-ancestors; X-Frame-Options: SAMEORIGIN used to contradict it.
      assert.equal(response.headers.get('x-frame-options'), null, path);
      assert.match(response.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/, path);
      // Plain HTTP: HSTS over it is ignored by browsers (RFC 6797 §7.2) and belongs to whatever terminates TLS.
      assert.equal(response.headers.get('strict-transport-security'), null, path);
    }
  });
});

describe('content negotiation on GET /', () => {
  const cases: [string, 'json' | 'html'][] = [
    ['application/json', 'json'],
    ['APPLICATION/JSON', 'json'],
    ['application/json;q=0', 'html'],
    ['application/json;q=0, text/html', 'html'],
    ['application/jsonp', 'html'],
    ['text/html;q=0.5, application/json;q=0.9', 'json'],
    ['text/html, application/json;q=0.9', 'html'],
    ['*/*', 'html'],
    ['application/*', 'json'],
    ['', 'html'],
  ];
  for (const [accept, want] of cases) {
    test(`Accept: ${JSON.stringify(accept)} → ${want}`, async () => {
      const { app } = build();
      const response = await app.request('/', { headers: { accept } });
      assert.match(response.headers.get('content-type') ?? '', want === 'json' ? /application\/json/ : /text\/html/);
    });
  }
});

describe('GET /readyz when the counter is exhausted', () => {
  test('answers 503 with the reason', async () => {
    const { app, counter } = build();
    counter.healthy = false;
    counter.problem = 'counter-exhausted';
    const response = await app.request('/readyz');
    assert.equal(response.status, 503);
    assert.deepEqual(await response.json(), { status: 'not ready', reason: 'counter-exhausted' });
  });
});

describe('HEAD /', () => {
  test('answers 503, like GET would, while the store cannot write; counts nothing', async () => {
    const { app, counter } = build();
    counter.healthy = false;
    const response = await app.request('/', { method: 'HEAD' });
    assert.equal(response.status, 503);
    assert.equal(response.headers.get('retry-after'), '1');
    assert.equal(counter.value, 0);
  });
});

describe('GET / with the real store', () => {
  test('1000 concurrent visits get the numbers 1..1000, each once, and visits.json says 1000', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'visits.json');
    const counter = new VisitCounter({ file: new DurableFile(nodeFileSystem, file), initial: 0 });
    const app = createApp({
      counter,
      lifecycle: { notReadyReason: () => undefined },
      clock: { now: () => new Date() },
      config: { podName: 'p', version: 'v', timeZone: 'UTC' },
    });
    const responses = await Promise.all(Array.from({ length: 1000 }, () => app.request('/', JSON_ACCEPT)));
    const numbers = await Promise.all(responses.map(async (r) => ((await r.json()) as { visit: number }).visit));
    assert.deepEqual(numbers.sort((a, b) => a - b), Array.from({ length: 1000 }, (_, i) => i + 1));
    assert.equal(await readFile(file, 'utf8'), '{"counter": 1000}');
    await counter.close();
  });
});
