// Every overlay of the bundle on the real control plane with the node agent as its node: applied server-side into a
// namespace that enforces Pod Security `restricted` (accepted, no warning), then launched by the real StatefulSet
// controller, scheduler and PV binder: pods scheduled, claims bound by the agent's provisioner, every pod Running
// and Ready, each counting its own visits in its own visits.json (different counts per pod), and a pod deleted and
// re-created by the StatefulSet keeping its count. One overlay at a time (each namespace deleted before the next),
// so the machine runs three replicas at once, not eighteen.
// Not named *.test.ts: `npm test` must not start a cluster; `npm run test:cluster` runs it. Needs root and Go (or a
// cached control plane binary): a skip with the reason where either is missing, a failure under CI=true.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import type { SpawnedNodeAgent } from '../../cluster/node-agent/agent.ts';
import { runKubectl } from '../../cluster/local/kubectl.ts';
import { startLocalNode } from '../../cluster/local/node.ts';
import { startControlPlane, type ControlPlane } from '../../cluster/local/control-plane.ts';
import { KubeApi, loadKubeConfig } from '../../cluster/node-agent/kube-api.ts';
import { buildImageDir } from '../../cluster/local/bundle-image.ts';
import { bundleTag, eventually, whyNoNodeSuite } from '../support/cluster-helpers.ts';

const exec = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
// Its own name and transit subnet: a control plane started by hand, or by another test file, is left alone.
const OPTIONS = { name: 'rc-agent', subnet: 202, nodeName: 'agent-node' };
const LAUNCH_TIMEOUT_MS = 240_000;

const reason = whyNoNodeSuite();
if (reason && process.env['CI'] === 'true') {
  test('the node agent can run here (CI=true)', () => assert.fail(reason));
}

const overlays = readdirSync(path.join(root, 'kustomize/overlays')).filter((d) => existsSync(path.join(root, 'kustomize/overlays', d, 'kustomization.yaml'))).sort();

interface Pod {
  metadata: { name: string; uid: string; ownerReferences?: { kind: string }[]; deletionTimestamp?: string };
  spec: { nodeName?: string; volumes?: { name: string; persistentVolumeClaim?: { claimName: string } }[] };
  status: { phase?: string; podIP?: string; conditions?: { type: string; status: string }[]; containerStatuses?: { restartCount: number }[] };
}

const isReady = (p: Pod) => p.status.phase === 'Running' && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

/** Minimal CRDs for the two Argo Rollouts kinds the canary-analysis overlay holds, so the API server serves them.
 * Their schema here accepts any object: the real CRDs come with Argo Rollouts itself (not installed here). */
function analysisCrds(): object[] {
  return [
    ['AnalysisRun', 'analysisruns'],
    ['AnalysisTemplate', 'analysistemplates'],
  ].map(([kind, plural]) => ({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.argoproj.io` },
    spec: {
      group: 'argoproj.io',
      scope: 'Namespaced',
      names: { kind, plural, singular: kind!.toLowerCase(), listKind: `${kind}List` },
      versions: [{ name: 'v1alpha1', served: true, storage: true, subresources: { status: {} }, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
    },
  }));
}

/** Runs `fn`'s source inside the control plane's network namespace (where pod IPs are routed) and answers its JSON. */
async function inNamespace<T>(netns: string, source: string, input: unknown): Promise<T> {
  const { stdout } = await exec('nsenter', [`--net=/run/netns/${netns}`, '--', process.execPath, '--input-type=module', '-e', source, JSON.stringify(input)], {
    timeout: 60_000,
  });
  return JSON.parse(stdout) as T;
}

/** GET / `count` times on a pod, as a client would; answers each visit's JSON. */
const VISIT = `
const [url, count] = JSON.parse(process.argv[1]);
const out = [];
for (let i = 0; i < count; i++) {
  const res = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(10000) });
  out.push({ status: res.status, body: await res.json() });
}
process.stdout.write(JSON.stringify(out));
`;

describe('the bundle on the real control plane, run by the node agent', { skip: reason ?? false }, () => {
  let cp: ControlPlane;
  let agent: SpawnedNodeAgent;
  let api: KubeApi;
  let tmp: string;
  const figures: Record<string, number> = {};

  const kubectl = (args: string[], input?: string) => runKubectl({ kubeconfig: cp.kubeconfigs.admin }, args, input);

  before(
    async () => {
      tmp = mkdtempSync(path.join(os.tmpdir(), 'rollcall-node-agent-'));
      // The pods' user (10001) must reach the image build and its volumes below this directory.
      chmodSync(tmp, 0o711);
      // CONTROLPLANE_BINARY: a binary built elsewhere (default: the cached build, made when missing).
      const binary = process.env['CONTROLPLANE_BINARY'];
      cp = await startControlPlane({ ...OPTIONS, ...(binary ? { binary } : {}), stateDir: path.join(tmp, 'control-plane'), log: (line) => console.log(`# ${line}`) });
      const tag = bundleTag();
      const imageDir = path.join(tmp, 'images', tag);
      await buildImageDir(imageDir);
      const started = performance.now();
      agent = await startLocalNode(cp, { dir: tmp, images: new Map([[tag, imageDir]]) });
      figures['agent registered (ms)'] = Math.round(performance.now() - started);
      api = new KubeApi(loadKubeConfig(cp.kubeconfigs.admin));
      for (const crd of analysisCrds()) await api.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
    },
    { timeout: 3_600_000 },
  );

  after(async () => {
    console.log(`# figures: ${JSON.stringify(figures)}`);
    await agent?.stop();
    await api?.close();
    await cp?.stop();
    if (tmp && !process.env['KEEP_CLUSTER_TMP']) rmSync(tmp, { recursive: true, force: true });
    else if (tmp) console.log(`# kept ${tmp}`);
  });

  test('the node registers Ready with a Lease, and the default StorageClass is the provisioner’s', async () => {
    const node = await api.get<{ status: { conditions: { type: string; status: string }[]; addresses: { type: string; address: string }[]; nodeInfo: { kubeletVersion: string } } }>(
      `/api/v1/nodes/${agent.nodeName}`,
    );
    assert.equal(node.status.conditions.find((c) => c.type === 'Ready')?.status, 'True');
    assert.ok(node.status.addresses.some((a) => a.type === 'InternalIP'));
    const version = await api.get<{ gitVersion: string }>('/version');
    assert.equal(node.status.nodeInfo.kubeletVersion, version.gitVersion);
    const lease = await api.get<{ spec: { holderIdentity: string; renewTime: string } }>(`/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${agent.nodeName}`);
    assert.equal(lease.spec.holderIdentity, agent.nodeName);
    const classes = await api.get<{ items: { metadata: { name: string; annotations?: Record<string, string> }; provisioner: string; volumeBindingMode: string }[] }>(
      '/apis/storage.k8s.io/v1/storageclasses',
    );
    const defaults = classes.items.filter((c) => c.metadata.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true');
    assert.deepEqual(defaults.map((c) => [c.provisioner, c.volumeBindingMode]), [['rollcall.dev/hostpath', 'WaitForFirstConsumer']]);
  });

  // Every pod here runs the project's own programs (the service, the hooks), switched by the variables the container
  // allowlist permits (BAD_RELEASE, SHUTDOWN_DRAIN_MS, SMOKE_URLS...): the agent refuses anything else.
  describe('pods run by the agent', () => {
    const ns = 'agent-pods';
    let image = '';
    type Status = {
      phase?: string;
      reason?: string;
      podIP?: string;
      conditions?: { type: string; status: string }[];
      containerStatuses?: {
        restartCount: number;
        state: { waiting?: { reason: string }; running?: { startedAt: string }; terminated?: { exitCode: number; reason: string } };
        lastState: { terminated?: { exitCode: number } };
      }[];
    };
    type Env = { name: string; value?: string; valueFrom?: unknown }[];
    const podStatus = async (name: string) => (await api.find<{ status: Status }>(`/api/v1/namespaces/${ns}/pods/${name}`))?.status;
    const container = (s: Status | undefined) => s?.containerStatuses?.[0];
    const ready = (s: Status | undefined) => s?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
    const finished = async (name: string) => {
      const st = await podStatus(name);
      return st?.phase === 'Succeeded' || st?.phase === 'Failed' ? st : undefined;
    };
    const podName = { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } };
    /** The service with a scratch volume for its counter, and `env`/`extra` on its container. */
    const serviceSpec = (env: Env = [], extra: Record<string, unknown> = {}) => ({
      automountServiceAccountToken: false,
      securityContext: { runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001, runAsNonRoot: true },
      containers: [{ name: 'c', image, ports: [{ name: 'http', containerPort: 5000 }], env: [podName, ...env], volumeMounts: [{ name: 'data', mountPath: '/app/data' }], ...extra }],
      volumes: [{ name: 'data', emptyDir: {} }],
    });
    const hookSpec = (hook: string, env: Env, extra: Record<string, unknown> = {}) => ({
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      securityContext: { runAsUser: 10001, runAsGroup: 10001, runAsNonRoot: true },
      ...extra,
      containers: [{ name: 'c', image, command: ['node', `/app/hooks/${hook}.js`], env }],
    });
    const makePod = (name: string, spec: Record<string, unknown>) =>
      api.request('POST', `/api/v1/namespaces/${ns}/pods`, { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns, labels: { test: name } }, spec });
    let webIP = '';

    before(async () => {
      image = `ghcr.io/rollcall/rollcall:${bundleTag()}`;
      await api.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
      await eventually('the default service account', 30_000, async () => api.find(`/api/v1/namespaces/${ns}/serviceaccounts/default`));
      // A one-replica StatefulSet of the service: the target of the smoke and recreate hooks below.
      await api.request('POST', `/apis/apps/v1/namespaces/${ns}/statefulsets`, {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name: 'web' },
        spec: {
          replicas: 1,
          serviceName: 'web',
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: serviceSpec([], { readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 1 } }),
          },
        },
      });
      const web = await eventually('web-0 Ready', 60_000, async () => {
        const st = await podStatus('web-0');
        return ready(st) ? st : undefined;
      });
      webIP = web.podIP ?? '';
    });
    after(async () => {
      await api.request('DELETE', `/api/v1/namespaces/${ns}`).catch(() => undefined);
    });

    test('a container that keeps exiting is restarted with back-off: CrashLoopBackOff, restartCount, lastState', { timeout: 90_000 }, async () => {
      await makePod('crash', serviceSpec([{ name: 'BAD_RELEASE', value: 'crash:100' }]));
      const seen = new Map<number, number>();
      const s = await eventually('two restarts', 60_000, async () => {
        const st = await podStatus('crash');
        const cs = container(st);
        if (cs && !seen.has(cs.restartCount)) seen.set(cs.restartCount, Date.now());
        return cs && cs.restartCount >= 2 && cs.state.waiting?.reason === 'CrashLoopBackOff' ? st : undefined;
      });
      assert.equal(s.phase, 'Running', 'restarting pods are Running (getPhase)');
      assert.equal(container(s)?.lastState.terminated?.exitCode, 1, 'BAD_RELEASE=crash exits 1');
      // rehearsal/model/kubelet.ts: the first restart at once, the second after 10 s.
      const gap = (seen.get(2) ?? 0) - (seen.get(1) ?? 0);
      assert.ok(gap >= 9_000 && gap < 20_000, `10 s back-off between the first and second restart, saw ${gap} ms`);
      figures['back-off before the 2nd restart (ms)'] = gap;
    });

    test('pods with restartPolicy Never end Succeeded or Failed with their exit codes (the smoke hook)', { timeout: 60_000 }, async () => {
      await makePod('smoke-ok', hookSpec('smoke', [{ name: 'SMOKE_URLS', value: `http://${webIP}:5000` }]));
      await makePod('smoke-bad', hookSpec('smoke', [{ name: 'SMOKE_URLS', value: 'http://10.88.255.254:5000' }, { name: 'SMOKE_TIMEOUT_MS', value: '2000' }]));
      const ok = await eventually('smoke-ok finished', 45_000, () => finished('smoke-ok'));
      assert.equal(ok.phase, 'Succeeded');
      assert.deepEqual([container(ok)?.state.terminated?.exitCode, container(ok)?.state.terminated?.reason], [0, 'Completed']);
      const bad = await eventually('smoke-bad finished', 45_000, () => finished('smoke-bad'));
      assert.equal(bad.phase, 'Failed');
      assert.notEqual(container(bad)?.state.terminated?.exitCode, 0);
      assert.equal(container(bad)?.state.terminated?.reason, 'Error');
      assert.equal(bad.conditions?.find((c) => c.type === 'Ready')?.status, 'False');
    });

    test("the projected token (TokenRequest) authenticates the recreate hook as its service account, within its Role", { timeout: 60_000 }, async () => {
      const rbac = 'rbac.authorization.k8s.io/v1';
      await api.request('POST', `/api/v1/namespaces/${ns}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'recreater' } });
      // What kustomize/overlays/recreate/role.yaml grants.
      await api.request('POST', `/apis/${rbac}/namespaces/${ns}/roles`, {
        apiVersion: rbac,
        kind: 'Role',
        metadata: { name: 'recreater' },
        rules: [
          { apiGroups: ['apps'], resources: ['statefulsets'], verbs: ['get'] },
          { apiGroups: [''], resources: ['pods'], verbs: ['list', 'delete'] },
        ],
      });
      await api.request('POST', `/apis/${rbac}/namespaces/${ns}/rolebindings`, {
        apiVersion: rbac,
        kind: 'RoleBinding',
        metadata: { name: 'recreater' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'recreater' },
        subjects: [{ kind: 'ServiceAccount', name: 'recreater', namespace: ns }],
      });
      const env = [
        { name: 'RECREATE_STATEFULSET', value: 'web' },
        { name: 'RECREATE_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
        { name: 'RECREATE_TIMEOUT_MS', value: '0' },
      ];
      await makePod('recreate-allowed', hookSpec('recreate-hook', env, { serviceAccountName: 'recreater', automountServiceAccountToken: true }));
      await makePod('recreate-denied', hookSpec('recreate-hook', env, { serviceAccountName: 'default', automountServiceAccountToken: true }));
      const allowed = await eventually('recreate-allowed finished', 45_000, () => finished('recreate-allowed'));
      assert.equal(allowed.phase, 'Succeeded', 'GET statefulsets/web and list pods with its own token: nothing stale, exit 0');
      const denied = await eventually('recreate-denied finished', 45_000, () => finished('recreate-denied'));
      assert.equal(denied.phase, 'Failed', 'the default service account has no Role: 403, exit 1');
      assert.equal(container(denied)?.state.terminated?.exitCode, 1);
    });

    test('deletion: SIGTERM, the grace period, SIGKILL, then the object is deleted', { timeout: 60_000 }, async () => {
      // A 60 s drain (readiness fails, the server keeps serving) is longer than the 3 s grace period: SIGKILL ends it.
      await makePod('stubborn', {
        ...serviceSpec([{ name: 'SHUTDOWN_DRAIN_MS', value: '60000' }], { readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 1 } }),
        terminationGracePeriodSeconds: 3,
      });
      await eventually('stubborn Ready', 30_000, async () => (ready(await podStatus('stubborn')) ? true : undefined));
      const started = performance.now();
      await api.request('DELETE', `/api/v1/namespaces/${ns}/pods/stubborn`);
      await eventually('stubborn gone', 30_000, async () => ((await api.find(`/api/v1/namespaces/${ns}/pods/stubborn`)) ? undefined : true));
      const took = performance.now() - started;
      assert.ok(took >= 2_900 && took < 10_000, `killed after its 3 s grace period, gone after ${Math.round(took)} ms`);
      figures['deletion with a 3 s grace period (ms)'] = Math.round(took);
    });

    test('probes: a failing liveness probe restarts the container, a failing readiness probe keeps it unready', { timeout: 90_000 }, async () => {
      await makePod(
        'unhealthy',
        serviceSpec([{ name: 'BAD_RELEASE', value: 'unready' }], {
          readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 1, failureThreshold: 1 },
          livenessProbe: { httpGet: { path: '/readyz', port: 'http' }, initialDelaySeconds: 1, periodSeconds: 1, failureThreshold: 2 },
        }),
      );
      const s = await eventually('a liveness restart', 60_000, async () => {
        const st = await podStatus('unhealthy');
        return (container(st)?.restartCount ?? 0) >= 1 ? st : undefined;
      });
      assert.equal(ready(s), false);
      const events = await api.get<{ items: { reason: string; message: string }[] }>(`/api/v1/namespaces/${ns}/events?fieldSelector=involvedObject.name=unhealthy`);
      assert.ok(events.items.some((e) => e.reason === 'Unhealthy' && /Liveness/.test(e.message)));
      assert.ok(events.items.some((e) => e.reason === 'Killing'));
    });

    test('activeDeadlineSeconds ends the pod Failed with reason DeadlineExceeded', { timeout: 60_000 }, async () => {
      await makePod('deadline', { ...serviceSpec(), restartPolicy: 'Never', activeDeadlineSeconds: 3 });
      const s = await eventually('deadline Failed', 45_000, async () => ((await podStatus('deadline'))?.phase === 'Failed' ? podStatus('deadline') : undefined));
      assert.equal(s?.reason, 'DeadlineExceeded');
    });

    test('an image this node has no build for waits in ErrImagePull / ImagePullBackOff', { timeout: 60_000 }, async () => {
      const spec = serviceSpec();
      await makePod('no-image', { ...spec, containers: [{ ...spec.containers[0], image: 'ghcr.io/rollcall/rollcall:0.0.0-missing' }] });
      const s = await eventually('image pull failure', 45_000, async () => {
        const st = await podStatus('no-image');
        return /ErrImagePull|ImagePullBackOff/.test(container(st)?.state.waiting?.reason ?? '') ? st : undefined;
      });
      assert.equal(s.phase, 'Pending');
    });

    test('a container outside the allowlist (node -e) is refused: the pod ends Failed with the field named', { timeout: 60_000 }, async () => {
      const spec = hookSpec('smoke', []);
      await makePod('refused', { ...spec, containers: [{ name: 'c', image, command: ['node', '-e', 'process.exit(0)'] }] });
      const s = await eventually('refused Failed', 30_000, async () => ((await podStatus('refused'))?.phase === 'Failed' ? podStatus('refused') : undefined));
      assert.equal(s?.reason, 'NodeAgentRefused');
      assert.match((s as { message?: string }).message ?? '', /command/);
    });
  });

  for (const overlay of overlays) {
    describe(overlay, () => {
      let namespace = '';
      let rendered = '';
      const counts = new Map<string, number>();

      test('applied server-side into a namespace enforcing Pod Security restricted: accepted, without a warning', async () => {
        const { stdout } = await exec('kubectl', ['kustomize', path.join(root, 'kustomize/overlays', overlay)], { maxBuffer: 16 << 20 });
        rendered = stdout;
        const docs = rendered.split(/^---$/m).map((d) => parseYaml(d) as { kind: string; metadata: { name: string; namespace?: string } } | null).filter((d) => d !== null);
        namespace = docs.find((d) => d.metadata.namespace)?.metadata.namespace ?? '';
        assert.ok(namespace, 'the overlay sets a namespace');
        const ns = {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: {
            name: namespace,
            labels: {
              'pod-security.kubernetes.io/enforce': 'restricted',
              'pod-security.kubernetes.io/enforce-version': 'latest',
              'pod-security.kubernetes.io/warn': 'restricted',
              'pod-security.kubernetes.io/warn-version': 'latest',
            },
          },
        };
        await api.request('POST', '/api/v1/namespaces', ns);
        const res = await kubectl(['apply', '--server-side', '--field-manager=rollcall-test', '-f', '-'], rendered);
        assert.equal(res.code, 0, `kubectl apply --server-side refused the overlay:\n${res.stderr}`);
        assert.doesNotMatch(res.stderr, /Warning|violate/i, 'no Pod Security (or other) warning');
        for (const d of docs) assert.match(res.stdout, new RegExp(`${d.metadata.name} serverside-applied`), `${d.kind}/${d.metadata.name} applied`);
      });

      test('launches: pods scheduled, claims bound, every pod Running and Ready', { timeout: LAUNCH_TIMEOUT_MS + 30_000 }, async () => {
        assert.ok(namespace, 'applied first');
        const started = performance.now();
        await eventually(`${overlay}: every StatefulSet ready`, LAUNCH_TIMEOUT_MS, async () => {
          const sets = await api.get<{ items: { spec: { replicas: number }; status: { readyReplicas?: number; availableReplicas?: number } }[] }>(
            `/apis/apps/v1/namespaces/${namespace}/statefulsets`,
          );
          return sets.items.length > 0 && sets.items.every((s) => (s.status.readyReplicas ?? 0) === s.spec.replicas && (s.status.availableReplicas ?? 0) === s.spec.replicas)
            ? true
            : undefined;
        });
        figures[`${overlay} launch (ms)`] = Math.round(performance.now() - started);
        const pods = await statefulPods(namespace);
        assert.ok(pods.length >= 3, `three replicas or more, got ${pods.map((p) => p.metadata.name).join(', ')}`);
        for (const p of pods) {
          assert.equal(p.spec.nodeName, agent.nodeName, `${p.metadata.name} scheduled to the agent's node`);
          assert.ok(isReady(p), `${p.metadata.name} Running and Ready`);
          assert.match(p.status.podIP ?? '', /^10\.88\./, `${p.metadata.name} has a pod IP`);
        }
        assert.equal(new Set(pods.map((p) => p.status.podIP)).size, pods.length, 'every pod has its own address');
        const claims = await api.get<{ items: { metadata: { name: string }; status: { phase: string } }[] }>(`/api/v1/namespaces/${namespace}/persistentvolumeclaims`);
        assert.ok(claims.items.length >= pods.length);
        for (const c of claims.items) assert.equal(c.status.phase, 'Bound', `claim ${c.metadata.name} bound`);
      });

      test('each pod counts its own visits in its own visits.json', async () => {
        const pods = await statefulPods(namespace);
        for (const [i, p] of pods.entries()) {
          const n = i + 1;
          const visits = await inNamespace<{ status: number; body: { visit: number; pod?: string } }[]>(cp.netns, VISIT, [`http://${p.status.podIP}:5000/`, n]);
          assert.deepEqual(visits.map((v) => v.status), Array(n).fill(200));
          assert.deepEqual(visits.map((v) => v.body.visit), Array.from({ length: n }, (_, k) => k + 1), `${p.metadata.name} counts from 1`);
          assert.equal(visits[0]?.body.pod, p.metadata.name, 'the answer names the pod that counted it');
          counts.set(p.metadata.name, n);
          assert.equal(readFileSync(path.join(await volumeDir(namespace, p), 'visits.json'), 'utf8').trim(), `{"counter": ${n}}`);
        }
        assert.equal(new Set(counts.values()).size, pods.length, 'the counters differ per pod');
      });

      test('a pod deleted and re-created by its StatefulSet keeps its count', { timeout: LAUNCH_TIMEOUT_MS + 30_000 }, async () => {
        const [first] = await statefulPods(namespace);
        assert.ok(first, 'a pod to delete');
        const before = counts.get(first.metadata.name) ?? 0;
        assert.ok(before > 0);
        const started = performance.now();
        await api.request('DELETE', `/api/v1/namespaces/${namespace}/pods/${first.metadata.name}`);
        const again = await eventually(`${first.metadata.name} re-created Running and Ready`, LAUNCH_TIMEOUT_MS, async () => {
          const p = await api.find<Pod>(`/api/v1/namespaces/${namespace}/pods/${first.metadata.name}`);
          return p && p.metadata.uid !== first.metadata.uid && isReady(p) ? p : undefined;
        });
        figures[`${overlay} pod replaced (ms)`] = Math.round(performance.now() - started);
        const [visit] = await inNamespace<{ body: { visit: number } }[]>(cp.netns, VISIT, [`http://${again.status.podIP}:5000/`, 1]);
        assert.equal(visit?.body.visit, before + 1, 'the count goes on from the claim');
      });

      test('deleting the namespace ends every pod and releases its volumes (reclaimPolicy Delete)', { timeout: 240_000 }, async () => {
        const pvs = await volumesOf(namespace);
        assert.ok(pvs.length > 0);
        await api.request('DELETE', `/api/v1/namespaces/${namespace}`);
        await eventually(`namespace ${namespace} gone`, 180_000, async () => ((await api.find(`/api/v1/namespaces/${namespace}`)) ? undefined : true));
        await eventually(`${namespace}'s volumes deleted`, 60_000, async () => ((await volumesOf(namespace)).length === 0 ? true : undefined));
        for (const pv of pvs) assert.equal(existsSync(pv.spec.local.path), false, `${pv.spec.local.path} removed`);
      });
    });
  }

  async function statefulPods(namespace: string): Promise<Pod[]> {
    const list = await api.get<{ items: Pod[] }>(`/api/v1/namespaces/${namespace}/pods`);
    return list.items
      .filter((p) => p.metadata.ownerReferences?.some((o) => o.kind === 'StatefulSet') && !p.metadata.deletionTimestamp)
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  }

  async function volumeDir(namespace: string, p: Pod): Promise<string> {
    const claim = p.spec.volumes?.find((v) => v.persistentVolumeClaim)?.persistentVolumeClaim?.claimName;
    assert.ok(claim, `${p.metadata.name} has a claim`);
    const pvc = await api.get<{ spec: { volumeName: string } }>(`/api/v1/namespaces/${namespace}/persistentvolumeclaims/${claim}`);
    const pv = await api.get<{ spec: { local: { path: string } } }>(`/api/v1/persistentvolumes/${pvc.spec.volumeName}`);
    assert.ok(statSync(pv.spec.local.path).isDirectory());
    return pv.spec.local.path;
  }

  async function volumesOf(namespace: string): Promise<{ metadata: { name: string }; spec: { local: { path: string } } }[]> {
    const list = await api.get<{ items: { metadata: { name: string }; spec: { claimRef?: { namespace: string }; local: { path: string } } }[] }>('/api/v1/persistentvolumes');
    return list.items.filter((pv) => pv.spec.claimRef?.namespace === namespace);
  }
});
