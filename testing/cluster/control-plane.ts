// The real control plane (cluster/local/control-plane.ts), started once for this file in its own network namespace:
// the version it reports, admission (Pod Security), the controllers and the scheduler at work on a StatefulSet, RBAC's
// Node authorizer, Services through kube-proxy, and a stop that leaves no process and no namespace behind.
// Not named *.test.ts: `npm test` (plain `node --test`) must not start a cluster; `npm run test:cluster` runs it.
// Needs root and Go (or a cached binary): a skip with the reason where either is missing, a failure under CI=true.
// No node runs here: pods stay Pending (the node agent's tests run them).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { cachedBinaryPath, findGo } from '../../cluster/controlplane/build.ts';
import { requiredVersion } from '../../cluster/controlplane/go-mod.ts';
import { ApiClient } from '../../cluster/local/api.ts';
import { missingPrivileges, startControlPlane, type ControlPlane } from '../../cluster/local/control-plane.ts';
import { isRunning, type ProcessRecord } from '../../cluster/local/processes.ts';
import { clientCredentials } from '../../cluster/local/pki.ts';
import { layout } from '../../cluster/local/layout.ts';

const exec = promisify(execFile);
// Its own name and transit subnet, so a control plane started by hand (`npm run cluster -- up`) is left alone.
const OPTIONS = { name: 'rc-test', subnet: 201, nodeName: 'test-node' };

function whyNot(): string | undefined {
  const privileges = missingPrivileges();
  if (privileges) return privileges;
  if (!findGo() && !existsSync(cachedBinaryPath())) return 'Go is not installed and no control plane binary is cached: cannot build the control plane';
  return undefined;
}

const reason = whyNot();
if (reason && process.env.CI === 'true') {
  test('the control plane can run here (CI=true)', () => assert.fail(reason));
}

/** Polls `probe` until it returns a value, or fails after `ms` with what it saw last. */
async function eventually<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await sleep(250);
  }
  throw new Error(`${what}: not within ${ms / 1000} s${last ? ` (last: ${(last as Error).message})` : ''}`);
}

describe('the local control plane', { skip: reason ?? false }, () => {
  let cp: ControlPlane;
  let admin: ApiClient;
  let stateDir: string;
  let records: ProcessRecord[] = [];
  const servers: ChildProcess[] = [];

  before(async () => {
    stateDir = await mkdtemp(path.join(os.tmpdir(), 'rollcall-control-plane-'));
    cp = await startControlPlane({ ...OPTIONS, stateDir, log: (line) => console.log(`# ${line}`) });
    records = cp.processes;
    admin = await cp.admin();
  }, { timeout: 3_600_000 });

  after(async () => {
    for (const s of servers) s.kill('SIGKILL');
    await cp?.stop();
    await rm(stateDir, { recursive: true, force: true });
  });

  test('/version reports the Kubernetes version go.mod requires', async () => {
    const goMod = readFileSync(path.join(import.meta.dirname, '../../cluster/controlplane/go.mod'), 'utf8');
    const version = await admin.get<{ gitVersion: string; gitMajor: string; gitMinor: string }>('/version');
    assert.equal(version.gitVersion, requiredVersion(goMod, 'k8s.io/kubernetes'));
    assert.equal(`v${version.gitMajor}.${version.gitMinor}`, version.gitVersion.replace(/\.\d+$/, ''));
  });

  test('every component runs in the namespace and the admin kubeconfig names the API server', async () => {
    assert.deepEqual(records.map((r) => r.component), ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', ...(cp.proxy.mode === 'none' ? [] : ['kube-proxy'])]);
    const netns = (await exec('ip', ['netns', 'identify', String(records[1]!.pid)])).stdout.trim();
    assert.equal(netns, cp.netns);
    assert.match(readFileSync(cp.kubeconfigs.admin, 'utf8'), new RegExp(`server: ${cp.apiserverUrl.replace(/\./g, '\\.')}`));
  });

  test('a namespace enforcing Pod Security restricted refuses a privileged pod', async () => {
    await admin.post('/api/v1/namespaces', { metadata: { name: 'restricted', labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } });
    const pod = { metadata: { name: 'privileged' }, spec: { containers: [{ name: 'c', image: 'busybox', securityContext: { privileged: true } }] } };
    const res = await admin.send('POST', '/api/v1/namespaces/restricted/pods', pod);
    assert.equal(res.status, 403);
    assert.match(res.body, /violates PodSecurity \\?"restricted:latest\\?": privileged/);
  });

  test('a StatefulSet is accepted; its controller creates the claim and the pod, the scheduler finds no node', async () => {
    await admin.post('/api/v1/namespaces', { metadata: { name: 'sts' } });
    const labels = { app: 'web' };
    await admin.post('/apis/apps/v1/namespaces/sts/statefulsets', {
      metadata: { name: 'web' },
      spec: {
        serviceName: 'web',
        replicas: 1,
        selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { containers: [{ name: 'web', image: 'rollcall:test', volumeMounts: [{ name: 'data', mountPath: '/data' }] }] } },
        volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Mi' } } } }],
      },
    });
    const claim = await eventually('PVC data-web-0', 30_000, async () => {
      const res = await admin.send('GET', '/api/v1/namespaces/sts/persistentvolumeclaims/data-web-0');
      return res.status === 200 ? (JSON.parse(res.body) as { metadata: { finalizers?: string[] } }) : undefined;
    });
    // The PVC protection controller's finalizer is added by admission (StorageObjectInUseProtection).
    assert.ok(claim.metadata.finalizers?.includes('kubernetes.io/pvc-protection'));
    const scheduled = await eventually('pod web-0 judged by the scheduler', 30_000, async () => {
      const pod = await admin.get<{ metadata: { ownerReferences?: { kind: string }[] }; spec: { serviceAccountName: string }; status: { conditions?: { type: string; status: string; reason?: string }[] } }>('/api/v1/namespaces/sts/pods/web-0');
      const condition = pod.status.conditions?.find((c) => c.type === 'PodScheduled');
      return condition ? { pod, condition } : undefined;
    });
    assert.equal(scheduled.pod.metadata.ownerReferences?.[0]?.kind, 'StatefulSet');
    assert.equal(scheduled.pod.spec.serviceAccountName, 'default');
    assert.deepEqual({ status: scheduled.condition.status, reason: scheduled.condition.reason }, { status: 'False', reason: 'Unschedulable' });
  });

  test('the node identity is confined by the Node authorizer', async () => {
    const node = new ApiClient(cp.apiserverUrl, await clientCredentials(layout({ ...OPTIONS, stateDir }), 'node'));
    assert.equal((await node.send('GET', '/api/v1/namespaces/kube-system/secrets')).status, 403);
    const res = await node.send('POST', '/api/v1/nodes', { metadata: { name: 'someone-else' } });
    assert.equal(res.status, 403, res.body);
  });

  test('the API server refuses a loopback endpoint (why the control plane has a namespace of its own)', async () => {
    const res = await admin.send('POST', '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices', {
      metadata: { name: 'loopback' },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['127.0.0.1'] }],
    });
    assert.equal(res.status, 422);
    assert.match(res.body, /loopback/);
  });

  test('a ClusterIP answers inside the namespace through kube-proxy', { skip: false }, async (t) => {
    if (cp.proxy.mode === 'none') {
      assert.ok(process.env.CI !== 'true', `kube-proxy did not run under CI=true: ${cp.proxy.reason}`);
      t.skip(cp.proxy.reason);
      return;
    }
    const podIp = '10.88.0.10';
    const server = spawn('nsenter', [`--net=/run/netns/${cp.netns}`, '--', process.execPath, '-e',
      `require('node:http').createServer((q, s) => s.end('hello from ' + ${JSON.stringify(podIp)})).listen(8080, ${JSON.stringify(podIp)}, () => console.log('listening'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.stdout!.once('data', () => resolve());
      server.once('exit', (code) => reject(new Error(`test server exited ${code}`)));
    });
    const svc = await admin.post<{ spec: { clusterIP: string } }>('/api/v1/namespaces/default/services', { metadata: { name: 'hello' }, spec: { ports: [{ port: 80, targetPort: 8080 }] } });
    await admin.post('/apis/discovery.k8s.io/v1/namespaces/default/endpointslices', {
      metadata: { name: 'hello-1', labels: { 'kubernetes.io/service-name': 'hello' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: [podIp], conditions: { ready: true } }],
      ports: [{ port: 8080, protocol: 'TCP' }],
    });
    const body = await eventually(`http://${svc.spec.clusterIP}/`, 30_000, async () => {
      const { stdout } = await exec('nsenter', [`--net=/run/netns/${cp.netns}`, '--', process.execPath, '-e',
        `fetch('http://${svc.spec.clusterIP}/', { signal: AbortSignal.timeout(2000) }).then((r) => r.text()).then((t) => console.log(t))`]);
      return stdout.trim() || undefined;
    });
    assert.equal(body, `hello from ${podIp}`);
  });

  test('stop leaves no component running and deletes the namespace', async () => {
    await cp.stop();
    for (const r of records) assert.equal(isRunning(r), false, `${r.component} (pid ${r.pid}) still runs`);
    assert.equal(existsSync(`/run/netns/${cp.netns}`), false);
    await cp.stop(); // twice is fine
  });
});
