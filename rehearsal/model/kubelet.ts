// The kubelet's part of a pod's life, as pure functions: when a container that exited is started again (restart
// back-off), and how probe results turn into the Ready condition or a restart. The runner probes the real process
// (HTTP GET /readyz) and feeds each result in; nothing here touches a process or a clock.

/** Sources: kubernetes/kubernetes pkg/kubelet/kubelet.go `backOffPeriod = 10 * time.Second` and
 * `MaxContainerBackOff = 300 * time.Second`, used by pkg/kubelet/kuberuntime/kuberuntime_manager.go doBackOff
 * through client-go util/flowcontrol/backoff.go (Next doubles the delay up to the maximum; a key seen for the first
 * time gets no wait). So the first restart is immediate, then 10 s, 20 s, 40 s … capped at 5 min (CrashLoopBackOff).
 * (Kubernetes 1.33+ has alpha gates that shorten this; the defaults above are what a cluster runs.) */
export const RESTART_BACKOFF_INITIAL_MS = 10_000;
export const RESTART_BACKOFF_MAX_MS = 300_000;

/** How long the kubelet waits before starting a container again, given how many times it has restarted it. */
export function restartDelayMs(restartsSoFar: number): number {
  if (restartsSoFar <= 0) return 0;
  return Math.min(RESTART_BACKOFF_MAX_MS, RESTART_BACKOFF_INITIAL_MS * 2 ** (restartsSoFar - 1));
}

export interface ProbeSpec {
  periodMs: number;
  failureThreshold: number;
  successThreshold: number;
}

/**
 * A liveness probe result (pkg/kubelet/prober/worker.go doProbe, probeType liveness): it runs only once the container
 * has started (startup probe passed), `failureThreshold` failures in a row make the kubelet kill the container
 * (restartPolicy Always: restarted with back-off), and any success resets the count.
 */
export function afterLivenessProbe(failures: number, ok: boolean, liveness: Pick<ProbeSpec, 'failureThreshold'>): { failures: number; restart: boolean } {
  if (ok) return { failures: 0, restart: false };
  const next = failures + 1;
  return { failures: next, restart: next >= liveness.failureThreshold };
}

/** Per-container probe state. A new container (after a restart) starts from `initialProbeState`. */
export interface ProbeState {
  /** The startup probe has succeeded once (or there is none): readiness probing has begun. */
  started: boolean;
  ready: boolean;
  successes: number;
  failures: number;
}

/** pkg/kubelet/prober/worker.go: readiness starts as Failure (not Ready) until the first probe; a startup probe, when
 * present, runs first and readiness waits for it. */
export function initialProbeState(hasStartupProbe: boolean): ProbeState {
  return { started: !hasStartupProbe, ready: false, successes: 0, failures: 0 };
}

export type ProbeOutcome = { state: ProbeState; restart: false } | { state: ProbeState; restart: true; why: string };

/** One probe result. pkg/kubelet/prober/worker.go doProbe: a result only changes the condition after
 * `successThreshold` (resp. `failureThreshold`) identical results in a row. A startup probe that reaches its failure
 * threshold makes the kubelet kill the container (restartPolicy Always: it is restarted with back-off); a failed
 * readiness probe only removes Ready. (Liveness is not modelled: /healthz never fails in any scenario.) */
export function afterProbe(state: ProbeState, ok: boolean, startup: ProbeSpec | undefined, readiness: ProbeSpec): ProbeOutcome {
  if (!state.started && startup) {
    if (ok) return { state: { started: true, ready: false, successes: 0, failures: 0 }, restart: false };
    const failures = state.failures + 1;
    if (failures >= startup.failureThreshold) {
      return { state: { ...state, failures }, restart: true, why: `startup probe failed ${failures} times` };
    }
    return { state: { ...state, failures }, restart: false };
  }
  const successes = ok ? state.successes + 1 : 0;
  const failures = ok ? 0 : state.failures + 1;
  let { ready } = state;
  if (ok && successes >= readiness.successThreshold) ready = true;
  if (!ok && failures >= readiness.failureThreshold) ready = false;
  return { state: { started: true, ready, successes, failures }, restart: false };
}

/** Which probe runs next and after how long: the startup probe's period until it succeeded, then readiness's; the
 * first readiness probe right after the startup probe's success (READINESS_PROBE_AFTER_START_MS below). `before` is
 * the state the result was applied to. */
export function probePeriodMs(state: ProbeState, startup: ProbeSpec | undefined, readiness: ProbeSpec, before?: ProbeState): number {
  if (before && !before.started && state.started) return READINESS_PROBE_AFTER_START_MS;
  return !state.started && startup ? startup.periodMs : readiness.periodMs;
}

/** pkg/kubelet/prober/prober_manager.go UpdatePodStatus: once a container has started (its startup probe succeeded,
 * or it has none) and its readiness probe has no result yet, the kubelet triggers that probe at once (worker.go
 * `manualTriggerCh`, which also restarts the worker's ticker from that moment). So the first readiness probe follows
 * the start without waiting a period (probePeriodMs above; the node agent in cluster/node-agent/ too). */
export const READINESS_PROBE_AFTER_START_MS = 0;

/**
 * How long after a probe result the next probe runs. The period of the probe that runs next, except right after the
 * startup probe succeeded: pkg/kubelet/prober/prober_manager.go UpdatePodStatus sees the container started but not
 * ready and sends the readiness worker a manual trigger (worker.go run: manualTriggerCh runs doProbe at once and
 * resets its ticker), so readiness is probed immediately, not a period later.
 */
export function nextProbeInMs(before: ProbeState, after: ProbeState, startup: ProbeSpec | undefined, readiness: ProbeSpec): number {
  if (startup && !before.started && after.started && !after.ready) return READINESS_PROBE_AFTER_START_MS;
  return probePeriodMs(after, startup, readiness);
}
