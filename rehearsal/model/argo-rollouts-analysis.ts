// Argo Rollouts' analysis controller, as far as the bundle's AnalysisTemplate / AnalysisRun use it: parse the metrics
// as the manifest declares them, turn one HTTP answer of the `web` provider into a measurement, and decide the
// metric's and the run's phase from the measurements. Pure: no clock, no network; the rehearsal runner takes the
// measurements (at the times nextMeasurementAt says) against the pod that mapWebUrl names.
//
// Sources, argoproj/argo-rollouts at 9f8d111 (2026-08-17):
// - metricproviders/webmetric/webmetric.go: Provider.Run (non-2xx -> Error), Provider.parseResponse (JSON ->
//   jsonPath, else the body text is the result), getValue (first value found), NewWebMetricJsonParser ("{$}" default).
// - utils/evaluate/evaluate.go: EvaluateResult (success/failure condition -> phase), EvalCondition (expr-lang with
//   `result` in the environment).
// - analysis/analysis.go: runMeasurements (which counters a measurement moves), assessMetricStatus,
//   assessMetricFailureInconclusiveOrError (failed > failureLimit, inconclusive > inconclusiveLimit,
//   consecutiveErrors > consecutiveErrorLimit, last one wins), assessRunStatus (worst of the metrics),
//   generateMetricTasks (next measurement after `interval`, after DefaultErrorRetryInterval = 10 s on an error).
// - utils/analysis/helpers.go: analysisStatusOrder / IsWorse, IsTerminating.
// - utils/defaults/defaults.go: DefaultConsecutiveErrorLimit = 4.
// - pkg/apis/rollouts/v1alpha1/analysis_types.go: Metric.EffectiveCount (no count and no interval -> 1).
// The latest release, v1.9.1, differs in one point the bundle cannot hit: it takes a body that is not JSON as
// Successful without evaluating the conditions (GET /stats always answers JSON).
// Anything else a manifest could say (other providers, consecutiveSuccessLimit, initialDelay, dryRun, expressions
// beyond one comparison) is refused with AnalysisModelError rather than guessed.

export class AnalysisModelError extends Error {
  override name = 'AnalysisModelError';
}

export type MeasurementPhase = 'Successful' | 'Failed' | 'Inconclusive' | 'Error';
export type AnalysisPhase = MeasurementPhase | 'Pending' | 'Running';

/** One comparison `result <op> literal`, the only expression form the model evaluates (see parseCondition). */
export interface Condition {
  source: string;
  op: '<' | '<=' | '>' | '>=' | '==' | '!=';
  literal: number | string;
}

export interface WebMetric {
  name: string;
  /** Milliseconds between measurements; undefined when the manifest sets no interval. */
  intervalMs: number | undefined;
  /** Measurements after which the metric succeeds (EffectiveCount); undefined = runs until it fails. */
  count: number | undefined;
  failureLimit: number;
  inconclusiveLimit: number;
  consecutiveErrorLimit: number;
  successCondition: Condition | undefined;
  failureCondition: Condition | undefined;
  /** With {{args.*}} already substituted. */
  url: string;
  /** Keys from the root, e.g. ['error_share'] for "{$.error_share}"; [] for "{$}". */
  jsonPath: string[];
  timeoutMs: number;
}

/** analysis/analysis.go: DefaultErrorRetryInterval. */
export const errorRetryIntervalMs = 10_000;
/** utils/defaults/defaults.go: DefaultConsecutiveErrorLimit. */
export const defaultConsecutiveErrorLimit = 4;
/** webmetric.go NewWebMetricHttpClient: 10 s when timeoutSeconds <= 0. */
export const defaultWebTimeoutMs = 10_000;

type Rec = Record<string, unknown>;
const rec = (v: unknown): Rec => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Rec) : {});

const supportedMetricKeys = new Set(['name', 'interval', 'count', 'failureLimit', 'inconclusiveLimit', 'consecutiveErrorLimit', 'successCondition', 'failureCondition', 'provider']);
const supportedWebKeys = new Set(['url', 'jsonPath', 'timeoutSeconds', 'method']);

/** Go's time.ParseDuration for the units a manifest uses (ms, s, m, h, combined: "1m30s"). */
export function parseDuration(text: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) throw new AnalysisModelError(`interval ${JSON.stringify(text)} is not a duration like 10s, 1m or 1m30s`);
  return parts.reduce((ms, p) => ms + Number(p[1]) * units[p[2]!]!, 0);
}

/** IntOrString counts (count, failureLimit, ...): a number or a numeric string; args in them are not supported. */
function intField(metric: Rec, key: string, fallback: number | undefined): number | undefined {
  const v = metric[key];
  if (v === undefined) return fallback;
  const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n)) throw new AnalysisModelError(`metric ${String(metric['name'])}: ${key} ${JSON.stringify(v)} is not an integer`);
  return n;
}

/**
 * expr-lang's grammar is far larger; the bundle uses one comparison of `result` with a number or a double-quoted
 * string, and that is all this model evaluates. In Argo Rollouts `result` is the jsonPath value as encoding/json
 * decodes it (numbers are float64), compared with expr's operators (numbers numerically, strings byte-wise).
 */
export function parseCondition(source: string): Condition {
  const m = /^\s*result\s*(<=|>=|==|!=|<|>)\s*(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|"(?:[^"\\]|\\.)*")\s*$/.exec(source);
  if (!m) throw new AnalysisModelError(`condition ${JSON.stringify(source)} is not supported by the rehearsal: only \`result <op> <number or "string">\` with <, <=, >, >=, ==, != is modelled`);
  const raw = m[2]!;
  return { source, op: m[1] as Condition['op'], literal: raw.startsWith('"') ? (JSON.parse(raw) as string) : Number(raw) };
}

/** k8s.io/client-go/util/jsonpath as NewWebMetricJsonParser uses it, for plain field paths only. */
export function parseJsonPath(text: string): string[] {
  const m = /^\{\s*\$?((?:\.[A-Za-z_][A-Za-z0-9_-]*)*)\s*\}$/.exec(text);
  if (!m) throw new AnalysisModelError(`jsonPath ${JSON.stringify(text)} is not supported by the rehearsal: only plain field paths like {$.error_share} are modelled`);
  return m[1] === '' ? [] : m[1]!.slice(1).split('.');
}

/** Replaces {{args.NAME}} like Argo Rollouts' argument resolution; an argument without a value is an error. */
export function substituteArgs(text: string, args: Readonly<Record<string, string>>): string {
  return text.replace(/\{\{\s*args\.([A-Za-z0-9_.-]+)\s*\}\}/g, (_, name: string) => {
    const v = args[name];
    if (v === undefined) throw new AnalysisModelError(`argument ${name} has no value (the AnalysisRun must set it)`);
    return v;
  });
}

/**
 * The metrics of an AnalysisTemplate or AnalysisRun, with its `spec.args` values (and `extraArgs`, which win)
 * substituted. Refuses what the model does not implement.
 */
export function parseAnalysis(manifest: unknown, extraArgs: Readonly<Record<string, string>> = {}): WebMetric[] {
  const obj = rec(manifest);
  if (obj['kind'] !== 'AnalysisTemplate' && obj['kind'] !== 'AnalysisRun') throw new AnalysisModelError(`expected an AnalysisTemplate or AnalysisRun, got ${JSON.stringify(obj['kind'])}`);
  const spec = rec(obj['spec']);
  if (spec['dryRun'] !== undefined) throw new AnalysisModelError('dryRun is not modelled');
  const args: Record<string, string> = {};
  for (const a of Array.isArray(spec['args']) ? spec['args'] : []) {
    const { name, value } = rec(a);
    if (typeof name === 'string' && typeof value === 'string') args[name] = value;
  }
  Object.assign(args, extraArgs);
  const metrics = Array.isArray(spec['metrics']) ? spec['metrics'].map(rec) : [];
  if (metrics.length === 0) throw new AnalysisModelError('spec.metrics is empty');
  return metrics.map((m) => {
    const name = String(m['name']);
    for (const k of Object.keys(m)) if (!supportedMetricKeys.has(k)) throw new AnalysisModelError(`metric ${name}: ${k} is not modelled by the rehearsal`);
    const provider = rec(m['provider']);
    const web = rec(provider['web']);
    if (Object.keys(provider).length !== 1 || provider['web'] === undefined) throw new AnalysisModelError(`metric ${name}: only the web provider is modelled, got ${Object.keys(provider).join(', ') || 'none'}`);
    for (const k of Object.keys(web)) if (!supportedWebKeys.has(k)) throw new AnalysisModelError(`metric ${name}: web.${k} is not modelled by the rehearsal`);
    if (web['method'] !== undefined && web['method'] !== 'GET') throw new AnalysisModelError(`metric ${name}: only GET is modelled`);
    const interval = m['interval'];
    const intervalMs = typeof interval === 'string' ? parseDuration(interval) : undefined;
    let count = intField(m, 'count', undefined);
    // analysis_types.go Metric.EffectiveCount: no count (or 0) and no interval -> 1; no count with an interval -> none.
    if (count === undefined || count === 0) count = intervalMs === undefined ? 1 : undefined;
    const timeout = intField(web, 'timeoutSeconds', 0)!;
    const cond = (key: string) => (typeof m[key] === 'string' && m[key] !== '' ? parseCondition(m[key]) : undefined);
    return {
      name,
      intervalMs,
      count,
      failureLimit: intField(m, 'failureLimit', 0)!,
      inconclusiveLimit: intField(m, 'inconclusiveLimit', 0)!,
      consecutiveErrorLimit: intField(m, 'consecutiveErrorLimit', defaultConsecutiveErrorLimit)!,
      successCondition: cond('successCondition'),
      failureCondition: cond('failureCondition'),
      url: substituteArgs(String(web['url'] ?? ''), args),
      jsonPath: parseJsonPath(typeof web['jsonPath'] === 'string' && web['jsonPath'] !== '' ? web['jsonPath'] : '{$}'),
      timeoutMs: timeout > 0 ? timeout * 1000 : defaultWebTimeoutMs,
    };
  });
}

/** Where a provider URL points in the cluster: a StatefulSet pod through its headless Service's per-pod DNS name. */
export interface PodTarget {
  pod: string;
  statefulSet: string;
  ordinal: number;
  service: string;
  namespace: string;
  port: number;
  path: string;
}

/** http://<set>-<ordinal>.<service>.<namespace>.svc[.<cluster domain>]:<port><path>; anything else is refused. */
export function mapWebUrl(url: string): PodTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new AnalysisModelError(`url ${JSON.stringify(url)} is not a URL`);
  }
  const host = /^(([a-z0-9-]+)-(\d+))\.([a-z0-9-]+)\.([a-z0-9-]+)\.svc(\.[a-z0-9.-]+)?$/.exec(u.hostname);
  if (u.protocol !== 'http:' || !host) throw new AnalysisModelError(`url ${JSON.stringify(url)} does not name a pod through a headless Service (http://<set>-<ordinal>.<service>.<namespace>.svc...)`);
  return { pod: host[1]!, statefulSet: host[2]!, ordinal: Number(host[3]), service: host[4]!, namespace: host[5]!, port: Number(u.port || 80), path: `${u.pathname}${u.search}` };
}

/** Go's encoding/json into `any`: numbers become float64; here a JS number is already that. */
function lookup(value: unknown, path: readonly string[]): { found: true; value: unknown } | { found: false; key: string } {
  let v = value;
  for (const key of path) {
    const r = v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Rec) : undefined;
    if (!r || !Object.hasOwn(r, key)) return { found: false, key };
    v = r[key];
  }
  return { found: true, value: v };
}

/**
 * expr-lang comparison of `result` with the literal. expr-lang checker/checker.go (binary nodes): <, >, <=, >= need
 * two numbers or two strings, == and != two comparable types, else the expression does not compile, which
 * EvaluateResult turns into an Error measurement. A JSON null has no static type there: == / != compile and compare
 * unequal; the ordering operators fail at run time.
 */
export function evaluateCondition(condition: Condition, result: unknown): boolean {
  const { op, literal } = condition;
  if (result === null && (op === '==' || op === '!=')) return op === '!=';
  if (typeof result !== typeof literal || (typeof result !== 'number' && typeof result !== 'string')) {
    throw new AnalysisModelError(`could not evaluate ${JSON.stringify(condition.source)}: result is ${JSON.stringify(result)}, not a ${typeof literal}`);
  }
  const a = result as number | string;
  switch (op) {
    case '<': return a < literal;
    case '<=': return a <= literal;
    case '>': return a > literal;
    case '>=': return a >= literal;
    case '==': return a === literal;
    case '!=': return a !== literal;
  }
}

/** evaluate.go EvaluateResult: which phase a value gets from the success and failure conditions. */
export function phaseOfResult(metric: Pick<WebMetric, 'successCondition' | 'failureCondition'>, result: unknown): MeasurementPhase {
  const { successCondition: s, failureCondition: f } = metric;
  if (!s && !f) return 'Successful';
  let success: boolean;
  let failure: boolean;
  try {
    success = s ? evaluateCondition(s, result) : false;
    failure = f ? evaluateCondition(f, result) : false;
  } catch {
    return 'Error';
  }
  if (s && !f) failure = !success;
  if (!s && f) success = !failure;
  if (failure) return 'Failed';
  if (!success) return 'Inconclusive';
  return 'Successful';
}

/** What the provider got: an HTTP answer, or no answer (connection refused, timeout). */
export type WebResponse = { status: number; body: string } | { error: string };

export interface Measurement {
  phase: MeasurementPhase;
  /** The value the conditions saw (JSON text as webmetric.go stores it), or the error message. */
  value: string;
}

/** webmetric.go Provider.Run + parseResponse: one measurement from one answer. */
export function measure(metric: WebMetric, response: WebResponse): Measurement {
  if ('error' in response) return { phase: 'Error', value: response.error };
  if (response.status < 200 || response.status >= 300) return { phase: 'Error', value: `received non 2xx response code: ${response.status}` };
  let data: unknown;
  try {
    data = JSON.parse(response.body);
  } catch {
    // Not JSON: the body text itself is the result.
    return { phase: phaseOfResult(metric, response.body), value: response.body };
  }
  const found = lookup(data, metric.jsonPath);
  if (!found.found) return { phase: 'Error', value: `Could not find JSONPath in body: ${found.key} is not found` };
  return { phase: phaseOfResult(metric, found.value), value: JSON.stringify(found.value) };
}

/** analysis.go assessMetricFailureInconclusiveOrError + assessMetricStatus, for a metric's measurements in order. */
export function assessMetric(metric: WebMetric, phases: readonly MeasurementPhase[], terminating = false): AnalysisPhase {
  if (phases.length === 0) return terminating ? 'Successful' : 'Pending';
  let failed = 0;
  let inconclusive = 0;
  let consecutiveErrors = 0;
  let count = 0;
  for (const p of phases) {
    // runMeasurements: an Error moves only the error counters; the other phases count and reset the error streak.
    if (p === 'Error') consecutiveErrors++;
    else {
      consecutiveErrors = 0;
      count++;
      if (p === 'Failed') failed++;
      if (p === 'Inconclusive') inconclusive++;
    }
  }
  let phase: AnalysisPhase | undefined;
  if (metric.failureLimit >= 0 && failed > metric.failureLimit) phase = 'Failed';
  if (inconclusive > metric.inconclusiveLimit) phase = 'Inconclusive';
  if (consecutiveErrors > metric.consecutiveErrorLimit) phase = 'Error';
  if (phase) return phase;
  if (metric.count !== undefined && count >= metric.count) return 'Successful';
  return terminating ? 'Successful' : 'Running';
}

/** helpers.go analysisStatusOrder, best to worst. */
const order: readonly AnalysisPhase[] = ['Successful', 'Running', 'Pending', 'Inconclusive', 'Error', 'Failed'];

/** analysis.go assessRunStatus: Running until every metric completed (or one ended it), then the worst phase. */
export function assessRun(metrics: readonly WebMetric[], phasesByMetric: readonly (readonly MeasurementPhase[])[]): AnalysisPhase {
  const first = metrics.map((m, i) => assessMetric(m, phasesByMetric[i] ?? []));
  // helpers.go IsTerminating: a metric that Failed, Errored or was Inconclusive ends the whole run.
  const terminating = first.some((p) => p === 'Failed' || p === 'Error' || p === 'Inconclusive');
  const phases = terminating ? metrics.map((m, i) => assessMetric(m, phasesByMetric[i] ?? [], true)) : first;
  if (!terminating && phases.some((p) => p === 'Pending' || p === 'Running')) return 'Running';
  return phases.reduce((worst, p) => (order.indexOf(p) > order.indexOf(worst) ? p : worst), 'Successful');
}

/**
 * analysis.go generateMetricTasks: when the next measurement is due, in the caller's clock (ms since the run
 * started, say). The first is due at once; the next `interval` after the last one finished, or 10 s after an Error;
 * undefined when the metric needs no more (completed or count reached).
 */
export function nextMeasurementAt(metric: WebMetric, startedAtMs: number, last: { finishedAtMs: number; phase: MeasurementPhase } | undefined, phases: readonly MeasurementPhase[]): number | undefined {
  const state = assessMetric(metric, phases);
  if (state !== 'Pending' && state !== 'Running') return undefined;
  if (!last) return startedAtMs;
  const wait = last.phase === 'Error' || metric.intervalMs === undefined ? errorRetryIntervalMs : metric.intervalMs;
  return last.finishedAtMs + wait;
}

// ---- A run in progress, for the rehearsal runner: which measurement is due, record it, read the run's phase ----

export interface TakenMeasurement extends Measurement {
  finishedAtMs: number;
}

/** The measurements taken so far, per metric (same order as the metrics). */
export interface RunProgress {
  startedAtMs: number;
  measurements: TakenMeasurement[][];
}

export function startRun(metrics: readonly WebMetric[], startedAtMs: number): RunProgress {
  return { startedAtMs, measurements: metrics.map(() => []) };
}

/** The metrics whose next measurement is due, with the time it is due; none once the run has ended. */
export function dueMeasurements(metrics: readonly WebMetric[], run: RunProgress): { metric: number; atMs: number }[] {
  if (runPhase(metrics, run) !== 'Running') return [];
  return metrics.flatMap((m, i) => {
    const taken = run.measurements[i] ?? [];
    const last = taken.at(-1);
    const at = nextMeasurementAt(m, run.startedAtMs, last && { finishedAtMs: last.finishedAtMs, phase: last.phase }, taken.map((x) => x.phase));
    return at === undefined ? [] : [{ metric: i, atMs: at }];
  });
}

/** A new RunProgress with one more measurement of metric `index`. */
export function recordMeasurement(run: RunProgress, index: number, measurement: Measurement, finishedAtMs: number): RunProgress {
  if (!run.measurements[index]) throw new AnalysisModelError(`no metric ${index}`);
  return { ...run, measurements: run.measurements.map((list, i) => (i === index ? [...list, { ...measurement, finishedAtMs }] : list)) };
}

/** The run's phase now; Argo CD's hook health follows it (see kustomize/overlays/canary-analysis/README.md). */
export function runPhase(metrics: readonly WebMetric[], run: RunProgress): AnalysisPhase {
  return assessRun(metrics, run.measurements.map((list) => list.map((x) => x.phase)));
}

/**
 * The longest a metric can run, in ms, from the rules above (analysis.go generateMetricTasks, assessMetricStatus):
 * it ends at its `count`-th measurement that is not an Error, or at consecutiveErrorLimit + 1 Errors in a row, so at
 * most count x (consecutiveErrorLimit + 1) measurements are taken; each lasts at most the provider's timeout, and the
 * next starts `interval` after a non-Error or 10 s after an Error. Infinity when the metric has no count (it runs
 * until it fails). The controller's own reconcile delay is not included. Used by the bundle's validation: a
 * Sync-phase analysis must end within the hook Jobs' deadline.
 */
export function worstCaseDurationMs(metric: WebMetric): number {
  if (metric.count === undefined) return Number.POSITIVE_INFINITY;
  const measurements = metric.count * (Math.max(metric.consecutiveErrorLimit, 0) + 1);
  const gap = Math.max(metric.intervalMs ?? errorRetryIntervalMs, errorRetryIntervalMs);
  return measurements * metric.timeoutMs + (measurements - 1) * gap;
}
