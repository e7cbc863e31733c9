// The rehearsals of one overlay, with real server processes under load. The StatefulSet is launched once (the launch
// time is a figure of its own); then each release scenario runs on it in turn:
//   steady load on the last good release (v1) → apply the release (v2, the scenario) → watch → if bad: revert to v1
//   (+ the manual steps the StatefulSet rules require, each recorded) → recovered → steady load; measure.
// An overlay with an AnalysisRun (canary-analysis) runs it from the release on (analysis-run.ts), and its verdict is
// the watch's (release-watch.ts judgeWithAnalysis); blue-green (two StatefulSets) has its own runner (blue-green.ts).
// A good release stays (it becomes the next run's v1), as it would in Git. The rules come from rehearsal/model; this
// module runs the clock, the processes (statefulset.ts), the load and the delivery (delivery.ts), and records the
// timeline the report draws.
import { DEFAULT_WATCH_RULES, judge, judgeWithAnalysis, type Verdict, type WatchRules } from '../model/release-watch.ts';
import type { RolloutPlan } from '../plan.ts';
import type { MarkerKind, ReleaseScenario, RunResult } from '../result.ts';
import { AnalysisRunProcess } from './analysis-run.ts';
import { modelCluster } from '../cluster/model.ts';
import { median, POD_START_LATENCY_MS } from '../model/pod-start.ts';
import { DEFAULT_KUBERNETES_VERSION } from '../model/statefulset-controller.ts';
import type { RehearsalStatefulSet } from '../cluster/seam.ts';
import type { ClusterControl, Delivery } from './delivery.ts';
import type { RehearsalOptions } from './options.ts';
import { RunRecorder, RunTimelines, runResult, watchObservation } from './recorder.ts';
import { badReleaseEnv } from './scenarios.ts';
import type { Template } from './statefulset.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** How often the controller and kubelet models are asked (real ms). */
const TICK_MS = 20;

/** Rehearses an overlay of one StatefulSet (blue-green's two: blue-green.ts; overlay.ts picks), on the model or on a
 * real cluster (options.cluster: rehearsal/cluster/seam.ts). */
export async function rehearseStatefulSet(plan: RolloutPlan, scenarios: readonly ReleaseScenario[], options: RehearsalOptions): Promise<RunResult[]> {
  const cluster = options.cluster ?? modelCluster;
  // One clock for the models; each run's timeline is measured from its own start (RunTimelines).
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const timelines = new RunTimelines(now);
  const scaled = (ms: number) => Math.round(ms * options.timeScale);
  // Deadlines per phase so a run that never settles ends with an error rather than hanging.
  // Process start-up is real time and slow on a busy machine: 2 minutes on top of the manifests' own timings.
  const phaseLimitMs =
    120_000 + scaled(plan.replicas * (plan.minReadyMs + (plan.startup ? plan.startup.periodMs * plan.startup.failureThreshold : 0) + plan.terminationGraceMs));
  const until = async (what: string, condition: () => boolean) => {
    const deadline = now() + phaseLimitMs;
    while (!condition()) {
      if (now() > deadline) throw new Error(`${plan.overlay}: ${what} did not happen within ${Math.round(phaseLimitMs / 1000)} s; ${set.describe()}`);
      await sleep(TICK_MS);
    }
  };

  let good: Template = { revision: 'r0', version: '1.0.0', env: {} };
  const set = await cluster.statefulSet(
    { plan, timeScale: options.timeScale, endpointPropagationMs: options.endpointPropagationMs, podStartLatencyMs: options.podStartLatencyMs ?? POD_START_LATENCY_MS, ...(options.kubernetesVersion ? { kubernetesVersion: options.kubernetesVersion } : {}), ...(options.clients ? { clients: options.clients } : {}), now, onAction: (action, pod, atMs) => timelines.onAction(action, pod, atMs) },
    good,
  );
  set.labels.set(good.revision, 'v1');
  let ticking = true;
  const ticker = (async () => {
    while (ticking) {
      set.tick();
      timelines.sample(set);
      await sleep(TICK_MS);
    }
  })();

  try {
    // The launch: creating the StatefulSet, until every replica is Ready (OrderedReady vs Parallel).
    options.progress?.('launch', 'launch v1');
    timelines.launch();
    await until('the launch', () => set.readyCount() === plan.replicas);
    const launchToAllReadyMs = Math.round(now());

    const results: RunResult[] = [];
    for (const [index, scenario] of scenarios.entries()) {
      // A good release under a partition leaves two versions (the canary is promoted by a separate change in Git):
      // start the next scenario from a fresh StatefulSet on one version instead.
      if (index > 0 && !set.views().every((pod) => pod?.revision === good.revision)) {
        options.progress?.(scenario, 'fresh StatefulSet (the last release was not rolled out to every pod)');
        good = { revision: `r${index}-base`, version: `1.0.${index}-base`, env: {} };
        await set.relaunch(good);
        await until('the relaunch', () => set.readyCount() === plan.replicas);
      }
      const release: Template = { revision: `r${index + 1}`, version: `1.0.${index + 1}`, env: badReleaseEnv(scenario, options.timeScale) };
      set.labels = new Map([[good.revision, 'v1'], [release.revision, 'v2']]);
      const { run, origin, now: runNow } = timelines.begin(index);
      const progress = (phase: string) => options.progress?.(scenario, phase);
      // A cluster whose applies are commits its Argo CD syncs delivers through that Argo CD (--delivery argocd).
      const result = await rehearseRelease({ plan, set, delivery: options.delivery ?? cluster.argocdDelivery ?? cluster.kubectlDelivery, scenario, good, release, options, run, now: runNow, origin: t0 + origin, until, progress });
      const starts = set.podStartSamples?.();
      const podStartMs = starts ? median(starts) : (options.podStartLatencyMs ?? POD_START_LATENCY_MS);
      results.push({ ...result, figures: { ...result.figures, launchToAllReadyMs, podStartMs } });
      if (result.figures.detection === null) good = release;
    }
    return results;
  } finally {
    ticking = false;
    await ticker;
    await set.close();
  }
}

interface ReleaseContext {
  plan: RolloutPlan;
  set: RehearsalStatefulSet;
  delivery: (plan: RolloutPlan) => Delivery;
  scenario: ReleaseScenario;
  good: Template;
  release: Template;
  options: RehearsalOptions;
  run: RunRecorder;
  /** The run's clock (ms since the run's t = 0), and that t = 0 as performance.now(). */
  now: () => number;
  origin: number;
  until: (what: string, condition: () => boolean) => Promise<void>;
  progress: (phase: string) => void;
}

async function rehearseRelease(c: ReleaseContext): Promise<RunResult> {
  const { plan, set, run, now, options } = c;
  const rules = options.watch ?? DEFAULT_WATCH_RULES;
  const delivery = c.delivery(plan);
  const scaled = (ms: number) => Math.round(ms * options.timeScale);
  const control: ClusterControl = {
    setTemplate: (t) => set.setTemplate(t),
    deleteAllPods: () => set.deleteAll(),
    healthy: () => set.readyCount() === plan.replicas,
    pods: () => set.views().map((pod) => pod && { revision: pod.revision, ready: pod.ready, terminating: pod.terminating }),
    deletePod: (ordinal) => set.deletePod(ordinal),
    revisions: () => set.revisions(),
    // The AnalysisRun an Argo CD sync creates as a hook, judged as the watch's own analysis is (analysis-run.ts).
    analysisRun: (manifest, version) =>
      new AnalysisRunProcess({ manifest, version, timeScale: options.timeScale, now, podUrl: (target) => set.podUrl?.(target.ordinal), startupMs: (target) => set.startupMs?.(target.ordinal) ?? 0 }),
  };
  const mark = (kind: MarkerKind, label: string, pod?: string) => {
    run.mark(kind, label, pod, now());
    // An Argo CD delivery can hold the revert for minutes (the running operation): say what it waits for.
    if (kind === 'sync' && delivery.summary) c.progress(`Argo CD: ${label}`);
  };

  const countersBefore = await set.counters();
  const load = set.load();
  const { origin } = c;
  let analysis: AnalysisRunProcess | undefined;
  try {
    // Clients start once the Service routes to every pod: Ready is not yet routed (the endpoint change takes its
    // propagation delay), and a request answered by no pod before the release would read as downtime.
    await c.until('the Service to route to every pod', () => set.routedCount() === plan.replicas);
    await load.start(options.connections, options.rate);
    const loadStartMs = now();
    c.progress('steady load');
    await sleep(options.steadyMs);

    c.progress(`release v2 (${c.scenario})`);
    const rolloutAtMs = now();
    run.releaseRevision = c.release.revision;
    mark('rollout-start', `release v2${c.release.env['BAD_RELEASE'] ? ` (BAD_RELEASE=${c.release.env['BAD_RELEASE']})` : ''}`);
    await delivery.apply(c.release, control, mark);
    // canary-analysis: the sync creates the AnalysisRun with the release (a Sync-phase hook beside the StatefulSet).
    analysis = plan.analysisRun
      ? new AnalysisRunProcess({ manifest: plan.analysisRun, version: c.release.version, timeScale: options.timeScale, now, podUrl: (target) => set.podUrl?.(target.ordinal), startupMs: (target) => set.startupMs?.(target.ordinal) ?? 0 })
      : undefined;
    if (analysis) mark('analysis', `AnalysisRun started: ${analysis.metrics.map((m) => m.name).join(', ')} (${analysis.metrics[0]?.url.replace(/^https?:\/\//, '')})`);
    let detectMs: number | null = null;

    // Pods the strategy updates by itself: from the partition up (RollingUpdate), or all (OnDelete + hook).
    const targets = [...Array(plan.replicas).keys()].filter((o) => plan.update.type === 'OnDelete' || o >= plan.update.partition);
    const startupBudgetMs = scaled(plan.startup ? plan.startup.periodMs * plan.startup.failureThreshold : 3 * plan.readiness.periodMs);
    const windowMs = Math.max(1000, scaled(2 * plan.readiness.periodMs));
    let doneAtMs: number | null = null;
    let verdict: Verdict = { verdict: 'watching' };
    let analysisEnded = false;
    const deadline = now() + 60_000 + scaled(plan.replicas * (plan.minReadyMs + plan.terminationGraceMs) + startupBudgetMs);
    while (verdict.verdict === 'watching') {
      await sleep(TICK_MS * 2);
      const at = now();
      if (doneAtMs === null && set.allAvailableAt(c.release.revision, targets)) doneAtMs = at;
      const observation = watchObservation(at, set.health(c.release.revision), load.outcomes, (t) => t - origin, { startupBudgetMs, rolloutDoneAtMs: doneAtMs, windowMs });
      if (analysis) {
        const phase = analysis.phase();
        const last = analysis.lastReading();
        const detail = last ? `last reading ${last.phase}: ${last.value}` : 'no reading';
        if (phase !== 'Running' && phase !== 'Pending' && !analysisEnded) {
          analysisEnded = true;
          mark('analysis', `AnalysisRun ${phase} after ${analysis.readings.length} readings (${detail})`);
          if (phase !== 'Successful') detectMs = Math.round(at - rolloutAtMs);
        }
        verdict = judgeWithAnalysis(rules, observation, { phase, detail });
      } else {
        verdict = judge(rules, observation);
      }
      if (verdict.verdict === 'watching' && at > deadline) verdict = { verdict: 'bad', rule: 'stalled', reason: 'the rollout did not finish in time' };
    }
    await analysis?.stop();
    const podsUpdated = run.updatedOrdinals.size;
    const stoppedByItself = verdict.verdict === 'bad' && doneAtMs === null && podsUpdated < targets.length;

    let revertAtMs: number | null = null;
    let recoveredAtMs: number | null = null;
    const manualSteps: string[] = [];
    let detection: { rule: string; reason: string; afterMs: number } | null = null;
    if (verdict.verdict === 'bad') {
      detection = { rule: verdict.rule, reason: verdict.reason, afterMs: Math.round(now() - rolloutAtMs) };
      if (stoppedByItself) mark('stalled', `rollout stopped by itself after ${podsUpdated} of ${targets.length} pods`);
      mark('detected', `bad release: ${verdict.reason}`);
      c.progress('revert to v1');
      revertAtMs = now();
      run.releaseRevision = undefined;
      mark('revert', 'git revert: template back to v1');
      await delivery.apply(c.good, control, mark);
    }
    // A delivery that never applied the revert (an Argo CD operation that never ended): nothing to recover from.
    const hung = delivery.summary?.(origin)?.hang === true;
    if (verdict.verdict === 'bad' && hung) {
      c.progress('the revert never synced (hang)');
    } else if (verdict.verdict === 'bad') {
      await sleep(TICK_MS * 3); // let the controller see the reverted template before judging what it will not do
      c.progress('recover');
      const handled = new Set<string>();
      await c.until('the recovery', () => {
        const views = set.views();
        for (const ordinal of set.podsToDeleteByHand()) {
          const pod = set.podName(ordinal);
          const key = `${pod}@${views[ordinal]?.revision}`;
          if (handled.has(key)) continue;
          handled.add(key);
          const step = `kubectl delete pod ${pod}`;
          manualSteps.push(step);
          mark('manual-step', step, pod);
          void set.deletePod(ordinal);
        }
        return set.readyCount() === plan.replicas && views.every((pod) => pod?.revision === c.good.revision && !pod.terminating);
      });
      recoveredAtMs = now();
      mark('done', 'every pod on v1 and Ready');
    } else {
      run.markers.push({ atMs: Math.round(doneAtMs ?? now()), kind: 'done', label: 'every pod on v2 and serving' });
    }

    c.progress('steady load');
    await sleep(options.steadyMs);
    const endMs = now();
    await load.stop();
    run.sample(set, endMs);

    return runResult({
      overlay: plan.overlay,
      scenario: c.scenario,
      settings: {
        ...settingsOf(plan, delivery, options.timeScale),
        clients: options.clients ?? 'per-request',
        // What the model assumed of the cluster (a real cluster reports what it is: report.cluster, figures.podStartMs).
        ...((options.cluster ?? modelCluster).kind === 'model'
          ? { kubernetes: options.kubernetesVersion ?? DEFAULT_KUBERNETES_VERSION, podStartSeconds: (options.podStartLatencyMs ?? POD_START_LATENCY_MS) / 1000, }
          : {}),
      },
      replicas: plan.replicas,
      run,
      outcomes: load.outcomes,
      origin,
      countersBefore,
      countersAfter: await set.counters(),
      moments: { loadStartMs, rolloutAtMs, revertAtMs, recoveredAtMs, doneAtMs, endMs },
      verdict: { stoppedByItself, podsUpdated, manualSteps, detectMs, detection },
      sync: delivery.summary?.(origin) ?? null,
    });
  } finally {
    delivery.close?.();
    await analysis?.stop();
    await load.stop();
  }
}

export function settingsOf(plan: RolloutPlan, delivery: Delivery, timeScale: number): Record<string, string | number | boolean> {
  return {
    replicas: plan.replicas,
    podManagementPolicy: plan.podManagementPolicy,
    updateStrategy: plan.update.type,
    ...(plan.update.type === 'RollingUpdate' ? { partition: plan.update.partition, maxUnavailable: plan.update.maxUnavailable } : { recreateHook: plan.update.deleteAll }),
    minReadySeconds: plan.minReadyMs / 1000,
    readinessPeriodSeconds: plan.readiness.periodMs / 1000,
    readinessFailureThreshold: plan.readiness.failureThreshold,
    ...(plan.startup ? { startupPeriodSeconds: plan.startup.periodMs / 1000, startupFailureThreshold: plan.startup.failureThreshold } : {}),
    terminationGracePeriodSeconds: plan.terminationGraceMs / 1000,
    ...(plan.analysisRun ? { analysis: 'AnalysisRun (Argo Rollouts web provider)' } : {}),
    ...(plan.blueGreen ? { blueGreen: `${plan.blueGreen.active} active` } : {}),
    delivery: delivery.name,
    timeScale,
  };
}
