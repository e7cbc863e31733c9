// rehearsal/model/argo-rollouts-analysis.ts: Argo Rollouts' analysis rules case by case. Each case names the upstream
// function it follows (argoproj/argo-rollouts at 9f8d111; expr-lang/expr at 851b241).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import {
  AnalysisModelError, assessMetric, assessRun, evaluateCondition, mapWebUrl, measure, nextMeasurementAt, parseAnalysis,
  parseCondition, parseDuration, parseJsonPath, phaseOfResult, dueMeasurements, recordMeasurement, runPhase, startRun, worstCaseDurationMs,
  type MeasurementPhase, type WebMetric,
} from '../rehearsal/model/argo-rollouts-analysis.ts';

const root = join(import.meta.dirname, '..');
const template = parseAllDocuments(readFileSync(join(root, 'kustomize/overlays/canary-analysis/analysistemplate.yaml'), 'utf8'))[0]!.toJS();

function metric(over: Partial<WebMetric> = {}): WebMetric {
  return {
    name: 'm', intervalMs: 10_000, count: 6, failureLimit: 1, inconclusiveLimit: 0, consecutiveErrorLimit: 2,
    successCondition: parseCondition('result <= 0.05'), failureCondition: undefined,
    url: 'http://rollcall-2.rollcall-headless.ns.svc.cluster.local:5000/stats', jsonPath: ['error_share'], timeoutMs: 5000, ...over,
  };
}
const ok = (share: number) => ({ status: 200, body: JSON.stringify({ window_seconds: 60, requests: 10, errors: 0, error_share: share }) });

describe('parseAnalysis: the manifest as declared', () => {
  test("the bundle's AnalysisTemplate parses with its numbers and the namespace argument substituted", () => {
    const [m, ...rest] = parseAnalysis(template, { namespace: 'rollcall-canary-analysis', version: '1.1.0' });
    assert.equal(rest.length, 0);
    assert.deepEqual(
      { ...m!, successCondition: m!.successCondition?.source },
      {
        name: 'canary-error-share', intervalMs: 10_000, count: 6, failureLimit: 1, inconclusiveLimit: 0, consecutiveErrorLimit: 4,
        successCondition: 'result <= 0.05', failureCondition: undefined,
        url: 'http://rollcall-2.rollcall-headless.rollcall-canary-analysis.svc.cluster.local:5000/stats?version=1.1.0', jsonPath: ['error_share'], timeoutMs: 2000,
      },
    );
  });
  test('an argument without a value is refused (the controller errors the run: "Unable to resolve metric arguments")', () => {
    assert.throws(() => parseAnalysis(template), /argument namespace has no value/);
    assert.throws(() => parseAnalysis(template, { namespace: 'ns' }), /argument version has no value/);
  });
  test('defaults: failureLimit 0, consecutiveErrorLimit 4 (defaults.go), timeout 10 s (NewWebMetricHttpClient), no count + no interval = 1 (EffectiveCount)', () => {
    const [m] = parseAnalysis({ kind: 'AnalysisRun', spec: { metrics: [{ name: 'x', provider: { web: { url: 'http://a-0.b.c.svc/x' } } }] } });
    assert.deepEqual([m!.failureLimit, m!.consecutiveErrorLimit, m!.timeoutMs, m!.count, m!.intervalMs, m!.jsonPath], [0, 4, 10_000, 1, undefined, []]);
    const [n] = parseAnalysis({ kind: 'AnalysisRun', spec: { metrics: [{ name: 'x', interval: '30s', provider: { web: { url: 'u' } } }] } });
    assert.equal(n!.count, undefined, 'an interval without count runs until it fails');
  });
  test('refuses what the model does not implement, naming it', () => {
    const run = (m: Record<string, unknown>) => parseAnalysis({ kind: 'AnalysisRun', spec: { metrics: [{ name: 'x', provider: { web: { url: 'u' } }, ...m }] } });
    assert.throws(() => run({ provider: { prometheus: { query: 'q' } } }), /only the web provider/);
    assert.throws(() => run({ consecutiveSuccessLimit: 3 }), /consecutiveSuccessLimit is not modelled/);
    assert.throws(() => run({ initialDelay: '30s' }), /initialDelay is not modelled/);
    assert.throws(() => run({ successCondition: 'result[0] < 1 && result[1] > 0' }), /not supported by the rehearsal/);
    assert.throws(() => run({ provider: { web: { url: 'u', jsonPath: '{$.items[*].x}' } } }), /jsonPath .* not supported/);
    assert.throws(() => run({ provider: { web: { url: 'u', headers: [] } } }), /web\.headers is not modelled/);
    assert.throws(() => parseAnalysis({ kind: 'Rollout', spec: {} }), AnalysisModelError);
  });
  test('durations as Go time.ParseDuration writes them', () => {
    assert.equal(parseDuration('10s'), 10_000);
    assert.equal(parseDuration('1m30s'), 90_000);
    assert.equal(parseDuration('500ms'), 500);
    assert.throws(() => parseDuration('10'), /not a duration/);
  });
  test('jsonPath: {$.a.b}, {.a} and {$} (the default)', () => {
    assert.deepEqual(parseJsonPath('{$.a.b}'), ['a', 'b']);
    assert.deepEqual(parseJsonPath('{.error_share}'), ['error_share']);
    assert.deepEqual(parseJsonPath('{$}'), []);
  });
});

describe('mapWebUrl: the provider URL to a rehearsal pod', () => {
  test('a per-pod DNS name through the headless Service', () => {
    assert.deepEqual(mapWebUrl('http://rollcall-2.rollcall-headless.rollcall-canary-analysis.svc.cluster.local:5000/stats'), {
      pod: 'rollcall-2', statefulSet: 'rollcall', ordinal: 2, service: 'rollcall-headless', namespace: 'rollcall-canary-analysis', port: 5000, path: '/stats',
    });
    assert.equal(mapWebUrl('http://rollcall-blue-0.rollcall-headless.ns.svc:5000/stats').statefulSet, 'rollcall-blue');
  });
  test('a Service address (not one pod) or https is refused', () => {
    assert.throws(() => mapWebUrl('http://rollcall.ns.svc.cluster.local:5000/stats'), /does not name a pod/);
    assert.throws(() => mapWebUrl('https://rollcall-2.rollcall-headless.ns.svc:5000/stats'), /does not name a pod/);
    assert.throws(() => mapWebUrl('not a url'), /not a URL/);
  });
});

describe('evaluate.go EvaluateResult and expr-lang comparisons', () => {
  test('numbers compare numerically, strings byte-wise', () => {
    assert.equal(evaluateCondition(parseCondition('result <= 0.05'), 0.05), true);
    assert.equal(evaluateCondition(parseCondition('result <= 0.05'), 0.0501), false);
    assert.equal(evaluateCondition(parseCondition('result == "ready"'), 'ready'), true);
    assert.equal(evaluateCondition(parseCondition('result != 1'), 2), true);
    assert.equal(evaluateCondition(parseCondition('result > -1e3'), -999), true);
  });
  test('mismatched types do not compile in expr-lang (checker.go), so the measurement is an Error', () => {
    assert.throws(() => evaluateCondition(parseCondition('result <= 0.05'), '0.01'), /not a number/);
    assert.equal(phaseOfResult(metric(), '0.01'), 'Error');
    assert.equal(phaseOfResult(metric(), null), 'Error');
    assert.equal(evaluateCondition(parseCondition('result == 1'), null), false);
  });
  test('success only: false -> Failed; failure only: false -> Successful; both false -> Inconclusive; none -> Successful', () => {
    assert.equal(phaseOfResult(metric(), 0.5), 'Failed');
    assert.equal(phaseOfResult(metric(), 0), 'Successful');
    assert.equal(phaseOfResult(metric({ successCondition: undefined, failureCondition: parseCondition('result > 0.1') }), 0.05), 'Successful');
    assert.equal(phaseOfResult(metric({ successCondition: undefined, failureCondition: parseCondition('result > 0.1') }), 0.2), 'Failed');
    assert.equal(phaseOfResult(metric({ successCondition: parseCondition('result < 0.01'), failureCondition: parseCondition('result > 0.1') }), 0.05), 'Inconclusive');
    assert.equal(phaseOfResult(metric({ successCondition: undefined }), 'anything'), 'Successful');
  });
});

describe('webmetric.go Provider.Run: one answer -> one measurement', () => {
  test('the JSON figure at jsonPath decides', () => {
    assert.deepEqual(measure(metric(), ok(0.01)), { phase: 'Successful', value: '0.01' });
    assert.deepEqual(measure(metric(), ok(1 / 3)), { phase: 'Failed', value: String(1 / 3) });
  });
  test('non-2xx and no answer are Errors, not failures', () => {
    assert.equal(measure(metric(), { status: 503, body: '{}' }).phase, 'Error');
    assert.equal(measure(metric(), { error: 'connect ECONNREFUSED' }).phase, 'Error');
  });
  test('a missing field is an Error; a body that is not JSON is itself the result', () => {
    assert.match(measure(metric(), { status: 200, body: '{"requests":1}' }).value, /error_share is not found/);
    assert.equal(measure(metric(), { status: 200, body: '{"requests":1}' }).phase, 'Error');
    assert.equal(measure(metric({ successCondition: parseCondition('result == "ok"'), jsonPath: [] }), { status: 200, body: 'ok' }).phase, 'Successful');
  });
});

describe('analysis.go assessMetricStatus / assessMetricFailureInconclusiveOrError', () => {
  const S: MeasurementPhase = 'Successful';
  const F: MeasurementPhase = 'Failed';
  const E: MeasurementPhase = 'Error';
  const I: MeasurementPhase = 'Inconclusive';
  const cases: [string, Partial<WebMetric>, MeasurementPhase[], string][] = [
    ['no measurement yet', {}, [], 'Pending'],
    ['some successes, count not reached', {}, [S, S], 'Running'],
    ['count reached, all successful', {}, [S, S, S, S, S, S], 'Successful'],
    ['failures == failureLimit is still fine', {}, [F, S], 'Running'],
    ['failures > failureLimit fails at once, before count', {}, [F, F], 'Failed'],
    ['failureLimit 0: the first failure fails', { failureLimit: 0 }, [F], 'Failed'],
    ['failureLimit -1: failures never fail the metric', { failureLimit: -1 }, [F, F, F, F, F, F], 'Successful'],
    ['count reached with failures <= failureLimit succeeds', {}, [S, F, S, S, S, S], 'Successful'],
    ['errors do not count toward count', {}, [S, E, S, E, S, S, S], 'Running'],
    ['consecutive errors > consecutiveErrorLimit -> Error', {}, [E, E, E], 'Error'],
    ['a success resets the error streak', {}, [E, E, S, E, E], 'Running'],
    ['inconclusive > inconclusiveLimit (0) -> Inconclusive', {}, [I], 'Inconclusive'],
    ['Error wins over Failed when both limits are passed (checked last)', { failureLimit: 0 }, [F, E, E, E], 'Error'],
  ];
  for (const [label, over, phases, want] of cases) {
    test(label, () => assert.equal(assessMetric(metric(over), phases), want));
  }
});

describe('analysis.go assessRunStatus: the run', () => {
  test('Running while a metric runs; then the worst (helpers.go analysisStatusOrder)', () => {
    const a = metric({ name: 'a' });
    const b = metric({ name: 'b', count: 1 });
    assert.equal(assessRun([a, b], [['Successful'], ['Successful']]), 'Running');
    assert.equal(assessRun([a, b], [Array(6).fill('Successful'), ['Successful']]), 'Successful');
  });
  test('a failed metric ends the run even while another still runs (IsTerminating)', () => {
    const a = metric({ name: 'a' });
    const b = metric({ name: 'b', failureLimit: 0 });
    assert.equal(assessRun([a, b], [['Successful'], ['Failed']]), 'Failed');
    assert.equal(assessRun([a, b], [['Inconclusive'], ['Failed']]), 'Failed', 'Failed is worse than Inconclusive');
  });
});

describe('analysis.go generateMetricTasks: when the next measurement is due', () => {
  test('first at once, then interval after the last finished, 10 s after an error, none once decided', () => {
    const m = metric();
    assert.equal(nextMeasurementAt(m, 1000, undefined, []), 1000);
    assert.equal(nextMeasurementAt(m, 0, { finishedAtMs: 500, phase: 'Successful' }, ['Successful']), 10_500);
    assert.equal(nextMeasurementAt(metric({ intervalMs: 2000 }), 0, { finishedAtMs: 500, phase: 'Error' }, ['Error']), 10_500);
    assert.equal(nextMeasurementAt(m, 0, { finishedAtMs: 500, phase: 'Failed' }, ['Failed', 'Failed']), undefined);
    assert.equal(nextMeasurementAt(m, 0, { finishedAtMs: 500, phase: 'Successful' }, Array(6).fill('Successful')), undefined);
  });
  test("the bundle's analysis stops a consistently failing canary at its second measurement, one interval in", () => {
    const [m] = parseAnalysis(template, { namespace: 'ns', version: '1.1.0' });
    const phases: MeasurementPhase[] = [];
    let at: number | undefined = 0;
    let last: { finishedAtMs: number; phase: MeasurementPhase } | undefined;
    while ((at = nextMeasurementAt(m!, 0, last, phases)) !== undefined) {
      const { phase } = measure(m!, ok(0.3));
      phases.push(phase);
      last = { finishedAtMs: at, phase };
    }
    assert.equal(assessRun([m!], [phases]), 'Failed');
    assert.deepEqual([phases.length, last?.finishedAtMs], [2, 10_000]);
  });
});

describe('RunProgress: the helpers the rehearsal runner drives', () => {
  test('a good canary: six measurements 10 s apart, then Successful and nothing more is due', () => {
    const metrics = parseAnalysis(template, { namespace: 'ns', version: '1.1.0' });
    let run = startRun(metrics, 5000);
    const times: number[] = [];
    for (let due = dueMeasurements(metrics, run); due.length > 0; due = dueMeasurements(metrics, run)) {
      const { metric, atMs } = due[0]!;
      times.push(atMs);
      run = recordMeasurement(run, metric, measure(metrics[metric]!, ok(0.01)), atMs + 50);
    }
    assert.deepEqual(times, [5000, 15_050, 25_100, 35_150, 45_200, 55_250]);
    assert.equal(runPhase(metrics, run), 'Successful');
  });
  test('an unreachable canary: errors 10 s apart until consecutiveErrorLimit (4) is passed, then Error', () => {
    const metrics = parseAnalysis(template, { namespace: 'ns', version: '1.1.0' });
    let run = startRun(metrics, 0);
    let n = 0;
    for (let due = dueMeasurements(metrics, run); due.length > 0; due = dueMeasurements(metrics, run), n++) {
      run = recordMeasurement(run, 0, measure(metrics[0]!, { error: 'ECONNREFUSED' }), due[0]!.atMs);
    }
    assert.deepEqual([n, runPhase(metrics, run), run.measurements[0]!.at(-1)!.finishedAtMs], [5, 'Error', 40_000]);
    assert.throws(() => recordMeasurement(run, 1, { phase: 'Successful', value: '0' }, 0), /no metric 1/);
  });
});

describe('a Sync-phase run while the canary pod is replaced (GET /stats?version=)', () => {
  const metrics = () => parseAnalysis(template, { namespace: 'ns', version: '1.1.0' });
  /** Drives the run; `answer(atMs)` is what rollcall-2 answers then. Returns the run's phase and when it ended. */
  const drive = (answer: (atMs: number) => Parameters<typeof measure>[1]) => {
    const ms = metrics();
    let run = startRun(ms, 0);
    let end = 0;
    for (let due = dueMeasurements(ms, run); due.length > 0; due = dueMeasurements(ms, run)) {
      end = due[0]!.atMs;
      run = recordMeasurement(run, 0, measure(ms[0]!, answer(end)), end);
    }
    return { phase: runPhase(ms, run), end, phases: run.measurements[0]!.map((m) => m.phase) };
  };
  const oldRelease = { status: 404, body: JSON.stringify({ error: 'version not served here', requested: '1.1.0', version: '1.0.0' }) };
  test('the previous release answering 404 is an Error, never a pass: a good new release up 25 s in passes on its own readings', () => {
    const r = drive((t) => (t < 5000 ? oldRelease : t < 25_000 ? { error: 'connect ECONNREFUSED' } : ok(0)));
    assert.equal(r.phase, 'Successful');
    assert.deepEqual(r.phases.slice(0, 3), ['Error', 'Error', 'Error']);
    assert.equal(r.phases.filter((p) => p === 'Successful').length, 6);
  });
  test('a healthy previous release does not pass a failing new one: it fails on the new release\'s readings', () => {
    const r = drive((t) => (t < 20_000 ? oldRelease : ok(0.5)));
    assert.equal(r.phase, 'Failed');
    assert.equal(r.end, 30_000);
  });
  test('a failing previous release does not fail the revert: the good release that replaces it passes', () => {
    const failingOld = { status: 404, body: JSON.stringify({ error: 'version not served here', requested: '1.1.0', version: '1.2.0' }) };
    assert.equal(drive((t) => (t < 10_000 ? failingOld : ok(0))).phase, 'Successful');
  });
  test('a new release that never answers (crash loop): Error after five readings, 40 s in', () => {
    assert.deepEqual([drive(() => ({ error: 'connect ECONNREFUSED' })).phase, drive(() => ({ error: 'x' })).end], ['Error', 40_000]);
  });
});

describe('worstCaseDurationMs: the longest a metric can run', () => {
  test('count x (consecutiveErrorLimit + 1) readings of up to the timeout, the larger of interval and 10 s apart', () => {
    assert.equal(worstCaseDurationMs(metric({ count: 6, consecutiveErrorLimit: 4, timeoutMs: 2000, intervalMs: 10_000 })), 30 * 2000 + 29 * 10_000);
    assert.equal(worstCaseDurationMs(metric({ count: 1, consecutiveErrorLimit: 0, timeoutMs: 5000, intervalMs: 60_000 })), 5000);
    assert.equal(worstCaseDurationMs(metric({ count: 2, consecutiveErrorLimit: 0, timeoutMs: 1000, intervalMs: 60_000 })), 2000 + 60_000);
    assert.equal(worstCaseDurationMs(metric({ count: undefined })), Number.POSITIVE_INFINITY);
  });
  test("the bundle's analysis: at most 350 s, within the smoke Job's 360 s deadline", () => {
    assert.equal(worstCaseDurationMs(metrics0()), 350_000);
  });
  test('the bound holds on the worst schedule: four Errors before each of six passes', () => {
    const ms = metrics0Array();
    let run = startRun(ms, 0);
    let n = 0;
    for (let due = dueMeasurements(ms, run); due.length > 0; due = dueMeasurements(ms, run), n++) {
      const at = due[0]!.atMs;
      const res = n % 5 === 4 ? ok(0) : { error: 'timeout' };
      run = recordMeasurement(run, 0, measure(ms[0]!, res), at + ms[0]!.timeoutMs);
    }
    const last = run.measurements[0]!.at(-1)!.finishedAtMs;
    assert.equal(runPhase(ms, run), 'Successful');
    assert.equal(n, 30);
    assert.equal(last, worstCaseDurationMs(ms[0]!));
  });
});
function metrics0Array() {
  return parseAnalysis(template, { namespace: 'ns', version: '1.1.0' });
}
function metrics0() {
  return metrics0Array()[0]!;
}
