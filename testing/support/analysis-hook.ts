// The AnalysisRun of a rendered overlay driven by the analysis model (rehearsal/model/argo-rollouts-analysis.ts)
// against a canary that answers `answer(t)` (seconds since the run started); returns the hook's outcome at `now`, as
// the sync model asks it (argocd-sync.ts analysisRunOutcome). Shared by the sync model's tests.
import type { K8sObject } from '../../bundle/types.ts';
import { analysisRunOutcome } from '../../rehearsal/model/argocd-sync.ts';
import { dueMeasurements, measure, parseAnalysis, recordMeasurement, runPhase, startRun, type WebResponse } from '../../rehearsal/model/argo-rollouts-analysis.ts';

export function analysisHook(run: K8sObject, answer: (t: number) => WebResponse) {
  const metrics = parseAnalysis(run);
  return (startedAt: number, now: number) => {
    let progress = startRun(metrics, 0);
    for (let due = dueMeasurements(metrics, progress); due.length > 0; due = dueMeasurements(metrics, progress)) {
      const { metric, atMs } = due[0]!;
      if (atMs > (now - startedAt) * 1000) break;
      progress = recordMeasurement(progress, metric, measure(metrics[metric]!, answer(atMs / 1000)), atMs);
    }
    return analysisRunOutcome(runPhase(metrics, progress));
  };
}
