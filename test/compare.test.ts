// `rollcall compare`: the plan read from each rendered overlay, the figures computed from recorded outcomes, the
// table, and real rehearsals of bad releases at a small time scale with real server processes (the shared ones,
// testing/support/shared-rehearsal.ts: run once per `npm test` and read by every test that checks them).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadPlans } from '../rehearsal/compare.ts';
import { planFromObjects } from '../rehearsal/plan.ts';
import { listOverlays } from '../bundle/files.ts';
import { repoRoot } from '../bundle/schema.ts';
import { formatTable } from '../rehearsal/report/table.ts';
import type { RunResult } from '../rehearsal/result.ts';
import * as figures from '../rehearsal/run/figures.ts';
import { badReleaseEnv, parseScenarios } from '../rehearsal/run/scenarios.ts';
import { parseBadRelease } from '../src/service/bad-release.ts';
import { requireRenderer } from '../testing/support/renderer.ts';
import { KUBECTL_OPTIONS, sharedRun } from '../testing/support/shared-rehearsal.ts';

const readinessProbe = { httpGet: { path: '/readyz', port: 'http' } };

describe('rollout plans from the rendered overlays', () => {
  test('each overlay yields the strategy its README promises', async (t) => {
    if (!requireRenderer(t)) return;
    const plans = Object.fromEntries((await loadPlans(listOverlays(repoRoot))).map((plan) => [plan.overlay, plan]));
    assert.deepEqual(Object.keys(plans).sort(), ['blue-green', 'canary', 'canary-analysis', 'parallel', 'recreate', 'rolling']);
    assert.equal(plans['parallel']?.podManagementPolicy, 'Parallel');
    assert.deepEqual(plans['rolling']?.update, { type: 'RollingUpdate', partition: 0, maxUnavailable: 1 });
    assert.equal(plans['rolling']?.podManagementPolicy, 'OrderedReady');
    assert.ok((plans['rolling']?.minReadyMs ?? 0) > 0);
    assert.deepEqual(plans['recreate']?.update, { type: 'OnDelete', deleteAll: true });
    assert.equal(plans['canary']?.update.type, 'RollingUpdate');
    assert.ok(plans['canary']?.update.type === 'RollingUpdate' && plans['canary'].update.partition > 0);
    // Same StatefulSet as canary, plus the AnalysisRun the sync creates.
    assert.deepEqual(plans['canary-analysis']?.update, plans['canary']?.update);
    assert.equal(plans['canary-analysis']?.analysisRun?.kind, 'AnalysisRun');
    assert.equal(plans['canary']?.analysisRun, undefined);
    // Two colours; the plan's StatefulSet is the active one.
    assert.deepEqual(plans['blue-green']?.blueGreen, { active: 'blue', colours: { blue: { version: '1.0.0', replicas: 3 }, green: { version: '1.0.0', replicas: 0 } } });
    assert.equal(plans['blue-green']?.setName, 'rollcall-blue');
    for (const plan of Object.values(plans)) {
      assert.equal(plan.replicas, 3, plan.overlay);
      assert.equal(plan.setName, plan.blueGreen ? 'rollcall-blue' : 'rollcall', plan.overlay);
      assert.equal(plan.env['SHUTDOWN_DRAIN_MS'], '3000', plan.overlay);
      assert.deepEqual(plan.readiness, { periodMs: 5000, failureThreshold: 2, successThreshold: 1, path: '/readyz', initialDelayMs: 0, timeoutMs: 2000 }, plan.overlay);
      assert.deepEqual(plan.startup, { periodMs: 2000, failureThreshold: 30, successThreshold: 1, path: '/readyz', initialDelayMs: 0, timeoutMs: 2000 }, plan.overlay);
      assert.deepEqual(plan.liveness, { periodMs: 10000, failureThreshold: 3, successThreshold: 1, path: '/healthz', initialDelayMs: 0, timeoutMs: 3000 }, plan.overlay);
    }
  });

  test('two StatefulSets other than the blue-green shape, and an analysis of a pod the rehearsal does not run, are refused', () => {
    const sts = (name: string) => ({ kind: 'StatefulSet', metadata: { name }, spec: { replicas: 3, template: { spec: { containers: [{ name: 'rollcall', image: 'x/y:1.0.0', readinessProbe }] } } } });
    assert.throws(() => planFromObjects('x', [sts('a'), sts('b')]), /x: two StatefulSets, but not the blue-green overlay's shape: StatefulSet rollcall-blue is not in the overlay/);
    assert.throws(() => planFromObjects('x', [sts('a'), sts('b'), sts('c')]), /expected one StatefulSet \(or two: blue-green\), found 3/);
    const colour = (c: string, image: string, policy = 'OrderedReady') => ({ ...sts(`rollcall-${c}`), spec: { ...sts('').spec, podManagementPolicy: policy, template: { spec: { containers: [{ name: 'rollcall', image, readinessProbe }] } } } });
    const service = { kind: 'Service', metadata: { name: 'rollcall' }, spec: { selector: { 'rollcall/colour': 'green' } } };
    const plan = planFromObjects('x', [colour('blue', 'x/y:1.0.0'), colour('green', 'x/y:1.1.0'), service]);
    assert.equal(plan.setName, 'rollcall-green', 'the active colour; releases may differ');
    assert.throws(() => planFromObjects('x', [colour('blue', 'x/y:1.0.0', 'Parallel'), colour('green', 'x/y:1.0.0'), service]), /the two colours' StatefulSets differ/);
    const run = (url: string) => ({ kind: 'AnalysisRun', spec: { metrics: [{ name: 'm', interval: '10s', count: 1, successCondition: 'result < 1', provider: { web: { url } } }] } });
    assert.throws(() => planFromObjects('x', [sts('rollcall'), run('http://rollcall-3.h.ns.svc:5000/stats')]), /the analysis reads rollcall-3, which is not a pod of StatefulSet rollcall/);
    assert.throws(() => planFromObjects('x', [sts('rollcall'), run('http://rollcall.ns.svc:5000/stats')]), /does not name a pod through a headless Service/);
  });

  test('an OnDelete set without the hook replaces nothing, and maxUnavailable percentages round down', () => {
    const set = (updateStrategy: object) => [{ kind: 'StatefulSet', spec: { replicas: 4, updateStrategy, template: { spec: { containers: [{ readinessProbe }] } } } }];
    assert.deepEqual(planFromObjects('x', set({ type: 'OnDelete' })).update, { type: 'OnDelete', deleteAll: false });
    assert.deepEqual(planFromObjects('x', set({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '50%' } })).update, {
      type: 'RollingUpdate',
      partition: 0,
      maxUnavailable: 2,
    });
    assert.throws(() => planFromObjects('x', []), /expected one StatefulSet/);
  });

  test('fields the model does not read are refused with the field named, not silently ignored', () => {
    const set = (spec: object, container: object = { readinessProbe }) => [{ kind: 'StatefulSet', spec: { replicas: 3, template: { spec: { containers: [container] } }, ...spec } }];
    assert.throws(() => planFromObjects('x', set({ updateStrategy: { type: 'Recreate' } })), /x: spec\.updateStrategy\.type: Recreate is not modelled .*StatefulSetRecreateStrategy/);
    assert.throws(() => planFromObjects('x', set({ ordinals: { start: 1 } })), /spec\.ordinals\.start: 1 is not modelled/);
    assert.throws(() => planFromObjects('x', set({ persistentVolumeClaimRetentionPolicy: { whenScaled: 'Delete' } })), /persistentVolumeClaimRetentionPolicy\.whenScaled: Delete is not modelled/);
    assert.throws(() => planFromObjects('x', set({}, {})), /no readinessProbe/);
    // An exec probe is refused before the model sees it: the container allowlist does not let a manifest run commands.
    assert.throws(() => planFromObjects('x', set({}, { readinessProbe: { exec: { command: ['true'] } } })), /readinessProbe\.exec: only httpGet and tcpSocket probes are allowed/);
    assert.throws(() => planFromObjects('x', set({}, { readinessProbe: { tcpSocket: { port: 5000 } } })), /readinessProbe: only httpGet probes with a path are rehearsed/);
    // Modelled instead of refused: initialDelaySeconds and timeoutSeconds are read.
    const plan = planFromObjects('x', set({}, { readinessProbe: { httpGet: { path: '/r' }, initialDelaySeconds: 4, timeoutSeconds: 5 } }));
    assert.deepEqual(plan.readiness, { periodMs: 10_000, failureThreshold: 3, successThreshold: 1, path: '/r', initialDelayMs: 4000, timeoutMs: 5000 });
  });
});

describe('scenarios', () => {
  test('each sets a BAD_RELEASE the app accepts, with its timings on the rehearsal clock', () => {
    assert.deepEqual(badReleaseEnv('good', 0.1), {});
    assert.deepEqual(badReleaseEnv('slow', 0.1), { BAD_RELEASE: 'slow:3000' });
    assert.deepEqual(badReleaseEnv('crash', 0.1), { BAD_RELEASE: 'crash:100' });
    for (const scenario of parseScenarios(['all'])) {
      const value = badReleaseEnv(scenario, 0.05)['BAD_RELEASE'];
      if (scenario !== 'good') assert.ok(parseBadRelease(value), scenario);
    }
    assert.deepEqual(parseScenarios(undefined), ['good']);
    assert.throws(() => parseScenarios(['broken']), /--scenario must be one of/);
  });
});

describe('figures', () => {
  const o = (atMs: number, ok: boolean, version?: string, pod?: string, visit?: number) => ({
    atMs,
    ok,
    ...(version ? { version } : {}),
    ...(pod ? { pod } : {}),
    ...(visit !== undefined ? { visit } : {}),
  });
  const outcomes = [o(10, true, 'v1', 'p0', 1), o(150, true, 'v1', 'p0', 2), o(160, true, 'v2', 'p1', 1), o(250, false), o(260, false, 'v2', 'p1'), o(1100, true, 'v2', 'p1', 2)];

  test('traffic slots by version, down time, two versions serving', () => {
    const slots = figures.trafficSlots(outcomes, 1200);
    assert.equal(slots.length, 12);
    assert.deepEqual(slots[1], { atMs: 100, ok: { v1: 1, v2: 1 }, failed: {} });
    assert.deepEqual(slots[2], { atMs: 200, ok: {}, failed: { none: 1, v2: 1 } });
    assert.equal(figures.downtimeMs(outcomes, 1200), 100);
    assert.equal(figures.twoVersionsServingMs(slots), 100);
  });

  test('down time counts the time a failing request waited for its answer (a hang until the timeout)', () => {
    // A client that waited 450 ms for a failure: slots 1-5 had no success, whether refused at once or hanging.
    const hung = [o(50, true, 'v1'), { atMs: 560, ms: 450, ok: false }, o(650, true, 'v1')];
    assert.equal(figures.downtimeMs(hung, 1000), 500);
    // A slot in which another client got an answer is not down; a slow success marks nothing.
    const mixed = [{ atMs: 560, ms: 450, ok: false }, o(320, true, 'v1'), { ...o(900, true, 'v1'), ms: 800 }];
    assert.equal(figures.downtimeMs(mixed, 1000), 400);
    // Outcomes without `ms` (reports made before it existed) count where they arrived, as before.
    assert.equal(figures.downtimeMs([{ atMs: 560, ok: false }], 1000), 100);
  });

  test('failed requests by their error, most frequent first', () => {
    const failed = [{ atMs: 1, ok: false, error: 'ECONNREFUSED' }, { atMs: 2, ok: false, error: 'timeout' }, { atMs: 3, ok: false, error: 'timeout' }, { atMs: 4, ok: false }, o(5, true)];
    assert.deepEqual(Object.entries(figures.failuresByError(failed)), [['timeout', 2], ['ECONNREFUSED', 1], ['unknown', 1]]);
  });

  test('phases, the peak failed share per second', () => {
    assert.deepEqual(figures.phaseCount(outcomes, 0, 200), { requests: 3, failed: 0 });
    assert.deepEqual(figures.phaseCount(outcomes, 200, 2000), { requests: 3, failed: 2 });
    assert.equal(figures.peakFailedShare(outcomes), 0.4);
  });

  test('time below full readiness and the fewest Ready', () => {
    const samples = [{ atMs: 0, ready: 3 }, { atMs: 100, ready: 2 }, { atMs: 300, ready: 1 }, { atMs: 400, ready: 3 }];
    assert.deepEqual(figures.readiness(samples, 3, 0, 1000), { belowFullReadyMs: 300, fewestReady: 1 });
    assert.deepEqual(figures.readiness(samples, 3, 350, 1000), { belowFullReadyMs: 50, fewestReady: 1 });
  });

  test('visits missing from the files, and numbers given twice', () => {
    const acked = [o(1, true, 'v1', 'p0', 5), o(2, true, 'v1', 'p0', 6), o(3, true, 'v1', 'p1', 9), o(4, true, 'v1', 'p1', 9)];
    assert.deepEqual(figures.lostAndDuplicated(acked, new Map([['p0', 1], ['p1', 1]])), { lost: 1, duplicated: 1 });
    assert.deepEqual(figures.lostAndDuplicated(acked, new Map([['p0', 2], ['p1', 1]])), { lost: 0, duplicated: 1 });
    // p1's file could not be read (its pod gone on a real cluster): p1 is not judged, p0 still is.
    assert.deepEqual(figures.lostAndDuplicated(acked, new Map([['p0', 1]])), { lost: 1, duplicated: 1 });
    assert.deepEqual(figures.lostAndDuplicated(acked, new Map([['p0', 2]])), { lost: 0, duplicated: 1 });
  });
});

describe('the table', () => {
  test('one row per overlay × scenario with the figures a person compares', () => {
    const run = {
      overlay: 'rolling',
      scenario: 'unready',
      settings: {},
      figures: {
        launchToAllReadyMs: 4200,
        podStartMs: 1000,
        before: { requests: 10, failed: 0 },
        during: { requests: 20, failed: 0 },
        after: { requests: 5, failed: 0 },
        peakFailedShare: 0,
        belowFullReadyMs: 1500,
        fewestReady: 2,
        downtimeMs: 0,
        stoppedByItself: true,
        podsUpdated: 1,
        revertToRecoveredMs: 900,
        manualSteps: ['kubectl delete pod rollcall-2'],
        twoVersionsServingMs: 0,
        detectMs: null,
        detection: { rule: 'stalled', reason: 'x', afterMs: 3000 },
        lost: 0,
        duplicated: 0,
      },
      timeline: { slotMs: 100, endMs: 0, pods: [], traffic: [], markers: [] },
    } satisfies RunResult;
    const lines = formatTable({ runs: [run] }).split('\n');
    // Two header lines, a rule, the row; then the legend (no time scale given: seconds as measured).
    assert.match(lines[3]!, /^rolling +unready +0\.0 % +0\.0 s +1, stalled +stalled 3\.0 s +0\.9 s +1 +0\.0 s +0\/0$/);
    assert.ok(lines.includes('Times are seconds as measured.'), lines.join('\n'));
    assert.ok(lines.some((line) => line.includes('Launch of v1 to every pod Ready: rolling 4.2 s.')), lines.join('\n'));
  });
});

describe('bad releases rehearsed with real server processes (time scale 0.1)', () => {
  test('rolling stalls on unready and lets errors reach every pod; recreate goes down on crash until the revert; canary contains errors; nothing lost', { timeout: 600_000 }, async (t) => {
    if (!requireRenderer(t)) return;
    const unready = await sharedRun('rolling', 'unready');
    const errors = await sharedRun('rolling', 'errors');
    const crash = await sharedRun('recreate', 'crash');
    const canaryErrors = await sharedRun('canary', 'errors');
    const runs = [unready, errors, crash, canaryErrors];
    for (const line of formatTable({ runs, timeScale: KUBECTL_OPTIONS.timeScale }).split('\n')) t.diagnostic(line);

    assert.equal(unready.figures.stoppedByItself, true, `rolling × unready: the rollout stopped by itself (${JSON.stringify(unready.figures.detection)})`);
    assert.equal(unready.figures.podsUpdated, 1, 'rolling × unready: after the first replaced ordinal');
    assert.ok(unready.figures.fewestReady >= 2, `rolling × unready: ≥ 2 Ready (fewest ${unready.figures.fewestReady})`);
    const unreadyFailed = unready.figures.before.failed + unready.figures.during.failed + unready.figures.after.failed;
    assert.equal(unreadyFailed, 0, 'rolling × unready: no request failed');
    assert.deepEqual(unready.figures.manualSteps, ['kubectl delete pod rollcall-2'], 'forced rollback under OrderedReady');
    assert.ok(unready.timeline.markers.some((m) => m.kind === 'manual-step' && m.pod === 'rollcall-2'));

    assert.equal(errors.figures.podsUpdated, 3, `rolling × errors: reaches every pod (${JSON.stringify(errors.figures.detection)})`);
    assert.equal(errors.figures.stoppedByItself, false);
    assert.equal(errors.figures.detection?.rule, 'failing');
    assert.deepEqual(errors.figures.manualSteps, [], 'Ready pods roll back by themselves');

    assert.ok(crash.figures.downtimeMs > 0, `recreate × crash: an outage (${crash.figures.downtimeMs} ms)`);
    assert.notEqual(crash.figures.revertToRecoveredMs, null, 'recreate × crash: recovered after the revert');
    const done = crash.timeline.markers.find((m) => m.kind === 'done')!.atMs;
    const failedAfterDone = crash.timeline.traffic.filter((s) => s.atMs > done + 100).reduce((n, s) => n + Object.values(s.failed).reduce((a, b) => a + b, 0), 0);
    assert.equal(failedAfterDone, 0, 'recreate × crash: the outage ends with the recovery');

    const share = canaryErrors.figures.during.failed / canaryErrors.figures.during.requests;
    assert.equal(canaryErrors.figures.podsUpdated, 1, 'canary: only the canary pod');
    assert.ok(share > 0 && share <= 0.4, `canary × errors: ${Math.round(share * 100)} % failed during the release (about a third at most)`);

    for (const run of runs) {
      assert.equal(run.settings['timeScale'], 0.1, `${run.overlay} × ${run.scenario}: the time scale this test is named for`);
      assert.equal(run.figures.lost, 0, `${run.overlay} × ${run.scenario}: no acknowledged visit lost`);
      assert.equal(run.figures.duplicated, 0, `${run.overlay} × ${run.scenario}: no visit number given twice`);
      assert.ok(run.figures.before.requests > 0, `${run.overlay} × ${run.scenario}: load ran`);
      assert.equal(run.timeline.pods.length, 3);
    }
  });
});

describe('canary-analysis and blue-green rehearsed with real server processes (time scale 0.1)', () => {
  test('a failed analysis aborts errors on canary-analysis; blue-green switches a good release with no failed request', { timeout: 600_000 }, async (t) => {
    if (!requireRenderer(t)) return;
    const analysed = await sharedRun('canary-analysis', 'errors');
    const blueGreen = await sharedRun('blue-green', 'good');
    for (const line of formatTable({ runs: [analysed, blueGreen], timeScale: KUBECTL_OPTIONS.timeScale }).split('\n')) t.diagnostic(line);

    const markers = analysed.timeline.markers;
    const verdict = markers.find((m) => m.kind === 'analysis' && /AnalysisRun (Failed|Error)/.test(m.label));
    assert.ok(verdict, `canary-analysis × errors: a failed analysis verdict (${markers.map((m) => `${m.kind}: ${m.label}`).join('; ')})`);
    assert.equal(analysed.figures.detection?.rule, 'analysis');
    assert.ok(analysed.figures.detectMs !== null && analysed.figures.detectMs > 0, 'detectMs set');
    const detected = markers.find((m) => m.kind === 'detected');
    const revert = markers.find((m) => m.kind === 'revert');
    assert.ok(detected && /AnalysisRun (Failed|Error)/.test(detected.label) && detected.atMs >= verdict.atMs, 'the verdict is the detection');
    assert.ok(revert && revert.atMs >= detected.atMs, 'the revert follows it');
    assert.equal(analysed.figures.podsUpdated, 1, 'only the canary got the release');

    const failed = blueGreen.figures.before.failed + blueGreen.figures.during.failed + blueGreen.figures.after.failed;
    assert.equal(failed, 0, 'blue-green × good: no request failed across the switch');
    assert.equal(blueGreen.figures.detection, null);
    assert.ok(blueGreen.timeline.markers.some((m) => m.kind === 'sync' && /active-green/.test(m.label)), 'the selector switched to green');
    const lanes = blueGreen.timeline.pods.map((p) => p.name).sort();
    assert.deepEqual(lanes, ['rollcall-blue-0', 'rollcall-blue-1', 'rollcall-blue-2', 'rollcall-green-0', 'rollcall-green-1', 'rollcall-green-2']);
    assert.ok(blueGreen.timeline.pods.filter((p) => p.name.startsWith('rollcall-green')).every((p) => p.spans.some((s) => s.state === 'ready' && s.version === 'v2')), 'every green pod Ready on v2');

    for (const run of [analysed, blueGreen]) {
      assert.equal(run.figures.lost, 0, `${run.overlay}: no acknowledged visit lost`);
      assert.equal(run.figures.duplicated, 0, `${run.overlay}: no visit number given twice`);
    }
  });
});
