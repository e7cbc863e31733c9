// The canary-analysis overlay's Argo Rollouts objects: schema-valid with unknown fields caught, and every policy of
// bundle/policy-canary-analysis.ts able to fail (mutation checks on the real render): a Sync-phase hook in the
// StatefulSet's wave, judging only the release being synced (GET /stats?version=), bounded by the hook deadline.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { appendFileSync, cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { render } from '../bundle/render.ts';
import { admitsRollouts } from '../bundle/policy-canary-analysis.ts';
import { checkOverlay } from '../bundle/policy.ts';
import { repoRoot, validateSchemas } from '../bundle/schema.ts';
import { formatProblem, type K8sObject } from '../bundle/types.ts';
import { renderer, requireRenderer } from '../testing/support/renderer.ts';

const overlay = 'canary-analysis';
let rendered: K8sObject[] = [];
let rolling: K8sObject[] = [];
before(async () => {
  if (!renderer) return;
  rendered = (await render(renderer, `kustomize/overlays/${overlay}`, repoRoot)).objects;
  rolling = (await render(renderer, 'kustomize/overlays/rolling', repoRoot)).objects;
});
const copy = () => structuredClone(rendered) as Record<string, any>[];
const find = (objs: Record<string, any>[], kind: string) => objs.find((o) => o['kind'] === kind)!;
const show = (objs: readonly K8sObject[], name = overlay) => checkOverlay(name, objs).map(formatProblem).join('\n');

describe('canary-analysis: Argo Rollouts objects', () => {
  test('the rendered AnalysisRun carries the template metrics and the namespace', (t) => {
    if (!requireRenderer(t)) return;
    const run = find(copy(), 'AnalysisRun');
    assert.deepEqual(run['spec'].metrics, find(copy(), 'AnalysisTemplate')['spec'].metrics);
    assert.deepEqual(run['spec'].args, [{ name: 'namespace', value: 'rollcall-canary-analysis' }, { name: 'version', value: '1.0.0' }]);
    assert.equal(run['metadata'].annotations['argocd.argoproj.io/hook'], 'Sync');
    assert.equal(run['metadata'].annotations['argocd.argoproj.io/sync-wave'], '0');
    assert.equal(show(rendered), '');
  });

  test('schemas: an unknown field in the AnalysisTemplate or the AnalysisRun is caught', async (t) => {
    if (!requireRenderer(t)) return;
    const tpl = find(copy(), 'AnalysisTemplate');
    tpl['spec'].metrics[0].provider.web['jsonpath'] = '{$.error_share}';
    const run = find(copy(), 'AnalysisRun');
    run['spec']['metricz'] = [];
    run['spec'].metrics[0].interval = 10;
    const problems = await validateSchemas([
      { scope: 'ok', obj: find(copy(), 'AnalysisRun') },
      { scope: 'ok', obj: find(copy(), 'AnalysisTemplate') },
      { scope: 'tpl', obj: tpl },
      { scope: 'run', obj: run },
    ]);
    assert.deepEqual(problems.filter((p) => p.scope === 'ok'), []);
    const fields = problems.map((p) => `${p.scope} ${p.field}`);
    for (const want of ['tpl spec.metrics[0].provider.web.jsonpath', 'run spec.metricz', 'run spec.metrics[0].interval']) {
      assert.ok(fields.includes(want), `${want} not among ${fields.join(', ')}`);
    }
  });

  const cases: [string, (o: Record<string, any>[]) => void, RegExp][] = [
    ['analysis as a PostSync hook (waits for a health a bad release never reaches)', (o) => (find(o, 'AnalysisRun').metadata.annotations['argocd.argoproj.io/hook'] = 'PostSync'), /AnalysisRun\/rollcall-canary metadata\.annotations\[argocd\.argoproj\.io\/hook\]: must be Sync/],
    ['analysis as a PreSync hook', (o) => (find(o, 'AnalysisRun').metadata.annotations['argocd.argoproj.io/hook'] = 'PreSync'), /AnalysisRun\/rollcall-canary metadata\.annotations\[argocd\.argoproj\.io\/hook\]: must be Sync/],
    ['analysis in a later wave (a multi-step sync)', (o) => (find(o, 'AnalysisRun').metadata.annotations['argocd.argoproj.io/sync-wave'] = '20'), /every object and hook must share one phase and wave \(a single-step sync\); found Sync\/0, Sync\/20/],
    ['analysis of another release than the StatefulSet runs', (o) => (find(o, 'AnalysisRun').spec.args[1].value = '0.9.0'), /spec\.args\[version\]\.value: must be the StatefulSet's image tag "1\.0\.0" \(the release being judged\), got "0\.9\.0"/],
    ['analysis not restricted to the release (would judge the old pod)', (o) => { for (const k of ['AnalysisRun', 'AnalysisTemplate']) find(o, k).spec.metrics[0].provider.web.url = 'http://rollcall-2.rollcall-headless.{{args.namespace}}.svc.cluster.local:5000/stats'; }, /provider\.web\.url: must be http:\/\/rollcall-<ordinal>\.rollcall-headless\.rollcall-canary-analysis\.svc\.\.\.:5000\/stats\?version=1\.0\.0/],
    ['smoke check blind to the partition', (o) => (find(o, 'Job').spec.template.spec.containers[0].env.find((e: Record<string, any>) => e['name'] === 'SMOKE_PARTITION').value = '0'), /env\[SMOKE_PARTITION\]: must be "2" to match the StatefulSet, got "0"/],
    ['more errors tolerated than the hook deadline allows', (o) => { for (const k of ['AnalysisRun', 'AnalysisTemplate']) find(o, k).spec.metrics[0].consecutiveErrorLimit = 10; }, /the analysis can run 782 s .* longer than the 360 s after which the hook Jobs give their verdict/],
    ['NetworkPolicy admitting only another namespace', (o) => (find(o, 'NetworkPolicy').spec.ingress[0].from = [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } }]), /NetworkPolicy\/\? spec\.ingress: must admit TCP 5000 from the Argo Rollouts controller \(namespace argo-rollouts\)/],
    ['no BeforeHookCreation', (o) => (find(o, 'AnalysisRun').metadata.annotations['argocd.argoproj.io/hook-delete-policy'] = 'HookSucceeded'), /hook-delete-policy\]: must include BeforeHookCreation/],
    ['run differs from the template', (o) => (find(o, 'AnalysisRun').spec.metrics[0].count = 60), /spec\.metrics: must equal AnalysisTemplate\/rollcall-canary spec\.metrics/],
    ['run without its namespace argument', (o) => (find(o, 'AnalysisRun').spec.args = []), /argument namespace has no value|spec\.args\[namespace\]: the template declares it/],
    ['run in another namespace', (o) => (find(o, 'AnalysisRun').spec.args[0].value = 'default'), /spec\.args\[namespace\]\.value: must be rollcall-canary-analysis/],
    ['analysis that never ends', (o) => { for (const k of ['AnalysisRun', 'AnalysisTemplate']) delete find(o, k).spec.metrics[0].count; }, /count and interval must be set/],
    ['analysis longer than the hook deadline', (o) => { for (const k of ['AnalysisRun', 'AnalysisTemplate']) find(o, k).spec.metrics[0].count = 100; }, /the analysis can run 5990 s/],
    ['negative failureLimit', (o) => { for (const k of ['AnalysisRun', 'AnalysisTemplate']) find(o, k).spec.metrics[0].failureLimit = -1; }, /failureLimit: must be >= 0/],
    ['no condition', (o) => { for (const k of ['AnalysisRun', 'AnalysisTemplate']) delete find(o, k).spec.metrics[0].successCondition; }, /successCondition: a condition is required/],
    ['a condition the model cannot evaluate', (o) => { for (const k of ['AnalysisRun', 'AnalysisTemplate']) find(o, k).spec.metrics[0].successCondition = 'len(result) > 0'; }, /spec\.metrics: condition "len\(result\) > 0" is not supported/],
    ['a figure /stats does not serve', (o) => { for (const k of ['AnalysisRun', 'AnalysisTemplate']) find(o, k).spec.metrics[0].provider.web.jsonPath = '{$.status}'; }, /jsonPath: must name one figure GET \/stats serves/],
    ['the client Service instead of the canary pod', (o) => { for (const k of ['AnalysisRun', 'AnalysisTemplate']) find(o, k).spec.metrics[0].provider.web.url = 'http://rollcall.{{args.namespace}}.svc.cluster.local:5000/stats'; }, /url: url .* does not name a pod/],
    ['a pod that is not the canary', (o) => { for (const k of ['AnalysisRun', 'AnalysisTemplate']) find(o, k).spec.metrics[0].provider.web.url = 'http://rollcall-0.rollcall-headless.{{args.namespace}}.svc.cluster.local:5000/stats'; }, /must name a canary pod \(ordinal >= partition 2 and < replicas 3\), got rollcall-0/],
    ['a pod beyond the replicas', (o) => { for (const k of ['AnalysisRun', 'AnalysisTemplate']) find(o, k).spec.metrics[0].provider.web.url = 'http://rollcall-3.rollcall-headless.{{args.namespace}}.svc.cluster.local:5000/stats'; }, /must name a canary pod .* got rollcall-3/],
    ['the wrong port and path', (o) => { for (const k of ['AnalysisRun', 'AnalysisTemplate']) find(o, k).spec.metrics[0].provider.web.url = 'http://rollcall-2.rollcall-headless.{{args.namespace}}.svc.cluster.local:8080/metrics'; }, /must be http:\/\/rollcall-<ordinal>\.rollcall-headless\.rollcall-canary-analysis\.svc\.\.\.:5000\/stats\?version=1\.0\.0/],
    ['another provider', (o) => { for (const k of ['AnalysisRun', 'AnalysisTemplate']) find(o, k).spec.metrics[0].provider = { prometheus: { query: 'up' } }; }, /only the web provider is modelled/],
    ['no AnalysisRun', (o) => o.splice(o.indexOf(find(o, 'AnalysisRun')), 1), /exactly one AnalysisRun \(the Sync-phase hook\) is required, found 0/],
    ['canary-analysis without a partition', (o) => (find(o, 'StatefulSet').spec.updateStrategy.rollingUpdate.partition = 0), /rollingUpdate\.partition: must be > 0/],
  ];
  for (const [label, mutate, want] of cases) {
    test(`policy: ${label}`, (t) => {
      if (!requireRenderer(t)) return;
      const objects = copy();
      mutate(objects);
      assert.match(show(objects as K8sObject[]), want);
    });
  }

  test('an Argo CD image override (kustomize edit set image in the overlay) moves the analysed version with the tag', async (t) => {
    if (!requireRenderer(t)) return;
    const dir = mkdtempSync(join(tmpdir(), 'rollcall-canary-analysis-'));
    try {
      cpSync(join(repoRoot, 'kustomize'), join(dir, 'kustomize'), { recursive: true });
      // What `kustomize edit set image ghcr.io/rollcall/rollcall:9.9.9` writes into the overlay's kustomization.yaml.
      appendFileSync(join(dir, 'kustomize/overlays', overlay, 'kustomization.yaml'), 'images:\n  - name: ghcr.io/rollcall/rollcall\n    newTag: 9.9.9\n');
      const objs = (await render(renderer!, `kustomize/overlays/${overlay}`, dir)).objects as Record<string, any>[];
      assert.equal(find(objs, 'StatefulSet')['spec'].template.spec.containers[0].image, 'ghcr.io/rollcall/rollcall:9.9.9');
      assert.deepEqual(find(objs, 'AnalysisRun')['spec'].args[1], { name: 'version', value: '9.9.9' });
      assert.equal(checkOverlay(overlay, objs as K8sObject[], '9.9.9').map(formatProblem).join('\n'), '');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('NetworkPolicy rules that admit the Argo Rollouts controller, and some that do not', () => {
    const yes = [{ ports: [{ protocol: 'TCP', port: 5000 }] }, { ports: [{ port: 'http' }], from: [{ namespaceSelector: {} }] }, { ports: [{ port: 5000 }], from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'argo-rollouts' } } }] }];
    const no = [{ ports: [{ port: 8080 }] }, { ports: [{ port: 5000, protocol: 'UDP' }] }, { ports: [{ port: 5000 }], from: [{ podSelector: {} }] }, { ports: [{ port: 5000 }], from: [{ namespaceSelector: {}, podSelector: { matchLabels: { app: 'x' } } }] }, { ports: [{ port: 5000 }], from: [{ ipBlock: { cidr: '10.0.0.0/8' } }] }];
    for (const r of yes) assert.equal(admitsRollouts(r), true, JSON.stringify(r));
    for (const r of no) assert.equal(admitsRollouts(r), false, JSON.stringify(r));
  });

  test('policy: analysis objects in another overlay are reported', (t) => {
    if (!requireRenderer(t)) return;
    const objects = [...structuredClone(rolling), ...copy().filter((o) => o['kind'] === 'AnalysisRun').map((o) => ({ ...o, metadata: { ...o['metadata'], namespace: 'rollcall-rolling' } }))];
    assert.match(show(objects, 'rolling'), /\[rolling\] AnalysisRun\/rollcall-canary kind: Argo Rollouts analysis belongs only to the canary-analysis overlay/);
  });
});
