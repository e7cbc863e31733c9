// Tests of src/recreate-hook.ts (and src/k8s-client.ts) against a local stand-in of the few Kubernetes API calls
// the hook makes: GET a StatefulSet, LIST pods by label selector, DELETE a pod. The stand-in also plays the
// StatefulSet controller: deleted pods come back on the updateRevision and become Ready after a few polls.
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inClusterConfig, selectorToQuery, urlClient } from '../src/hooks/k8s-client.ts';
import { main, optionsFromEnv, recreate, type RecreateOptions } from '../src/hooks/recreate-hook.ts';

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
}

let world: World;
let server: Server;
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

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}

let pendingBecomesReady: { pod: Pod; atGet: number }[] = [];

before(async () => {
  server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const send = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.method === 'GET' && url.pathname === `/apis/apps/v1/namespaces/${NS}/statefulsets/rollcall`) {
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
      if (world.listStatus) return send(world.listStatus, { kind: 'Status', message: 'pods is forbidden: User "system:serviceaccount:x" cannot list resource "pods"' });
      return send(200, { kind: 'PodList', items: [...world.pods.values()].map(podJson) });
    }
    const del = new RegExp(`^/api/v1/namespaces/${NS}/pods/([^/]+)$`).exec(url.pathname);
    if (req.method === 'DELETE' && del) {
      const name = decodeURIComponent(del[1]!);
      const body = await readBody(req);
      world.deletes.push({ name, body, auth: req.headers['authorization'] });
      world.inFlightDeletes++;
      world.maxInFlightDeletes = Math.max(world.maxInFlightDeletes, world.inFlightDeletes);
      // Hold every answer until `holdDeletesUntil` DELETEs are in flight (or 300 ms pass): concurrent deletes all
      // overlap, sequential ones never would.
      const until = Date.now() + 300;
      while (world.inFlightDeletes < (world.holdDeletesUntil ?? 1) && Date.now() < until) await new Promise((r) => setTimeout(r, 2));
      world.inFlightDeletes--;
      if (world.deleteStatus) return send(world.deleteStatus, { kind: 'Status', message: 'gone' });
      const old = world.pods.get(name);
      if (!old) return send(404, { kind: 'Status', message: `pods "${name}" not found` });
      // The controller recreates it on the update revision; Ready a few polls later.
      const pod: Pod = { name, uid: `uid-${++uidCounter}`, hash: world.updateRevision, owner: 'rollcall', ready: false };
      world.pods.set(name, pod);
      pendingBecomesReady.push({ pod, atGet: world.stsGets + world.readyAfterGets });
      return send(200, { kind: 'Pod' });
    }
    send(404, { kind: 'Status', message: `stand-in does not implement ${req.method} ${url.pathname}` });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => {
  server.closeAllConnections();
  server.close();
});

beforeEach(() => {
  pendingBecomesReady = [];
});

const opts = (extra: Partial<RecreateOptions> = {}): RecreateOptions => ({ namespace: NS, name: 'rollcall', timeoutMs: 3000, intervalMs: 5, ...extra });

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

  test('a pod already gone (404) or already replaced (409) counts as done', async () => {
    for (const status of [404, 409]) {
      world = newWorld([['rollcall-0', 'rollcall-old']], { deleteStatus: status });
      const result = await recreate(urlClient(api), opts({ timeoutMs: 0 }));
      assert.deepEqual(result.deleted, ['rollcall-0'], `status ${status}`);
    }
  });

  test('a missing StatefulSet is an error naming it', async () => {
    world = newWorld([]);
    await assert.rejects(recreate(urlClient(api), opts({ name: 'nope' })), /GET \/apis\/apps\/v1\/namespaces\/rollcall-recreate\/statefulsets\/nope answered 404/);
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

  test('optionsFromEnv has defaults and rejects bad numbers', () => {
    assert.deepEqual(optionsFromEnv({ RECREATE_NAMESPACE: 'n' }), { namespace: 'n', name: 'rollcall', timeoutMs: 300_000, intervalMs: 2_000 });
    assert.throws(() => optionsFromEnv({ RECREATE_NAMESPACE: 'n', RECREATE_TIMEOUT_MS: 'soon' }), /RECREATE_TIMEOUT_MS/);
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
