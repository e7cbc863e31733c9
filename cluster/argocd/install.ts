// What a real Argo CD install puts into the cluster before its components start, taken from Argo CD's own module in
// the Go module cache (the release cluster/go.mod pins), never vendored:
//   - its CRDs: manifests/crds/*-crd.yaml (Application, ApplicationSet, AppProject);
//   - its settings as install.yaml has them: every resource of manifests/base/config/kustomization.yaml
//     (argocd-cm, argocd-cmd-params-cm, argocd-secret, argocd-rbac-cm, the known-hosts, TLS and GPG ConfigMaps);
//   - the Secret argocd-redis with a random `auth`, which a real install's redis-secret-init Job creates
//     (manifests/base/redis: `argocd admin redis-initial-password`), read by Redis and by the components;
//   - the `default` AppProject, which argocd-server creates at start (server/server.go `initializeDefaultProject`:
//     sourceRepos *, destinations server * namespace *, clusterResourceWhitelist */*); no argocd-server runs here.
// The Argo Rollouts CRDs (for the analysis controller) come from its module the same way.
// Applied server-side (the CRDs are larger than client-side apply's annotation allows) through the control plane's
// API client.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse, parseAllDocuments } from 'yaml';
import { ApiError, request, type ApiClient } from '../local/api.ts';
import { requiredVersion } from '../go-mod.ts';
import { goEnv, goModText, goModuleDir } from '../go-build.ts';
import { ARGOCD_MODULE, ROLLOUTS_MODULE } from './build.ts';

const exec = promisify(execFile);

/** Where the Go module cache holds `module` at the version cluster/go.mod requires (downloaded if absent). */
export async function moduleDir(goCommand: string, module: string): Promise<string> {
  const goMod = goModText();
  const version = requiredVersion(goMod, module);
  const { stdout } = await exec(goCommand, ['mod', 'download', '-json', `${module}@${version}`], { cwd: goModuleDir, maxBuffer: 1 << 20, env: goEnv(goMod) });
  const info = JSON.parse(stdout) as { Dir?: string; Error?: string };
  if (info.Error || !info.Dir) throw new Error(`go mod download ${module}@${version}: ${info.Error ?? 'no Dir in its answer'}`);
  return info.Dir;
}

export const argocdModuleDir = (go: string) => moduleDir(go, ARGOCD_MODULE);
export const rolloutsModuleDir = (go: string) => moduleDir(go, ROLLOUTS_MODULE);

/** The CRD files of a module's manifests/crds folder. */
export async function crdFiles(moduleRoot: string): Promise<string[]> {
  const dir = path.join(moduleRoot, 'manifests/crds');
  return (await readdir(dir)).filter((f) => f.endsWith('-crd.yaml')).sort().map((f) => path.join(dir, f));
}

/** The settings files install.yaml is built from: the resources of manifests/base/config/kustomization.yaml. */
export async function configFiles(argocdRoot: string): Promise<string[]> {
  const dir = path.join(argocdRoot, 'manifests/base/config');
  const kustomization = parse(await readFile(path.join(dir, 'kustomization.yaml'), 'utf8')) as { resources?: string[] };
  if (!kustomization.resources?.length) throw new Error(`${dir}/kustomization.yaml lists no resources`);
  return kustomization.resources.map((f) => path.join(dir, f));
}

/** The objects a real install creates at run time rather than from a file (see the header). */
export function runtimeObjects(namespace: string, redisPassword: string): object[] {
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'argocd-redis', namespace, labels: { 'app.kubernetes.io/part-of': 'argocd' } },
      type: 'Opaque',
      stringData: { auth: redisPassword },
    },
    {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'AppProject',
      metadata: { name: 'default', namespace },
      spec: { sourceRepos: ['*'], destinations: [{ server: '*', namespace: '*' }], clusterResourceWhitelist: [{ group: '*', kind: '*' }] },
    },
  ];
}

/** The API path of an object (the kinds installed here and those a test reads). */
export function objectPath(obj: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } }): string {
  const plural: Record<string, string> = {
    CustomResourceDefinition: 'customresourcedefinitions',
    Namespace: 'namespaces',
    ConfigMap: 'configmaps',
    Secret: 'secrets',
    AppProject: 'appprojects',
    Application: 'applications',
    ApplicationSet: 'applicationsets',
  };
  const resource = plural[obj.kind];
  if (!resource) throw new Error(`objectPath: kind ${obj.kind} is not known here`);
  const prefix = obj.apiVersion.includes('/') ? `/apis/${obj.apiVersion}` : `/api/${obj.apiVersion}`;
  const ns = obj.metadata.namespace ? `/namespaces/${obj.metadata.namespace}` : '';
  return `${prefix}${ns}/${resource}/${obj.metadata.name}`;
}

type KubeObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };

/** Server-side apply of one object (PATCH application/apply-patch+yaml; JSON is YAML), as `kubectl apply --server-side --force-conflicts`. */
export async function applyObject(api: ApiClient, obj: KubeObject): Promise<void> {
  // A CRD is up to a few hundred kB and a loaded machine is slow to store it: a minute, not the client's default 5 s.
  const res = await request(`${api.server}${objectPath(obj)}?fieldManager=rollcall-install&force=true`, {
    method: 'PATCH',
    body: JSON.stringify(obj),
    contentType: 'application/apply-patch+yaml',
    tls: api.tls,
    timeoutMs: 60_000,
  });
  if (res.status < 200 || res.status > 299) throw new ApiError('PATCH', objectPath(obj), res);
}

async function objectsOf(file: string, namespace?: string): Promise<KubeObject[]> {
  const docs = parseAllDocuments(await readFile(file, 'utf8')).map((d) => d.toJS() as KubeObject | null);
  return docs.filter((d): d is KubeObject => d !== null).map((d) => (namespace ? { ...d, metadata: { ...d.metadata, namespace } } : d));
}

async function applyCrds(api: ApiClient, files: string[]): Promise<void> {
  const crds = (await Promise.all(files.map((f) => objectsOf(f)))).flat();
  for (const crd of crds) await applyObject(api, crd);
  const deadline = Date.now() + 60_000;
  for (const crd of crds) {
    for (;;) {
      const got = await api.get<{ status?: { conditions?: { type: string; status: string }[] } }>(objectPath(crd));
      if (got.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) throw new Error(`CRD ${crd.metadata.name} not Established within 60 s`);
      await sleep(200);
    }
  }
}

/** Installs Argo CD's CRDs, settings and runtime objects into `namespace`. */
export async function installArgoCD(api: ApiClient, argocdRoot: string, namespace: string): Promise<void> {
  await applyCrds(api, await crdFiles(argocdRoot));
  const [ns, ...rest] = runtimeObjects(namespace, randomBytes(12).toString('base64url')) as KubeObject[];
  await applyObject(api, ns!);
  for (const file of await configFiles(argocdRoot)) for (const obj of await objectsOf(file, namespace)) await applyObject(api, obj);
  for (const obj of rest) {
    // The Redis password is created once, as the init Job does (it leaves an existing Secret alone).
    if (obj.kind === 'Secret' && (await api.send('GET', objectPath(obj))).status === 200) continue;
    await applyObject(api, obj);
  }
}

/** Installs the Argo Rollouts CRDs (AnalysisTemplate, AnalysisRun, ...), which the canary-analysis overlay needs. */
export async function installRolloutsCrds(api: ApiClient, rolloutsRoot: string): Promise<void> {
  await applyCrds(api, await crdFiles(rolloutsRoot));
}

/** Sets keys of one of Argo CD's ConfigMaps (argocd-cmd-params-cm for a test's settings); components read it at start. */
export async function patchConfigMap(api: ApiClient, namespace: string, name: string, data: Record<string, string>): Promise<void> {
  const res = await api.send('PATCH', `/api/v1/namespaces/${namespace}/configmaps/${name}`, JSON.stringify({ data }), 'application/merge-patch+json');
  if (res.status !== 200) throw new ApiError('PATCH', `configmaps/${name}`, res);
}

/** The data of the ConfigMaps and Secrets of `namespace`, by name, as a pod's environment resolves them. */
export async function readConfig(api: ApiClient, namespace: string): Promise<{ configMaps: Record<string, Record<string, string>>; secrets: Record<string, Record<string, string>> }> {
  const list = async (resource: string) => {
    const { items } = await api.get<{ items: { metadata: { name: string }; data?: Record<string, string> }[] }>(`/api/v1/namespaces/${namespace}/${resource}`);
    return Object.fromEntries(items.map((i) => [i.metadata.name, i.data ?? {}]));
  };
  return { configMaps: await list('configmaps'), secrets: await list('secrets') };
}
