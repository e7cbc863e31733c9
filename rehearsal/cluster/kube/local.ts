// `--cluster local`: a control plane of this machine's own (cluster/local: etcd, kube-apiserver, the controllers and
// the scheduler built from the Kubernetes modules, kube-proxy) and the node agent (cluster/node-agent: pods as
// processes), started for the comparison and stopped after it, under their own name and subnet so a control plane
// started by `npm run cluster -- up` or by a test suite is left alone. The bundle's image tag runs this checkout's
// build. Needs root (network namespaces) and Go or a cached control plane binary.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cachedBinaryPath, findGo } from '../../../cluster/controlplane/build.ts';
import { missingPrivileges, startControlPlane } from '../../../cluster/local/control-plane.ts';
import { startLocalNode } from '../../../cluster/local/node.ts';
import type { RehearsalCluster } from '../seam.ts';
import type { ArgoCD } from '../../../cluster/argocd/argocd.ts';
import { argocdReportedVersion } from '../../../cluster/argocd/build.ts';
import { createEmptyRepo } from '../../../cluster/argocd/git-repo.ts';
import { startArgoCDOn } from '../../../cluster/argocd/stack.ts';
import { goModText } from '../../../cluster/go-build.ts';
import { bundleApplication } from '../../run/argocd-delivery.ts';
import { kubeCluster } from './cluster.ts';

/**
 * A name and transit subnet of its own for each run, so two comparisons (or a comparison and a test suite, whose
 * subnets are 201-210) can run side by side: the first of 10.87.211-250 whose network namespace rc-c<subnet> is
 * not there.
 */
function freeSlot(): { name: string; subnet: number; nodeName: string } {
  const taken = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  for (let subnet = 211; subnet <= 250; subnet++) {
    const name = `rc-c${subnet}`;
    if (!new RegExp(`^${name}\\b`, 'm').test(taken)) return { name, subnet, nodeName: `compare-node-${subnet}` };
  }
  throw new Error('--cluster local: 40 local control planes already run here (network namespaces rc-c211 to rc-c250)');
}

/** Why `--cluster local` cannot run here, or undefined. Checked before anything starts. */
export function localClusterUnavailable(): string | undefined {
  const privileges = missingPrivileges();
  if (privileges) return `--cluster local: ${privileges}`;
  if (!findGo() && !existsSync(cachedBinaryPath())) return '--cluster local: Go is not installed and no control plane binary is cached (npm run cluster -- build needs Go 1.26 and the Go module proxy)';
  for (const tool of ['kubectl', 'nsenter', 'setpriv', 'ip']) {
    if (!(process.env['PATH'] ?? '').split(':').some((dir) => dir && existsSync(path.join(dir, tool)))) return `--cluster local: ${tool} is not installed`;
  }
  return undefined;
}

/** `argocd`: Argo CD runs beside the control plane (cluster/argocd: its components and the Argo Rollouts analysis
 * controller as processes, built from the Go modules when not cached) and every apply is a commit it syncs. */
export async function startLocalCluster(log: (line: string) => void, options: { argocd?: boolean } = {}): Promise<RehearsalCluster> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'rollcall-compare-cluster-'));
  // The pods' non-root users walk through it to their volumes.
  chmodSync(tmp, 0o711);
  const cp = await startControlPlane({ ...freeSlot(), stateDir: path.join(tmp, 'control-plane'), log });
  let agent: Awaited<ReturnType<typeof startLocalNode>> | undefined;
  let argocd: ArgoCD | undefined;
  const stop = async () => {
    await argocd?.stop();
    await agent?.stop();
    await cp.stop();
    rmSync(tmp, { recursive: true, force: true });
  };
  try {
    agent = await startLocalNode(cp, { dir: tmp });
    log(`local control plane ${cp.name} up at ${cp.apiserverUrl}, state ${tmp}, node ${agent.nodeName} registered`);
    if (!options.argocd) return await kubeCluster({ kubeconfig: cp.kubeconfigs.admin }, `local control plane (${cp.name})`, stop);
    argocd = await startArgoCDOn(cp, await cp.admin(), tmp, log);
    const repo = await createEmptyRepo(path.join(tmp, 'git'));
    const application = await bundleApplication();
    log(`Argo CD ${argocdReportedVersion(goModText())} up after ${Math.round(argocd.readyAfterMs / 1000)} s; releases are commits to ${repo.url}`);
    const { ArgoCdApplier } = await import('./argocd.ts');
    return await kubeCluster({ kubeconfig: cp.kubeconfigs.admin }, `local control plane (${cp.name})`, stop, {
      applier: (kube) => new ArgoCdApplier({ kube, repo, namespace: argocd!.namespace, application }),
      describe: `Argo CD ${argocdReportedVersion(goModText())} (application controller, repo server; Argo Rollouts analysis controller)`,
    });
  } catch (error) {
    await stop();
    throw error;
  }
}
