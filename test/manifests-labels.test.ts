// Labels never reach what cannot change: a label edit on the base renders identical claim templates and selectors in
// every overlay (kustomize#5389: a label transformer with includeSelectors/includeTemplates writes into
// volumeClaimTemplates, and a StatefulSet rejects any later change there). Selector labels have one source.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listOverlays } from '../bundle/files.ts';
import { render } from '../bundle/render.ts';
import { repoRoot } from '../bundle/schema.ts';
import type { K8sObject } from '../bundle/types.ts';
import { renderer, requireRenderer } from '../testing/support/renderer.ts';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'rollcall-labels-'));
  cpSync(join(repoRoot, 'kustomize'), join(dir, 'kustomize'), { recursive: true });
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Everything a label transformer must never touch: claim templates and every selector (and the pod template labels
 * the selector must keep matching). */
function immutables(objects: readonly K8sObject[]): unknown {
  return objects.map((o) => {
    const spec = (o['spec'] ?? {}) as Record<string, any>;
    return {
      id: `${String(o.kind)}/${o.metadata?.name}`,
      volumeClaimTemplates: spec['volumeClaimTemplates'],
      selector: spec['selector'],
      podSelector: spec['podSelector'],
      templateLabels: spec['template']?.metadata?.labels,
      spread: spec['template']?.spec?.topologySpreadConstraints?.map((c: { labelSelector: unknown }) => c.labelSelector),
    };
  });
}

test('a label edit on the base renders identical claim templates and selectors in every overlay', async (t) => {
  if (!requireRenderer(t)) return;
  const before = new Map<string, K8sObject[]>();
  for (const name of listOverlays(repoRoot)) before.set(name, (await render(renderer!, `kustomize/overlays/${name}`, dir)).objects);
  const file = join(dir, 'kustomize/base/kustomization.yaml');
  const text = readFileSync(file, 'utf8');
  const edited = text.replace('      app.kubernetes.io/part-of: rollcall\n', '      app.kubernetes.io/part-of: rollcall-renamed\n      team: visits\n');
  assert.notEqual(edited, text, 'the base labels block was not found');
  writeFileSync(file, edited);
  for (const [name, old] of before) {
    const now = (await render(renderer!, `kustomize/overlays/${name}`, dir)).objects;
    // The edit did take effect on metadata labels ...
    const sts = now.find((o) => o.kind === 'StatefulSet')!;
    assert.equal(sts.metadata?.labels?.['team'], 'visits', `${name}: the new label is on the StatefulSet's metadata`);
    // ... and nowhere immutable.
    assert.deepEqual(immutables(now), immutables(old), `${name}: claim templates or selectors changed`);
    const vcts = ((sts['spec'] as Record<string, any>)['volumeClaimTemplates'] ?? []) as { metadata: Record<string, unknown> }[];
    assert.ok(vcts.length > 0 && vcts.every((v) => v.metadata['labels'] === undefined), `${name}: claim templates carry no labels`);
  }
});

test('selector labels have one source: the StatefulSet selector; a change there moves every selector with it', async (t) => {
  if (!requireRenderer(t)) return;
  const file = join(dir, 'kustomize/base/statefulset.yaml');
  const original = readFileSync(file, 'utf8');
  writeFileSync(file, original.replace('      app.kubernetes.io/component: web\n', '      app.kubernetes.io/component: counter\n'));
  try {
    const objects = (await render(renderer!, 'kustomize/overlays/rolling', dir)).objects;
    const json = JSON.stringify(objects.map((o) => ({ s: (o['spec'] as Record<string, any>)?.['selector'], p: (o['spec'] as Record<string, any>)?.['podSelector'], t: (o['spec'] as Record<string, any>)?.['template']?.metadata?.labels })));
    assert.ok(!json.includes('"app.kubernetes.io/component":"web"'), 'no selector kept the old value');
    assert.equal(json.match(/"app\.kubernetes\.io\/component":"counter"/g)?.length, 6, 'StatefulSet selector and template, 2 Services, PDB, NetworkPolicy');
    // The base files hold no copy of the selector labels (one source).
    for (const f of ['service.yaml', 'service-headless.yaml', 'poddisruptionbudget.yaml', 'networkpolicy.yaml']) {
      assert.doesNotMatch(readFileSync(join(repoRoot, 'kustomize/base', f), 'utf8'), /app\.kubernetes\.io\/component/, f);
    }
  } finally {
    writeFileSync(file, original);
  }
});

test('every object of every overlay carries app.kubernetes.io/part-of=rollcall, those an overlay adds included', async (t) => {
  if (!requireRenderer(t)) return;
  const missing: string[] = [];
  for (const name of listOverlays(repoRoot)) {
    for (const o of (await render(renderer!, `kustomize/overlays/${name}`, repoRoot)).objects) {
      if (o.metadata?.labels?.['app.kubernetes.io/part-of'] !== 'rollcall') missing.push(`${name}: ${String(o.kind)}/${o.metadata?.name}`);
    }
  }
  assert.deepEqual(missing, []);
});
