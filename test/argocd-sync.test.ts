// Unit tests of rehearsal/model/argocd-sync.ts, rule by rule with the Argo CD source each comes from, then whole
// operations: the old bundle (PostSync smoke hook) hangs on a crash-looping release and blocks the revert; the new one
// (Sync-phase hooks in one wave) ends by itself and lets the revert sync; an AnalysisRun hook ends by its health.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { requiredVersion } from '../cluster/go-mod.ts';
import {
  DEFAULT_ARGOCD_VERSION,
  retryFindsFailedResults,
  analysisRunHealth,
  analysisRunOutcome,
  hookDeletePolicies,
  hookJobs,
  hookOutcome,
  leavesHooksForRetry,
  retryDelaySeconds,
  isMultiStep,
  jobOutcome,
  runSync,
  settingsFromApplication,
  sortTasks,
  statefulSetHealth,
  syncTasksOf,
  multiStepSyncs,
  namespaceTask,
  pruneTasks,
  commandTimeoutSeconds,
  tasksFromObjects,
  type AnalysisRunPhase,
  type ClusterView,
  type HealthStatus,
  type StatefulSetStatus,
  type SyncSettings,
  type SyncTask,
  applicationSyncSpec,
} from '../rehearsal/model/argocd-sync.ts';
import type { K8sObject } from '../bundle/types.ts';
import { analysisHook } from '../testing/support/analysis-hook.ts';

const sts = (over: Partial<StatefulSetStatus> = {}): StatefulSetStatus => ({
  generation: 2,
  observedGeneration: 2,
  replicas: 3,
  readyReplicas: 3,
  updatedReplicas: 3,
  currentRevision: 'r2',
  updateRevision: 'r2',
  updateStrategy: 'RollingUpdate',
  ...over,
});

describe('StatefulSet health (gitops-engine pkg/health/health_statefulset.go, getAppsv1StatefulSetHealth)', () => {
  test('Progressing until the controller observed the generation', () => {
    assert.equal(statefulSetHealth(sts({ observedGeneration: 1 })).status, 'Progressing');
  });
  test('Progressing while readyReplicas < replicas, never Degraded (argo-cd#6527), even for a crash loop', () => {
    assert.equal(statefulSetHealth(sts({ readyReplicas: 2 })).status, 'Progressing');
    assert.equal(statefulSetHealth(sts({ readyReplicas: 0, updateStrategy: 'OnDelete' })).status, 'Progressing');
  });
  test('OnDelete: Healthy once all replicas are ready, whatever revision they run (gitops-engine#136)', () => {
    assert.equal(statefulSetHealth(sts({ updateStrategy: 'OnDelete', currentRevision: 'r1', updatedReplicas: 0 })).status, 'Healthy');
  });
  test('RollingUpdate with a partition: Healthy once replicas - partition pods are updated', () => {
    assert.equal(statefulSetHealth(sts({ partition: 2, updatedReplicas: 0, currentRevision: 'r1' })).status, 'Progressing');
    assert.equal(statefulSetHealth(sts({ partition: 2, updatedReplicas: 1, currentRevision: 'r1' })).status, 'Healthy');
  });
  test('RollingUpdate without rollingUpdate: Progressing until currentRevision = updateRevision', () => {
    assert.equal(statefulSetHealth(sts({ currentRevision: 'r1' })).status, 'Progressing');
    assert.equal(statefulSetHealth(sts()).status, 'Healthy');
  });
});

const obj = (kind: string, name: string, annotations?: Record<string, string>): K8sObject => ({ apiVersion: 'v1', kind, metadata: { name, ...(annotations ? { annotations } : {}) } });
const resources = [obj('ServiceAccount', 'rollcall'), obj('Service', 'rollcall'), obj('Service', 'rollcall-headless'), obj('PodDisruptionBudget', 'rollcall'), obj('StatefulSet', 'rollcall')];
const hook = (name: string, phase: string, wave: string) => obj('Job', name, { 'argocd.argoproj.io/hook': phase, 'argocd.argoproj.io/sync-wave': wave });

describe('tasks (gitops-engine pkg/sync/sync_tasks.go: syncPhaseOrder, kindOrder, Less, multiStep)', () => {
  test('order: phase, wave, kind (StatefulSet before Job in the same wave), name', () => {
    const tasks = tasksFromObjects([hook('rollcall-smoke', 'Sync', '0'), ...resources, hook('pre', 'PreSync', '5')]);
    assert.deepEqual(
      tasks.map((t) => `${t.phase}/${t.wave}/${t.kind}/${t.name}`),
      ['PreSync/5/Job/pre', 'Sync/0/PodDisruptionBudget/rollcall', 'Sync/0/ServiceAccount/rollcall', 'Sync/0/Service/rollcall', 'Sync/0/Service/rollcall-headless', 'Sync/0/StatefulSet/rollcall', 'Sync/0/Job/rollcall-smoke'],
    );
  });
  test('one phase and one wave is single-step; a PreSync, PostSync or SyncFail hook or a second wave makes it multi-step', () => {
    assert.equal(isMultiStep(tasksFromObjects([...resources, hook('smoke', 'Sync', '0')])), false);
    assert.equal(isMultiStep(tasksFromObjects([...resources, hook('smoke', 'PostSync', '0')])), true);
    assert.equal(isMultiStep(tasksFromObjects([...resources, hook('diag', 'SyncFail', '0')])), true);
    assert.equal(isMultiStep(tasksFromObjects([...resources, hook('pre', 'PreSync', '0')])), true);
    assert.equal(isMultiStep(tasksFromObjects([...resources, hook('late', 'Sync', '1')])), true);
  });
  test('a hook naming two phases is a task in each; Skip is not a task', () => {
    const t = tasksFromObjects([hook('both', 'PreSync,PostSync', '0'), hook('skip', 'Skip', '0')]);
    assert.deepEqual(t.map((x) => x.phase), ['PreSync', 'PostSync']);
  });
});

test('settings from an Application: retry, backoff durations, automated; the sync timeout is the controller\'s', () => {
  const s = settingsFromApplication({ spec: { syncPolicy: { automated: {}, retry: { limit: 2, backoff: { duration: '10s', factor: 2, maxDuration: '1m' } } } } }, 600);
  assert.deepEqual(s, { syncTimeoutSeconds: 600, automated: true, retry: { limit: 2, durationSeconds: 10, factor: 2, maxDurationSeconds: 60, refresh: false } });
  // autoSync's default when the Application has no retry block: Retry{Limit: 5} (controller/appcontroller.go).
  // controller/appcontroller.go autoSync and processRequestedAppOperation, one case each.
  assert.equal(settingsFromApplication({ spec: { syncPolicy: { automated: {} } } }, 0).retry.limit, 5, 'no retry block: 5');
  assert.equal(settingsFromApplication({ spec: { syncPolicy: { automated: {}, retry: { backoff: { duration: '5s' } } } } }, 0).retry.limit, 0, 'a block without limit: 0');
  assert.equal(settingsFromApplication({ spec: { syncPolicy: { automated: {}, retry: { limit: -1 } } } }, 0).retry.limit, Infinity, 'a negative limit: forever');
});

// ---- whole operations ----

const noRetry: SyncSettings = { syncTimeoutSeconds: 0, automated: true, retry: { limit: 0, durationSeconds: 10, factor: 2, maxDurationSeconds: 60, refresh: false } };
/** A release that crash-loops: the first replaced pod never becomes ready (OrderedReady rolling update stalls). */
const crashLooping = (strategy: 'RollingUpdate' | 'OnDelete' = 'RollingUpdate'): ClusterView['statefulSet'] => () =>
  sts({ readyReplicas: 2, updatedReplicas: 1, currentRevision: 'r1', updateRevision: 'r2', updateStrategy: strategy, ...(strategy === 'RollingUpdate' ? { partition: 0 } : {}) });
/** A hook Job that waits for the rollout and gives up at its deadline (activeDeadlineSeconds). */
const hookUntil = (deadline: number, succeedsAt?: number) => (_name: string, _rev: string, startedAt: number, now: number) =>
  succeedsAt !== undefined && now >= Math.max(startedAt, succeedsAt) ? ('Succeeded' as const) : now - startedAt >= deadline ? ('Failed' as const) : ('Running' as const);

const oldBundle = tasksFromObjects([...resources, hook('rollcall-smoke', 'PostSync', '10')]);
const newBundle = tasksFromObjects([...resources, hook('rollcall-smoke', 'Sync', '0')]);

describe('the old bundle: a PostSync smoke hook hangs on a crash-looping release', () => {
  test('no sync timeout: PostSync never starts, the operation is Running forever, the revert never syncs', () => {
    const run = runSync({
      tasks: oldBundle,
      settings: noRetry,
      cluster: { statefulSet: crashLooping(), hook: hookUntil(300) },
      revision: 'bad',
      newerRevision: { revision: 'revert', at: 120 },
      horizonSeconds: 24 * 3600,
    });
    assert.equal(run.phase, 'Running');
    assert.equal(run.endedAt, null);
    assert.equal(run.newerRevisionSyncStartedAt, null);
    assert.ok(!run.events.some((e) => e.what === 'hook-started'), 'the PostSync hook must never start');
  });
  test('recreate: after terminate-op and the revert, the PostSync recreate hook is gated on Healthy and OnDelete never replaces the crashing pods', () => {
    const tasks = tasksFromObjects([...resources, hook('rollcall-recreate', 'PostSync', '0'), hook('rollcall-smoke', 'PostSync', '10')]);
    // The revert's own sync: the template is good again, but OnDelete left the broken pods in place.
    const run = runSync({ tasks, settings: noRetry, cluster: { statefulSet: crashLooping('OnDelete'), hook: hookUntil(360) }, revision: 'revert', horizonSeconds: 24 * 3600 });
    assert.equal(run.phase, 'Running');
    assert.ok(!run.events.some((e) => e.what === 'hook-started'));
  });
  test('with controller.sync.timeout.seconds = 600 the same sync is terminated and the revert syncs', () => {
    const run = runSync({ tasks: oldBundle, settings: { ...noRetry, syncTimeoutSeconds: 600 }, cluster: { statefulSet: crashLooping(), hook: hookUntil(300) }, revision: 'bad', newerRevision: { revision: 'revert', at: 120 }, horizonSeconds: 3600 });
    assert.equal(run.phase, 'Failed');
    assert.match(run.message, /controller sync timeout/);
    assert.ok(run.endedAt! > 600 && run.endedAt! <= 610);
    assert.equal(run.newerRevisionSyncStartedAt, run.endedAt);
  });
});

describe('the new bundle: Sync-phase hooks in the StatefulSet\'s wave end the operation by themselves', () => {
  test('crash: the smoke hook fails at its deadline and the operation fails without waiting for health', () => {
    const run = runSync({ tasks: newBundle, settings: noRetry, cluster: { statefulSet: crashLooping(), hook: hookUntil(360) }, revision: 'bad', newerRevision: { revision: 'revert', at: 120 }, horizonSeconds: 24 * 3600 });
    assert.equal(run.phase, 'Failed');
    assert.equal(run.endedAt, 360);
    assert.equal(run.newerRevisionSyncStartedAt, 360);
    assert.deepEqual(run.events.filter((e) => e.what === 'hook-started').map((e) => e.at), [0]);
  });
  test('v3.2.11: retries keep the operation Running, but bounded: 2 retries = 2 hook deadlines plus backoff; the middle attempt fails at once', () => {
    // What Argo CD v3.2.11 did with the bundle's retry (limit 2, 10 s × 2) on a crash release (docs/argocd-local.md):
    // attempt 1 failed on its smoke hook; the first retry started ~20 s later (not 10: retryDelaySeconds) and failed
    // 4 s after it started, on attempt 1's stored results, while deleting attempt 1's hooks; the second retry started
    // ~40 s after that and ran its smoke hook in full; then Failed "(retried 2 times)".
    const settings = { ...noRetry, retry: { ...noRetry.retry, limit: 2 }, argocdVersion: '3.2.11' };
    const run = runSync({ tasks: newBundle, settings, cluster: { statefulSet: crashLooping(), hook: hookUntil(360) }, revision: 'bad', newerRevision: { revision: 'revert', at: 120 }, horizonSeconds: 24 * 3600 });
    assert.equal(run.phase, 'Failed');
    const at = (what: string) => run.events.filter((e) => e.what === what).map((e) => e.at);
    assert.deepEqual(at('retry-scheduled'), [360, 385]);
    assert.deepEqual(at('retry-started'), [380, 425]);
    assert.deepEqual(at('hook-started'), [0, 425], 'the smoke hook ran in attempts 1 and 3 only');
    assert.match(run.events.find((e) => e.what === 'retry-scheduled' && e.at === 385)!.detail, /previous attempt's results/);
    assert.equal(run.endedAt, 425 + 360);
    assert.equal(run.newerRevisionSyncStartedAt, run.endedAt);
  });
  test('v3.6.2 (the default): every retry runs in full, 3 whole hook deadlines plus backoff', () => {
    // What Argo CD v3.6.2 did with the bundle's retry (limit 2, 10 s × 2) on a crash release, rolling and recreate
    // alike (docs/argocd-local.md, 2026-12-04): attempt 1 Failed at 99 s (the smoke check), "Retrying operation.
    // Attempt #1" 19 s later, whose hook ran its whole check and failed 95 s after it started; attempt 2 started 39 s
    // later and ran in full too; Failed "(retried 2 times)" at 352 s.
    const settings = { ...noRetry, retry: { ...noRetry.retry, limit: 2 } };
    const run = runSync({ tasks: newBundle, settings, cluster: { statefulSet: crashLooping(), hook: hookUntil(360) }, revision: 'bad', newerRevision: { revision: 'revert', at: 120 }, horizonSeconds: 24 * 3600 });
    const at = (what: string) => run.events.filter((e) => e.what === what).map((e) => e.at);
    assert.equal(run.phase, 'Failed');
    assert.deepEqual(at('hook-started'), [0, 380, 380 + 360 + 40], 'the smoke hook ran in every attempt');
    assert.equal(run.endedAt, 380 + 360 + 40 + 360);
    assert.ok(!run.events.some((e) => /previous attempt's results/.test(e.detail)));
    assert.equal(run.newerRevisionSyncStartedAt, run.endedAt);
  });
  test('which releases keep the failed attempt\'s results for its retry: before v3.6.0 (argo-cd#28778)', () => {
    assert.equal(DEFAULT_ARGOCD_VERSION, requiredVersion(readFileSync(path.join(import.meta.dirname, '../cluster/go.mod'), 'utf8'), 'github.com/argoproj/argo-cd/v3').replace(/^v/, ''));
    for (const v of ['2.14.9', '3.2.11', 'v3.5.1']) assert.equal(retryFindsFailedResults(v), true, v);
    for (const v of ['3.6.0', 'v3.6.2', '4.0.0']) assert.equal(retryFindsFailedResults(v), false, v);
    assert.throws(() => retryFindsFailedResults('latest'), /expected major\.minor\.patch/);
  });
  test('a hook deleted when it fails (HookFailed) leaves nothing for the retry: every attempt runs in full', () => {
    const tasks = newBundle.map((t) => (t.hook ? { ...t, deletePolicies: ['BeforeHookCreation', 'HookFailed'] } : t));
    const run = runSync({ tasks, settings: { ...noRetry, retry: { ...noRetry.retry, limit: 2 } }, cluster: { statefulSet: crashLooping(), hook: hookUntil(360) }, revision: 'bad', horizonSeconds: 24 * 3600 });
    assert.deepEqual(run.events.filter((e) => e.what === 'hook-started').map((e) => e.at), [0, 380, 380 + 360 + 40]);
    assert.equal(run.endedAt, 380 + 360 + 40 + 360);
  });
  test('hook delete policies: read from the annotation; none named means BeforeHookCreation', () => {
    const [job] = tasksFromObjects([obj('Job', 'rollcall-smoke', { 'argocd.argoproj.io/hook': 'Sync', 'argocd.argoproj.io/hook-delete-policy': 'BeforeHookCreation, HookSucceeded' })]);
    assert.deepEqual(hookDeletePolicies(job!), ['BeforeHookCreation', 'HookSucceeded']);
    const [bare] = tasksFromObjects([hook('rollcall-smoke', 'Sync', '0')]);
    assert.deepEqual(hookDeletePolicies(bare!), ['BeforeHookCreation']);
    assert.equal(leavesHooksForRetry([job!]), true);
    assert.equal(leavesHooksForRetry([{ ...job!, deletePolicies: ['HookFailed'] }]), false);
    assert.equal(leavesHooksForRetry([]), false);
  });
  test('retry delays: duration × factor^n for retry n (first retry 20 s for 10 s × 2), capped at maxDuration', () => {
    const r = { limit: 5, durationSeconds: 10, factor: 2, maxDurationSeconds: 60, refresh: false };
    assert.deepEqual([1, 2, 3, 4].map((n) => retryDelaySeconds(r, n)), [20, 40, 60, 60]);
  });
  test('retry.refresh (Argo CD >= 3.2), v3.2.11: the first retry after the revert landed syncs the revert', () => {
    const settings = { ...noRetry, retry: { ...noRetry.retry, limit: 2, refresh: true }, argocdVersion: '3.2.11' };
    const statefulSet = (now: number, rev: string) => (rev === 'revert' ? sts() : crashLooping()(now, rev));
    const run = runSync({ tasks: newBundle, settings, cluster: { statefulSet, hook: (n, rev, s, now) => (rev === 'revert' ? 'Succeeded' : hookUntil(360)(n, rev, s, now)) }, revision: 'bad', newerRevision: { revision: 'revert', at: 120 }, horizonSeconds: 3600 });
    // The first retry (20 s after the failure at 360) takes the revert, and fails at once on the failed attempt's
    // stored results; the second (40 s later) syncs the revert in full.
    assert.equal(run.newerRevisionSyncStartedAt, 380);
    assert.equal(run.phase, 'Succeeded');
    assert.equal(run.endedAt, 430, "the revert's smoke hook passes at the next reconcile");
  });
  test('retry.refresh, v3.6.2: the first retry takes the revert and syncs it in full at once', () => {
    const settings = { ...noRetry, retry: { ...noRetry.retry, limit: 2, refresh: true } };
    const statefulSet = (now: number, rev: string) => (rev === 'revert' ? sts() : crashLooping()(now, rev));
    const run = runSync({ tasks: newBundle, settings, cluster: { statefulSet, hook: (n, rev, s, now) => (rev === 'revert' ? 'Succeeded' : hookUntil(360)(n, rev, s, now)) }, revision: 'bad', newerRevision: { revision: 'revert', at: 120 }, horizonSeconds: 3600 });
    assert.equal(run.newerRevisionSyncStartedAt, 380);
    assert.equal(run.phase, 'Succeeded');
    assert.ok(run.endedAt !== null && run.endedAt < 430, `no attempt lost on stale results: ended at ${run.endedAt}`);
  });
  test('recreate revert: the Sync-phase recreate hook starts at once, although the StatefulSet is not Healthy', () => {
    const tasks = tasksFromObjects([...resources, hook('rollcall-recreate', 'Sync', '0'), hook('rollcall-smoke', 'Sync', '0')]);
    const run = runSync({ tasks, settings: noRetry, cluster: { statefulSet: crashLooping('OnDelete'), hook: hookUntil(360, 90) }, revision: 'revert', horizonSeconds: 3600 });
    assert.deepEqual(run.events.filter((e) => e.what === 'hook-started').map((e) => [e.at, e.detail]), [
      [0, 'Sync/0 Job/rollcall-recreate'],
      [0, 'Sync/0 Job/rollcall-smoke'],
    ]);
    assert.equal(run.phase, 'Succeeded');
    assert.equal(run.endedAt, 90);
  });
  test('ready but failing: the operation ends either way (smoke passes: Succeeded; smoke fails: Failed)', () => {
    const healthy = () => sts();
    assert.equal(runSync({ tasks: newBundle, settings: noRetry, cluster: { statefulSet: healthy, hook: hookUntil(360, 30) }, revision: 'bad', horizonSeconds: 3600 }).endedAt, 30);
    assert.equal(runSync({ tasks: newBundle, settings: noRetry, cluster: { statefulSet: healthy, hook: hookUntil(360) }, revision: 'bad', horizonSeconds: 3600 }).phase, 'Failed');
  });
  test('without hooks in the last wave, resources are not awaited at all (argo-cd PR #1727)', () => {
    const run = runSync({ tasks: tasksFromObjects(resources), settings: noRetry, cluster: { statefulSet: crashLooping(), hook: hookUntil(1) }, revision: 'bad', horizonSeconds: 60 });
    assert.deepEqual([run.phase, run.endedAt], ['Succeeded', 0]);
  });
});

describe('why the bundle has no PreSync or SyncFail hook', () => {
  for (const [phase, wave] of [['PreSync', '0'], ['SyncFail', '0']] as const) {
    test(`a ${phase} hook makes the sync multi-step: the failed smoke hook no longer ends it, the unhealthy StatefulSet holds it Running`, () => {
      const tasks = tasksFromObjects([...resources, hook('rollcall-smoke', 'Sync', '0'), hook(`x-${phase}`, phase, wave)]);
      const run = runSync({ tasks, settings: noRetry, cluster: { statefulSet: crashLooping(), hook: (n, r, s, now) => (n.startsWith('x-') ? 'Succeeded' : hookUntil(360)(n, r, s, now)) }, revision: 'bad', horizonSeconds: 24 * 3600 });
      assert.equal(run.phase, 'Running');
      const bounded = runSync({ tasks, settings: { ...noRetry, syncTimeoutSeconds: 900 }, cluster: { statefulSet: crashLooping(), hook: (n, r, s, now) => (n.startsWith('x-') ? 'Succeeded' : hookUntil(360)(n, r, s, now)) }, revision: 'bad', horizonSeconds: 3600 });
      assert.equal(bounded.phase, 'Failed');
    });
  }
});

test('sortTasks is stable for equal keys and does not mutate its input', () => {
  const input: SyncTask[] = [{ kind: 'Job', name: 'b', phase: 'Sync', wave: 0, hook: true }, { kind: 'Job', name: 'a', phase: 'Sync', wave: 0, hook: true }];
  assert.deepEqual(sortTasks(input).map((t) => t.name), ['a', 'b']);
  assert.deepEqual(input.map((t) => t.name), ['b', 'a']);
});

test('hook Jobs from rendered objects, and their outcome by deadline (what the rehearsal plugs in)', () => {
  const job = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'rollcall-smoke', annotations: { 'argocd.argoproj.io/hook': 'Sync' } }, spec: { activeDeadlineSeconds: 360, backoffLimit: 0 } };
  const jobs = hookJobs([job, obj('StatefulSet', 'rollcall'), { ...job, metadata: { name: 'plain' } }]);
  assert.deepEqual(jobs, { 'rollcall-smoke': { deadlineSeconds: 360, backoffLimit: 0 } });
  const smoke = jobs['rollcall-smoke']!;
  assert.equal(jobOutcome(smoke, 0, 100, 90), 'Succeeded');
  assert.equal(jobOutcome(smoke, 0, 100, undefined), 'Running');
  assert.equal(jobOutcome(smoke, 0, 360, undefined), 'Failed');
  assert.equal(jobOutcome(smoke, 0, 500, 400), 'Failed', 'passing after the deadline is too late');
  assert.equal(jobOutcome({ deadlineSeconds: undefined, backoffLimit: 6 }, 0, 1e6, undefined), 'Running', 'no deadline: forever');
});

describe('a hook that is not a Job ends by its health (sync_context.go getOperationPhase; AnalysisRun/health.lua)', () => {
  const outcomes: [HealthStatus | undefined, string][] = [['Healthy', 'Succeeded'], ['Degraded', 'Failed'], ['Unknown', 'Failed'], ['Progressing', 'Running'], ['Suspended', 'Running'], [undefined, 'Succeeded']];
  for (const [health, want] of outcomes) test(`health ${String(health)} -> ${want}`, () => assert.equal(hookOutcome(health), want));
  const phases: [AnalysisRunPhase | undefined, HealthStatus, string][] = [
    ['Successful', 'Healthy', 'Succeeded'], ['Failed', 'Degraded', 'Failed'], ['Error', 'Degraded', 'Failed'],
    ['Inconclusive', 'Unknown', 'Failed'], ['Running', 'Progressing', 'Running'], ['Pending', 'Progressing', 'Running'], [undefined, 'Progressing', 'Running'],
  ];
  for (const [phase, health, outcome] of phases) {
    test(`AnalysisRun ${String(phase)}: ${health}, so the hook is ${outcome}`, () => {
      assert.equal(analysisRunHealth(phase), health);
      assert.equal(analysisRunOutcome(phase), outcome);
    });
  }
});

describe('canary-analysis: an AnalysisRun hook beside the smoke Job, both Sync/0', () => {
  const tasks = tasksFromObjects([...resources, hook('rollcall-smoke', 'Sync', '0'), { ...hook('rollcall-canary', 'Sync', '0'), kind: 'AnalysisRun' }]);
  /** The smoke Job passes at `smokeAt`; the AnalysisRun is Running until `at`, then `phase`. */
  const cluster = (smokeAt: number | undefined, analysis: (rev: string) => { at: number; phase: AnalysisRunPhase }): ClusterView => ({
    statefulSet: () => sts({ partition: 2, updatedReplicas: 1 }),
    hook: (name, rev, startedAt, now) => {
      if (name === 'rollcall-smoke') return hookUntil(360, smokeAt)(name, rev, startedAt, now);
      const a = analysis(rev);
      return analysisRunOutcome(now - startedAt >= a.at ? a.phase : 'Running');
    },
  });
  test('still single-step: the AnalysisRun is one more hook of the same phase and wave, applied after the StatefulSet', () => {
    assert.equal(isMultiStep(tasks), false);
    assert.deepEqual(tasks.slice(-3).map((x) => x.kind), ['StatefulSet', 'Job', 'AnalysisRun']);
  });
  test('a failing analysis ends the sync Failed (once the smoke Job is done), and the revert then syncs and passes', () => {
    const run = runSync({ tasks, settings: noRetry, cluster: cluster(30, () => ({ at: 20, phase: 'Failed' })), revision: 'bad', newerRevision: { revision: 'revert', at: 60 }, horizonSeconds: 3600 });
    assert.deepEqual([run.phase, run.endedAt], ['Failed', 30]);
    assert.match(run.message, /Sync\/0 AnalysisRun\/rollcall-canary/);
    assert.equal(run.newerRevisionSyncStartedAt, 60);
    // The revert's own sync: the good release passes the analysis.
    const revert = runSync({ tasks, settings: noRetry, cluster: cluster(30, () => ({ at: 60, phase: 'Successful' })), revision: 'revert', horizonSeconds: 3600 });
    assert.deepEqual([revert.phase, revert.endedAt], ['Succeeded', 60]);
  });
  test('a passing analysis ends the sync Succeeded when it ends, not before', () => {
    const run = runSync({ tasks, settings: noRetry, cluster: cluster(30, () => ({ at: 55, phase: 'Successful' })), revision: 'good', horizonSeconds: 3600 });
    assert.deepEqual([run.phase, run.endedAt], ['Succeeded', 55]);
  });
  test('an inconclusive or erroneous analysis fails the sync too', () => {
    for (const phase of ['Inconclusive', 'Error'] as const) {
      assert.equal(runSync({ tasks, settings: noRetry, cluster: cluster(30, () => ({ at: 20, phase })), revision: 'bad', horizonSeconds: 3600 }).phase, 'Failed', phase);
    }
  });
  test('v3.2.11: with retries, a failing analysis ends Failed after retry.limit more attempts; the one between two analyses fails at once', () => {
    // The AnalysisRun hook is BeforeHookCreation only: the failed attempt leaves it, and the next retry fails on the
    // stored results while deleting it (seen on Argo CD v3.2.11: 1 s after "Retrying operation. Attempt #1").
    const run = runSync({ tasks, settings: { ...noRetry, retry: { ...noRetry.retry, limit: 2 }, argocdVersion: '3.2.11' }, cluster: cluster(30, () => ({ at: 20, phase: 'Failed' })), revision: 'bad', horizonSeconds: 3600 });
    assert.equal(run.phase, 'Failed');
    assert.equal(run.events.filter((e) => e.what === 'hook-started' && e.detail.includes('AnalysisRun')).length, 2);
  });
  test('v3.6.2: a failing analysis runs again in every attempt', () => {
    const run = runSync({ tasks, settings: { ...noRetry, retry: { ...noRetry.retry, limit: 2 } }, cluster: cluster(30, () => ({ at: 20, phase: 'Failed' })), revision: 'bad', horizonSeconds: 3600 });
    assert.equal(run.phase, 'Failed');
    assert.equal(run.events.filter((e) => e.what === 'hook-started' && e.detail.includes('AnalysisRun')).length, 3);
  });
  test('the old PostSync analysis on a crash-looping canary never starts, and the operation never ends', () => {
    const old = tasksFromObjects([...resources, hook('rollcall-smoke', 'Sync', '0'), { ...hook('rollcall-canary', 'PostSync', '20'), kind: 'AnalysisRun' }]);
    const crash: ClusterView = { statefulSet: () => sts({ partition: 2, updatedReplicas: 1, readyReplicas: 2 }), hook: (n, r, s, now) => (n === 'rollcall-smoke' ? hookUntil(360)(n, r, s, now) : 'Running') };
    const run = runSync({ tasks: old, settings: noRetry, cluster: crash, revision: 'bad', newerRevision: { revision: 'revert', at: 60 }, horizonSeconds: 24 * 3600 });
    assert.equal(run.phase, 'Running');
    assert.equal(run.newerRevisionSyncStartedAt, null);
  });
});

describe('what Argo CD adds to a sync (one case per rule, each with its source)', () => {
  const ns = (name: string) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }) as K8sObject;
  const app = (syncOptions: string[], extra: Record<string, unknown> = {}) => ({ syncPolicy: { automated: {}, syncOptions, ...extra }, destination: { namespace: 'rollcall-x' } });
  const managed = { managedNamespaceMetadata: { labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } };
  // controller/sync.go SyncAppState: the namespace modifier is passed only with CreateNamespace=true.
  test('no CreateNamespace: no Namespace task, the namespace existing or not', () => {
    assert.equal(namespaceTask(resources, app([]), { namespaceExists: false }), undefined);
    assert.equal(namespaceTask(resources, app([], managed), { namespaceExists: true }), undefined);
  });
  // controller/sync_namespace.go syncNamespace: true when the namespace is new or its metadata is managed.
  test('CreateNamespace, namespace missing: a PreSync Namespace task (the first sync is multi-step)', () => {
    assert.deepEqual(namespaceTask(resources, app(['CreateNamespace=true']), { namespaceExists: false }), { kind: 'Namespace', name: 'rollcall-x', phase: 'PreSync', wave: 0, hook: false });
  });
  test('CreateNamespace, namespace exists, no managedNamespaceMetadata: no task', () => {
    assert.equal(namespaceTask(resources, app(['CreateNamespace=true']), { namespaceExists: true }), undefined);
  });
  test('CreateNamespace with managedNamespaceMetadata: a PreSync Namespace task on every sync', () => {
    assert.equal(namespaceTask(resources, app(['CreateNamespace=true'], managed), { namespaceExists: true })?.phase, 'PreSync');
    assert.equal(isMultiStep(syncTasksOf([...resources, hook('smoke', 'Sync', '0')], app(['CreateNamespace=true'], managed), { namespaceExists: true })), true);
  });
  // gitops-engine pkg/sync/sync_context.go autoCreateNamespace: a target Namespace of the destination's name wins.
  test('a Namespace of the destination\'s name in the bundle: no added task, whatever the options', () => {
    assert.equal(namespaceTask([ns('rollcall-x'), ...resources], app(['CreateNamespace=true'], managed), { namespaceExists: false }), undefined);
    assert.notEqual(namespaceTask([ns('other'), ...resources], app(['CreateNamespace=true'], managed), { namespaceExists: true }), undefined, 'only a Namespace of that name counts');
  });
  // gitops-engine pkg/sync/sync_context.go getSyncTasks: prune waves mirrored; PruneLast puts them after the last wave.
  test('prune without PruneLast: the pruned object keeps its wave (wave 0 stays single-step)', () => {
    assert.deepEqual(pruneTasks(resources, app([]), { namespaceExists: true, pruned: [obj('ConfigMap', 'old')] }), [{ kind: 'ConfigMap', name: 'old', phase: 'Sync', wave: 0, hook: false }]);
    assert.equal(isMultiStep(syncTasksOf(resources, app([]), { namespaceExists: true, pruned: [obj('ConfigMap', 'old')] })), false);
  });
  test('prune waves are mirrored among themselves (the first prune wave deletes last)', () => {
    const pruned = [obj('ConfigMap', 'a', { 'argocd.argoproj.io/sync-wave': '1' }), obj('ConfigMap', 'b', { 'argocd.argoproj.io/sync-wave': '3' })];
    assert.deepEqual(pruneTasks(resources, app([]), { namespaceExists: true, pruned }).map((t) => `${t.name}@${t.wave}`), ['a@3', 'b@1']);
  });
  test('PruneLast=true (Application option or the object\'s own annotation): prune tasks in the last Sync wave + 1', () => {
    assert.deepEqual(pruneTasks(resources, app(['PruneLast=true']), { namespaceExists: true, pruned: [obj('ConfigMap', 'old')] }).map((t) => t.wave), [1]);
    const annotated = obj('ConfigMap', 'old', { 'argocd.argoproj.io/sync-options': 'Prune=true, PruneLast=true' });
    assert.deepEqual(pruneTasks(resources, app([]), { namespaceExists: true, pruned: [annotated] }).map((t) => t.wave), [1]);
    assert.deepEqual(pruneTasks(resources, app(['PruneLast=true']), { namespaceExists: true }), [], 'nothing pruned: no task, single-step');
  });
  test('multiStepSyncs names each multi-step sync of the life and its cause; none for the bundle\'s settings', () => {
    const objects = [ns('rollcall-x'), ...resources, hook('smoke', 'Sync', '0')];
    assert.deepEqual(multiStepSyncs(objects, app(['RespectIgnoreDifferences=true'])), []);
    const old = multiStepSyncs(resources.concat(hook('smoke', 'Sync', '0')), app(['CreateNamespace=true', 'PruneLast=true'], managed));
    assert.deepEqual(old.map((l) => l.split(' is multi-step')[0]), ['the first sync (namespace missing)', 'a release (namespace exists)', 'a release that prunes an object (ServiceAccount)']);
    assert.match(old[2]!, /a PreSync Namespace task \(CreateNamespace=true with managedNamespaceMetadata\); a prune task in wave 1 \(PruneLast=true\)/);
  });
});

test('a hook fails at the smaller of its Job deadline and its command\'s own timeout (src/hooks: SMOKE_TIMEOUT_MS, RECREATE_TIMEOUT_MS)', () => {
  const job = (command: string, env: Record<string, string>, deadline = 360) => ({
    apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j', annotations: { 'argocd.argoproj.io/hook': 'Sync' } },
    spec: { activeDeadlineSeconds: deadline, backoffLimit: 0, template: { spec: { containers: [{ command: ['node', command], env: Object.entries(env).map(([name, value]) => ({ name, value })) }] } } },
  }) as K8sObject;
  assert.equal(commandTimeoutSeconds(job('/app/hooks/smoke.js', { SMOKE_TIMEOUT_MS: '300000' })), 300);
  assert.equal(commandTimeoutSeconds(job('/app/hooks/smoke.js', {})), 120, 'the command\'s default when unset');
  assert.equal(commandTimeoutSeconds(job('/app/hooks/recreate-hook.js', { RECREATE_TIMEOUT_MS: '0' })), undefined, '0 = no timeout of its own');
  assert.deepEqual(hookJobs([job('/app/hooks/smoke.js', { SMOKE_TIMEOUT_MS: '300000' })]), { j: { deadlineSeconds: 300, backoffLimit: 0 } });
  assert.deepEqual(hookJobs([job('/app/hooks/smoke.js', { SMOKE_TIMEOUT_MS: '300000' }, 200)]), { j: { deadlineSeconds: 200, backoffLimit: 0 } });
});

describe('the bundle as rendered (argocd/ entries and every overlay together)', () => {
  const load = async (t: import('node:test').TestContext) => {
    const { renderer, requireRenderer } = await import('../testing/support/renderer.ts');
    if (!requireRenderer(t)) return undefined;
    const { render } = await import('../bundle/render.ts');
    const { repoRoot } = await import('../bundle/schema.ts');
    const { listOverlays } = await import('../bundle/files.ts');
    const { instantiate } = await import('../bundle/argocd.ts');
    const app = (await render(renderer!, 'argocd/application', repoRoot)).objects.find((o) => o.kind === 'Application')!;
    const set = (await render(renderer!, 'argocd/applicationset', repoRoot)).objects.find((o) => o.kind === 'ApplicationSet')!;
    const overlays = await Promise.all(listOverlays(repoRoot).map(async (name) => ({ name, objects: (await render(renderer!, `kustomize/overlays/${name}`, repoRoot)).objects })));
    const template = (name: string) => instantiate((set['spec'] as { template: unknown }).template, { 'path.path': `kustomize/overlays/${name}`, 'path.basename': name }) as K8sObject;
    return { app, template, overlays };
  };
  /** A crash-looping release through the model: every hook fails, the revert is pushed a minute in. */
  const crashRelease = (objects: readonly K8sObject[], tasks: SyncTask[], settings: SyncSettings, onDelete: boolean) => {
    const jobs = hookJobs(objects);
    // A crash-looping canary never answers: every reading of the analysis is an Error.
    const runs = new Map(objects.filter((o) => o.kind === 'AnalysisRun').map((o) => [o.metadata?.name ?? '', analysisHook(o, () => ({ error: 'connect ECONNREFUSED' }))]));
    return runSync({
      tasks,
      settings,
      revision: 'bad',
      newerRevision: { revision: 'revert', at: 60 },
      horizonSeconds: 24 * 3600,
      cluster: { statefulSet: crashLooping(onDelete ? 'OnDelete' : 'RollingUpdate'), hook: (n, _rev, startedAt, now) => (jobs[n] ? jobOutcome(jobs[n], startedAt, now, undefined) : runs.get(n)!(startedAt, now)) },
    });
  };

  test('every sync of every overlay\'s life is single-step, by the Application and by the ApplicationSet', async (t) => {
    const b = await load(t);
    if (!b) return;
    for (const { name, objects } of b.overlays) {
      assert.deepEqual(multiStepSyncs(objects, applicationSyncSpec(b.template(name))), [], `${name} (ApplicationSet)`);
      assert.deepEqual(multiStepSyncs(objects, applicationSyncSpec(b.app, `rollcall-${name}`)), [], `${name} (argocd/application's settings)`);
    }
  });

  test('a crash-looping release of every overlay ends its sync by itself and the revert starts', async (t) => {
    const b = await load(t);
    if (!b) return;
    const settings = settingsFromApplication(b.app, 0); // the bundle's own settings, no controller sync timeout
    for (const { name, objects } of b.overlays) {
      const tasks = syncTasksOf(objects, applicationSyncSpec(b.template(name)), { namespaceExists: true });
      const run = crashRelease(objects, tasks, settings, name === 'recreate');
      assert.equal(run.phase, 'Failed', `${name}: ${run.message}`);
      assert.ok(run.endedAt! <= (settings.retry.limit + 1) * 340, `${name}: ended at ${run.endedAt}`);
      assert.equal(run.newerRevisionSyncStartedAt, run.endedAt, `${name}: the revert syncs as soon as the operation ends`);
    }
  });

  test('the previous settings (CreateNamespace + managedNamespaceMetadata + PruneLast, no Namespace in the bundle) hang every overlay: Running at the horizon, the revert never synced', async (t) => {
    const b = await load(t);
    if (!b) return;
    const previous = { spec: { syncPolicy: { automated: { prune: true, selfHeal: true }, syncOptions: ['CreateNamespace=true', 'PruneLast=true', 'RespectIgnoreDifferences=true'], managedNamespaceMetadata: { labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } }, retry: { limit: 2, backoff: { duration: '10s', factor: 2, maxDuration: '1m' } } } } };
    const settings = settingsFromApplication(previous, 0);
    for (const { name, objects } of b.overlays) {
      const withoutNamespace = objects.filter((o) => o.kind !== 'Namespace');
      const tasks = syncTasksOf(withoutNamespace, applicationSyncSpec(previous, `rollcall-${name}`), { namespaceExists: true });
      assert.equal(isMultiStep(tasks), true, `${name}: the PreSync Namespace task makes the sync multi-step`);
      const run = crashRelease(withoutNamespace, tasks, settings, name === 'recreate');
      assert.equal(run.phase, 'Running', `${name}: still Running at the horizon (${run.message})`);
      assert.equal(run.endedAt, null);
      assert.equal(run.newerRevisionSyncStartedAt, null, `${name}: auto-sync skips the revert while the operation runs`);
    }
  });
});
