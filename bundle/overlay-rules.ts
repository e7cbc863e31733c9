// What distinguishes each overlay: one rule per overlay name, looked up by bundle/policy.ts. A new overlay (say a
// blue-green one) adds its entry here; an overlay without an entry is reported ("no policy for overlay").
import type { K8sObject } from './types.ts';
import { allowedRbac, appName, arr, envValue, rec, str, type Add } from './policy-basics.ts';

export interface OverlayContext {
  /** The app StatefulSet and its spec. */
  sts: K8sObject;
  spec: Record<string, unknown>;
  replicas: number;
  objects: readonly K8sObject[];
  /** The Job running /app/hooks/recreate-hook.js (src/hooks/recreate-hook.ts), if any. */
  recreateHook: K8sObject | undefined;
  appServiceAccount: string | undefined;
  add: Add;
}

export type OverlayRule = (c: OverlayContext) => void;

function strategyOf(c: OverlayContext) {
  const strategy = rec(c.spec['updateStrategy']);
  const need = (cond: boolean, field: string, message: string) => {
    if (!cond) c.add(c.sts, field, message);
  };
  return { rolling: rec(strategy['rollingUpdate']), pmp: c.spec['podManagementPolicy'] ?? 'OrderedReady', type: strategy['type'] ?? 'RollingUpdate', need };
}

export const overlayRules: Record<string, OverlayRule> = {
  parallel(c) {
    const { pmp, need } = strategyOf(c);
    need(pmp === 'Parallel', 'spec.podManagementPolicy', `must be Parallel, got ${String(pmp)}`);
  },
  rolling(c) {
    const { pmp, type, rolling, need } = strategyOf(c);
    need(pmp === 'OrderedReady', 'spec.podManagementPolicy', `must be OrderedReady, got ${String(pmp)}`);
    need(type === 'RollingUpdate', 'spec.updateStrategy.type', `must be RollingUpdate, got ${String(type)}`);
    need(rolling['partition'] === 0, 'spec.updateStrategy.rollingUpdate.partition', `must be 0 (every ordinal updates), got ${JSON.stringify(rolling['partition'])}`);
    need(rolling['maxUnavailable'] === 1, 'spec.updateStrategy.rollingUpdate.maxUnavailable', `must be 1 (one pod at a time), got ${JSON.stringify(rolling['maxUnavailable'])}`);
    need(typeof c.spec['minReadySeconds'] === 'number' && c.spec['minReadySeconds'] > 0, 'spec.minReadySeconds', 'must be > 0');
  },
  canary(c) {
    const { type, rolling, need } = strategyOf(c);
    const partition = rolling['partition'];
    need(type === 'RollingUpdate', 'spec.updateStrategy.type', `must be RollingUpdate, got ${String(type)}`);
    need(typeof partition === 'number' && partition > 0 && partition < c.replicas, 'spec.updateStrategy.rollingUpdate.partition', `must be > 0 and < replicas (${c.replicas}), got ${JSON.stringify(partition)}`);
    need(typeof c.spec['minReadySeconds'] === 'number' && c.spec['minReadySeconds'] > 0, 'spec.minReadySeconds', 'must be > 0');
  },
  // The partition canary gated by an Argo Rollouts analysis: the same StatefulSet rules as canary; its analysis
  // objects are checked in bundle/policy-canary-analysis.ts.
  'canary-analysis'(c) {
    overlayRules['canary']!(c);
  },
  // Per colour nothing is fixed here; the colours' rules are in bundle/policy-blue-green.ts.
  'blue-green'() {},
  recreate(c) {
    const { type, pmp, need } = strategyOf(c);
    const { add, recreateHook } = c;
    need(type === 'OnDelete', 'spec.updateStrategy.type', `must be OnDelete, got ${String(type)}`);
    need(pmp === 'Parallel', 'spec.podManagementPolicy', `must be Parallel (pods come back together), got ${String(pmp)}`);
    if (!recreateHook) {
      add('Job/?', '', 'the recreate hook Job (node /app/hooks/recreate-hook.js) is missing');
      return;
    }
    const byKind = (kind: string) => c.objects.filter((o) => o.kind === kind);
    const hookSpec = rec(rec(rec(recreateHook['spec'])['template'])['spec']);
    const hookSa = str(hookSpec['serviceAccountName']);
    if (!hookSa || hookSa === c.appServiceAccount || hookSa === 'default') add(recreateHook, 'spec.template.spec.serviceAccountName', 'must be a dedicated ServiceAccount for the hook');
    if (hookSpec['automountServiceAccountToken'] !== true) add(recreateHook, 'spec.template.spec.automountServiceAccountToken', 'must be true (the hook calls the API)');
    // Needed verbs, granted to the hook's ServiceAccount through a RoleBinding.
    const granted = new Set<string>();
    for (const rb of byKind('RoleBinding')) {
      if (!arr(rb['subjects']).map(rec).some((s) => s['kind'] === 'ServiceAccount' && s['name'] === hookSa)) continue;
      const role = byKind('Role').find((r) => r.metadata?.name === rec(rb['roleRef'])['name']);
      for (const rule of arr(role?.['rules']).map(rec)) {
        for (const g of arr(rule['apiGroups'])) for (const r of arr(rule['resources'])) for (const v of arr(rule['verbs'])) granted.add(`${String(g)}/${String(r)}:${String(v)}`);
      }
    }
    for (const [gr, verbs] of Object.entries(allowedRbac)) {
      for (const v of verbs) if (!granted.has(`${gr}:${v}`)) add(recreateHook, 'spec.template.spec.serviceAccountName', `ServiceAccount ${String(hookSa)} lacks ${v} on ${gr}`);
    }
    const container = rec(arr(hookSpec['containers'])[0]);
    if (envValue(container, 'RECREATE_STATEFULSET')?.['value'] !== appName) add(recreateHook, 'spec.template.spec.containers[0].env[RECREATE_STATEFULSET]', `must be ${appName}`);
  },
};
