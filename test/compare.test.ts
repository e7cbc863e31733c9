// `rollcall compare`: the plan read from each rendered overlay, the figures computed from client outcomes, and one
// real rehearsal of the two strategies the lab report contrasts (rolling vs recreate), at a tenth of real time.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatTable, loadPlans } from '../rehearsal/compare.ts';
import type { Outcome } from '../rehearsal/load.ts';
import { planFromObjects } from '../rehearsal/plan.ts';
import { rehearse, summarise } from '../rehearsal/rehearse.ts';
import { listOverlays } from '../bundle/files.ts';
import { repoRoot } from '../bundle/schema.ts';
import { requireRenderer } from '../testing/support/renderer.ts';

describe('rollout plans from the rendered overlays', () => {
  test('each overlay yields the strategy its README promises', async (t) => {
    if (!requireRenderer(t)) return;
    // blue-green (two StatefulSets) is not rehearsed yet: the runner refuses it by name (next test).
    const plans = Object.fromEntries((await loadPlans(listOverlays(repoRoot).filter((o) => o !== 'blue-green'))).map((plan) => [plan.overlay, plan]));
    assert.deepEqual(Object.keys(plans).sort(), ['canary', 'canary-analysis', 'parallel', 'recreate', 'rolling']);
    assert.equal(plans['parallel']?.podManagementPolicy, 'Parallel');
    assert.deepEqual(plans['rolling']?.update, { type: 'RollingUpdate', partition: 0, maxUnavailable: 1 });
    assert.equal(plans['rolling']?.podManagementPolicy, 'OrderedReady');
    assert.ok((plans['rolling']?.minReadyMs ?? 0) > 0);
    assert.deepEqual(plans['recreate']?.update, { type: 'OnDelete', deleteAll: true });
    assert.equal(plans['canary']?.update.type, 'RollingUpdate');
    assert.ok(plans['canary']?.update.type === 'RollingUpdate' && plans['canary'].update.partition > 0);
    // Same StatefulSet as canary; its analysis is not rehearsed yet (rehearsal/model/argo-rollouts-analysis.ts holds the rules).
    assert.deepEqual(plans['canary-analysis']?.update, plans['canary']?.update);
    for (const plan of Object.values(plans)) {
      assert.equal(plan.replicas, 3, plan.overlay);
      assert.equal(plan.env['SHUTDOWN_DRAIN_MS'], '3000', plan.overlay);
    }
  });

  test('blue-green is refused with a clear error until the rehearsal models it', async (t) => {
    if (!requireRenderer(t)) return;
    await assert.rejects(loadPlans(['blue-green']), /blue-green: expected exactly one StatefulSet, found 2/);
  });

  test('an OnDelete set without the hook replaces nothing, and maxUnavailable percentages round down', () => {
    const set = (updateStrategy: object) => [{ kind: 'StatefulSet', spec: { replicas: 4, updateStrategy, template: { spec: { containers: [{}] } } } }];
    assert.deepEqual(planFromObjects('x', set({ type: 'OnDelete' })).update, { type: 'OnDelete', deleteAll: false });
    assert.deepEqual(planFromObjects('x', set({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '50%' } })).update, {
      type: 'RollingUpdate',
      partition: 0,
      maxUnavailable: 2,
    });
    assert.throws(() => planFromObjects('x', []), /exactly one StatefulSet/);
  });
});

describe('summarise', () => {
  test('counts down slots, the longest gap, and visits missing from the files', () => {
    const outcomes: Outcome[] = [
      { at: 0, ok: true, pod: 'rollcall-0', visit: 1 },
      { at: 10, ok: false, error: 'no ready endpoint' },
      { at: 60, ok: false, error: 'no ready endpoint' },
      { at: 120, ok: false, error: 'no ready endpoint' },
      { at: 400, ok: true, pod: 'rollcall-0', visit: 2 },
      { at: 410, ok: true, pod: 'rollcall-1', visit: 1 },
      { at: 420, ok: true, pod: 'rollcall-1', visit: 1 },
    ];
    const counters = new Map([['rollcall-0', 1], ['rollcall-1', 2]]);
    const result = summarise('x', outcomes, counters, { started: 0, finished: 500, podsReplaced: 3 });
    assert.equal(result.downtimeMs, 100, 'slots 1 and 2 (50 ms each) had only failures; slot 0 also had a success');
    assert.equal(result.longestGapMs, 400);
    assert.equal(result.failed, 3);
    assert.equal(result.acknowledged, 4);
    assert.equal(result.lost, 1, 'rollcall-0 acknowledged 2 visits but its file holds 1');
    assert.equal(result.duplicated, 1);
  });
});

describe('rehearsal with real server processes', () => {
  test('rolling keeps serving with no failed request; recreate is faster but goes down; no visit is lost', { timeout: 120_000 }, async (t) => {
    if (!requireRenderer(t)) return;
    const plans = await loadPlans(['rolling', 'recreate']);
    const options = { timeScale: 0.1, connections: 4, steadyMs: 300, endpointPropagationMs: 1000 };
    const rolling = await rehearse(plans[0]!, options);
    const recreate = await rehearse(plans[1]!, options);
    for (const line of formatTable([{ plan: plans[0]!, result: rolling }, { plan: plans[1]!, result: recreate }]).split('\n')) t.diagnostic(line);
    assert.equal(rolling.podsReplaced, 3);
    assert.equal(rolling.failed, 0, 'rolling: no request failed');
    assert.equal(rolling.downtimeMs, 0);
    assert.equal(recreate.podsReplaced, 3);
    assert.ok(recreate.failed > 0 && recreate.downtimeMs > 0, `recreate went down (${recreate.failed} failed, ${recreate.downtimeMs} ms)`);
    assert.ok(recreate.durationMs < rolling.durationMs, `recreate ${recreate.durationMs} ms < rolling ${rolling.durationMs} ms`);
    for (const result of [rolling, recreate]) {
      assert.ok(result.acknowledged > 0, result.overlay);
      assert.equal(result.lost, 0, `${result.overlay}: no acknowledged visit lost`);
      assert.equal(result.duplicated, 0, `${result.overlay}: no visit number given twice`);
    }
  });
});
