// The whole stack real Argo CD needs on this machine, started in one call: the local control plane, the node agent as
// its node, a local Git repository of this project (cluster/argocd/git-repo.ts) with the hook deadlines scaled down by
// one component added to every overlay in one commit, and Argo CD's components (with the Argo Rollouts analysis
// controller) as processes. Used by the Argo CD suite and the matrix (scripts/argocd-matrix.ts); stop() ends every
// process it started, by PID, and removes what it created.
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { cp as copyDir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { findGo } from '../go-build.ts';
import { missingPrivileges, startControlPlane, type ControlPlane } from '../local/control-plane.ts';
import type { ApiClient } from '../local/api.ts';
import { startLocalNode } from '../local/node.ts';
import { buildImageDir, bundleTag } from '../local/bundle-image.ts';
import { inNamespaceWithResolvConf } from '../local/network.ts';
import type { SpawnedNodeAgent } from '../node-agent/agent.ts';
import { podDnsConfig, resolvConf } from '../node-agent/pod-dns.ts';
import { startArgoCD, type ArgoCD } from './argocd.ts';
import { createLocalRepo, type LocalRepo } from './git-repo.ts';
import { addComponent, overlayNames } from './releases.ts';

/** The kube-dns Service's ClusterIP the node agent publishes (cluster/node-agent/cluster-dns.ts, kubeadm's choice). */
const CLUSTER_DNS = '10.96.0.10';

/**
 * The component that scales the hook deadlines down for a measurement (smoke and recreate Jobs 120 s, their checks
 * 90 s), so a bad release's sync ends in minutes; the bundle users deploy is unchanged. Every figure taken with it
 * says so (SCALED_TIMINGS).
 */
export const SCALED_TIMINGS_COMPONENT = path.resolve(import.meta.dirname, '../../testing/cluster/fixtures/scaled-timings');
export const SCALED_TIMINGS = 'hook deadlines scaled to 120 s (checks 90 s) by testing/cluster/fixtures/scaled-timings, added to every overlay';

function onPath(tool: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => dir && existsSync(path.join(dir, tool)));
}

/** Why the stack cannot start here (a missing privilege or tool, named), or undefined. */
export function argocdStackUnavailable(): string | undefined {
  const privileges = missingPrivileges();
  if (privileges) return privileges;
  if (!findGo()) return 'Go is not installed: Argo CD is built from its Go modules and its manifests are read from the module cache';
  for (const tool of ['git', 'redis-server', 'nsenter', 'setpriv', 'ip']) {
    if (!onPath(tool)) return `${tool} is not installed (git: the repository; redis-server: Argo CD's cache, apt-get install redis-server; nsenter, setpriv, ip: the node agent's pods)`;
  }
  return undefined;
}

/** The version releases are made as (releases.ts releaseBadBuild): the bundle's tag with its patch one up. */
export function releaseVersion(tag = bundleTag()): string {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(tag);
  if (!m) throw new Error(`the bundle's image tag ${tag} is not major.minor.patch`);
  return `${m[1]}.${m[2]}.${Number(m[3]) + 1}`;
}

/** A built server.js reporting `version`: its inlined package.json (esbuild bundles `{name:"…",version:"…"`) changed,
 * refused unless it is there exactly once. */
export function withInlinedVersion(serverJs: string, pkg: { name: string; version: string }, version: string): string {
  const inlined = `{name:"${pkg.name}",version:"${pkg.version}"`;
  if (serverJs.split(inlined).length !== 2) throw new Error(`the build's inlined package.json (${inlined}) is not there exactly once; cannot make the ${version} image`);
  return serverJs.replace(inlined, `{name:"${pkg.name}",version:"${version}"`);
}

/**
 * The images the local node runs: the bundle's tag → a build of this checkout, and the release version → the same
 * build reporting that version (its package.json, which the app and the smoke hook read), as the image `npm run
 * release` would build.
 */
async function nodeImages(dir: string): Promise<Map<string, string>> {
  const tag = bundleTag();
  const current = path.join(dir, 'images', tag);
  await buildImageDir(current);
  const next = path.join(dir, 'images', releaseVersion(tag));
  await copyDir(current, next, { recursive: true });
  const version = releaseVersion(tag);
  const pkg = JSON.parse(await readFile(path.join(next, 'package.json'), 'utf8')) as { name: string; version: string };
  await writeFile(path.join(next, 'package.json'), JSON.stringify({ ...pkg, version }));
  // The server reports the version its build inlined (esbuild bundles package.json into server.js); the smoke hook
  // reads package.json. A build of the release version has both: the inlined one is replaced, exactly once.
  const server = path.join(next, 'server.js');
  await writeFile(server, withInlinedVersion(await readFile(server, 'utf8'), pkg, version));
  return new Map([[tag, current], [version, next]]);
}

export interface ArgoCDStackOptions {
  /** The control plane's name and transit subnet: its own, so a control plane started by hand is left alone. */
  name: string;
  subnet: number;
  nodeName: string;
  /** Everything goes here (state, logs, the repository). */
  dir: string;
  /** The checkout whose HEAD becomes the repository (default: this one). */
  source?: string;
  /** A control plane binary built elsewhere (default: the cached build, made when missing). */
  controlPlaneBinary?: string;
  log: (line: string) => void;
}

export interface ArgoCDStack {
  cp: ControlPlane;
  api: ApiClient;
  agent: SpawnedNodeAgent;
  repo: LocalRepo;
  argocd: ArgoCD;
  /** The commit with the scaled timings: what every later release starts from. */
  scaledCommit: string;
  /** Milliseconds from the control plane's start to every Argo CD component answering. */
  startedAfterMs: number;
  stop(): Promise<void>;
}

/**
 * Argo CD's components (and the Argo Rollouts analysis controller) as processes against control plane `cp`, their
 * logs and state under `dir`/argocd. The analysis controller fetches its web metric from the canary pod by its cluster
 * DNS name: it runs in the cluster's network namespace with the resolv.conf a pod of its namespace (argo-rollouts,
 * dnsPolicy ClusterFirst) gets from the kubelet, naming the node agent's cluster DNS.
 */
export async function startArgoCDOn(cp: ControlPlane, api: ApiClient, dir: string, log: (line: string) => void): Promise<ArgoCD> {
  const resolv = path.join(dir, 'analysis-controller.resolv.conf');
  const node = { clusterDNS: [CLUSTER_DNS], clusterDomain: 'cluster.local', host: { servers: [], searches: [], options: [] } };
  writeFileSync(resolv, resolvConf(podDnsConfig({ apiVersion: 'v1', kind: 'Pod', metadata: { namespace: 'argo-rollouts' }, spec: { containers: [] } }, node)));
  return startArgoCD({
    kubeconfig: cp.kubeconfigs.admin,
    api,
    workDir: path.join(dir, 'argocd'),
    analysisController: true,
    clusterNetwork: inNamespaceWithResolvConf(`/run/netns/${cp.netns}`, resolv),
    log,
  });
}

export async function startArgoCDStack(options: ArgoCDStackOptions): Promise<ArgoCDStack> {
  const started = performance.now();
  chmodSync(options.dir, 0o711);
  const cp = await startControlPlane({ name: options.name, subnet: options.subnet, nodeName: options.nodeName, ...(options.controlPlaneBinary ? { binary: options.controlPlaneBinary } : {}), stateDir: path.join(options.dir, 'control-plane'), log: options.log });
  let agent: SpawnedNodeAgent | undefined;
  let argocd: ArgoCD | undefined;
  const stop = async () => {
    await argocd?.stop();
    await agent?.stop();
    await cp.stop();
  };
  try {
    const api = await cp.admin();
    agent = await startLocalNode(cp, { dir: options.dir, images: await nodeImages(options.dir) });
    const repo = await createLocalRepo(path.join(options.dir, 'git'), options.source ? { source: options.source } : {});
    const scaledCommit = await repo.commit('test: hook deadlines scaled down (every overlay)', async (work) => {
      await copyDir(SCALED_TIMINGS_COMPONENT, path.join(work, 'kustomize/components/scaled-timings'), { recursive: true });
      for (const overlay of overlayNames(work)) await addComponent(path.join(work, 'kustomize/overlays', overlay), '../../components/scaled-timings');
    });
    argocd = await startArgoCDOn(cp, api, options.dir, options.log);
    return { cp, api, agent, repo, argocd, scaledCommit, startedAfterMs: Math.round(performance.now() - started), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
