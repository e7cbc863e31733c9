// What Argo CD does with one sync operation of an overlay, as a pure model: no processes, no clock. The caller says
// what the cluster shows over time (StatefulSet status, hook Job outcomes); the model says what Argo CD does next:
// which phase and wave runs, when each hook starts, whether the operation is Running, Succeeded or Failed (and why),
// and from when an automated sync of a newer commit (the revert) can start.
//
// Rules and where they come from (argoproj/argo-cd at 3.6.0-dev, gitops-engine vendored under gitops-engine/;
// the same logic in argoproj/gitops-engine v0.7 used by Argo CD 2.14-3.1):
//  - Task order: phase (PreSync < Sync < PostSync < SyncFail), then wave, then kind (StatefulSet before Job), then
//    name: gitops-engine/pkg/sync/sync_tasks.go, syncPhaseOrder, kindOrder, syncTasks.Less.
//  - One reconcile = one call of syncContext.Sync (gitops-engine/pkg/sync/sync_context.go):
//      1. running hooks take their Job's outcome; running resources take their health: Healthy -> Succeeded,
//         Degraded -> Failed, anything else stays Running;
//      2. "if (a) we are multi-step and we have any running tasks, or (b) there are any running hooks, then wait";
//         multiStep = first task's phase/wave differs from the last one's (syncTasks.multiStep), computed BEFORE the
//         SyncFail tasks are split off, so a SyncFail hook alone makes a sync multi-step;
//      3. any completed-but-failed task (SyncFail hooks aside): run the SyncFail hooks, then Failed;
//      4. no pending task left: Succeeded; else run the first pending phase/wave. When that was the last phase/wave
//         and it holds no hook, its resources succeed at once "EVEN if those objects subsequently degrade"
//         (argo-cd PR #1727); otherwise every task of the wave is Running (resources wait for health).
//  - StatefulSet health: gitops-engine/pkg/health/health_statefulset.go, getAppsv1StatefulSetHealth (never Degraded,
//    argo-cd#6527). Encoded in statefulSetHealth below.
//  - A hook ends by its health: sync_context.go, getOperationPhase (Healthy -> Succeeded; Degraded or Unknown ->
//    Failed; Progressing or Suspended -> Running; no health check -> Succeeded once created). A Job's health follows
//    its completion (jobOutcome); a hook of another kind, such as Argo Rollouts' AnalysisRun, ends by the health
//    check Argo CD ships for it: argo-cd resource_customizations/argoproj.io/AnalysisRun/health.lua (Successful ->
//    Healthy; Failed, Error -> Degraded; Inconclusive -> Unknown; Pending, Running, no status -> Progressing).
//    Encoded in hookOutcome and analysisRunHealth below; the caller feeds the run's phase (the rehearsal's model of
//    the analysis controller, rehearsal/model/argo-rollouts-analysis.ts) through analysisRunOutcome.
//  - Sync timeout: controller/appcontroller.go, processRequestedAppOperation: once now > startedAt + timeout the
//    operation goes Terminating, hooks are deleted, phase Failed "Operation terminated"; no retry after a
//    termination. startedAt is not reset by retries, so the timeout bounds retries too. Setting:
//    `controller.sync.timeout.seconds` in argocd-cmd-params-cm (Argo CD >= 2.14; default 0 = none).
//  - Retry: same function. A Failed attempt with retries left becomes Running again with FinishedAt set and is retried
//    at NextRetryAt (backoff duration x factor^count, capped at maxDuration: pkg/apis/application/v1alpha1/types.go,
//    RetryStrategy.NextRetryAt), count being the retries so far including this one (retryDelaySeconds below).
//    `retry.refresh` (Argo CD >= 3.2) retries with the latest revision. Before v3.6.0, a retry whose first reconcile
//    has to delete the hooks the failed attempt left fails at once on that attempt's stored results
//    (leavesHooksForRetry, retryFindsFailedResults below); from v3.6.0 every retry runs in full. Measured on Argo CD
//    v3.2.11 and v3.6.2 (docs/argocd-local.md); the model follows v3.6.2 unless `argocdVersion` says otherwise.
//  - Automated sync: controller/appcontroller.go, autoSync: "Skipping auto-sync: another operation is in progress"
//    while app.Operation is set (argo-cd#17314), i.e. while Running, retries included; a newer revision than the one
//    last attempted then syncs.
//
// API for the rehearsal's delivery seam (a sketch of the wiring, nothing here runs processes):
//   const tasks = tasksFromObjects(renderedOverlay);                 // phases, waves, kinds of the overlay
//   const settings = settingsFromApplication(application, 900);      // retry of the Application + controller timeout
//   const hooks = hookJobs(renderedOverlay);                         // each hook Job's deadline and retries
//   const run = runSync({ tasks, settings, revision: 'v2', newerRevision: { revision: 'v1', at: revertAt },
//     horizonSeconds, cluster: {
//       statefulSet: (now, rev) => statusFromTheRehearsedPods(now, rev),          // the rehearsal's StatefulSet status
//       hook: (name, rev, startedAt, now) => hooks[name] ? jobOutcome(hooks[name], startedAt, now, passedAt(name, rev))
//         : analysisRunOutcome(analysisPhaseAt(name, rev, now - startedAt)),   // an AnalysisRun hook: by its health
//     } });
//   run.phase / run.endedAt / run.newerRevisionSyncStartedAt / run.events  -> when the revert starts, or a hang.
// All times are seconds from the start of the operation; the model never reads a clock.
import type { K8sObject } from '../../bundle/types.ts';

export type SyncPhase = 'PreSync' | 'Sync' | 'PostSync' | 'SyncFail';
export type OperationPhase = 'Running' | 'Succeeded' | 'Failed';
export type HealthStatus = 'Healthy' | 'Progressing' | 'Suspended' | 'Degraded' | 'Unknown' | 'Missing';
export type JobOutcome = 'Running' | 'Succeeded' | 'Failed';

const phaseOrder: Record<SyncPhase, number> = { PreSync: -1, Sync: 0, PostSync: 1, SyncFail: 2 };
// The part of gitops-engine's kindOrder this bundle uses (lower applies first within a wave); unknown kinds last.
const kindOrder = ['Namespace', 'NetworkPolicy', 'PodDisruptionBudget', 'ServiceAccount', 'ConfigMap', 'Role', 'RoleBinding', 'Service', 'StatefulSet', 'Job'];

/** One thing the sync applies: a resource (phase Sync) or a hook (one task per hook phase it names). */
export interface SyncTask {
  kind: string;
  name: string;
  phase: SyncPhase;
  wave: number;
  hook: boolean;
  /** A hook's argocd.argoproj.io/hook-delete-policy values; absent or empty: BeforeHookCreation (hookDeletePolicies). */
  deletePolicies?: string[];
}

/** gitops-engine pkg/sync/hook/delete_policy.go, DeletePolicies: a hook that names no policy gets BeforeHookCreation. */
export function hookDeletePolicies(task: SyncTask): string[] {
  return task.deletePolicies && task.deletePolicies.length > 0 ? task.deletePolicies : ['BeforeHookCreation'];
}

/**
 * The Argo CD version the model follows by default: the local one's (cluster/go.mod requires
 * github.com/argoproj/argo-cd/v3 at this version; test/argocd-sync.test.ts holds the two together).
 */
export const DEFAULT_ARGOCD_VERSION = '3.6.2';

/**
 * Whether a retry finds the failed attempt's results still stored, so that it can fail on them (leavesHooksForRetry):
 * Argo CD before v3.6.0. Its setOperationState (controller/appcontroller.go) stored the OperationState as a JSON merge
 * patch, in which the retry's cleared syncResult (`omitempty`) left the old one in place. From v3.6.0 it replaces the
 * whole operationState with a JSON patch (argo-cd#28778, "fix(sync): correctly set operationState values on retry",
 * for #26530), so every retry runs in full. Seen on v3.6.2 (docs/argocd-local.md, 2026-12-04): attempts 2 and 3 of a
 * crash release each ran their whole smoke check; on v3.2.11 attempt 2 had failed 4 s after it started.
 */
export function retryFindsFailedResults(version: string = DEFAULT_ARGOCD_VERSION): boolean {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!m) throw new Error(`Argo CD version ${JSON.stringify(version)}: expected major.minor.patch`);
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major < 3 || (major === 3 && minor < 6);
}

/**
 * Whether the next attempt after a failed one fails at once, on the failed attempt's results, given the hooks that
 * attempt created. A failed operation deletes only its hooks with HookFailed (gitops-engine sync_context.go,
 * deleteHooks(hooksPendingDeletionFailed); HookSucceeded ones are deleted only when the operation succeeds), so the
 * others are still there when the retry starts. The retry's first reconcile deletes those with BeforeHookCreation
 * (runTasks, hooksPendingDeletion) and returns to wait for the deletion. The retry had cleared the operation's
 * syncResult in memory only: setOperationState (argo-cd controller/appcontroller.go) stores the OperationState as a
 * JSON merge patch, and syncResult is `omitempty`, so the failed attempt's results stay stored. The next reconcile
 * resumes from them, finds a task "completed unsuccessfully" and fails the attempt, one reconcile after it started.
 * Its hooks are gone by then, so the retry after it runs in full. Seen on Argo CD v3.2.11: attempt 2 of a crash
 * release failed 4 s after it started and attempt 3 ran its whole check; a retry of canary-analysis's first sync failed
 * 1 s after "Retrying operation. Attempt #1" with the old AnalysisRun's Failed result. Only where
 * retryFindsFailedResults says so (before v3.6.0).
 */
export function leavesHooksForRetry(createdHooks: readonly SyncTask[]): boolean {
  return createdHooks.some((t) => {
    const policies = hookDeletePolicies(t);
    return policies.includes('BeforeHookCreation') && !policies.includes('HookFailed');
  });
}

/**
 * Seconds before retry number `retryCount` (1 for the first retry). processRequestedAppOperation increments
 * RetryCount when an attempt fails, and the retry waits until NextRetryAt(finishedAt, RetryCount) with the incremented
 * count, so the first retry waits duration × factor, not duration as NextRetryAt's comment says. Measured on Argo CD
 * v3.2.11 with 10 s × 2: 19-20 s before the first retry, 39-40 s before the second.
 */
export function retryDelaySeconds(retry: SyncSettings['retry'], retryCount: number): number {
  return Math.min(retry.durationSeconds * retry.factor ** retryCount, retry.maxDurationSeconds);
}

/**
 * Whether the retry after a failed attempt fails on that attempt's stored results, one reconcile after it starts: the
 * release keeps them (retryFindsFailedResults) and the attempt left hooks to delete (leavesHooksForRetry). Both the
 * whole-operation run (runSync) and the step-by-step operation (argocd-operation.ts) ask this.
 */
export function retryFailsOnStoredResults(settings: Pick<SyncSettings, 'argocdVersion'>, createdHooks: readonly SyncTask[]): boolean {
  return retryFindsFailedResults(settings.argocdVersion) && leavesHooksForRetry(createdHooks);
}

/** Why a retry that fails on the previous attempt's stored results failed (retryFailsOnStoredResults). */
export const STALE_RESULTS = "the previous attempt's results (its hooks deleted first; syncResult kept across the retry)";

/** Reads the tasks of a sync from rendered objects (argocd.argoproj.io/hook, /sync-wave; hook "Skip" is left out). */
export function tasksFromObjects(objects: readonly K8sObject[]): SyncTask[] {
  const tasks: SyncTask[] = [];
  for (const o of objects) {
    const ann = o.metadata?.annotations ?? {};
    const wave = Number(ann['argocd.argoproj.io/sync-wave'] ?? '0');
    const base = { kind: String(o.kind), name: o.metadata?.name ?? '', wave: Number.isFinite(wave) ? wave : 0 };
    const hook = ann['argocd.argoproj.io/hook'];
    const policies = (ann['argocd.argoproj.io/hook-delete-policy'] ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
    if (hook === undefined) tasks.push({ ...base, phase: 'Sync', hook: false });
    else for (const p of hook.split(',').map((s) => s.trim())) if (p in phaseOrder) tasks.push({ ...base, phase: p as SyncPhase, hook: true, ...(policies.length > 0 ? { deletePolicies: policies } : {}) });
  }
  return sortTasks(tasks);
}

export function sortTasks(tasks: readonly SyncTask[]): SyncTask[] {
  const k = (kind: string) => (kindOrder.includes(kind) ? kindOrder.indexOf(kind) - kindOrder.length : 0);
  return [...tasks].sort((a, b) => phaseOrder[a.phase] - phaseOrder[b.phase] || a.wave - b.wave || k(a.kind) - k(b.kind) || a.name.localeCompare(b.name));
}

/** gitops-engine syncTasks.multiStep over every task, SyncFail hooks included. */
export function isMultiStep(tasks: readonly SyncTask[]): boolean {
  const sorted = sortTasks(tasks);
  const first = sorted[0];
  const last = sorted[sorted.length - 1];
  return first !== undefined && last !== undefined && (first.phase !== last.phase || first.wave !== last.wave);
}

/** A hook Job's limits, as rendered: how long it may run and how often its pod is retried. */
export interface HookJob {
  /**
   * When the Job fails if its check never passes: the smaller of its activeDeadlineSeconds (Kubernetes fails the Job,
   * DeadlineExceeded) and its command's own timeout (the hook exits 1 then, and with no pod retry the Job fails).
   */
  deadlineSeconds: number | undefined;
  backoffLimit: number;
}

/**
 * The env variable holding each hook command's own overall timeout in ms, and its default when unset
 * (src/hooks/smoke.ts defaultOptions.timeoutMs, src/hooks/recreate-hook.ts optionsFromEnv). 0 = no timeout.
 */
export const hookCommandTimeouts: Record<string, { env: string; defaultMs: number }> = {
  '/app/hooks/smoke.js': { env: 'SMOKE_TIMEOUT_MS', defaultMs: 120_000 },
  '/app/hooks/recreate-hook.js': { env: 'RECREATE_TIMEOUT_MS', defaultMs: 300_000 },
};

type JobSpec = { activeDeadlineSeconds?: unknown; backoffLimit?: unknown; template?: { spec?: { containers?: { command?: unknown; env?: { name?: string; value?: string }[] }[] } } };

/**
 * A hook Job's own timeout: the env variable its command reads and its value in seconds (the command's default when
 * unset; 0 = none). undefined: not a command this project knows.
 */
export function hookCommandTimeout(job: K8sObject): { env: string; seconds: number } | undefined {
  for (const c of ((job['spec'] ?? {}) as JobSpec).template?.spec?.containers ?? []) {
    const entry = Array.isArray(c.command) ? c.command.map(String).find((a) => a in hookCommandTimeouts) : undefined;
    if (entry === undefined) continue;
    const { env, defaultMs } = hookCommandTimeouts[entry]!;
    const ms = Number(c.env?.find((e) => e.name === env)?.value ?? defaultMs);
    return { env, seconds: Number.isFinite(ms) && ms > 0 ? ms / 1000 : 0 };
  }
  return undefined;
}

/** The command's own timeout in seconds (undefined: none known, or 0 = none). */
export function commandTimeoutSeconds(job: K8sObject): number | undefined {
  const t = hookCommandTimeout(job);
  return t && t.seconds > 0 ? t.seconds : undefined;
}

/** The hook Jobs of an overlay by name (backoffLimit defaults to 6 as in batch/v1). */
export function hookJobs(objects: readonly K8sObject[]): Record<string, HookJob> {
  const out: Record<string, HookJob> = {};
  for (const o of objects) {
    if (o.kind !== 'Job' || o.metadata?.annotations?.['argocd.argoproj.io/hook'] === undefined) continue;
    const spec = (o['spec'] ?? {}) as JobSpec;
    const active = typeof spec.activeDeadlineSeconds === 'number' ? spec.activeDeadlineSeconds : undefined;
    const own = commandTimeoutSeconds(o);
    const limits = [active, own].filter((x): x is number => x !== undefined);
    out[o.metadata.name ?? ''] = {
      deadlineSeconds: limits.length > 0 ? Math.min(...limits) : undefined,
      backoffLimit: typeof spec.backoffLimit === 'number' ? spec.backoffLimit : 6,
    };
  }
  return out;
}

/**
 * A Job that passes when its check first passes (`passesAt`, seconds from the operation's start, undefined = never)
 * and otherwise fails at its activeDeadlineSeconds (a Job past its deadline is Failed, reason DeadlineExceeded;
 * Argo CD reads a hook Job's outcome from its status). No deadline and never passing = Running forever.
 */
export function jobOutcome(job: HookJob, startedAt: number, now: number, passesAt: number | undefined): JobOutcome {
  if (passesAt !== undefined && now >= Math.max(startedAt, passesAt) && (job.deadlineSeconds === undefined || Math.max(startedAt, passesAt) - startedAt < job.deadlineSeconds)) return 'Succeeded';
  if (job.deadlineSeconds !== undefined && now - startedAt >= job.deadlineSeconds) return 'Failed';
  return 'Running';
}

/**
 * gitops-engine pkg/sync/sync_context.go, getOperationPhase: how a running hook ends, by the health of its live object.
 * `undefined` = the kind has no health check: the hook succeeds once created.
 */
export function hookOutcome(health: HealthStatus | undefined): JobOutcome {
  switch (health) {
    case 'Degraded':
    case 'Unknown':
      return 'Failed';
    case 'Progressing':
    case 'Suspended':
      return 'Running';
    default:
      // Healthy, no health check, and Missing (which getOperationPhase does not list) leave the default: Succeeded.
      return 'Succeeded';
  }
}

/** An AnalysisRun's status.phase (argo-rollouts pkg/apis/rollouts/v1alpha1/analysis_types.go, AnalysisPhase). */
export type AnalysisRunPhase = 'Pending' | 'Running' | 'Successful' | 'Failed' | 'Error' | 'Inconclusive';

/** argo-cd resource_customizations/argoproj.io/AnalysisRun/health.lua; undefined = no status reconciled yet. */
export function analysisRunHealth(phase: AnalysisRunPhase | undefined): HealthStatus {
  switch (phase) {
    case 'Successful':
      return 'Healthy';
    case 'Failed':
    case 'Error':
      return 'Degraded';
    case 'Inconclusive':
      return 'Unknown';
    default:
      return 'Progressing';
  }
}

/** An AnalysisRun hook's outcome from its phase: Successful ends it Succeeded; Failed, Error, Inconclusive Failed. */
export const analysisRunOutcome = (phase: AnalysisRunPhase | undefined): JobOutcome => hookOutcome(analysisRunHealth(phase));

/** The StatefulSet as Argo CD's health check reads it (spec and status fields it looks at). */
export interface StatefulSetStatus {
  generation: number;
  observedGeneration: number;
  replicas: number;
  readyReplicas: number;
  updatedReplicas: number;
  currentRevision: string;
  updateRevision: string;
  updateStrategy: 'RollingUpdate' | 'OnDelete';
  /** spec.updateStrategy.rollingUpdate present (with or without a partition). */
  rollingUpdateSet?: boolean;
  partition?: number;
}

/** gitops-engine pkg/health/health_statefulset.go, getAppsv1StatefulSetHealth, rule by rule. Never Degraded. */
export function statefulSetHealth(s: StatefulSetStatus): { status: HealthStatus; message: string } {
  if (s.observedGeneration === 0 || s.generation > s.observedGeneration) return { status: 'Progressing', message: 'Waiting for statefulset spec update to be observed...' };
  if (s.readyReplicas < s.replicas) return { status: 'Progressing', message: `Waiting for ${s.replicas - s.readyReplicas} pods to be ready...` };
  if (s.updateStrategy === 'RollingUpdate' && (s.rollingUpdateSet === true || s.partition !== undefined)) {
    if (s.partition !== undefined && s.updatedReplicas < s.replicas - s.partition) return { status: 'Progressing', message: 'Waiting for partitioned roll out to finish' };
    return { status: 'Healthy', message: 'partitioned roll out complete' };
  }
  // OnDelete: Healthy once every replica is ready, whatever revision it runs (gitops-engine#136).
  if (s.updateStrategy === 'OnDelete') return { status: 'Healthy', message: `statefulset has ${s.readyReplicas} ready pods` };
  if (s.updateRevision !== s.currentRevision) return { status: 'Progressing', message: 'waiting for statefulset rolling update to complete' };
  return { status: 'Healthy', message: 'statefulset rolling update complete' };
}

/** The Application's settings that decide how a sync ends, plus the controller-wide sync timeout. */
export interface SyncSettings {
  /** controller.sync.timeout.seconds; 0 = no timeout (Argo CD's default). */
  syncTimeoutSeconds: number;
  retry: { limit: number; durationSeconds: number; factor: number; maxDurationSeconds: number; refresh: boolean };
  automated: boolean;
  /** The Argo CD release whose rules apply where they changed (retryFindsFailedResults); DEFAULT_ARGOCD_VERSION if unset. */
  argocdVersion?: string;
}

/** syncPolicy of an Application (or ApplicationSet template) as rendered; durations like 10s, 3m. */
export function settingsFromApplication(app: K8sObject | Record<string, unknown>, syncTimeoutSeconds: number): SyncSettings {
  const spec = (app as { spec?: { syncPolicy?: Record<string, any> } }).spec ?? {};
  const sp = spec.syncPolicy ?? {};
  const seconds = (d: unknown, fallback: number) => {
    const m = /^(\d+)(s|m|h)?$/.exec(String(d ?? ''));
    return m ? Number(m[1]) * (m[2] === 'm' ? 60 : m[2] === 'h' ? 3600 : 1) : fallback;
  };
  const r = sp['retry'] ?? {};
  return {
    syncTimeoutSeconds,
    automated: sp['automated'] !== undefined,
    retry: {
      // controller/appcontroller.go autoSync: the operation starts with Retry{Limit: 5} and takes the Application's
      // retry block whole when there is one, so a block without `limit` means Go's zero value, 0 retries, not 5.
      // A negative limit retries forever (processRequestedAppOperation: `RetryCount < Limit || Limit < 0`).
      limit: sp['retry'] === undefined ? 5 : typeof r.limit === 'number' ? (r.limit < 0 ? Infinity : r.limit) : 0,
      durationSeconds: seconds(r.backoff?.duration, 5),
      factor: typeof r.backoff?.factor === 'number' ? r.backoff.factor : 2,
      maxDurationSeconds: seconds(r.backoff?.maxDuration, 180),
      refresh: r.refresh === true,
    },
  };
}

/** What the cluster shows at a moment; `revision` is the Git revision the running attempt applied. */
export interface ClusterView {
  statefulSet(now: number, revision: string): StatefulSetStatus;
  /**
   * Outcome of hook `name` of `revision`, started at `startedAt`: a Job's by its completion and deadline (jobOutcome),
   * any other kind's by its health (hookOutcome; an AnalysisRun's through analysisRunOutcome).
   */
  hook(name: string, revision: string, startedAt: number, now: number): JobOutcome;
}

export interface SyncEvent {
  at: number;
  what: 'wave-started' | 'hook-started' | 'operation-failed' | 'operation-succeeded' | 'retry-scheduled' | 'retry-started' | 'terminated' | 'auto-sync-started';
  detail: string;
}

export interface SyncRun {
  /** Phase of the operation at the horizon, or when it ended. */
  phase: OperationPhase;
  endedAt: number | null;
  message: string;
  /** When an automated sync of `newerRevision` started (null: never within the horizon). */
  newerRevisionSyncStartedAt: number | null;
  events: SyncEvent[];
}

export interface RunInput {
  tasks: readonly SyncTask[];
  settings: SyncSettings;
  cluster: ClusterView;
  revision: string;
  /** A newer commit (the revert) lands at `at`; the model reports when Argo CD starts syncing it. */
  newerRevision?: { revision: string; at: number };
  /** Seconds between reconciles of the operation (the controller requeues in-progress operations; 5 s is fine). */
  stepSeconds?: number;
  horizonSeconds: number;
}

type TaskState = 'Pending' | 'Running' | 'Succeeded' | 'Failed';

/**
 * Runs one sync operation (and its retries) reconcile by reconcile until it ends, or until the horizon when it never
 * does. A newer revision starts syncing when the operation is over (automated sync) or at a retry with refresh.
 */
export function runSync(input: RunInput): SyncRun {
  const step = input.stepSeconds ?? 5;
  const tasks = sortTasks(input.tasks);
  const multiStep = isMultiStep(tasks);
  const events: SyncEvent[] = [];
  const log = (at: number, what: SyncEvent['what'], detail: string) => events.push({ at, what, detail });
  let revision = input.revision;
  let state: TaskState[] = tasks.map(() => 'Pending');
  let hookStart: (number | undefined)[] = tasks.map(() => undefined);
  let retryCount = 0;
  let retryAt: number | undefined;
  /** The failed attempt left hooks (leavesHooksForRetry): the retry fails on its results one reconcile in. */
  let hooksLeft = false;
  let staleRetry = false;
  let newerStartedAt: number | null = null;
  const timeout = input.settings.syncTimeoutSeconds;
  const newer = input.newerRevision;
  const end = (now: number, phase: OperationPhase, message: string): SyncRun => {
    let newerAt = newerStartedAt;
    if (newerAt === null && newer && input.settings.automated) {
      newerAt = Math.max(now, newer.at);
      log(newerAt, 'auto-sync-started', newer.revision);
    }
    return { phase, endedAt: now, message, newerRevisionSyncStartedAt: newerAt, events };
  };
  const label = (t: SyncTask) => `${t.phase}/${t.wave} ${t.kind}/${t.name}`;
  /** The attempt failed: a retry is scheduled (undefined), or the operation ends Failed. */
  const failAttempt = (now: number, why: string, createdHooks: SyncTask[]): SyncRun | undefined => {
    if (retryCount < input.settings.retry.limit) {
      retryCount++;
      const delay = retryDelaySeconds(input.settings.retry, retryCount);
      retryAt = now + delay;
      hooksLeft = retryFailsOnStoredResults(input.settings, createdHooks);
      log(now, 'retry-scheduled', `failed (${why}); retry #${retryCount} in ${delay} s; the operation stays Running`);
      return undefined;
    }
    log(now, 'operation-failed', why);
    return end(now, 'Failed', `one or more synchronization tasks completed unsuccessfully: ${why}`);
  };

  for (let now = 0; now <= input.horizonSeconds; now += step) {
    if (timeout > 0 && now > timeout) {
      log(now, 'terminated', `controller sync timeout (${timeout} s): running hooks deleted`);
      return end(now, 'Failed', 'Operation terminated, triggered by controller sync timeout');
    }
    if (retryAt !== undefined) {
      if (now < retryAt) continue;
      retryAt = undefined;
      if (input.settings.retry.refresh && newer && now >= newer.at && revision !== newer.revision) {
        // retry.refresh: the retry drops the operation's revision and takes the latest one (same operation, same
        // startedAt, so the sync timeout still counts from the first attempt).
        revision = newer.revision;
        newerStartedAt = now;
        log(now, 'retry-started', `attempt #${retryCount} with latest revision ${revision}`);
      } else log(now, 'retry-started', `attempt #${retryCount} of ${revision}`);
      state = tasks.map(() => 'Pending');
      hookStart = tasks.map(() => undefined);
      if (hooksLeft) {
        // This reconcile deletes the hooks the failed attempt left; the next one fails on its stored results.
        hooksLeft = false;
        staleRetry = true;
        continue;
      }
    }
    if (staleRetry) {
      staleRetry = false;
      const ended = failAttempt(now, STALE_RESULTS, []);
      if (ended) return ended;
      continue;
    }
    // 1. running tasks take their outcome (hooks) or health (resources).
    tasks.forEach((t, i) => {
      if (state[i] !== 'Running') return;
      if (t.hook) {
        const o = input.cluster.hook(t.name, revision, hookStart[i]!, now);
        if (o !== 'Running') state[i] = o;
      } else if (t.kind === 'StatefulSet') {
        const h = statefulSetHealth(input.cluster.statefulSet(now, revision)).status;
        if (h === 'Healthy') state[i] = 'Succeeded';
        else if (h === 'Degraded') state[i] = 'Failed';
      } else state[i] = 'Succeeded'; // Services, RBAC, PDB, NetworkPolicy: healthy once applied.
    });
    // 2. wait while any hook runs, or any task runs in a multi-step sync.
    if (tasks.some((t, i) => state[i] === 'Running' && (multiStep || t.hook))) continue;
    // 3. a completed task failed: SyncFail hooks, then Failed (and maybe a retry).
    const regular = tasks.map((t, i) => ({ t, i })).filter(({ t }) => t.phase !== 'SyncFail');
    const failed = regular.filter(({ i }) => state[i] === 'Failed');
    if (failed.length > 0) {
      const failHooks = tasks.map((t, i) => ({ t, i })).filter(({ t }) => t.phase === 'SyncFail');
      const pendingFail = failHooks.filter(({ i }) => state[i] === 'Pending');
      if (pendingFail.length > 0) {
        for (const { t, i } of pendingFail) {
          state[i] = 'Running';
          hookStart[i] = now;
          log(now, 'hook-started', label(t));
        }
        continue;
      }
      const ended = failAttempt(now, failed.map(({ t }) => label(t)).join(', '), tasks.filter((t, i) => t.hook && hookStart[i] !== undefined));
      if (ended) return ended;
      continue;
    }
    // 4. run the next phase/wave, or succeed.
    const pending = regular.filter(({ i }) => state[i] === 'Pending');
    const next = pending[0];
    if (!next) {
      log(now, 'operation-succeeded', 'no more tasks');
      return end(now, 'Succeeded', 'successfully synced (no more tasks)');
    }
    const group = pending.filter(({ t }) => t.phase === next.t.phase && t.wave === next.t.wave);
    const remaining = pending.length - group.length;
    log(now, 'wave-started', `${next.t.phase} wave ${next.t.wave}`);
    for (const { t, i } of group) {
      state[i] = 'Running';
      if (t.hook) {
        hookStart[i] = now;
        log(now, 'hook-started', label(t));
      }
    }
    if (remaining === 0 && !group.some(({ t }) => t.hook)) {
      for (const { i } of group) state[i] = 'Succeeded';
      log(now, 'operation-succeeded', 'all tasks run (last wave, no hook: health not awaited)');
      return end(now, 'Succeeded', 'successfully synced (all tasks run)');
    }
  }
  return { phase: 'Running', endedAt: null, message: 'one or more tasks are running', newerRevisionSyncStartedAt: newerStartedAt, events };
}

// ---------------------------------------------------------------------------------------------------------------
// What Argo CD adds to a sync beyond the overlay's own objects. The tasks of a sync are not only what the overlay
// renders: the Application's sync options add tasks of their own, and one added task in another phase or wave makes
// the whole sync multi-step (and then a crash-looping StatefulSet, never Degraded, holds the operation Running after a
// failed hook). This is the one place that knows those rules; the rehearsal's delivery and `npm run validate` both
// call it.
//  - CreateNamespace=true: controller/sync.go (SyncAppState) passes sync.WithNamespaceModifier(syncNamespace(...))
//    only with that option; gitops-engine pkg/sync/sync_context.go, autoCreateNamespace: when no target object is a
//    Namespace named like the destination, appendNsTask adds a **PreSync** Namespace task whenever
//    controller/sync_namespace.go, syncNamespace, answers true: the namespace does not exist yet, or
//    spec.syncPolicy.managedNamespaceMetadata is set (then on every sync, the namespace existing or not).
//  - PruneLast=true (the Application's option, or the sync-options annotation on the live object): sync_context.go,
//    getSyncTasks: each prune task gets the wave "last Sync wave + 1", a second wave whenever something is pruned.
//    Without it, prune tasks keep their own waves (mirrored among the prune waves: the same function), so objects
//    all in wave 0 prune in wave 0.
// ---------------------------------------------------------------------------------------------------------------

/** What the cluster holds before the sync, as far as the added tasks depend on it. */
export interface SyncLiveState {
  /** The destination namespace exists (false only before the first sync, or after someone deleted it). */
  namespaceExists: boolean;
  /** Live objects of the Application that Git no longer has: this sync prunes them (automated.prune). */
  pruned?: readonly K8sObject[];
}

/** The parts of an Application that decide the added tasks: spec.syncPolicy and spec.destination.namespace. */
export interface ApplicationSyncSpec {
  syncPolicy?: unknown;
  destination?: { namespace?: unknown };
}

/** An Application's (or an instantiated ApplicationSet template's) sync spec; `namespace` overrides its destination. */
export function applicationSyncSpec(app: K8sObject | Record<string, unknown>, namespace?: string): ApplicationSyncSpec {
  const spec = ((app as { spec?: ApplicationSyncSpec }).spec ?? {}) as ApplicationSyncSpec;
  return { syncPolicy: spec.syncPolicy, destination: { namespace: namespace ?? spec.destination?.namespace } };
}

const hasSyncOption = (options: unknown, option: string) => Array.isArray(options) && options.some((o) => String(o).replace(/\s/g, '') === option);

function annotationOption(o: K8sObject, option: string): boolean {
  const value = o.metadata?.annotations?.['argocd.argoproj.io/sync-options'];
  return value !== undefined && hasSyncOption(value.split(','), option);
}

/** The Namespace task CreateNamespace adds (sync_context.go autoCreateNamespace + sync_namespace.go syncNamespace). */
export function namespaceTask(objects: readonly K8sObject[], app: ApplicationSyncSpec, live: SyncLiveState): SyncTask | undefined {
  const policy = (app.syncPolicy ?? {}) as { syncOptions?: unknown; managedNamespaceMetadata?: unknown };
  const namespace = typeof app.destination?.namespace === 'string' ? app.destination.namespace : '';
  if (!hasSyncOption(policy.syncOptions, 'CreateNamespace=true') || namespace === '') return undefined;
  if (objects.some((o) => o.kind === 'Namespace' && o.metadata?.name === namespace)) return undefined;
  const managed = policy.managedNamespaceMetadata !== undefined && policy.managedNamespaceMetadata !== null;
  if (live.namespaceExists && !managed) return undefined;
  return { kind: 'Namespace', name: namespace, phase: 'PreSync', wave: 0, hook: false };
}

/** Prune tasks of the live objects Git no longer has (sync_context.go getSyncTasks: prune waves, PruneLast). */
export function pruneTasks(objects: readonly K8sObject[], app: ApplicationSyncSpec, live: SyncLiveState): SyncTask[] {
  const pruned = live.pruned ?? [];
  if (pruned.length === 0) return [];
  const policy = (app.syncPolicy ?? {}) as { syncOptions?: unknown };
  const waveOf = (o: K8sObject) => {
    const w = Number(o.metadata?.annotations?.['argocd.argoproj.io/sync-wave'] ?? '0');
    return Number.isFinite(w) ? w : 0;
  };
  // Prune waves are mirrored: the first prune wave takes the last one's number and so on, so dependents go first.
  const waves = [...new Set(pruned.map(waveOf))].sort((a, b) => a - b);
  const mirrored = (w: number) => waves[waves.length - 1 - waves.indexOf(w)]!;
  const tasks: SyncTask[] = pruned.map((o) => ({ kind: String(o.kind), name: o.metadata?.name ?? '', phase: 'Sync', wave: mirrored(waveOf(o)), hook: false }));
  const syncWaves = [...tasksFromObjects(objects), ...tasks].filter((t) => t.phase === 'Sync').map((t) => t.wave);
  const lastWave = Math.max(0, ...syncWaves) + 1;
  return pruned.map((o, i) => (hasSyncOption(policy.syncOptions, 'PruneLast=true') || annotationOption(o, 'PruneLast=true') ? { ...tasks[i]!, wave: lastWave } : tasks[i]!));
}

/** Every task of one sync of `objects` by this Application: the overlay's own, plus what its sync options add. */
export function syncTasksOf(objects: readonly K8sObject[], app: ApplicationSyncSpec, live: SyncLiveState): SyncTask[] {
  const ns = namespaceTask(objects, app, live);
  return sortTasks([...tasksFromObjects(objects), ...(ns ? [ns] : []), ...pruneTasks(objects, app, live)]);
}

/** The syncs an Application goes through in its life, each of which must be single-step for a bad release to end. */
export function lifecycleSyncs(objects: readonly K8sObject[]): { name: string; live: SyncLiveState }[] {
  // Pruning one of the overlay's own namespaced objects stands for any object removed from Git in a later commit.
  const prunable = objects.find((o) => o.kind !== 'Namespace' && o.metadata?.annotations?.['argocd.argoproj.io/hook'] === undefined);
  return [
    { name: 'the first sync (namespace missing)', live: { namespaceExists: false } },
    { name: 'a release (namespace exists)', live: { namespaceExists: true } },
    ...(prunable ? [{ name: `a release that prunes an object (${String(prunable.kind)})`, live: { namespaceExists: true, pruned: [prunable] } }] : []),
  ];
}

/**
 * Why syncs of this Application would be multi-step, one line per sync of its life that is (empty: every sync is
 * single-step). The rule `npm run validate` applies, and what the rehearsal's Argo CD delivery runs.
 */
export function multiStepSyncs(objects: readonly K8sObject[], app: ApplicationSyncSpec): string[] {
  const out: string[] = [];
  for (const { name, live } of lifecycleSyncs(objects)) {
    const tasks = syncTasksOf(objects, app, live);
    if (!isMultiStep(tasks)) continue;
    const steps = [...new Set(tasks.map((t) => `${t.phase}/${t.wave}`))];
    const added = [namespaceTask(objects, app, live), ...pruneTasks(objects, app, live)].filter((t): t is SyncTask => t !== undefined && (t.phase !== 'Sync' || t.wave !== 0));
    const cause = added.map((t) => (t.kind === 'Namespace' ? `a ${t.phase} Namespace task (CreateNamespace=true${t.phase === 'PreSync' && live.namespaceExists ? ' with managedNamespaceMetadata' : ' without a Namespace in the bundle'})` : `a prune task in wave ${t.wave} (PruneLast=true)`));
    out.push(`${name} is multi-step (${steps.join(', ')})${cause.length > 0 ? `: ${cause.join('; ')}` : ''}`);
  }
  return out;
}
