// The person (or pipeline) watching a release: when it counts as bad, and so when they revert. These are the
// rehearsal's own rules, not another system's; they are printed with every run so the figures can be read against
// them. The watcher lets the StatefulSet strategy do what it does by itself first, so the figures show how far each
// strategy lets a bad release get:
// - crash-looping: a container of the new release exited `crashLoopRestarts` times (kubectl shows RESTARTS, then
//   CrashLoopBackOff): a new pod that crashes is not given a second chance;
// - stalled: a pod of the new release has not been Ready for longer than the kubelet gives a container to start
//   (the startup probe's periodSeconds × failureThreshold: 60 s in the base manifest); the rollout waits on it;
// - failing: the rollout has finished (every pod the strategy updates is updated and available) and at least
//   `failedShare` of the requests over the last window failed (with at least `minRequests` requests);
// - good: the rollout finished and the window after it was clean.
// With an Argo Rollouts analysis (the canary-analysis overlay; judgeWithAnalysis) the analysis is what stops the
// release: while its AnalysisRun runs, the sync is in progress and the person waits for its result, so none of the
// rules above applies; a run that ends Failed, Error or Inconclusive fails the sync (Argo CD's AnalysisRun health
// check) and the person reverts; a run that ends Successful hands over to the rules above, which then catch what
// the analysis cannot see (a canary that answers /stats but never becomes Ready, so it gets no traffic to judge).

export interface WatchRules {
  crashLoopRestarts: number;
  failedShare: number;
  minRequests: number;
}

export const DEFAULT_WATCH_RULES: WatchRules = { crashLoopRestarts: 1, failedShare: 0.05, minRequests: 20 };

export interface WatchObservation {
  nowMs: number;
  /** Over the pods of the new release: the longest any has been continuously not Ready, and the most restarts. */
  newPodNotReadyMs: number;
  newPodRestarts: number;
  /** startupProbe periodSeconds × failureThreshold (or 3 readiness periods without a startup probe). */
  startupBudgetMs: number;
  /** When the strategy's part of the rollout finished (null: not yet). */
  rolloutDoneAtMs: number | null;
  /** Requests and failures over the last `windowMs`. */
  window: { requests: number; failed: number };
  windowMs: number;
}

export type Verdict =
  | { verdict: 'watching' }
  | { verdict: 'good'; reason: string }
  | { verdict: 'bad'; rule: 'crash-loop' | 'stalled' | 'failing' | 'analysis'; reason: string };

export function judge(rules: WatchRules, o: WatchObservation): Verdict {
  if (o.newPodRestarts >= rules.crashLoopRestarts) {
    return { verdict: 'bad', rule: 'crash-loop', reason: `a new pod's container exited ${o.newPodRestarts} time(s) (CrashLoopBackOff)` };
  }
  if (o.newPodNotReadyMs > o.startupBudgetMs) {
    return { verdict: 'bad', rule: 'stalled', reason: `a new pod not Ready for longer than its startup budget (${Math.round(o.startupBudgetMs)} ms)` };
  }
  if (o.rolloutDoneAtMs === null || o.nowMs - o.rolloutDoneAtMs < o.windowMs) return { verdict: 'watching' };
  const share = o.window.requests > 0 ? o.window.failed / o.window.requests : 0;
  if (o.window.requests >= rules.minRequests && share >= rules.failedShare) {
    return { verdict: 'bad', rule: 'failing', reason: `${Math.round(share * 100)} % of requests failed after the rollout` };
  }
  return { verdict: 'good', reason: 'rollout finished and served cleanly' };
}

export function describeWatchRules(rules: WatchRules): string {
  return (
    `a release is bad when a new pod's container exits ${rules.crashLoopRestarts} time(s), stays not Ready longer than the startup ` +
    `probe allows, or when ≥ ${rules.failedShare * 100} % of requests fail in the window after the rollout finished`
  );
}

/** The phase of an Argo Rollouts AnalysisRun (rehearsal/model/argo-rollouts-analysis.ts AnalysisPhase). */
export type AnalysisRunPhase = 'Pending' | 'Running' | 'Successful' | 'Failed' | 'Error' | 'Inconclusive';

/** judge, for a release gated by an analysis: the analysis first, the watch's rules once it ended Successful. */
export function judgeWithAnalysis(rules: WatchRules, o: WatchObservation, analysis: { phase: AnalysisRunPhase; detail: string }): Verdict {
  if (analysis.phase === 'Pending' || analysis.phase === 'Running') return { verdict: 'watching' };
  if (analysis.phase !== 'Successful') return { verdict: 'bad', rule: 'analysis', reason: `AnalysisRun ${analysis.phase} (${analysis.detail}): the sync fails` };
  return judge(rules, o);
}
