// The whole validation of the GitOps bundle, used by bundle/validate.ts and test/manifests.test.ts:
// source-file checks, rendering every overlay and argocd/ entry point with real kustomize, the README's exact command,
// schema validation (runtime + strict unknown fields) of everything, policy and Argo CD cross-checks.
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { checkArgoCd, entryPoints, readSettings, type OverlayInfo } from './argocd.ts';
import { checkSourceTree, isYaml, listFiles, listOverlays } from './files.ts';
import { checkOverlay } from './policy.ts';
import { checkContainerAllowlist } from './policy-container-allowlist.ts';
import { findRenderer, noRendererMessage, parseManifests, render, type Renderer } from './render.ts';
import { repoRoot, validateSchemas, type StrictItem } from './schema.ts';
import type { K8sObject, Problem } from './types.ts';

export interface OverlayReport {
  name: string;
  namespace: string;
  objects: K8sObject[];
  problems: Problem[];
  rendered: boolean;
}

export interface BundleReport {
  renderer: Renderer | null;
  /** Set when nothing could be rendered (no kustomize, no kubectl). */
  skipped?: string;
  overlays: OverlayReport[];
  argocd: { entry: string; objects: K8sObject[]; problems: Problem[] }[];
  /** Source-file and raw argocd/ file problems. */
  files: Problem[];
  /** The README's command: `kustomize build overlays/recreate` in kustomize/ (or the kubectl equivalent). */
  documentedCommand?: { command: string; cwd: string; ok: boolean; sameAsRootRender: boolean };
  problems: Problem[];
}

const groupKind = (o: K8sObject) => {
  const api = String(o.apiVersion ?? '');
  return `${api.includes('/') ? api.split('/')[0] : ''}/${String(o.kind)}`;
};

export async function validateBundle(root = repoRoot, renderer: Renderer | null = findRenderer()): Promise<BundleReport> {
  const files = checkSourceTree(root);
  // Raw argocd/ files (not kustomizations): schema-checked as written, placeholders and all.
  const rawItems: StrictItem[] = [];
  for (const file of listFiles(join(root, 'argocd'), isYaml)) {
    if (/kustomization\.ya?ml$/.test(file)) continue;
    const rel = relative(root, file);
    try {
      for (const obj of parseManifests(readFileSync(file, 'utf8'), rel)) rawItems.push({ scope: rel, obj });
    } catch (err) {
      files.push({ scope: rel, object: 'file', field: '', message: (err as Error).message });
    }
  }
  const names = listOverlays(root);
  const report: BundleReport = { renderer, overlays: [], argocd: [], files, problems: [] };
  if (!renderer) {
    report.skipped = noRendererMessage;
    files.push(...(await validateSchemas(rawItems)));
    report.problems = [...files];
    return report;
  }

  const overlays = await Promise.all(
    names.map(async (name): Promise<OverlayReport> => {
      const namespace = `rollcall-${name}`;
      try {
        const { objects } = await render(renderer, `kustomize/overlays/${name}`, root);
        return { name, namespace, objects, problems: [...checkOverlay(name, objects), ...checkContainerAllowlist(name, objects)], rendered: true };
      } catch (err) {
        return { name, namespace, objects: [], problems: [{ scope: name, object: 'kustomization', field: '', message: (err as Error).message }], rendered: false };
      }
    }),
  );
  const argo = await Promise.all(
    entryPoints.map(async (entry) => {
      try {
        return { entry, objects: (await render(renderer, entry, root)).objects, problems: [] as Problem[] };
      } catch (err) {
        return { entry, objects: [] as K8sObject[], problems: [{ scope: entry, object: 'kustomization', field: '', message: (err as Error).message }] };
      }
    }),
  );

  // The README's exact command, run where the README runs it.
  const cwd = join(root, 'kustomize');
  const documentedCmd = renderer.command('overlays/recreate').join(' ');
  try {
    const documented = await render(renderer, 'overlays/recreate', cwd);
    const recreate = overlays.find((o) => o.name === 'recreate');
    const same = recreate !== undefined && JSON.stringify(documented.objects) === JSON.stringify(recreate.objects);
    report.documentedCommand = { command: documentedCmd, cwd: 'kustomize/', ok: true, sameAsRootRender: same };
    if (!same) files.push({ scope: 'recreate', object: 'kustomization', field: '', message: `\`${documentedCmd}\` in kustomize/ renders something else than from the repository root` });
  } catch (err) {
    report.documentedCommand = { command: documentedCmd, cwd: 'kustomize/', ok: false, sameAsRootRender: false };
    files.push({ scope: 'recreate', object: 'kustomization', field: '', message: (err as Error).message });
  }

  // Schemas: everything in one strict batch (one tsc run).
  const items: StrictItem[] = [
    ...rawItems,
    ...overlays.flatMap((o) => o.objects.map((obj) => ({ scope: o.name, obj }))),
    ...argo.flatMap((a) => a.objects.map((obj) => ({ scope: `${a.entry} (rendered)`, obj }))),
  ];
  const schemaProblems = await validateSchemas(items);
  for (const p of schemaProblems) {
    const o = overlays.find((x) => x.name === p.scope);
    const a = argo.find((x) => `${x.entry} (rendered)` === p.scope);
    (o?.problems ?? a?.problems ?? files).push(p);
  }

  const infos: OverlayInfo[] = overlays.map((o) => ({ name: o.name, namespace: o.namespace, rendered: o.rendered, kinds: new Set(o.objects.map(groupKind)), objects: o.objects }));
  let settings;
  try {
    settings = readSettings(root);
  } catch (err) {
    files.push({ scope: 'argocd/settings/source.yaml', object: 'ConfigMap/rollcall-source', field: 'data', message: (err as Error).message });
  }
  if (settings) for (const a of argo) if (a.objects.length > 0) a.problems.push(...checkArgoCd(root, a.entry, a.objects, infos, settings));

  report.overlays = overlays;
  report.argocd = argo;
  report.problems = [...files, ...overlays.flatMap((o) => o.problems), ...argo.flatMap((a) => a.problems)];
  return report;
}
