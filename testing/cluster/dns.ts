// The cluster DNS on the real control plane: the node agent publishes it as kube-system/kube-dns (ClusterIP
// 10.96.0.10, through kube-proxy) and writes each pod's resolv.conf as the kubelet does; a pod then resolves a
// Service, a StatefulSet pod's name on its headless Service, short names through its search list, and gets NXDOMAIN
// for anything else. Lookups are made two ways: by the smoke hook run as a pod by the agent (its real DNS targets),
// and by Node's dns.lookup (getaddrinfo) run in a pod's own network and mount namespaces as the pod's user, the way
// the agent starts a container (`ip netns exec` + setpriv), to see each answer.
// Not named *.test.ts: `npm test` must not start a cluster; `npm run test:cluster` runs it. Needs root and Go (or a
// cached control plane binary): a skip with the reason where either is missing, a failure under CI=true.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { SpawnedNodeAgent } from '../../cluster/node-agent/agent.ts';
import { startLocalNode } from '../../cluster/local/node.ts';
import { cachedBinaryPath, findGo } from '../../cluster/controlplane/build.ts';
import { missingPrivileges, startControlPlane, type ControlPlane } from '../../cluster/local/control-plane.ts';
import { KubeApi, loadKubeConfig } from '../../cluster/node-agent/kube-api.ts';
import { podNetNames } from '../../cluster/node-agent/pod-network.ts';
import { bundleTag, eventually } from '../support/cluster-helpers.ts';

const exec = promisify(execFile);
// Its own name and transit subnet: a control plane started by hand, or by another suite, is left alone.
const OPTIONS = { name: 'rc-dns', subnet: 206, nodeName: 'dns-node' };
const NS = 'dns-test';

function whyNot(): string | undefined {
  const privileges = missingPrivileges();
  if (privileges) return privileges;
  if (!findGo() && !existsSync(cachedBinaryPath())) return 'Go is not installed and no control plane binary is cached: cannot build the control plane';
  for (const tool of ['nsenter', 'setpriv', 'ip']) {
    const found = (process.env['PATH'] ?? '').split(':').some((dir) => dir && existsSync(path.join(dir, tool)));
    if (!found) return `${tool} is not installed (nsenter, setpriv and ip run the pods)`;
  }
  return undefined;
}

const reason = whyNot();
if (reason && process.env['CI'] === 'true') {
  test('the cluster DNS can be tested here (CI=true)', () => assert.fail(reason));
}

/** Node's dns.lookup (getaddrinfo: resolv.conf's search list and ndots apply) for each name: addresses or the error code. */
const LOOKUP = `
import { lookup } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
const out = { resolvConf: readFileSync('/etc/resolv.conf', 'utf8'), hosts: readFileSync('/etc/hosts', 'utf8'), answers: {} };
for (const name of JSON.parse(process.argv[1])) {
  try {
    out.answers[name] = (await lookup(name, { all: true, family: 4 })).map((a) => a.address).sort();
  } catch (err) {
    out.answers[name] = err.code;
  }
}
const res = await fetch(JSON.parse(process.argv[2]), { signal: AbortSignal.timeout(10000) });
out.visits = await res.json();
process.stdout.write(JSON.stringify(out));
`;

type PodObj = { metadata: { name: string; uid: string }; status: { podIP?: string; phase?: string; conditions?: { type: string; status: string }[]; containerStatuses?: { state?: { terminated?: { exitCode: number } } }[] } };

describe('the cluster DNS, as pods see it', { skip: reason ?? false }, () => {
  let cp: ControlPlane;
  let agent: SpawnedNodeAgent;
  let api: KubeApi;
  let tmp: string;
  let image = '';
  const pod = (name: string) => api.get<PodObj>(`/api/v1/namespaces/${NS}/pods/${name}`);
  const ready = (p: PodObj) => p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

  /** Runs LOOKUP in pod `name`'s network and mount namespaces as its user (10001), as the agent starts containers. */
  async function lookupInPod(name: string, names: string[], url: string): Promise<{ resolvConf: string; hosts: string; answers: Record<string, string[] | string>; visits: { pod: string } }> {
    const p = await pod(name);
    const { netns } = podNetNames(p.metadata.uid);
    const { stdout } = await exec('ip', ['netns', 'exec', netns, 'setpriv', '--reuid=10001', '--regid=10001', '--clear-groups', '--', process.execPath, '--input-type=module', '-e', LOOKUP, JSON.stringify(names), JSON.stringify(url)], {
      timeout: 60_000,
    });
    return JSON.parse(stdout);
  }

  /** The last lines of a pod's container log (the agent keeps it under its state directory). */
  function podLog(uid: string): string {
    const dir = path.join(tmp, 'node', 'pods');
    const podDir = readdirSync(dir).find((d) => d.endsWith(`_${uid}`));
    const file = podDir ? path.join(dir, podDir, 'logs', 'c', '0.log') : '';
    return file && existsSync(file) ? readFileSync(file, 'utf8') : '';
  }

  before(
    async () => {
      tmp = mkdtempSync(path.join(os.tmpdir(), 'rollcall-dns-'));
      chmodSync(tmp, 0o711);
      const binary = process.env['CONTROLPLANE_BINARY'];
      cp = await startControlPlane({ ...OPTIONS, ...(binary ? { binary } : {}), stateDir: path.join(tmp, 'control-plane'), log: (line) => console.log(`# ${line}`) });
      const tag = bundleTag();
      image = `ghcr.io/rollcall/rollcall:${tag}`;
      agent = await startLocalNode(cp, { dir: tmp, provisioner: false });
      api = new KubeApi(loadKubeConfig(cp.kubeconfigs.admin));

      await api.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
      await eventually('the default service account', 30_000, async () => api.find(`/api/v1/namespaces/${NS}/serviceaccounts/default`));
      const port = [{ name: 'http', port: 5000, targetPort: 5000, protocol: 'TCP' }];
      // `web`: the StatefulSet's governing headless Service (no publishNotReadyAddresses: only Ready pods are named);
      // `front`: a ClusterIP Service over the same pods.
      await api.request('POST', `/api/v1/namespaces/${NS}/services`, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { clusterIP: 'None', selector: { app: 'web' }, ports: port } });
      await api.request('POST', `/api/v1/namespaces/${NS}/services`, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'front' }, spec: { selector: { app: 'web' }, ports: port } });
      await api.request('POST', `/apis/apps/v1/namespaces/${NS}/statefulsets`, {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name: 'web' },
        spec: {
          replicas: 2,
          serviceName: 'web',
          podManagementPolicy: 'Parallel',
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: {
              automountServiceAccountToken: false,
              securityContext: { runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001, runAsNonRoot: true },
              containers: [
                {
                  name: 'c',
                  image,
                  ports: [{ name: 'http', containerPort: 5000 }],
                  env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
                  volumeMounts: [{ name: 'data', mountPath: '/app/data' }],
                  readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 1 },
                },
              ],
              volumes: [{ name: 'data', emptyDir: {} }],
            },
          },
        },
      });
      await eventually('web-0 and web-1 Ready', 90_000, async () => ((await Promise.all(['web-0', 'web-1'].map(pod))).every(ready) ? true : undefined));
      // The DNS names Ready pods from the headless Service's EndpointSlices, which the EndpointSlice controller updates
      // a moment after the pods turn Ready: a lookup before that finds one pod (seen once in CI).
      await eventually('both pods ready in the EndpointSlices of web', 60_000, async () => {
        const slices = await api.get<{ items: { endpoints?: { conditions?: { ready?: boolean } }[] }[] }>(`/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dweb`);
        return slices.items.flatMap((s) => s.endpoints ?? []).filter((e) => e.conditions?.ready === true).length === 2 ? true : undefined;
      });
    },
    { timeout: 3_600_000 },
  );

  after(async () => {
    await agent?.stop();
    await api?.close();
    await cp?.stop();
    if (tmp && !process.env['KEEP_CLUSTER_TMP']) rmSync(tmp, { recursive: true, force: true });
    else if (tmp) console.log(`# kept ${tmp}`);
  });

  test('the DNS is published as kube-system/kube-dns: ClusterIP 10.96.0.10, its EndpointSlice on the node', { skip: false }, async () => {
    if (cp.proxy.mode === 'none') {
      // Without kube-proxy a ClusterIP answers nothing: pods are given the node's address instead (apiVia direct).
      assert.equal(await api.find('/api/v1/namespaces/kube-system/services/kube-dns'), undefined);
      return;
    }
    const svc = await api.get<{ spec: { clusterIP: string; ports: { name: string; port: number; protocol: string }[] } }>('/api/v1/namespaces/kube-system/services/kube-dns');
    assert.equal(svc.spec.clusterIP, '10.96.0.10');
    assert.deepEqual(svc.spec.ports.map((p) => `${p.name} ${p.port}/${p.protocol}`).sort(), ['dns 53/UDP', 'dns-tcp 53/TCP']);
    const slices = await api.get<{ items: { endpoints: { addresses: string[] }[] }[] }>('/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dkube-dns');
    const node = new URL(cp.apiserverUrl).hostname;
    assert.deepEqual(slices.items.flatMap((s) => s.endpoints.flatMap((e) => e.addresses)), [node]);
  });

  test('a pod resolves a Service, a StatefulSet pod by its headless name and short names; anything else is NXDOMAIN', { timeout: 120_000 }, async () => {
    const [web0, web1] = await Promise.all(['web-0', 'web-1'].map(pod));
    const front = await api.get<{ spec: { clusterIP: string } }>(`/api/v1/namespaces/${NS}/services/front`);
    const kubernetes = await api.get<{ spec: { clusterIP: string } }>('/api/v1/namespaces/default/services/kubernetes');
    const names = [
      'front.dns-test.svc.cluster.local',
      'front',
      'front.dns-test',
      'kubernetes.default.svc',
      'web-1.web.dns-test.svc.cluster.local',
      'web-1.web',
      'web.dns-test.svc.cluster.local',
      'nope.dns-test.svc.cluster.local',
      'nope',
      'example.com',
    ];
    const seen = await lookupInPod('web-0', names, 'http://web-1.web.dns-test.svc.cluster.local:5000/visits');
    const nameserver = cp.proxy.mode === 'none' ? new URL(cp.apiserverUrl).hostname : '10.96.0.10';
    assert.equal(seen.resolvConf, `search dns-test.svc.cluster.local svc.cluster.local cluster.local\nnameserver ${nameserver}\noptions ndots:5\n`, 'the kubelet’s ClusterFirst resolv.conf');
    assert.match(seen.hosts, new RegExp(`^${web0!.status.podIP!.replace(/\./g, '\\.')}\\tweb-0\\.web\\.dns-test\\.svc\\.cluster\\.local\\tweb-0$`, 'm'));
    assert.deepEqual(seen.answers, {
      'front.dns-test.svc.cluster.local': [front.spec.clusterIP],
      front: [front.spec.clusterIP],
      'front.dns-test': [front.spec.clusterIP],
      'kubernetes.default.svc': [kubernetes.spec.clusterIP],
      'web-1.web.dns-test.svc.cluster.local': [web1!.status.podIP],
      'web-1.web': [web1!.status.podIP],
      'web.dns-test.svc.cluster.local': [web0!.status.podIP, web1!.status.podIP].sort(),
      'nope.dns-test.svc.cluster.local': 'ENOTFOUND',
      nope: 'ENOTFOUND',
      'example.com': 'ENOTFOUND',
    });
    assert.equal(seen.visits.pod, 'web-1', 'the name reaches the pod it names');
  });

  test('the smoke hook, run by the agent, checks the StatefulSet by its DNS names; an unknown name fails it with ENOTFOUND', { timeout: 120_000 }, async () => {
    const hook = (name: string, env: { name: string; value?: string; valueFrom?: unknown }[]) =>
      api.request('POST', `/api/v1/namespaces/${NS}/pods`, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          securityContext: { runAsUser: 10001, runAsGroup: 10001, runAsNonRoot: true },
          containers: [{ name: 'c', image, command: ['node', '/app/hooks/smoke.js'], env }],
        },
      });
    await hook('smoke-dns', [
      { name: 'SMOKE_STATEFULSET', value: 'web' },
      { name: 'SMOKE_SERVICE', value: 'web' },
      { name: 'SMOKE_REPLICAS', value: '2' },
      { name: 'SMOKE_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'SMOKE_TIMEOUT_MS', value: '30000' },
    ]);
    await hook('smoke-nxdomain', [
      { name: 'SMOKE_URLS', value: 'http://nope.dns-test.svc.cluster.local:5000' },
      { name: 'SMOKE_TIMEOUT_MS', value: '2000' },
    ]);
    const finished = (name: string) => eventually(`${name} finished`, 60_000, async () => {
      const p = await pod(name);
      return p.status.phase === 'Succeeded' || p.status.phase === 'Failed' ? p : undefined;
    });
    const ok = await finished('smoke-dns');
    assert.equal(ok.status.phase, 'Succeeded', podLog(ok.metadata.uid));
    assert.match(podLog(ok.metadata.uid), /web-1/);
    const bad = await finished('smoke-nxdomain');
    assert.equal(bad.status.phase, 'Failed');
    assert.match(podLog(bad.metadata.uid), /ENOTFOUND/);
  });

  test('a pod leaving the headless Service leaves the DNS (the watch follows EndpointSlices)', { timeout: 120_000 }, async () => {
    await api.request('PATCH', `/apis/apps/v1/namespaces/${NS}/statefulsets/web`, { spec: { replicas: 1 } }, 'merge');
    const gone = await eventually('web-1 NXDOMAIN', 60_000, async () => {
      const seen = await lookupInPod('web-0', ['web-1.web.dns-test.svc.cluster.local', 'web.dns-test.svc.cluster.local'], 'http://web-0.web:5000/visits');
      return seen.answers['web-1.web.dns-test.svc.cluster.local'] === 'ENOTFOUND' ? seen : undefined;
    });
    assert.deepEqual(gone.answers['web.dns-test.svc.cluster.local'], [(await pod('web-0')).status.podIP]);
    assert.equal(gone.visits.pod, 'web-0');
  });
});
