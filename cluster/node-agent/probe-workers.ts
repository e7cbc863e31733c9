// The probe workers of one running container, as the kubelet's prober runs them (pkg/kubelet/prober/worker.go): one
// per probe type, each on its own period, nothing probed before initialDelaySeconds after the container started;
// readiness and liveness only once it has started (the startup probe succeeded, or there is none), the first
// readiness probe at once (prober_manager.go UpdatePodStatus). What a result means comes from the kubelet model
// (rehearsal/model/kubelet.ts); this file only schedules the probes and reports.
import type { IContainer, IProbe } from 'kubernetes-models/v1';
import { afterLivenessProbe, afterProbe, initialProbeState, READINESS_PROBE_AFTER_START_MS, type ProbeSpec } from '../../rehearsal/model/kubelet.ts';
import { probeTimings, runProbe } from './probes.ts';

export interface ProbeReports {
  /** The container has started: readiness and liveness probing begin. */
  started(): void;
  readyChanged(ready: boolean): void;
  /** A startup or liveness probe failed its threshold: the kubelet kills the container. */
  kill(why: string): void;
  failed(kind: 'Startup' | 'Readiness' | 'Liveness', message: string): void;
}

/** Starts the workers; the answer stops them (the container ended or is being killed). */
export function startProbeWorkers(spec: IContainer, podIP: string, report: ProbeReports): () => void {
  const startedMs = Date.now();
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  const toSpec = (p: IProbe): ProbeSpec => {
    const t = probeTimings(p);
    return { periodMs: t.periodMs, failureThreshold: t.failureThreshold, successThreshold: t.successThreshold };
  };
  const startup = spec.startupProbe ? toSpec(spec.startupProbe) : undefined;
  // afterProbe needs a readiness spec even without a readiness probe; without one, Ready follows "started".
  const readiness = spec.readinessProbe ? toSpec(spec.readinessProbe) : { periodMs: 10_000, failureThreshold: 3, successThreshold: 1 };
  let state = initialProbeState(Boolean(spec.startupProbe));
  let livenessFailures = 0;

  const schedule = (probe: IProbe, delayMs: number, onResult: (ok: boolean, message: string) => boolean): void => {
    const t = probeTimings(probe);
    const wait = Math.max(delayMs, startedMs + t.initialDelayMs - Date.now());
    const timer = setTimeout(async () => {
      timers.delete(timer);
      if (stopped) return;
      const result = await runProbe(probe, spec, podIP);
      if (stopped) return;
      if (onResult(result.ok, result.message)) schedule(probe, t.periodMs, onResult);
    }, wait);
    timers.add(timer);
  };

  const onStarted = (): void => {
    report.started();
    if (!spec.readinessProbe) report.readyChanged(true);
    if (spec.readinessProbe) {
      schedule(spec.readinessProbe, READINESS_PROBE_AFTER_START_MS, (ok, message) => {
        const before = state.ready;
        state = afterProbe(state, ok, startup, readiness).state;
        if (!ok) report.failed('Readiness', message);
        if (before !== state.ready) report.readyChanged(state.ready);
        return true;
      });
    }
    if (spec.livenessProbe) {
      const threshold = probeTimings(spec.livenessProbe).failureThreshold;
      schedule(spec.livenessProbe, 0, (ok, message) => {
        const r = afterLivenessProbe(livenessFailures, ok, { failureThreshold: threshold });
        livenessFailures = r.failures;
        if (!ok) report.failed('Liveness', message);
        if (!r.restart) return true;
        report.kill('Container failed liveness probe, will be restarted');
        return false;
      });
    }
  };

  if (spec.startupProbe) {
    schedule(spec.startupProbe, 0, (ok, message) => {
      const outcome = afterProbe(state, ok, startup, readiness);
      state = outcome.state;
      if (!ok) report.failed('Startup', message);
      if (outcome.restart) {
        report.kill(`Container failed startup probe (${outcome.why}), will be restarted`);
        return false;
      }
      if (!state.started) return true;
      onStarted();
      return false;
    });
  } else {
    onStarted();
  }
  return () => {
    stopped = true;
    for (const t of timers) clearTimeout(t);
    timers.clear();
  };
}
