// The bad releases made through the real Argo CD (cluster/argocd/releases.ts, scripts/argocd-matrix.ts) and their
// side-by-side table with the sync model (rehearsal/argocd-fidelity.ts): how a release commit changes each overlay,
// how a watch becomes figures, which pods the forced rollback deletes, and that the published table is the recorded
// run's. The run itself needs root and a cluster: `npm run argocd:matrix` (docs/argocd-local.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findRenderer, render } from '../bundle/render.ts';
import { overlayNames, releaseBadBuild, setBadRelease, StuckPods, type Observation } from '../cluster/argocd/releases.ts';
import type { ApiClient } from '../cluster/local/api.ts';
import { argocdMatrixMarkdown, argocdRows, modelSide, type ArgoCdMatrixReport } from '../rehearsal/argocd-fidelity.ts';
import type { RunResult } from '../rehearsal/result.ts';
import { summarise } from '../scripts/argocd-matrix.ts';
import { releaseVersion, withInlinedVersion } from '../cluster/argocd/stack.ts';

const root = path.resolve(import.meta.dirname, '..');
const renderer = findRenderer();

type Env = { name: string; value?: string };
type Set = { kind: string; metadata: { name: string }; spec: { replicas: number; template: { spec: { containers: { image: string; env?: Env[] }[] } } } };
const tag = (s: Set) => s.spec.template.spec.containers[0]!.image.split(':').at(-1);
const badRelease = (s: Set) => s.spec.template.spec.containers[0]!.env?.find((e) => e.name === 'BAD_RELEASE')?.value;

test('a release commit puts the bad build on the StatefulSet each overlay releases to (blue-green: its idle colour, scaled up)', { skip: renderer ? false : 'no kustomize renderer (kubectl or kustomize)' }, async () => {
  const work = mkdtempSync(path.join(os.tmpdir(), 'rollcall-release-'));
  try {
    cpSync(path.join(root, 'kustomize'), path.join(work, 'kustomize'), { recursive: true });
    await setBadRelease(work, 'unready');
    const overlays = overlayNames(work);
    assert.ok(overlays.length >= 6, overlays.join());
    for (const overlay of overlays) await releaseBadBuild(work, overlay, '1.0.1');
    for (const overlay of overlays) {
      const sets = (await render(renderer!, path.join('kustomize/overlays', overlay), work)).objects.filter((o) => o.kind === 'StatefulSet') as unknown as Set[];
      if (overlay === 'blue-green') {
        const byName = Object.fromEntries(sets.map((s) => [s.metadata.name, s]));
        assert.equal(badRelease(byName['rollcall-green']!), 'unready');
        assert.equal(tag(byName['rollcall-green']!), '1.0.1', 'the idle colour takes the new version');
        assert.equal(byName['rollcall-green']!.spec.replicas, 3, 'the idle colour is scaled up with its release');
        assert.equal(badRelease(byName['rollcall-blue']!), undefined, 'the active colour keeps its release');
        assert.equal(tag(byName['rollcall-blue']!), '1.0.0');
      } else {
        assert.deepEqual(sets.map(badRelease), ['unready'], overlay);
        assert.deepEqual(sets.map(tag), ['1.0.1'], `${overlay}: the release is a new version (the smoke hook expects it)`);
      }
      // The hooks run from the release's image, so the smoke check expects the new version (blue-green: the active colour's).
      for (const job of (await render(renderer!, path.join('kustomize/overlays', overlay), work)).objects.filter((o) => o.kind === 'Job') as unknown as Set[]) {
        assert.equal(tag(job), overlay === 'blue-green' ? '1.0.0' : '1.0.1', `${overlay}: Job ${job.metadata.name}`);
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('setBadRelease refuses a component without a BAD_RELEASE value to set', async () => {
  const work = mkdtempSync(path.join(os.tmpdir(), 'rollcall-release-'));
  try {
    cpSync(path.join(root, 'kustomize/components'), path.join(work, 'kustomize/components'), { recursive: true });
    await setBadRelease(work, 'crash:1000');
    assert.match(readFileSync(path.join(work, 'kustomize/components/bad-release/kustomization.yaml'), 'utf8'), /value: "crash:1000"/);
    rmSync(path.join(work, 'kustomize/components/bad-release/kustomization.yaml'));
    cpSync(path.join(root, 'kustomize/components/smoke-test/kustomization.yaml'), path.join(work, 'kustomize/components/bad-release/kustomization.yaml'));
    await assert.rejects(setBadRelease(work, 'unready'), /no BAD_RELEASE value/);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

// The shape of a recorded watch (rolling × crash on the real Argo CD v3.6.2: three attempts, the revert waiting for
// the operation, then the forced rollback).
const RELEASE = 'aaaaaaaa11';
const REVERT = 'bbbbbbbb22';
const watched: Observation[] = [
  { atMs: 400, sync: 'Synced', health: 'Healthy', phase: 'Succeeded', revision: 'cccccccc' },
  { atMs: 1400, sync: 'OutOfSync', health: 'Healthy', phase: 'Running', revision: 'aaaaaaaa', retryCount: undefined },
  { atMs: 96_000, sync: 'Synced', health: 'Progressing', phase: 'Running', revision: 'aaaaaaaa', retryCount: 1, phases: 'Sync' },
  { atMs: 352_000, sync: 'OutOfSync', health: 'Progressing', phase: 'Failed', revision: 'aaaaaaaa', retryCount: 2, phases: 'Sync', hooks: 'Job/rollcall-smoke:Failed' },
  { atMs: 353_500, sync: 'OutOfSync', health: 'Progressing', phase: 'Running', revision: 'bbbbbbbb' },
  { atMs: 380_000, sync: 'Synced', health: 'Healthy', phase: 'Running', revision: 'bbbbbbbb' },
];

test('a watch becomes the release\'s operation (start, end, attempts) and the revert\'s sync and recovery, from each push', () => {
  const run = summarise('rolling', 'crash', watched, RELEASE, REVERT, 150, ['kubectl -n rollcall-rolling delete pod rollcall-2']);
  assert.equal(run.releaseStartS, 1.4);
  assert.equal(run.phase, 'Failed');
  assert.equal(run.durationS, 350.6);
  assert.equal(run.attempts, 3);
  assert.equal(run.syncPhases, 'Sync');
  assert.equal(run.hooks, 'Job/rollcall-smoke:Failed');
  assert.equal(run.revertSyncS, 203.5, 'from the revert\'s push (150 s) to its operation (353.5 s)');
  assert.equal(run.recoveredS, 230);
  const hung = summarise('rolling', 'crash', watched.slice(0, 3), RELEASE, REVERT, 150, []);
  assert.equal(hung.phase, 'Running');
  assert.equal(hung.durationS, null);
  assert.equal(hung.revertSyncS, null);
  assert.equal(hung.recoveredS, null);
});

/** An API client answering GETs of pods and StatefulSets from a list, recording DELETEs. */
function fakeApi(pods: () => unknown[], updateRevision = 'rollcall-v1'): ApiClient & { deleted: string[] } {
  const deleted: string[] = [];
  return {
    deleted,
    get: async (p: string) => (p.endsWith('/pods') ? { items: pods() } : { items: [{ metadata: { name: 'rollcall' }, status: { updateRevision } }] }),
    send: async (method: string, p: string) => {
      if (method === 'DELETE') deleted.push(p.split('/').at(-1)!);
      return { status: 200, body: '' };
    },
  } as unknown as ApiClient & { deleted: string[] };
}
const pod = (name: string, revision: string, ready: boolean, extra: Record<string, unknown> = {}) => ({
  metadata: { name, labels: { 'controller-revision-hash': revision }, ownerReferences: [{ kind: 'StatefulSet', name: 'rollcall' }], ...extra },
  status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
});

test('the forced rollback deletes only a pod that stays not Ready off the update revision, once it has stayed so', async () => {
  let pods = [pod('rollcall-0', 'rollcall-v1', true), pod('rollcall-1', 'rollcall-v1', true), pod('rollcall-2', 'rollcall-v2', false), pod('rollcall-3', 'rollcall-v2', false, { deletionTimestamp: 'now' })];
  const api = fakeApi(() => pods);
  const stuck = new StuckPods(api, 'rollcall-rolling', 50);
  assert.deepEqual(await stuck.due(), [], 'not before it has stayed stuck');
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.deepEqual(await stuck.due(), ['rollcall-2'], 'not Ready, on the bad revision, not being deleted');
  await stuck.delete('rollcall-2');
  assert.deepEqual(api.deleted, ['rollcall-2']);
  // Back on the update revision but still starting: the controller's to wait for, not a person's.
  pods = [pod('rollcall-2', 'rollcall-v1', false)];
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.deepEqual(await stuck.due(), []);
});

const modelRun = (overlay: string, scenario: 'crash' | 'errors', sync: NonNullable<RunResult['figures']['sync']>, manualSteps: string[], revertToRecoveredMs: number | null) =>
  ({ overlay, scenario, settings: {}, figures: { sync, manualSteps, revertToRecoveredMs } }) as unknown as Omit<RunResult, 'timeline'>;

test('the model\'s figures read in manifest seconds, and a difference beyond timing is named', () => {
  const sync = { phase: 'Failed' as const, message: '', startedMs: 1000, endedMs: 34_000, attempts: 3, revertPushedMs: 16_000, revertSyncStartedMs: 34_100, hang: false, refreshSeconds: 0 };
  // The revert pushed 150 s into the operation, synced 1 s after it ended, recovered 25 s later (20.6 s of real time
  // from its push at time scale 0.1 = 206 s).
  const side = modelSide(modelRun('rolling', 'crash', sync, ['kubectl delete pod rollcall-2'], 20_600), 0.1);
  assert.deepEqual(side, { phase: 'Failed', durationS: 330, attempts: 3, revertWaitS: 1, recoveredS: 25, manualSteps: ['kubectl delete pod rollcall-2'] });
  const report: ArgoCdMatrixReport = {
    generatedAt: '2026-12-04T00:00:00Z',
    argocd: 'v3.6.2+unknown',
    kubernetes: '1.37.2',
    timings: 'scaled',
    noticedBy: 'refresh',
    real: [summarise('rolling', 'crash', watched, RELEASE, REVERT, 150, ['kubectl -n rollcall-rolling delete pod rollcall-2']), { ...summarise('recreate', 'crash', watched, RELEASE, REVERT, 150, []), overlay: 'recreate', attempts: 2 }, { ...summarise('blue-green', 'crash', watched, RELEASE, REVERT, 150, []), overlay: 'blue-green' }],
    model: { timeScale: 0.1, runs: [modelRun('rolling', 'crash', sync, ['kubectl delete pod rollcall-2'], 20_600), modelRun('recreate', 'crash', sync, [], 20_600)] } as unknown as ArgoCdMatrixReport['model'],
    notModelled: { 'blue-green': 'not driven' },
  };
  const rows = argocdRows(report);
  assert.deepEqual(rows[0]!.differences, [], 'the same pods deleted by hand, in other words');
  assert.deepEqual(rows[1]!.differences, ['attempts: model 3, real 2']);
  assert.equal(rows[2]!.model, null);
  const md = argocdMatrixMarkdown(report);
  // Real: the operation ended at 352 s, the revert (pushed at 150 s) synced at 353.5 s and recovered at 380 s.
  assert.match(md, /\| rolling \| crash \| Failed after 351 s, 3 attempts \(model: Failed after 330 s, 3 attempts\) \| 2 s \(model: 1 s\) \| 27 s \(model: 25 s\) \| rollcall-2 \| none \|/);
  assert.match(md, /\| blue-green \| crash \| Failed after 351 s, 3 attempts \| 2 s \| 27 s \| none \| not modelled: not driven \|/);
});

test('docs/argocd-local.md holds the table of the recorded matrix (docs/argocd-matrix.json)', () => {
  const report = JSON.parse(readFileSync(path.join(root, 'docs/argocd-matrix.json'), 'utf8')) as ArgoCdMatrixReport;
  const doc = readFileSync(path.join(root, 'docs/argocd-local.md'), 'utf8');
  assert.ok(doc.includes(`<!-- BEGIN argocd-matrix-real -->\n${argocdMatrixMarkdown(report)}\n<!-- END argocd-matrix-real -->`), 'run `npm run argocd:matrix -- --from docs/argocd-matrix.json --write`');
  assert.equal(report.real.length, 18, 'every overlay × crash, unready, errors');
});

test('the release image: the next patch version, which its server reports (the inlined package.json changed once, or refused)', () => {
  assert.equal(releaseVersion('1.0.0'), '1.0.1');
  assert.equal(releaseVersion('2.9.19'), '2.9.20');
  assert.throws(() => releaseVersion('latest'), /not major\.minor\.patch/);
  const pkg = { name: 'rollcall', version: '1.0.0' };
  const built = 'var a={name:"real-require",version:"1.0.0"};var package_default={name:"rollcall",version:"1.0.0",description:"x"};';
  assert.equal(withInlinedVersion(built, pkg, '1.0.1'), 'var a={name:"real-require",version:"1.0.0"};var package_default={name:"rollcall",version:"1.0.1",description:"x"};');
  assert.throws(() => withInlinedVersion('var x=1;', pkg, '1.0.1'), /not there exactly once/);
  assert.throws(() => withInlinedVersion(built + built, pkg, '1.0.1'), /not there exactly once/);
});
