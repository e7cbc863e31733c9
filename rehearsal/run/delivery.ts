// How a release reaches the cluster: the seam between "a commit changed the manifests" and what the StatefulSet
// sees. The rehearsal calls `apply(template)` for the release and again for the revert; a delivery changes the
// StatefulSet's template and runs whatever hooks it runs, and reports each step as a marker on the timeline.
// `plainApply` is `kubectl apply` plus the recreate overlay's PostSync hook emulated right after it (the hook deletes
// every pod). An Argo CD delivery (hook phases gated on health, sync timeout, auto-sync blocked while an operation
// runs: rehearsal/model/argocd-sync.ts, issue 13) implements the same interface.
import type { MarkerKind } from '../result.ts';
import type { RolloutPlan } from '../plan.ts';
import type { Template } from './statefulset.ts';

/** What a delivery may do to the cluster. */
export interface ClusterControl {
  setTemplate(template: Template): void;
  /** Delete every pod of the set (what the recreate hook's Job does through the API). */
  deleteAllPods(): void;
  /** Whether every pod is Ready (a delivery that gates on health asks this). */
  healthy(): boolean;
}

export interface Delivery {
  readonly name: string;
  /** Applies `template` (a release, or the revert); resolves when the delivery's own steps are done. */
  apply(template: Template, cluster: ClusterControl, mark: (kind: MarkerKind, label: string) => void): Promise<void>;
}

export function hasRecreateHook(plan: RolloutPlan): boolean {
  return plan.update.type === 'OnDelete' && plan.update.deleteAll;
}

export function plainApply(plan: RolloutPlan): Delivery {
  return {
    name: 'kubectl apply (PostSync hook emulated right after it)',
    async apply(template, cluster, mark) {
      cluster.setTemplate(template);
      mark('sync', `apply: template ${template.version}`);
      if (hasRecreateHook(plan)) {
        mark('sync', 'PostSync hook: delete every pod');
        cluster.deleteAllPods();
      }
    },
  };
}
