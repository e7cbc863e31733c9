// The node agent's pure parts (cluster/node-agent/): what a container runs, the pod status it reports, the image
// configuration it reads from the Dockerfile, its pod addresses, its admission and its provisioner's choices. The
// parts that need root and a control plane are in testing/cluster/.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import type { IPod } from 'kubernetes-models/v1/Pod';
import { afterLivenessProbe, READINESS_PROBE_AFTER_START_MS } from '../rehearsal/model/kubelet.ts';
import { admitPod } from '../cluster/node-agent/admission.ts';
import { buildContainerPlan, ContainerConfigError, expand, hostPathFor, type PlanInputs } from '../cluster/node-agent/container-plan.ts';
import { imageTag, parseDockerfile, parseImageMap, type Image } from '../cluster/node-agent/images.ts';
import { loadKubeConfig } from '../cluster/node-agent/kube-api.ts';
import { microTime } from '../cluster/node-agent/node-object.ts';
import { PodIPAllocator } from '../cluster/node-agent/pod-network.ts';
import { podPhase, podStatus, type ContainerView, type PodView } from '../cluster/node-agent/pod-status.ts';
import { resolvePort } from '../cluster/node-agent/probes.ts';
import { shouldProvision, volumeFor } from '../cluster/node-agent/provisioner.ts';
import { inClusterConfig } from '../src/hooks/k8s-client.ts';

const root = path.resolve(import.meta.dirname, '..');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'node-agent-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const dockerfile = parseDockerfile((await import('node:fs')).readFileSync(path.join(root, 'Dockerfile'), 'utf8'));
const image: Image = { dir: '/builds/1.0.0', config: dockerfile };

describe('images: the runtime stage of the Dockerfile', () => {
  test('the project Dockerfile runs node server.js in /app as 10001 with the service environment', () => {
    assert.deepEqual(dockerfile.entrypoint, []);
    assert.deepEqual(dockerfile.cmd, ['node', '--max-semi-space-size=8', '--disable-sigusr1', 'server.js']);
    assert.equal(dockerfile.workingDir, '/app');
    assert.equal(dockerfile.uid, 10001);
    assert.equal(dockerfile.gid, 10001);
    const env = Object.fromEntries(dockerfile.env);
    assert.equal(env['NODE_ENV'], 'production');
    assert.equal(env['PORT'], '5000');
    assert.equal(env['DATA_DIR'], '/app/data');
  });

  test('only the last stage counts, continuation lines join, shell-form CMD is refused', () => {
    const c = parseDockerfile('FROM a AS build\nENV X=1\nCMD ["build"]\nFROM b\nENV A=1 \\\n    B="two words"\nWORKDIR /w\nCMD ["run"]\n');
    assert.deepEqual(c.env, [['A', '1'], ['B', 'two words']]);
    assert.deepEqual(c.cmd, ['run']);
    assert.equal(c.workingDir, '/w');
    assert.throws(() => parseDockerfile('FROM b\nCMD node server.js\n'), /exec form/);
  });

  test('a reference maps to a build by its tag; a missing build directory is named', () => {
    assert.equal(imageTag('ghcr.io/rollcall/rollcall:1.0.0'), '1.0.0');
    assert.equal(imageTag('localhost:5000/rollcall'), undefined);
    assert.equal(imageTag('rollcall@sha256:abc'), undefined);
    const dir = path.join(tmp, 'build');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'server.js'), '');
    assert.equal(parseImageMap(`1.0.0=${dir}`).get('1.0.0'), dir);
    assert.throws(() => parseImageMap(`2.0.0=${path.join(tmp, 'nope')}`), /holds no server.js/);
    assert.throws(() => parseImageMap('no-equals'), /TAG=DIR/);
  });
});

function pod(over: Partial<NonNullable<IPod['spec']>> = {}): IPod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'rollcall-1', namespace: 'rollcall-rolling', uid: 'u-1', labels: { app: 'rollcall' } },
    spec: {
      containers: [{ name: 'rollcall', image: 'ghcr.io/rollcall/rollcall:1.0.0' }],
      securityContext: { runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001, runAsNonRoot: true },
      ...over,
    },
  } as IPod;
}

function inputs(p: IPod, over: Partial<PlanInputs> = {}): PlanInputs {
  return {
    pod: p,
    container: p.spec!.containers[0]!,
    image,
    mounts: [{ mountPath: '/app/data', hostPath: '/state/volumes/pvc-1', readOnly: false }],
    nodeBinary: '/opt/node/bin/node',
    podIP: '10.88.0.7',
    hostIP: '10.87.0.1',
    apiService: { host: '10.96.0.1', port: 443 },
    lookup: () => undefined,
    ...over,
  };
}

describe('container plan: what the process runs (command, args, env, paths, user)', () => {
  test('without command the image CMD runs from the build directory, DATA_DIR on the claim', () => {
    const plan = buildContainerPlan(inputs(pod()));
    assert.deepEqual(plan.argv, ['/opt/node/bin/node', '--max-semi-space-size=8', '--disable-sigusr1', 'server.js']);
    assert.equal(plan.cwd, '/builds/1.0.0');
    assert.equal(plan.env['DATA_DIR'], '/state/volumes/pvc-1', 'a mount under /app wins over the image directory');
    assert.equal(plan.env['NODE_COMPILE_CACHE'], '/builds/1.0.0/.compile-cache');
    assert.equal(plan.env['KUBERNETES_SERVICE_HOST'], '10.96.0.1');
    assert.equal(plan.env['KUBERNETES_SERVICE_PORT'], '443');
    assert.deepEqual([plan.uid, plan.gid, plan.groups], [10001, 10001, [10001]]);
  });

  test("a hook Job's command replaces the image's and its /app path is the build's", () => {
    const p = pod({ containers: [{ name: 'smoke', image: 'ghcr.io/rollcall/rollcall:1.0.0', command: ['node', '/app/hooks/smoke.js'], args: ['--x=/app/data/y'] }] });
    const plan = buildContainerPlan(inputs(p));
    assert.deepEqual(plan.argv, ['/opt/node/bin/node', '/builds/1.0.0/hooks/smoke.js', '--x=/state/volumes/pvc-1/y']);
  });

  test('args alone replace CMD (Kubernetes: command replaces ENTRYPOINT, args replace CMD)', () => {
    const p = pod({ containers: [{ name: 'c', image: 'x:1.0.0', args: ['node', 'hooks/smoke.js'] }] });
    assert.deepEqual(buildContainerPlan(inputs(p)).argv, ['/opt/node/bin/node', 'hooks/smoke.js']);
  });

  test('fieldRefs and $(VAR) expansion, in order', () => {
    const p = pod({
      containers: [
        {
          name: 'c',
          image: 'x:1.0.0',
          env: [
            { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
            { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
            { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
            { name: 'URL', value: 'http://$(IP):5000/$(MISSING)/$$(IP)' },
            { name: 'CM', valueFrom: { configMapKeyRef: { name: 'settings', key: 'level' } } },
          ],
        },
      ],
    });
    const plan = buildContainerPlan(inputs(p, { lookup: (kind, name, key) => (kind === 'configmap' && name === 'settings' && key === 'level' ? 'debug' : undefined) }));
    assert.equal(plan.env['POD_NAME'], 'rollcall-1');
    assert.equal(plan.env['NS'], 'rollcall-rolling');
    assert.equal(plan.env['IP'], '10.88.0.7');
    assert.equal(plan.env['APP'], 'rollcall');
    assert.equal(plan.env['URL'], 'http://10.88.0.7:5000/$(MISSING)/$(IP)');
    assert.equal(plan.env['CM'], 'debug');
  });

  test('refused: runAsNonRoot as root, a program other than node, an unsupported fieldRef, a missing key', () => {
    const asRoot = pod({ securityContext: { runAsUser: 0, runAsNonRoot: true } });
    assert.throws(() => buildContainerPlan(inputs(asRoot)), ContainerConfigError);
    const sh = pod({ containers: [{ name: 'c', image: 'x:1', command: ['sh', '-c', 'id'] }] });
    assert.throws(() => buildContainerPlan(inputs(sh)), /runs only the image's node/);
    const field = pod({ containers: [{ name: 'c', image: 'x:1', env: [{ name: 'X', valueFrom: { fieldRef: { fieldPath: 'spec.schedulerName' } } }] }] });
    assert.throws(() => buildContainerPlan(inputs(field)), /not supported/);
    const key = pod({ containers: [{ name: 'c', image: 'x:1', env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }] }] });
    assert.throws(() => buildContainerPlan(inputs(key)), /has no key k/);
  });

  test('expand and hostPathFor on their own', () => {
    assert.equal(expand('$(A)-$(B)', { A: '1' }), '1-$(B)');
    const mounts = [{ mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', hostPath: '/s/token', readOnly: true }];
    assert.equal(hostPathFor('/var/run/secrets/kubernetes.io/serviceaccount/token', mounts, image), '/s/token/token');
    assert.equal(hostPathFor('/application', mounts, image), '/application', 'a prefix must end at a path separator');
    assert.equal(hostPathFor('/etc/hosts', mounts, image), '/etc/hosts');
  });
});

function cv(over: Partial<ContainerView>): ContainerView {
  return { name: 'c', image: 'x', imageID: '', state: { waiting: { reason: 'ContainerCreating' } }, restartCount: 0, started: false, ready: false, ...over };
}
const running = { running: { startedAt: '2026-01-01T00:00:00Z' } };
const exited = (exitCode: number) => ({ terminated: { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error' } });

describe('pod phase (pkg/kubelet/kubelet_pods.go getPhase)', () => {
  const cases: [string, ContainerView[], 'Always' | 'OnFailure' | 'Never', boolean, string][] = [
    ['waiting for its first start', [cv({})], 'Always', false, 'Pending'],
    ['a container not seen yet', [], 'Always', false, 'Pending'],
    ['running', [cv({ state: running })], 'Always', false, 'Running'],
    ['in CrashLoopBackOff (waiting with a last termination)', [cv({ state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { exitCode: 1 } })], 'Always', false, 'Running'],
    ['Never, exited 0', [cv({ state: exited(0) })], 'Never', false, 'Succeeded'],
    ['Never, exited 1', [cv({ state: exited(1) })], 'Never', false, 'Failed'],
    ['OnFailure, exited 0', [cv({ state: exited(0) })], 'OnFailure', false, 'Succeeded'],
    ['OnFailure, exited 1 (restarting)', [cv({ state: exited(1) })], 'OnFailure', false, 'Running'],
    ['Always, exited 0 between restarts', [cv({ state: exited(0) })], 'Always', false, 'Running'],
    ['deleted: all exited 0 → Succeeded', [cv({ state: exited(0) })], 'Always', true, 'Succeeded'],
    ['refused or stopped before it ever ran → Failed', [cv({ state: { waiting: { reason: 'Blocked' } } })], 'Always', true, 'Failed'],
    ['deleted: one killed → Failed', [cv({ state: exited(0) }), cv({ name: 'd', state: exited(137) })], 'Always', true, 'Failed'],
  ];
  for (const [name, containers, policy, terminal, phase] of cases) {
    test(`${name}: ${phase}`, () => assert.equal(podPhase(containers, Math.max(1, containers.length), policy, terminal), phase));
  }
});

describe('pod status: conditions and their transition times', () => {
  const view = (ready: boolean, over: Partial<PodView> = {}): PodView => ({
    containers: [cv({ state: running, started: true, ready })],
    containerCount: 1,
    restartPolicy: 'Always',
    sandboxReady: true,
    podIP: '10.88.0.7',
    hostIP: '10.87.0.1',
    startTime: '2026-01-01T00:00:00Z',
    readinessGates: [],
    ...over,
  });
  const t0 = new Date('2026-01-01T00:00:10Z');
  const t1 = new Date('2026-01-01T00:00:20Z');

  test('Ready follows the containers; lastTransitionTime moves only when the status does', () => {
    const first = podStatus(view(false), undefined, t0);
    const ready = (s: typeof first) => s.conditions?.find((c) => c.type === 'Ready');
    assert.equal(first.phase, 'Running');
    assert.equal(ready(first)?.status, 'False');
    assert.equal(ready(first)?.reason, 'ContainersNotReady');
    assert.equal(first.podIP, '10.88.0.7');
    assert.deepEqual(first.podIPs, [{ ip: '10.88.0.7' }]);
    const same = podStatus(view(false), first, t1);
    assert.equal(ready(same)?.lastTransitionTime, '2026-01-01T00:00:10Z');
    const flipped = podStatus(view(true), first, t1);
    assert.equal(ready(flipped)?.status, 'True');
    assert.equal(ready(flipped)?.lastTransitionTime, '2026-01-01T00:00:20Z');
  });

  test("conditions owned by others (PodScheduled) are kept; readiness gates hold Ready back", () => {
    const previous = { conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: '2026-01-01T00:00:00Z' }] };
    const s = podStatus(view(true, { readinessGates: ['example.com/gate'] }), previous as never, t0);
    assert.equal(s.conditions?.find((c) => c.type === 'PodScheduled')?.status, 'True');
    assert.equal(s.conditions?.find((c) => c.type === 'ContainersReady')?.status, 'True');
    assert.equal(s.conditions?.find((c) => c.type === 'Ready')?.status, 'False');
  });

  test('past activeDeadlineSeconds the pod is Failed even when its container exited 0', () => {
    const s = podStatus(view(false, { containers: [cv({ state: exited(0) })], terminal: { reason: 'DeadlineExceeded', failed: true } }), undefined, t0);
    assert.deepEqual([s.phase, s.reason], ['Failed', 'DeadlineExceeded']);
  });

  test('a finished pod is not ready, with reason PodCompleted', () => {
    const s = podStatus(view(false, { containers: [cv({ state: exited(0) })], restartPolicy: 'Never' }), undefined, t0);
    assert.equal(s.phase, 'Succeeded');
    assert.equal(s.conditions?.find((c) => c.type === 'Ready')?.reason, 'PodCompleted');
  });
});

describe('kubelet rules the agent adds to the model', () => {
  test('liveness: failureThreshold failures in a row restart, a success resets the run', () => {
    assert.deepEqual(afterLivenessProbe(0, false, { failureThreshold: 3 }), { failures: 1, restart: false });
    assert.deepEqual(afterLivenessProbe(1, true, { failureThreshold: 3 }), { failures: 0, restart: false });
    assert.deepEqual(afterLivenessProbe(2, false, { failureThreshold: 3 }), { failures: 3, restart: true });
  });
  test('the first readiness probe runs as soon as the container has started (prober_manager.go UpdatePodStatus)', () => {
    assert.equal(READINESS_PROBE_AFTER_START_MS, 0);
  });
});

describe('pod addresses', () => {
  test('round-robin in the CIDR, skipping network, .1 and broadcast; a pod keeps its address', () => {
    const ips = new PodIPAllocator('10.88.0.0/30');
    assert.equal(ips.allocate('a'), '10.88.0.2');
    assert.equal(ips.allocate('a'), '10.88.0.2');
    assert.throws(() => ips.allocate('b'), /no free address/);
    ips.release('a');
    assert.equal(ips.allocate('b'), '10.88.0.2');
    const big = new PodIPAllocator('10.88.0.0/16');
    assert.equal(big.allocate('x'), '10.88.0.2');
    assert.equal(big.allocate('y'), '10.88.0.3');
    big.release('x');
    assert.equal(big.allocate('z'), '10.88.0.4', 'a freed address is not handed out again at once');
    assert.equal(big.claim('w', '10.88.0.2'), true);
    assert.equal(big.claim('v', '10.88.0.3'), false, 'taken');
    assert.equal(big.claim('v', '10.89.0.3'), false, 'outside the CIDR');
    assert.throws(() => new PodIPAllocator('10.88.0.0'), /not an IPv4/);
  });
});

describe('admission: what this node refuses', () => {
  test('the bundle pod is admitted; host namespaces, init containers, hostPath, privileged, exec probes are not', () => {
    assert.equal(admitPod(pod()), undefined);
    assert.match(admitPod(pod({ hostNetwork: true }))?.message ?? '', /host namespaces/);
    assert.match(admitPod(pod({ initContainers: [{ name: 'i', image: 'x' }] }))?.message ?? '', /init containers/);
    assert.match(admitPod(pod({ volumes: [{ name: 'h', hostPath: { path: '/' } }] }))?.message ?? '', /only emptyDir/);
    assert.match(admitPod(pod({ containers: [{ name: 'c', image: 'x', securityContext: { privileged: true } }] }))?.message ?? '', /privileged/);
    assert.match(admitPod(pod({ containers: [{ name: 'c', image: 'x', securityContext: { capabilities: { add: ['NET_ADMIN'] } } }] }))?.message ?? '', /NET_ADMIN/);
    assert.match(admitPod(pod({ containers: [{ name: 'c', image: 'x', livenessProbe: { exec: { command: ['true'] } } }] }))?.message ?? '', /liveness probe/);
  });
  test('the container allowlist applies to what the manifest wrote, not to the token volume the API server adds', () => {
    assert.match(admitPod(pod({ containers: [{ name: 'c', image: 'ghcr.io/rollcall/rollcall:1.0.0', command: ['node', '-e', 'x'] }] }))?.message ?? '', /command/);
    assert.match(
      admitPod(pod({ containers: [{ name: 'c', image: 'ghcr.io/rollcall/rollcall:1.0.0', env: [{ name: 'NODE_OPTIONS', value: '--import=data:,x' }] }] }))?.message ?? '',
      /NODE_OPTIONS/,
    );
    const tokenVolume = {
      name: 'kube-api-access-x7k2q',
      projected: {
        sources: [
          { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
          { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
          { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
        ],
      },
    };
    const mount = { name: 'kube-api-access-x7k2q', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true };
    const hook = { name: 'recreate', image: 'ghcr.io/rollcall/rollcall:1.0.0', command: ['node', '/app/hooks/recreate-hook.js'], volumeMounts: [mount] };
    assert.equal(admitPod(pod({ containers: [hook], volumes: [tokenVolume] })), undefined, 'the injected token volume is not the manifest’s');
    const handMade = { ...tokenVolume, name: 'my-token' };
    assert.match(admitPod(pod({ containers: [{ ...hook, volumeMounts: [{ ...mount, name: 'my-token' }] }], volumes: [handMade] }))?.message ?? '', /volume|mountPath/);
    assert.match(admitPod(pod({ containers: [{ ...hook, volumeMounts: [{ ...mount, mountPath: '/etc' }] }], volumes: [tokenVolume] }))?.message ?? '', /mountPath/);
  });
  test('probe ports by name', () => {
    const c = { name: 'c', ports: [{ name: 'http', containerPort: 5000 }] };
    assert.equal(resolvePort('http', c), 5000);
    assert.equal(resolvePort(8080, c), 8080);
    assert.throws(() => resolvePort('metrics', c), /no port named metrics/);
  });
});

describe('provisioner', () => {
  const claim = (ann: Record<string, string>, volumeName?: string) => ({
    metadata: { name: 'web-app-data-rollcall-0', namespace: 'ns', uid: 'c-1', annotations: ann },
    spec: { ...(volumeName ? { volumeName } : {}), accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '15Mi' } } },
  });
  const ours = { 'volume.kubernetes.io/storage-provisioner': 'rollcall.dev/hostpath' };
  test('provisions only unbound claims of its provisioner selected to its node', () => {
    assert.equal(shouldProvision(claim({ ...ours, 'volume.kubernetes.io/selected-node': 'n1' }), 'rollcall.dev/hostpath', 'n1'), true);
    assert.equal(shouldProvision(claim({ ...ours, 'volume.kubernetes.io/selected-node': 'n2' }), 'rollcall.dev/hostpath', 'n1'), false);
    assert.equal(shouldProvision(claim(ours), 'rollcall.dev/hostpath', 'n1'), false, 'not scheduled yet');
    assert.equal(shouldProvision(claim({ 'volume.kubernetes.io/storage-provisioner': 'other', 'volume.kubernetes.io/selected-node': 'n1' }), 'rollcall.dev/hostpath', 'n1'), false);
    assert.equal(shouldProvision(claim({ ...ours, 'volume.kubernetes.io/selected-node': 'n1' }, 'pv-x'), 'rollcall.dev/hostpath', 'n1'), false);
  });
  test('the volume is bound to the claim by claimRef and pinned to the node', () => {
    const pv = volumeFor(claim(ours), { provisioner: 'rollcall.dev/hostpath', storageClass: 'rollcall-local', nodeName: 'n1', dir: '/s/volumes/pvc-c-1' }) as {
      metadata: { name: string };
      spec: { claimRef: { uid: string }; capacity: { storage: string }; local: { path: string }; nodeAffinity: unknown };
    };
    assert.equal(pv.metadata.name, 'pvc-c-1');
    assert.equal(pv.spec.claimRef.uid, 'c-1');
    assert.equal(pv.spec.capacity.storage, '15Mi');
    assert.equal(pv.spec.local.path, '/s/volumes/pvc-c-1');
    assert.match(JSON.stringify(pv.spec.nodeAffinity), /"values":\["n1"\]/);
  });
});

describe('client plumbing', () => {
  test('a kubeconfig with files relative to itself', () => {
    writeFileSync(path.join(tmp, 'ca.crt'), 'CA');
    writeFileSync(
      path.join(tmp, 'kubeconfig'),
      'apiVersion: v1\nkind: Config\ncurrent-context: n\ncontexts: [{name: n, context: {cluster: c, user: u}}]\n' +
        'clusters: [{name: c, cluster: {server: "https://10.87.0.1:6443/", certificate-authority: ca.crt}}]\n' +
        `users: [{name: u, user: {client-certificate-data: ${Buffer.from('CERT').toString('base64')}, token: t}}]\n`,
    );
    const k = loadKubeConfig(path.join(tmp, 'kubeconfig'));
    assert.equal(k.server, 'https://10.87.0.1:6443');
    assert.equal(k.ca?.toString(), 'CA');
    assert.equal(k.cert?.toString(), 'CERT');
    assert.equal(k.token, 't');
  });
  test('Lease times carry microseconds', () => assert.equal(microTime(new Date('2026-01-01T00:00:00.123Z')), '2026-01-01T00:00:00.123000Z'));
  test('hooks read the token directory from SERVICEACCOUNT_DIR when the node sets it', () => {
    const dir = path.join(tmp, 'sa');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'ca.crt'), 'CA');
    const c = inClusterConfig({ KUBERNETES_SERVICE_HOST: '10.96.0.1', SERVICEACCOUNT_DIR: dir });
    assert.equal(c.tokenFile, path.join(dir, 'token'));
    assert.equal(c.ca.toString(), 'CA');
  });
});
