// The GitOps bundle as committed: every overlay and argocd/ entry point rendered with real kustomize, validated
// against the Kubernetes / Argo CD schemas (unknown fields included), the policies and the Argo CD wiring.
// Then the mutation checks: deliberately broken variants must fail, proof that each validator can fail.
// No kustomize and no kubectl: the rendering tests skip with the reason (and fail under CI=true).
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { checkArgoCd, readSettings, type OverlayInfo } from '../bundle/argocd.ts';
import { validateBundle, type BundleReport } from '../bundle/bundle.ts';
import { checkKustomization, checkYamlStyle, listOverlays } from '../bundle/files.ts';
import { checkOverlay } from '../bundle/policy.ts';
import { noRendererMessage } from '../bundle/render.ts';
import { repoRoot, validateRuntime, validateStrict, type StrictItem } from '../bundle/schema.ts';
import { formatProblem, type K8sObject, type Problem } from '../bundle/types.ts';
import { renderer, requireRenderer } from '../testing/support/renderer.ts';

const overlayNames = listOverlays(repoRoot);

const show = (problems: readonly Problem[]) => problems.map(formatProblem).join('\n');

let report: BundleReport | undefined;
before(async () => {
  if (renderer) report = await validateBundle(repoRoot, renderer);
});

function overlay(name: string): K8sObject[] {
  const o = report?.overlays.find((x) => x.name === name);
  assert.ok(o, `overlay ${name} was not rendered`);
  return structuredClone(o.objects);
}
function argo(entry: string): K8sObject[] {
  const a = report?.argocd.find((x) => x.entry === entry);
  assert.ok(a, `${entry} was not rendered`);
  return structuredClone(a.objects);
}
function find(objects: K8sObject[], kind: string, name?: string): Record<string, any> {
  const o = objects.find((x) => x.kind === kind && (name === undefined || x.metadata?.name === name));
  assert.ok(o, `${kind}/${name ?? '*'} not found`);
  return o as Record<string, any>;
}

describe('rendering with real kustomize', () => {
  test('a renderer is available (kustomize, else kubectl kustomize)', (t) => {
    if (requireRenderer(t)) assert.match(renderer!.version, /\S/);
  });
  test('the overlays exist', () => {
    assert.deepEqual(overlayNames, ['blue-green', 'canary', 'canary-analysis', 'parallel', 'recreate', 'rolling']);
  });
  test('every overlay renders', (t) => {
    if (!requireRenderer(t)) return;
    for (const o of report!.overlays) assert.ok(o.rendered && o.objects.length > 0, `${o.name}: ${show(o.problems)}`);
  });
  test("the README's exact command renders from kustomize/ and equals the render from the repository root", (t) => {
    if (!requireRenderer(t)) return;
    assert.deepEqual(report!.documentedCommand, { command: renderer!.command('overlays/recreate').join(' '), cwd: 'kustomize/', ok: true, sameAsRootRender: true });
  });
  test('every argocd/ entry point renders', (t) => {
    if (!requireRenderer(t)) return;
    for (const a of report!.argocd) assert.ok(a.objects.length > 0, `${a.entry}: ${show(a.problems)}`);
  });
  test('without any renderer the bundle reports a skip reason, not render errors', async () => {
    const r = await validateBundle(repoRoot, null);
    assert.equal(r.skipped, noRendererMessage);
    assert.deepEqual(r.overlays, []);
    assert.deepEqual(r.problems, [], show(r.problems));
  });
});

test('`npm run validate` (bundle/validate.ts) exits 2 with the reason when nothing can render', async () => {
  const run = promisify(execFile);
  await assert.rejects(run(process.execPath, [join(repoRoot, 'bundle/validate.ts')], { env: { ...process.env, ROLLCALL_KUSTOMIZE: 'none' } }), (err: { code?: number; stderr?: string }) => {
    assert.equal(err.code, 2);
    assert.match(err.stderr ?? '', /validate: neither `kustomize` nor `kubectl` is on PATH/);
    return true;
  });
});

describe('the bundle as committed passes every check', () => {
  for (const name of overlayNames) {
    test(`overlay ${name}: schemas, unknown fields and policies`, (t) => {
      if (!requireRenderer(t)) return;
      const o = report!.overlays.find((x) => x.name === name)!;
      assert.deepEqual(o.problems, [], show(o.problems));
    });
  }
  test('argocd/: schemas, unknown fields, repository settings, paths and project', (t) => {
    if (!requireRenderer(t)) return;
    for (const a of report!.argocd) assert.deepEqual(a.problems, [], show(a.problems));
  });
  test('source files: kustomizations, YAML style, READMEs, raw argocd/ files', (t) => {
    if (!requireRenderer(t)) return;
    assert.deepEqual(report!.files, [], show(report!.files));
  });
  test('each overlay differs where it should', (t) => {
    if (!requireRenderer(t)) return;
    // blue-green has two StatefulSets (rollcall-blue, rollcall-green): test/bundle-blue-green.test.ts.
    const summary = Object.fromEntries(
      overlayNames.filter((n) => n !== 'blue-green').map((n) => {
        const s = find(overlay(n), 'StatefulSet', 'rollcall')['spec'];
        return [n, [s.podManagementPolicy, s.updateStrategy.type, s.updateStrategy.rollingUpdate?.partition]];
      }),
    );
    assert.deepEqual(summary, {
      canary: ['OrderedReady', 'RollingUpdate', 2],
      'canary-analysis': ['OrderedReady', 'RollingUpdate', 2],
      parallel: ['Parallel', 'RollingUpdate', undefined],
      recreate: ['Parallel', 'OnDelete', undefined],
      rolling: ['OrderedReady', 'RollingUpdate', 0],
    });
  });
  test('the image is the pinned release everywhere, hooks included', (t) => {
    if (!requireRenderer(t)) return;
    const images = new Set(overlayNames.flatMap((n) => overlay(n).flatMap((o: Record<string, any>) => (o['spec']?.template?.spec?.containers ?? []).map((c: { image: string }) => c.image))));
    assert.deepEqual([...images], ['ghcr.io/rollcall/rollcall:1.0.0']);
  });
});

describe('mutation checks: broken variants fail validation', () => {
  const ready = (t: TestContext) => requireRenderer(t);

  test('schema: unknown fields (missed by validate(), caught by the strict layer), wrong enums and wrong types', async (t) => {
    if (!ready(t)) return;
    const cases: { label: string; obj: K8sObject; field: RegExp; runtimeCatches: boolean }[] = [];
    const add = (label: string, obj: K8sObject, field: RegExp, runtimeCatches: boolean) => cases.push({ label, obj, field, runtimeCatches });
    {
      const o = find(overlay('rolling'), 'StatefulSet');
      o['spec'].template.spec.containers[0].imagePullPolicyy = 'Always';
      add('unknown container field', o, /^spec\.template\.spec\.containers\[0\]\.imagePullPolicyy$/, false);
    }
    {
      const o = find(overlay('rolling'), 'StatefulSet');
      o['spec'].replica = 3;
      add('unknown spec field', o, /^spec\.replica$/, false);
    }
    {
      const o = find(overlay('rolling'), 'StatefulSet');
      o['spec'].volumeClaimTemplates[0].spec.size = '15Mi';
      add('unknown PVC template field', o, /^spec\.volumeClaimTemplates\[0\]\.spec\.size$/, false);
    }
    {
      const o = find(overlay('rolling'), 'StatefulSet');
      o['spec'].template.spec.containers[0].livenessProbe.httpGet.paht = '/healthz';
      add('unknown probe field', o, /livenessProbe\.httpGet\.paht$/, false);
    }
    {
      const o = find(overlay('parallel'), 'StatefulSet');
      o['spec'].podManagementPolicy = 'Sequential';
      add('wrong enum', o, /^spec\.podManagementPolicy$/, true);
    }
    {
      const o = find(overlay('parallel'), 'StatefulSet');
      o['spec'].replicas = '3';
      add('wrong type', o, /^spec\.replicas$/, true);
    }
    {
      const o = find(overlay('recreate'), 'Job', 'rollcall-recreate');
      o['metadata'].annotations['argocd.argoproj.io/sync-wave'] = 0;
      add('unquoted sync wave (a number in an annotation)', o, /^metadata\.annotations\[argocd\.argoproj\.io\/sync-wave\]$/, true);
    }
    {
      const o = find(overlay('recreate'), 'Role');
      o['rules'][0].verb = ['get'];
      add('unknown RBAC field', o, /^rules\[0\]\.verb$/, false);
    }
    {
      const o = find(argo('argocd/application'), 'Application');
      o['spec'].source.pathh = 'x';
      add('unknown Application field', o, /^spec\.source\.pathh$/, false);
    }
    {
      const o = find(argo('argocd/applicationset'), 'ApplicationSet');
      o['spec'].generators[0].git.directory = [{ path: 'kustomize/overlays/*' }];
      add('unknown ApplicationSet generator field', o, /^spec\.generators\[0\]\.git\.directory$/, false);
    }
    {
      const o = find(argo('argocd/applicationset'), 'AppProject');
      o['spec'].destinations[0].namespaces = ['x'];
      add('unknown AppProject field', o, /^spec\.destinations\[0\]\.namespaces$/, false);
    }
    {
      const o = find(argo('argocd/application'), 'Application');
      o['spec'].syncPolicy.retry.limit = 'five';
      add('wrong type in Application', o, /^spec\.syncPolicy\.retry\.limit$/, true);
    }
    const items: StrictItem[] = cases.map((c) => ({ scope: c.label, obj: c.obj }));
    const strict = await validateStrict(items);
    for (const c of cases) {
      const mine = strict.filter((p) => p.scope === c.label);
      assert.ok(mine.some((p) => c.field.test(p.field)), `${c.label}: strict layer must report ${c.field}, got:\n${show(mine) || '(nothing)'}`);
      const runtime = await validateRuntime(c.label, c.obj);
      assert.equal(runtime.length > 0, c.runtimeCatches, `${c.label}: validate() ${c.runtimeCatches ? 'should' : 'unexpectedly does'} catch it:\n${show(runtime)}`);
    }
  });

  test('schema: every unknown field and wrong value of one object is reported in a single run', async (t) => {
    if (!ready(t)) return;
    const o = find(overlay('canary'), 'StatefulSet');
    o['spec'].foo = 1;
    o['spec'].bar = { nested: true };
    o['spec'].podManagementPolicy = 'Sometimes';
    o['spec'].template.spec.containers[0].ports[0].containerPort = '5000';
    o['spec'].template.spec.containers[0].ports[0].portName = 'http';
    delete o['spec'].selector;
    const fields = (await validateStrict([{ scope: 'multi', obj: o }])).map((p) => `${p.field}: ${p.message}`);
    for (const want of [
      /^spec\.foo: unknown field "foo"/,
      /^spec\.bar: unknown field "bar"/,
      /^spec\.podManagementPolicy: .*"Sometimes"/,
      /^spec\.template\.spec\.containers\[0\]\.ports\[0\]\.containerPort: .*'string'.*'number'/,
      /^spec\.template\.spec\.containers\[0\]\.ports\[0\]\.portName: unknown field/,
      /^spec: missing required field\(s\) "selector"/,
    ]) {
      assert.ok(fields.some((f) => want.test(f)), `${want} not among:\n${fields.join('\n')}`);
    }
    assert.equal(fields.length, 6, fields.join('\n'));
  });

  test('schema: an object kind without a model is reported, not waved through', async () => {
    const p = await validateRuntime('x', { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } });
    assert.match(show(p), /no schema for example\.com\/v1 Widget/);
  });

  const policyCases: [string, string, (objs: K8sObject[]) => void, RegExp][] = [
    ['Namespace without Pod Security restricted', 'rolling', (o) => delete find(o, 'Namespace')['metadata'].labels['pod-security.kubernetes.io/enforce'], /Namespace\/rollcall-rolling metadata\.labels\[pod-security\.kubernetes\.io\/enforce\]: must be restricted/],
    ['Namespace Argo CD may delete with the Application', 'canary', (o) => (find(o, 'Namespace')['metadata'].annotations['argocd.argoproj.io/sync-options'] = 'Prune=false'), /Namespace\/rollcall-canary metadata\.annotations\[argocd\.argoproj\.io\/sync-options\]: must include Delete=false/],
    ['Namespace of another name', 'parallel', (o) => (find(o, 'Namespace')['metadata'].name = 'default'), /Namespace\/default metadata\.name: the overlay's Namespace must be rollcall-parallel/],
    ['missing liveness probe', 'rolling', (o) => delete find(o, 'StatefulSet')['spec'].template.spec.containers[0].livenessProbe, /StatefulSet\/rollcall spec\.template\.spec\.containers\[rollcall\]\.livenessProbe: is missing/],
    ['missing startup probe', 'parallel', (o) => delete find(o, 'StatefulSet')['spec'].template.spec.containers[0].startupProbe, /startupProbe: is missing/],
    ['liveness identical to readiness', 'rolling', (o) => { const c = find(o, 'StatefulSet')['spec'].template.spec.containers[0]; c.livenessProbe = structuredClone(c.readinessProbe); }, /livenessProbe\.httpGet\.path: must be \/healthz[\s\S]*livenessProbe: must differ from readinessProbe/],
    ['readiness on /healthz', 'rolling', (o) => (find(o, 'StatefulSet')['spec'].template.spec.containers[0].readinessProbe.httpGet.path = '/healthz'), /readinessProbe\.httpGet\.path: must be \/readyz/],
    ['runAsUser 1000', 'rolling', (o) => (find(o, 'StatefulSet')['spec'].template.spec.securityContext.runAsUser = 1000), /containers\[rollcall\]\.securityContext\.runAsUser: must be > 10000/],
    ['runAsNonRoot false', 'canary', (o) => (find(o, 'StatefulSet')['spec'].template.spec.containers[0].securityContext.runAsNonRoot = false), /securityContext\.runAsNonRoot: must be true/],
    ['no fsGroup', 'rolling', (o) => delete find(o, 'StatefulSet')['spec'].template.spec.securityContext.fsGroup, /securityContext\.fsGroup: must be > 10000/],
    ['privilege escalation', 'rolling', (o) => (find(o, 'Job', 'rollcall-smoke')['spec'].template.spec.containers[0].securityContext.allowPrivilegeEscalation = true), /\[rolling\] Job\/rollcall-smoke .*allowPrivilegeEscalation: must be false/],
    ['capabilities not dropped', 'rolling', (o) => (find(o, 'StatefulSet')['spec'].template.spec.containers[0].securityContext.capabilities = { add: ['NET_ADMIN'] }), /capabilities\.drop: must include ALL[\s\S]*capabilities\.add: must be empty/],
    ['writable root filesystem', 'recreate', (o) => (find(o, 'Job', 'rollcall-recreate')['spec'].template.spec.containers[0].securityContext.readOnlyRootFilesystem = false), /Job\/rollcall-recreate .*readOnlyRootFilesystem: must be true/],
    ['seccomp Unconfined', 'rolling', (o) => { const s = find(o, 'StatefulSet')['spec'].template.spec; s.securityContext.seccompProfile.type = 'Unconfined'; s.containers[0].securityContext.seccompProfile.type = 'Unconfined'; }, /seccompProfile\.type: must be RuntimeDefault/],
    ['token mounted in the app', 'rolling', (o) => (find(o, 'StatefulSet')['spec'].template.spec.automountServiceAccountToken = true), /automountServiceAccountToken: must be false/],
    ['default ServiceAccount', 'rolling', (o) => (find(o, 'StatefulSet')['spec'].template.spec.serviceAccountName = 'default'), /serviceAccountName: must name a dedicated ServiceAccount/],
    ['no ephemeral-storage limit', 'rolling', (o) => delete find(o, 'StatefulSet')['spec'].template.spec.containers[0].resources.limits['ephemeral-storage'], /resources\.limits\.ephemeral-storage: must be set/],
    ['no cpu request on a hook', 'recreate', (o) => delete find(o, 'Job', 'rollcall-smoke')['spec'].template.spec.containers[0].resources.requests.cpu, /Job\/rollcall-smoke .*resources\.requests\.cpu: must be set/],
    ['latest image', 'rolling', (o) => (find(o, 'StatefulSet')['spec'].template.spec.containers[0].image = 'ghcr.io/rollcall/rollcall:latest'), /image: must not use the latest tag/],
    ['untagged image', 'rolling', (o) => (find(o, 'StatefulSet')['spec'].template.spec.containers[0].image = 'rollcall'), /image: must carry an explicit tag/],
    ['PDB selecting other pods', 'rolling', (o) => (find(o, 'PodDisruptionBudget')['spec'].selector.matchLabels = { app: 'other' }), /PodDisruptionBudget\/rollcall spec\.selector: must be non-empty and select/],
    ['PDB maxUnavailable 2', 'rolling', (o) => (find(o, 'PodDisruptionBudget')['spec'].maxUnavailable = 2), /spec\.maxUnavailable: must be 1/],
    ['NetworkPolicy on another port', 'rolling', (o) => (find(o, 'NetworkPolicy')['spec'].ingress[0].ports[0].port = 8080), /NetworkPolicy\/rollcall spec\.ingress\[0\]\.ports\[0\]: only TCP 5000/],
    ['NetworkPolicy rule without ports', 'rolling', (o) => delete find(o, 'NetworkPolicy')['spec'].ingress[0].ports, /spec\.ingress\[0\]\.ports: must be set/],
    ['NetworkPolicy selecting other pods', 'rolling', (o) => (find(o, 'NetworkPolicy')['spec'].podSelector = { matchLabels: { app: 'x' } }), /spec\.podSelector: must be non-empty and select/],
    ['serviceName not the headless Service', 'rolling', (o) => (find(o, 'StatefulSet')['spec'].serviceName = 'rollcall'), /spec\.clusterIP: must be None/],
    ['headless Service with a cluster IP', 'rolling', (o) => delete find(o, 'Service', 'rollcall-headless')['spec'].clusterIP, /Service\/rollcall-headless spec\.clusterIP: must be None/],
    ['PVC template 1Gi without apiVersion', 'rolling', (o) => { const v = find(o, 'StatefulSet')['spec'].volumeClaimTemplates[0]; v.spec.resources.requests.storage = '1Gi'; delete v.apiVersion; }, /volumeClaimTemplates\[web-app-data\]\.apiVersion: must be v1[\s\S]*storage: must be 15Mi/],
    ['PVCs deleted with the set', 'rolling', (o) => (find(o, 'StatefulSet')['spec'].persistentVolumeClaimRetentionPolicy.whenDeleted = 'Delete'), /persistentVolumeClaimRetentionPolicy\.whenDeleted: must be Retain/],
    ['grace period shorter than drain + timeout', 'rolling', (o) => (find(o, 'StatefulSet')['spec'].template.spec.terminationGracePeriodSeconds = 10), /terminationGracePeriodSeconds: must be > .* 13 s/],
    ['wrong namespace', 'canary', (o) => (find(o, 'Service', 'rollcall').metadata.namespace = 'default'), /\[canary\] Service\/rollcall metadata\.namespace: must be rollcall-canary/],
    ['rolling with Parallel', 'rolling', (o) => (find(o, 'StatefulSet')['spec'].podManagementPolicy = 'Parallel'), /\[rolling\] StatefulSet\/rollcall spec\.podManagementPolicy: must be OrderedReady/],
    ['rolling without minReadySeconds', 'rolling', (o) => delete find(o, 'StatefulSet')['spec'].minReadySeconds, /spec\.minReadySeconds: must be > 0/],
    ['parallel back to OrderedReady', 'parallel', (o) => (find(o, 'StatefulSet')['spec'].podManagementPolicy = 'OrderedReady'), /spec\.podManagementPolicy: must be Parallel/],
    ['canary with partition 0', 'canary', (o) => (find(o, 'StatefulSet')['spec'].updateStrategy.rollingUpdate.partition = 0), /rollingUpdate\.partition: must be > 0/],
    ['recreate with RollingUpdate', 'recreate', (o) => (find(o, 'StatefulSet')['spec'].updateStrategy = { type: 'RollingUpdate' }), /spec\.updateStrategy\.type: must be OnDelete/],
    ['recreate without its hook', 'recreate', (o) => o.splice(o.indexOf(o.find((x) => x.metadata?.name === 'rollcall-recreate' && x.kind === 'Job')!), 1), /recreate hook Job .* is missing/],
    ['overlay without the smoke test', 'parallel', (o) => o.splice(o.findIndex((x) => x.kind === 'Job'), 1), /smoke test Job .* is missing/],
    ['smoke test expecting 2 replicas', 'rolling', (o) => (find(o, 'Job', 'rollcall-smoke')['spec'].template.spec.containers[0].env.find((e: { name: string }) => e.name === 'SMOKE_REPLICAS').value = '2'), /env\[SMOKE_REPLICAS\]: must be "3"/],
    ['hook pod labelled like the app', 'rolling', (o) => Object.assign(find(o, 'Job', 'rollcall-smoke')['spec'].template.metadata.labels, { 'app.kubernetes.io/name': 'rollcall', 'app.kubernetes.io/component': 'web' }), /Job\/rollcall-smoke spec\.template\.metadata\.labels: must not match the StatefulSet selector/],
    ['hook without delete policy', 'rolling', (o) => delete find(o, 'Job', 'rollcall-smoke').metadata.annotations['argocd.argoproj.io/hook-delete-policy'], /hook-delete-policy\]: must be BeforeHookCreation,HookSucceeded/],
    ['Role with an extra verb', 'recreate', (o) => find(o, 'Role')['rules'][1].verbs.push('create'), /Role\/rollcall-recreate rules\[1\]: verb create on core\/pods is not needed/],
    ['Role with a wildcard', 'recreate', (o) => (find(o, 'Role')['rules'][0].verbs = ['*']), /verb \* on apps\/statefulsets is not needed[\s\S]*lacks get on apps\/statefulsets/],
    ['Role missing delete', 'recreate', (o) => find(o, 'Role')['rules'].splice(2, 1), /lacks delete on \/pods/],
    ['delete on any pod (no resourceNames)', 'recreate', (o) => delete find(o, 'Role')['rules'][2].resourceNames, /Role\/rollcall-recreate rules\[2\]\.resourceNames: delete on pods must be limited to the set's pods \["rollcall-0","rollcall-1","rollcall-2"\]/],
    ['ClusterRole instead of Role', 'recreate', (o) => { const r = find(o, 'Role'); r['kind'] = 'ClusterRole'; delete r['metadata'].namespace; find(o, 'RoleBinding')['roleRef'].kind = 'ClusterRole'; }, /ClusterRole\/rollcall-recreate kind: cluster-scoped ClusterRole is not allowed[\s\S]*roleRef\.kind: must be Role/],
    ['ClusterRoleBinding added', 'recreate', (o) => o.push({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'x' } }), /ClusterRoleBinding\/x kind: cluster-scoped/],
    ['app ServiceAccount granted a Role', 'recreate', (o) => find(o, 'RoleBinding')['subjects'].push({ kind: 'ServiceAccount', name: 'rollcall', namespace: 'rollcall-recreate' }), /the app's ServiceAccount rollcall must not be granted any Role/],
    ['APP_VERSION set (would go stale under an image override)', 'rolling', (o) => find(o, 'StatefulSet')['spec'].template.spec.containers[0].env.push({ name: 'APP_VERSION', value: '1.0.0' }), /\[rolling\] StatefulSet\/rollcall spec\.template\.spec\.containers\[rollcall\]\.env\[APP_VERSION\]: must not be set/],
    ['image tag other than package.json version', 'parallel', (o) => { for (const x of o) for (const c of (x as Record<string, any>)['spec']?.template?.spec?.containers ?? []) c.image = 'ghcr.io/rollcall/rollcall:1.1.0'; }, /\[parallel\] StatefulSet\/rollcall spec\.template\.spec\.containers\[rollcall\]\.image: tag must equal package\.json's version "1\.0\.0"/],
    ['smoke hook back in PostSync', 'rolling', (o) => (find(o, 'Job', 'rollcall-smoke').metadata.annotations['argocd.argoproj.io/hook'] = 'PostSync'), /\[rolling\] Job\/rollcall-smoke metadata\.annotations\[argocd\.argoproj\.io\/hook\]: must be Sync[\s\S]*one phase and wave/],
    ['recreate hook in PostSync (gated on Healthy: a revert could not replace crash-looping pods)', 'recreate', (o) => (find(o, 'Job', 'rollcall-recreate').metadata.annotations['argocd.argoproj.io/hook'] = 'PostSync'), /\[recreate\] Job\/rollcall-recreate metadata\.annotations\[argocd\.argoproj\.io\/hook\]: must be Sync/],
    ['smoke hook in a later wave (multi-step sync)', 'canary', (o) => (find(o, 'Job', 'rollcall-smoke').metadata.annotations['argocd.argoproj.io/sync-wave'] = '10'), /\[canary\] StatefulSet\/rollcall metadata\.annotations\[argocd\.argoproj\.io\/sync-wave\]: every object and hook must share one phase and wave.*Sync\/10/],
    ['hook deadline with no room for a disrupted pod\'s rerun', 'recreate', (o) => (find(o, 'Job', 'rollcall-recreate')['spec'].activeDeadlineSeconds = 360), /Job\/rollcall-recreate spec\.activeDeadlineSeconds: must be >= 2 x \(RECREATE_TIMEOUT_MS \/ 1000 \+ 60 s\) = 720, room for a disrupted pod's rerun; got 360/],
    ['hook without a podFailurePolicy (an evicted hook pod would fail the sync)', 'rolling', (o) => delete find(o, 'Job', 'rollcall-smoke')['spec'].podFailurePolicy, /\[rolling\] Job\/rollcall-smoke spec\.podFailurePolicy: must have a rule \{ action: Ignore, onPodConditions: \[\{ type: DisruptionTarget \}\] \}/],
    ['hook counting disruptions (action Count)', 'recreate', (o) => (find(o, 'Job', 'rollcall-recreate')['spec'].podFailurePolicy.rules[0].action = 'Count'), /Job\/rollcall-recreate spec\.podFailurePolicy: must have a rule/],
    ['hook pod restarted in place (podFailurePolicy needs Never)', 'rolling', (o) => (find(o, 'Job', 'rollcall-smoke')['spec'].template.spec.restartPolicy = 'OnFailure'), /Job\/rollcall-smoke spec\.template\.spec\.restartPolicy: must be Never/],
    ['hook with pod retries', 'rolling', (o) => (find(o, 'Job', 'rollcall-smoke')['spec'].backoffLimit = 2), /Job\/rollcall-smoke spec\.backoffLimit: must be 0/],
    ['hook without a deadline', 'rolling', (o) => delete find(o, 'Job', 'rollcall-smoke')['spec'].activeDeadlineSeconds, /Job\/rollcall-smoke spec\.activeDeadlineSeconds: must be set/],
    ['smoke with a fixed expected version', 'rolling', (o) => find(o, 'Job', 'rollcall-smoke')['spec'].template.spec.containers[0].env.push({ name: 'SMOKE_EXPECTED_VERSION', value: '1.0.0' }), /env\[SMOKE_EXPECTED_VERSION\]: must not be set/],
    ['canary partition not passed to the smoke check (it would fail every canary release)', 'canary', (o) => (find(o, 'Job', 'rollcall-smoke')['spec'].template.spec.containers[0].env.find((e: { name: string }) => e.name === 'SMOKE_PARTITION').value = '0'), /\[canary\] Job\/rollcall-smoke spec\.template\.spec\.containers\[0\]\.env\[SMOKE_PARTITION\]: must be "2"/],
    ['PDB blocks drains of unhealthy pods', 'rolling', (o) => delete find(o, 'PodDisruptionBudget')['spec'].unhealthyPodEvictionPolicy, /\[rolling\] PodDisruptionBudget\/rollcall spec\.unhealthyPodEvictionPolicy: must be AlwaysAllow/],
    ['labels in a claim template', 'rolling', (o) => (find(o, 'StatefulSet')['spec'].volumeClaimTemplates[0].metadata.labels = { 'app.kubernetes.io/part-of': 'rollcall' }), /spec\.volumeClaimTemplates\[0\]\.metadata\.labels: must not be set/],
  ];
  for (const [label, name, mutate, want] of policyCases) {
    test(`policy: ${label} (${name})`, (t) => {
      if (!ready(t)) return;
      const objects = overlay(name);
      assert.deepEqual(checkOverlay(name, objects), [], 'the unmutated overlay must pass');
      mutate(objects);
      const problems = show(checkOverlay(name, objects));
      assert.match(problems, want);
    });
  }
  test('policy: an overlay nobody wrote rules for is reported', (t) => {
    if (!ready(t)) return;
    assert.match(show(checkOverlay('bluegreen', overlay('rolling'))), /no policy for overlay "bluegreen"/);
  });

  test('kustomization: deprecated and unknown fields, patches without target', () => {
    const problems = show(
      checkKustomization('kustomize/overlays/x/kustomization.yaml', {
        apiVersion: 'kustomize.config.k8s.io/v1beta1',
        kind: 'Kustomization',
        namespace: 'rollcall-y',
        bases: ['../../base'],
        commonLabels: { a: 'b' },
        patchesStrategicMerge: ['p.yaml'],
        patchesJson6902: [],
        vars: [],
        resourcez: [],
        patches: [{ path: 'p.yaml' }],
      }, 'rollcall-x'),
    );
    for (const want of [/bases: deprecated.*`resources`/, /commonLabels: deprecated.*`labels`/, /patchesStrategicMerge: deprecated/, /patchesJson6902: deprecated/, /vars: deprecated.*`replacements`/, /resourcez: unknown kustomization field/, /patches\[0\]\.target: every patch names its target/, /namespace: must be rollcall-x/]) {
      assert.match(problems, want);
    }
  });
  test('YAML style: header comment, quoted sync waves, hooks alone in their file', () => {
    const text = 'apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: j\n  annotations:\n    argocd.argoproj.io/hook: PostSync\n    argocd.argoproj.io/sync-wave: 10\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: s\n';
    const problems = show(checkYamlStyle('x.yaml', text));
    assert.match(problems, /line 1: must start with a header comment/);
    assert.match(problems, /line 7: sync waves are quoted strings, got 10/);
    assert.match(problems, /an Argo CD hook must be alone in its file/);
  });

  const infos = (): OverlayInfo[] =>
    report!.overlays.map((o) => ({ name: o.name, namespace: o.namespace, rendered: true, kinds: new Set(o.objects.map((x) => `${String(x.apiVersion).includes('/') ? String(x.apiVersion).split('/')[0] : ''}/${String(x.kind)}`)), objects: o.objects }));
  const argoCases: [string, string, (objs: K8sObject[]) => void, RegExp][] = [
    ['path that does not exist', 'argocd/application', (o) => (find(o, 'Application')['spec'].source.path = 'kustomize/overlays/bluegreen'), /spec\.source\.path: kustomize\/overlays\/bluegreen is not a kustomization/],
    ['namespace not the overlay namespace', 'argocd/application', (o) => (find(o, 'Application')['spec'].destination.namespace = 'rollcall-canary'), /spec\.destination\.namespace: must be rollcall-rolling/],
    ['repository not from the settings file', 'argocd/application', (o) => (find(o, 'Application')['spec'].source.repoURL = 'https://example.com/fork.git'), /spec\.source\.repoURL: must be .* \(from argocd\/settings\/source\.yaml\)/],
    ['placeholder left in place', 'argocd/applicationset', (o) => (find(o, 'ApplicationSet')['spec'].template.spec.source.targetRevision = 'set-by-argocd-settings'), /spec\.template\.spec\.source\.targetRevision: still holds the placeholder/],
    ['no prune, no finalizer', 'argocd/application', (o) => { const a = find(o, 'Application'); a['spec'].syncPolicy.automated.prune = false; a['metadata'].finalizers = []; }, /automated\.prune: must be true[\s\S]*metadata\.finalizers: must include resources-finalizer/],
    // The settings that made every sync multi-step, one by one (rehearsal/model/argocd-sync.ts, multiStepSyncs).
    ['PruneLast', 'argocd/application', (o) => find(o, 'Application')['spec'].syncPolicy.syncOptions.push('PruneLast=true'), /spec\.syncPolicy: a release that prunes an object \(ServiceAccount\) is multi-step \(Sync\/0, Sync\/1\): a prune task in wave 1 \(PruneLast=true\)/],
    ['generator over the wrong directory', 'argocd/applicationset', (o) => (find(o, 'ApplicationSet')['spec'].generators[0].git.directories[0].path = 'kustomize/*'), /git\.directories: must generate exactly kustomize\/overlays\/blue-green, kustomize\/overlays\/canary/],
    ['template namespace not per overlay', 'argocd/applicationset', (o) => (find(o, 'ApplicationSet')['spec'].template.spec.destination.namespace = 'rollcall'), /\(parallel\) template\.spec\.destination\.namespace: must be rollcall-parallel/],
    ['project without Job', 'argocd/application', (o) => (find(o, 'AppProject')['spec'].namespaceResourceWhitelist = find(o, 'AppProject')['spec'].namespaceResourceWhitelist.filter((k: { kind: string }) => k.kind !== 'Job')), /overlay canary contains batch\/Job, which the project does not allow/],
    ['project allowing everything', 'argocd/application', (o) => (find(o, 'AppProject')['spec'].clusterResourceWhitelist = [{ group: '*', kind: '*' }]), /clusterResourceWhitelist\[0\]: only Namespace may be cluster-scoped/],
    ['root pointing at an overlay instead of an entry point', 'argocd/root', (o) => (find(o, 'Application')['spec'].source.path = 'kustomize/overlays/rolling'), /\[argocd\/root\] Application\/rollcall-root spec\.source\.path: must be another entry point of argocd\//],
    ['root deploying outside Argo CD\'s namespace', 'argocd/root', (o) => (find(o, 'Application')['spec'].destination.namespace = 'default'), /Application\/rollcall-root spec\.destination\.namespace: must be Argo CD's namespace argocd/],
    ['object outside Argo CD\'s namespace', 'argocd/applicationset', (o) => (find(o, 'ApplicationSet')['metadata'].namespace = 'argo'), /ApplicationSet\/rollcall-overlays metadata\.namespace: Argo CD objects live in Argo CD's namespace argocd/],
    ['destination outside the project', 'argocd/application', (o) => (find(o, 'AppProject')['spec'].destinations[0].namespace = 'other-*'), /spec\.destination: .* is not a destination of AppProject rollcall/],
  ];
  for (const [label, entry, mutate, want] of argoCases) {
    test(`argocd: ${label}`, (t) => {
      if (!ready(t)) return;
      const objects = argo(entry);
      const settings = readSettings(repoRoot);
      assert.deepEqual(checkArgoCd(repoRoot, entry, objects, infos(), settings), [], 'the unmutated definitions must pass');
      mutate(objects);
      assert.match(show(checkArgoCd(repoRoot, entry, objects, infos(), settings)), want);
    });
  }

  test('argocd: the settings that made every sync multi-step (CreateNamespace, managedNamespaceMetadata, PruneLast, no Namespace in the bundle) are refused', (t) => {
    if (!ready(t)) return;
    const objects = argo('argocd/applicationset');
    const sp = find(objects, 'ApplicationSet')['spec'].template.spec.syncPolicy;
    sp.syncOptions = ['CreateNamespace=true', 'PruneLast=true', 'RespectIgnoreDifferences=true'];
    sp.managedNamespaceMetadata = { labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } };
    const withoutNamespace = infos().map((i) => ({ ...i, objects: i.objects.filter((o) => o.kind !== 'Namespace') }));
    const all = show(checkArgoCd(repoRoot, 'argocd/applicationset', objects, withoutNamespace, readSettings(repoRoot)));
    for (const o of overlayNames) {
      assert.match(all, new RegExp(`\\(${o}\\) template\\.spec\\.syncPolicy: the first sync \\(namespace missing\\) is multi-step \\(PreSync/0, Sync/0\\): a PreSync Namespace task \\(CreateNamespace=true without a Namespace in the bundle\\)`));
      assert.match(all, new RegExp(`\\(${o}\\) template\\.spec\\.syncPolicy: a release \\(namespace exists\\) is multi-step \\(PreSync/0, Sync/0\\): a PreSync Namespace task \\(CreateNamespace=true with managedNamespaceMetadata\\)`));
      assert.match(all, new RegExp(`\\(${o}\\) template\\.spec\\.syncPolicy: a release that prunes an object \\(\\w+\\) is multi-step [^\\n]*a prune task in wave 1 \\(PruneLast=true\\)`));
    }
    // With the Namespace in the bundle, CreateNamespace adds no task at all (autoCreateNamespace finds it).
    const withNamespace = show(checkArgoCd(repoRoot, 'argocd/applicationset', objects, infos(), readSettings(repoRoot)));
    assert.doesNotMatch(withNamespace, /Namespace task/);
    assert.match(withNamespace, /PruneLast=true/);
  });

  describe('end to end: a broken copy of the bundle fails `validateBundle` with real kustomize', () => {
    let root = '';
    let broken: BundleReport | undefined;
    before(async () => {
      if (!renderer) return;
      root = mkdtempSync(join(tmpdir(), 'rollcall-bundle-'));
      for (const d of ['kustomize', 'argocd']) cpSync(join(repoRoot, d), join(root, d), { recursive: true });
      const edit = (file: string, f: (s: string) => string) => writeFileSync(join(root, file), f(readFileSync(join(root, file), 'utf8')));
      // An unknown field in a patch: kustomize passes it through, the strict schema must not.
      edit('kustomize/overlays/parallel/statefulset-patch.yaml', (s) => `${s}  podManagmentPolicy: Parallel\n`);
      // A wrong enum value in a patch.
      edit('kustomize/overlays/canary/statefulset-patch.yaml', (s) => s.replace('type: RollingUpdate', 'type: Rolling'));
      // A missing probe in the base: every overlay must fail.
      edit('kustomize/base/statefulset.yaml', (s) => s.replace(/ {10}livenessProbe:\n( {12}.*\n)+/, ''));
      // A deprecated field.
      edit('kustomize/overlays/rolling/kustomization.yaml', (s) => `${s}\ncommonLabels:\n  tier: web\n`);
      // An Argo CD Application pointing at a directory that does not exist.
      edit('argocd/application/application.yaml', (s) => s.replace('path: kustomize/overlays/rolling', 'path: kustomize/overlays/rollin'));
      broken = await validateBundle(root, renderer);
    });
    after(() => {
      if (root) rmSync(root, { recursive: true, force: true });
    });
    test('every injected fault is reported with overlay, object and field', (t) => {
      if (!ready(t)) return;
      const all = show(broken!.problems);
      assert.match(all, /\[parallel\] StatefulSet\/rollcall spec\.podManagmentPolicy: .*podManagmentPolicy.* \(strict schema\)/);
      assert.match(all, /\[canary\] StatefulSet\/rollcall spec\.updateStrategy\.type: must be equal to one of the allowed values/);
      for (const o of overlayNames) assert.match(all, new RegExp(`\\[${o}\\] StatefulSet/rollcall(-blue|-green)? spec\\.template\\.spec\\.containers\\[rollcall\\]\\.livenessProbe: is missing`));
      assert.match(all, /\[kustomize\/overlays\/rolling\/kustomization\.yaml\] Kustomization commonLabels: deprecated/);
      assert.match(all, /\[argocd\/application\] Application\/rollcall-rolling spec\.source\.path: kustomize\/overlays\/rollin is not a kustomization/);
    });
  });
});
