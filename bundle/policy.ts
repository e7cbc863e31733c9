// Policy checks over one rendered overlay. Every finding names the overlay, the object (Kind/name) and the field.
// What is checked and why is in kustomize/README.md ("What `npm run validate` checks").
import type { K8sObject, Problem } from './types.ts';
import { describe } from './schema.ts';
import { allowedNamespacedKinds, allowedRbac, appName, arr, envValue, expected, hookInnerTimeout, hookPhase, hookStartSeconds, podTemplates, readPackageVersion, rec, selectorMatches, str, type Add, type PodTemplateRef } from './policy-basics.ts';
import { checkApiServerRules } from './apiserver.ts';
import { overlayRules } from './overlay-rules.ts';
import { checkAnalysis } from './policy-canary-analysis.ts';
import { blueGreenOverlay, checkBlueGreen } from './policy-blue-green.ts';
import { isMultiStep, tasksFromObjects } from '../rehearsal/model/argocd-sync.ts';

/** Service.spec.selector is a plain map. */
function mapSelectorMatches(selector: Record<string, unknown>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

const clusterScopedKinds = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'PersistentVolume', 'StorageClass', 'PriorityClass']);

export function checkOverlay(overlay: string, objects: readonly K8sObject[], packageVersion: string = readPackageVersion()): Problem[] {
  // Two StatefulSets: every check below once per colour (each against its own release), plus blue-green's own,
  // which says how package.json's version applies to two colours (bundle/policy-blue-green.ts).
  if (overlay === blueGreenOverlay) return checkBlueGreen(objects, packageVersion, (name, objs, version) => checkSingleSet(name, objs, version));
  return checkSingleSet(overlay, objects, packageVersion);
}

/**
 * The overlay's own Namespace (kustomize/base/namespace.yaml): the one cluster-scoped object allowed. It replaces
 * Argo CD's CreateNamespace, which made every sync multi-step (rehearsal/model/argocd-sync.ts, multiStepSyncs), so it
 * must carry what CreateNamespace's managedNamespaceMetadata gave (Pod Security restricted) and must survive the
 * Application: never pruned, never deleted with it, since it holds the PVCs.
 */
function checkNamespace(o: K8sObject, namespace: string, add: (obj: K8sObject, field: string, message: string) => void): void {
  if (o.metadata?.name !== namespace) add(o, 'metadata.name', `the overlay's Namespace must be ${namespace}, got ${JSON.stringify(o.metadata?.name)}`);
  const labels = o.metadata?.labels ?? {};
  if (labels['pod-security.kubernetes.io/enforce'] !== 'restricted') add(o, 'metadata.labels[pod-security.kubernetes.io/enforce]', 'must be restricted (https://kubernetes.io/docs/concepts/security/pod-security-admission/)');
  const options = (o.metadata?.annotations?.['argocd.argoproj.io/sync-options'] ?? '').split(',').map((x) => x.trim());
  for (const want of ['Prune=false', 'Delete=false']) {
    if (!options.includes(want)) add(o, 'metadata.annotations[argocd.argoproj.io/sync-options]', `must include ${want}: the namespace holds the PVCs, and Argo CD must never prune it or delete it with the Application`);
  }
}

function checkSingleSet(overlay: string, objects: readonly K8sObject[], packageVersion: string): Problem[] {
  const problems: Problem[] = [];
  const add = (obj: K8sObject | string, field: string, message: string) =>
    problems.push({ scope: overlay, object: typeof obj === 'string' ? obj : describe(obj), field, message });
  const namespace = `${appName}-${overlay}`;
  const byKind = (kind: string) => objects.filter((o) => o.kind === kind);

  // --- namespace and scope ---
  for (const o of objects) {
    if (o.kind === 'Namespace') {
      checkNamespace(o, namespace, add);
      continue;
    }
    if (clusterScopedKinds.has(String(o.kind))) {
      add(o, 'kind', `cluster-scoped ${String(o.kind)} is not allowed in an overlay (namespace-scoped, least privilege)`);
      continue;
    }
    if (!allowedNamespacedKinds.has(String(o.kind))) add(o, 'kind', `kind ${String(o.kind)} is not in the bundle's allowed kinds (${[...allowedNamespacedKinds].join(', ')})`);
    if (o.metadata?.namespace !== namespace) add(o, 'metadata.namespace', `must be ${namespace}, got ${JSON.stringify(o.metadata?.namespace)}`);
  }

  // --- the StatefulSet ---
  const sets = byKind('StatefulSet');
  const sts = sets.find((s) => s.metadata?.name === appName);
  if (!sts || sets.length !== 1) {
    add(`StatefulSet/${appName}`, '', `expected exactly one StatefulSet named ${appName}, found ${sets.map(describe).join(', ') || 'none'}`);
    return problems;
  }
  const spec = rec(sts['spec']);
  const podSpec = rec(rec(spec['template'])['spec']);
  const podLabels = rec(rec(rec(spec['template'])['metadata'])['labels']) as Record<string, string>;
  const replicas = typeof spec['replicas'] === 'number' ? spec['replicas'] : 1;
  const containers = arr(podSpec['containers']).map(rec);
  const app = containers.find((c) => c['name'] === appName);
  const cPath = `spec.template.spec.containers[${appName}]`;

  if (!selectorMatches(spec['selector'], podLabels) || Object.keys(rec(rec(spec['selector'])['matchLabels'])).length === 0) {
    add(sts, 'spec.selector', 'must be non-empty and match spec.template.metadata.labels');
  }
  // Claim templates carry no labels: a label there can never change again (forbidden StatefulSet update, kustomize#5389).
  arr(spec['volumeClaimTemplates']).map(rec).forEach((v, i) => {
    if (rec(v['metadata'])['labels'] !== undefined) add(sts, `spec.volumeClaimTemplates[${i}].metadata.labels`, 'must not be set: claim template labels are immutable (kustomize#5389: a label transformer with includeSelectors/includeTemplates writes here)');
  });

  // serviceName -> headless Service
  const services = byKind('Service');
  const serviceName = str(spec['serviceName']);
  const headless = services.find((s) => s.metadata?.name === serviceName);
  if (!serviceName) add(sts, 'spec.serviceName', 'must name the headless Service');
  else if (!headless) add(sts, 'spec.serviceName', `names Service ${serviceName}, which is not in the overlay`);
  else {
    if (rec(headless['spec'])['clusterIP'] !== 'None') add(headless, 'spec.clusterIP', 'must be None (headless, for per-pod DNS)');
    if (!mapSelectorMatches(rec(rec(headless['spec'])['selector']), podLabels) || Object.keys(rec(rec(headless['spec'])['selector'])).length === 0) {
      add(headless, 'spec.selector', 'must be non-empty and select the StatefulSet pods');
    }
  }
  // client Service
  const clients = services.filter((s) => s !== headless);
  if (clients.length === 0) add('Service/?', '', 'a client Service (not headless) on port 5000 is required');
  for (const svc of clients) {
    const sspec = rec(svc['spec']);
    const type = str(sspec['type']) ?? 'ClusterIP';
    if (type !== 'ClusterIP' && type !== 'LoadBalancer') add(svc, 'spec.type', `must be ClusterIP (default) or LoadBalancer, got ${type}`);
    if (sspec['clusterIP'] === 'None') add(svc, 'spec.clusterIP', 'the client Service must not be headless');
    if (!mapSelectorMatches(rec(sspec['selector']), podLabels) || Object.keys(rec(sspec['selector'])).length === 0) add(svc, 'spec.selector', 'must be non-empty and select the StatefulSet pods');
    const ports = arr(sspec['ports']).map(rec);
    if (!ports.some((p) => p['port'] === expected.port && (p['targetPort'] === 'http' || p['targetPort'] === expected.port))) {
      add(svc, 'spec.ports', `must expose port ${expected.port} targeting the container port http/${expected.port}`);
    }
  }

  // PVC template, retention
  const vcts = arr(spec['volumeClaimTemplates']).map(rec);
  const vct = vcts.find((v) => rec(v['metadata'])['name'] === expected.pvcName);
  if (!vct) add(sts, 'spec.volumeClaimTemplates', `must contain ${expected.pvcName}`);
  else {
    const f = `spec.volumeClaimTemplates[${expected.pvcName}]`;
    if (vct['apiVersion'] !== 'v1') add(sts, `${f}.apiVersion`, 'must be v1 (otherwise Argo CD shows OutOfSync, argo-cd#11143)');
    if (vct['kind'] !== 'PersistentVolumeClaim') add(sts, `${f}.kind`, 'must be PersistentVolumeClaim (otherwise Argo CD shows OutOfSync, argo-cd#11143)');
    const vspec = rec(vct['spec']);
    if (JSON.stringify(vspec['accessModes']) !== JSON.stringify(['ReadWriteOnce'])) add(sts, `${f}.spec.accessModes`, 'must be [ReadWriteOnce]');
    const size = rec(rec(vspec['resources'])['requests'])['storage'];
    if (size !== expected.pvcSize) add(sts, `${f}.spec.resources.requests.storage`, `must be ${expected.pvcSize}, got ${JSON.stringify(size)}`);
  }
  const retention = rec(spec['persistentVolumeClaimRetentionPolicy']);
  for (const k of ['whenDeleted', 'whenScaled']) {
    if (retention[k] !== 'Retain') add(sts, `spec.persistentVolumeClaimRetentionPolicy.${k}`, `must be Retain explicitly (visits are data), got ${JSON.stringify(retention[k])}`);
  }

  // --- the app container ---
  if (!app) add(sts, cPath, `container ${appName} is missing`);
  else {
    const ports = arr(app['ports']).map(rec);
    if (!ports.some((p) => p['name'] === 'http' && p['containerPort'] === expected.port)) add(sts, `${cPath}.ports`, `must declare containerPort ${expected.port} named http`);
    const probe = (name: string) => rec(app[name]);
    const wantPaths: Record<string, string> = { startupProbe: '/readyz', readinessProbe: '/readyz', livenessProbe: '/healthz' };
    for (const [name, path] of Object.entries(wantPaths)) {
      const p = probe(name);
      if (Object.keys(p).length === 0) {
        add(sts, `${cPath}.${name}`, 'is missing');
        continue;
      }
      const get = rec(p['httpGet']);
      if (get['path'] !== path) add(sts, `${cPath}.${name}.httpGet.path`, `must be ${path}, got ${JSON.stringify(get['path'])}`);
      if (get['port'] !== 'http' && get['port'] !== expected.port) add(sts, `${cPath}.${name}.httpGet.port`, `must be http or ${expected.port}`);
    }
    if (Object.keys(probe('livenessProbe')).length > 0 && JSON.stringify(probe('livenessProbe')) === JSON.stringify(probe('readinessProbe'))) {
      add(sts, `${cPath}.livenessProbe`, 'must differ from readinessProbe (liveness restarts, readiness only removes from endpoints)');
    }
    const podName = rec(rec(envValue(app, 'POD_NAME')?.['valueFrom'])['fieldRef'])['fieldPath'];
    if (podName !== 'metadata.name') add(sts, `${cPath}.env[POD_NAME]`, 'must come from the downward API fieldRef metadata.name');
    const dataDir = envValue(app, 'DATA_DIR')?.['value'];
    if (dataDir !== expected.dataDir) add(sts, `${cPath}.env[DATA_DIR]`, `must be ${expected.dataDir}, got ${JSON.stringify(dataDir)}`);
    const mount = arr(app['volumeMounts']).map(rec).find((m) => m['name'] === expected.pvcName);
    if (!mount || mount['mountPath'] !== dataDir) add(sts, `${cPath}.volumeMounts[${expected.pvcName}]`, `must mount the volume at DATA_DIR (${String(dataDir)})`);
    const portEnv = envValue(app, 'PORT')?.['value'];
    if (portEnv !== undefined && portEnv !== String(expected.port)) add(sts, `${cPath}.env[PORT]`, `must be "${expected.port}"`);
    // The version shown is the image's own (its package.json); an APP_VERSION here would go stale the moment Argo CD
    // overrides the image (`kustomize edit set image` runs in the overlay, after the base).
    const image = str(app['image']) ?? '';
    const tag = /:([^:/@]+)$/.exec(image)?.[1];
    if (envValue(app, 'APP_VERSION') !== undefined) add(sts, `${cPath}.env[APP_VERSION]`, 'must not be set: the app reports the version baked into its image, which equals the tag (scripts/release.ts)');
    if (tag !== packageVersion) add(sts, `${cPath}.image`, `tag must equal package.json's version ${JSON.stringify(packageVersion)} (one release = one change: npm run release -- X.Y.Z), got ${JSON.stringify(tag)}`);
    // grace period vs the app's drain + shutdown timeout
    const ms = (name: string, fallback: number) => {
      const v = envValue(app, name)?.['value'];
      return v === undefined ? fallback : Number(v);
    };
    const needed = (ms('SHUTDOWN_DRAIN_MS', expected.drainMsDefault) + ms('SHUTDOWN_TIMEOUT_MS', expected.shutdownTimeoutMsDefault)) / 1000;
    const grace = podSpec['terminationGracePeriodSeconds'];
    if (typeof grace !== 'number' || !(grace > needed)) {
      add(sts, 'spec.template.spec.terminationGracePeriodSeconds', `must be > SHUTDOWN_DRAIN_MS + SHUTDOWN_TIMEOUT_MS = ${needed} s, got ${JSON.stringify(grace)}`);
    }
  }

  // --- app pod identity ---
  if (podSpec['automountServiceAccountToken'] !== false) add(sts, 'spec.template.spec.automountServiceAccountToken', 'must be false (the app never calls the API)');
  const saName = str(podSpec['serviceAccountName']);
  if (!saName || saName === 'default') add(sts, 'spec.template.spec.serviceAccountName', 'must name a dedicated ServiceAccount, not default');
  else {
    const sa = byKind('ServiceAccount').find((s) => s.metadata?.name === saName);
    if (!sa) add(sts, 'spec.template.spec.serviceAccountName', `ServiceAccount ${saName} is not in the overlay`);
    else if (sa['automountServiceAccountToken'] !== false) add(sa, 'automountServiceAccountToken', 'must be false');
    for (const rb of byKind('RoleBinding')) {
      if (arr(rb['subjects']).map(rec).some((s) => s['kind'] === 'ServiceAccount' && s['name'] === saName)) add(rb, 'subjects', `the app's ServiceAccount ${saName} must not be granted any Role`);
    }
  }

  // --- every pod template (app and hooks): PSS restricted, resources, images ---
  const appImage = str(app?.['image']);
  const rbSubjects = new Set(byKind('RoleBinding').flatMap((rb) => arr(rb['subjects']).map(rec).filter((s) => s['kind'] === 'ServiceAccount').map((s) => String(s['name']))));
  for (const t of podTemplates(objects)) {
    checkPodSecurity(t, add);
    const all = [...arr(t.spec['initContainers']), ...arr(t.spec['containers'])].map(rec);
    for (const c of all) {
      const f = `${t.path}.containers[${String(c['name'])}]`;
      const res = rec(c['resources']);
      for (const kind of ['requests', 'limits']) {
        for (const r of ['cpu', 'memory', 'ephemeral-storage']) {
          if (rec(res[kind])[r] === undefined) add(t.owner, `${f}.resources.${kind}.${r}`, 'must be set');
        }
      }
      const image = str(c['image']) ?? '';
      if (!/^[^@]+(:[^:/@]+)$|@sha256:[a-f0-9]{64}$/.test(image)) add(t.owner, `${f}.image`, `must carry an explicit tag or digest, got ${JSON.stringify(image)}`);
      if (/:latest$/.test(image)) add(t.owner, `${f}.image`, 'must not use the latest tag');
      if (!image.includes('/')) add(t.owner, `${f}.image`, `must be a full reference (set by kustomize images:), got ${JSON.stringify(image)}`);
      if (t.owner.kind === 'Job' && appImage && image !== appImage) add(t.owner, `${f}.image`, `hook must run the app image ${appImage}, got ${image}`);
    }
    if (t.owner !== sts) {
      // Hook pods must never look like app pods: Services, the PDB and the recreate hook select by these labels.
      if (selectorMatches(spec['selector'], t.labels)) add(t.owner, 'spec.template.metadata.labels', 'must not match the StatefulSet selector (the Services, the PDB and the recreate hook would select the hook pod)');
      const automount = t.spec['automountServiceAccountToken'];
      const sa = str(t.spec['serviceAccountName']) ?? 'default';
      if (automount === undefined) add(t.owner, `${t.path}.automountServiceAccountToken`, 'must be set explicitly');
      if (automount === true && !rbSubjects.has(sa)) add(t.owner, `${t.path}.automountServiceAccountToken`, `true, but ServiceAccount ${sa} has no RoleBinding: the token is not needed`);
    }
  }

  // --- PDB and NetworkPolicy select the pods ---
  const pdbs = byKind('PodDisruptionBudget');
  if (pdbs.length === 0) add('PodDisruptionBudget/?', '', 'a PodDisruptionBudget is required');
  for (const pdb of pdbs) {
    const p = rec(pdb['spec']);
    if (p['maxUnavailable'] !== 1) add(pdb, 'spec.maxUnavailable', `must be 1, got ${JSON.stringify(p['maxUnavailable'])}`);
    if (p['unhealthyPodEvictionPolicy'] !== 'AlwaysAllow') add(pdb, 'spec.unhealthyPodEvictionPolicy', 'must be AlwaysAllow, so node drains can evict crash-looping or never-ready pods (KEP-3017)');
    if (Object.keys(rec(rec(p['selector'])['matchLabels'])).length === 0 || !selectorMatches(p['selector'], podLabels)) add(pdb, 'spec.selector', 'must be non-empty and select the StatefulSet pods');
  }
  const netpols = byKind('NetworkPolicy');
  if (netpols.length === 0) add('NetworkPolicy/?', '', 'a NetworkPolicy is required');
  for (const np of netpols) {
    const p = rec(np['spec']);
    if (Object.keys(rec(rec(p['podSelector'])['matchLabels'])).length === 0 || !selectorMatches(p['podSelector'], podLabels)) add(np, 'spec.podSelector', 'must be non-empty and select the StatefulSet pods');
    if (!arr(p['policyTypes']).includes('Ingress')) add(np, 'spec.policyTypes', 'must include Ingress');
    const rules = arr(p['ingress']).map(rec);
    if (rules.length === 0) add(np, 'spec.ingress', `must admit TCP ${expected.port}`);
    rules.forEach((r, i) => {
      const ports = arr(r['ports']).map(rec);
      if (ports.length === 0) add(np, `spec.ingress[${i}].ports`, 'must be set (a rule without ports admits every port)');
      ports.forEach((pt, j) => {
        if ((pt['protocol'] ?? 'TCP') !== 'TCP' || pt['port'] !== expected.port || pt['endPort'] !== undefined) {
          add(np, `spec.ingress[${i}].ports[${j}]`, `only TCP ${expected.port} may be admitted, got ${JSON.stringify(pt)}`);
        }
      });
    });
  }

  // --- RBAC: namespaced and minimal ---
  for (const role of byKind('Role')) {
    arr(role['rules']).map(rec).forEach((rule, i) => {
      for (const g of arr(rule['apiGroups'])) {
        for (const r of arr(rule['resources'])) {
          const allowed = allowedRbac[`${String(g)}/${String(r)}`];
          for (const v of arr(rule['verbs'])) {
            if (!allowed?.includes(String(v))) add(role, `rules[${i}]`, `verb ${String(v)} on ${String(g) || 'core'}/${String(r)} is not needed by the hook`);
          }
          if (`${String(g)}/${String(r)}` === 'apps/statefulsets' && JSON.stringify(rule['resourceNames']) !== JSON.stringify([appName])) {
            add(role, `rules[${i}].resourceNames`, `must be [${appName}]`);
          }
          const podNames = Array.from({ length: replicas }, (_, n) => `${appName}-${n}`);
          if (`${String(g)}/${String(r)}` === '/pods' && arr(rule['verbs']).includes('delete') && JSON.stringify(rule['resourceNames']) !== JSON.stringify(podNames)) {
            add(role, `rules[${i}].resourceNames`, `delete on pods must be limited to the set's pods ${JSON.stringify(podNames)}`);
          }
        }
      }
    });
  }
  for (const rb of byKind('RoleBinding')) {
    const ref = rec(rb['roleRef']);
    if (ref['kind'] !== 'Role') add(rb, 'roleRef.kind', 'must be Role (no ClusterRole)');
    else if (!byKind('Role').some((r) => r.metadata?.name === ref['name'])) add(rb, 'roleRef.name', `Role ${String(ref['name'])} is not in the overlay`);
    arr(rb['subjects']).map(rec).forEach((s, i) => {
      if (s['kind'] !== 'ServiceAccount') add(rb, `subjects[${i}].kind`, 'must be a ServiceAccount');
      if (s['namespace'] !== namespace) add(rb, `subjects[${i}].namespace`, `must be ${namespace}`);
      if (!byKind('ServiceAccount').some((sa) => sa.metadata?.name === s['name'])) add(rb, `subjects[${i}].name`, `ServiceAccount ${String(s['name'])} is not in the overlay`);
    });
  }

  // --- hooks ---
  const jobs = byKind('Job');
  for (const job of jobs) {
    const ann = job.metadata?.annotations ?? {};
    if (!ann['argocd.argoproj.io/hook']) add(job, 'metadata.annotations[argocd.argoproj.io/hook]', 'a Job in this bundle must be an Argo CD hook');
    if (ann['argocd.argoproj.io/hook-delete-policy'] !== expected.hookDeletePolicy) {
      add(job, 'metadata.annotations[argocd.argoproj.io/hook-delete-policy]', `must be ${expected.hookDeletePolicy}`);
    }
    const wave = ann['argocd.argoproj.io/sync-wave'];
    if (wave !== undefined && !/^-?\d+$/.test(wave)) add(job, 'metadata.annotations[argocd.argoproj.io/sync-wave]', `must be a quoted integer, got ${JSON.stringify(wave)}`);
    if (ann['argocd.argoproj.io/hook'] !== undefined && ann['argocd.argoproj.io/hook'] !== hookPhase) {
      add(job, 'metadata.annotations[argocd.argoproj.io/hook]', `must be ${hookPhase}: a PreSync, PostSync or SyncFail hook makes the sync wait for the StatefulSet's health, which a bad release never reaches (rehearsal/model/argocd-sync.ts)`);
    }
    // A failed hook is a verdict (no pod retry), a disrupted hook pod is not: it is rerun, and the deadline leaves
    // the rerun a whole run of its own (its inner timeout plus the start-up allowance).
    const jspec = rec(job['spec']);
    const inner = hookInnerTimeout(job);
    const deadline = jspec['activeDeadlineSeconds'];
    if (typeof deadline !== 'number') add(job, 'spec.activeDeadlineSeconds', 'must be set: the backstop that ends a hook whose command hangs');
    else if (inner !== undefined && !(deadline >= 2 * (inner.seconds + hookStartSeconds))) {
      add(job, 'spec.activeDeadlineSeconds', `must be >= 2 x (${inner.name} / 1000 + ${hookStartSeconds} s) = ${2 * (inner.seconds + hookStartSeconds)}, room for a disrupted pod's rerun; got ${deadline}`);
    }
    if (jspec['backoffLimit'] !== 0) add(job, 'spec.backoffLimit', `must be 0 (the hook retries inside its own timeout and its failure is the verdict; a disrupted pod is rerun by podFailurePolicy), got ${JSON.stringify(jspec['backoffLimit'])}`);
    if (!ignoresDisruption(job)) {
      add(job, 'spec.podFailurePolicy', 'must have a rule { action: Ignore, onPodConditions: [{ type: DisruptionTarget }] }: an evicted or preempted hook pod must be rerun, not fail the sync (https://kubernetes.io/docs/concepts/workloads/controllers/job/#pod-failure-policy)');
    }
    // The API server refuses podFailurePolicy unless the pod template's restartPolicy is Never (batch/v1 validation).
    if (rec(rec(jspec['template'])['spec'])['restartPolicy'] !== 'Never') add(job, 'spec.template.spec.restartPolicy', 'must be Never (a hook runs once per pod; podFailurePolicy requires it)');
  }
  // One phase, one wave: the sync is single-step, so a failed or timed-out hook ends it (gitops-engine Sync: only
  // running hooks are awaited) instead of the StatefulSet's health, which a crash-looping release never reaches.
  if (isMultiStep(tasksFromObjects(objects))) {
    const waves = [...new Set(objects.map((o) => `${o.metadata?.annotations?.['argocd.argoproj.io/hook'] ?? 'Sync'}/${o.metadata?.annotations?.['argocd.argoproj.io/sync-wave'] ?? '0'}`))];
    add(sts, 'metadata.annotations[argocd.argoproj.io/sync-wave]', `every object and hook must share one phase and wave (a single-step sync); found ${waves.join(', ')} (rehearsal/model/argocd-sync.ts)`);
  }
  const smoke = jobs.find((j) => arr(rec(rec(rec(j['spec'])['template'])['spec'])['containers']).map(rec).some((c) => arr(c['command']).includes('/app/hooks/smoke.js')));
  if (!smoke) add('Job/?', '', 'the smoke test Job (node /app/hooks/smoke.js) is missing (components/smoke-test)');
  else {
    const c = rec(arr(rec(rec(rec(smoke['spec'])['template'])['spec'])['containers'])[0]);
    const partitionOf = rec(rec(spec['updateStrategy'])['rollingUpdate'])['partition'];
    const want: Record<string, string> = {
      SMOKE_REPLICAS: String(replicas),
      SMOKE_SERVICE: serviceName ?? '',
      SMOKE_STATEFULSET: appName,
      SMOKE_PORT: String(expected.port),
      // Ordinals below the partition keep the previous release by design; the check must know where it starts.
      SMOKE_PARTITION: String(typeof partitionOf === 'number' ? partitionOf : 0),
    };
    for (const [k, v] of Object.entries(want)) {
      const got = envValue(c, k)?.['value'];
      if (got !== v) add(smoke, `spec.template.spec.containers[0].env[${k}]`, `must be ${JSON.stringify(v)} to match the StatefulSet, got ${JSON.stringify(got)}`);
    }
    if (envValue(c, 'SMOKE_EXPECTED_VERSION') !== undefined) add(smoke, 'spec.template.spec.containers[0].env[SMOKE_EXPECTED_VERSION]', 'must not be set: the check expects its own image\'s version, which follows any image override');
    if (rec(rec(envValue(c, 'SMOKE_NAMESPACE')?.['valueFrom'])['fieldRef'])['fieldPath'] !== 'metadata.namespace') {
      add(smoke, 'spec.template.spec.containers[0].env[SMOKE_NAMESPACE]', 'must come from fieldRef metadata.namespace');
    }
  }

  // --- what distinguishes each overlay (bundle/overlay-rules.ts: one entry per overlay) ---
  const strategy = rec(spec['updateStrategy']);
  const type = strategy['type'] ?? 'RollingUpdate';
  const recreateHook = jobs.find((j) => arr(rec(rec(rec(j['spec'])['template'])['spec'])['containers']).map(rec).some((c) => arr(c['command']).includes('/app/hooks/recreate-hook.js')));
  const rule = overlayRules[overlay];
  if (!rule) add(sts, '', `no policy for overlay "${overlay}": add its distinguishing fields to bundle/overlay-rules.ts`);
  else rule({ sts, spec, replicas, objects, recreateHook, appServiceAccount: saName, add });
  // Argo Rollouts analysis objects: only in canary-analysis, and checked there (bundle/policy-canary-analysis.ts).
  problems.push(...checkAnalysis(overlay, objects));
  if (overlay !== 'recreate' && recreateHook) add(recreateHook, '', 'the recreate hook belongs only to the recreate overlay (with OnDelete)');
  if (overlay !== 'recreate' && type === 'OnDelete') add(sts, 'spec.updateStrategy.type', 'OnDelete without the recreate hook never updates pods');
  problems.push(...checkApiServerRules(overlay, objects));
  return problems;
}


/**
 * Whether a Job reruns a pod that failed by disruption (eviction, preemption, taint) instead of counting it:
 * a podFailurePolicy rule with action Ignore on the DisruptionTarget condition (status True, the default).
 * https://kubernetes.io/docs/concepts/workloads/controllers/job/#pod-failure-policy
 */
export function ignoresDisruption(job: K8sObject): boolean {
  return arr(rec(rec(job['spec'])['podFailurePolicy'])['rules']).map(rec).some(
    (r) => r['action'] === 'Ignore' && arr(r['onPodConditions']).map(rec).some((c) => c['type'] === 'DisruptionTarget' && (c['status'] ?? 'True') === 'True'),
  );
}

/** Pod Security Standards "restricted" plus this project's uid/gid rule, for one pod template. */
export function checkPodSecurity(t: PodTemplateRef, add: Add): void {
  const psc = rec(t.spec['securityContext']);
  const base = t.path;
  for (const k of ['hostNetwork', 'hostPID', 'hostIPC']) if (t.spec[k] === true) add(t.owner, `${base}.${k}`, 'must not be true (PSS baseline)');
  for (const v of arr(t.spec['volumes']).map(rec)) if (v['hostPath'] !== undefined) add(t.owner, `${base}.volumes[${String(v['name'])}].hostPath`, 'hostPath volumes are not allowed (PSS restricted)');
  const idOk = (v: unknown) => typeof v === 'number' && v > expected.minId;
  if (!idOk(psc['fsGroup'])) add(t.owner, `${base}.securityContext.fsGroup`, `must be > ${expected.minId} so the volume is writable by the non-root user, got ${JSON.stringify(psc['fsGroup'])}`);
  const podSeccomp = rec(psc['seccompProfile'])['type'];
  if (podSeccomp !== undefined && podSeccomp !== 'RuntimeDefault' && podSeccomp !== 'Localhost') add(t.owner, `${base}.securityContext.seccompProfile.type`, 'must be RuntimeDefault or Localhost');
  const all = [
    ...arr(t.spec['initContainers']).map((c) => ({ c: rec(c), list: 'initContainers' })),
    ...arr(t.spec['containers']).map((c) => ({ c: rec(c), list: 'containers' })),
  ];
  for (const { c, list } of all) {
    const csc = rec(c['securityContext']);
    const f = `${base}.${list}[${String(c['name'])}].securityContext`;
    const eff = (k: string) => (csc[k] !== undefined ? csc[k] : psc[k]);
    if (eff('runAsNonRoot') !== true) add(t.owner, `${f}.runAsNonRoot`, 'must be true (pod or container level)');
    if (!idOk(eff('runAsUser'))) add(t.owner, `${f}.runAsUser`, `must be > ${expected.minId} (pod or container level), got ${JSON.stringify(eff('runAsUser'))}`);
    if (!idOk(eff('runAsGroup'))) add(t.owner, `${f}.runAsGroup`, `must be > ${expected.minId} (pod or container level), got ${JSON.stringify(eff('runAsGroup'))}`);
    if (csc['allowPrivilegeEscalation'] !== false) add(t.owner, `${f}.allowPrivilegeEscalation`, 'must be false');
    if (csc['privileged'] === true) add(t.owner, `${f}.privileged`, 'must not be true');
    if (csc['readOnlyRootFilesystem'] !== true) add(t.owner, `${f}.readOnlyRootFilesystem`, 'must be true');
    const caps = rec(csc['capabilities']);
    if (!arr(caps['drop']).includes('ALL')) add(t.owner, `${f}.capabilities.drop`, 'must include ALL');
    if (arr(caps['add']).length > 0) add(t.owner, `${f}.capabilities.add`, 'must be empty');
    const seccomp = rec(csc['seccompProfile'])['type'] ?? podSeccomp;
    if (seccomp !== 'RuntimeDefault') add(t.owner, `${f}.seccompProfile.type`, `must be RuntimeDefault (pod or container level), got ${JSON.stringify(seccomp)}`);
    for (const p of arr(c['ports']).map(rec)) if (p['hostPort'] !== undefined) add(t.owner, `${base}.${list}[${String(c['name'])}].ports.hostPort`, 'must not be set');
  }
}

