// Cases from what the real Argo CD did: every overlay × crash, unready, errors on the local control plane
// (docs/argocd-matrix.json, recorded by `npm run argocd:matrix`), run through the sync model
// (rehearsal/model/argocd-sync.ts runSync) on the same manifests (the hook deadlines scaled by the same component).
// The cluster's part is what the real run showed, per hook: the smoke check passes when the release is Ready (errors)
// or when it checks a colour the release did not touch (blue-green: the active one), and fails at its own 90 s check
// otherwise; the recreate command fails waiting for Ready in the first attempt of a release that never becomes Ready
// and finds nothing stale in its retries; the AnalysisRun reads a canary that refuses connections (crash), has no DNS
// name (unready: a headless Service publishes Ready pods only) or answers half of its visits with errors.
// The model must end each operation as the real one did (phase, attempts), and a failed one must take as long within
// what the real hooks add per attempt: their pod's start-up before the check's clock starts, the controller's reconciles.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { instantiate } from '../bundle/argocd.ts';
import { render } from '../bundle/render.ts';
import type { K8sObject } from '../bundle/types.ts';
import { analysisHook } from '../testing/support/analysis-hook.ts';
import type { WebResponse } from '../rehearsal/model/argo-rollouts-analysis.ts';
import { scaledOverlays } from '../scripts/argocd-matrix.ts';
import type { ArgoCdMatrixReport, RealArgoCdRun } from '../rehearsal/argocd-fidelity.ts';
import { applicationSyncSpec, hookJobs, jobOutcome, runSync, settingsFromApplication, syncTasksOf, type StatefulSetStatus } from '../rehearsal/model/argocd-sync.ts';
import { renderer, requireRenderer } from '../testing/support/renderer.ts';

const root = path.resolve(import.meta.dirname, '..');
const recorded = JSON.parse(readFileSync(path.join(root, 'docs/argocd-matrix.json'), 'utf8')) as ArgoCdMatrixReport;
/** What a real hook adds per attempt beyond the model's clock (its pod's start-up, the reconciles between). */
const PER_ATTEMPT_S = 12;

/** The canary's answer to the analysis, by the release's failure. */
const canaryAnswer = (mode: RealArgoCdRun['mode']): WebResponse =>
  mode === 'errors' ? { status: 200, body: JSON.stringify({ error_share: 0.5 }) } : { error: mode === 'crash' ? 'connect ECONNREFUSED' : 'lookup rollcall-2.rollcall-headless: no such host' };

function modelOf(run: RealArgoCdRun, objects: readonly K8sObject[], application: K8sObject) {
  const tasks = syncTasksOf(objects, applicationSyncSpec(application), { namespaceExists: true });
  const jobs = hookJobs(objects);
  const analysis = objects.filter((o) => o.kind === 'AnalysisRun').map((o) => [o.metadata?.name ?? '', analysisHook(o, () => canaryAnswer(run.mode))] as const);
  const ready = run.mode === 'errors';
  const smokePasses = ready || run.overlay === 'blue-green';
  const status: StatefulSetStatus = { generation: 1, observedGeneration: 1, replicas: 3, readyReplicas: ready ? 3 : 2, updatedReplicas: ready ? 3 : 1, currentRevision: 'r1', updateRevision: 'r2', updateStrategy: run.overlay === 'recreate' ? 'OnDelete' : 'RollingUpdate' };
  let firstHookStart: number | undefined;
  return runSync({
    tasks,
    settings: settingsFromApplication(application, 0),
    revision: 'release',
    horizonSeconds: 3600,
    cluster: {
      statefulSet: () => status,
      hook: (name, _rev, startedAt, now) => {
        firstHookStart ??= startedAt;
        const job = jobs[name];
        if (!job) return analysis.find(([n]) => n === name)![1](startedAt, now);
        const passesAt = name === 'rollcall-recreate' ? (ready || startedAt > firstHookStart ? startedAt : undefined) : smokePasses ? startedAt + 10 : undefined;
        return jobOutcome(job, startedAt, now, passesAt);
      },
    },
  });
}

test('every recorded operation of the real Argo CD ends in the sync model as it did: phase, attempts, and duration within the hooks\' start-up', async (t) => {
  if (!requireRenderer(t)) return;
  assert.equal(recorded.real.length, 18, 'every overlay × crash, unready, errors');
  // The same manifests as the real run: the scaled-timings component added to every overlay.
  const scaled = await scaledOverlays([...new Set(recorded.real.map((r) => r.overlay))]);
  const set = (await render(renderer!, 'argocd/applicationset', root)).objects.find((o) => o.kind === 'ApplicationSet')!;
  const rows: string[] = [];
  for (const run of recorded.real) {
    const objects = scaled.get(run.overlay)!;
    const application = instantiate((set['spec'] as { template: unknown }).template, { 'path.path': `kustomize/overlays/${run.overlay}`, 'path.basename': run.overlay }) as K8sObject;
    const model = modelOf(run, objects, application);
    const attempts = 1 + model.events.filter((e) => e.what === 'retry-started').length;
    rows.push(`${run.overlay} × ${run.mode}: real ${run.phase} ${run.durationS} s / ${run.attempts}, model ${model.phase} ${model.endedAt} s / ${attempts}`);
    assert.equal(model.phase, run.phase, `${run.overlay} × ${run.mode}: ${model.message}`);
    assert.equal(attempts, run.attempts, `${run.overlay} × ${run.mode}`);
    // A failed operation lasts as long as its hooks' checks and the back-off between attempts, which the sync model
    // owns; a succeeded one as long as the rollout, which is the StatefulSet model's (docs/fidelity.md).
    if (run.phase === 'Failed' && run.durationS !== null && model.endedAt !== null) {
      const extra = run.durationS - model.endedAt;
      assert.ok(extra >= -5 && extra <= PER_ATTEMPT_S * run.attempts, `${run.overlay} × ${run.mode}: real ${run.durationS} s, model ${model.endedAt} s`);
    }
  }
  t.diagnostic(rows.join('\n'));
});
