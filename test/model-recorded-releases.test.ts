// The StatefulSet controller model (rehearsal/model/statefulset-controller.ts) replayed against what the real
// controller did. testing/cluster/recorded/<overlay>.json holds the pod events the real kube-controller-manager
// (v1.37, npm run test:cluster, testing/cluster/releases.ts) produced for a good release, a crashing one and the
// revert of each overlay: these are the test data. For each release the model starts from the state the recording
// starts from, its kubelet side is timed as the real node was (a pod of a good revision Ready after the recorded
// created → ready delay, a deleted pod gone after the recorded deleting → gone delay, a crashing pod never Ready), and
// the model's decisions must replace the same pods in the same order, stop where the real rollout stopped, and need
// the manual step exactly when the real revert needed it. So the model is pinned to the real controller's behaviour,
// not to our reading of its source.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { render } from '../bundle/render.ts';
import { repoRoot } from '../bundle/schema.ts';
import { nextCurrentRevision, podsToDeleteByHand, reconcile, type PodView, type SetSpec } from '../rehearsal/model/statefulset-controller.ts';
import { planFromObjects, type RolloutPlan } from '../rehearsal/plan.ts';
import { renderer, requireRenderer } from '../testing/support/renderer.ts';

interface Event {
  atMs: number;
  pod: string;
  event: 'created' | 'deleting' | 'gone' | 'ready' | 'unready' | 'restarted';
  release: string;
}
interface Recorded {
  overlay: string;
  kubernetes: string;
  revertWaitMs: number;
  settleMs: number;
  releases: { release: 'good' | 'crash' | 'revert'; events: Event[]; replacedOrder: string[]; stoppedWith?: { updated: string[]; notUpdated: string[] }; manualStep?: string }[];
}

const dir = path.join(repoRoot, 'testing/cluster/recorded');
const recordings = readdirSync(dir)
  .filter((f) => f.endsWith('.json') && !f.includes('403'))
  .map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Recorded);

const median = (xs: number[], fallback: number) => (xs.length === 0 ? fallback : [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!);

/** The real node's timings in this recording: created → ready (good revisions), deleting → gone. */
function timings(r: Recorded): { readyMs: number; goneMs: number } {
  const all = r.releases.flatMap((rel) => rel.events);
  const delays = (from: Event['event'], to: Event['event'], skip?: (e: Event) => boolean) =>
    all.flatMap((e) => {
      if (e.event !== from || skip?.(e)) return [];
      const next = all.find((x) => x.pod === e.pod && x.event === to && x.atMs >= e.atMs && x.release === e.release);
      return next ? [next.atMs - e.atMs] : [];
    });
  return { readyMs: median(delays('created', 'ready', (e) => e.release === 'crash'), 3000), goneMs: median(delays('deleting', 'gone'), 3000) };
}

interface SimPod {
  revision: string;
  createdAt: number;
  readySince: number | null;
  goneAt: number | null;
}

/**
 * One release on the model: pods start on `start` (ordinal → revision, Ready and available when on a good
 * revision), the template moves to `update`; runs for `forMs` of model time in 100 ms rounds. Returns the pods
 * replaced in order (by the controller, or by the recreate hook when the overlay has one), where each pod ended, and
 * the pods a person must still delete by hand at the end.
 */
function replay(plan: RolloutPlan, kubernetes: string, start: string[], from: string, update: string, forMs: number, t: { readyMs: number; goneMs: number; hookAtMs: number }) {
  const spec: SetSpec = {
    kubernetes,
    replicas: plan.replicas,
    podManagementPolicy: plan.podManagementPolicy,
    updateStrategy: plan.update.type === 'OnDelete' ? { type: 'OnDelete' } : { type: 'RollingUpdate', partition: plan.update.partition, maxUnavailable: plan.update.maxUnavailable },
    minReadyMs: plan.minReadyMs,
    currentRevision: from,
    updateRevision: update,
  };
  const crashing = (revision: string) => revision === 'crash';
  const pods: (SimPod | undefined)[] = start.map((revision) => ({ revision, createdAt: -1e6, readySince: crashing(revision) ? null : -1e6, goneAt: null }));
  const replaced: string[] = [];
  const views = (): (PodView | undefined)[] => pods.map((p) => p && { revision: p.revision, terminating: p.goneAt !== null, failed: false, ready: p.readySince !== null, readySinceMs: p.readySince });
  const remove = (ordinal: number, now: number) => {
    const pod = pods[ordinal];
    if (!pod || pod.goneAt !== null) return;
    pod.goneAt = now + t.goneMs;
    pod.readySince = null;
    replaced.push(`rollcall-${ordinal}`);
  };
  let decision = reconcile(spec, views(), 0);
  for (let now = 0; now <= forMs; now += 100) {
    for (const [ordinal, pod] of pods.entries()) {
      if (pod?.goneAt !== null && pod?.goneAt !== undefined && now >= pod.goneAt) pods[ordinal] = undefined;
      else if (pod && pod.goneAt === null && pod.readySince === null && !crashing(pod.revision) && now >= pod.createdAt + t.readyMs) pod.readySince = now;
    }
    // The recreate overlay's hook Job: deletes every pod not on the update revision, once, when it runs.
    if (plan.update.type === 'OnDelete' && plan.update.deleteAll && now === t.hookAtMs) {
      for (const [ordinal, pod] of pods.entries()) if (pod && pod.revision !== spec.updateRevision) remove(ordinal, now);
    }
    spec.currentRevision = nextCurrentRevision(spec, views());
    decision = reconcile(spec, views(), now);
    for (const action of decision.actions) {
      if (action.kind === 'create') pods[action.ordinal] = { revision: action.revision, createdAt: now, readySince: null, goneAt: null };
      else remove(action.ordinal, now);
    }
  }
  return {
    replaced,
    revisions: pods.map((p) => p?.revision ?? 'none'),
    byHand: podsToDeleteByHand(spec, views(), decision).map((o) => `rollcall-${o}`),
  };
}

describe('the StatefulSet controller model replays the real controller\'s releases (testing/cluster/recorded)', () => {
  assert.ok(recordings.length >= 4, `recordings of rolling, parallel, recreate and canary: ${recordings.map((r) => r.overlay).join(', ')}`);
  for (const r of recordings) {
    test(`${r.overlay} (recorded on Kubernetes ${r.kubernetes}): same pods replaced in the same order, same stop, same manual step`, async (t) => {
      if (!requireRenderer(t)) return;
      const plan = planFromObjects(r.overlay, (await render(renderer!, `kustomize/overlays/${r.overlay}`, repoRoot)).objects);
      const times = timings(r);
      const all = (revision: string) => Array.from({ length: plan.replicas }, () => revision);
      const hookAt = (events: Event[]) => Math.round((events.find((e) => e.event === 'deleting')?.atMs ?? 0) / 100) * 100;
      for (const rel of r.releases) {
        const crash = r.releases.find((x) => x.release === 'crash')!;
        const start = rel.release === 'good' ? all('launch') : rel.release === 'crash' ? all('good') : Array.from({ length: plan.replicas }, (_, i) => (crash.stoppedWith?.updated.includes(`rollcall-${i}`) ? 'crash' : 'good'));
        const from = rel.release === 'good' ? 'launch' : 'good';
        const update = rel.release === 'revert' ? 'good' : rel.release;
        const forMs = rel.release === 'crash' ? 60_000 + r.settleMs : rel.release === 'revert' ? r.revertWaitMs : 120_000;
        // The controller of the version that was recorded (MaxUnavailableStatefulSet on, two phases, in 1.37).
        const model = replay(plan, r.kubernetes, start, from, update, forMs, { ...times, hookAtMs: hookAt(rel.events) });
        // The real revert's replacements before its manual step (the recording stops listing at the step).
        assert.deepEqual(model.replaced, rel.replacedOrder, `${r.overlay} ${rel.release}: pods replaced, in order (model vs real)`);
        if (rel.release === 'crash' && rel.stoppedWith) {
          const updated = model.revisions.flatMap((rev, i) => (rev === 'crash' ? [`rollcall-${i}`] : []));
          assert.deepEqual(updated, rel.stoppedWith.updated, `${r.overlay} crash: where the rollout stopped`);
        }
        if (rel.release === 'revert') {
          const stuck = rel.manualStep ? [...rel.manualStep.matchAll(/rollcall-\d+/g)].map((m) => m[0]) : [];
          assert.deepEqual(model.byHand, stuck, `${r.overlay} revert: the manual step (real: ${rel.manualStep ?? 'none'})`);
        }
      }
    });
  }
});
