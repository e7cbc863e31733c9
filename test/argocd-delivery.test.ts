// The Argo CD delivery of `rollcall compare --delivery argocd`: the stepping form of the sync model agrees with
// runSync, the bundle's hook Jobs are read as what their commands do, a bundle with a health-gated (PostSync) smoke hook
// is reported as a hang while the real bundle ends and lets the revert sync, and one real rehearsal (shared).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { render } from '../bundle/render.ts';
import { repoRoot } from '../bundle/schema.ts';
import type { K8sObject } from '../bundle/types.ts';
import { SyncOperation } from '../rehearsal/model/argocd-operation.ts';
import { jobOutcome, runSync, settingsFromApplication, type StatefulSetStatus, type SyncTask } from '../rehearsal/model/argocd-sync.ts';
import { planFromObjects } from '../rehearsal/plan.ts';
import { argocdDelivery, hookBehaviours } from '../rehearsal/run/argocd-delivery.ts';
import type { ClusterControl } from '../rehearsal/run/delivery.ts';
import { formatTable } from '../rehearsal/report/table.ts';
import { renderer, requireRenderer } from '../testing/support/renderer.ts';
import { ARGOCD_TIME_SCALE, sharedArgocdRun } from '../testing/support/shared-rehearsal.ts';

const task = (kind: string, name: string, phase: SyncTask['phase'], hook: boolean, wave = 0): SyncTask => ({ kind, name, phase, wave, hook });
const status = (ready: number, update = 'r1'): StatefulSetStatus => ({
  generation: 1,
  observedGeneration: 1,
  replicas: 3,
  readyReplicas: ready,
  updatedReplicas: 3,
  currentRevision: ready === 3 ? update : 'r0',
  updateRevision: update,
  updateStrategy: 'RollingUpdate',
  rollingUpdateSet: true,
  partition: 0,
});
const settings = settingsFromApplication({ spec: { syncPolicy: { automated: {}, retry: { limit: 2, backoff: { duration: '10s', factor: 2, maxDuration: '1m' } } } } }, 0);

describe('SyncOperation: runSync one reconcile at a time', () => {
  const job = { deadlineSeconds: 360, backoffLimit: 0 };
  const cases: { name: string; tasks: SyncTask[]; ready: number; passesAt: number | undefined; timeout?: number }[] = [
    { name: 'Sync hooks of a crash-looping release: Failed after 3 attempts', tasks: [task('StatefulSet', 'rollcall', 'Sync', false), task('Job', 'smoke', 'Sync', true)], ready: 2, passesAt: undefined },
    { name: 'Sync hook of a good release: Succeeded when it passes', tasks: [task('StatefulSet', 'rollcall', 'Sync', false), task('Job', 'smoke', 'Sync', true)], ready: 3, passesAt: 40 },
    { name: 'PostSync hook of a crash-looping release: Running forever', tasks: [task('StatefulSet', 'rollcall', 'Sync', false), task('Job', 'smoke', 'PostSync', true)], ready: 2, passesAt: undefined },
    { name: 'PostSync hang ended by the controller sync timeout', tasks: [task('StatefulSet', 'rollcall', 'Sync', false), task('Job', 'smoke', 'PostSync', true)], ready: 2, passesAt: undefined, timeout: 900 },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const s = { ...settings, syncTimeoutSeconds: c.timeout ?? 0 };
      const horizonSeconds = 4000;
      const batch = runSync({
        tasks: c.tasks,
        settings: s,
        revision: 'r1',
        horizonSeconds,
        cluster: { statefulSet: () => status(c.ready), hook: (_n, _r, startedAt, now) => jobOutcome(job, startedAt, now, c.passesAt === undefined ? undefined : startedAt + c.passesAt) },
      });
      const op = new SyncOperation(c.tasks, s, 'r1', 0);
      for (let now = 0; now <= horizonSeconds && !op.over; now += 5) {
        op.step(now, { statefulSet: status(c.ready), hook: (_t, startedAt) => jobOutcome(job, startedAt, now, c.passesAt === undefined ? undefined : startedAt + c.passesAt) });
      }
      assert.equal(op.phase, batch.phase);
      assert.equal(op.endedAt, batch.endedAt);
      assert.equal(op.message, batch.message);
      assert.equal(op.events.filter((e) => e.kind === 'retry-started').length, batch.events.filter((e) => e.what === 'retry-started').length);
    });
  }

  test('the wave is applied before its hooks start, and a step after the end changes nothing', () => {
    const op = new SyncOperation([task('Job', 'smoke', 'Sync', true), task('StatefulSet', 'rollcall', 'Sync', false)], settings, 'r1', 0);
    const first = op.step(0, { statefulSet: status(3), hook: () => 'Succeeded' });
    assert.deepEqual(first.map((e) => e.kind), ['wave-started', 'hook-started']);
    assert.deepEqual(first[0]!.tasks?.map((t) => t.kind), ['StatefulSet']);
    op.step(5, { statefulSet: status(3), hook: () => 'Succeeded' });
    assert.equal(op.phase, 'Succeeded');
    assert.deepEqual(op.step(10, { statefulSet: status(0), hook: () => 'Failed' }), []);
  });

  test('retry.refresh: the retry takes the newer commit (Argo CD >= 3.2)', () => {
    const op = new SyncOperation([task('StatefulSet', 'rollcall', 'Sync', false), task('Job', 'smoke', 'Sync', true)], { ...settings, retry: { ...settings.retry, refresh: true } }, 'r1', 0);
    op.newerCommit('r2');
    for (let now = 0; now <= 400 && op.revision === 'r1'; now += 5) op.step(now, { statefulSet: status(2), hook: (_t, startedAt) => jobOutcome(job, startedAt, now, undefined) });
    assert.equal(op.revision, 'r2');
    assert.equal(op.phase, 'Running');
  });
});

// Rendered once per file (kustomize is slow on a busy machine).
const rendered = new Map<string, Promise<K8sObject[]>>();
const build = (dir: string) => {
  if (!rendered.has(dir)) rendered.set(dir, render(renderer!, dir, repoRoot).then((r) => r.objects));
  return rendered.get(dir)!;
};
const overlay = (name: string) => build(`kustomize/overlays/${name}`);
const application = async () => (await build('argocd/application')).find((o) => o.kind === 'Application')!;

/** An OnDelete StatefulSet without processes: pods change only when deleted (then recreated on the update revision),
 * and a pod of a `crashing` revision is never Ready. */
function onDeleteCluster(crashing: string) {
  const state = { current: 'r0', update: 'r0', applied: [] as string[], deleted: 0 };
  let pods = [0, 1, 2].map(() => ({ revision: 'r0', ready: true, terminating: false }));
  const control: ClusterControl = {
    setTemplate: async (t) => {
      state.update = t.revision;
      state.applied.push(t.revision);
    },
    deleteAllPods: () => assert.fail('the Argo CD delivery deletes pods through its hooks only'),
    healthy: () => pods.every((p) => p.ready),
    pods: () => pods.map((p) => ({ ...p })),
    deletePod: async (ordinal) => {
      state.deleted++;
      pods = pods.map((p, i) => (i === ordinal ? { revision: state.update, ready: state.update !== crashing, terminating: false } : p));
    },
    revisions: () => ({ current: state.current, update: state.update }),
  };
  return { state, control };
}

describe('the Argo CD delivery on the bundle as rendered', () => {
  test('hook Jobs: the recreate command\'s own timeout and the smoke check\'s partition; the AnalysisRun hook of canary-analysis', async (t) => {
    if (!requireRenderer(t)) return;
    const recreate = hookBehaviours(await overlay('recreate'));
    assert.deepEqual(recreate['rollcall-recreate'], { kind: 'job', job: { deadlineSeconds: 300, backoffLimit: 0 }, deletesStalePods: true, partition: 0 });
    assert.deepEqual(recreate['rollcall-smoke'], { kind: 'job', job: { deadlineSeconds: 300, backoffLimit: 0 }, deletesStalePods: false, partition: 0 });
    assert.deepEqual(hookBehaviours(await overlay('canary'))['rollcall-smoke'], { kind: 'job', job: { deadlineSeconds: 300, backoffLimit: 0 }, deletesStalePods: false, partition: 2 });
    const analysis = hookBehaviours(await overlay('canary-analysis'));
    assert.deepEqual(Object.values(analysis).map((b) => b.kind).sort(), ['analysis', 'job']);
    assert.throws(() => hookBehaviours([{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x', annotations: { 'argocd.argoproj.io/hook': 'Sync' } } }]), /hook Pod\/x: .*Jobs and AnalysisRuns only/);
  });

  // recreate × a crash-looping release with no processes: manifest time runs 1000× faster (360 s hook deadline = 0.36 s).
  const timeScale = 0.001;
  const release = { revision: 'r1', version: '1.0.1', env: {} };
  const revert = { revision: 'r0', version: '1.0.0', env: {} };
  const rehearse = async (objects: K8sObject[]) => {
    const app = await application();
    const delivery = argocdDelivery({ timeScale, objects: async () => objects, application: async () => app, reconcileMs: 5 })(planFromObjects('recreate', objects));
    const { state, control } = onDeleteCluster('r1');
    const markers: string[] = [];
    const origin = performance.now();
    try {
      await delivery.apply(release, control, (_kind, label) => markers.push(label));
      await delivery.apply(revert, control, (_kind, label) => markers.push(label));
      await new Promise((resolve) => setTimeout(resolve, 100));
      return { state, markers, sync: delivery.summary!(origin)!, healthy: control.healthy() };
    } finally {
      delivery.close?.();
    }
  };

  test('as it is: the sync ends Failed after 3 whole attempts, then the revert syncs and its recreate hook replaces the crashing pods', async (t) => {
    if (!requireRenderer(t)) return;
    const { state, markers, sync, healthy } = await rehearse(await overlay('recreate'));
    assert.equal(sync.phase, 'Failed', sync.message);
    assert.equal(sync.hang, false);
    assert.equal(sync.attempts, 3);
    assert.ok(sync.revertSyncStartedMs! >= sync.endedMs!, 'the revert syncs once the operation is over');
    // As the real Argo CD v3.6.2 did (docs/argocd-local.md): every retry runs its hooks in full (on v3.2.11 attempt 2
    // had failed at once on attempt 1's stored results).
    assert.ok(sync.endedMs! - sync.revertPushedMs! > 3 * 300 * timeScale * 1000 * 0.9, 'it waited for three whole attempts');
    assert.deepEqual(state.applied, ['r1', 'r1', 'r1', 'r0'], 'every attempt re-applies the release; then the revert');
    assert.equal(state.deleted, 6, 'the release\'s hook deleted the 3 old pods, the revert\'s hook the 3 crashing ones');
    assert.ok(healthy);
    assert.ok(markers.includes('hook rollcall-smoke Failed (deadline 300 s)'), markers.join('\n'));
    // The recreate command finds nothing stale in attempts 2 and 3 (every pod is on the release) and returns at once,
    // as on the real Argo CD (docs/argocd-local.md, the matrix); it fails only in attempt 1, waiting for Ready.
    const recreateHook = (outcome: string) => markers.filter((m) => m.startsWith(`hook rollcall-recreate ${outcome}`)).length;
    assert.deepEqual([recreateHook('Failed'), recreateHook('Succeeded')], [1, 3], markers.join('\n'));
    assert.ok(markers.some((m) => m.startsWith('commit 1.0.0 pushed; auto-sync waits')));
    assert.ok(markers.includes('revert sync started'));
    // Argo CD sees a push at its next refresh (120 s by default), not at once.
    assert.equal(sync.refreshSeconds, 120);
    assert.ok(markers.includes('commit 1.0.1 pushed; Argo CD notices it at its next refresh (120 s)'), markers.join('\n'));
    assert.ok(markers.indexOf('commit 1.0.1 pushed; Argo CD notices it at its next refresh (120 s)') < markers.indexOf('automated sync of 1.0.1 started'));
  });

  test('with the smoke hook moved back to PostSync: the sync hangs, the revert never syncs, and it is reported', async (t) => {
    if (!requireRenderer(t)) return;
    const objects = (await overlay('recreate')).map((o) =>
      o.metadata?.name === 'rollcall-smoke' ? { ...o, metadata: { ...o.metadata, annotations: { ...o.metadata.annotations, 'argocd.argoproj.io/hook': 'PostSync' } } } : o,
    );
    const { state, markers, sync } = await rehearse(objects);
    assert.equal(sync.hang, true);
    assert.equal(sync.phase, 'Running');
    assert.equal(sync.endedMs, null);
    assert.equal(sync.revertSyncStartedMs, null);
    assert.match(sync.message, /still Running 1800 s after it started .*the revert never synced/);
    assert.deepEqual(state.applied, ['r1'], 'the revert was never applied');
    assert.ok(markers.some((m) => m.startsWith('hang: ')), markers.join('\n'));
    const row = { overlay: 'recreate', scenario: 'crash' as const, settings: {}, figures: { ...dummyFigures, sync }, timeline: { slotMs: 100, endMs: sync.startedMs + 2000, pods: [], traffic: [], markers: [] } };
    assert.match(formatTable({ runs: [row] }), /  Running \(HANG after 2\.0 s\)  never  /);
  });
});

const dummyFigures = {
  launchToAllReadyMs: 0,
  podStartMs: null,
  before: { requests: 0, failed: 0 },
  during: { requests: 0, failed: 0 },
  after: { requests: 0, failed: 0 },
  peakFailedShare: 0,
  belowFullReadyMs: 0,
  fewestReady: 3,
  downtimeMs: 0,
  stoppedByItself: false,
  podsUpdated: 0,
  revertToRecoveredMs: null,
  manualSteps: [],
  twoVersionsServingMs: 0,
  detectMs: null,
  detection: null,
  lost: 0,
  duplicated: 0,
};

// The shared real rehearsal (testing/support/shared-rehearsal.ts): retry limit 0 keeps it short (one hook deadline
// instead of three); the retries are covered above.
test('a real rehearsal through Argo CD: recreate × crash fails at the hook deadline, the revert recovers with no manual step', { timeout: 300_000 }, async (t) => {
  if (!requireRenderer(t)) return;
  const run = await sharedArgocdRun();
  const timeScale = ARGOCD_TIME_SCALE;
  assert.equal(run.settings['timeScale'], timeScale);
  assert.equal(`${run.overlay} × ${run.scenario}`, 'recreate × crash');
  assert.match(String(run.settings['delivery']), /^Argo CD automated sync/);
  const f = run.figures;
  const sync = f.sync!;
  const labels = run.timeline.markers.filter((m) => m.kind === 'sync').map((m) => m.label);
  assert.equal(sync.phase, 'Failed', sync.message);
  assert.equal(sync.attempts, 1);
  assert.equal(sync.hang, false);
  assert.ok(sync.endedMs! - sync.startedMs >= 300 * timeScale * 1000, 'not before the recreate hook\'s deadline');
  assert.ok(labels.includes('hook rollcall-recreate Failed (deadline 300 s)'), labels.join('\n'));
  assert.ok(sync.revertSyncStartedMs! >= sync.endedMs!, 'the revert syncs only when the operation is over');
  assert.ok(labels.includes('revert sync started'));
  assert.notEqual(f.revertToRecoveredMs, null, 'recovered');
  assert.deepEqual(f.manualSteps, []);
  assert.ok(f.downtimeMs > 0, 'the recreate hook took every pod down for a crashing release');
  assert.equal(f.lost, 0);
  assert.equal(f.duplicated, 0);
  assert.match(formatTable({ runs: [run] }), /  Failed after \d+(\.\d)? (s|min)/);
});
