// A release delivered by Argo CD: each apply is a commit that an automated sync picks up. The sync operation is the
// model's (rehearsal/model/argocd-operation.ts over argocd-sync.ts's rules), built from the overlay's rendered objects
// (hook phases, waves, hook Job deadlines) and the Application's syncPolicy (retry); this module plays the cluster's
// part on the rehearsal's real StatefulSet: a wave's StatefulSet task stores the new template, the hook Jobs do what
// their commands do (src/hooks), an AnalysisRun hook (canary-analysis) is a fresh analysis of the pods per attempt
// (analysis-run.ts, as the analysis controller judges it) whose phase decides the hook, and a newer commit (the revert) syncs only when Argo CD would start it, i.e. when the
// running operation is over (autoSync: "another operation is in progress", argo-cd#17314). An operation still Running
// at the horizon is reported as a hang: the revert never synced, and nothing waits forever.
// Times: the model gets seconds of manifest time (real time divided by the time scale), like every other model.
import path from 'node:path';
import { findRenderer, noRendererMessage, render } from '../../bundle/render.ts';
import { repoRoot } from '../../bundle/schema.ts';
import type { K8sObject } from '../../bundle/types.ts';
import { SyncOperation, type OperationEvent } from '../model/argocd-operation.ts';
import { analysisRunOutcome, hookJobs, jobOutcome, settingsFromApplication, applicationSyncSpec, syncTasksOf, type HookJob, type StatefulSetStatus, type SyncTask } from '../model/argocd-sync.ts';
import type { RolloutPlan } from '../plan.ts';
import type { MarkerKind, SyncFigures } from '../result.ts';
import type { AnalysisHandle, ClusterControl, Delivery } from './delivery.ts';
import type { Template } from './statefulset.ts';

/** Longer than the bundle's own bound on a bad release's operation (3 attempts × 300 s + 30 s of backoff ≈ 930 s,
 * argocd/README.md), so an operation still Running then is one that would never end by itself. */
export const DEFAULT_HORIZON_SECONDS = 1800;

export interface ArgoCdDeliveryOptions {
  timeScale: number;
  /** The overlay's rendered objects (default: kustomize build of kustomize/overlays/<overlay>). */
  objects?: (overlay: string) => Promise<readonly K8sObject[]>;
  /** The Application whose syncPolicy applies (default: the one argocd/application renders). */
  application?: () => Promise<K8sObject>;
  /** controller.sync.timeout.seconds; default 0: the bundle's own settings, without the 900 s backstop that
   * scripts/cluster/install-argocd.sh sets (what must hold holds without it). */
  syncTimeoutSeconds?: number;
  /** Manifest seconds after the release's sync started at which a still Running operation counts as a hang. */
  horizonSeconds?: number;
  /** Real milliseconds between reconciles. */
  reconcileMs?: number;
  /**
   * Manifest seconds from a push to Argo CD noticing it: the next refresh of the Application. Default
   * DEFAULT_REFRESH_SECONDS, the controller's resync period; 0 stands for a Git webhook.
   */
  refreshSeconds?: number;
}

/**
 * Argo CD notices a commit when it next refreshes the Application: every `timeout.reconciliation` (120 s), plus up to
 * `timeout.reconciliation.jitter` (60 s) (cmd/argocd-application-controller/commands/argocd_application_controller.go,
 * defaultAppResyncPeriod, defaultAppResyncPeriodJitter), or at once with a Git webhook. The rehearsal waits the period
 * without jitter, so a verdict does not depend on luck.
 */
export const DEFAULT_REFRESH_SECONDS = 120;

/** What a hook of the bundle does: a Job read from its command (src/hooks/smoke.ts, src/hooks/recreate-hook.ts), or
 * an Argo Rollouts AnalysisRun (canary-analysis), whose health decides the hook (argocd-sync.ts analysisRunOutcome). */
type HookBehaviour =
  | {
      kind: 'job';
      job: HookJob;
      /** recreate: delete every pod not on the StatefulSet's update revision when the Job starts. */
      deletesStalePods: boolean;
      /** Ordinals below this keep the previous release (smoke's SMOKE_PARTITION): no version check. */
      partition: number;
    }
  | { kind: 'analysis'; manifest: K8sObject };

type Mark = (kind: MarkerKind, label: string) => void;

export function hookBehaviours(objects: readonly K8sObject[]): Record<string, HookBehaviour> {
  const jobs = hookJobs(objects);
  const out: Record<string, HookBehaviour> = {};
  for (const o of objects) {
    if (o.metadata?.annotations?.['argocd.argoproj.io/hook'] === undefined) continue;
    const name = o.metadata.name ?? '';
    if (o.kind === 'AnalysisRun') {
      out[name] = { kind: 'analysis', manifest: o };
      continue;
    }
    const job = jobs[name];
    if (!job) throw new Error(`hook ${o.kind}/${name}: the Argo CD rehearsal models hook Jobs and AnalysisRuns only`);
    const text = JSON.stringify(o);
    const podSpec = ((o['spec'] as { template?: { spec?: { containers?: { env?: { name?: string; value?: string }[] }[] } } } | undefined)?.template?.spec) ?? {};
    const env = (key: string) => (podSpec.containers ?? []).flatMap((c) => c.env ?? []).find((e) => e.name === key)?.value;
    // hookJobs already takes the smaller of the Job's deadline and the command's own timeout.
    if (text.includes('recreate-hook')) out[name] = { kind: 'job', job, deletesStalePods: true, partition: 0 };
    else if (text.includes('smoke')) out[name] = { kind: 'job', job, deletesStalePods: false, partition: Number(env('SMOKE_PARTITION') ?? 0) };
    else throw new Error(`hook Job ${name}: the Argo CD rehearsal does not know what its command does`);
  }
  return out;
}

async function renderedOverlay(overlay: string): Promise<readonly K8sObject[]> {
  const renderer = findRenderer();
  if (!renderer) throw new Error(noRendererMessage);
  return (await render(renderer, path.join('kustomize', 'overlays', overlay), repoRoot)).objects;
}

/** The bundle's Application (argocd/application rendered): its syncPolicy is what every overlay's sync follows. */
export async function bundleApplication(): Promise<K8sObject> {
  const renderer = findRenderer();
  if (!renderer) throw new Error(noRendererMessage);
  const app = (await render(renderer, 'argocd/application', repoRoot)).objects.find((o) => o.kind === 'Application');
  if (!app) throw new Error('argocd/application renders no Application');
  return app;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A delivery per run (rehearse.ts makes one for each release) of the plan's overlay through Argo CD. */
export function argocdDelivery(options: ArgoCdDeliveryOptions): (plan: RolloutPlan) => Delivery {
  const horizon = options.horizonSeconds ?? DEFAULT_HORIZON_SECONDS;
  const reconcileMs = options.reconcileMs ?? 50;
  const refreshSeconds = options.refreshSeconds ?? DEFAULT_REFRESH_SECONDS;
  // Rendered once per overlay, not per run, and fetched when the run starts (kustomize takes seconds on a busy machine:
  // the release's sync would otherwise start that much after the commit).
  const rendered = new Map<string, Promise<{ objects: readonly K8sObject[]; app: K8sObject }>>();
  const renderOnce = (overlay: string) => {
    if (!rendered.has(overlay)) {
      rendered.set(overlay, (async () => ({ objects: await (options.objects ?? renderedOverlay)(overlay), app: await (options.application ?? bundleApplication)() }))());
    }
    return rendered.get(overlay)!;
  };
  return (plan) => {
    renderOnce(plan.overlay).catch(() => {}); // a failure surfaces at the first apply
    const clock0 = performance.now();
    const seconds = (at = performance.now()) => (at - clock0) / 1000 / options.timeScale;
    const realMs = (s: number) => clock0 + s * 1000 * options.timeScale;
    let setup: Promise<{ tasks: SyncTask[]; settings: ReturnType<typeof settingsFromApplication>; hooks: Record<string, HookBehaviour> }> | undefined;
    const templates = new Map<string, Template>();
    const passedAt = new Map<string, number>(); // hook name @ start → when its check first passed
    const analyses = new Map<string, AnalysisHandle>(); // AnalysisRun hook name @ start → its run against the pods
    let release: SyncOperation | undefined;
    let current: SyncOperation | undefined;
    let revertPushedAt: number | undefined;
    let revertSyncAt: number | undefined;
    let hang: string | undefined;
    let timer: NodeJS.Timeout | undefined;
    // spec.updateStrategy.rollingUpdate as rendered: the health check reads whether it is set and its partition.
    let rollingUpdate: { partition?: number } | undefined;

    const load = () =>
      (setup ??= (async () => {
        const { objects, app } = await renderOnce(plan.overlay);
        const set = objects.find((o) => o.kind === 'StatefulSet') as { metadata?: { namespace?: string }; spec?: { updateStrategy?: { rollingUpdate?: { partition?: number } } } } | undefined;
        rollingUpdate = set?.spec?.updateStrategy?.rollingUpdate;
        // Every task of a release's sync: the overlay's own and what the Application's sync options add (the namespace
        // exists by then: the launch synced it).
        return { tasks: syncTasksOf(objects, applicationSyncSpec(app, set?.metadata?.namespace), { namespaceExists: true }), settings: settingsFromApplication(app, options.syncTimeoutSeconds ?? 0), hooks: hookBehaviours(objects) };
      })());

    const status = (cluster: ClusterControl): StatefulSetStatus => {
      const pods = cluster.pods();
      const { current: currentRevision, update: updateRevision } = cluster.revisions();
      const live = pods.filter((p) => p !== undefined && !p.terminating);
      return {
        generation: 1,
        observedGeneration: 1,
        replicas: plan.replicas,
        readyReplicas: live.filter((p) => p!.ready).length,
        updatedReplicas: live.filter((p) => p!.revision === updateRevision).length,
        currentRevision,
        updateRevision,
        updateStrategy: plan.update.type,
        ...(plan.update.type === 'RollingUpdate' && rollingUpdate !== undefined
          ? { rollingUpdateSet: true, ...(typeof rollingUpdate.partition === 'number' ? { partition: rollingUpdate.partition } : {}) }
          : {}),
      };
    };

    // The smoke check and the recreate command both pass once every replica is Ready and, from the partition up,
    // runs the revision being synced (the version the image reports).
    const checkPasses = (cluster: ClusterControl, revision: string, partition: number) =>
      cluster.pods().every((p, ordinal) => p !== undefined && !p.terminating && p.ready && (ordinal < partition || p.revision === revision));

    const react = (op: SyncOperation, events: OperationEvent[], cluster: ClusterControl, hooks: Record<string, HookBehaviour>, mark: Mark) => {
      const version = templates.get(op.revision)?.version ?? op.revision;
      for (const e of events) {
        const hook = e.tasks?.[0]?.name ?? '';
        switch (e.kind) {
          case 'wave-started':
            // The StatefulSet is applied before the wave's hooks (kindOrder): the new template first.
            if (e.tasks?.some((t) => t.kind === 'StatefulSet')) void cluster.setTemplate(templates.get(op.revision)!);
            break;
          case 'hook-started': {
            mark('sync', `hook ${hook} started (${e.detail.split(' ')[0]})`);
            const behaviour = hooks[hook];
            if (behaviour?.kind === 'analysis') {
              // A fresh AnalysisRun per attempt (BeforeHookCreation), judged against the pods as they are.
              if (!cluster.analysisRun) throw new Error(`hook AnalysisRun/${hook}: this cluster cannot run an analysis`);
              analyses.set(`${hook}@${e.at}`, cluster.analysisRun(behaviour.manifest, version));
            }
            if (behaviour?.kind === 'job' && behaviour.deletesStalePods) {
              const update = cluster.revisions().update;
              const stale = cluster.pods().flatMap((p, ordinal) => (p && !p.terminating && p.revision !== update ? [ordinal] : []));
              for (const ordinal of stale) void cluster.deletePod(ordinal);
              // With no stale pod the command returns at once, without waiting for Ready (src/hooks/recreate-hook.ts
              // recreate: "nothing to recreate"): seen on the real Argo CD, whose retries of a crash release ran the
              // recreate hook to Succeeded in seconds while the smoke hook failed at its deadline.
              if (stale.length === 0) passedAt.set(`${hook}@${e.at}`, e.at);
            }
            break;
          }
          case 'hook-succeeded':
          case 'hook-failed':
          {
            const behaviour = hooks[hook];
            const why = behaviour?.kind === 'job' ? `deadline ${behaviour.job.deadlineSeconds} s` : 'analysis';
            mark('sync', `hook ${hook} ${e.kind === 'hook-succeeded' ? 'Succeeded' : `Failed (${why})`}`);
            for (const [key, run] of analyses) if (key.startsWith(`${hook}@`)) void run.stop();
          }
            break;
          case 'retry-scheduled':
            mark('sync', `sync of ${version}: ${e.detail}`);
            break;
          case 'retry-started':
            mark('sync', `sync of ${version}: retry, ${e.detail}`);
            break;
          case 'operation-succeeded':
            mark('sync', `sync of ${version} Succeeded`);
            break;
          case 'operation-failed':
            mark('sync', `sync of ${version} Failed: ${op.message}`);
            break;
          case 'terminated':
            mark('sync', `sync of ${version} terminated: ${e.detail}`);
            break;
        }
      }
    };

    const reconcile = (op: SyncOperation, cluster: ClusterControl, hooks: Record<string, HookBehaviour>, mark: Mark) => {
      const now = seconds();
      for (const { task, startedAt } of op.runningHooks()) {
        const key = `${task.name}@${startedAt}`;
        const behaviour = hooks[task.name]!;
        if (behaviour.kind === 'job' && !passedAt.has(key) && checkPasses(cluster, op.revision, behaviour.partition)) passedAt.set(key, now);
      }
      const events = op.step(now, {
        statefulSet: status(cluster),
        hook: (task, startedAt) => {
          const behaviour = hooks[task.name]!;
          if (behaviour.kind === 'analysis') return analysisRunOutcome(analyses.get(`${task.name}@${startedAt}`)?.phase());
          return jobOutcome(behaviour.job, startedAt, now, passedAt.get(`${task.name}@${startedAt}`));
        },
      });
      react(op, events, cluster, hooks, mark);
    };

    const start = async (template: Template, cluster: ClusterControl, mark: Mark) => {
      const { tasks, settings, hooks } = await load();
      current = new SyncOperation(tasks, settings, template.revision, seconds());
      release ??= current;
      mark('sync', `automated sync of ${template.version} started`);
      const op = current;
      reconcile(op, cluster, hooks, mark); // the first reconcile applies the first wave at once
      clearInterval(timer);
      timer = setInterval(() => reconcile(op, cluster, hooks, mark), reconcileMs);
      timer.unref();
    };

    return {
      name: 'Argo CD automated sync (hooks, waves and retry of the rendered bundle)',
      async apply(template, cluster, mark) {
        templates.set(template.revision, template);
        const pushedAt = seconds();
        if (refreshSeconds > 0) {
          // The commit waits for the Application's next refresh before any sync can see it.
          mark('sync', `commit ${template.version} pushed; Argo CD notices it at its next refresh (${refreshSeconds} s)`);
          await sleep(refreshSeconds * 1000 * options.timeScale);
        }
        const running = current;
        if (running && !running.over) {
          // A newer commit while an operation runs: autoSync skips it until the operation is over.
          revertPushedAt = pushedAt;
          running.newerCommit(template.revision);
          mark('sync', `commit ${template.version} pushed; auto-sync waits: another operation is in progress (argo-cd#17314)`);
          while (!running.over && running.revision !== template.revision) {
            if (seconds() - running.startedAt > horizon) {
              hang = `the sync of ${templates.get(running.revision)?.version ?? running.revision} was still Running ${horizon} s after it started (${running.message}); the revert never synced`;
              mark('sync', `hang: ${hang}`);
              return;
            }
            await sleep(reconcileMs);
          }
          revertSyncAt = seconds();
          // retry.refresh: the running operation took the new revision at its retry; no new operation.
          if (running.revision === template.revision) {
            mark('sync', `revert sync started (retry with the latest revision)`);
            return;
          }
          mark('sync', 'revert sync started');
        } else if (running) {
          revertPushedAt = pushedAt;
          revertSyncAt = seconds();
          mark('sync', 'revert sync started');
        }
        await start(template, cluster, mark);
      },
      summary(originMs) {
        if (!release) return null;
        const onRun = (s: number | undefined | null) => (s === undefined || s === null ? null : Math.round(realMs(s) - originMs));
        const attempts = 1 + release.events.filter((e) => e.kind === 'retry-started').length;
        return {
          phase: release.phase,
          message: hang ?? release.message,
          startedMs: onRun(release.startedAt)!,
          endedMs: onRun(release.endedAt),
          attempts,
          revertPushedMs: onRun(revertPushedAt),
          revertSyncStartedMs: onRun(revertSyncAt),
          hang: hang !== undefined,
          refreshSeconds,
        } satisfies SyncFigures;
      },
      close() {
        clearInterval(timer);
        for (const run of analyses.values()) void run.stop();
      },
    };
  };
}
