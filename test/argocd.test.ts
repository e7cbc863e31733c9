// Unit tests of the Argo CD helpers in bundle/argocd.ts, and of the "one place" rule for the repository URL.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expandDirectories, instantiate, readSettings, settingsFile } from '../bundle/argocd.ts';
import { isYaml, listFiles } from '../bundle/files.ts';
import { parseManifests } from '../bundle/render.ts';
import { repoRoot, validateSchemas } from '../bundle/schema.ts';

describe('repository settings', () => {
  test('repoURL and targetRevision come from argocd/settings/source.yaml', () => {
    const s = readSettings(repoRoot);
    assert.match(s.repoURL, /^https:\/\/.+\.git$/);
    assert.notEqual(s.targetRevision, '');
  });
  test('no other file in argocd/ names the repository or the revision', () => {
    const { repoURL } = readSettings(repoRoot);
    const others = listFiles(join(repoRoot, 'argocd'), isYaml)
      .filter((f) => relative(repoRoot, f) !== settingsFile)
      .filter((f) => readFileSync(f, 'utf8').includes(repoURL));
    assert.deepEqual(others.map((f) => relative(repoRoot, f)), []);
    for (const f of ['argocd/application/application.yaml', 'argocd/applicationset/applicationset.yaml', 'argocd/project/appproject.yaml']) {
      assert.match(readFileSync(join(repoRoot, f), 'utf8'), /set-by-argocd-settings/, `${f} carries the placeholder`);
    }
  });
});

describe('git directory generator emulation', () => {
  test('kustomize/overlays/* expands to the overlay directories, sorted', () => {
    assert.deepEqual(expandDirectories(repoRoot, 'kustomize/overlays/*'), [
      'kustomize/overlays/blue-green',
      'kustomize/overlays/canary',
      'kustomize/overlays/canary-analysis',
      'kustomize/overlays/parallel',
      'kustomize/overlays/recreate',
      'kustomize/overlays/rolling',
    ]);
  });
  test('a pattern that matches nothing expands to nothing', () => {
    assert.deepEqual(expandDirectories(repoRoot, 'kustomize/nowhere/*'), []);
  });
  test('instantiate fills {{.path.basename}} and {{.path.path}} and leaves unknown keys visible', () => {
    const out = instantiate({ name: 'rollcall-{{.path.basename}}', list: ['{{ .path.path }}', '{{.path.other}}'], n: 1 }, { 'path.basename': 'rolling', 'path.path': 'kustomize/overlays/rolling' });
    assert.deepEqual(out, { name: 'rollcall-rolling', list: ['kustomize/overlays/rolling', '{{.path.other}}'], n: 1 });
  });
});
