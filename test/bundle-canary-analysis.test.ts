// The canary-analysis overlay's Argo Rollouts objects: schema-valid with unknown fields caught, and every policy of
// bundle/policy-canary-analysis.ts able to fail (mutation checks on the real render).
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { render } from '../bundle/render.ts';
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
    assert.deepEqual(run['spec'].args, [{ name: 'namespace', value: 'rollcall-canary-analysis' }]);
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
    ['analysis as a PreSync hook', (o) => (find(o, 'AnalysisRun').metadata.annotations['argocd.argoproj.io/hook'] = 'PreSync'), /AnalysisRun\/rollcall-canary metadata\.annotations\[argocd\.argoproj\.io\/hook\]: must be PostSync/],
    ['analysis before the smoke test', (o) => (find(o, 'AnalysisRun').metadata.annotations['argocd.argoproj.io/sync-wave'] = '5'), /sync-wave\]: must be after the smoke test's wave 10/],
    ['no BeforeHookCreation', (o) => (find(o, 'AnalysisRun').metadata.annotations['argocd.argoproj.io/hook-delete-policy'] = 'HookSucceeded'), /hook-delete-policy\]: must include BeforeHookCreation/],
    ['run differs from the template', (o) => (find(o, 'AnalysisRun').spec.metrics[0].count = 60), /spec\.metrics: must equal AnalysisTemplate\/rollcall-canary spec\.metrics/],
    ['run without its namespace argument', (o) => (find(o, 'AnalysisRun').spec.args = []), /argument namespace has no value|spec\.args\[namespace\]: the template declares it/],
    ['run in another namespace', (o) => (find(o, 'AnalysisRun').spec.args[0].value = 'default'), /spec\.args\[namespace\]\.value: must be rollcall-canary-analysis/],
    ['analysis that never ends', (o) => { for (const k of ['AnalysisRun', 'AnalysisTemplate']) delete find(o, k).spec.metrics[0].count; }, /count and interval must be set/],
    ['analysis longer than 10 minutes', (o) => { for (const k of ['AnalysisRun', 'AnalysisTemplate']) find(o, k).spec.metrics[0].count = 100; }, /count x interval = 1000 s/],
    ['negative failureLimit', (o) => { for (const k of ['AnalysisRun', 'AnalysisTemplate']) find(o, k).spec.metrics[0].failureLimit = -1; }, /failureLimit: must be >= 0/],
    ['no condition', (o) => { for (const k of ['AnalysisRun', 'AnalysisTemplate']) delete find(o, k).spec.metrics[0].successCondition; }, /successCondition: a condition is required/],
    ['a condition the model cannot evaluate', (o) => { for (const k of ['AnalysisRun', 'AnalysisTemplate']) find(o, k).spec.metrics[0].successCondition = 'len(result) > 0'; }, /spec\.metrics: condition "len\(result\) > 0" is not supported/],
    ['a figure /stats does not serve', (o) => { for (const k of ['AnalysisRun', 'AnalysisTemplate']) find(o, k).spec.metrics[0].provider.web.jsonPath = '{$.status}'; }, /jsonPath: must name one figure GET \/stats serves/],
    ['the client Service instead of the canary pod', (o) => { for (const k of ['AnalysisRun', 'AnalysisTemplate']) find(o, k).spec.metrics[0].provider.web.url = 'http://rollcall.{{args.namespace}}.svc.cluster.local:5000/stats'; }, /url: url .* does not name a pod/],
    ['a pod that is not the canary', (o) => { for (const k of ['AnalysisRun', 'AnalysisTemplate']) find(o, k).spec.metrics[0].provider.web.url = 'http://rollcall-0.rollcall-headless.{{args.namespace}}.svc.cluster.local:5000/stats'; }, /must name a canary pod \(ordinal >= partition 2 and < replicas 3\), got rollcall-0/],
    ['a pod beyond the replicas', (o) => { for (const k of ['AnalysisRun', 'AnalysisTemplate']) find(o, k).spec.metrics[0].provider.web.url = 'http://rollcall-3.rollcall-headless.{{args.namespace}}.svc.cluster.local:5000/stats'; }, /must name a canary pod .* got rollcall-3/],
    ['the wrong port and path', (o) => { for (const k of ['AnalysisRun', 'AnalysisTemplate']) find(o, k).spec.metrics[0].provider.web.url = 'http://rollcall-2.rollcall-headless.{{args.namespace}}.svc.cluster.local:8080/metrics'; }, /must be http:\/\/rollcall-<ordinal>\.rollcall-headless\.rollcall-canary-analysis\.svc\.\.\.:5000\/stats/],
    ['another provider', (o) => { for (const k of ['AnalysisRun', 'AnalysisTemplate']) find(o, k).spec.metrics[0].provider = { prometheus: { query: 'up' } }; }, /only the web provider is modelled/],
    ['no AnalysisRun', (o) => o.splice(o.indexOf(find(o, 'AnalysisRun')), 1), /exactly one AnalysisRun \(the PostSync hook\) is required, found 0/],
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

  test('policy: analysis objects in another overlay are reported', (t) => {
    if (!requireRenderer(t)) return;
    const objects = [...structuredClone(rolling), ...copy().filter((o) => o['kind'] === 'AnalysisRun').map((o) => ({ ...o, metadata: { ...o['metadata'], namespace: 'rollcall-rolling' } }))];
    assert.match(show(objects, 'rolling'), /\[rolling\] AnalysisRun\/rollcall-canary kind: Argo Rollouts analysis belongs only to the canary-analysis overlay/);
  });
});
