// What one run records while it rehearses (pod lanes, Ready counts, markers, the pods the release created), the
// visit counters read from the pods' volumes, and the RunResult built from them (rehearsal/result.ts). Shared by the
// single-StatefulSet runner (rehearse.ts) and the blue-green runner (blue-green.ts).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { WatchObservation } from '../model/release-watch.ts';
import type { Marker, MarkerKind, PodSpan, ReleaseScenario, RunFigures, RunResult } from '../result.ts';
import * as figures from './figures.ts';
import type { Outcome } from './load.ts';
import type { StatefulSetRun } from './statefulset.ts';

/** What the recorder samples: the pods' lanes (of every StatefulSet the overlay runs) and the Ready pods clients reach. */
export type Sampled = Pick<StatefulSetRun, 'displayStates' | 'readyCount'>;

/** Pod lanes, Ready counts, markers and controller events of one run. */
export class RunRecorder {
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

  sample(set: Sampled, nowMs: number): void {
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

/**
 * The recorders of an overlay's runs on one model clock (never reset: pods keep their times across runs). The launch
 * and the first run share a timeline (t = 0: the first pod created); every later run starts its own at its start.
 * Controller actions and samples go to the current run, on that run's clock.
 */
export class RunTimelines {
  current: RunRecorder | undefined;
  #origin = 0;
  #launch: RunRecorder | undefined;
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  launch(): void {
    this.current = this.#launch = new RunRecorder();
  }

  /** Starts run `index` (0: on the launch's timeline); its recorder, its origin on the model clock, and its clock. */
  begin(index: number): { run: RunRecorder; origin: number; now: () => number } {
    if (index > 0 || !this.#launch) {
      this.#origin = this.#now();
      this.current = new RunRecorder();
    } else {
      this.current = this.#launch;
    }
    const origin = this.#origin;
    return { run: this.current, origin, now: () => this.#now() - origin };
  }

  onAction(action: Parameters<RunRecorder['onAction']>[0], pod: string, atMs: number): void {
    this.current?.onAction(action, pod, atMs - this.#origin);
  }

  sample(set: Sampled): void {
    this.current?.sample(set, this.#now() - this.#origin);
  }
}

/** The visit counter in each pod's volume (0 when the pod never wrote one). */
export async function readCounters(dataRoot: string, podNames: readonly string[]): Promise<Map<string, number>> {
  const counters = new Map<string, number>();
  for (const name of podNames) {
    const text = await readFile(path.join(dataRoot, `web-app-data-${name}`, 'visits.json'), 'utf8').catch(() => '{"counter": 0}');
    counters.set(name, (JSON.parse(text) as { counter: number }).counter);
  }
  return counters;
}

export interface RunMoments {
  loadStartMs: number;
  rolloutAtMs: number;
  revertAtMs: number | null;
  recoveredAtMs: number | null;
  doneAtMs: number | null;
  endMs: number;
}

/** The figures and the timeline of one run, from what was recorded. Every acknowledged visit was durable when
 * acknowledged, so the files read after the load stopped must hold at least every visit acknowledged in the run. */
export function runResult(r: {
  overlay: string;
  scenario: ReleaseScenario;
  settings: RunResult['settings'];
  replicas: number;
  run: RunRecorder;
  /** Load outcomes with `at` as performance.now(), and that clock's value at the run's t = 0. */
  outcomes: readonly Outcome[];
  origin: number;
  countersBefore: ReadonlyMap<string, number>;
  countersAfter: ReadonlyMap<string, number>;
  moments: RunMoments;
  verdict: Pick<RunFigures, 'stoppedByItself' | 'podsUpdated' | 'manualSteps' | 'detectMs' | 'detection'>;
  /** What the delivery reports of its sync (Argo CD); null under kubectl. */
  sync?: RunFigures['sync'];
}): RunResult {
  const { run, moments: m } = r;
  const countedInRun = new Map([...r.countersAfter].map(([pod, n]) => [pod, n - (r.countersBefore.get(pod) ?? 0)]));
  const outcomes = r.outcomes.map(({ at, ...rest }) => ({ ...rest, atMs: at - r.origin }));
  const slots = figures.trafficSlots(outcomes, m.endMs);
  const afterFrom = m.revertAtMs ?? m.doneAtMs ?? m.endMs;
  const launchedAtMs = run.readySamples.find((s) => s.ready === r.replicas)?.atMs ?? 0;
  return {
    overlay: r.overlay,
    scenario: r.scenario,
    settings: r.settings,
    figures: {
      launchToAllReadyMs: 0, // filled in by the caller: the set is launched once per overlay
      podStartMs: null, // filled in by the caller: the cluster's (a real one's measured, the model's parameter)
      before: figures.phaseCount(outcomes, m.loadStartMs, m.rolloutAtMs),
      during: figures.phaseCount(outcomes, m.rolloutAtMs, afterFrom),
      after: figures.phaseCount(outcomes, afterFrom, m.endMs + 1),
      peakFailedShare: figures.peakFailedShare(outcomes),
      ...figures.readiness(run.readySamples, r.replicas, Math.max(launchedAtMs, m.loadStartMs), m.endMs),
      downtimeMs: figures.downtimeMs(outcomes, m.endMs),
      failedBy: figures.failuresByError(outcomes),
      stoppedByItself: r.verdict.stoppedByItself,
      podsUpdated: r.verdict.podsUpdated,
      revertToRecoveredMs: m.revertAtMs !== null && m.recoveredAtMs !== null ? Math.round(m.recoveredAtMs - m.revertAtMs) : null,
      manualSteps: r.verdict.manualSteps,
      twoVersionsServingMs: figures.twoVersionsServingMs(slots),
      detectMs: r.verdict.detectMs,
      detection: r.verdict.detection,
      ...figures.lostAndDuplicated(outcomes, countedInRun),
      sync: r.sync ?? null,
    },
    timeline: {
      slotMs: figures.SLOT_MS,
      endMs: Math.round(m.endMs),
      // Copies, cut at the end: the recorder keeps sampling until the next run starts.
      pods: [...run.spans].map(([name, lane]) => ({
        name,
        spans: lane.filter((span) => span.fromMs < m.endMs).map((span) => ({ ...span, toMs: Math.min(span.toMs, Math.round(m.endMs)) })),
      })),
      traffic: slots,
      markers: run.markers.sort((a, b) => a.atMs - b.atMs),
    },
  };
}

/**
 * What the release watch (rehearsal/model/release-watch.ts) sees at run time `nowMs`: the health of the new
 * release's pods, and the visits answered over the last `windowMs`. `toRunMs` maps an outcome's time
 * (performance.now()) to run time.
 */
export function watchObservation(
  nowMs: number,
  health: { notReadyMs: number; restarts: number },
  outcomes: readonly Outcome[],
  toRunMs: (at: number) => number,
  settings: { startupBudgetMs: number; rolloutDoneAtMs: number | null; windowMs: number },
): WatchObservation {
  const recent = outcomes.filter((o) => toRunMs(o.at) >= nowMs - settings.windowMs);
  return {
    nowMs,
    newPodNotReadyMs: health.notReadyMs,
    newPodRestarts: health.restarts,
    startupBudgetMs: settings.startupBudgetMs,
    rolloutDoneAtMs: settings.rolloutDoneAtMs,
    window: { requests: recent.length, failed: recent.filter((o) => !o.ok).length },
    windowMs: settings.windowMs,
  };
}
