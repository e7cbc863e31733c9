// Checks on the source files themselves (not the rendered output): kustomization fields, YAML style, READMEs.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { Problem } from './types.ts';

/** Deprecated kustomize fields, with what replaces them. */
export const deprecatedKustomizeFields: Record<string, string> = {
  bases: 'resources',
  patchesStrategicMerge: 'patches',
  patchesJson6902: 'patches',
  commonLabels: 'labels',
  vars: 'replacements',
  imageTags: 'images',
};

/** Fields of kustomize.config.k8s.io Kustomization / Component (v5) that this bundle may use. */
export const knownKustomizeFields = new Set([
  'apiVersion', 'kind', 'metadata', 'resources', 'components', 'patches', 'namespace', 'namePrefix', 'nameSuffix',
  'labels', 'commonAnnotations', 'images', 'replacements', 'replicas', 'configMapGenerator', 'secretGenerator',
  'generatorOptions', 'generators', 'transformers', 'validators', 'openapi', 'crds', 'buildMetadata', 'sortOptions',
  'helmCharts', 'helmGlobals',
]);

export function listFiles(dir: string, filter: (name: string) => boolean): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir).sort()) {
    const p = join(dir, entry);
    if (statSync(p).isDirectory()) out.push(...listFiles(p, filter));
    else if (filter(entry)) out.push(p);
  }
  return out;
}

export const isYaml = (name: string) => /\.ya?ml$/.test(name);

/** Checks one kustomization.yaml given as parsed data; `where` names the file. */
export function checkKustomization(where: string, data: unknown, expectedNamespace?: string): Problem[] {
  const problems: Problem[] = [];
  const add = (field: string, message: string) => problems.push({ scope: where, object: 'Kustomization', field, message });
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    add('', 'not a mapping');
    return problems;
  }
  const k = data as Record<string, unknown>;
  for (const key of Object.keys(k)) {
    if (key in deprecatedKustomizeFields) add(key, `deprecated kustomize field; use \`${deprecatedKustomizeFields[key]}\``);
    else if (!knownKustomizeFields.has(key)) add(key, 'unknown kustomization field');
  }
  const kind = k['kind'];
  if (kind !== 'Kustomization' && kind !== 'Component') add('kind', 'must be Kustomization or Component (explicit)');
  const wantApi = kind === 'Component' ? 'kustomize.config.k8s.io/v1alpha1' : 'kustomize.config.k8s.io/v1beta1';
  if (k['apiVersion'] !== wantApi) add('apiVersion', `must be ${wantApi}`);
  if (Array.isArray(k['patches'])) {
    k['patches'].forEach((p, i) => {
      const patch = (p ?? {}) as Record<string, unknown>;
      if (patch['target'] === undefined) add(`patches[${i}].target`, 'every patch names its target');
    });
  }
  if (Array.isArray(k['labels'])) {
    k['labels'].forEach((l, i) => {
      if (((l ?? {}) as Record<string, unknown>)['includeSelectors'] === undefined) add(`labels[${i}].includeSelectors`, 'say explicitly whether the labels go into selectors');
    });
  }
  if (expectedNamespace !== undefined && k['namespace'] !== expectedNamespace) add('namespace', `must be ${expectedNamespace}, got ${JSON.stringify(k['namespace'])}`);
  return problems;
}

/** Style rules for one YAML source file (text). */
export function checkYamlStyle(where: string, text: string): Problem[] {
  const problems: Problem[] = [];
  const add = (field: string, message: string) => problems.push({ scope: where, object: 'file', field, message });
  if (!text.startsWith('#')) add('line 1', 'must start with a header comment: what the file is for and why');
  text.split('\n').forEach((line, i) => {
    const wave = /argocd\.argoproj\.io\/sync-wave:\s*(.*)$/.exec(line);
    if (wave && !/^"-?\d+"\s*(#.*)?$/.test(wave[1]!.trim())) add(`line ${i + 1}`, `sync waves are quoted strings, got ${wave[1]!.trim()}`);
    if (/\t/.test(line)) add(`line ${i + 1}`, 'tab character');
    if (/\s+$/.test(line)) add(`line ${i + 1}`, 'trailing whitespace');
  });
  if (!text.endsWith('\n')) add('end', 'must end with a newline');
  let docs;
  try {
    docs = parseAllDocuments(text, { uniqueKeys: true, version: '1.1' });
  } catch (err) {
    add('', `YAML: ${(err as Error).message}`);
    return problems;
  }
  const list = Array.isArray(docs) ? docs : [];
  for (const d of list) for (const e of d.errors) add('', `YAML: ${e.message}`);
  // Hooks live in their own file: a file with a hook holds nothing else.
  const values = list.map((d) => d.toJS() as Record<string, unknown> | null).filter((v) => v !== null);
  const hooks = values.filter((v) => ((v?.['metadata'] as { annotations?: Record<string, string> } | undefined)?.annotations ?? {})['argocd.argoproj.io/hook']);
  if (hooks.length > 0 && values.length > 1) add('', 'an Argo CD hook must be alone in its file');
  return problems;
}

/** Static checks over kustomize/ and argocd/ (all YAML files, kustomizations, READMEs). */
export function checkSourceTree(root: string): Problem[] {
  const problems: Problem[] = [];
  const kdir = join(root, 'kustomize');
  const overlaysDir = join(kdir, 'overlays');
  for (const file of [...listFiles(kdir, isYaml), ...listFiles(join(root, 'argocd'), isYaml)]) {
    const rel = relative(root, file);
    const text = readFileSync(file, 'utf8');
    problems.push(...checkYamlStyle(rel, text));
    if (basename(file) === 'kustomization.yaml' || basename(file) === 'kustomization.yml') {
      const dir = dirname(file);
      const isOverlay = dirname(dir) === overlaysDir;
      let data: unknown;
      try {
        data = parseAllDocuments(text, { version: '1.1' })[0]?.toJS();
      } catch {
        continue; // reported by checkYamlStyle
      }
      problems.push(...checkKustomization(rel, data, isOverlay ? `rollcall-${basename(dir)}` : undefined));
    }
  }
  for (const f of ['kustomize/README.md', 'argocd/README.md']) {
    if (!existsSync(join(root, f))) problems.push({ scope: f, object: 'file', field: '', message: 'missing' });
  }
  for (const o of listOverlays(root)) {
    const readme = join(overlaysDir, o, 'README.md');
    if (!existsSync(readme)) problems.push({ scope: `kustomize/overlays/${o}`, object: 'README.md', field: '', message: 'each overlay has a README (what it changes, trade-off, commands)' });
  }
  return problems;
}

export function listOverlays(root: string): string[] {
  const dir = join(root, 'kustomize', 'overlays');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((d) => statSync(join(dir, d)).isDirectory())
    .sort();
}
