// What a rendered overlay tells the rehearsal: how many pods, in which order they start, how an update replaces
// them, and the timings (drain, probes, minReadySeconds) that decide how long it takes and whether it drops traffic.
// Read from the real `kustomize build` output, so the rehearsal follows the manifests, not a description of them.
import type { K8sObject } from '../bundle/types.ts';
import { mapWebUrl, parseAnalysis } from './model/argo-rollouts-analysis.ts';
import { readBlueGreen, type BlueGreenState } from './model/blue-green.ts';
import { checkPodSpec } from './model/container-allowlist.ts';

export type UpdatePlan =
  | { type: 'RollingUpdate'; partition: number; maxUnavailable: number }
  /** OnDelete: nothing happens unless someone deletes pods; `deleteAll` when the recreate hook deletes them all. */
  | { type: 'OnDelete'; deleteAll: boolean };

export interface ProbePlan {
  periodMs: number;
  failureThreshold: number;
  successThreshold: number;
  /** httpGet.path: what the probe asks the container. */
  path: string;
  /** initialDelaySeconds: no probe of this kind before that long after the container started (worker.go doProbe). */
  initialDelayMs: number;
  /** timeoutSeconds (default 1): an answer slower than this is a failure. */
  timeoutMs: number;
}

export interface RolloutPlan {
  overlay: string;
  /** metadata.name of the StatefulSet: pods are named <setName>-<ordinal>. */
  setName: string;
  replicas: number;
  podManagementPolicy: 'OrderedReady' | 'Parallel';
  update: UpdatePlan;
  minReadyMs: number;
  /** Environment of the app container, literal values only (valueFrom entries are filled in per pod). */
  env: Record<string, string>;
  readiness: ProbePlan;
  /** The startup probe, when the container has one: readiness waits for it, and its failures restart the container. */
  startup?: ProbePlan;
  /** The liveness probe, when the container has one: runs once started; its failures restart the container. */
  liveness?: ProbePlan;
  terminationGraceMs: number;
  /** canary-analysis: the AnalysisRun each sync creates, as rendered (rehearsal/run/analysis-run.ts runs it). */
  analysisRun?: K8sObject;
  /** blue-green: both colours as the overlay declares them; the fields above are the active colour's StatefulSet
   * (both colours are the base's StatefulSet renamed, so they share every setting but name and size). */
  blueGreen?: BlueGreenState;
}

type Rec = Record<string, unknown>;
const rec = (value: unknown): Rec => (value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Rec) : {});
const num = (value: unknown, fallback: number): number => (typeof value === 'number' ? value : fallback);

/** maxUnavailable may be a percentage; the StatefulSet controller rounds it down, with a minimum of one pod. */
function resolveMaxUnavailable(value: unknown, replicas: number): number {
  if (typeof value === 'string' && value.endsWith('%')) return Math.max(1, Math.floor((replicas * Number.parseInt(value, 10)) / 100));
  return Math.max(1, num(value, 1));
}

/**
 * StatefulSet fields that change what the controllers do but that the rehearsal does not model: refused with the field
 * named, so a figure is never computed from a manifest the model silently misreads.
 */
function refuseUnmodelled(overlay: string, spec: Rec): void {
  const refuse = (field: string, why: string) => {
    throw new Error(`${overlay}: ${field} is not modelled by the rehearsal (${why}); rehearse it on a cluster instead (rollcall compare --cluster)`);
  };
  const type = rec(spec['updateStrategy'])['type'];
  if (type !== undefined && type !== 'RollingUpdate' && type !== 'OnDelete') {
    refuse(`spec.updateStrategy.type: ${String(type)}`, 'Kubernetes 1.37 adds Recreate as alpha, gate StatefulSetRecreateStrategy; the model knows RollingUpdate and OnDelete');
  }
  const start = rec(spec['ordinals'])['start'];
  if (start !== undefined && start !== 0) refuse(`spec.ordinals.start: ${String(start)}`, 'pods are named from ordinal 0');
  const retention = rec(spec['persistentVolumeClaimRetentionPolicy']);
  for (const key of ['whenDeleted', 'whenScaled']) {
    if (retention[key] === 'Delete') refuse(`spec.persistentVolumeClaimRetentionPolicy.${key}: Delete`, 'every pod keeps its volume for the whole run');
  }
}

export function planFromObjects(overlay: string, objects: readonly K8sObject[]): RolloutPlan {
  // A manifest is untrusted input: its containers become processes on this host, so every pod template must set only
  // what the allowlist allows (rehearsal/model/container-allowlist.ts), before anything is started.
  for (const o of objects) {
    const podSpec = rec(rec(o['spec'])['template'])['spec'];
    if (podSpec === undefined) continue;
    const result = checkPodSpec(podSpec);
    if (!result.ok) throw new Error(`${overlay}: ${String(o.kind)}/${o.metadata?.name ?? '?'} spec.template.spec.${result.field}: ${result.reason}; the rehearsal runs only what a manifest may set`);
  }
  const sets = objects.filter((o) => o.kind === 'StatefulSet');
  let blueGreen: BlueGreenState | undefined;
  let set = sets[0];
  if (sets.length === 2) {
    // Two StatefulSets: only the blue-green shape (rollcall-blue, rollcall-green, client Service by colour) is known.
    try {
      blueGreen = readBlueGreen(objects);
    } catch (error) {
      throw new Error(`${overlay}: two StatefulSets, but not the blue-green overlay's shape: ${(error as Error).message}`);
    }
    set = sets.find((o) => o.metadata?.name === `rollcall-${blueGreen!.active}`);
    const shape = (o: K8sObject | undefined) => {
      const { replicas: _r, selector: _s, template, ...rest } = rec(o?.['spec']);
      const pod = rec(rec(template)['spec']);
      // The image (the colour's release) may differ; everything else must not.
      const containers = ((pod['containers'] as unknown[] | undefined) ?? []).map((c) => ({ ...rec(c), image: undefined }));
      return JSON.stringify({ ...rest, pod: { ...pod, containers } });
    };
    if (shape(sets[0]) !== shape(sets[1])) throw new Error(`${overlay}: the two colours' StatefulSets differ beyond name, size and release; the rehearsal runs both from one plan`);
  } else if (sets.length !== 1) {
    throw new Error(`${overlay}: expected one StatefulSet (or two: blue-green), found ${sets.length}`);
  }
  const spec = rec(set!['spec']);
  const replicas = blueGreen ? blueGreen.colours[blueGreen.active].replicas : num(spec['replicas'], 1);
  const podSpec = rec(rec(spec['template'])['spec']);
  const container = rec((podSpec['containers'] as unknown[] | undefined)?.[0]);
  const env: Record<string, string> = {};
  for (const entry of (container['env'] as unknown[] | undefined) ?? []) {
    const { name, value } = rec(entry);
    if (typeof name === 'string' && typeof value === 'string') env[name] = value;
  }
  const strategy = rec(spec['updateStrategy']);
  const rolling = rec(strategy['rollingUpdate']);
  // The recreate emulation: OnDelete plus an Argo CD hook Job (Sync phase, so it runs on a revert too) running the
  // recreate-hook command.
  const hasRecreateHook = objects.some(
    (o) => o.kind === 'Job' && o.metadata?.annotations?.['argocd.argoproj.io/hook'] !== undefined && JSON.stringify(o).includes('recreate-hook'),
  );
  const update: UpdatePlan =
    strategy['type'] === 'OnDelete'
      ? { type: 'OnDelete', deleteAll: hasRecreateHook }
      : { type: 'RollingUpdate', partition: num(rolling['partition'], 0), maxUnavailable: resolveMaxUnavailable(rolling['maxUnavailable'], replicas) };
  // Kubernetes' defaults for a probe's fields (periodSeconds 10, failureThreshold 3, successThreshold 1,
  // timeoutSeconds 1, initialDelaySeconds 0: k8s.io/api core/v1 Probe, pkg/apis/core/v1/defaults.go SetDefaults_Probe).
  const probe = (value: unknown, field: string): ProbePlan => {
    const p = rec(value);
    const http = rec(p['httpGet']);
    if (typeof http['path'] !== 'string') throw new Error(`${overlay}: ${field}: only httpGet probes with a path are rehearsed (the pods are the app's own processes)`);
    return {
      periodMs: num(p['periodSeconds'], 10) * 1000,
      failureThreshold: num(p['failureThreshold'], 3),
      successThreshold: num(p['successThreshold'], 1),
      path: http['path'],
      initialDelayMs: num(p['initialDelaySeconds'], 0) * 1000,
      timeoutMs: num(p['timeoutSeconds'], 1) * 1000,
    };
  };
  const startup = container['startupProbe'] ? { startup: probe(container['startupProbe'], 'startupProbe') } : {};
  const liveness = container['livenessProbe'] ? { liveness: probe(container['livenessProbe'], 'livenessProbe') } : {};
  refuseUnmodelled(overlay, spec);
  // Without a readiness probe a container is Ready as soon as it runs (prober_manager.go UpdatePodStatus: no worker,
  // ready); the model always probes, so it refuses that case rather than invent a probe.
  if (!container['readinessProbe']) throw new Error(`${overlay}: the container has no readinessProbe, which the rehearsal does not model (it would be Ready as soon as it runs)`);
  const readiness = probe(container['readinessProbe'], 'readinessProbe');
  const setName = typeof rec(set!['metadata'])['name'] === 'string' ? (rec(set!['metadata'])['name'] as string) : 'rollcall';
  const analysisRun = objects.find((o) => o.kind === 'AnalysisRun');
  if (analysisRun) {
    // Refused now, with the model's own message, rather than in the middle of a rehearsal: what the model does not
    // implement, and a URL that names a pod the rehearsal does not run.
    for (const metric of parseAnalysis(analysisRun, { version: 'x' })) {
      const target = mapWebUrl(metric.url);
      if (target.statefulSet !== setName || target.ordinal >= replicas) throw new Error(`${overlay}: the analysis reads ${target.pod}, which is not a pod of StatefulSet ${setName}`);
    }
  }
  return {
    overlay,
    setName,
    replicas,
    podManagementPolicy: spec['podManagementPolicy'] === 'Parallel' ? 'Parallel' : 'OrderedReady',
    update,
    minReadyMs: num(spec['minReadySeconds'], 0) * 1000,
    env,
    readiness: readiness,
    ...startup,
    ...liveness,
    terminationGraceMs: num(podSpec['terminationGracePeriodSeconds'], 30) * 1000,
    ...(analysisRun ? { analysisRun } : {}),
    ...(blueGreen ? { blueGreen } : {}),
  };
}

/** One line a person can check against the overlay's README. */
export function describePlan(plan: RolloutPlan): string {
  const update =
    plan.update.type === 'RollingUpdate'
      ? `RollingUpdate (partition ${plan.update.partition}, maxUnavailable ${plan.update.maxUnavailable})`
      : plan.update.deleteAll
        ? 'OnDelete + hook deletes all pods'
        : 'OnDelete (nothing deletes pods)';
  const extra = plan.blueGreen
    ? `; blue-green, ${plan.blueGreen.active} active, a release goes to ${plan.blueGreen.active === 'blue' ? 'green' : 'blue'}`
    : plan.analysisRun
      ? '; Argo Rollouts AnalysisRun on the canary'
      : '';
  return `${plan.replicas} × ${plan.podManagementPolicy}, ${update}, minReadySeconds ${plan.minReadyMs / 1000}${extra}`;
}
