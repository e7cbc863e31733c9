// What `rollcall compare --cluster` applies and reads on a real cluster, without one: the release put into the
// overlay (rehearsal/cluster/kube/manifests.ts), the pod objects read as lanes (statefulset.ts readPod/laneState), and
// the in-cluster load program (src/hooks/load.ts) against local servers. The real cluster run itself is
// testing/cluster/compare.ts (npm run test:cluster).
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { render } from '../bundle/render.ts';
import { repoRoot } from '../bundle/schema.ts';
import type { K8sObject } from '../bundle/types.ts';
import { routedColourOf } from '../rehearsal/cluster/kube/blue-green.ts';
import { ANALYSIS_KINDS, blueGreenObjects, clientServiceOf, compareNamespace, containerPort, inNamespace, loadPod, MANAGED_BY, namespaceOf, releaseObjects, REVISION_ANNOTATION, statefulSetOf } from '../rehearsal/cluster/kube/manifests.ts';
import { checkPodSpec } from '../rehearsal/model/container-allowlist.ts';
import { laneState, readPod } from '../rehearsal/cluster/kube/statefulset.ts';
import { loadSettings, resultsServer, ServiceLoad, type LoadOutcome } from '../src/hooks/load.ts';
import { renderer, requireRenderer } from '../testing/support/renderer.ts';

const rolling = () => render(renderer!, 'kustomize/overlays/rolling', repoRoot).then((r) => r.objects);
type Container = { name: string; env?: { name: string; value?: string }[] };
const web = (objects: K8sObject[]) => (statefulSetOf(objects).spec.template.spec.containers as Container[])[0]!;
const envOf = (c: Container) => Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));

describe('the release as --cluster applies it', () => {
  test('the StatefulSet gets the version and the bad release in its env, and the revision as an annotation', async (t) => {
    if (!requireRenderer(t)) return;
    const objects = await rolling();
    const out = releaseObjects(objects, { revision: 'r2', version: '1.0.2', env: { BAD_RELEASE: 'crash' } });
    const sts = statefulSetOf(out);
    assert.equal(sts.spec.template.metadata?.annotations?.[REVISION_ANNOTATION], 'r2');
    assert.equal(envOf(web(out))['APP_VERSION'], '1.0.2');
    assert.equal(envOf(web(out))['BAD_RELEASE'], 'crash');
    // Applied twice (release, then revert), the env holds one entry per name, the revert's.
    const reverted = releaseObjects(out, { revision: 'r1', version: '1.0.1', env: {} });
    const names = (web(reverted).env ?? []).map((e) => e.name);
    assert.equal(names.filter((n) => n === 'APP_VERSION').length, 1);
    assert.equal(envOf(web(reverted))['APP_VERSION'], '1.0.1');
    assert.equal(envOf(web(reverted))['BAD_RELEASE'], 'crash', 'a revert template without BAD_RELEASE is applied to the rendered overlay, not to the release');
    assert.equal(envOf(web(releaseObjects(objects, { revision: 'r1', version: '1.0.1', env: {} })))['BAD_RELEASE'], undefined);
    // The rendered objects are not changed.
    assert.equal(envOf(web(objects))['BAD_RELEASE'], undefined);
  });

  test('the namespace is labelled as made by rollcall, the smoke hook expects the release\'s version', async (t) => {
    if (!requireRenderer(t)) return;
    const out = releaseObjects(await rolling(), { revision: 'r1', version: '1.0.1', env: {} });
    const ns = out.find((o) => o.kind === 'Namespace')!;
    assert.equal(ns.metadata?.labels?.[MANAGED_BY.key], MANAGED_BY.value);
    const smoke = out.find((o) => o.kind === 'Job' && o.metadata?.name === 'rollcall-smoke') as { spec: { template: { spec: { containers: Container[] } } } } | undefined;
    assert.ok(smoke, 'the rolling overlay has its smoke hook');
    assert.equal(envOf(smoke.spec.template.spec.containers[0]!)['SMOKE_EXPECTED_VERSION'], '1.0.1');
  });

  test('the client Service, the port, the namespace, and a load pod that runs as the web pods do', async (t) => {
    if (!requireRenderer(t)) return;
    const objects = await rolling();
    assert.deepEqual(clientServiceOf(objects), { name: 'rollcall', port: 5000 });
    assert.equal(containerPort(objects), 5000);
    assert.equal(namespaceOf(objects), 'rollcall-rolling');
    const pod = loadPod(objects, { url: 'http://10.96.0.9:5000', connections: 4, rate: 40, seconds: 60, port: 8080, keepAlive: true }) as K8sObject & { spec: { securityContext?: unknown; containers: { image: string; command: string[]; securityContext?: unknown }[] } };
    const sts = statefulSetOf(objects).spec.template.spec as { securityContext?: unknown; containers: { image: string; securityContext?: unknown }[] };
    assert.equal(pod.metadata?.namespace, 'rollcall-rolling');
    assert.equal(pod.spec.containers[0]!.image, sts.containers[0]!.image);
    assert.deepEqual(pod.spec.containers[0]!.command, ['node', '/app/hooks/load.js']);
    assert.deepEqual(pod.spec.securityContext, sts.securityContext);
    assert.deepEqual(pod.spec.containers[0]!.securityContext, sts.containers[0]!.securityContext);
    // What the node agent (and the rehearsal's planner) allow a container to run: the load passes.
    assert.deepEqual(checkPodSpec(pod.spec), { ok: true });
    // Not selected by the Service: the load is a client, never an endpoint.
    const selector = (objects.find((o) => o.kind === 'Service' && o.metadata?.name === 'rollcall') as { spec: { selector: Record<string, string> } }).spec.selector;
    assert.ok(!Object.entries(selector).every(([k, v]) => pod.metadata?.labels?.[k] === v));
  });

  test('moved to its own namespace: every object, and the RoleBinding\'s service account', async (t) => {
    if (!requireRenderer(t)) return;
    const objects = (await render(renderer!, 'kustomize/overlays/recreate', repoRoot)).objects;
    const moved = inNamespace(objects, compareNamespace('recreate'));
    assert.equal(namespaceOf(moved), 'rollcall-compare-recreate');
    assert.equal(moved.find((o) => o.kind === 'Namespace')?.metadata?.name, 'rollcall-compare-recreate');
    assert.ok(moved.every((o) => o.kind === 'Namespace' || o.metadata?.namespace === 'rollcall-compare-recreate'), 'every namespaced object moved');
    const binding = moved.find((o) => o.kind === 'RoleBinding') as { subjects: { namespace?: string }[] } | undefined;
    assert.ok(binding, 'the recreate overlay binds its hook\'s Role');
    assert.ok(binding.subjects.every((s) => s.namespace === 'rollcall-compare-recreate'));
    assert.ok(!JSON.stringify(moved).includes('"namespace":"rollcall-recreate"'), 'no reference to the old namespace is left');
  });

  test('canary-analysis: the AnalysisRun and its template are left out (the rehearsal\'s analysis reads the real pod)', async (t) => {
    if (!requireRenderer(t)) return;
    const objects = (await render(renderer!, 'kustomize/overlays/canary-analysis', repoRoot)).objects;
    assert.ok(objects.some((o) => o.kind === 'AnalysisRun') && objects.some((o) => o.kind === 'AnalysisTemplate'));
    const applied = releaseObjects(objects, { revision: 'r1', version: '1.0.1', env: {} });
    assert.deepEqual(applied.filter((o) => ANALYSIS_KINDS.includes(String(o.kind))), []);
    assert.equal(applied.length, objects.length - 2, 'everything else is applied');
  });

  test('two StatefulSets: one is asked for by name; without a name, or by a name it lacks, refused', () => {
    const sts = { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'a' } };
    const two = [sts, { ...sts, metadata: { name: 'b' } }];
    assert.throws(() => statefulSetOf(two), /one StatefulSet \(or blue-green's two, by name\); this one has 2/);
    assert.equal(statefulSetOf(two, 'b').metadata?.name, 'b');
    assert.throws(() => statefulSetOf(two, 'c'), /no StatefulSet c \(it has a, b\)/);
  });
});

describe('blue-green as --cluster applies it: one commit, one declared state', () => {
  const sets = (objects: K8sObject[]) => Object.fromEntries(objects.filter((o) => o.kind === 'StatefulSet').map((o) => [o.metadata!.name!, o as ReturnType<typeof statefulSetOf>]));
  const selector = (objects: K8sObject[], name: string) => (objects.find((o) => o.kind === 'Service' && o.metadata?.name === name) as { spec: { selector: Record<string, string> } }).spec.selector['rollcall/colour'];

  test('each colour at its own release and replicas; the client Service on the active colour, the preview on the other', async (t) => {
    if (!requireRenderer(t)) return;
    const objects = (await render(renderer!, 'kustomize/overlays/blue-green', repoRoot)).objects;
    const v1 = { revision: 'blue-r0', version: '1.0.0', env: {} };
    const v2 = { revision: 'green-r1', version: '1.0.1', env: { BAD_RELEASE: 'crash' } };
    // The release commit: green at v2 with blue's replicas, blue still active.
    const release = blueGreenObjects(objects, { active: 'blue', colours: { blue: { version: '1.0.0', replicas: 3 }, green: { version: '1.0.1', replicas: 3 } } }, { blue: v1, green: v2 });
    const s = sets(release);
    assert.equal(s['rollcall-blue']!.spec.replicas, 3);
    assert.equal(s['rollcall-green']!.spec.replicas, 3);
    assert.equal(s['rollcall-blue']!.spec.template.metadata?.annotations?.[REVISION_ANNOTATION], 'blue-r0');
    assert.equal(s['rollcall-green']!.spec.template.metadata?.annotations?.[REVISION_ANNOTATION], 'green-r1');
    assert.equal(envOf(web([s['rollcall-green']!]))['APP_VERSION'], '1.0.1');
    assert.equal(envOf(web([s['rollcall-green']!]))['BAD_RELEASE'], 'crash');
    assert.equal(envOf(web([s['rollcall-blue']!]))['BAD_RELEASE'], undefined, 'the active colour keeps its release');
    assert.deepEqual([selector(release, 'rollcall'), selector(release, 'rollcall-preview')], ['blue', 'green']);
    // The switch commit: the client Service to green, the preview to blue; the smoke hook expects green's version.
    const switched = blueGreenObjects(objects, { active: 'green', colours: { blue: { version: '1.0.0', replicas: 3 }, green: { version: '1.0.1', replicas: 3 } } }, { blue: v1, green: v2 });
    assert.deepEqual([selector(switched, 'rollcall'), selector(switched, 'rollcall-preview')], ['green', 'blue']);
    const smoke = switched.find((o) => o.kind === 'Job' && o.metadata?.name === 'rollcall-smoke') as { spec: { template: { spec: { containers: Container[] } } } };
    assert.equal(envOf(smoke.spec.template.spec.containers[0]!)['SMOKE_EXPECTED_VERSION'], '1.0.1');
    // The scale-down commit: blue at 0, its release kept in the manifest.
    const down = blueGreenObjects(objects, { active: 'green', colours: { blue: { version: '1.0.0', replicas: 0 }, green: { version: '1.0.1', replicas: 3 } } }, { blue: v1, green: v2 });
    assert.equal(sets(down)['rollcall-blue']!.spec.replicas, 0);
    // The headless Service selects both colours, untouched; the rendered objects are not changed.
    assert.equal(selector(down, 'rollcall-headless'), undefined);
    assert.equal(selector(objects, 'rollcall'), 'blue');
    assert.deepEqual(clientServiceOf(objects, 'rollcall-blue'), { name: 'rollcall', port: 5000 });
  });

  test('the colour the client Service routes to is read from its endpoints\' pods', () => {
    assert.equal(routedColourOf(['rollcall-green-0', 'rollcall-green-1'], 'blue'), 'green', 'the endpoints, not the declared selector, say where traffic goes');
    assert.equal(routedColourOf([], 'green'), 'green', 'no endpoint: the declared colour');
    assert.equal(routedColourOf(['rollcall-blue-0', 'rollcall-green-0'], 'green'), 'green', 'a tie: the declared colour');
    assert.equal(routedColourOf(['rollcall-blue-0', 'rollcall-blue-1', 'rollcall-green-0', undefined], 'green'), 'blue');
  });
});

describe('pods read as lanes', () => {
  const pod = (over: { ready?: boolean; restarts?: number; waiting?: string; deleting?: boolean; phase?: string }) =>
    readPod({
      metadata: { name: 'rollcall-0', uid: 'u1', labels: { 'controller-revision-hash': 'rollcall-abc' }, annotations: { [REVISION_ANNOTATION]: 'r1' }, ...(over.deleting ? { deletionTimestamp: '2026-12-03T00:00:00Z' } : {}) },
      status: {
        phase: over.phase ?? 'Running',
        conditions: [{ type: 'Ready', status: over.ready ? 'True' : 'False' }],
        containerStatuses: [{ restartCount: over.restarts ?? 0, state: over.waiting ? { waiting: { reason: over.waiting } } : { running: {} } }],
      },
    });
  test('revision from the annotation, hash from the label', () => {
    assert.equal(pod({}).revision, 'r1');
    assert.equal(pod({}).hash, 'rollcall-abc');
  });
  test('ready, starting, crash-loop (a restart or CrashLoopBackOff), terminating, none', () => {
    assert.equal(laneState(pod({ ready: true })), 'ready');
    assert.equal(laneState(pod({})), 'starting');
    assert.equal(laneState(pod({ restarts: 1 })), 'crash-loop');
    assert.equal(laneState(pod({ waiting: 'CrashLoopBackOff' })), 'crash-loop');
    assert.equal(laneState(pod({ ready: true, deleting: true })), 'terminating');
    assert.equal(laneState(undefined), 'not-running');
    assert.equal(pod({ phase: 'Failed' }).failed, true);
    assert.equal(pod({}).started, true, 'running');
    assert.equal(pod({ waiting: 'ContainerCreating' }).started, false, 'not started yet: the pod start latency is still running');
    assert.equal(pod({ waiting: 'CrashLoopBackOff', restarts: 2 }).started, true, 'it ran before');
  });
});

describe('the in-cluster load program (src/hooks/load.ts)', () => {
  test('a wrong setting names its variable', () => {
    assert.throws(() => loadSettings({}), /LOAD_URL is required/);
    assert.throws(() => loadSettings({ LOAD_URL: 'nope' }), /LOAD_URL "nope" is not a URL/);
    assert.throws(() => loadSettings({ LOAD_URL: 'https://x' }), /only http:\/\//);
    assert.throws(() => loadSettings({ LOAD_URL: 'http://x', LOAD_RATE: '0' }), /LOAD_RATE "0": a number from 1/);
    assert.throws(() => loadSettings({ LOAD_URL: 'http://x', LOAD_CONNECTIONS: '-1' }), /LOAD_CONNECTIONS "-1"/);
    assert.equal(loadSettings({ LOAD_URL: 'http://x:5000' }).connections, 4);
    assert.equal(loadSettings({ LOAD_URL: 'http://x:5000' }).keepAlive, true);
    assert.equal(loadSettings({ LOAD_URL: 'http://x:5000', LOAD_KEEPALIVE: 'false' }).keepAlive, false);
    assert.throws(() => loadSettings({ LOAD_URL: 'http://x', LOAD_KEEPALIVE: 'yes' }), /LOAD_KEEPALIVE "yes": true or false/);
  });

  test('each client keeps its connection (so its pod), outcomes are paged and the clients stop on POST /stop', async () => {
    // Two "pods" behind one port: the server answers with the pod of the socket's first request, as kube-proxy
    // pins a connection to the endpoint it picked.
    let sockets = 0;
    const server = http.createServer((req, res) => {
      const socket = req.socket as typeof req.socket & { pod?: string };
      socket.pod ??= `pod-${sockets++ % 2}`;
      res.writeHead(socket.pod === 'pod-1' ? 500 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ visit: 1, pod: socket.pod, version: '1.0.0' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const load = new ServiceLoad(loadSettings({ LOAD_URL: `http://127.0.0.1:${port}`, LOAD_CONNECTIONS: '2', LOAD_RATE: '100' }));
    const results = resultsServer(load);
    await new Promise<void>((resolve) => results.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(results.address() as AddressInfo).port}`;
    try {
      // Until both clients have answers of their own (a busy machine paces slower than 100/s).
      type Page = { running: boolean; total: number; outcomes: LoadOutcome[] };
      let page: Page;
      for (let tries = 0; ; tries++) {
        page = (await (await fetch(`${base}/outcomes?from=0`)).json()) as Page;
        if ((page.outcomes.some((o) => o.pod === 'pod-0') && page.outcomes.some((o) => o.pod === 'pod-1') && page.outcomes.length >= 10) || tries > 100) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.equal(page.running, true);
      assert.ok(page.outcomes.length >= 10, `${page.outcomes.length} outcomes`);
      assert.equal(sockets, 2, 'two clients, two connections, however many requests');
      assert.ok(page.outcomes.some((o) => o.ok && o.pod === 'pod-0' && o.visit === 1));
      assert.ok(page.outcomes.some((o) => !o.ok && o.pod === 'pod-1' && o.error === 'HTTP 500'));
      const stopped = (await (await fetch(`${base}/stop`, { method: 'POST' })).json()) as { running: boolean; total: number };
      assert.equal(stopped.running, false);
      const rest = (await (await fetch(`${base}/outcomes?from=${page.outcomes.length}`)).json()) as { total: number; outcomes: LoadOutcome[] };
      assert.equal(page.outcomes.length + rest.outcomes.length, stopped.total, 'paging from where the last page ended reads every outcome once');
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(((await (await fetch(`${base}/outcomes?from=0`)).json()) as { total: number }).total, stopped.total, 'nothing sent after the stop');
      assert.equal((await fetch(`${base}/outcomes?from=-1`)).status, 400);
    } finally {
      await load.stop();
      results.close();
      server.close();
    }
  });

  test('a refused connection is an outcome naming the error, not a crash', async () => {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    server.close();
    const load = new ServiceLoad(loadSettings({ LOAD_URL: `http://127.0.0.1:${port}`, LOAD_CONNECTIONS: '1', LOAD_RATE: '50' }));
    await new Promise((resolve) => setTimeout(resolve, 200));
    await load.stop();
    assert.ok(load.outcomes.length > 0);
    assert.ok(load.outcomes.every((o) => !o.ok && o.error === 'ECONNREFUSED'), JSON.stringify(load.outcomes[0]));
  });
});
