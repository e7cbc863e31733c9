// Unit tests of rehearsal/model/argocd-sync.ts, rule by rule with the Argo CD source each comes from, then whole
// operations: the old bundle (PostSync smoke hook) hangs on a crash-looping release and blocks the revert; the new one
// (Sync-phase hooks in one wave) ends by itself and lets the revert sync; an AnalysisRun hook ends by its health.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  analysisRunHealth,
  analysisRunOutcome,
  hookJobs,
  hookOutcome,
  isMultiStep,
  jobOutcome,
  runSync,
  settingsFromApplication,
  sortTasks,
  statefulSetHealth,
  tasksFromObjects,
  type AnalysisRunPhase,
  type ClusterView,
  type HealthStatus,
  type StatefulSetStatus,
  type SyncSettings,
  type SyncTask,
} from '../rehearsal/model/argocd-sync.ts';
import type { K8sObject } from '../bundle/types.ts';
import { dueMeasurements, measure, parseAnalysis, recordMeasurement, runPhase, startRun, type WebResponse } from '../rehearsal/model/argo-rollouts-analysis.ts';

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
  assert.equal(settingsFromApplication({ spec: { syncPolicy: { automated: {} } } }, 0).retry.limit, 5);
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
  test('retries keep the operation Running, but bounded: 2 retries = 3 hook deadlines plus backoff', () => {
    const settings = { ...noRetry, retry: { ...noRetry.retry, limit: 2 } };
    const run = runSync({ tasks: newBundle, settings, cluster: { statefulSet: crashLooping(), hook: hookUntil(360) }, revision: 'bad', newerRevision: { revision: 'revert', at: 120 }, horizonSeconds: 24 * 3600 });
    assert.equal(run.phase, 'Failed');
    assert.equal(run.events.filter((e) => e.what === 'retry-scheduled').length, 2);
    assert.ok(run.endedAt! >= 3 * 360 && run.endedAt! <= 3 * 360 + 10 + 20 + 3 * 5);
    assert.equal(run.newerRevisionSyncStartedAt, run.endedAt);
  });
  test('retry.refresh (Argo CD >= 3.2): the first retry after the revert landed syncs the revert', () => {
    const settings = { ...noRetry, retry: { ...noRetry.retry, limit: 2, refresh: true } };
    const statefulSet = (now: number, rev: string) => (rev === 'revert' ? sts() : crashLooping()(now, rev));
    const run = runSync({ tasks: newBundle, settings, cluster: { statefulSet, hook: (n, rev, s, now) => (rev === 'revert' ? 'Succeeded' : hookUntil(360)(n, rev, s, now)) }, revision: 'bad', newerRevision: { revision: 'revert', at: 120 }, horizonSeconds: 3600 });
    assert.equal(run.newerRevisionSyncStartedAt, 370);
    assert.equal(run.phase, 'Succeeded');
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
  test('with retries, each attempt re-runs the analysis; a release still failing ends Failed after retry.limit more attempts', () => {
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

/**
 * The AnalysisRun of a rendered overlay driven by the analysis model against a canary that answers `answer(t)`
 * (seconds since the run started); returns the hook's outcome at `now`. What the rehearsal's runner does with real pods.
 */
function analysisHook(run: K8sObject, answer: (t: number) => WebResponse) {
  const metrics = parseAnalysis(run);
  return (startedAt: number, now: number) => {
    let progress = startRun(metrics, 0);
    for (let due = dueMeasurements(metrics, progress); due.length > 0; due = dueMeasurements(metrics, progress)) {
      const { metric, atMs } = due[0]!;
      if (atMs > (now - startedAt) * 1000) break;
      progress = recordMeasurement(progress, metric, measure(metrics[metric]!, answer(atMs / 1000)), atMs);
    }
    return analysisRunOutcome(runPhase(metrics, progress));
  };
}

test('the bundle as rendered: every overlay\'s sync of a crash-looping release ends by itself and the revert starts', async (t) => {
  const { renderer, requireRenderer } = await import('../testing/support/renderer.ts');
  if (!requireRenderer(t)) return;
  const { render } = await import('../bundle/render.ts');
  const { repoRoot } = await import('../bundle/schema.ts');
  const { listOverlays } = await import('../bundle/files.ts');
  const app = (await render(renderer!, 'argocd/application', repoRoot)).objects.find((o) => o.kind === 'Application')!;
  // The bundle's own settings only: no controller sync timeout.
  const settings = settingsFromApplication(app, 0);
  for (const name of listOverlays(repoRoot)) {
    const objects = (await render(renderer!, `kustomize/overlays/${name}`, repoRoot)).objects;
    const tasks = tasksFromObjects(objects);
    const jobs = hookJobs(objects);
    // A crash-looping canary never answers: every reading of the analysis is an Error.
    const runs = new Map(objects.filter((o) => o.kind === 'AnalysisRun').map((o) => [o.metadata?.name ?? '', analysisHook(o, () => ({ error: 'connect ECONNREFUSED' }))]));
    assert.equal(isMultiStep(tasks), false, `${name}: single-step`);
    const onDelete = name === 'recreate';
    const run = runSync({
      tasks,
      settings,
      revision: 'bad',
      newerRevision: { revision: 'revert', at: 60 },
      horizonSeconds: 24 * 3600,
      cluster: { statefulSet: crashLooping(onDelete ? 'OnDelete' : 'RollingUpdate'), hook: (n, _rev, startedAt, now) => (jobs[n] ? jobOutcome(jobs[n], startedAt, now, undefined) : runs.get(n)!(startedAt, now)) },
    });
    assert.equal(run.phase, 'Failed', `${name}: ${run.message}`);
    assert.ok(run.endedAt! <= (settings.retry.limit + 1) * 400, `${name}: ended at ${run.endedAt}`);
    assert.equal(run.newerRevisionSyncStartedAt, run.endedAt, `${name}: the revert syncs as soon as the operation ends`);
  }
});
