// A real cluster behind the seam (../seam.ts): the local control plane (local.ts) or any kube context. Overlays are
// rendered here as the user's kustomize renders them; the release is applied by the StatefulSet under test
// (statefulset.ts) the way `kubectl apply --server-side` applies it, and the hook Jobs run on the cluster.
import path from 'node:path';
import { findRenderer, noRendererMessage, render } from '../../../bundle/render.ts';
import { repoRoot } from '../../../bundle/schema.ts';
import type { RolloutPlan } from '../../plan.ts';
import type { Delivery } from '../../run/delivery.ts';
import type { RehearsalCluster } from '../seam.ts';
import { KubeBlueGreen } from './blue-green.ts';
import { KubeConnection, type KubeTarget } from './connection.ts';
import { compareNamespace, inNamespace } from './manifests.ts';
import { KubeStatefulSet } from './statefulset.ts';
import { serverSideApplier, type Applier } from './apply.ts';
import { realArgocdDelivery, type ArgoCdApplier } from './argocd.ts';

/** `kubectl apply --server-side` of the overlay at the release's template; its hook Jobs run on the cluster itself. */
export function serverSideApply(plan: RolloutPlan): Delivery {
  return {
    name: `kubectl apply --server-side (the hook Jobs${plan.update.type === 'OnDelete' ? ', the recreate hook among them,' : ''} run on the cluster)`,
    async apply(template, cluster, mark) {
      await cluster.setTemplate(template);
      mark('sync', `kubectl apply --server-side: template ${template.version}`);
    },
  };
}

/** What the cluster is: its version and its nodes' kind (a kind node, the local node agent, a cloud's). */
async function describeCluster(kube: KubeConnection, name: string): Promise<string> {
  const version = await kube.get<{ gitVersion: string }>('/version');
  const nodes = await kube.get<{ items: { metadata: { name: string }; status?: { nodeInfo?: { kubeletVersion?: string; containerRuntimeVersion?: string; osImage?: string } } }[] }>('/api/v1/nodes');
  const kinds = [...new Set(nodes.items.map((n) => `${n.status?.nodeInfo?.containerRuntimeVersion || 'no runtime'} (kubelet ${n.status?.nodeInfo?.kubeletVersion || '?'})`))];
  return `${name}: Kubernetes ${version.gitVersion}, ${nodes.items.length} node${nodes.items.length === 1 ? '' : 's'}: ${kinds.join(', ')}`;
}

/** A real cluster; `argocd`: every apply is a commit the cluster's Argo CD syncs (built on `kube`, so it is made by
 * the caller's function once the connection is open). */
export async function kubeCluster(target: KubeTarget, name: string, stop?: () => Promise<void>, argocd?: { applier: (kube: KubeConnection) => ArgoCdApplier; describe: string }): Promise<RehearsalCluster> {
  const kube = await KubeConnection.open(target);
  const gitops = argocd?.applier(kube);
  const applier: Applier = gitops ?? serverSideApplier;
  const renderer = findRenderer();
  if (!renderer) throw new Error(noRendererMessage);
  // Closed by the runner when it ends; on an interrupt, by close() below.
  const open = new Set<{ close(): Promise<void> }>();
  const overlay = async (name: string) => {
    const { objects } = await render(renderer, path.join('kustomize', 'overlays', name), repoRoot);
    return inNamespace(objects, compareNamespace(name));
  };
  return {
    describe: `${await describeCluster(kube, name)}${argocd ? `; ${argocd.describe}` : ''}`,
    kind: 'real',
    async statefulSet(options, initial) {
      const set = await KubeStatefulSet.create(kube, options, await overlay(options.plan.overlay), initial, applier);
      open.add(set);
      return set;
    },
    async blueGreen(options, state, templates) {
      const pair = await KubeBlueGreen.create(kube, options, await overlay(options.plan.overlay), state, templates, applier);
      open.add(pair);
      return pair;
    },
    kubectlDelivery: serverSideApply,
    ...(gitops ? { argocdDelivery: realArgocdDelivery(gitops) } : {}),
    async close() {
      for (const set of open) await set.close().catch(() => undefined);
      kube.close();
      await stop?.();
    },
  };
}
