// Tests of src/hooks/smoke.ts, the Sync-phase smoke check, against stand-in replicas on 127.0.0.1 (port 0).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  checkReplica,
  checkReplicaUntil,
  ConfigError,
  formatReport,
  optionsFromEnv,
  ownPackageVersion,
  parseVisits,
  runSmoke,
  targetsFromConfig,
  type SmokeOptions,
} from '../src/hooks/smoke.ts';
import { startFakeApi, type FakeApi, type Step } from '../testing/support/fake-api.ts';

interface Replica {
  readyz: number;
  visits: () => { status: number; body: string };
}

/** One server, many replicas: /r/<id>/readyz and /r/<id>/visits, behaviour switchable per test. */
const replicas = new Map<string, Replica>();
let server: Server;
let base = '';

const healthy = (pod: string, counter = 7): Replica => ({
  readyz: 200,
  visits: () => ({ status: 200, body: JSON.stringify({ counter, pod, version: '1.0.0' }) }),
});

before(async () => {
  server = createServer((req, res) => {
    const m = /^\/r\/([^/]+)\/(readyz|visits)$/.exec(req.url ?? '');
    const r = m ? replicas.get(m[1]!) : undefined;
    if (!m || !r) {
      res.writeHead(404).end();
      return;
    }
    if (m[2] === 'readyz') {
      const status = r.readyz;
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'not ready');
      return;
    }
    const v = r.visits();
    res.writeHead(v.status, { 'content-type': 'application/json' }).end(v.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => {
  server.closeAllConnections();
  server.close();
});

const fast: SmokeOptions = { timeoutMs: 0, intervalMs: 10, requestTimeoutMs: 1000 };

describe('parseVisits', () => {
  test('accepts the /visits contract', () => {
    assert.deepEqual(parseVisits({ counter: 0, pod: 'rollcall-0', version: '1.0.0' }), { counter: 0, pod: 'rollcall-0', version: '1.0.0' });
  });
  test('names the field that is wrong', () => {
    assert.match(String(parseVisits({ counter: -1, pod: 'p', version: 'v' })), /"counter"/);
    assert.match(String(parseVisits({ counter: '3', pod: 'p', version: 'v' })), /"counter"/);
    assert.match(String(parseVisits({ counter: 1.5, pod: 'p', version: 'v' })), /"counter"/);
    assert.match(String(parseVisits({ counter: 1, pod: '', version: 'v' })), /"pod"/);
    assert.match(String(parseVisits({ counter: 1, pod: 'p' })), /"version"/);
    assert.match(String(parseVisits([1])), /not a JSON object/);
    assert.match(String(parseVisits(null)), /not a JSON object/);
  });
});

describe('targetsFromConfig', () => {
  test('builds one headless-Service DNS name per replica', () => {
    const targets = targetsFromConfig({ SMOKE_NAMESPACE: 'rollcall-rolling', SMOKE_REPLICAS: '3' });
    assert.deepEqual(
      targets.map((t) => t.baseUrl),
      [0, 1, 2].map((i) => `http://rollcall-${i}.rollcall-headless.rollcall-rolling.svc.cluster.local:5000`),
    );
    assert.deepEqual(targets.map((t) => t.expectedPod), ['rollcall-0', 'rollcall-1', 'rollcall-2']);
  });
  test('honours the StatefulSet, Service, port and cluster domain settings', () => {
    const [t] = targetsFromConfig({ SMOKE_NAMESPACE: 'ns', SMOKE_REPLICAS: '1', SMOKE_STATEFULSET: 'web', SMOKE_SERVICE: 'web-h', SMOKE_PORT: '8080', SMOKE_CLUSTER_DOMAIN: 'k8s.local' });
    assert.equal(t?.baseUrl, 'http://web-0.web-h.ns.svc.k8s.local:8080');
  });
  test('base URLs from arguments or SMOKE_URLS win over DNS names', () => {
    assert.deepEqual(targetsFromConfig({}, ['http://a:1', 'http://b:2']).map((t) => t.baseUrl), ['http://a:1', 'http://b:2']);
    assert.deepEqual(targetsFromConfig({ SMOKE_URLS: 'http://a:1, http://b:2' }).map((t) => t.name), ['http://a:1', 'http://b:2']);
  });
  test('rejects bad configuration with a sentence naming the setting', () => {
    assert.throws(() => targetsFromConfig({}), (e: unknown) => e instanceof ConfigError && /SMOKE_NAMESPACE/.test(e.message));
    assert.throws(() => targetsFromConfig({ SMOKE_NAMESPACE: 'n', SMOKE_REPLICAS: 'three' }), /SMOKE_REPLICAS/);
    assert.throws(() => targetsFromConfig({ SMOKE_NAMESPACE: 'n', SMOKE_REPLICAS: '0' }), /SMOKE_REPLICAS/);
    assert.throws(() => targetsFromConfig({}, ['ftp://x']), /not an http/);
    assert.throws(() => targetsFromConfig({}, ['not a url']), /not a URL/);
    assert.throws(() => optionsFromEnv({ SMOKE_TIMEOUT_MS: '-1' }), /SMOKE_TIMEOUT_MS/);
  });
});

describe('version check: every replica must report the version of the image being synced', () => {
  test('the expected version defaults to the package.json next to the check (the image\'s), SMOKE_EXPECTED_VERSION wins', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    assert.equal(ownPackageVersion(), pkg.version);
    assert.equal(optionsFromEnv({}).expectedVersion, pkg.version);
    assert.equal(optionsFromEnv({ SMOKE_EXPECTED_VERSION: '9.9.9' }).expectedVersion, '9.9.9');
    assert.throws(() => optionsFromEnv({}, null), /SMOKE_EXPECTED_VERSION/);
  });
  test('fails a replica that reports another version (old release still running, or tag and version apart)', async () => {
    replicas.set('old', healthy('rollcall-2'));
    const r = await checkReplica({ name: 'rollcall-2', baseUrl: `${base}/r/old` }, { ...fast, expectedVersion: '1.1.0' });
    assert.equal(r.ok, false);
    assert.match(r.message, /reports version "1\.0\.0", want "1\.1\.0"/);
    assert.equal((await checkReplica({ name: 'rollcall-2', baseUrl: `${base}/r/old` }, { ...fast, expectedVersion: '1.0.0' })).ok, true);
  });
  test('a partitioned canary: ordinals below SMOKE_PARTITION may keep the previous version, the canary may not', async () => {
    replicas.set('p0', healthy('rollcall-0'));
    const opts = { ...fast, expectedVersion: '1.1.0', ...optionsFromEnv({ SMOKE_PARTITION: '2', SMOKE_EXPECTED_VERSION: '1.1.0' }) };
    assert.equal(opts.partition, 2);
    assert.equal((await checkReplica({ name: 'rollcall-0', baseUrl: `${base}/r/p0`, ordinal: 0 }, { ...fast, expectedVersion: '1.1.0', partition: 2 })).ok, true);
    assert.equal((await checkReplica({ name: 'rollcall-2', baseUrl: `${base}/r/p0`, ordinal: 2 }, { ...fast, expectedVersion: '1.1.0', partition: 2 })).ok, false);
    assert.deepEqual(targetsFromConfig({ SMOKE_NAMESPACE: 'n' }).map((t) => t.ordinal), [0, 1, 2]);
  });
});

test('a failed report names the commands that show why, for the failing replicas only', () => {
  const report = formatReport([{ name: 'rollcall-0', ok: true, message: 'ready', attempts: 1 }, { name: 'rollcall-2', ok: false, message: 'GET /readyz failed', attempts: 9 }], 'rollcall-rolling');
  assert.match(report, /^diagnose: kubectl -n rollcall-rolling get pods -L controller-revision-hash$/m);
  assert.match(report, /^diagnose: kubectl -n rollcall-rolling describe pod rollcall-2; kubectl -n rollcall-rolling logs rollcall-2 --previous$/m);
  assert.doesNotMatch(report, /describe pod rollcall-0/);
  assert.doesNotMatch(formatReport([{ name: 'x', ok: false, message: 'm', attempts: 1 }]), /diagnose/);
});

describe('checkReplica', () => {
  test('passes a ready replica with well-formed /visits', async () => {
    replicas.set('ok', healthy('rollcall-0', 12));
    const r = await checkReplica({ name: 'rollcall-0', baseUrl: `${base}/r/ok`, expectedPod: 'rollcall-0' }, fast);
    assert.equal(r.ok, true, r.message);
    assert.equal(r.visits?.counter, 12);
    assert.match(r.message, /counter 12, version 1\.0\.0/);
  });
  test('fails a replica whose /readyz answers 503', async () => {
    replicas.set('draining', { ...healthy('x'), readyz: 503 });
    const r = await checkReplica({ name: 'x', baseUrl: `${base}/r/draining` }, fast);
    assert.equal(r.ok, false);
    assert.match(r.message, /\/readyz answered 503/);
  });
  test('fails on /visits that is not JSON', async () => {
    replicas.set('html', { readyz: 200, visits: () => ({ status: 200, body: '<html>' }) });
    const r = await checkReplica({ name: 'x', baseUrl: `${base}/r/html` }, fast);
    assert.match(r.message, /not JSON/);
  });
  test('fails on /visits with the wrong shape', async () => {
    replicas.set('shape', { readyz: 200, visits: () => ({ status: 200, body: '{"counter":"7","pod":"p","version":"v"}' }) });
    const r = await checkReplica({ name: 'x', baseUrl: `${base}/r/shape` }, fast);
    assert.match(r.message, /malformed: "counter"/);
  });
  test('fails on a non-200 /visits', async () => {
    replicas.set('500', { readyz: 200, visits: () => ({ status: 500, body: '{}' }) });
    const r = await checkReplica({ name: 'x', baseUrl: `${base}/r/500` }, fast);
    assert.match(r.message, /\/visits answered 500/);
  });
  test('fails when the DNS name reaches another pod', async () => {
    replicas.set('other', healthy('rollcall-2'));
    const r = await checkReplica({ name: 'rollcall-1', baseUrl: `${base}/r/other`, expectedPod: 'rollcall-1' }, fast);
    assert.match(r.message, /reports pod "rollcall-2", want "rollcall-1"/);
  });
  test('fails with the connection error when nothing listens', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const r = await checkReplica({ name: 'gone', baseUrl: `http://127.0.0.1:${port}` }, fast);
    assert.equal(r.ok, false);
    assert.match(r.message, /\/readyz failed: .*ECONNREFUSED/);
  });
});

describe('checkReplicaUntil and runSmoke', () => {
  test('retries a starting replica until it becomes ready', async () => {
    let calls = 0;
    replicas.set('starting', {
      get readyz() {
        return ++calls < 3 ? 503 : 200;
      },
      visits: healthy('p').visits,
    });
    const r = await checkReplicaUntil({ name: 'p', baseUrl: `${base}/r/starting` }, { ...fast, timeoutMs: 2000 });
    assert.equal(r.ok, true, r.message);
    assert.equal(r.attempts, 3);
  });
  test('gives up at the deadline and reports the last failure', async () => {
    replicas.set('never', { ...healthy('p'), readyz: 503 });
    const started = Date.now();
    const r = await checkReplicaUntil({ name: 'p', baseUrl: `${base}/r/never` }, { ...fast, timeoutMs: 100 });
    assert.equal(r.ok, false);
    assert.ok(r.attempts > 1);
    assert.ok(Date.now() - started < 1000);
  });
  test('reports every replica, one line each, and the verdict', async () => {
    replicas.set('a', healthy('rollcall-0'));
    replicas.set('b', { ...healthy('rollcall-1'), readyz: 503 });
    const results = await runSmoke(
      [
        { name: 'rollcall-0', baseUrl: `${base}/r/a` },
        { name: 'rollcall-1', baseUrl: `${base}/r/b` },
      ],
      fast,
    );
    const report = formatReport(results);
    assert.match(report, /^ok {3}rollcall-0: ready/m);
    assert.match(report, /^FAIL rollcall-1: GET \/readyz answered 503/m);
    assert.match(report, /smoke test FAILED: 1 of 2/);
  });
});

describe('command line', () => {
  const script = fileURLToPath(new URL('../src/hooks/smoke.ts', import.meta.url));
  const run = promisify(execFile);
  test('exits 0 when every replica passes and 1 with a message per failing replica', async () => {
    replicas.set('c0', healthy('rollcall-0'));
    replicas.set('c1', { readyz: 200, visits: () => ({ status: 200, body: '[]' }) });
    const ok = await run(process.execPath, [script, `${base}/r/c0`], { env: { ...process.env, SMOKE_TIMEOUT_MS: '0' } });
    assert.match(ok.stdout, /smoke test passed: 1 replica/);
    await assert.rejects(run(process.execPath, [script, `${base}/r/c0`, `${base}/r/c1`], { env: { ...process.env, SMOKE_TIMEOUT_MS: '0' } }), (err: { code?: number; stderr?: string }) => {
      assert.equal(err.code, 1);
      assert.match(err.stderr ?? '', /FAIL .*\/r\/c1: GET \/visits malformed: body is not a JSON object/);
      return true;
    });
  });
  test('exits 2 on a configuration error', async () => {
    const env = { ...process.env };
    delete env['SMOKE_NAMESPACE'];
    delete env['SMOKE_URLS'];
    await assert.rejects(run(process.execPath, [script], { env }), (err: { code?: number; stderr?: string }) => {
      assert.equal(err.code, 2);
      assert.match(err.stderr ?? '', /SMOKE_NAMESPACE is required/);
      return true;
    });
  });
});

describe('distrusts what a replica answers', () => {
  let fake: FakeApi;
  const visits: Record<string, Step> = {
    trickle: { trickleEveryMs: 50 },
    endless: { endless: true },
    declared: { endless: true, contentLength: 1024 ** 3 },
    redirect: { redirect: '/elsewhere/visits' },
  };
  before(async () => {
    fake = await startFakeApi((req) => {
      const [, name, path] = req.url.split('/');
      if (name === 'readyz-redirect' && path === 'readyz') return { redirect: '/ok/readyz', status: 301 };
      if (path === 'readyz') return { text: 'ok' };
      return visits[name ?? ''] ?? { json: { counter: 1, pod: 'p', version: '1.0.0' } };
    });
  });
  after(() => fake.close());

  test('a /visits answer trickling a byte at a time fails at the request timeout', async () => {
    const started = Date.now();
    const r = await checkReplica({ name: 'x', baseUrl: `${fake.url}/trickle` }, { ...fast, requestTimeoutMs: 300 });
    assert.equal(r.ok, false);
    assert.match(r.message, /GET \/visits failed: .*(timed out|aborted)/i);
    assert.ok(Date.now() - started < 2000, `${Date.now() - started} ms`);
  });
  test('an endless or oversized /visits answer is refused at 64 KiB', async () => {
    const endless = await checkReplica({ name: 'x', baseUrl: `${fake.url}/endless` }, fast);
    assert.match(endless.message, /GET \/visits failed: answer larger than 65536 bytes$/);
    const declared = await checkReplica({ name: 'x', baseUrl: `${fake.url}/declared` }, fast);
    assert.match(declared.message, /GET \/visits failed: answer larger than 65536 bytes \(Content-Length 1073741824\)/);
  });
  test('a redirect is a failure and is not followed', async () => {
    const before = fake.requests.length;
    const r = await checkReplica({ name: 'x', baseUrl: `${fake.url}/redirect` }, fast);
    assert.match(r.message, /GET \/visits answered a redirect \(302\); redirects are not followed/);
    const r2 = await checkReplica({ name: 'x', baseUrl: `${fake.url}/readyz-redirect` }, fast);
    assert.match(r2.message, /GET \/readyz answered a redirect \(301\)/);
    assert.deepEqual(fake.requests.slice(before).map((q) => q.url), ['/redirect/readyz', '/redirect/visits', '/readyz-redirect/readyz']);
  });
});
