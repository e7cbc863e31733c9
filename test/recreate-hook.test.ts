// Tests of src/hooks/recreate-hook.ts (and src/hooks/k8s-client.ts) against a local stand-in of the few Kubernetes API
// calls the hook makes: GET a StatefulSet, LIST pods by label selector, DELETE a pod. The stand-in also plays the
// StatefulSet controller: deleted pods come back on the updateRevision and become Ready after a few polls. Faults
// (429, 500, resets, lost answers, refusals, names no pod can have) are injected per call.
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inClusterConfig, selectorToQuery, urlClient } from '../src/hooks/k8s-client.ts';
import { DeleteFailedError, main, optionsFromEnv, recreate, type RecreateOptions } from '../src/hooks/recreate-hook.ts';
import { startFakeApi, type FakeApi, type Received, type Step } from '../testing/support/fake-api.ts';

const NS = 'rollcall-recreate';
const selector = { matchLabels: { 'app.kubernetes.io/name': 'rollcall', 'app.kubernetes.io/component': 'web' } };

interface Pod {
  name: string;
  uid: string;
  hash: string;
  owner: string;
  ready: boolean;
  terminating?: boolean;
}

interface World {
  generation: number;
  observedGeneration: number;
  updateRevision: string;
  replicas: number;
  pods: Map<string, Pod>;
  /** GETs of the StatefulSet after which the controller "observes" the generation. */
  observeAfterGets: number;
  /** Recreated pods become Ready after this many StatefulSet GETs. */
  readyAfterGets: number;
  /** Answer for LIST pods, when set. */
  listStatus?: number;
  deleteStatus?: number;
  stsGets: number;
  deletes: { name: string; body: unknown; auth: string | undefined }[];
  inFlightDeletes: number;
  maxInFlightDeletes: number;
  listSelectors: string[];
  holdDeletesUntil?: number;
  /** Answers served before the normal one, per call: 'sts', 'list' or 'delete:<pod>'. */
  faults: Record<string, Step[]>;
  /** DELETEs of these pods take effect, but the answer is lost (the connection is reset). */
  loseDeleteAnswer: Set<string>;
  /** Extra pod names the LIST answers with (names no pod can have). */
  listExtraNames: unknown[];
}

let world: World;
let server: FakeApi;
let api = '';
let uidCounter = 0;

function newWorld(pods: [name: string, hash: string][], extra: Partial<World> = {}): World {
  return {
    generation: 2,
    observedGeneration: 2,
    updateRevision: 'rollcall-new',
    replicas: pods.length,
    pods: new Map(pods.map(([name, hash]) => [name, { name, uid: `uid-${++uidCounter}`, hash, owner: 'rollcall', ready: true }])),
    observeAfterGets: 0,
    readyAfterGets: 2,
    stsGets: 0,
    deletes: [],
    inFlightDeletes: 0,
    maxInFlightDeletes: 0,
    listSelectors: [],
    faults: {},
    loseDeleteAnswer: new Set(),
    listExtraNames: [],
    ...extra,
  };
}

function podJson(p: Pod) {
  return {
    metadata: {
      name: p.name,
      uid: p.uid,
      labels: { 'app.kubernetes.io/name': 'rollcall', 'app.kubernetes.io/component': 'web', 'controller-revision-hash': p.hash },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: p.owner, uid: p.owner === 'rollcall' ? 'sts-uid' : 'other-uid', controller: true }],
      ...(p.terminating ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
    },
  };
}

let pendingBecomesReady: { pod: Pod; atGet: number }[] = [];

async function route(req: Received): Promise<Step> {
  const url = new URL(req.url, 'http://x');
  const fault = (key: string) => world.faults[key]?.shift();
  const send = (status: number, json: unknown): Step => ({ status, json });
  if (req.method === 'GET' && url.pathname === `/apis/apps/v1/namespaces/${NS}/statefulsets/rollcall`) {
    const f = fault('sts');
    if (f) return f;
    world.stsGets++;
    for (const p of pendingBecomesReady) if (world.stsGets >= p.atGet) p.pod.ready = true;
    const observed = world.stsGets > world.observeAfterGets;
    const owned = [...world.pods.values()].filter((p) => p.owner === 'rollcall');
    return send(200, {
      metadata: { name: 'rollcall', namespace: NS, uid: 'sts-uid', generation: world.generation },
      spec: { replicas: world.replicas, selector },
      status: {
        observedGeneration: observed ? world.observedGeneration : world.observedGeneration - 1,
        updateRevision: observed ? world.updateRevision : 'rollcall-old',
        updatedReplicas: owned.filter((p) => p.hash === world.updateRevision).length,
        readyReplicas: owned.filter((p) => p.ready).length,
      },
    });
  }
  if (req.method === 'GET' && url.pathname === `/api/v1/namespaces/${NS}/pods`) {
    world.listSelectors.push(url.searchParams.get('labelSelector') ?? '');
    const f = fault('list');
    if (f) return f;
    if (world.listStatus) return send(world.listStatus, { kind: 'Status', message: 'pods is forbidden: User "system:serviceaccount:x" cannot list resource "pods"' });
    const extra = world.listExtraNames.map((name) => {
      const j = podJson({ name: 'placeholder', uid: `uid-${++uidCounter}`, hash: 'rollcall-old', owner: 'rollcall', ready: true });
      return { ...j, metadata: { ...j.metadata, name } };
    });
    return send(200, { kind: 'PodList', items: [...[...world.pods.values()].map(podJson), ...extra] });
  }
  const del = new RegExp(`^/api/v1/namespaces/${NS}/pods/([^/]+)$`).exec(url.pathname);
  if (req.method === 'DELETE' && del) {
    const name = decodeURIComponent(del[1]!);
    world.deletes.push({ name, body: req.body, auth: req.headers['authorization'] });
    world.inFlightDeletes++;
    world.maxInFlightDeletes = Math.max(world.maxInFlightDeletes, world.inFlightDeletes);
    // Hold every answer until `holdDeletesUntil` DELETEs are in flight (or 300 ms pass): concurrent deletes all
    // overlap, sequential ones never would.
    const until = Date.now() + 300;
    while (world.inFlightDeletes < (world.holdDeletesUntil ?? 1) && Date.now() < until) await new Promise((r) => setTimeout(r, 2));
    world.inFlightDeletes--;
    const f = fault(`delete:${name}`);
    if (f) return f;
    if (world.deleteStatus) return send(world.deleteStatus, { kind: 'Status', message: 'gone' });
    const old = world.pods.get(name);
    if (!old) return send(404, { kind: 'Status', message: `pods "${name}" not found` });
    const precondition = (req.body as { preconditions?: { uid?: string } } | undefined)?.preconditions?.uid;
    if (precondition !== undefined && precondition !== old.uid) {
      return send(409, { kind: 'Status', message: `Precondition failed: UID in precondition: ${precondition}, UID in object meta: ${old.uid}` });
    }
    // The controller recreates it on the update revision; Ready a few polls later.
    const pod: Pod = { name, uid: `uid-${++uidCounter}`, hash: world.updateRevision, owner: 'rollcall', ready: false };
    world.pods.set(name, pod);
    pendingBecomesReady.push({ pod, atGet: world.stsGets + world.readyAfterGets });
    if (world.loseDeleteAnswer.delete(name)) return { reset: true };
    return send(200, { kind: 'Pod' });
  }
  return send(404, { kind: 'Status', message: `stand-in does not implement ${req.method} ${url.pathname}` });
}

before(async () => {
  server = await startFakeApi(route);
  api = server.url;
});

after(() => server.close());

beforeEach(() => {
  pendingBecomesReady = [];
});

const opts = (extra: Partial<RecreateOptions> = {}): RecreateOptions => ({ namespace: NS, name: 'rollcall', timeoutMs: 3000, intervalMs: 5, backoff: { firstDelayMs: 5, maxDelayMs: 20 }, ...extra });

describe('recreate', () => {
  test('deletes every pod off the updateRevision at once, then waits until all are Ready on it', async () => {
    world = newWorld([
      ['rollcall-0', 'rollcall-old'],
      ['rollcall-1', 'rollcall-old'],
      ['rollcall-2', 'rollcall-old'],
    ], { holdDeletesUntil: 3 });
    const uids = [...world.pods.values()].map((p) => p.uid);
    const lines: string[] = [];
    const result = await recreate(urlClient(api, 'test-token'), opts({ log: (l) => lines.push(l) }));
    assert.deepEqual(result.deleted.sort(), ['rollcall-0', 'rollcall-1', 'rollcall-2']);
    assert.equal(result.updateRevision, 'rollcall-new');
    assert.equal(world.maxInFlightDeletes, 3, 'all three DELETEs must be in flight together');
    assert.deepEqual(world.deletes.map((d) => (d.body as { preconditions?: { uid?: string } }).preconditions?.uid).sort(), uids.sort(), 'each DELETE carries the uid precondition');
    assert.ok(world.deletes.every((d) => d.auth === 'Bearer test-token'));
    assert.deepEqual(world.listSelectors, ['app.kubernetes.io/name=rollcall,app.kubernetes.io/component=web']);
    assert.ok([...world.pods.values()].every((p) => p.ready && p.hash === 'rollcall-new'), 'returned only after every pod is Ready on the new revision');
    assert.ok(lines.some((l) => /deleting rollcall-0 \(rollcall-old\)/.test(l)));
  });

  test('a sync that changes nothing restarts nothing', async () => {
    world = newWorld([
      ['rollcall-0', 'rollcall-new'],
      ['rollcall-1', 'rollcall-new'],
    ]);
    const result = await recreate(urlClient(api), opts());
    assert.deepEqual(result.deleted, []);
    assert.deepEqual(result.current.sort(), ['rollcall-0', 'rollcall-1']);
    assert.equal(world.deletes.length, 0);
  });

  test('deletes only stale pods the StatefulSet controls, never updated, terminating or foreign ones', async () => {
    world = newWorld([
      ['rollcall-0', 'rollcall-new'],
      ['rollcall-1', 'rollcall-old'],
      ['rollcall-2', 'rollcall-old'],
      ['impostor', 'rollcall-old'],
    ]);
    world.pods.get('impostor')!.owner = 'someone-else';
    world.pods.get('rollcall-2')!.terminating = true;
    world.replicas = 3;
    const result = await recreate(urlClient(api), opts({ timeoutMs: 0 }));
    assert.deepEqual(result.deleted, ['rollcall-1']);
    assert.deepEqual(world.deletes.map((d) => d.name), ['rollcall-1']);
  });

  test('waits until the controller observed the new generation before reading updateRevision', async () => {
    // For the first 3 GETs the status still describes the previous generation (updateRevision rollcall-old):
    // reading it right away would find nothing to delete.
    world = newWorld([['rollcall-0', 'rollcall-old']], { observeAfterGets: 3 });
    const result = await recreate(urlClient(api), opts());
    assert.deepEqual(result.deleted, ['rollcall-0']);
    assert.equal(result.updateRevision, 'rollcall-new');
  });

  test('times out with the replica counts when pods never become Ready', async () => {
    world = newWorld([['rollcall-0', 'rollcall-old']], { readyAfterGets: 1_000_000 });
    await assert.rejects(recreate(urlClient(api), opts({ timeoutMs: 100 })), /not ready in time: 0\/1 ready, 1\/1 on rollcall-new/);
  });

  test('reports an API error with its status and message', async () => {
    world = newWorld([['rollcall-0', 'rollcall-old']], { listStatus: 403 });
    await assert.rejects(recreate(urlClient(api), opts()), /GET \/api\/v1\/namespaces\/rollcall-recreate\/pods\?labelSelector=.* answered 403: pods is forbidden/);
  });

  test('a pod already gone (404) or already replaced (409) counts as done, and is reported as such', async () => {
    for (const status of [404, 409]) {
      world = newWorld([['rollcall-0', 'rollcall-old']], { deleteStatus: status });
      const result = await recreate(urlClient(api), opts({ timeoutMs: 0 }));
      assert.deepEqual(result.deleted, [], `status ${status}`);
      assert.deepEqual(result.gone, ['rollcall-0'], `status ${status}`);
    }
  });

  test('a missing StatefulSet fails at once with a sentence naming it and the settings to check', async () => {
    world = newWorld([]);
    await assert.rejects(recreate(urlClient(api), opts({ name: 'nope' })), /^Error: StatefulSet rollcall-recreate\/nope not found \(404: stand-in does not implement GET .*\); check RECREATE_STATEFULSET and RECREATE_NAMESPACE$/);
  });
});

describe('recreate rides out API hiccups and distrusts what it reads', () => {
  const busy = (message = 'too many requests'): Step => ({ status: 429, json: { kind: 'Status', message }, headers: { 'retry-after': '0' } });
  const err500: Step = { status: 500, json: { kind: 'Status', message: 'etcdserver: request timed out' } };

  test('429, 500 and resets on every kind of call are retried, and the recreate completes', async () => {
    world = newWorld([
      ['rollcall-0', 'rollcall-old'],
      ['rollcall-1', 'rollcall-old'],
    ]);
    world.faults = {
      sts: [busy(), { reset: true }, err500],
      list: [err500, { reset: true }, busy()],
      'delete:rollcall-0': [{ reset: true }, busy()],
      'delete:rollcall-1': [err500, { status: 503, json: { kind: 'Status', message: 'apiserver is shutting down' } }],
    };
    const lines: string[] = [];
    const result = await recreate(urlClient(api), opts({ log: (l) => lines.push(l) }));
    assert.deepEqual(result.deleted.sort(), ['rollcall-0', 'rollcall-1']);
    assert.deepEqual(Object.values(world.faults).flat(), [], 'every fault was served');
    assert.ok([...world.pods.values()].every((p) => p.ready && p.hash === 'rollcall-new'));
    assert.ok(lines.some((l) => /answered 429: too many requests; attempt 2 in 0 ms/.test(l)), lines.join('\n'));
    assert.ok(lines.some((l) => /DELETE .*rollcall-0: .*socket hang up; attempt 2/.test(l)), lines.join('\n'));
  });

  test('a DELETE whose answer was lost is retried; the uid precondition makes the retry harmless (409 = already replaced)', async () => {
    world = newWorld([['rollcall-0', 'rollcall-old']], { loseDeleteAnswer: new Set(['rollcall-0']) });
    const result = await recreate(urlClient(api), opts());
    assert.deepEqual(world.deletes.map((d) => d.name), ['rollcall-0', 'rollcall-0']);
    assert.deepEqual(result.deleted, []);
    assert.deepEqual(result.gone, ['rollcall-0'], 'reported as gone: deleted by the attempt whose answer was lost');
  });

  test('403 on the StatefulSet fails at once with what to fix, without retrying', async () => {
    world = newWorld([['rollcall-0', 'rollcall-old']]);
    world.faults = { sts: [{ status: 403, json: { kind: 'Status', message: 'statefulsets.apps "rollcall" is forbidden' } }] };
    const started = Date.now();
    await assert.rejects(recreate(urlClient(api), opts({ backoff: { firstDelayMs: 1000, maxDelayMs: 1000 } })), /^Error: StatefulSet rollcall-recreate\/rollcall: forbidden \(403: statefulsets\.apps "rollcall" is forbidden\); the hook's ServiceAccount needs get on statefulsets/);
    assert.ok(Date.now() - started < 900, 'no back-off before failing');
    assert.equal(world.stsGets, 0);
    assert.equal(world.deletes.length, 0);
  });

  test('a delete that keeps failing: the others still happen, and the error names exactly what was and was not deleted', async () => {
    world = newWorld([
      ['rollcall-0', 'rollcall-old'],
      ['rollcall-1', 'rollcall-old'],
      ['rollcall-2', 'rollcall-old'],
    ]);
    world.faults = { 'delete:rollcall-1': [{ status: 403, json: { kind: 'Status', message: 'pods "rollcall-1" is forbidden' } }] };
    await assert.rejects(recreate(urlClient(api), opts()), (e: unknown) => {
      assert.ok(e instanceof DeleteFailedError);
      assert.deepEqual(e.deleted.sort(), ['rollcall-0', 'rollcall-2']);
      assert.deepEqual(e.failed.map((f) => f.name), ['rollcall-1']);
      assert.match(e.message, /^could not delete rollcall-1 \(DELETE \/api\/v1\/namespaces\/rollcall-recreate\/pods\/rollcall-1 answered 403: pods "rollcall-1" is forbidden\)\. Deleted: rollcall-0, rollcall-2\./);
      return true;
    });
    assert.deepEqual(world.deletes.map((d) => d.name).sort(), ['rollcall-0', 'rollcall-1', 'rollcall-2']);
  });

  test('a delete failing past the deadline is reported with its last failure; the main line names the deleted pods', async () => {
    world = newWorld([
      ['rollcall-0', 'rollcall-old'],
      ['rollcall-1', 'rollcall-old'],
    ]);
    world.faults = { 'delete:rollcall-0': Array.from({ length: 1000 }, () => err500) };
    const out: string[] = [];
    const log = console.log;
    const err = console.error;
    console.log = (s: string) => out.push(s);
    console.error = (s: string) => out.push(s);
    try {
      const code = await main({ RECREATE_API_URL: api, RECREATE_NAMESPACE: NS, RECREATE_INTERVAL_MS: '5', RECREATE_TIMEOUT_MS: '300' });
      assert.equal(code, 1);
    } finally {
      console.log = log;
      console.error = err;
    }
    const failed = out.find((l) => l.startsWith('recreate: FAILED:')) ?? '';
    assert.match(failed, /could not delete rollcall-0 \(DELETE .*\/pods\/rollcall-0: gave up after \d+ attempts .*etcdserver: request timed out\)\. Deleted: rollcall-1\./);
    world.faults = {};
  });

  test("pod names no pod can have ('', '.', '..') are refused before any DELETE", async () => {
    for (const bad of ['', '.', '..', 'a/b']) {
      world = newWorld([['rollcall-0', 'rollcall-old']], { listExtraNames: [bad] });
      await assert.rejects(recreate(urlClient(api), opts()), (e: Error) => e.message.includes(`listed invalid pod names (${JSON.stringify(bad)} `) && e.message.endsWith('refusing to delete anything'));
      assert.equal(world.deletes.length, 0, JSON.stringify(bad));
    }
  });

  test('an answer that is not JSON, or not a PodList, is named as such', async () => {
    world = newWorld([['rollcall-0', 'rollcall-old']]);
    world.faults = { sts: [{ text: 'Service Unavailable<html>' }] };
    await assert.rejects(recreate(urlClient(api), opts()), /GET \/apis\/apps\/v1\/namespaces\/rollcall-recreate\/statefulsets\/rollcall answered 200 with invalid JSON/);
    world = newWorld([['rollcall-0', 'rollcall-old']]);
    world.faults = { list: [{ json: { kind: 'PodList', items: 'none' } }] };
    await assert.rejects(recreate(urlClient(api), opts()), /answered 200 without an items list: not a PodList/);
    assert.equal(world.deletes.length, 0);
  });

  test('a redirect is not followed', async () => {
    world = newWorld([['rollcall-0', 'rollcall-old']]);
    world.faults = { sts: [{ redirect: 'http://127.0.0.1:1/steal-token' }] };
    await assert.rejects(recreate(urlClient(api, 'tok'), opts()), /redirects are not followed/);
  });
});

describe('main', () => {
  test('exits 0 through RECREATE_API_URL and 1 with a FAILED line on error', async () => {
    world = newWorld([['rollcall-0', 'rollcall-old']]);
    const out: string[] = [];
    const log = console.log;
    const err = console.error;
    console.log = (s: string) => out.push(s);
    console.error = (s: string) => out.push(s);
    try {
      assert.equal(await main({ RECREATE_API_URL: api, RECREATE_NAMESPACE: NS, RECREATE_INTERVAL_MS: '5', RECREATE_TIMEOUT_MS: '3000' }), 0);
      assert.ok(out.some((l) => l === 'recreate: done, recreated rollcall-0'), out.join('\n'));
      assert.equal(await main({ RECREATE_API_URL: api }), 1);
      assert.ok(out.some((l) => /recreate: FAILED: RECREATE_NAMESPACE is required/.test(l)));
    } finally {
      console.log = log;
      console.error = err;
    }
  });

  test('optionsFromEnv has defaults and rejects bad numbers and names', () => {
    assert.deepEqual(optionsFromEnv({ RECREATE_NAMESPACE: 'n' }), { namespace: 'n', name: 'rollcall', timeoutMs: 300_000, intervalMs: 2_000 });
    assert.throws(() => optionsFromEnv({ RECREATE_NAMESPACE: 'n', RECREATE_TIMEOUT_MS: 'soon' }), /RECREATE_TIMEOUT_MS/);
    assert.throws(() => optionsFromEnv({ RECREATE_NAMESPACE: '..' }), /RECREATE_NAMESPACE "\.\." may not be '\.\.'/);
    assert.throws(() => optionsFromEnv({ RECREATE_NAMESPACE: 'n', RECREATE_STATEFULSET: 'a/b' }), /RECREATE_STATEFULSET "a\/b" may not contain/);
  });
});

describe('k8s-client', () => {
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rollcall-sa-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('selectorToQuery renders matchLabels and matchExpressions', () => {
    assert.equal(
      selectorToQuery({
        matchLabels: { a: 'b' },
        matchExpressions: [
          { key: 'c', operator: 'In', values: ['d', 'e'] },
          { key: 'f', operator: 'NotIn', values: ['g'] },
          { key: 'h', operator: 'Exists' },
          { key: 'i', operator: 'DoesNotExist' },
        ],
      }),
      'a=b,c in (d,e),f notin (g),h,!i',
    );
  });
  test('selectorToQuery refuses an empty selector (it would select every pod)', () => {
    assert.throws(() => selectorToQuery({}), /empty/);
    assert.throws(() => selectorToQuery(undefined), /no spec.selector/);
  });
  test('inClusterConfig reads the CA and names what is missing', () => {
    assert.throws(() => inClusterConfig({}, dir), /KUBERNETES_SERVICE_HOST/);
    assert.throws(() => inClusterConfig({ KUBERNETES_SERVICE_HOST: '10.0.0.1' }, dir), /cannot read the cluster CA/);
    writeFileSync(join(dir, 'ca.crt'), 'CERT');
    const c = inClusterConfig({ KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '6443' }, dir);
    assert.equal(c.host, '10.0.0.1');
    assert.equal(c.port, 6443);
    assert.equal(c.ca.toString(), 'CERT');
    assert.equal(c.tokenFile, join(dir, 'token'));
  });
});
