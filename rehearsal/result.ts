// The shape of `rollcall compare --json`: every figure of every rehearsal plus a timeline a report can draw.
// One contract between the code that rehearses (rehearsal/run, rehearsal/model) and the code that shows the
// results (the terminal table, the HTML report), so neither reads the other's internals. Times are milliseconds
// of the rehearsal's own clock, from the moment the first v1 pod was created (t = 0). The StatefulSet of an overlay
// is launched once and its scenarios run one after the other on it: for the second and later runs of an overlay,
// t = 0 is the start of that run (every pod already Ready on v1, the last good release).

/** How the v2 release behaves (src/service/bad-release.ts in the app; `good` is a normal release). */
export type ReleaseScenario = 'good' | 'crash' | 'unready' | 'errors' | 'slow';

/** A pod's state as a person reads it on a lane of the timeline. */
export type PodState = 'starting' | 'ready' | 'terminating' | 'crash-loop' | 'not-running';

export type MarkerKind =
  | 'rollout-start' // v2 applied (the Git push / sync)
  | 'pod-replaced' // the controller deleted a pod to replace it with the update revision
  | 'stalled' // the controller stopped by itself (waiting for a pod that never becomes Ready)
  | 'detected' // the rehearsal (or an analysis) decided the release is bad
  | 'analysis' // an Argo Rollouts analysis verdict
  | 'sync' // an Argo CD sync phase event (hook started, operation ended)
  | 'revert' // v1 applied again (the revert commit)
  | 'manual-step' // something a person must do by hand (e.g. delete a stuck pod: forced rollback)
  | 'done'; // every pod on the last good release and serving

export interface Marker {
  atMs: number;
  kind: MarkerKind;
  /** What happened, in words a person reads on the chart, e.g. "kubectl delete pod rollcall-2". */
  label: string;
  pod?: string;
}

/** One stretch of a pod's life in one state; `version` is the template revision it runs (null: no process). */
export interface PodSpan {
  fromMs: number;
  toMs: number;
  state: PodState;
  version: string | null;
}

/** Requests that completed in one slot [atMs, atMs + slotMs). Keys of `ok` and `failed` are versions; failures
 * that reached no pod (no ready endpoint, connection refused) count under the key "none". */
export interface TrafficSlot {
  atMs: number;
  ok: Record<string, number>;
  failed: Record<string, number>;
}

export interface Timeline {
  /** Width of a traffic slot (100 ms of the rehearsal's clock). */
  slotMs: number;
  endMs: number;
  pods: { name: string; spans: PodSpan[] }[];
  traffic: TrafficSlot[];
  markers: Marker[];
}

/** Requests and failures in one phase of a rehearsal. */
export interface PhaseCount {
  requests: number;
  failed: number;
}

export interface RunFigures {
  /** v1 launch: from creating the StatefulSet to every replica Ready (OrderedReady vs Parallel). */
  launchToAllReadyMs: number;
  /** From a pod's creation to its container running (scheduling, volume binding, container start), in cluster
   * time: on a real cluster the median of the run's pods as read from the API, on the model its parameter. */
  podStartMs: number | null;
  before: PhaseCount;
  /** From rollout start to the revert (or to the end of the rollout for a good release). */
  during: PhaseCount;
  /** From the revert to the end of the rehearsal. */
  after: PhaseCount;
  /** The blast radius: the highest share of failed requests in any one second. */
  peakFailedShare: number;
  /** Time with fewer Ready pods than replicas, and the fewest Ready at any moment after launch. */
  belowFullReadyMs: number;
  fewestReady: number;
  /** Time with not one success in which requests failed or waited for an answer that was a failure (a timeout):
   * rehearsal/run/figures.ts downtimeMs. */
  downtimeMs: number;
  /** The failed requests of the whole run by their error (`timeout`, `ECONNREFUSED`, `HTTP 500`, ...); absent in
   * reports made before it existed. */
  failedBy?: Record<string, number>;
  /** Did the rollout stop by itself (the controller waiting on an unready pod), and after how many pods updated. */
  stoppedByItself: boolean;
  podsUpdated: number;
  /** For a bad release: from the revert to every pod on v1 and Ready (null when it never recovered). */
  revertToRecoveredMs: number | null;
  /** Manual steps the rules made necessary, in order, as commands a person would type. */
  manualSteps: string[];
  /** How long two versions answered requests at the same time. */
  twoVersionsServingMs: number;
  /** Analysis (canary with Argo Rollouts analysis): time from rollout start to a failed verdict, null without one. */
  detectMs: number | null;
  /** The release watch's verdict (rehearsal/model/release-watch.ts): which rule called the release bad, why, and how
   * long after the rollout start; null when the release was judged good. */
  detection: { rule: string; reason: string; afterMs: number } | null;
  /** Acknowledged visits missing from the pods' files, and numbers acknowledged twice: must be 0 everywhere. */
  lost: number;
  duplicated: number;
  /** What Argo CD did (`--delivery argocd`); null (or absent, in reports made before it existed) under kubectl. */
  sync?: SyncFigures | null;
}

/** An Argo CD delivery's sync operations in one run (rehearsal/run/argocd-delivery.ts). Times on the run's clock. */
export interface SyncFigures {
  /** The release's operation (retries included): how it ended, or 'Running' when it had not ended by the horizon. */
  phase: 'Running' | 'Succeeded' | 'Failed';
  /** Argo CD's message for it, or why it is a hang. */
  message: string;
  startedMs: number;
  endedMs: number | null;
  /** Attempts of the release's sync (1 + retries started). */
  attempts: number;
  /** The revert commit: when it was pushed, and when an automated sync of it started (null: never, see `hang`). */
  revertPushedMs: number | null;
  revertSyncStartedMs: number | null;
  /** The release's operation was still Running at the horizon, so the revert never synced. */
  hang: boolean;
  /** Manifest seconds from a push to Argo CD noticing it (its refresh period; 0 = a webhook). */
  refreshSeconds: number;
}

export interface RunResult {
  overlay: string;
  scenario: ReleaseScenario;
  /** The manifests' settings this run used, e.g. { podManagementPolicy: 'OrderedReady', updateStrategy:
   * 'RollingUpdate', partition: 0, minReadySeconds: 10, readinessPeriodSeconds: 2, ... }. */
  settings: Record<string, string | number | boolean>;
  figures: RunFigures;
  timeline: Timeline;
}

export interface ComparisonReport {
  generatedAt: string;
  machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string; platform: string };
  /** Which cluster produced the figures: the model (rehearsal/model), or a real API server (its version, its nodes). */
  cluster: { kind: 'model' | 'real'; description: string };
  /** What the pods ran: the image's built entry (server.js) or the TypeScript sources, in words. */
  podEntry: string;
  /** Manifest timings were multiplied by this; process start-up is real time. */
  timeScale: number;
  connections: number;
  /** Requests per second the clients sent over all connections (paced). */
  rate: number;
  /** When the rehearsal calls a release bad (and reverts), in words. */
  detectionRules: string;
  runs: RunResult[];
}
