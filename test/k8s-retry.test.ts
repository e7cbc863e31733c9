// Tests of src/hooks/k8s-retry.ts: which failures are retried, how long it waits (Retry-After, back-off), and that the
// hook's deadline ends it with a sentence naming the call and its last failure. Against the local fake API server;
// the back-off sleeps are recorded instead of slept.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AnswerError, urlClient } from '../src/hooks/k8s-client.ts';
import { GaveUpError, isRetryableStatus, requestWithRetry, type RetryPolicy } from '../src/hooks/k8s-retry.ts';
import { startFakeApi, type FakeApi, type Step } from '../testing/support/fake-api.ts';

let next: Step[] = [];
let api: FakeApi;
before(async () => {
  api = await startFakeApi(() => next.shift() ?? { json: { kind: 'Status', message: 'etcdserver: leader changed' }, status: 500 });
});
after(() => api.close());

/** A policy whose clock only moves by the back-offs it sleeps, recorded in `waits`. */
function policy(deadlineInMs = 60_000): RetryPolicy & { waits: number[]; lines: string[] } {
  let clock = 1_000_000;
  const waits: number[] = [];
  const lines: string[] = [];
  return {
    deadline: clock + deadlineInMs,
    firstDelayMs: 100,
    maxDelayMs: 1_000,
    now: () => clock,
    sleep: async (ms) => {
      waits.push(ms);
      clock += ms;
    },
    random: () => 1,
    log: (l) => lines.push(l),
    waits,
    lines,
  };
}

const ok: Step = { json: { kind: 'StatefulSet' } };

describe('requestWithRetry', () => {
  test('429 waits exactly what Retry-After asks, then succeeds', async () => {
    next = [{ json: { kind: 'Status', message: 'too many requests' }, status: 429, headers: { 'retry-after': '2' } }, ok];
    const p = policy();
    const res = await requestWithRetry(urlClient(api.url), 'GET', '/apis/apps/v1/namespaces/n/statefulsets/s', undefined, p);
    assert.equal(res.status, 200);
    assert.deepEqual(p.waits, [2000]);
    assert.match(p.lines[0]!, /answered 429: too many requests; attempt 2 in 2000 ms/);
  });

  test('500, 502, 503, 504, resets and cut-off answers are retried with doubling back-off', async () => {
    const fail = (status: number): Step => ({ json: { kind: 'Status', message: `status ${status}` }, status });
    next = [fail(500), fail(502), fail(503), { reset: true }, { cutAfterBytes: 3, json: { kind: 'x' } }, fail(504), ok];
    const p = policy();
    const res = await requestWithRetry(urlClient(api.url), 'GET', '/api/v1/namespaces/n/pods', undefined, p);
    assert.equal(res.status, 200);
    assert.deepEqual(p.waits, [100, 200, 400, 800, 1000, 1000], 'doubling from firstDelayMs, capped at maxDelayMs');
  });

  test('a DELETE is retried like a GET (with a uid precondition it is idempotent) and keeps its body', async () => {
    next = [{ reset: true }, { json: { kind: 'Pod' } }];
    const before = api.requests.length;
    await requestWithRetry(urlClient(api.url), 'DELETE', '/api/v1/namespaces/n/pods/p-0', { preconditions: { uid: 'u1' } }, policy());
    assert.deepEqual(api.requests.slice(before).map((r) => [r.method, r.body]), [
      ['DELETE', { preconditions: { uid: 'u1' } }],
      ['DELETE', { preconditions: { uid: 'u1' } }],
    ]);
  });

  test('403, 404, 409 and 422 are answers, returned at the first attempt', async () => {
    for (const status of [403, 404, 409, 422]) {
      next = [{ json: { kind: 'Status', message: 'no' }, status }];
      const p = policy();
      assert.equal((await requestWithRetry(urlClient(api.url), 'GET', '/api', undefined, p)).status, status);
      assert.deepEqual(p.waits, [], `status ${status}`);
    }
  });

  test('a redirect, an oversized or a non-JSON answer is thrown at once (another attempt would get the same)', async () => {
    for (const step of [{ redirect: '/x' }, { endless: true, contentLength: 1024 ** 3 }, { text: 'nope' }] as Step[]) {
      next = [step];
      const p = policy();
      await assert.rejects(requestWithRetry(urlClient(api.url), 'GET', '/api', undefined, p), AnswerError);
      assert.deepEqual(p.waits, []);
    }
  });

  test('gives up at the deadline, naming the call, the attempts and the last failure', async () => {
    next = [];
    const p = policy(1_000);
    await assert.rejects(requestWithRetry(urlClient(api.url), 'GET', '/api/v1/namespaces/n/pods', undefined, p), (e: unknown) => {
      assert.ok(e instanceof GaveUpError);
      assert.match(e.message, /^GET \/api\/v1\/namespaces\/n\/pods: gave up after 4 attempts \(the next attempt in 0\.8 s would start after the hook's deadline, 0\.3 s away\); last: .*answered 500: etcdserver: leader changed$/);
      assert.equal(e.attempts, 4);
      return true;
    });
    assert.deepEqual(p.waits, [100, 200, 400]);
  });

  test('a Retry-After beyond the deadline ends the retries at once instead of sleeping past it', async () => {
    next = [{ json: { kind: 'Status', message: 'slow down' }, status: 429, headers: { 'retry-after': '120' } }];
    const p = policy(30_000);
    await assert.rejects(requestWithRetry(urlClient(api.url), 'GET', '/api', undefined, p), /gave up after 1 attempt \(the next attempt in 120 s would start after the hook's deadline, 30 s away\); last: .*429: slow down/);
    assert.deepEqual(p.waits, []);
  });

  test('the statuses worth another attempt', () => {
    assert.deepEqual([200, 301, 400, 401, 403, 404, 409, 410, 422, 429, 500, 501, 502, 503, 504, 505].filter(isRetryableStatus), [429, 500, 502, 503, 504]);
  });
});
