// The person (or pipeline) watching a release: when it counts as bad, and so when they revert. These are the
// rehearsal's own rules, not another system's; they are printed with every run so the figures can be read against
// them. The watcher lets the StatefulSet strategy do what it does by itself first, so the figures show how far each
// strategy lets a bad release get:
// - stalled: the controller has waited on a pod of the new revision that is not Ready for `stallPeriods` readiness
//   periods (the rollout stopped by itself);
// - failing: the rollout has finished (every pod the strategy updates is updated and available) and the share of
//   failed requests over the last `windowMs` is at least `failedShare` (with at least `minRequests` requests);
// - good: the rollout finished and the window after it was clean.

export interface WatchRules {
  stallPeriods: number;
  failedShare: number;
  minRequests: number;
}

export const DEFAULT_WATCH_RULES: WatchRules = { stallPeriods: 3, failedShare: 0.05, minRequests: 20 };

export interface WatchObservation {
  nowMs: number;
  readinessPeriodMs: number;
  /** Since when the controller has been blocked on a not-Ready pod of the new revision (null: it is not). */
  stalledSinceMs: number | null;
  /** When the strategy's part of the rollout finished (null: not yet). */
  rolloutDoneAtMs: number | null;
  /** Requests and failures over the last window. */
  window: { requests: number; failed: number };
  windowMs: number;
}

export type Verdict = { verdict: 'watching' } | { verdict: 'good'; reason: string } | { verdict: 'bad'; reason: string };

export function judge(rules: WatchRules, o: WatchObservation): Verdict {
  const stallMs = rules.stallPeriods * o.readinessPeriodMs;
  if (o.stalledSinceMs !== null && o.nowMs - o.stalledSinceMs >= stallMs) {
    return { verdict: 'bad', reason: `rollout stalled: a new pod not Ready for ${rules.stallPeriods} readiness periods` };
  }
  if (o.rolloutDoneAtMs === null || o.nowMs - o.rolloutDoneAtMs < o.windowMs) return { verdict: 'watching' };
  const share = o.window.requests > 0 ? o.window.failed / o.window.requests : 0;
  if (o.window.requests >= rules.minRequests && share >= rules.failedShare) {
    return { verdict: 'bad', reason: `${(share * 100).toFixed(0)} % of requests failed after the rollout` };
  }
  return { verdict: 'good', reason: 'rollout finished and served cleanly' };
}

export function describeWatchRules(rules: WatchRules): string {
  return `bad = stalled ${rules.stallPeriods} readiness periods, or ≥ ${rules.failedShare * 100} % failed over a window after the rollout`;
}
