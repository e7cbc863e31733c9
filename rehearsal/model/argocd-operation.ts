// One Argo CD sync operation advanced reconcile by reconcile: the stepping form of runSync (argocd-sync.ts) for a
// caller that owns a clock and a live cluster (the rehearsal's Argo CD delivery). Every rule comes from
// argocd-sync.ts (task order, multi-step, StatefulSet health, hook outcome, retry backoff, sync timeout; sources cited
// there: gitops-engine pkg/sync/sync_context.go `Sync`, controller/appcontroller.go `processRequestedAppOperation`
// and `autoSync`); this module only keeps the state between reconciles and says what the caller must do now:
// apply a wave's resources, start a hook. Pure: no processes, no clock (times are seconds the caller passes).
// Kept apart from argocd-sync.ts so that file's batch runSync stays as it is (another change extends its hook
// outcomes); the loop below follows runSync's step by step, so a change to one must be made to the other.
import { isMultiStep, retryDelaySeconds, retryFailsOnStoredResults, sortTasks, STALE_RESULTS, statefulSetHealth, type JobOutcome, type OperationPhase, type StatefulSetStatus, type SyncSettings, type SyncTask } from './argocd-sync.ts';

/** What the cluster shows at this reconcile. */
export interface Observed {
  statefulSet: StatefulSetStatus;
  /** Outcome of a running hook started at `startedAt` (for a Job: jobOutcome with its deadline). */
  hook(task: SyncTask, startedAt: number): JobOutcome;
}

export type OperationEventKind =
  | 'wave-started' // the caller applies `tasks` (resources) now
  | 'hook-started' // the caller creates the hook now (BeforeHookCreation: a fresh Job)
  | 'hook-succeeded'
  | 'hook-failed'
  | 'retry-scheduled'
  | 'retry-started'
  | 'operation-succeeded'
  | 'operation-failed'
  | 'terminated';

export interface OperationEvent {
  at: number;
  kind: OperationEventKind;
  detail: string;
  /** wave-started: the tasks of the wave; hook-*: the hook. */
  tasks?: SyncTask[];
}

type TaskState = 'Pending' | 'Running' | 'Succeeded' | 'Failed';

export class SyncOperation {
  readonly tasks: readonly SyncTask[];
  readonly settings: SyncSettings;
  readonly startedAt: number;
  revision: string;
  phase: OperationPhase = 'Running';
  endedAt: number | null = null;
  message = 'one or more tasks are running';
  readonly events: OperationEvent[] = [];
  readonly #multiStep: boolean;
  #state: TaskState[];
  #hookStart: (number | undefined)[];
  #retryCount = 0;
  #retryAt: number | undefined;
  /** The retry fails on the failed attempt's stored results at its second reconcile (retryFailsOnStoredResults). */
  #hooksLeft = false;
  #staleRetry = false;
  #latest: string | undefined;

  constructor(tasks: readonly SyncTask[], settings: SyncSettings, revision: string, startedAt: number) {
    this.tasks = sortTasks(tasks);
    this.settings = settings;
    this.revision = revision;
    this.startedAt = startedAt;
    this.#multiStep = isMultiStep(this.tasks);
    this.#state = this.tasks.map(() => 'Pending');
    this.#hookStart = this.tasks.map(() => undefined);
  }

  get over(): boolean {
    return this.phase !== 'Running';
  }

  /** A newer commit landed: an automated sync takes it once this operation is over (autoSync skips it "while another
   * operation is in progress", argo-cd#17314), or at this operation's next retry when `retry.refresh` is set. */
  newerCommit(revision: string): void {
    this.#latest = revision;
  }

  /** Hooks running now, with their start. */
  runningHooks(): { task: SyncTask; startedAt: number }[] {
    return this.tasks.flatMap((task, i) => (task.hook && this.#state[i] === 'Running' ? [{ task, startedAt: this.#hookStart[i]! }] : []));
  }

  /** One reconcile at `now` (seconds, same clock as startedAt). Returns the events it produced. */
  step(now: number, observed: Observed): OperationEvent[] {
    const from = this.events.length;
    if (!this.over) this.#step(now, observed);
    return this.events.slice(from);
  }

  #log(at: number, kind: OperationEventKind, detail: string, tasks?: SyncTask[]): void {
    this.events.push({ at, kind, detail, ...(tasks ? { tasks } : {}) });
  }

  #end(now: number, phase: OperationPhase, message: string): void {
    this.phase = phase;
    this.endedAt = now;
    this.message = message;
  }

  #step(now: number, observed: Observed): void {
    const { tasks } = this;
    const timeout = this.settings.syncTimeoutSeconds;
    if (timeout > 0 && now - this.startedAt > timeout) {
      this.#log(now, 'terminated', `controller sync timeout (${timeout} s): running hooks deleted`);
      return this.#end(now, 'Failed', 'Operation terminated, triggered by controller sync timeout');
    }
    if (this.#retryAt !== undefined) {
      if (now < this.#retryAt) return;
      this.#retryAt = undefined;
      if (this.settings.retry.refresh && this.#latest !== undefined && this.#latest !== this.revision) {
        this.revision = this.#latest;
        this.#log(now, 'retry-started', `attempt #${this.#retryCount} with latest revision ${this.revision}`);
      } else this.#log(now, 'retry-started', `attempt #${this.#retryCount} of ${this.revision}`);
      this.#state = tasks.map(() => 'Pending');
      this.#hookStart = tasks.map(() => undefined);
      if (this.#hooksLeft) {
        // This reconcile deletes the hooks the failed attempt left; the next one fails on its stored results.
        this.#hooksLeft = false;
        this.#staleRetry = true;
        return;
      }
    }
    if (this.#staleRetry) {
      this.#staleRetry = false;
      return this.#failAttempt(now, STALE_RESULTS, []);
    }
    const label = (t: SyncTask) => `${t.phase}/${t.wave} ${t.kind}/${t.name}`;
    // 1. running tasks take their outcome (hooks) or health (resources).
    tasks.forEach((t, i) => {
      if (this.#state[i] !== 'Running') return;
      if (t.hook) {
        const outcome = observed.hook(t, this.#hookStart[i]!);
        if (outcome === 'Running') return;
        this.#state[i] = outcome;
        this.#log(now, outcome === 'Succeeded' ? 'hook-succeeded' : 'hook-failed', label(t), [t]);
      } else if (t.kind === 'StatefulSet') {
        const health = statefulSetHealth(observed.statefulSet).status;
        if (health === 'Healthy') this.#state[i] = 'Succeeded';
        else if (health === 'Degraded') this.#state[i] = 'Failed';
      } else this.#state[i] = 'Succeeded';
    });
    // 2. wait while any hook runs, or any task runs in a multi-step sync.
    if (tasks.some((t, i) => this.#state[i] === 'Running' && (this.#multiStep || t.hook))) return;
    // 3. a completed task failed: SyncFail hooks, then Failed (and maybe a retry that keeps the operation Running).
    const indexed = tasks.map((t, i) => ({ t, i }));
    const regular = indexed.filter(({ t }) => t.phase !== 'SyncFail');
    const failed = regular.filter(({ i }) => this.#state[i] === 'Failed');
    if (failed.length > 0) {
      const pendingFail = indexed.filter(({ t, i }) => t.phase === 'SyncFail' && this.#state[i] === 'Pending');
      if (pendingFail.length > 0) {
        for (const { t, i } of pendingFail) this.#startHook(now, t, i);
        return;
      }
      return this.#failAttempt(
        now,
        failed.map(({ t }) => label(t)).join(', '),
        tasks.filter((t, i) => t.hook && this.#hookStart[i] !== undefined),
      );
    }
    // 4. run the next phase/wave, or succeed.
    const pending = regular.filter(({ i }) => this.#state[i] === 'Pending');
    const next = pending[0];
    if (!next) {
      this.#log(now, 'operation-succeeded', 'no more tasks');
      return this.#end(now, 'Succeeded', 'successfully synced (no more tasks)');
    }
    const group = pending.filter(({ t }) => t.phase === next.t.phase && t.wave === next.t.wave);
    this.#log(now, 'wave-started', `${next.t.phase} wave ${next.t.wave}`, group.filter(({ t }) => !t.hook).map(({ t }) => t));
    for (const { t, i } of group) {
      if (t.hook) this.#startHook(now, t, i);
      else this.#state[i] = 'Running';
    }
    if (pending.length === group.length && !group.some(({ t }) => t.hook)) {
      for (const { i } of group) this.#state[i] = 'Succeeded';
      this.#log(now, 'operation-succeeded', 'all tasks run (last wave, no hook: health not awaited)');
      this.#end(now, 'Succeeded', 'successfully synced (all tasks run)');
    }
  }

  /** The attempt failed: a retry is scheduled, or the operation ends Failed. */
  #failAttempt(now: number, why: string, createdHooks: SyncTask[]): void {
    const r = this.settings.retry;
    if (this.#retryCount < r.limit) {
      this.#retryCount++;
      const delay = retryDelaySeconds(r, this.#retryCount);
      this.#retryAt = now + delay;
      this.#hooksLeft = retryFailsOnStoredResults(this.settings, createdHooks);
      this.#log(now, 'retry-scheduled', `failed (${why}); retry #${this.#retryCount} in ${delay} s; the operation stays Running`);
      return;
    }
    this.#log(now, 'operation-failed', why);
    this.#end(now, 'Failed', `one or more synchronization tasks completed unsuccessfully: ${why}`);
  }

  #startHook(now: number, t: SyncTask, i: number): void {
    this.#state[i] = 'Running';
    this.#hookStart[i] = now;
    this.#log(now, 'hook-started', `${t.phase}/${t.wave} ${t.kind}/${t.name}`, [t]);
  }
}
