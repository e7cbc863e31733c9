// What every policy module of the bundle shares: value accessors for parsed YAML, the app's expected values, the
// allowed kinds and RBAC, pod templates, label selectors. Its own module so the overlay policies (policy.ts and the
// policy-*.ts it calls) import it without importing each other.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './schema.ts';
import type { K8sObject } from './types.ts';
import { hookCommandTimeout } from '../rehearsal/model/argocd-sync.ts';

type Rec = Record<string, unknown>;
export const rec = (v: unknown): Rec => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Rec) : {});
export const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export const appName = 'rollcall';
/** Expected values shared with the app contract (src/service/config.ts) and the issue. */
export const expected = {
  port: 5000,
  dataDir: '/app/data',
  pvcName: 'web-app-data',
  pvcSize: '15Mi',
  minId: 10000,
  drainMsDefault: 3000,
  shutdownTimeoutMsDefault: 10000,
  hookDeletePolicy: 'BeforeHookCreation,HookSucceeded',
} as const;

/** Namespaced kinds this bundle may contain (the AppProject whitelist is checked against the same list). */
export const allowedNamespacedKinds = new Set(['ServiceAccount', 'Service', 'StatefulSet', 'PodDisruptionBudget', 'NetworkPolicy', 'Job', 'Role', 'RoleBinding', 'AnalysisTemplate', 'AnalysisRun']);

/** The verbs a Role may grant, per apiGroup/resource: exactly what src/hooks/recreate-hook.ts calls. */
export const allowedRbac: Record<string, readonly string[]> = {
  'apps/statefulsets': ['get'],
  '/pods': ['list', 'delete'],
};

export interface PodTemplateRef {
  owner: K8sObject;
  /** e.g. spec.template.spec */
  path: string;
  spec: Rec;
  labels: Record<string, string>;
}

export function podTemplates(objects: readonly K8sObject[]): PodTemplateRef[] {
  return objects
    .filter((o) => o.kind === 'StatefulSet' || o.kind === 'Job' || o.kind === 'Deployment' || o.kind === 'DaemonSet')
    .map((o) => {
      const template = rec(rec(o['spec'])['template']);
      return {
        owner: o,
        path: 'spec.template.spec',
        spec: rec(template['spec']),
        labels: rec(rec(template['metadata'])['labels']) as Record<string, string>,
      };
    });
}

/** Does a LabelSelector (matchLabels + matchExpressions) select these labels? An empty selector selects all. */
export function selectorMatches(selector: unknown, labels: Record<string, string>): boolean {
  const s = rec(selector);
  for (const [k, v] of Object.entries(rec(s['matchLabels']))) if (labels[k] !== v) return false;
  for (const e of arr(s['matchExpressions'])) {
    const { key, operator, values } = rec(e) as { key?: string; operator?: string; values?: string[] };
    const has = key !== undefined && key in labels;
    const val = key === undefined ? undefined : labels[key];
    if (operator === 'In' && !(has && (values ?? []).includes(val!))) return false;
    if (operator === 'NotIn' && has && (values ?? []).includes(val!)) return false;
    if (operator === 'Exists' && !has) return false;
    if (operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

export function envValue(container: Rec, name: string): Rec | undefined {
  return arr(container['env']).map(rec).find((e) => e['name'] === name);
}

/** The version in package.json: the version the image built from this tree reports, and so its tag. */
export function readPackageVersion(root = repoRoot): string {
  return String((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: unknown }).version);
}

/** Hook phase the bundle's hooks run in, and why (see kustomize/components/smoke-test/smoke-job.yaml). */
export const hookPhase = 'Sync';


/** How a check reports a finding: the object (or 'Kind/name'), the field, the message. */
export type Add = (obj: K8sObject | string, field: string, message: string) => void;

/** Seconds a hook pod may need to be pulled and start Node before its command's own timeout runs. */
export const hookStartSeconds = 60;

/** A hook Job's own timeout (SMOKE_TIMEOUT_MS, RECREATE_TIMEOUT_MS): the model's reading of it, one place. */
export function hookInnerTimeout(job: K8sObject): { name: string; seconds: number } | undefined {
  const t = hookCommandTimeout(job);
  return t === undefined ? undefined : { name: t.env, seconds: t.seconds };
}

/** How long after its start a hook gives its verdict: its own timeout plus the start-up allowance, else its deadline. */
export function hookVerdictSeconds(job: K8sObject): number | undefined {
  const inner = hookInnerTimeout(job);
  if (inner !== undefined && inner.seconds > 0) return inner.seconds + hookStartSeconds;
  const deadline = rec(job['spec'])['activeDeadlineSeconds'];
  return typeof deadline === 'number' ? deadline : undefined;
}
