// Tests of src/hooks/k8s-client.ts: the hooks' API transport distrusts what it reads. Against a local fake API server
// (testing/support/fake-api.ts) over http, and over https with a certificate made by openssl for the test (the
// in-cluster transport): a trickling answer times out as a whole, an endless or oversized answer is refused at the cap,
// redirects are not followed, a 2xx that is not JSON is reported as such, a reset is a TransportError.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AnswerError,
  defaultLimits,
  inClusterClient,
  parseRetryAfter,
  TransportError,
  urlClient,
  type KubeClient,
} from '../src/hooks/k8s-client.ts';
import { selfSignedCert, startFakeApi, type FakeApi, type Step } from '../testing/support/fake-api.ts';

let next: Step[] = [];
let api: FakeApi;
before(async () => {
  api = await startFakeApi(() => next.shift() ?? { json: { kind: 'Status', message: 'no step left' }, status: 500 });
});
after(() => api.close());

const fast = { answerTimeoutMs: 300, maxAnswerBytes: 64 * 1024 };

describe('urlClient', () => {
  test('sends JSON with the bearer token under the base path and parses the JSON answer', async () => {
    next = [{ json: { kind: 'Pod', metadata: { name: 'p' } } }];
    const before = api.requests.length;
    const res = await urlClient(`${api.url}/prefix/`, 'tok').request('DELETE', '/api/v1/namespaces/n/pods/p', { kind: 'DeleteOptions' });
    assert.deepEqual(res, { status: 200, body: { kind: 'Pod', metadata: { name: 'p' } } });
    const got = api.requests[before]!;
    assert.equal(got.url, '/prefix/api/v1/namespaces/n/pods/p');
    assert.equal(got.headers['authorization'], 'Bearer tok');
    assert.deepEqual(got.body, { kind: 'DeleteOptions' });
  });

  test('a non-2xx answer keeps its Status, or its text, and its Retry-After', async () => {
    next = [
      { json: { kind: 'Status', message: 'too many requests' }, status: 429, headers: { 'retry-after': '3' } },
      { text: 'upstream connect error', status: 503 },
    ];
    const c = urlClient(api.url);
    assert.deepEqual(await c.request('GET', '/api'), { status: 429, body: { kind: 'Status', message: 'too many requests' }, retryAfterMs: 3000 });
    assert.deepEqual(await c.request('GET', '/api'), { status: 503, body: 'upstream connect error' });
  });

  test('a 2xx answer that is not JSON is reported as invalid JSON', async () => {
    next = [{ text: '<html>proxy login</html>' }];
    await assert.rejects(urlClient(api.url).request('GET', '/api/v1/namespaces/n/pods'), (e: unknown) =>
      e instanceof AnswerError && /GET \/api\/v1\/namespaces\/n\/pods answered 200 with invalid JSON: "<html>proxy login<\/html>"/.test(e.message));
    next = [{ text: '' }];
    await assert.rejects(urlClient(api.url).request('GET', '/api'), /empty body, want JSON/);
  });

  test('a redirect is refused and never followed (it would carry the token elsewhere)', async () => {
    next = [{ redirect: `${api.url}/elsewhere`, status: 307 }];
    const before = api.requests.length;
    await assert.rejects(urlClient(api.url, 'secret').request('GET', '/api'), (e: unknown) =>
      e instanceof AnswerError && /answered a redirect \(307 to ".*\/elsewhere"\); redirects are not followed/.test(e.message));
    assert.equal(api.requests.length, before + 1, 'no request to the redirect target');
  });

  test('an answer trickling a byte at a time times out as a whole (an idle timeout never would)', async () => {
    next = [{ trickleEveryMs: 50 }];
    const started = Date.now();
    await assert.rejects(urlClient(api.url, undefined, fast).request('GET', '/api'), (e: unknown) =>
      e instanceof TransportError && e.code === 'ANSWER_TIMEOUT' && /no complete answer within 300 ms/.test(e.message));
    const ms = Date.now() - started;
    assert.ok(ms >= 280 && ms < 2000, `${ms} ms`);
    assert.ok(api.streamedBytes > 2, 'bytes kept arriving, so the socket was never idle');
  });

  test('an endless answer is cut at the size cap instead of being buffered', async () => {
    next = [{ endless: true }];
    api.streamedBytes = 0;
    const rss = process.memoryUsage().rss;
    await assert.rejects(urlClient(api.url).request('GET', '/api/v1/namespaces/n/pods'), (e: unknown) =>
      e instanceof AnswerError && /answer larger than 8 MiB \(at least \d+ bytes\); refused/.test(e.message));
    assert.ok(api.streamedBytes < 256 * 1024 * 1024, `the server got to send ${api.streamedBytes} bytes`);
    assert.ok(process.memoryUsage().rss - rss < 200 * 1024 * 1024, 'memory stays bounded');
    assert.equal(defaultLimits.maxAnswerBytes, 8 * 1024 * 1024);
  });

  test('a declared 1 GiB answer is refused from its Content-Length', async () => {
    next = [{ endless: true, contentLength: 1024 ** 3 }];
    await assert.rejects(urlClient(api.url).request('GET', '/api'), /answer larger than 8 MiB \(Content-Length 1073741824\)/);
  });

  test('a reset, before or during the answer, is a TransportError (worth retrying)', async () => {
    next = [{ reset: true }, { cutAfterBytes: 5, json: { kind: 'PodList', items: [] } }];
    await assert.rejects(urlClient(api.url).request('GET', '/api'), (e: unknown) => e instanceof TransportError && /GET \/api failed: socket hang up/.test(e.message));
    await assert.rejects(urlClient(api.url).request('GET', '/api'), (e: unknown) => e instanceof TransportError && /answer cut off/.test(e.message));
  });

  test('refuses a base URL that is not http(s)', () => {
    assert.throws(() => urlClient('file:///etc'), /not an http\(s\) URL/);
  });
});

describe('inClusterClient (TLS with the cluster CA)', () => {
  let tls: FakeApi | undefined;
  let client: KubeClient;
  let fastClient: KubeClient;
  let tokenFile = '';
  let skip = '';
  const dir = mkdtempSync(join(tmpdir(), 'rollcall-tls-'));
  before(async () => {
    const cert = selfSignedCert(dir);
    if (typeof cert === 'string') {
      if (process.env['CI'] === 'true') throw new Error(`CI=true: ${cert}`);
      skip = cert;
      return;
    }
    tls = await startFakeApi(() => next.shift() ?? { json: {}, status: 500 }, cert);
    tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'first-token\n');
    const config = { host: '127.0.0.1', port: tls.port, ca: cert.cert, tokenFile };
    client = inClusterClient(config);
    fastClient = inClusterClient(config, fast);
  });
  after(async () => {
    await tls?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('talks TLS verified against the CA and re-reads the token on every call', async (t) => {
    if (skip) return t.skip(skip);
    next = [{ json: { kind: 'StatefulSet' } }, { json: { kind: 'StatefulSet' } }];
    assert.deepEqual((await client.request('GET', '/apis/apps/v1/namespaces/n/statefulsets/s')).body, { kind: 'StatefulSet' });
    writeFileSync(tokenFile, 'rotated-token\n');
    await client.request('GET', '/apis/apps/v1/namespaces/n/statefulsets/s');
    assert.deepEqual(tls!.requests.slice(-2).map((r) => r.headers['authorization']), ['Bearer first-token', 'Bearer rotated-token']);
  });

  test('refuses a server whose certificate the cluster CA did not sign', async (t) => {
    if (skip) return t.skip(skip);
    const otherDir = join(dir, 'other');
    mkdirSync(otherDir);
    const other = selfSignedCert(otherDir);
    assert.ok(typeof other !== 'string');
    const stranger = inClusterClient({ host: '127.0.0.1', port: tls!.port, ca: other.cert, tokenFile });
    await assert.rejects(stranger.request('GET', '/api'), (e: unknown) => e instanceof TransportError && /self.signed certificate|unable to verify/i.test(e.message));
  });

  test('a trickle over TLS times out as a whole too', async (t) => {
    if (skip) return t.skip(skip);
    next = [{ trickleEveryMs: 50 }];
    const started = Date.now();
    await assert.rejects(fastClient.request('GET', '/api'), (e: unknown) => e instanceof TransportError && e.code === 'ANSWER_TIMEOUT');
    assert.ok(Date.now() - started < 2000);
  });

  test('an endless answer over TLS is cut at the cap, a redirect refused, bad JSON named', async (t) => {
    if (skip) return t.skip(skip);
    next = [{ endless: true }, { redirect: '/api/v2' }, { text: '{"kind":' }];
    await assert.rejects(fastClient.request('GET', '/api'), /answer larger than 0\.1 MiB/);
    await assert.rejects(client.request('GET', '/api'), /redirects are not followed/);
    await assert.rejects(client.request('GET', '/api'), /invalid JSON: "\{\\"kind\\":"/);
  });
});

test('parseRetryAfter reads delay-seconds and HTTP dates, and ignores anything else', () => {
  const now = Date.parse('2026-12-03T12:00:00Z');
  assert.equal(parseRetryAfter('2', now), 2000);
  assert.equal(parseRetryAfter(' 0 ', now), 0);
  assert.equal(parseRetryAfter('Thu, 03 Dec 2026 12:00:05 GMT', now), 5000);
  assert.equal(parseRetryAfter('Thu, 03 Dec 2026 11:00:00 GMT', now), 0, 'a date in the past: now');
  assert.equal(parseRetryAfter('soon', now), undefined);
  assert.equal(parseRetryAfter('-1', now), undefined);
  assert.equal(parseRetryAfter(undefined, now), undefined);
});
