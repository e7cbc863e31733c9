// Starts and stops the real control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
// kube-proxy: one binary, cluster/controlplane/) in its own network namespace, as root. Used by `npm run cluster`
// (cluster/cli.ts) and by tests through startControlPlane().
//
// State (layout.ts): /var/tmp/rollcall-cluster/<name>/ holds pki/, kubeconfig/, etcd/ (the data), logs/<component>.log
// and state.json (the processes by PID and start time, so `down` from another shell stops exactly them). Each `up`
// starts a new cluster: the previous one's files are removed first.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { controlPlaneBinary } from '../controlplane/build.ts';
import { ApiClient, request } from './api.ts';
import { COMPONENTS, componentArgs, kubeProxyConfig, type ComponentName, type ProxyMode } from './components.ts';
import { writeKubeconfigs } from './kubeconfig.ts';
import { layout, type Layout, type LayoutOptions } from './layout.ts';
import { createNamespace, deleteNamespace, inNamespace, namespaceExists } from './network.ts';
import { clientCredentials, writePki } from './pki.ts';
import { isRunning, logTail, startDaemon, stopProcess, type ProcessRecord } from './processes.ts';

const exec = promisify(execFile);

export interface StartOptions extends LayoutOptions {
  /** The control plane binary (default: controlPlaneBinary(), which builds it when the cache has none). */
  binary?: string;
  /** How long each component may take to become healthy (default 90 s; the API server's first start is the slowest). */
  componentTimeoutMs?: number;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

/** Whether Services work: the kube-proxy mode that runs, or why none does. */
export type ServiceProxy = { mode: ProxyMode } | { mode: 'none'; reason: string };

export interface ControlPlaneState {
  name: string;
  stateDir: string;
  netns: string;
  nodeName: string;
  apiserverUrl: string;
  kubeconfigs: Layout['kubeconfigs'];
  podCidr: string;
  serviceCidr: string;
  address: string;
  proxy: ServiceProxy;
  processes: ProcessRecord[];
  /** Milliseconds from the start of `up` (binary at hand) to each component being healthy. */
  readyAfterMs: Partial<Record<ComponentName | 'controllers', number>>;
}

export interface ControlPlane extends ControlPlaneState {
  /** Stops every component by PID and deletes the network namespace. Safe to call twice. */
  stop(): Promise<void>;
  /** An API client as the cluster admin (system:masters). */
  admin(): Promise<ApiClient>;
}

/** Why this process cannot run the control plane, or undefined when it can. */
export function missingPrivileges(): string | undefined {
  if (process.getuid?.() === 0) return undefined;
  return (
    'the local control plane needs root: it creates a network namespace (ip netns add, CAP_SYS_ADMIN), a veth pair ' +
    'and addresses on the host (CAP_NET_ADMIN), and kube-proxy writes nftables/iptables rules in the namespace. ' +
    'Run it as root (sudo -E npm run cluster -- up). An unprivileged user namespace is not enough: its veth cannot ' +
    'reach the host, so kubectl on the host could not talk to the API server.'
  );
}

export async function readState(l: Layout): Promise<ControlPlaneState | undefined> {
  try {
    return JSON.parse(await readFile(l.stateFile, 'utf8')) as ControlPlaneState;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`${l.stateFile}: ${(error as Error).message}`);
  }
}

async function writeState(l: Layout, state: ControlPlaneState): Promise<void> {
  await writeFile(l.stateFile, `${JSON.stringify(state, null, 2)}\n`);
}

/**
 * Picks kube-proxy's mode by asking the kernel inside the namespace: nftables (kube-proxy's newer backend, `nft`
 * from the nftables package), else iptables (`iptables` from the iptables package). kube-proxy needs the same
 * command-line tools itself (sigs.k8s.io/knftables runs `nft`; the iptables mode runs iptables-restore).
 */
export async function chooseProxyMode(l: Layout): Promise<ServiceProxy> {
  const reasons: string[] = [];
  const table = `rollcall-probe-${process.pid}`;
  try {
    await exec(inNamespace(l)[0]!, [...inNamespace(l).slice(1), 'nft', 'add', 'table', 'inet', table]);
    await exec(inNamespace(l)[0]!, [...inNamespace(l).slice(1), 'nft', 'delete', 'table', 'inet', table]);
    return { mode: 'nftables' };
  } catch (error) {
    reasons.push(`nftables: ${describeExecError(error, 'nft', 'nftables')}`);
  }
  try {
    await exec(inNamespace(l)[0]!, [...inNamespace(l).slice(1), 'iptables', '-t', 'nat', '-L', '-n']);
    return { mode: 'iptables' };
  } catch (error) {
    reasons.push(`iptables: ${describeExecError(error, 'iptables', 'iptables')}`);
  }
  return { mode: 'none', reason: `kube-proxy cannot program Services in this kernel/namespace (${reasons.join('; ')}); ClusterIPs will not answer` };
}

function describeExecError(error: unknown, command: string, pkg: string): string {
  const e = error as NodeJS.ErrnoException & { stderr?: string };
  if (e.stderr?.includes('No such file') || e.stderr?.includes('executable file not found') || /nsenter: failed to execute/.test(e.stderr ?? '')) {
    return `the ${command} command is missing (apt-get install ${pkg})`;
  }
  return (e.stderr ?? e.message).trim().split('\n')[0] ?? 'failed';
}

/** Polls `check` until it answers true; fails early when the component's process has exited, with its log. */
async function waitHealthy(record: ProcessRecord, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    if (!isRunning(record)) throw new Error(`${record.component} exited during start-up; last lines of ${record.log}:\n${logTail(record.log)}`);
    try {
      if (await check()) return;
      last = 'not healthy yet';
    } catch (error) {
      last = (error as Error).message;
    }
    await sleep(250);
  }
  throw new Error(`${record.component} not healthy after ${timeoutMs / 1000} s (${last}); last lines of ${record.log}:\n${logTail(record.log)}`);
}

const ok = (status: number) => status === 200;

function healthCheck(l: Layout, component: ComponentName, admin: () => Promise<ApiClient>): () => Promise<boolean> {
  switch (component) {
    case 'etcd':
      return async () => {
        const res = await request(`http://${l.address}:${l.ports.etcdMetrics}/health`, { timeoutMs: 2000 });
        return ok(res.status) && (JSON.parse(res.body) as { health?: string }).health === 'true';
      };
    case 'kube-apiserver':
      return async () => ok((await (await admin()).send('GET', '/readyz')).status);
    case 'kube-controller-manager':
      return async () => ok((await request(`https://${l.address}:${l.ports.controllerManager}/healthz`, { timeoutMs: 2000 })).status);
    case 'kube-scheduler':
      return async () => ok((await request(`https://${l.address}:${l.ports.scheduler}/healthz`, { timeoutMs: 2000 })).status);
    case 'kube-proxy':
      return async () => ok((await request(`http://${l.address}:${l.ports.proxyHealthz}/livez`, { timeoutMs: 2000 })).status);
  }
}

/**
 * The controllers at work, not only their process: the serviceaccount controller has made `default` in `default`,
 * and the root-ca-certificate-publisher its kube-root-ca.crt ConfigMap. Pods cannot be admitted before both.
 */
async function controllersWorking(admin: ApiClient): Promise<boolean> {
  const sa = await admin.send('GET', '/api/v1/namespaces/default/serviceaccounts/default');
  const ca = await admin.send('GET', '/api/v1/namespaces/default/configmaps/kube-root-ca.crt');
  return ok(sa.status) && ok(ca.status);
}

export async function startControlPlane(options: StartOptions = {}): Promise<ControlPlane> {
  const why = missingPrivileges();
  if (why) throw new Error(why);
  const log = options.log ?? (() => {});
  const timeoutMs = options.componentTimeoutMs ?? 90_000;
  const binary = options.binary ?? (await controlPlaneBinary({ log }));
  const l = layout(options);

  const previous = await readState(l);
  if (previous?.processes.some(isRunning)) throw new Error(`control plane ${l.name} is already up (${l.stateFile}): stop it first with \`npm run cluster -- down\``);
  if (namespaceExists(l)) await deleteNamespace(l);
  await rm(l.stateDir, { recursive: true, force: true });
  await mkdir(l.logDir, { recursive: true });

  const started = performance.now();
  await writePki(l);
  await writeKubeconfigs(l);
  await createNamespace(l);
  const proxy = await chooseProxyMode(l);
  if (proxy.mode !== 'none') await writeFile(l.kubeProxyConfig, kubeProxyConfig(l, proxy.mode));

  const state: ControlPlaneState = {
    name: l.name,
    stateDir: l.stateDir,
    netns: l.netns,
    nodeName: l.nodeName,
    apiserverUrl: l.apiserverUrl,
    kubeconfigs: l.kubeconfigs,
    podCidr: l.podCidr,
    serviceCidr: l.serviceCidr,
    address: l.address,
    proxy,
    processes: [],
    readyAfterMs: {},
  };
  let adminClient: ApiClient | undefined;
  const admin = async () => (adminClient ??= new ApiClient(l.apiserverUrl, await clientCredentials(l, 'admin')));
  const stop = async () => {
    await stopControlPlane(options);
  };
  try {
    for (const component of COMPONENTS) {
      if (component === 'kube-proxy' && proxy.mode === 'none') {
        log(`kube-proxy: not started: ${proxy.reason}`);
        continue;
      }
      const logFile = path.join(l.logDir, `${component}.log`);
      const record = startDaemon(component, [...inNamespace(l), binary, component, ...componentArgs(l, component)], logFile);
      state.processes.push(record);
      await writeState(l, state);
      await waitHealthy(record, timeoutMs, healthCheck(l, component, admin));
      state.readyAfterMs[component] = Math.round(performance.now() - started);
      log(`${component}: healthy after ${(state.readyAfterMs[component]! / 1000).toFixed(1)} s (pid ${record.pid}, log ${logFile})`);
      if (component === 'kube-scheduler') {
        const controllers = state.processes.find((p) => p.component === 'kube-controller-manager')!;
        await waitHealthy(controllers, timeoutMs, async () => controllersWorking(await admin()));
        state.readyAfterMs.controllers = Math.round(performance.now() - started);
        log(`controllers: default service account and root CA published after ${(state.readyAfterMs.controllers / 1000).toFixed(1)} s`);
      }
    }
    await writeState(l, state);
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
  return { ...state, stop, admin };
}

/** Stops the control plane named by `options` (its recorded processes, newest first) and deletes its namespace. */
export async function stopControlPlane(options: LayoutOptions = {}): Promise<{ component: string; pid: number; outcome: string }[]> {
  const l = layout(options);
  const state = await readState(l);
  const stopped = [];
  for (const record of [...(state?.processes ?? [])].reverse()) {
    stopped.push({ component: record.component, pid: record.pid, outcome: await stopProcess(record) });
  }
  await deleteNamespace(l);
  if (state) await writeState(l, { ...state, processes: [] });
  return stopped;
}

export interface Status {
  state: ControlPlaneState | undefined;
  running: { component: string; pid: number; running: boolean }[];
  namespace: boolean;
  readyz?: string;
}

export async function controlPlaneStatus(options: LayoutOptions = {}): Promise<Status> {
  const l = layout(options);
  const state = await readState(l);
  const running = (state?.processes ?? []).map((p) => ({ component: p.component, pid: p.pid, running: isRunning(p) }));
  const status: Status = { state, running, namespace: namespaceExists(l) };
  if (running.some((p) => p.component === 'kube-apiserver' && p.running) && existsSync(path.join(l.pkiDir, 'admin.crt'))) {
    const res = await new ApiClient(l.apiserverUrl, await clientCredentials(l, 'admin')).send('GET', '/readyz').catch((e: Error) => ({ status: 0, body: e.message }));
    status.readyz = `${res.status} ${res.body.trim()}`;
  }
  return status;
}
