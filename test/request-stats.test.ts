import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createApp, type Counter } from '../src/service/app.ts';
import { isErrorStatus, RequestStats } from '../src/service/request-stats.ts';

const T0 = Date.parse('2026-01-02T03:04:05.000Z');

describe('RequestStats', () => {
  test('counts requests and 5xx errors, and the share of errors', () => {
    const stats = new RequestStats(60);
    stats.record(200, T0);
    stats.record(500, T0 + 10);
    stats.record(503, T0 + 999);
    stats.record(404, T0 + 1500);
    assert.deepEqual(stats.snapshot(T0 + 2000), { window_seconds: 60, requests: 4, errors: 2, error_share: 0.5 });
  });

  test('a client error (4xx) is not an error of the server', () => {
    assert.equal(isErrorStatus(404), false);
    assert.equal(isErrorStatus(429), false);
    assert.equal(isErrorStatus(500), true);
    assert.equal(isErrorStatus(503), true);
  });

  test('no requests: share 0, not NaN', () => {
    assert.deepEqual(new RequestStats(60).snapshot(T0), { window_seconds: 60, requests: 0, errors: 0, error_share: 0 });
  });

  test('requests older than the window drop out, second by second', () => {
    const stats = new RequestStats(3);
    stats.record(500, T0); // second s
    stats.record(200, T0 + 1000); // second s+1
    stats.record(200, T0 + 2000); // s+2
    assert.equal(stats.snapshot(T0 + 2999).requests, 3);
    assert.deepEqual(stats.snapshot(T0 + 3000), { window_seconds: 3, requests: 2, errors: 0, error_share: 0 });
    assert.equal(stats.snapshot(T0 + 10_000).requests, 0);
  });

  test('a bucket reused after a full turn of the ring starts from zero', () => {
    const stats = new RequestStats(3);
    stats.record(500, T0);
    stats.record(200, T0 + 3000); // same bucket index, three seconds later
    assert.deepEqual(stats.snapshot(T0 + 3000), { window_seconds: 3, requests: 1, errors: 0, error_share: 0 });
  });

  test('refuses a window that is not a whole number of seconds >= 1', () => {
    assert.throws(() => new RequestStats(0), /windowSeconds must be an integer >= 1/);
    assert.throws(() => new RequestStats(1.5), /windowSeconds/);
  });
});

describe('GET /stats', () => {
  function build(failWith?: string) {
    let now = T0;
    const counter: Counter & { value: number } = {
      value: 0,
      healthy: true,
      async visit() {
        if (failWith) throw Object.assign(new Error('injected'), { code: failWith });
        return ++this.value;
      },
    };
    const app = createApp({
      counter,
      lifecycle: { notReadyReason: () => undefined },
      clock: { now: () => new Date(now) },
      config: { podName: 'rollcall-2', version: '1.1.0', timeZone: 'UTC' },
    });
    return { app, advance: (ms: number) => (now += ms) };
  }

  test('reports the visits of the last minute with the pod and version', async () => {
    const { app } = build();
    for (let i = 0; i < 3; i++) assert.equal((await app.request('/')).status, 200);
    const res = await app.request('/stats');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.deepEqual(await res.json(), { window_seconds: 60, requests: 3, errors: 0, error_share: 0, pod: 'rollcall-2', version: '1.1.0' });
  });

  test('a visit answered 5xx counts as an error', async () => {
    const { app } = build('ENOSPC');
    assert.equal((await app.request('/')).status, 503);
    const body = (await (await app.request('/stats')).json()) as { requests: number; errors: number; error_share: number };
    assert.deepEqual([body.requests, body.errors, body.error_share], [1, 1, 1]);
  });

  test('only GET / counts: probes, HEAD, /visits and /stats itself do not', async () => {
    const { app } = build();
    for (const path of ['/readyz', '/healthz', '/visits', '/stats', '/nope']) await app.request(path);
    await app.request('/', { method: 'HEAD' });
    const body = (await (await app.request('/stats')).json()) as { requests: number };
    assert.equal(body.requests, 0);
  });

  test('the window slides with the app clock', async () => {
    const { app, advance } = build();
    await app.request('/');
    advance(61_000);
    const body = (await (await app.request('/stats')).json()) as { requests: number };
    assert.equal(body.requests, 0);
  });

  test('?version= restricts the figures to that release: its own version answers them, any other gets 404 (an Error measurement for Argo Rollouts, never a pass)', async () => {
    const { app } = build();
    await app.request('/');
    const own = await app.request('/stats?version=1.1.0');
    assert.equal(own.status, 200);
    assert.equal(((await own.json()) as { requests: number }).requests, 1);
    const other = await app.request('/stats?version=1.0.0');
    assert.equal(other.status, 404);
    assert.equal(other.headers.get('cache-control'), 'no-store');
    assert.deepEqual(await other.json(), { error: 'version not served here', requested: '1.0.0', pod: 'rollcall-2', version: '1.1.0' });
    assert.equal((await app.request('/stats?version=')).status, 404, 'an empty version is no version this pod runs');
  });

  test('other methods get 405 with Allow', async () => {
    const { app } = build();
    const res = await app.request('/stats', { method: 'POST' });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'GET, HEAD');
  });
});
