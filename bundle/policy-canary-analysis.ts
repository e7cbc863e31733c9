// Policy of the Argo Rollouts analysis objects (kustomize/overlays/canary-analysis): only that overlay has them, the
// AnalysisRun is a Sync-phase hook in the StatefulSet's wave (the single-step rule; the wave itself is checked
// for every overlay in bundle/policy.ts) and runs exactly the AnalysisTemplate's metrics; every metric reads the canary
// pod's GET /stats?version=<the StatefulSet's image tag> (so a run that starts while the canary pod is replaced never
// judges the previous release) in a way the rehearsal's model of Argo Rollouts can evaluate (the same parser refuses
// what the model would not understand), and ends within the hook Jobs' deadline (worstCaseDurationMs), so the sync's
// bound stays the one argocd/README.md states. The NetworkPolicy must admit the Argo Rollouts controller on 5000.
import { AnalysisModelError, mapWebUrl, parseAnalysis, worstCaseDurationMs } from '../rehearsal/model/argo-rollouts-analysis.ts';
import { RequestStats } from '../src/service/request-stats.ts';
import { appName, arr, expected, hookPhase, hookVerdictSeconds, rec, str } from './policy-basics.ts';
import { describe } from './schema.ts';
import type { K8sObject, Problem } from './types.ts';

export const canaryAnalysisOverlay = 'canary-analysis';
export const analysisKinds = new Set(['AnalysisTemplate', 'AnalysisRun']);
/** The figures GET /stats serves (src/service/request-stats.ts). */
const statsFields = new Set(Object.keys(new RequestStats(1).snapshot(0)));
/** Namespace of the Argo Rollouts controller, whose web provider sends the analysis requests (its install.yaml). */
export const argoRolloutsNamespace = 'argo-rollouts';

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
  if (runs.length !== 1) add('AnalysisRun/?', '', `exactly one AnalysisRun (the Sync-phase hook) is required, found ${runs.length}`);
  const template = templates[0];
  const run = runs[0];
  if (!template || !run) return problems;

  // --- the AnalysisRun is the hook; the template is the one declaration ---
  const ann = run.metadata?.annotations ?? {};
  if (ann['argocd.argoproj.io/hook'] !== hookPhase) add(run, 'metadata.annotations[argocd.argoproj.io/hook]', `must be ${hookPhase} (a PostSync analysis waits for a health a bad release never reaches; rehearsal/model/argocd-sync.ts)`);
  if (!isBefore(ann['argocd.argoproj.io/hook-delete-policy'])) add(run, 'metadata.annotations[argocd.argoproj.io/hook-delete-policy]', 'must include BeforeHookCreation (the fixed name is created afresh on every sync)');
  // Bounded by when the hook Jobs give their verdict (their own timeout plus start-up), not by their
  // activeDeadlineSeconds: that is sized for a disrupted pod's rerun, and only a backstop.
  const jobVerdicts = objects.filter((o) => o.kind === 'Job').map(hookVerdictSeconds).filter((d): d is number => d !== undefined);
  const deadlineMs = jobVerdicts.length > 0 ? Math.min(...jobVerdicts) * 1000 : undefined;
  if (template.metadata?.annotations?.['argocd.argoproj.io/hook']) add(template, 'metadata.annotations[argocd.argoproj.io/hook]', 'the AnalysisTemplate is an ordinary resource, not a hook');
  const runSpec = rec(run['spec']);
  const tplSpec = rec(template['spec']);
  if (JSON.stringify(runSpec['metrics']) !== JSON.stringify(tplSpec['metrics'])) add(run, 'spec.metrics', `must equal AnalysisTemplate/${String(template.metadata?.name)} spec.metrics (copied by the overlay's replacement)`);
  const runArgs = new Map(arr(runSpec['args']).map(rec).map((a) => [String(a['name']), a['value']]));
  for (const a of arr(tplSpec['args']).map(rec)) {
    if (a['value'] === undefined && runArgs.get(String(a['name'])) === undefined) add(run, `spec.args[${String(a['name'])}]`, 'the template declares it without a value: the run must set it');
  }
  if (runArgs.has('namespace') && runArgs.get('namespace') !== namespace) add(run, 'spec.args[namespace].value', `must be ${namespace}, got ${JSON.stringify(runArgs.get('namespace'))}`);
  // The release judged is the one the StatefulSet runs: its image tag, the version the app reports.
  const image = str(rec(arr(rec(rec(spec['template'])['spec'])['containers']).map(rec).find((c) => c['name'] === appName))['image']) ?? '';
  const tag = /:([^:/@]+)$/.exec(image)?.[1];
  if (runArgs.get('version') !== tag) add(run, 'spec.args[version].value', `must be the StatefulSet's image tag ${JSON.stringify(tag)} (the release being judged), got ${JSON.stringify(runArgs.get('version'))}`);

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
    const worst = worstCaseDurationMs(m);
    if (m.count === undefined || m.intervalMs === undefined) add(run, `${f}.count`, 'count and interval must be set: an analysis without an end holds the sync forever');
    else if (deadlineMs === undefined) add(run, `${f}.count`, 'no hook Job deadline to bound the analysis by (the smoke test Job is missing)');
    else if (worst > deadlineMs) add(run, `${f}.count`, `the analysis can run ${worst / 1000} s (count x (consecutiveErrorLimit + 1) readings, timeoutSeconds each, 10 s or interval apart), longer than the ${deadlineMs / 1000} s after which the hook Jobs give their verdict (own timeout + start-up), which bounds the sync`);
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
    const wantPath = `/stats?version=${tag ?? ''}`;
    if (target.statefulSet !== appName || target.service !== serviceName || target.namespace !== namespace || target.port !== expected.port || target.path !== wantPath) {
      add(run, `${f}.provider.web.url`, `must be http://${appName}-<ordinal>.${String(serviceName)}.${namespace}.svc...:${expected.port}${wantPath} (only the release being synced answers; {{args.version}}), got ${m.url}`);
    }
    if (typeof partition !== 'number' || !(target.ordinal >= partition && target.ordinal < replicas)) {
      add(run, `${f}.provider.web.url`, `must name a canary pod (ordinal >= partition ${JSON.stringify(partition)} and < replicas ${replicas}), got ${target.pod}`);
    }
  });

  // --- the Argo Rollouts controller's requests reach the canary on 5000 ---
  const pods = rec(rec(spec['template'])['metadata'])['labels'] as Record<string, string> | undefined ?? {};
  const admits = objects.filter((o) => o.kind === 'NetworkPolicy').some((np) => {
    const p = rec(np['spec']);
    const selects = Object.entries(rec(rec(p['podSelector'])['matchLabels'])).every(([k, v]) => pods[k] === v);
    return selects && arr(p['ingress']).map(rec).some((r) => admitsRollouts(r));
  });
  if (!admits) add('NetworkPolicy/?', 'spec.ingress', `must admit TCP ${expected.port} from the Argo Rollouts controller (namespace ${argoRolloutsNamespace}): its web provider reads GET /stats of the canary`);
  return problems;
}

/** Does one NetworkPolicy ingress rule admit TCP 5000 from a pod in the argo-rollouts namespace? */
export function admitsRollouts(rule: Record<string, unknown>): boolean {
  const ports = arr(rule['ports']).map(rec);
  const port = ports.length === 0 || ports.some((p) => (p['protocol'] ?? 'TCP') === 'TCP' && (p['port'] === expected.port || p['port'] === 'http'));
  const from = arr(rule['from']).map(rec);
  // No `from`: every source (https://kubernetes.io/docs/concepts/services-networking/network-policies/). Otherwise a
  // peer with a namespaceSelector matching the controller's namespace (kubernetes.io/metadata.name, set by the API
  // server on every namespace) and no podSelector narrowing it, or an empty namespaceSelector (all namespaces).
  const source = from.length === 0 || from.some((peer) => {
    if (peer['namespaceSelector'] === undefined || peer['podSelector'] !== undefined) return false;
    const ns = rec(peer['namespaceSelector']);
    const labels = rec(ns['matchLabels']);
    if (Object.keys(labels).length === 0 && arr(ns['matchExpressions']).length === 0) return true;
    return Object.keys(labels).length === 1 && labels['kubernetes.io/metadata.name'] === argoRolloutsNamespace && arr(ns['matchExpressions']).length === 0;
  });
  return port && source;
}
