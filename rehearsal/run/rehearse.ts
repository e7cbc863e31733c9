// The rehearsals of one overlay, with real server processes under load. The StatefulSet is launched once (the launch
// time is a figure of its own); then each release scenario runs on it in turn:
//   steady load on the last good release (v1) → apply the release (v2, the scenario) → watch → if bad: revert to v1
//   (+ the manual steps the StatefulSet rules require, each recorded) → recovered → steady load; measure.
// A good release stays (it becomes the next run's v1), as it would in Git. The rules come from rehearsal/model; this
// module runs the clock, the processes (statefulset.ts), the load and the delivery (delivery.ts), and records the
// timeline the report draws.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_WATCH_RULES, judge, type Verdict, type WatchRules } from '../model/release-watch.ts';
import { podsToDeleteByHand } from '../model/statefulset-controller.ts';
import type { RolloutPlan } from '../plan.ts';
import type { Marker, MarkerKind, PodSpan, ReleaseScenario, RunResult } from '../result.ts';
import { plainApply, type ClusterControl, type Delivery } from './delivery.ts';
import * as figures from './figures.ts';
import { Load } from './load.ts';
import { badReleaseEnv } from './scenarios.ts';
import { StatefulSetRun, type Template } from './statefulset.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** How often the controller and kubelet models are asked (real ms). */
const TICK_MS = 20;

export interface RehearsalOptions {
  timeScale: number;
  connections: number;
  /** Requests per second over all connections. */
  rate: number;
  /** Load before the release and after it settled, in real milliseconds. */
  steadyMs: number;
  /** Endpoint + kube-proxy propagation delay (manifest time: multiplied by timeScale). */
  endpointPropagationMs: number;
  watch?: WatchRules;
  /** How a release reaches the cluster (default: plainApply). */
  delivery?: (plan: RolloutPlan) => Delivery;
  progress?: (scenario: ReleaseScenario | 'launch', phase: string) => void;
}

export async function rehearseOverlay(plan: RolloutPlan, scenarios: readonly ReleaseScenario[], options: RehearsalOptions): Promise<RunResult[]> {
  const dataRoot = await mkdtemp(path.join(os.tmpdir(), `rollcall-compare-${plan.overlay}-`));
  // One clock for the models (never reset: pods keep their times across runs); each run's timeline is measured from
  // its own start (runOrigin).
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  let runOrigin = 0;
  const scaled = (ms: number) => Math.round(ms * options.timeScale);
  // Deadlines per phase so a run that never settles ends with an error rather than hanging.
  // Process start-up is real time and slow on a busy machine: 2 minutes on top of the manifests' own timings.
  const phaseLimitMs =
    120_000 + scaled(plan.replicas * (plan.minReadyMs + (plan.startup ? plan.startup.periodMs * plan.startup.failureThreshold : 0) + plan.terminationGraceMs));
  const until = async (what: string, condition: () => boolean) => {
    const deadline = now() + phaseLimitMs;
    while (!condition()) {
      if (now() > deadline) {
        const pods = set.displayStates().map((p, i) => `${p.name} ${p.state} ${p.version ?? '-'} (${set.views()[i]?.revision ?? 'none'})`);
        throw new Error(
          `${plan.overlay}: ${what} did not happen within ${Math.round(phaseLimitMs / 1000)} s; pods: ${pods.join(', ')}; controller: ${JSON.stringify(set.decision)}; spec: ${JSON.stringify(set.spec)}`,
        );
      }
      await sleep(TICK_MS);
    }
  };

  let run: RunRecorder | undefined;
  let good: Template = { revision: 'r0', version: '1.0.0', env: {} };
  const set = new StatefulSetRun(
    {
      plan,
      dataRoot,
      timeScale: options.timeScale,
      endpointPropagationMs: options.endpointPropagationMs,
      now,
      events: { onAction: (action, pod, atMs) => run?.onAction(action, pod, atMs - runOrigin) },
    },
    good,
  );
  set.labels.set(good.revision, 'v1');
  let ticking = true;
  const ticker = (async () => {
    while (ticking) {
      set.tick();
      run?.sample(set, now() - runOrigin);
      await sleep(TICK_MS);
    }
  })();

  try {
    // The launch: creating the StatefulSet, until every replica is Ready (OrderedReady vs Parallel).
    options.progress?.('launch', 'launch v1');
    run = new RunRecorder();
    await until('the launch', () => set.readyCount() === plan.replicas);
    const launchToAllReadyMs = Math.round(now());
    const launchTimeline = run;

    const results: RunResult[] = [];
    for (const [index, scenario] of scenarios.entries()) {
      // A good release under a partition leaves two versions (the canary is promoted by a separate change in Git):
      // start the next scenario from a fresh StatefulSet on one version instead.
      if (index > 0 && !set.views().every((pod) => pod?.revision === good.revision)) {
        options.progress?.(scenario, 'fresh StatefulSet (the last release was not rolled out to every pod)');
        set.paused = true;
        set.deleteAll();
        await set.drained();
        good = { revision: `r${index}-base`, version: `1.0.${index}-base`, env: {} };
        set.reset(good);
        set.paused = false;
        await until('the relaunch', () => set.readyCount() === plan.replicas);
      }
      const release: Template = { revision: `r${index + 1}`, version: `1.0.${index + 1}`, env: badReleaseEnv(scenario, options.timeScale) };
      set.labels = new Map([[good.revision, 'v1'], [release.revision, 'v2']]);
      // The first run's clock starts at the launch (t = 0: the first pod created); later runs start where they start.
      if (index > 0) {
        runOrigin = now();
        run = new RunRecorder();
      } else {
        run = launchTimeline;
      }
      const origin = runOrigin;
      const runNow = () => now() - origin;
      const progress = (phase: string) => options.progress?.(scenario, `${phase} (${(runNow() / 1000).toFixed(1)} s)`);
      const result = await rehearseRelease({ plan, set, scenario, good, release, options, run, now: runNow, origin: t0 + origin, until, progress, dataRoot });
      results.push({ ...result, figures: { ...result.figures, launchToAllReadyMs } });
      if (result.figures.detection === null) good = release;
    }
    return results;
  } finally {
    ticking = false;
    await ticker;
    set.deleteAll();
    await Promise.race([set.drained(), sleep(scaled(plan.terminationGraceMs) + 2000)]);
    set.killAll();
    await rm(dataRoot, { recursive: true, force: true });
  }
}

/** Pod lanes, Ready counts, markers and controller events of one run. */
class RunRecorder {
  readonly spans = new Map<string, PodSpan[]>();
  readonly readySamples: { atMs: number; ready: number }[] = [];
  readonly markers: Marker[] = [];
  readonly updatedOrdinals = new Set<number>();
  releaseRevision: string | undefined;
  #now = 0;

  mark(kind: MarkerKind, label: string, pod?: string, atMs = this.#now): void {
    this.markers.push({ atMs: Math.round(atMs), kind, label, ...(pod ? { pod } : {}) });
  }

  onAction(action: { kind: string; ordinal: number; revision?: string; reason?: string }, pod: string, atMs: number): void {
    if (action.kind === 'delete' && action.reason === 'update') this.mark('pod-replaced', `controller deletes ${pod} for the update`, pod, atMs);
    if (action.kind === 'create' && action.revision === this.releaseRevision) this.updatedOrdinals.add(action.ordinal);
  }

  sample(set: StatefulSetRun, nowMs: number): void {
    const at = Math.max(0, Math.round(nowMs));
    this.#now = at;
    for (const { name, state, version } of set.displayStates()) {
      const lane = this.spans.get(name) ?? [];
      const last = lane.at(-1);
      if (last && last.state === state && last.version === version) last.toMs = at;
      else lane.push({ fromMs: last?.toMs ?? 0, toMs: at, state, version });
      this.spans.set(name, lane);
    }
    const ready = set.readyCount();
    if (this.readySamples.at(-1)?.ready !== ready) this.readySamples.push({ atMs: at, ready });
  }
}

interface ReleaseContext {
  plan: RolloutPlan;
  set: StatefulSetRun;
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
  dataRoot: string;
}

async function rehearseRelease(c: ReleaseContext): Promise<RunResult> {
  const { plan, set, run, now, options } = c;
  const rules = options.watch ?? DEFAULT_WATCH_RULES;
  const delivery = (options.delivery ?? plainApply)(plan);
  const scaled = (ms: number) => Math.round(ms * options.timeScale);
  const control: ClusterControl = {
    setTemplate: (t) => set.setTemplate(t),
    deleteAllPods: () => set.deleteAll(),
    healthy: () => set.readyCount() === plan.replicas,
    pods: () => set.views().map((pod) => pod && { revision: pod.revision, ready: pod.ready, terminating: pod.terminating }),
    deletePod: (ordinal) => set.deletePod(ordinal),
    revisions: () => ({ current: set.spec.currentRevision, update: set.spec.updateRevision }),
  };
  const mark = (kind: MarkerKind, label: string, pod?: string) => {
    run.mark(kind, label, pod, now());
    // An Argo CD delivery can hold the revert for minutes (the running operation): say what it waits for.
    if (kind === 'sync' && delivery.summary) c.progress(`Argo CD: ${label}`);
  };

  const countersBefore = await readCounters(c.dataRoot, set, plan.replicas);
  const load = new Load(() => set.endpoints());
  const { origin } = c;
  try {
    load.start(options.connections, options.rate);
    const loadStartMs = now();
    c.progress('steady load');
    await sleep(options.steadyMs);

    c.progress(`release v2 (${c.scenario})`);
    const rolloutAtMs = now();
    run.releaseRevision = c.release.revision;
    mark('rollout-start', `release v2${c.release.env['BAD_RELEASE'] ? ` (BAD_RELEASE=${c.release.env['BAD_RELEASE']})` : ''}`);
    await delivery.apply(c.release, control, mark);

    // Pods the strategy updates by itself: from the partition up (RollingUpdate), or all (OnDelete + hook).
    const targets = [...Array(plan.replicas).keys()].filter((o) => plan.update.type === 'OnDelete' || o >= plan.update.partition);
    const startupBudgetMs = scaled(plan.startup ? plan.startup.periodMs * plan.startup.failureThreshold : 3 * plan.readiness.periodMs);
    const windowMs = Math.max(1000, scaled(2 * plan.readiness.periodMs));
    let doneAtMs: number | null = null;
    let verdict: Verdict = { verdict: 'watching' };
    const deadline = now() + 60_000 + scaled(plan.replicas * (plan.minReadyMs + plan.terminationGraceMs) + startupBudgetMs);
    while (verdict.verdict === 'watching') {
      await sleep(TICK_MS * 2);
      const at = now();
      if (doneAtMs === null && set.allAvailableAt(c.release.revision, targets)) doneAtMs = at;
      const recent = load.outcomes.filter((o) => o.at - origin >= at - windowMs);
      const health = set.health(c.release.revision);
      verdict = judge(rules, {
        nowMs: at,
        newPodNotReadyMs: health.notReadyMs,
        newPodRestarts: health.restarts,
        startupBudgetMs,
        rolloutDoneAtMs: doneAtMs,
        window: { requests: recent.length, failed: recent.filter((o) => !o.ok).length },
        windowMs,
      });
      if (verdict.verdict === 'watching' && at > deadline) verdict = { verdict: 'bad', rule: 'stalled', reason: 'the rollout did not finish in time' };
    }
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
        for (const ordinal of podsToDeleteByHand(set.spec, views, set.decision)) {
          const pod = set.podName(ordinal);
          const key = `${pod}@${views[ordinal]?.revision}`;
          if (handled.has(key)) continue;
          handled.add(key);
          const step = `kubectl delete pod ${pod}`;
          manualSteps.push(step);
          mark('manual-step', step, pod);
          set.deletePod(ordinal);
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

    // Every acknowledged visit was durable when acknowledged, so the files, read now that the load has stopped, must
    // hold at least every visit acknowledged in this run.
    const countersAfter = await readCounters(c.dataRoot, set, plan.replicas);
    const countedInRun = new Map([...countersAfter].map(([pod, n]) => [pod, n - (countersBefore.get(pod) ?? 0)]));
    const outcomes = load.outcomes.map(({ at, ...rest }) => ({ ...rest, atMs: at - origin }));
    const slots = figures.trafficSlots(outcomes, endMs);
    const afterFrom = revertAtMs ?? doneAtMs ?? endMs;
    const launchedAtMs = run.readySamples.find((s) => s.ready === plan.replicas)?.atMs ?? 0;
    return {
      overlay: plan.overlay,
      scenario: c.scenario,
      settings: settingsOf(plan, delivery, options.timeScale),
      figures: {
        launchToAllReadyMs: 0, // filled in by rehearseOverlay: the set is launched once per overlay
        before: figures.phaseCount(outcomes, loadStartMs, rolloutAtMs),
        during: figures.phaseCount(outcomes, rolloutAtMs, afterFrom),
        after: figures.phaseCount(outcomes, afterFrom, endMs + 1),
        peakFailedShare: figures.peakFailedShare(outcomes),
        ...figures.readiness(run.readySamples, plan.replicas, Math.max(launchedAtMs, loadStartMs), endMs),
        downtimeMs: figures.downtimeMs(slots),
        stoppedByItself,
        podsUpdated,
        revertToRecoveredMs: revertAtMs !== null && recoveredAtMs !== null ? Math.round(recoveredAtMs - revertAtMs) : null,
        manualSteps,
        twoVersionsServingMs: figures.twoVersionsServingMs(slots),
        detectMs: null,
        detection,
        ...figures.lostAndDuplicated(outcomes, countedInRun),
        sync: delivery.summary?.(origin) ?? null,
      },
      timeline: {
        slotMs: figures.SLOT_MS,
        endMs: Math.round(endMs),
        // Copies, cut at the end: the recorder keeps sampling until the next run starts.
        pods: [...run.spans].map(([name, lane]) => ({ name, spans: lane.filter((span) => span.fromMs < endMs).map((span) => ({ ...span, toMs: Math.min(span.toMs, Math.round(endMs)) })) })),
        traffic: slots,
        markers: run.markers.sort((a, b) => a.atMs - b.atMs),
      },
    };
  } finally {
    delivery.close?.();
    await load.stop();
  }
}

function settingsOf(plan: RolloutPlan, delivery: Delivery, timeScale: number): Record<string, string | number | boolean> {
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
    delivery: delivery.name,
    timeScale,
  };
}

async function readCounters(dataRoot: string, set: StatefulSetRun, replicas: number): Promise<Map<string, number>> {
  const counters = new Map<string, number>();
  for (let ordinal = 0; ordinal < replicas; ordinal++) {
    const name = set.podName(ordinal);
    const text = await readFile(path.join(dataRoot, `web-app-data-${name}`, 'visits.json'), 'utf8').catch(() => '{"counter": 0}');
    counters.set(name, (JSON.parse(text) as { counter: number }).counter);
  }
  return counters;
}
