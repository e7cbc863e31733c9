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
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { requiredVersion } from '../../cluster/go-mod.ts';
import { ApiClient, request } from '../../cluster/local/api.ts';
import { chooseProxyMode, startControlPlane, type ControlPlane } from '../../cluster/local/control-plane.ts';
import { isRunning, type ProcessRecord } from '../../cluster/local/processes.ts';
import { clientCredentials } from '../../cluster/local/pki.ts';
import { layout } from '../../cluster/local/layout.ts';
import { eventually, whyNoControlPlane } from '../support/cluster-helpers.ts';

const exec = promisify(execFile);
// Its own name and transit subnet, so a control plane started by hand (`npm run cluster -- up`) is left alone.
const OPTIONS = { name: 'rc-test', subnet: 201, nodeName: 'test-node' };

const reason = whyNoControlPlane();
if (reason && process.env.CI === 'true') {
  test('the control plane can run here (CI=true)', () => assert.fail(reason));
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
    const goMod = readFileSync(path.join(import.meta.dirname, '../../cluster/go.mod'), 'utf8');
    const version = await admin.get<{ gitVersion: string; major: string; minor: string; gitTreeState: string }>('/version');
    assert.equal(version.gitVersion, requiredVersion(goMod, 'k8s.io/kubernetes'));
    // major/minor come from their own link flags (kubectl's version skew check reads them).
    assert.equal(`v${version.major}.${version.minor}`, version.gitVersion.replace(/\.\d+$/, ''));
    assert.equal(version.gitTreeState, 'clean');
  });

  test('every component runs in the namespace and the admin kubeconfig names the API server', async () => {
    const expected = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', ...(cp.proxy.mode === 'none' ? [] : ['kube-proxy'])];
    assert.deepEqual(records.map((r) => r.component).sort(), expected.sort());
    for (const r of records) {
      assert.ok(isRunning(r), `${r.component} (pid ${r.pid}) runs`);
      assert.equal((await exec('ip', ['netns', 'identify', String(r.pid)])).stdout.trim(), cp.netns, `${r.component} runs in the namespace`);
    }
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
      const pod = await admin.get<{ metadata: { ownerReferences?: { kind: string }[] }; spec: { serviceAccountName: string }; status: { conditions?: { type: string; status: string; reason?: string; message?: string }[] } }>('/api/v1/namespaces/sts/pods/web-0');
      const condition = pod.status.conditions?.find((c) => c.type === 'PodScheduled');
      return condition ? { pod, condition } : undefined;
    });
    assert.equal(scheduled.pod.metadata.ownerReferences?.[0]?.kind, 'StatefulSet');
    assert.equal(scheduled.pod.spec.serviceAccountName, 'default');
    assert.deepEqual({ status: scheduled.condition.status, reason: scheduled.condition.reason }, { status: 'False', reason: 'Unschedulable' });
    // kubernetes pkg/scheduler/scheduler.go ErrNoNodesAvailable: the scheduler ran its cycle and found no node at all.
    assert.equal(scheduled.condition.message, 'no nodes available to schedule pods');
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

  test('the kubernetes Service reaches the API server from inside the namespace, as in-cluster clients use it', async (t) => {
    if (cp.proxy.mode === 'none') {
      t.skip(cp.proxy.reason);
      return;
    }
    const kubernetes = await admin.get<{ spec: { clusterIP: string } }>('/api/v1/namespaces/default/services/kubernetes');
    // The serving certificate names the ClusterIP (pki.ts), so a pod's client verifies it with the cluster CA.
    const ca = readFileSync(path.join(stateDir, 'pki', 'ca.crt'), 'utf8');
    const script = `require('node:https').get({ host: ${JSON.stringify(kubernetes.spec.clusterIP)}, path: '/version', ca: ${JSON.stringify(ca)}, timeout: 2000 },
      (r) => { let b = ''; r.on('data', (d) => (b += d)); r.on('end', () => console.log(JSON.parse(b).gitVersion)); })`;
    const version = await eventually(`https://${kubernetes.spec.clusterIP}/version`, 30_000, async () => {
      const { stdout } = await exec('nsenter', [`--net=/run/netns/${cp.netns}`, '--', process.execPath, '-e', script]);
      return stdout.trim() || undefined;
    });
    assert.match(version, /^v1\.\d+\.\d+$/);
  });

  test('kube-proxy restarts when its Node registers with an address, and Services keep answering', async (t) => {
    if (cp.proxy.mode === 'none') {
      t.skip(cp.proxy.reason);
      return;
    }
    // What a node agent does first: register its Node (allowed to the node's own identity by NodeRestriction).
    const node = new ApiClient(cp.apiserverUrl, await clientCredentials(layout({ ...OPTIONS, stateDir }), 'node'));
    await node.post('/api/v1/nodes', { metadata: { name: cp.nodeName }, status: { addresses: [{ type: 'InternalIP', address: cp.address }] } });
    const proxyLog = records.find((r) => r.component === 'kube-proxy')!.log;
    await eventually('kube-proxy restarted by its loop', 30_000, async () => (/restarting in 1 s/.test(readFileSync(proxyLog, 'utf8')) ? true : undefined));
    assert.match(readFileSync(proxyLog, 'utf8'), /NodeIPs changed for the node/);
    const health = await eventually('kube-proxy healthy again, eligible on its Node', 30_000, async () => {
      const res = await request(`http://${cp.address}:10256/healthz`, { timeoutMs: 2000 });
      const body = JSON.parse(res.body) as { healthy: boolean; nodeEligible: boolean };
      return res.status === 200 && body.nodeEligible ? body : undefined;
    });
    assert.equal(health.healthy, true);
    const svc = await admin.get<{ spec: { clusterIP: string } }>('/api/v1/namespaces/default/services/hello');
    const body = await eventually(`http://${svc.spec.clusterIP}/ after the restart`, 30_000, async () => {
      const { stdout } = await exec('nsenter', [`--net=/run/netns/${cp.netns}`, '--', process.execPath, '-e',
        `fetch('http://${svc.spec.clusterIP}/', { signal: AbortSignal.timeout(2000) }).then((r) => r.text()).then((t) => console.log(t))`]);
      return stdout.trim() || undefined;
    });
    assert.match(body, /^hello from /);
  });

  test('kube-proxy falls back to iptables without nft, and says which packages are missing without either', async () => {
    const bin = await mkdtemp(path.join(os.tmpdir(), 'rollcall-path-'));
    const saved = process.env.PATH;
    try {
      const which = async (command: string) => (await exec('sh', ['-c', `command -v ${command}`])).stdout.trim();
      await symlink(await which('nsenter'), path.join(bin, 'nsenter'));
      await symlink(await which('iptables'), path.join(bin, 'iptables'));
      const l = layout({ ...OPTIONS, stateDir });
      process.env.PATH = bin;
      assert.deepEqual(await chooseProxyMode(l), { mode: 'iptables' });
      await rm(path.join(bin, 'iptables'));
      const none = await chooseProxyMode(l);
      assert.equal(none.mode, 'none');
      assert.match((none as { reason: string }).reason, /nftables: the nft command is missing \(apt-get install nftables\); iptables: the iptables command is missing \(apt-get install iptables\)/);
    } finally {
      process.env.PATH = saved;
      await rm(bin, { recursive: true, force: true });
    }
  });

  test('stop leaves no component running and deletes the namespace', async () => {
    await cp.stop();
    for (const r of records) assert.equal(isRunning(r), false, `${r.component} (pid ${r.pid}) still runs`);
    assert.equal(existsSync(`/run/netns/${cp.netns}`), false);
    await cp.stop(); // twice is fine
  });
});
