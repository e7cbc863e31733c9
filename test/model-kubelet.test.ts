// The kubelet, Service endpoints and release-watch models (rehearsal/model), case by case with their sources.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { afterProbe, initialProbeState, probePeriodMs, restartDelayMs, type ProbeSpec } from '../rehearsal/model/kubelet.ts';
import { DEFAULT_WATCH_RULES, judge, judgeWithAnalysis, type WatchObservation } from '../rehearsal/model/release-watch.ts';
import { routedAt, servingWhileTerminating, wantsTraffic } from '../rehearsal/model/service-endpoints.ts';

// The base manifest's probes (kustomize/base/statefulset.yaml).
const startup: ProbeSpec = { periodMs: 2000, failureThreshold: 30, successThreshold: 1 };
const readiness: ProbeSpec = { periodMs: 5000, failureThreshold: 2, successThreshold: 1 };

describe('kubelet: restart back-off (pkg/kubelet/kubelet.go backOffPeriod, MaxContainerBackOff; flowcontrol.Backoff)', () => {
  const expected: [number, number][] = [[0, 0], [1, 10_000], [2, 20_000], [3, 40_000], [4, 80_000], [5, 160_000], [6, 300_000], [20, 300_000]];
  for (const [restarts, delay] of expected) test(`after ${restarts} restarts: ${delay / 1000} s`, () => assert.equal(restartDelayMs(restarts), delay));
});

describe('kubelet: probes (pkg/kubelet/prober/worker.go doProbe)', () => {
  test('a new container is not Ready, and readiness waits for the startup probe', () => {
    const state = initialProbeState(true);
    assert.equal(state.ready, false);
    assert.equal(probePeriodMs(state, startup, readiness), 2000);
    const started = afterProbe(state, true, startup, readiness);
    assert.deepEqual(started, { state: { started: true, ready: false, successes: 0, failures: 0 }, restart: false });
    // prober_manager.go UpdatePodStatus triggers the readiness worker as soon as the container has started.
    assert.equal(probePeriodMs(started.state, startup, readiness, state), 0, 'the first readiness probe at once');
    assert.equal(probePeriodMs(started.state, startup, readiness, started.state), 5000, 'then every readiness period');
    assert.equal(afterProbe(started.state, true, startup, readiness).state.ready, true, 'successThreshold 1: one success');
  });

  test('Ready is lost only after failureThreshold failures in a row', () => {
    let state = { started: true, ready: true, successes: 3, failures: 0 };
    state = afterProbe(state, false, startup, readiness).state;
    assert.equal(state.ready, true, 'one failure: still Ready');
    state = afterProbe(state, false, startup, readiness).state;
    assert.equal(state.ready, false, 'two failures: not Ready');
  });

  test('a startup probe that fails failureThreshold times restarts the container (unready for 60 s)', () => {
    let state = initialProbeState(true);
    for (let i = 1; i < 30; i++) {
      const outcome = afterProbe(state, false, startup, readiness);
      assert.equal(outcome.restart, false, `failure ${i}`);
      state = outcome.state;
    }
    assert.equal(afterProbe(state, false, startup, readiness).restart, true);
  });
});

describe('Service endpoints (EndpointSlice conditions; propagation delay)', () => {
  test('a pod takes traffic only while Ready and not terminating', () => {
    assert.equal(wantsTraffic({ ready: true, terminating: false }), true);
    assert.equal(wantsTraffic({ ready: true, terminating: true }), false);
    assert.equal(wantsTraffic({ ready: false, terminating: false }), false);
  });
  test('with no ready endpoint, kube-proxy falls back to terminating pods still serving (topology.go CategorizeEndpoints)', () => {
    assert.equal(servingWhileTerminating({ ready: true, terminating: true }), true);
    assert.equal(servingWhileTerminating({ ready: false, terminating: true }), false, 'a terminating pod that was not Ready is not serving');
    assert.equal(servingWhileTerminating({ ready: true, terminating: false }), false, 'a live pod is a ready endpoint, not the fallback');
  });
  test('changes reach the clients after the propagation delay', () => {
    const changes = [{ atMs: 0, serving: true }, { atMs: 5000, serving: false }];
    assert.equal(routedAt(changes, 999, 1000), false);
    assert.equal(routedAt(changes, 1000, 1000), true);
    assert.equal(routedAt(changes, 5999, 1000), true, 'a deleted pod still gets traffic for the delay (kubernetes#67592)');
    assert.equal(routedAt(changes, 6000, 1000), false);
  });
});

describe('release watch (the rehearsal rules)', () => {
  const base: WatchObservation = {
    nowMs: 100_000,
    newPodNotReadyMs: 0,
    newPodRestarts: 0,
    startupBudgetMs: 60_000,
    rolloutDoneAtMs: null,
    window: { requests: 100, failed: 0 },
    windowMs: 1000,
  };
  const cases: [string, Partial<WatchObservation>, string][] = [
    ['rolling out: watching', {}, 'watching'],
    ['a new pod starting for a while (slow): watching', { newPodNotReadyMs: 30_000 }, 'watching'],
    ['a new pod not Ready past the startup budget: bad (stalled)', { newPodNotReadyMs: 60_001 }, 'bad'],
    ['no new pod crashed: watching', { newPodRestarts: 0 }, 'watching'],
    ['a new pod crashed once: bad (CrashLoopBackOff)', { newPodRestarts: 1 }, 'bad'],
    ['done, clean window: good', { rolloutDoneAtMs: 90_000 }, 'good'],
    ['done, window not over: watching', { rolloutDoneAtMs: 99_500 }, 'watching'],
    ['done, 30 % failed: bad', { rolloutDoneAtMs: 90_000, window: { requests: 100, failed: 30 } }, 'bad'],
    ['done, too few requests to judge: good', { rolloutDoneAtMs: 90_000, window: { requests: 5, failed: 5 } }, 'good'],
  ];
  for (const [name, over, verdict] of cases) test(name, () => assert.equal(judge(DEFAULT_WATCH_RULES, { ...base, ...over }).verdict, verdict));
});

describe('release watch with an analysis (canary-analysis): the analysis stops the release', () => {
  const o: WatchObservation = { nowMs: 100_000, newPodNotReadyMs: 0, newPodRestarts: 3, startupBudgetMs: 60_000, rolloutDoneAtMs: null, window: { requests: 0, failed: 0 }, windowMs: 1000 };
  test('while the AnalysisRun runs, not even a crash-looping canary is judged by the watch', () => {
    assert.equal(judgeWithAnalysis(DEFAULT_WATCH_RULES, o, { phase: 'Running', detail: '' }).verdict, 'watching');
  });
  test('Failed, Error and Inconclusive fail the sync: bad, by the analysis', () => {
    for (const phase of ['Failed', 'Error', 'Inconclusive'] as const) {
      const verdict = judgeWithAnalysis(DEFAULT_WATCH_RULES, { ...o, newPodRestarts: 0 }, { phase, detail: 'x' });
      assert.ok(verdict.verdict === 'bad' && verdict.rule === 'analysis', phase);
    }
  });
  test('after a Successful run the watch rules apply (a canary never Ready gets no traffic to judge)', () => {
    const verdict = judgeWithAnalysis(DEFAULT_WATCH_RULES, { ...o, newPodRestarts: 0, newPodNotReadyMs: 61_000 }, { phase: 'Successful', detail: '' });
    assert.ok(verdict.verdict === 'bad' && verdict.rule === 'stalled');
  });
});
