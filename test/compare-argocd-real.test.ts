// `rollcall compare --cluster local --delivery argocd` (rehearsal/cluster/kube/argocd.ts): every apply is a commit of
// the rendered overlay, one Application per run namespace with the bundle's sync policy, a refresh request per push;
// the delivery reads the real operation back. Here against an in-memory API and repository; the real run is in
// testing/cluster/compare-argocd.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ArgoCdApplier, COMPARE_PROJECT, realArgocdDelivery } from '../rehearsal/cluster/kube/argocd.ts';
import type { KubeConnection } from '../rehearsal/cluster/kube/connection.ts';
import type { K8sObject } from '../bundle/types.ts';
import type { ClusterControl } from '../rehearsal/run/delivery.ts';
import type { RolloutPlan } from '../rehearsal/plan.ts';

/** Objects by API path; every request logged. */
function fakeKube() {
  const objects = new Map<string, Record<string, unknown>>();
  const log: { method: string; path: string; body?: unknown }[] = [];
  const kube = {
    async request(method: string, p: string, body?: unknown) {
      log.push({ method, path: p, body });
      if (method === 'POST') {
        const o = body as { metadata: { name: string } };
        objects.set(`${p}/${o.metadata.name}`, structuredClone(o) as Record<string, unknown>);
      } else if (method === 'PATCH') {
        const o = objects.get(p);
        if (!o) throw new Error(`404 ${p}`);
        const patch = body as { metadata?: { annotations?: Record<string, string> }; spec?: Record<string, unknown> };
        if (patch.metadata?.annotations) o['metadata'] = { ...(o['metadata'] as object), annotations: patch.metadata.annotations };
        if (patch.spec) o['spec'] = { ...(o['spec'] as object), ...patch.spec };
      } else if (method === 'DELETE') {
        objects.delete(p);
      }
      return undefined;
    },
    async find(p: string) {
      return objects.get(p);
    },
    async get(p: string) {
      const o = objects.get(p);
      if (!o) throw new Error(`404 ${p}`);
      return o;
    },
  };
  return { kube: kube as unknown as KubeConnection, objects, log };
}

/** A repository that writes the working copy and counts commits. */
function fakeRepo(work: string) {
  let n = 0;
  return {
    url: 'file:///tmp/manifests.git',
    revision: 'main',
    async commit(_message: string, change: (w: string) => Promise<void>) {
      await change(work);
      n += 1;
      return `c0mmit${String(n).padStart(2, '0')}aaaaaaaaaa`;
    },
  };
}

const bundleApplication = {
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'Application',
  metadata: { name: 'rollcall-rolling' },
  spec: {
    syncPolicy: { automated: { prune: true, selfHeal: true }, retry: { limit: 2, backoff: { duration: '10s', factor: 2, maxDuration: '1m' } } },
    ignoreDifferences: [{ group: 'apps', kind: 'StatefulSet', jsonPointers: ['/spec/updateStrategy/rollingUpdate/maxUnavailable'] }],
  },
} as unknown as K8sObject;
const APP = '/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/rollcall-compare-rolling';
const objectsOf = (name: string) => [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'rollcall', namespace: name } }] as K8sObject[];

test('each apply commits the rendered overlay; the first creates the project and an Application with the bundle\'s sync policy; every push asks for a refresh', async () => {
  const work = mkdtempSync(path.join(os.tmpdir(), 'rollcall-gitops-'));
  try {
    const { kube, objects, log } = fakeKube();
    const applier = new ArgoCdApplier({ kube, repo: fakeRepo(work), namespace: 'argocd', application: bundleApplication });
    await applier.apply(kube, 'rollcall-compare-rolling', objectsOf('rollcall-compare-rolling'), 'template r0');
    const docs = parseAllDocuments(readFileSync(path.join(work, 'rollcall-compare-rolling/manifests.yaml'), 'utf8')).map((d) => d.toJSON() as K8sObject);
    assert.deepEqual(docs.map((d) => d.kind), ['Namespace', 'StatefulSet']);
    const app = objects.get(APP) as { spec: Record<string, unknown>; metadata: { annotations?: Record<string, string> } };
    assert.ok(app, 'the Application was created');
    assert.equal(app.spec['project'], COMPARE_PROJECT);
    assert.deepEqual(app.spec['source'], { repoURL: 'file:///tmp/manifests.git', targetRevision: 'main', path: 'rollcall-compare-rolling' });
    assert.deepEqual(app.spec['destination'], { server: 'https://kubernetes.default.svc', namespace: 'rollcall-compare-rolling' });
    assert.deepEqual(app.spec['syncPolicy'], (bundleApplication as unknown as { spec: { syncPolicy: unknown } }).spec.syncPolicy);
    assert.deepEqual(app.spec['ignoreDifferences'], (bundleApplication as unknown as { spec: { ignoreDifferences: unknown } }).spec.ignoreDifferences);
    assert.equal(app.metadata.annotations?.['argocd.argoproj.io/refresh'], 'normal');
    const project = objects.get(`/apis/argoproj.io/v1alpha1/namespaces/argocd/appprojects/${COMPARE_PROJECT}`) as { spec: { destinations: { namespace: string }[] } };
    assert.deepEqual(project.spec.destinations.map((d) => d.namespace), ['rollcall-compare-*'], 'only the namespaces compare makes');

    await applier.apply(kube, 'rollcall-compare-rolling', objectsOf('rollcall-compare-rolling'), 'template r1');
    assert.equal(log.filter((r) => r.method === 'POST').length, 2, 'one project, one Application');
    assert.deepEqual(applier.pushes('rollcall-compare-rolling').map((p) => p.commit.slice(0, 8)), ['c0mmit01', 'c0mmit02']);

    // A relaunch: automated sync off while the StatefulSet is deleted; the next apply turns it on again.
    await applier.pause('rollcall-compare-rolling');
    assert.equal((objects.get(APP) as { spec: { syncPolicy: { automated: unknown } } }).spec.syncPolicy.automated, null);
    await applier.apply(kube, 'rollcall-compare-rolling', objectsOf('rollcall-compare-rolling'), 'template r2');
    assert.deepEqual((objects.get(APP) as { spec: { syncPolicy: { automated: unknown } } }).spec.syncPolicy.automated, { prune: true, selfHeal: true });

    await applier.forget('rollcall-compare-rolling');
    assert.equal(objects.has(APP), false, 'the Application is gone before the namespace is deleted');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

/** An applier whose Application shows `state` and whose applies record a push each. */
function scriptedApplier() {
  let n = 0;
  const pushes: { commit: string; atMs: number }[] = [];
  let listener: ((app: unknown) => void) | undefined;
  const state = {
    set current(app: Record<string, unknown>) {
      listener?.(app);
    },
  };
  const applier = {
    name: 'scripted',
    pushes: () => pushes,
    watchApplication: (_ns: string, on: (app: unknown) => void) => {
      listener = on;
      return { stop: () => (listener = undefined) };
    },
    push: () => {
      n += 1;
      pushes.push({ commit: `${String(n).repeat(8)}ffff`, atMs: performance.now() });
    },
  };
  return { applier, state };
}
const op = (revision: string, phase: string, retryCount?: number) => ({ metadata: { name: 'x' }, status: { operationState: { phase, retryCount, operation: { sync: { revision } } } } });
const plan = { overlay: 'rolling' } as RolloutPlan;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('the real delivery reports the release\'s operation as Argo CD ran it, and the revert\'s apply waits for Argo CD to start syncing it', async () => {
  const { applier, state } = scriptedApplier();
  const cluster = { setTemplate: async () => applier.push() } as unknown as ClusterControl;
  const marks: string[] = [];
  const delivery = realArgocdDelivery(applier as unknown as ArgoCdApplier)(plan);
  const origin = performance.now();
  await delivery.apply({ revision: 'r1', version: '1.0.1', env: {} }, cluster, (_k, label) => marks.push(label));
  state.current = op('11111111ffff', 'Running');
  await sleep(300);
  state.current = op('11111111ffff', 'Running', 2);
  await sleep(300);
  // Failed and the revert's operation within the same moment: a watch sees both.
  state.current = op('11111111ffff', 'Failed', 2);
  let reverted = false;
  const revert = delivery.apply({ revision: 'r0', version: '1.0.0', env: {} }, cluster, (_k, label) => marks.push(label)).then(() => (reverted = true));
  await sleep(300);
  assert.equal(reverted, false, 'not before Argo CD started the revert');
  state.current = op('22222222ffff', 'Running');
  await revert;
  const summary = delivery.summary!(origin)!;
  delivery.close?.();
  assert.equal(summary.phase, 'Failed');
  assert.equal(summary.attempts, 3);
  assert.equal(summary.hang, false);
  assert.ok(summary.endedMs! > summary.startedMs, JSON.stringify(summary));
  assert.ok(summary.revertSyncStartedMs! >= summary.revertPushedMs!, JSON.stringify(summary));
  assert.ok(marks.some((m) => /release 11111111: operation Failed \(retry 2\)/.test(m)), marks.join('\n'));
  assert.ok(marks.includes('revert sync started'));
});

test('a release\'s operation still Running at the horizon is a hang: the revert\'s apply returns and says so', async () => {
  const { applier, state } = scriptedApplier();
  const cluster = { setTemplate: async () => applier.push() } as unknown as ClusterControl;
  const delivery = realArgocdDelivery(applier as unknown as ArgoCdApplier, 1)(plan);
  await delivery.apply({ revision: 'r1', version: '1.0.1', env: {} }, cluster, () => {});
  state.current = op('11111111ffff', 'Running');
  await delivery.apply({ revision: 'r0', version: '1.0.0', env: {} }, cluster, () => {});
  const summary = delivery.summary!(performance.now())!;
  delivery.close?.();
  assert.equal(summary.hang, true);
  assert.equal(summary.phase, 'Running');
  assert.equal(summary.revertSyncStartedMs, null);
});
