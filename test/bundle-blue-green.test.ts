// The blue-green overlay: two StatefulSets with their own volumes, the client Service on the active colour, the
// preview on the idle one; the Git changes its README documents render what it promises; every blue-green policy
// (bundle/policy-blue-green.ts) and the shared ones per colour can fail.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { checkOverlay } from '../bundle/policy.ts';
import { render } from '../bundle/render.ts';
import { repoRoot } from '../bundle/schema.ts';
import { formatProblem, type K8sObject } from '../bundle/types.ts';
import { renderer, requireRenderer } from '../testing/support/renderer.ts';

const overlay = 'blue-green';
let rendered: K8sObject[] = [];
let edited = '';
before(async () => {
  if (!renderer) return;
  rendered = (await render(renderer, `kustomize/overlays/${overlay}`, repoRoot)).objects;
  edited = mkdtempSync(join(tmpdir(), 'rollcall-blue-green-'));
  cpSync(join(repoRoot, 'kustomize'), join(edited, 'kustomize'), { recursive: true });
});
after(() => {
  if (edited) rmSync(edited, { recursive: true, force: true });
});
type Obj = Record<string, any>;
const copy = () => structuredClone(rendered) as Obj[];
const find = (objs: Obj[], kind: string, name: string) => objs.find((o) => o['kind'] === kind && o['metadata'].name === name)!;
const show = (objs: readonly K8sObject[]) => checkOverlay(overlay, objs).map(formatProblem).join('\n');
const edit = (file: string, from: string | RegExp, to: string) => {
  const p = join(edited, 'kustomize/overlays/blue-green', file);
  const text = readFileSync(p, 'utf8');
  assert.match(text, typeof from === 'string' ? new RegExp(from.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : from);
  writeFileSync(p, text.replace(from, to));
};
const renderEdited = async () => (await render(renderer!, 'kustomize/overlays/blue-green', edited)).objects as Obj[];
const summary = (objs: Obj[]) => ({
  client: find(objs, 'Service', 'rollcall').spec.selector['rollcall/colour'],
  preview: find(objs, 'Service', 'rollcall-preview').spec.selector['rollcall/colour'],
  blue: [find(objs, 'StatefulSet', 'rollcall-blue').spec.replicas, find(objs, 'StatefulSet', 'rollcall-blue').spec.template.spec.containers[0].image],
  green: [find(objs, 'StatefulSet', 'rollcall-green').spec.replicas, find(objs, 'StatefulSet', 'rollcall-green').spec.template.spec.containers[0].image],
  smoke: [find(objs, 'Job', 'rollcall-smoke').spec.template.spec.containers[0].env.find((e: Obj) => e['name'] === 'SMOKE_STATEFULSET').value, find(objs, 'Job', 'rollcall-smoke').spec.template.spec.containers[0].image],
});

describe('blue-green: as committed', () => {
  test('blue active with 3 replicas, green idle at 0; each colour with its own claims and selector', (t) => {
    if (!requireRenderer(t)) return;
    const o = copy();
    assert.deepEqual(summary(o), { client: 'blue', preview: 'green', blue: [3, 'ghcr.io/rollcall/rollcall:1.0.0'], green: [0, 'ghcr.io/rollcall/rollcall:1.0.0'], smoke: ['rollcall-blue', 'ghcr.io/rollcall/rollcall:1.0.0'] });
    for (const c of ['blue', 'green']) {
      const sts = find(o, 'StatefulSet', `rollcall-${c}`);
      assert.equal(sts.spec.selector.matchLabels['rollcall/colour'], c);
      assert.deepEqual(sts.spec.volumeClaimTemplates.map((v: Obj) => v['metadata'].name), ['web-app-data'], 'claims are named web-app-data-rollcall-<colour>-<n> by the controller');
      assert.equal(sts.spec.persistentVolumeClaimRetentionPolicy.whenScaled, 'Retain');
      assert.equal(sts.spec.template.spec.containers[0].env.find((e: Obj) => e['name'] === 'APP_VERSION').value, '1.0.0');
    }
    assert.equal(show(o), '');
  });
});

describe('blue-green: the Git changes the README documents', () => {
  test('release to green, switch, scale blue down, switch back: each renders what it promises and passes validation', async (t) => {
    if (!requireRenderer(t)) return;
    // release: the idle colour's tag and size
    edit('colours/green/kustomization.yaml', 'newTag: 1.0.0', 'newTag: 1.1.0');
    edit('colours/green/kustomization.yaml', /value: 0\n/, 'value: 3\n');
    let o = await renderEdited();
    assert.deepEqual(summary(o), { client: 'blue', preview: 'green', blue: [3, 'ghcr.io/rollcall/rollcall:1.0.0'], green: [3, 'ghcr.io/rollcall/rollcall:1.1.0'], smoke: ['rollcall-blue', 'ghcr.io/rollcall/rollcall:1.0.0'] });
    assert.equal(find(o, 'StatefulSet', 'rollcall-green').spec.template.spec.containers[0].env.find((e: Obj) => e['name'] === 'APP_VERSION').value, '1.1.0', 'APP_VERSION follows the colour\'s tag');
    assert.equal(show(o as K8sObject[]), '');
    // switch: one line
    edit('kustomization.yaml', '  - active-blue\n', '  - active-green\n');
    o = await renderEdited();
    assert.deepEqual(summary(o), { client: 'green', preview: 'blue', blue: [3, 'ghcr.io/rollcall/rollcall:1.0.0'], green: [3, 'ghcr.io/rollcall/rollcall:1.1.0'], smoke: ['rollcall-green', 'ghcr.io/rollcall/rollcall:1.1.0'] });
    assert.equal(show(o as K8sObject[]), '');
    // scale down the old colour
    edit('colours/blue/kustomization.yaml', /value: 3\n/, 'value: 0\n');
    o = await renderEdited();
    assert.deepEqual(summary(o).blue, [0, 'ghcr.io/rollcall/rollcall:1.0.0']);
    assert.equal(show(o as K8sObject[]), '');
    // switching back to a colour that was scaled down is refused by validation: scale it up first
    edit('kustomization.yaml', '  - active-green\n', '  - active-blue\n');
    o = await renderEdited();
    assert.match(show(o as K8sObject[]), /\[blue-green\] StatefulSet\/rollcall-blue spec\.replicas: the active colour must be scaled up, got 0/);
  });
});

describe('blue-green: mutation checks', () => {
  const cases: [string, (o: Obj[]) => void, RegExp][] = [
    ['client Service on both colours', (o) => delete find(o, 'Service', 'rollcall').spec.selector['rollcall/colour'], /Service\/rollcall spec\.selector\[rollcall\/colour\]: the client Service must select exactly one colour, selects blue and green/],
    ['preview on the active colour', (o) => (find(o, 'Service', 'rollcall-preview').spec.selector['rollcall/colour'] = 'blue'), /Service\/rollcall-preview spec\.selector\[rollcall\/colour\]: must be the idle colour, not blue/],
    ['no preview Service', (o) => o.splice(o.indexOf(find(o, 'Service', 'rollcall-preview')), 1), /Service\/rollcall-preview spec\.selector\[rollcall\/colour\]: the preview Service must select exactly one colour, selects none/],
    ['a colour missing', (o) => o.splice(o.indexOf(find(o, 'StatefulSet', 'rollcall-green')), 1), /StatefulSet\/rollcall-green: the green colour is missing/],
    ['selector without the colour', (o) => { const s = find(o, 'StatefulSet', 'rollcall-green'); delete s.spec.selector.matchLabels['rollcall/colour']; }, /StatefulSet\/rollcall-green spec\.selector\.matchLabels\[rollcall\/colour\]: must be green[\s\S]*selects the other colour's pods too/],
    ['pods labelled with the wrong colour', (o) => (find(o, 'StatefulSet', 'rollcall-green').spec.template.metadata.labels['rollcall/colour'] = 'blue'), /StatefulSet\/rollcall-green spec\.template\.metadata\.labels\[rollcall\/colour\]: must be green/],
    ['smoke test on the idle colour', (o) => (find(o, 'Job', 'rollcall-smoke').spec.template.spec.containers[0].env.find((e: Obj) => e['name'] === 'SMOKE_STATEFULSET').value = 'rollcall-green'), /env\[SMOKE_STATEFULSET\]: must be the active colour rollcall-blue/],
    ['smoke test with another image', (o) => (find(o, 'Job', 'rollcall-smoke').spec.template.spec.containers[0].image = 'ghcr.io/rollcall/rollcall:0.9.0'), /Job\/rollcall-smoke spec\.template\.spec\.containers\[0\]\.image: must be the active colour's image/],
    ['colours on different headless Services', (o) => (find(o, 'StatefulSet', 'rollcall-green').spec.serviceName = 'other'), /StatefulSet\/rollcall-green spec\.serviceName: both colours use the same headless Service/],
    // The shared checks run per colour, named by the colour's StatefulSet.
    ['a colour without liveness probe', (o) => delete find(o, 'StatefulSet', 'rollcall-green').spec.template.spec.containers[0].livenessProbe, /\[blue-green\] StatefulSet\/rollcall-green spec\.template\.spec\.containers\[rollcall\]\.livenessProbe: is missing/],
    ['a colour whose claims go with it', (o) => (find(o, 'StatefulSet', 'rollcall-blue').spec.persistentVolumeClaimRetentionPolicy.whenScaled = 'Delete'), /StatefulSet\/rollcall-blue spec\.persistentVolumeClaimRetentionPolicy\.whenScaled: must be Retain/],
    ['a colour whose APP_VERSION lies', (o) => (find(o, 'StatefulSet', 'rollcall-green').spec.template.spec.containers[0].env.find((e: Obj) => e['name'] === 'APP_VERSION').value = '9.9.9'), /StatefulSet\/rollcall-green spec\.template\.spec\.containers\[rollcall\]\.env\[APP_VERSION\]: must equal the image tag/],
    ['a third StatefulSet', (o) => o.push({ ...structuredClone(find(o, 'StatefulSet', 'rollcall-blue')), metadata: { name: 'rollcall-red', namespace: 'rollcall-blue-green' } }), /StatefulSet\/rollcall-red: only rollcall-blue and rollcall-green belong in blue-green/],
  ];
  for (const [label, mutate, want] of cases) {
    test(`policy: ${label}`, (t) => {
      if (!requireRenderer(t)) return;
      const objects = copy();
      mutate(objects);
      assert.match(show(objects as K8sObject[]), want);
    });
  }
});
