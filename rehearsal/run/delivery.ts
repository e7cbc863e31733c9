// How a release reaches the cluster: the seam between "a commit changed the manifests" and what the StatefulSet
// sees. The rehearsal calls `apply(template)` for the release and again for the revert; a delivery changes the
// StatefulSet's template and runs whatever hooks it runs, and reports each step as a marker on the timeline.
// `plainApply` is `kubectl apply` plus the recreate overlay's hook Job run right after it (the hook deletes every
// pod). `argocdDelivery` (argocd-delivery.ts) runs Argo CD's sync operation instead: hook phases gated on health, hook
// deadlines, retries, auto-sync blocked while an operation runs (rehearsal/model/argocd-sync.ts).
import type { K8sObject } from '../../bundle/types.ts';
import type { AnalysisPhase } from '../model/argo-rollouts-analysis.ts';
import type { MarkerKind, SyncFigures } from '../result.ts';
import type { RolloutPlan } from '../plan.ts';
import type { Template } from './statefulset.ts';

/** An AnalysisRun judging the pods (rehearsal/run/analysis-run.ts): its phase so far, and stop. */
export interface AnalysisHandle {
  phase(): AnalysisPhase;
  stop(): Promise<void>;
}

/** What a delivery may do to the cluster. */
export interface ClusterControl {
  /** Starts `manifest` (a rendered AnalysisRun hook) against the pods, for release `version` (Argo CD creates the
   * AnalysisRun; the analysis controller judges it). */
  analysisRun?(manifest: K8sObject, version: string): AnalysisHandle;
  setTemplate(template: Template): Promise<void>;
  /** Delete every pod of the set (what the recreate hook's Job does through the API). */
  deleteAllPods(): Promise<void>;
  /** Whether every pod is Ready (a delivery that gates on health asks this). */
  healthy(): boolean;
  /** Each ordinal's pod (undefined: none): its template revision, Ready, being deleted. */
  pods(): ({ revision: string; ready: boolean; terminating: boolean } | undefined)[];
  /** Delete one pod (what a hook Job does through the API). */
  deletePod(ordinal: number): Promise<void>;
  /** status.currentRevision and status.updateRevision of the StatefulSet. */
  revisions(): { current: string; update: string };
}

export interface Delivery {
  readonly name: string;
  /** Applies `template` (a release, or the revert); resolves when the delivery's own steps are done. */
  apply(template: Template, cluster: ClusterControl, mark: (kind: MarkerKind, label: string) => void): Promise<void>;
  /** What the delivery's sync operations did in this run, times on the run's clock (`originMs`: its t = 0 as
   * performance.now()); absent or null for a delivery without operations (kubectl). */
  summary?(originMs: number): SyncFigures | null;
  /** Stops the delivery's background work (a controller loop) at the end of a run. */
  close?(): void;
}

export function hasRecreateHook(plan: RolloutPlan): boolean {
  return plan.update.type === 'OnDelete' && plan.update.deleteAll;
}

export function plainApply(plan: RolloutPlan): Delivery {
  return {
    name: 'kubectl apply (the recreate hook Job run right after it)',
    async apply(template, cluster, mark) {
      await cluster.setTemplate(template);
      mark('sync', `apply: template ${template.version}`);
      if (hasRecreateHook(plan)) {
        mark('sync', 'recreate hook: delete every pod');
        await cluster.deleteAllPods();
      }
    },
  };
}
