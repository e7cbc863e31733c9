// What a rendered overlay tells the rehearsal: how many pods, in which order they start, how an update replaces
// them, and the timings (drain, probes, minReadySeconds) that decide how long it takes and whether it drops traffic.
// Read from the real `kustomize build` output, so the rehearsal follows the manifests, not a description of them.
import type { K8sObject } from '../bundle/types.ts';

export type UpdatePlan =
  | { type: 'RollingUpdate'; partition: number; maxUnavailable: number }
  /** OnDelete: nothing happens unless someone deletes pods; `deleteAll` when the recreate hook deletes them all. */
  | { type: 'OnDelete'; deleteAll: boolean };

export interface ProbePlan {
  periodMs: number;
  failureThreshold: number;
  successThreshold: number;
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
  terminationGraceMs: number;
}

type Rec = Record<string, unknown>;
const rec = (value: unknown): Rec => (value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Rec) : {});
const num = (value: unknown, fallback: number): number => (typeof value === 'number' ? value : fallback);

/** maxUnavailable may be a percentage; the StatefulSet controller rounds it down, with a minimum of one pod. */
function resolveMaxUnavailable(value: unknown, replicas: number): number {
  if (typeof value === 'string' && value.endsWith('%')) return Math.max(1, Math.floor((replicas * Number.parseInt(value, 10)) / 100));
  return Math.max(1, num(value, 1));
}

export function planFromObjects(overlay: string, objects: readonly K8sObject[]): RolloutPlan {
  const sets = objects.filter((o) => o.kind === 'StatefulSet');
  if (sets.length !== 1) throw new Error(`${overlay}: expected exactly one StatefulSet, found ${sets.length}`);
  const spec = rec(sets[0]!['spec']);
  const replicas = num(spec['replicas'], 1);
  const podSpec = rec(rec(spec['template'])['spec']);
  const container = rec((podSpec['containers'] as unknown[] | undefined)?.[0]);
  const env: Record<string, string> = {};
  for (const entry of (container['env'] as unknown[] | undefined) ?? []) {
    const { name, value } = rec(entry);
    if (typeof name === 'string' && typeof value === 'string') env[name] = value;
  }
  const strategy = rec(spec['updateStrategy']);
  const rolling = rec(strategy['rollingUpdate']);
  // The recreate emulation: OnDelete plus an Argo CD hook Job (Sync phase since issue 13) running the recreate-hook command.
  const hasRecreateHook = objects.some(
    (o) => o.kind === 'Job' && o.metadata?.annotations?.['argocd.argoproj.io/hook'] !== undefined && JSON.stringify(o).includes('recreate-hook'),
  );
  const update: UpdatePlan =
    strategy['type'] === 'OnDelete'
      ? { type: 'OnDelete', deleteAll: hasRecreateHook }
      : { type: 'RollingUpdate', partition: num(rolling['partition'], 0), maxUnavailable: resolveMaxUnavailable(rolling['maxUnavailable'], replicas) };
  // Kubernetes' defaults for a probe's fields (periodSeconds 10, failureThreshold 3, successThreshold 1).
  const probe = (value: unknown): ProbePlan => {
    const p = rec(value);
    return { periodMs: num(p['periodSeconds'], 10) * 1000, failureThreshold: num(p['failureThreshold'], 3), successThreshold: num(p['successThreshold'], 1) };
  };
  const startup = container['startupProbe'] ? { startup: probe(container['startupProbe']) } : {};
  return {
    overlay,
    setName: typeof rec(sets[0]!['metadata'])['name'] === 'string' ? (rec(sets[0]!['metadata'])['name'] as string) : 'rollcall',
    replicas,
    podManagementPolicy: spec['podManagementPolicy'] === 'Parallel' ? 'Parallel' : 'OrderedReady',
    update,
    minReadyMs: num(spec['minReadySeconds'], 0) * 1000,
    env,
    readiness: probe(container['readinessProbe']),
    ...startup,
    terminationGraceMs: num(podSpec['terminationGracePeriodSeconds'], 30) * 1000,
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
  return `${plan.replicas} × ${plan.podManagementPolicy}, ${update}, minReadySeconds ${plan.minReadyMs / 1000}`;
}
