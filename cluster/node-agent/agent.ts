// The node agent: a stand-in for the kubelet that runs pods as processes on this machine. It registers its Node,
// renews its Lease, watches the pods bound to it (fieldSelector spec.nodeName, as the kubelet's API source does) and
// hands each one to a PodWorker; with a provisioner identity it also runs the directory provisioner of the default
// StorageClass. `startNodeAgent` runs it in this process (which must be in the control plane's network namespace);
// `spawnNodeAgent` starts `main.ts` as a child inside that namespace, for tests and the cluster command.
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { IPod } from 'kubernetes-models/v1/Pod';
import { startClusterDns, type ClusterDns } from './cluster-dns.ts';
import { ImageStore, parseImageMap } from './images.ts';
import { KubeApi, loadKubeConfig } from './kube-api.ts';
import { LEASE_RENEW_MS, registerNode, renewLease, reportStatus, STATUS_REPORT_MS, type NodeIdentity } from './node-object.ts';
import { enableForwarding, PodIPAllocator, removeLocalPodRoutes, tearDownPodNetwork } from './pod-network.ts';
import { parseResolvConf, type NodeDnsSettings } from './pod-dns.ts';
import { PodWorker } from './pod-worker.ts';
import { runProvisioner } from './provisioner.ts';

const repoRoot = path.resolve(import.meta.dirname, '../..');

export interface NodeAgentOptions {
  /** The node's own identity (CN system:node:<name>, O system:nodes): NodeRestriction limits it to its own objects. */
  kubeconfig: string;
  /** Pods' directories, logs and volumes; made traversable (0711) for the pods' non-root users. */
  stateDir: string;
  /** Image tag (or full reference) → build directory; a string is the `--images` syntax `TAG=DIR,...`. */
  images: Map<string, string> | string;
  /** The Dockerfile whose runtime stage says what an image runs (default: the project's). */
  dockerfile?: string;
  /** Default: the CN of the kubeconfig's client certificate without `system:node:`. */
  nodeName?: string;
  /** The node's InternalIP; default: the API server's host from the kubeconfig (they share the machine). */
  nodeIP?: string;
  podCIDR?: string;
  /** The Node binary standing for the image's `node` (default: the one running the agent). */
  nodeBinary?: string;
  /** An identity allowed to create PersistentVolumes and StorageClasses: enables the provisioner. */
  provisionerKubeconfig?: string;
  /** How pods reach the API server and the cluster DNS: `service` (their Services' ClusterIPs, needs kube-proxy) or `direct`. */
  apiVia?: 'service' | 'direct';
  /**
   * An identity that may list and watch Services and EndpointSlices and write the Service kube-system/kube-dns and
   * its EndpointSlice: enables the cluster DNS (cluster-dns.ts), which pods' resolv.conf then names.
   */
  dnsKubeconfig?: string;
  /** The kube-dns Service's ClusterIP (the kubelet's --cluster-dns); default 10.96.0.10. Used with apiVia `service`. */
  clusterDNS?: string;
  /** The kubelet's --cluster-domain; default cluster.local. */
  clusterDomain?: string;
  log?: (msg: string) => void;
}

export interface NodeAgent {
  nodeName: string;
  hostIP: string;
  /** Ends every pod's processes and the watches; leaves the Node and the pod objects in place. */
  stop(): Promise<void>;
}

function nodeNameFromCert(cert: Buffer | undefined): string | undefined {
  if (!cert) return undefined;
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(new X509Certificate(cert).subject)?.[1];
  return cn?.startsWith('system:node:') ? cn.slice('system:node:'.length) : undefined;
}

/** Kills what a previous run of the agent left (its pods' process groups and network namespaces). */
async function sweepLeftovers(stateDir: string, log: (msg: string) => void): Promise<void> {
  const podsDir = path.join(stateDir, 'pods');
  if (!existsSync(podsDir)) return;
  for (const entry of readdirSync(podsDir)) {
    const pidsDir = path.join(podsDir, entry, 'pids');
    if (existsSync(pidsDir)) {
      for (const f of readdirSync(pidsDir)) {
        const pid = Number(readFileSync(path.join(pidsDir, f), 'utf8'));
        try {
          process.kill(-pid, 'SIGKILL');
          log(`killed leftover container process group ${pid} (${entry})`);
        } catch {
          // gone already
        }
        rmSync(path.join(pidsDir, f), { force: true });
      }
    }
    const uid = entry.split('_').at(-1);
    if (uid) await tearDownPodNetwork(uid);
  }
}

export async function startNodeAgent(opts: NodeAgentOptions): Promise<NodeAgent> {
  const log = opts.log ?? ((msg: string) => process.stderr.write(`${new Date().toISOString()} node-agent: ${msg}\n`));
  const config = loadKubeConfig(opts.kubeconfig);
  const api = new KubeApi(config);
  const nodeName = opts.nodeName ?? nodeNameFromCert(config.cert);
  if (!nodeName) throw new Error(`${opts.kubeconfig}: no node name given and its client certificate is not system:node:<name>`);
  const serverUrl = new URL(config.server);
  const hostIP = opts.nodeIP ?? serverUrl.hostname;
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(hostIP)) throw new Error(`the node IP ${hostIP} is not an IPv4 address: pass nodeIP (--node-ip)`);
  const podCIDR = opts.podCIDR ?? '10.88.0.0/16';
  const images = ImageStore.fromDockerfile(
    typeof opts.images === 'string' ? parseImageMap(opts.images) : opts.images,
    opts.dockerfile ?? path.join(repoRoot, 'Dockerfile'),
  );

  mkdirSync(opts.stateDir, { recursive: true });
  // The pods' users (10001) must reach their volumes and logs below, not list them.
  chmodSync(opts.stateDir, 0o711);
  mkdirSync(path.join(opts.stateDir, 'pods'), { recursive: true, mode: 0o711 });
  chmodSync(path.join(opts.stateDir, 'pods'), 0o711);
  await sweepLeftovers(opts.stateDir, log);
  enableForwarding();
  for (const route of await removeLocalPodRoutes(podCIDR)) log(`removed the route "${route}": pods get their own network namespaces`);

  const version = (await api.get<{ gitVersion: string }>('/version')).gitVersion;
  const identity: NodeIdentity = { name: nodeName, internalIP: hostIP, podCIDR, version, maxPods: 110 };
  const since = new Date();
  const nodeUid = await registerNode(api, identity, since);
  await renewLease(api, nodeName, nodeUid);

  let apiService = { host: serverUrl.hostname, port: Number(serverUrl.port || 443) };
  if ((opts.apiVia ?? 'service') === 'service') {
    const svc = await api.get<{ spec: { clusterIP: string; ports: { port: number }[] } }>('/api/v1/namespaces/default/services/kubernetes');
    apiService = { host: svc.spec.clusterIP, port: svc.spec.ports[0]?.port ?? 443 };
  }

  const abort = new AbortController();
  const clusterDomain = opts.clusterDomain ?? 'cluster.local';
  let clusterDns: ClusterDns | undefined;
  let dnsApi: KubeApi | undefined;
  if (opts.dnsKubeconfig) {
    dnsApi = new KubeApi(loadKubeConfig(opts.dnsKubeconfig));
    const serviceIP = (opts.apiVia ?? 'service') === 'service' ? (opts.clusterDNS ?? '10.96.0.10') : undefined;
    clusterDns = await startClusterDns({ api: dnsApi, address: hostIP, zone: clusterDomain, nodeName, log, ...(serviceIP ? { serviceIP } : {}) }, abort.signal);
  }
  // The kubelet's --resolv-conf (the node's /etc/resolv.conf): the base of dnsPolicy Default, and searched after the
  // cluster's names under ClusterFirst (pkg/kubelet/network/dns/dns.go).
  const dns: NodeDnsSettings = {
    clusterDNS: clusterDns ? [clusterDns.nameserver] : [],
    clusterDomain,
    host: existsSync('/etc/resolv.conf') ? parseResolvConf(readFileSync('/etc/resolv.conf', 'utf8')) : { servers: [], searches: [], options: [] },
  };
  const timers = [
    setInterval(() => void renewLease(api, nodeName, nodeUid).catch((err: Error) => log(`lease: ${err.message}`)), LEASE_RENEW_MS),
    setInterval(() => void reportStatus(api, identity, since).catch((err: Error) => log(`node status: ${err.message}`)), STATUS_REPORT_MS),
  ];

  const ips = new PodIPAllocator(podCIDR);
  const workers = new Map<string, PodWorker>();
  const deps = { api, images, nodeName, hostIP, stateDir: opts.stateDir, nodeBinary: opts.nodeBinary ?? process.execPath, apiService, dns, ips, log };
  const see = (pod: IPod): void => {
    const uid = pod.metadata?.uid;
    if (!uid || abort.signal.aborted) return;
    const w = workers.get(uid);
    if (w) w.update(pod);
    else {
      const worker = new PodWorker(deps, pod);
      workers.set(uid, worker);
      if (pod.metadata?.deletionTimestamp) worker.update(pod);
    }
  };
  const forget = (uid: string): void => {
    const w = workers.get(uid);
    if (!w) return;
    w.gone();
    workers.delete(uid);
  };

  const podWatch = api.listWatch<IPod>(
    '/api/v1/pods',
    { fieldSelector: `spec.nodeName=${nodeName}` },
    {
      onSync: (items) => {
        const present = new Set(items.map((p) => p.metadata?.uid));
        for (const uid of workers.keys()) if (!present.has(uid)) forget(uid);
        for (const p of items) see(p);
      },
      onEvent: (e) => {
        if (e.type === 'DELETED') forget(e.object.metadata?.uid ?? '');
        else see(e.object);
      },
      onError: (err) => log(`pod watch: ${err.message}`),
    },
    abort.signal,
  );

  let provisioner: Promise<void> = Promise.resolve();
  let provisionerApi: KubeApi | undefined;
  if (opts.provisionerKubeconfig) {
    provisionerApi = new KubeApi(loadKubeConfig(opts.provisionerKubeconfig));
    provisioner = runProvisioner({ api: provisionerApi, nodeName, stateDir: opts.stateDir, log }, abort.signal).catch((err: Error) =>
      log(`provisioner: ${err.message}`),
    );
  }
  log(`node ${nodeName} registered (${hostIP}, pods ${podCIDR}, images ${images.tags.join(', ')}, API for pods at ${apiService.host}:${apiService.port}, ${clusterDns ? `cluster DNS at ${clusterDns.nameserver}` : 'no cluster DNS'})`);

  return {
    nodeName,
    hostIP,
    async stop() {
      abort.abort();
      for (const t of timers) clearInterval(t);
      await Promise.all([...workers.values()].map((w) => w.shutdown()));
      await Promise.allSettled([podWatch, provisioner]);
      await clusterDns?.stop();
      await api.close();
      await provisionerApi?.close();
      await dnsApi?.close();
    },
  };
}

export interface SpawnedNodeAgent {
  child: ChildProcess;
  nodeName: string;
  /** SIGTERM, then SIGKILL after `timeoutMs`; resolves when the agent has exited. */
  stop(timeoutMs?: number): Promise<void>;
}

/** The `main.ts` arguments for the options (the inverse of main.ts's parsing). */
export function agentArgs(opts: NodeAgentOptions): string[] {
  const images = typeof opts.images === 'string' ? opts.images : [...opts.images].map(([k, v]) => `${k}=${v}`).join(',');
  const args = ['--kubeconfig', opts.kubeconfig, '--state-dir', opts.stateDir, '--images', images];
  if (opts.dockerfile) args.push('--dockerfile', opts.dockerfile);
  if (opts.nodeName) args.push('--node-name', opts.nodeName);
  if (opts.nodeIP) args.push('--node-ip', opts.nodeIP);
  if (opts.podCIDR) args.push('--pod-cidr', opts.podCIDR);
  if (opts.nodeBinary) args.push('--node-binary', opts.nodeBinary);
  if (opts.provisionerKubeconfig) args.push('--provisioner-kubeconfig', opts.provisionerKubeconfig);
  if (opts.apiVia) args.push('--api-via', opts.apiVia);
  if (opts.dnsKubeconfig) args.push('--dns-kubeconfig', opts.dnsKubeconfig);
  if (opts.clusterDNS) args.push('--cluster-dns', opts.clusterDNS);
  if (opts.clusterDomain) args.push('--cluster-domain', opts.clusterDomain);
  return args;
}

/**
 * Starts the agent as a child process, inside the network namespace `netns` (a name under /run/netns) when given,
 * and resolves once it has registered its node (its "registered" line), or rejects with its output after `timeoutMs`.
 */
export async function spawnNodeAgent(opts: NodeAgentOptions & { netns?: string; logFile?: string; timeoutMs?: number }): Promise<SpawnedNodeAgent> {
  const main = path.join(import.meta.dirname, 'main.ts');
  const nodeArgv = [process.execPath, main, ...agentArgs(opts)];
  const argv = opts.netns ? ['nsenter', `--net=/run/netns/${opts.netns}`, '--', ...nodeArgv] : nodeArgv;
  const child = spawn(argv[0] ?? 'node', argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const record = (line: string): void => {
    lines.push(line);
    if (lines.length > 200) lines.shift();
    if (opts.logFile) writeFileSync(opts.logFile, line + '\n', { flag: 'a' });
  };
  createInterface({ input: child.stdout! }).on('line', record);
  const stderr = createInterface({ input: child.stderr! });
  const registered = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the node agent did not register within ${opts.timeoutMs ?? 30_000} ms:\n${lines.join('\n')}`)), opts.timeoutMs ?? 30_000);
    stderr.on('line', (line) => {
      record(line);
      const m = /node (\S+) registered/.exec(line);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`the node agent exited (${child.exitCode ?? child.signalCode}) before registering:\n${lines.join('\n')}`));
    });
  });
  let nodeName: string;
  try {
    nodeName = await registered;
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    child,
    nodeName,
    async stop(timeoutMs = 60_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
