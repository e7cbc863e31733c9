// Policy of the Argo Rollouts analysis objects (kustomize/overlays/canary-analysis): only that overlay has them, the
// AnalysisRun is a PostSync hook after the smoke test and runs exactly the AnalysisTemplate's metrics, and every
// metric reads the canary pod's GET /stats in a way the rehearsal's model of Argo Rollouts can evaluate (the same
// parser refuses what the model would not understand, so the bundle cannot drift away from what is rehearsed).
import { AnalysisModelError, mapWebUrl, parseAnalysis } from '../rehearsal/model/argo-rollouts-analysis.ts';
import { RequestStats } from '../src/request-stats.ts';
import { appName, arr, expected, rec } from './policy.ts';
import { describe } from './schema.ts';
import type { K8sObject, Problem } from './types.ts';

export const canaryAnalysisOverlay = 'canary-analysis';
export const analysisKinds = new Set(['AnalysisTemplate', 'AnalysisRun']);
/** The figures GET /stats serves (src/request-stats.ts). */
const statsFields = new Set(Object.keys(new RequestStats(1).snapshot(0)));
/** A PostSync analysis holds the sync until it ends: at most this long (count x interval), so a sync ends in bounded time. */
export const maxAnalysisMs = 10 * 60_000;

const isBefore = (policy: string | undefined) => (policy ?? '').split(',').map((s) => s.trim()).includes('BeforeHookCreation');

/** Analysis objects outside canary-analysis are a problem; inside it, the checks below. Runs for every overlay. */
export function checkAnalysis(overlay: string, objects: readonly K8sObject[]): Problem[] {
  const problems: Problem[] = [];
  const add = (obj: K8sObject | string, field: string, message: string) =>
    problems.push({ scope: overlay, object: typeof obj === 'string' ? obj : describe(obj), field, message });
  const templates = objects.filter((o) => o.kind === 'AnalysisTemplate');
  const runs = objects.filter((o) => o.kind === 'AnalysisRun');
  if (overlay !== canaryAnalysisOverlay) {
    for (const o of [...templates, ...runs]) add(o, 'kind', `Argo Rollouts analysis belongs only to the ${canaryAnalysisOverlay} overlay`);
    return problems;
  }
  const namespace = `${appName}-${overlay}`;
  const sts = objects.find((o) => o.kind === 'StatefulSet' && o.metadata?.name === appName);
  const spec = rec(sts?.['spec']);
  const replicas = typeof spec['replicas'] === 'number' ? spec['replicas'] : 1;
  const partition = rec(rec(spec['updateStrategy'])['rollingUpdate'])['partition'];
  const serviceName = spec['serviceName'];

  if (templates.length !== 1) add('AnalysisTemplate/?', '', `exactly one AnalysisTemplate is required, found ${templates.length}`);
  if (runs.length !== 1) add('AnalysisRun/?', '', `exactly one AnalysisRun (the PostSync hook) is required, found ${runs.length}`);
  const template = templates[0];
  const run = runs[0];
  if (!template || !run) return problems;

  // --- the AnalysisRun is the hook; the template is the one declaration ---
  const ann = run.metadata?.annotations ?? {};
  if (ann['argocd.argoproj.io/hook'] !== 'PostSync') add(run, 'metadata.annotations[argocd.argoproj.io/hook]', 'must be PostSync (runs only once every resource is Healthy, so it reads the new release)');
  if (!isBefore(ann['argocd.argoproj.io/hook-delete-policy'])) add(run, 'metadata.annotations[argocd.argoproj.io/hook-delete-policy]', 'must include BeforeHookCreation (the fixed name is created afresh on every sync)');
  const smoke = objects.find((o) => o.kind === 'Job' && o.metadata?.annotations?.['argocd.argoproj.io/hook'] === 'PostSync' && o.metadata?.name === 'rollcall-smoke');
  const wave = (o: K8sObject | undefined) => Number(o?.metadata?.annotations?.['argocd.argoproj.io/sync-wave'] ?? 0);
  if (smoke && !(wave(run) > wave(smoke))) add(run, 'metadata.annotations[argocd.argoproj.io/sync-wave]', `must be after the smoke test's wave ${wave(smoke)} (first every replica answers, then the canary is judged)`);
  if (template.metadata?.annotations?.['argocd.argoproj.io/hook']) add(template, 'metadata.annotations[argocd.argoproj.io/hook]', 'the AnalysisTemplate is an ordinary resource, not a hook');
  const runSpec = rec(run['spec']);
  const tplSpec = rec(template['spec']);
  if (JSON.stringify(runSpec['metrics']) !== JSON.stringify(tplSpec['metrics'])) add(run, 'spec.metrics', `must equal AnalysisTemplate/${String(template.metadata?.name)} spec.metrics (copied by the overlay's replacement)`);
  const runArgs = new Map(arr(runSpec['args']).map(rec).map((a) => [String(a['name']), a['value']]));
  for (const a of arr(tplSpec['args']).map(rec)) {
    if (a['value'] === undefined && runArgs.get(String(a['name'])) === undefined) add(run, `spec.args[${String(a['name'])}]`, 'the template declares it without a value: the run must set it');
  }
  if (runArgs.has('namespace') && runArgs.get('namespace') !== namespace) add(run, 'spec.args[namespace].value', `must be ${namespace}, got ${JSON.stringify(runArgs.get('namespace'))}`);

  // --- each metric, as the rehearsal's model reads it ---
  let metrics;
  try {
    metrics = parseAnalysis(run);
  } catch (err) {
    if (!(err instanceof AnalysisModelError)) throw err;
    add(run, 'spec.metrics', err.message);
    return problems;
  }
  metrics.forEach((m, i) => {
    const f = `spec.metrics[${i}]`;
    if (m.count === undefined || m.intervalMs === undefined) add(run, `${f}.count`, 'count and interval must be set: a PostSync analysis without an end holds the sync forever');
    else if (m.count * m.intervalMs > maxAnalysisMs) add(run, `${f}.count`, `count x interval = ${(m.count * m.intervalMs) / 1000} s, more than ${maxAnalysisMs / 1000} s of sync`);
    if (m.failureLimit < 0) add(run, `${f}.failureLimit`, 'must be >= 0 (a negative limit never fails the metric)');
    if (!m.successCondition && !m.failureCondition) add(run, `${f}.successCondition`, 'a condition is required (without one every measurement succeeds)');
    if (m.jsonPath.length !== 1 || !statsFields.has(m.jsonPath[0]!)) add(run, `${f}.provider.web.jsonPath`, `must name one figure GET /stats serves (${[...statsFields].join(', ')}), got ${JSON.stringify(m.jsonPath)}`);
    let target;
    try {
      target = mapWebUrl(m.url);
    } catch (err) {
      add(run, `${f}.provider.web.url`, (err as Error).message);
      return;
    }
    if (target.statefulSet !== appName || target.service !== serviceName || target.namespace !== namespace || target.port !== expected.port || target.path !== '/stats') {
      add(run, `${f}.provider.web.url`, `must be http://${appName}-<ordinal>.${String(serviceName)}.${namespace}.svc...:${expected.port}/stats, got ${m.url}`);
    }
    if (typeof partition !== 'number' || !(target.ordinal >= partition && target.ordinal < replicas)) {
      add(run, `${f}.provider.web.url`, `must name a canary pod (ordinal >= partition ${JSON.stringify(partition)} and < replicas ${replicas}), got ${target.pod}`);
    }
  });
  return problems;
}
