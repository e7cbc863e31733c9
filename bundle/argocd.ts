// Checks of the rendered Argo CD definitions against the overlays they point at: repository and revision from the
// one settings file, every path exists and renders, namespaces match, sync policy, project guard rails.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { parseManifests } from './render.ts';
import { arr, rec } from './policy-basics.ts';
import { describe } from './schema.ts';
import { applicationSyncSpec, multiStepSyncs } from '../rehearsal/model/argocd-sync.ts';
import type { K8sObject, Problem } from './types.ts';

export const settingsFile = 'argocd/settings/source.yaml';
export const placeholder = 'set-by-';
export const entryPoints = ['argocd/application', 'argocd/applicationset', 'argocd/root'];
/** The app-of-apps entry point: an Application whose source is another entry point, not an overlay. */
export const rootEntry = 'argocd/root';
const finalizer = 'resources-finalizer.argocd.argoproj.io';

export interface Settings {
  repoURL: string;
  targetRevision: string;
  argocdNamespace: string;
}

export function readSettings(root: string): Settings {
  const [cm] = parseManifests(readFileSync(join(root, settingsFile), 'utf8'), settingsFile);
  const data = rec(cm?.['data']);
  const repoURL = data['repoURL'];
  const targetRevision = data['targetRevision'];
  const argocdNamespace = data['argocdNamespace'];
  if (typeof repoURL !== 'string' || typeof targetRevision !== 'string' || typeof argocdNamespace !== 'string') {
    throw new Error(`${settingsFile}: data.repoURL, data.targetRevision and data.argocdNamespace must be strings`);
  }
  return { repoURL, targetRevision, argocdNamespace };
}

/** What the validator knows about each overlay, to compare Argo CD's view with. */
export interface OverlayInfo {
  name: string;
  namespace: string;
  rendered: boolean;
  kinds: Set<string>; // "group/Kind"
  /** The overlay as rendered: what a sync of it applies. */
  objects: readonly K8sObject[];
}

/** Glob match for Argo CD destination namespaces ("rollcall-*"). */
function globMatch(pattern: string, value: string): boolean {
  const re = new RegExp(`^${pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return re.test(value);
}

function findPlaceholders(value: unknown, path: string, out: string[]): void {
  if (typeof value === 'string') {
    if (value.includes(placeholder)) out.push(path);
  } else if (Array.isArray(value)) value.forEach((v, i) => findPlaceholders(v, `${path}[${i}]`, out));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) findPlaceholders(v, path ? `${path}.${k}` : k, out);
}

/** Applies the git directory generator's parameters the way Argo CD's Go templates would for these two keys. */
export function instantiate(template: unknown, params: Record<string, string>): unknown {
  if (typeof template === 'string') return template.replace(/\{\{\s*\.([\w.]+)\s*\}\}/g, (m, key: string) => params[key] ?? m);
  if (Array.isArray(template)) return template.map((t) => instantiate(t, params));
  if (template && typeof template === 'object') return Object.fromEntries(Object.entries(template).map(([k, v]) => [k, instantiate(v, params)]));
  return template;
}

/** Expands a git directory generator path ("kustomize/overlays/*") against the working tree. */
export function expandDirectories(root: string, pattern: string): string[] {
  const parts = pattern.split('/');
  let current = [''];
  for (const part of parts) {
    const next: string[] = [];
    for (const base of current) {
      if (part.includes('*')) {
        const dir = join(root, base);
        if (!existsSync(dir)) continue;
        for (const e of readdirSync(dir).sort()) {
          if (!e.startsWith('.') && globMatch(part, e) && statSync(join(dir, e)).isDirectory()) next.push(posix.join(base, e));
        }
      } else if (existsSync(join(root, base, part))) next.push(posix.join(base, part));
    }
    current = next;
  }
  return current;
}

export function checkArgoCd(root: string, scope: string, objects: readonly K8sObject[], overlays: readonly OverlayInfo[], settings: Settings): Problem[] {
  const problems: Problem[] = [];
  const add = (obj: K8sObject | string, field: string, message: string) => problems.push({ scope, object: typeof obj === 'string' ? obj : describe(obj), field, message });
  for (const o of objects) {
    const left: string[] = [];
    findPlaceholders(o, '', left);
    for (const f of left) add(o, f, `still holds the placeholder; is ${settingsFile} wired by argocd/settings/kustomization.yaml?`);
    if (o.metadata?.namespace !== settings.argocdNamespace) add(o, 'metadata.namespace', `Argo CD objects live in Argo CD's namespace ${settings.argocdNamespace} (from ${settingsFile})`);
  }
  if (scope === rootEntry) return [...problems, ...checkRoot(root, objects, settings)];
  const projects = objects.filter((o) => o.kind === 'AppProject');
  const project = projects[0];
  if (!project || projects.length !== 1) {
    add('AppProject/?', '', 'exactly one AppProject is required');
    return problems;
  }
  const pspec = rec(project['spec']);
  if (!arr(pspec['sourceRepos']).includes(settings.repoURL) || arr(pspec['sourceRepos']).length !== 1) add(project, 'spec.sourceRepos', `must be exactly [${settings.repoURL}]`);
  const dests = arr(pspec['destinations']).map(rec);
  if (dests.some((d) => d['namespace'] === '*' || d['server'] === '*')) add(project, 'spec.destinations', 'no wildcard destinations');
  const cluster = arr(pspec['clusterResourceWhitelist']).map(rec);
  for (const [i, c] of cluster.entries()) {
    if (!(c['group'] === '' && c['kind'] === 'Namespace')) add(project, `spec.clusterResourceWhitelist[${i}]`, `only Namespace may be cluster-scoped, got ${JSON.stringify(c)}`);
  }
  const nsWhitelist = arr(pspec['namespaceResourceWhitelist']).map(rec);
  if (nsWhitelist.some((c) => c['group'] === '*' || c['kind'] === '*')) add(project, 'spec.namespaceResourceWhitelist', 'no wildcards: list the kinds the bundle contains');
  const allowed = new Set(nsWhitelist.map((c) => `${String(c['group'])}/${String(c['kind'])}`));
  for (const ov of overlays) {
    // The overlay's Namespace is cluster-scoped: clusterResourceWhitelist (checked above) allows it, not this list.
    for (const gk of ov.kinds) if (gk !== '/Namespace' && !allowed.has(gk)) add(project, 'spec.namespaceResourceWhitelist', `overlay ${ov.name} contains ${gk}, which the project does not allow`);
  }

  const checkApp = (obj: K8sObject, prefix: string, spec: Record<string, unknown>, meta: Record<string, unknown>) => {
    const src = rec(spec['source']);
    const dest = rec(spec['destination']);
    if (spec['project'] !== project.metadata?.name) add(obj, `${prefix}spec.project`, `must be ${String(project.metadata?.name)}`);
    if (src['repoURL'] !== settings.repoURL) add(obj, `${prefix}spec.source.repoURL`, `must be ${settings.repoURL} (from ${settingsFile}), got ${JSON.stringify(src['repoURL'])}`);
    if (src['targetRevision'] !== settings.targetRevision) add(obj, `${prefix}spec.source.targetRevision`, `must be ${settings.targetRevision} (from ${settingsFile}), got ${JSON.stringify(src['targetRevision'])}`);
    const path = String(src['path'] ?? '');
    const m = /^kustomize\/overlays\/([^/]+)$/.exec(path);
    const overlay = m ? overlays.find((o) => o.name === m[1]) : undefined;
    if (!existsSync(join(root, path)) || !existsSync(join(root, path, 'kustomization.yaml'))) add(obj, `${prefix}spec.source.path`, `${path} is not a kustomization in this repository`);
    else if (!overlay) add(obj, `${prefix}spec.source.path`, `${path} is not one of kustomize/overlays/*`);
    else {
      if (!overlay.rendered) add(obj, `${prefix}spec.source.path`, `${path} does not render`);
      if (dest['namespace'] !== overlay.namespace) add(obj, `${prefix}spec.destination.namespace`, `must be ${overlay.namespace} (the overlay's namespace), got ${JSON.stringify(dest['namespace'])}`);
    }
    if (typeof dest['server'] !== 'string' && typeof dest['name'] !== 'string') add(obj, `${prefix}spec.destination`, 'server or name is required');
    if (!dests.some((d) => (d['server'] === dest['server'] || d['name'] === dest['name']) && globMatch(String(d['namespace'] ?? ''), String(dest['namespace'])))) {
      add(obj, `${prefix}spec.destination`, `${String(dest['server'])} ${String(dest['namespace'])} is not a destination of AppProject ${String(project.metadata?.name)}`);
    }
    const sync = rec(spec['syncPolicy']);
    const auto = rec(sync['automated']);
    if (auto['prune'] !== true) add(obj, `${prefix}spec.syncPolicy.automated.prune`, 'must be true');
    if (auto['selfHeal'] !== true) add(obj, `${prefix}spec.syncPolicy.automated.selfHeal`, 'must be true');
    // Every sync of the overlay's life must be single-step, or a failed hook cannot end a bad release's sync: the
    // rule the rehearsal's Argo CD model runs, from the same function.
    if (overlay?.rendered) for (const why of multiStepSyncs(overlay.objects, applicationSyncSpec({ spec }))) add(obj, `${prefix}spec.syncPolicy`, `${why}; a failed hook then cannot end a bad release's sync (rehearsal/model/argocd-sync.ts)`);
    const retry = rec(sync['retry']);
    if (!(typeof retry['limit'] === 'number' && retry['limit'] > 0) || Object.keys(rec(retry['backoff'])).length === 0) add(obj, `${prefix}spec.syncPolicy.retry`, 'must set a limit > 0 and a backoff');
    if (!arr(meta['finalizers']).includes(finalizer)) add(obj, `${prefix}metadata.finalizers`, `must include ${finalizer}`);
  };

  for (const app of objects.filter((o) => o.kind === 'Application')) checkApp(app, '', rec(app['spec']), rec(app.metadata));
  for (const set of objects.filter((o) => o.kind === 'ApplicationSet')) {
    const spec = rec(set['spec']);
    if (spec['goTemplate'] !== true) add(set, 'spec.goTemplate', 'must be true');
    const gens = arr(spec['generators']).map(rec);
    const git = rec(gens[0]?.['git']);
    if (gens.length !== 1 || Object.keys(git).length === 0) {
      add(set, 'spec.generators', 'must be one git generator');
      continue;
    }
    if (git['repoURL'] !== settings.repoURL) add(set, 'spec.generators[0].git.repoURL', `must be ${settings.repoURL} (from ${settingsFile})`);
    if (git['revision'] !== settings.targetRevision) add(set, 'spec.generators[0].git.revision', `must be ${settings.targetRevision} (from ${settingsFile})`);
    const dirs = arr(git['directories']).map(rec);
    const found = dirs.filter((d) => d['exclude'] !== true).flatMap((d) => expandDirectories(root, String(d['path'])));
    const excluded = new Set(dirs.filter((d) => d['exclude'] === true).flatMap((d) => expandDirectories(root, String(d['path']))));
    const paths = found.filter((p) => !excluded.has(p));
    const want = overlays.map((o) => `kustomize/overlays/${o.name}`);
    if (JSON.stringify(paths) !== JSON.stringify(want)) add(set, 'spec.generators[0].git.directories', `must generate exactly ${want.join(', ')}; generates ${paths.join(', ') || 'nothing'}`);
    for (const p of paths) {
      const app = instantiate(spec['template'], { 'path.path': p, 'path.basename': posix.basename(p) }) as Record<string, unknown>;
      const left = JSON.stringify(app).match(/\{\{[^}]*\}\}/g);
      if (left) add(set, 'spec.template', `unresolved template parameters for ${p}: ${left.join(', ')}`);
      checkApp(set, `(${posix.basename(p)}) template.`, rec(app['spec']), rec(app['metadata']));
    }
  }
  if (!objects.some((o) => o.kind === 'Application' || o.kind === 'ApplicationSet')) add('Application/?', '', 'no Application or ApplicationSet');
  return problems;
}

/** The app-of-apps: one Application in the default project whose source is another entry point of argocd/. */
function checkRoot(root: string, objects: readonly K8sObject[], settings: Settings): Problem[] {
  const problems: Problem[] = [];
  const add = (obj: K8sObject | string, field: string, message: string) => problems.push({ scope: rootEntry, object: typeof obj === 'string' ? obj : describe(obj), field, message });
  const apps = objects.filter((o) => o.kind === 'Application');
  const app = apps[0];
  if (!app || objects.length !== 1) {
    add('Application/?', '', 'the root entry point holds exactly one Application');
    return problems;
  }
  const spec = rec(app['spec']);
  const src = rec(spec['source']);
  const dest = rec(spec['destination']);
  if (src['repoURL'] !== settings.repoURL) add(app, 'spec.source.repoURL', `must be ${settings.repoURL} (from ${settingsFile})`);
  if (src['targetRevision'] !== settings.targetRevision) add(app, 'spec.source.targetRevision', `must be ${settings.targetRevision} (from ${settingsFile})`);
  const path = String(src['path'] ?? '');
  if (!entryPoints.includes(path) || path === rootEntry || !existsSync(join(root, path, 'kustomization.yaml'))) add(app, 'spec.source.path', `must be another entry point of argocd/ (${entryPoints.filter((e) => e !== rootEntry).join(', ')}), got ${JSON.stringify(path)}`);
  if (dest['namespace'] !== settings.argocdNamespace) add(app, 'spec.destination.namespace', `must be Argo CD's namespace ${settings.argocdNamespace}`);
  const auto = rec(rec(spec['syncPolicy'])['automated']);
  if (auto['prune'] !== true || auto['selfHeal'] !== true) add(app, 'spec.syncPolicy.automated', 'prune and selfHeal must be true');
  if (!arr(rec(app.metadata)['finalizers']).includes(finalizer)) add(app, 'metadata.finalizers', `must include ${finalizer}`);
  return problems;
}
