// The blue-green overlay: two StatefulSets with their own volumes, the client Service on the active colour, the
// preview on the idle one; the Git changes its README documents render what it promises; every blue-green policy
// (bundle/policy-blue-green.ts) and the shared ones per colour can fail.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { checkOverlay } from '../bundle/policy.ts';
import { colourReleaseProblems, compareVersions } from '../bundle/policy-blue-green.ts';
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
/** Validation as `npm run validate` runs it, with package.json at `version` (the committed one by default). */
const show = (objs: readonly K8sObject[], version?: string) => checkOverlay(overlay, objs, ...(version === undefined ? [] : [version])).map(formatProblem).join('\n');
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
      assert.equal(sts.spec.template.spec.containers[0].env.find((e: Obj) => e['name'] === 'APP_VERSION'), undefined, 'the version comes from the image');
    }
    assert.equal(show(o), '');
  });
});

describe('blue-green: the Git changes the README documents', () => {
  test('release to green, switch, scale blue down, switch back: each renders what it promises and passes validation', async (t) => {
    if (!requireRenderer(t)) return;
    // release: npm run release -- 1.1.0 (package.json at 1.1.0), then the idle colour's tag and size, one commit
    edit('colours/green/kustomization.yaml', 'newTag: 1.0.0', 'newTag: 1.1.0');
    edit('colours/green/kustomization.yaml', /value: 0\n/, 'value: 3\n');
    let o = await renderEdited();
    assert.deepEqual(summary(o), { client: 'blue', preview: 'green', blue: [3, 'ghcr.io/rollcall/rollcall:1.0.0'], green: [3, 'ghcr.io/rollcall/rollcall:1.1.0'], smoke: ['rollcall-blue', 'ghcr.io/rollcall/rollcall:1.0.0'] });
    assert.equal(show(o as K8sObject[], '1.1.0'), '');
    // the same tag without npm run release: no commit has built 1.1.0 yet
    assert.match(show(o as K8sObject[], '1.0.0'), /StatefulSet\/rollcall-green spec\.template\.spec\.containers\[rollcall\]\.image: tag 1\.1\.0 is later than package\.json's version 1\.0\.0/);
    // switch: one line
    edit('kustomization.yaml', '  - active-blue\n', '  - active-green\n');
    o = await renderEdited();
    assert.deepEqual(summary(o), { client: 'green', preview: 'blue', blue: [3, 'ghcr.io/rollcall/rollcall:1.0.0'], green: [3, 'ghcr.io/rollcall/rollcall:1.1.0'], smoke: ['rollcall-green', 'ghcr.io/rollcall/rollcall:1.1.0'] });
    assert.equal(show(o as K8sObject[], '1.1.0'), '');
    // scale down the old colour
    edit('colours/blue/kustomization.yaml', /value: 3\n/, 'value: 0\n');
    o = await renderEdited();
    assert.deepEqual(summary(o).blue, [0, 'ghcr.io/rollcall/rollcall:1.0.0']);
    assert.equal(show(o as K8sObject[], '1.1.0'), '');
    // switching back to a colour that was scaled down is refused by validation: scale it up first
    edit('kustomization.yaml', '  - active-green\n', '  - active-blue\n');
    o = await renderEdited();
    assert.match(show(o as K8sObject[], '1.1.0'), /\[blue-green\] StatefulSet\/rollcall-blue spec\.replicas: the active colour must be scaled up, got 0/);
  });
});

describe('blue-green: image tag = package.json version, for two colours', () => {
  test('compareVersions: Semantic Versioning 2.0.0 §11 order for X.Y.Z[-pre]', () => {
    const cases: [string, string, number][] = [
      ['1.0.0', '1.0.0', 0], ['1.0.0', '1.1.0', -1], ['1.10.0', '1.9.0', 1], ['2.0.0', '1.99.99', 1],
      ['1.1.0-rc.1', '1.1.0', -1], ['1.1.0-rc.2', '1.1.0-rc.10', -1], ['1.1.0-1', '1.1.0-alpha', -1], ['1.1.0-alpha', '1.1.0-alpha.1', -1],
    ];
    for (const [a, b, sign] of cases) assert.equal(Math.sign(compareVersions(a, b)!), sign, `${a} vs ${b}`);
    assert.equal(compareVersions('latest', '1.0.0'), undefined);
  });
  const cases: [string, { blue: string | undefined; green: string | undefined }, string, RegExp | null][] = [
    ['between releases both colours run it', { blue: '1.0.0', green: '1.0.0' }, '1.0.0', null],
    ['the new release on one colour, the previous one on the other', { blue: '1.0.0', green: '1.1.0' }, '1.1.0', null],
    ['a colour later than package.json (tag bumped without npm run release)', { blue: '1.0.0', green: '1.1.0' }, '1.0.0', /green: tag 1\.1\.0 is later/],
    ['no colour on package.json\'s version', { blue: '1.0.0', green: '1.0.1' }, '1.1.0', /one colour must run package\.json's version 1\.1\.0/],
    ['a tag that is not a release version', { blue: 'latest', green: '1.0.0' }, '1.0.0', /blue: tag "latest" must be a release version/],
    ['no tag', { blue: undefined, green: '1.0.0' }, '1.0.0', /blue: tag undefined must be a release version/],
  ];
  for (const [label, tags, version, want] of cases) {
    test(label, () => {
      const text = colourReleaseProblems(tags, version).map((p) => `${p.colour ?? '-'}: ${p.message}`).join('\n');
      if (want === null) assert.equal(text, '');
      else assert.match(text, want);
    });
  }
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
    ['a colour with an APP_VERSION', (o) => find(o, 'StatefulSet', 'rollcall-green').spec.template.spec.containers[0].env.push({ name: 'APP_VERSION', value: '1.0.0' }), /StatefulSet\/rollcall-green spec\.template\.spec\.containers\[rollcall\]\.env\[APP_VERSION\]: must not be set/],
    ['a colour on a release no commit has built', (o) => (find(o, 'StatefulSet', 'rollcall-green').spec.template.spec.containers[0].image = 'ghcr.io/rollcall/rollcall:9.9.9'), /StatefulSet\/rollcall-green spec\.template\.spec\.containers\[rollcall\]\.image: tag 9\.9\.9 is later than package\.json's version 1\.0\.0/],
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
