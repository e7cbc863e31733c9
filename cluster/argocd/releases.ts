// Releases through the real Argo CD, as a user makes them: a commit that changes the overlays (the bad-release component
// added, its mode set: kustomize/components/bad-release/README.md), pushed to the repository Argo CD reads, a refresh
// request so Argo CD looks at once (what `argocd app get --refresh` and a Git webhook do), and every Application
// watched through the API: its sync operation's phase, retries, hooks and sync phases, each change with its time.
// Shared by the Argo CD suite (testing/cluster/argocd.ts) and the matrix that records every overlay × bad release
// (scripts/argocd-matrix.ts), so both make and read releases the same way.
import { existsSync, readdirSync } from 'node:fs';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseDocument } from 'yaml';
import type { ApiClient } from '../local/api.ts';
import { watchObject } from '../local/watch.ts';

export const ARGOCD_NAMESPACE = 'argocd';

export interface Application {
  metadata: { name: string; annotations?: Record<string, string>; resourceVersion?: string };
  status?: {
    sync?: { status?: string; revision?: string };
    health?: { status?: string };
    operationState?: {
      phase?: string;
      message?: string;
      startedAt?: string;
      finishedAt?: string;
      retryCount?: number;
      operation?: { sync?: { revision?: string } };
      syncResult?: { revision?: string; resources?: { kind: string; name: string; hookPhase?: string; hookType?: string; status?: string; message?: string; syncPhase?: string }[] };
    };
    conditions?: { type: string; message: string }[];
  };
}

/** One observed state of an Application; a record keeps only the changes. */
export interface Observation {
  /** Milliseconds from the start of the record. */
  atMs: number;
  sync?: string | undefined;
  health?: string | undefined;
  phase?: string | undefined;
  message?: string | undefined;
  retryCount?: number | undefined;
  revision?: string | undefined;
  hooks?: string | undefined;
  /** The sync phases among the operation's tasks (PreSync,Sync: a multi-step sync). */
  phases?: string | undefined;
}

export interface Recording {
  changes: Observation[];
  /** `done` said so before the time ran out. */
  ended: boolean;
}

export function observe(app: Application, atMs: number): Observation {
  const op = app.status?.operationState;
  const hooks = op?.syncResult?.resources
    ?.filter((r) => r.hookType)
    .map((r) => `${r.kind}/${r.name}:${r.hookPhase ?? '?'}`)
    .join(',');
  const phases = [...new Set(op?.syncResult?.resources?.map((r) => r.syncPhase).filter((p) => p !== undefined))].sort().join(',') || undefined;
  return {
    atMs,
    phases,
    sync: app.status?.sync?.status,
    health: app.status?.health?.status,
    phase: op?.phase,
    message: op?.message?.slice(0, 160),
    retryCount: op?.retryCount,
    // The revision the operation syncs: its request names it from the start, the result once the sync has begun.
    revision: (op?.operation?.sync?.revision ?? op?.syncResult?.revision)?.slice(0, 8),
    hooks,
  };
}

const same = (a: Observation, b: Observation) => JSON.stringify({ ...a, atMs: 0 }) === JSON.stringify({ ...b, atMs: 0 });

/** An operation on `revision` that is over (the phases gitops-engine ends an operation with). */
export const operationOver = (revision: string) => (o: Observation) => o.revision === revision.slice(0, 8) && (o.phase === 'Failed' || o.phase === 'Error' || o.phase === 'Succeeded');

/**
 * Recovered: the revert's sync has started and the workload is back (Synced, Healthy). Whether that operation then
 * ends Succeeded depends on its hooks; it is recorded, not waited for.
 */
export const recoveredBy = (revert: string) => (o: Observation) => o.revision === revert.slice(0, 8) && o.sync === 'Synced' && o.health === 'Healthy';

export class ApplicationWatch {
  readonly #api: ApiClient;
  readonly #logFile: string | undefined;
  #logged: Promise<unknown> = Promise.resolve();
  constructor(api: ApiClient, logFile?: string) {
    this.#api = api;
    this.#logFile = logFile;
  }

  get(name: string): Promise<Application> {
    return this.#api.get<Application>(`/apis/argoproj.io/v1alpha1/namespaces/${ARGOCD_NAMESPACE}/applications/${name}`);
  }

  /** The refresh request: the annotation Argo CD's CLI and webhook handler set; the controller refreshes and removes it. */
  async refresh(name: string): Promise<void> {
    const body = JSON.stringify({ metadata: { annotations: { 'argocd.argoproj.io/refresh': 'normal' } } });
    await this.#api.send('PATCH', `/apis/argoproj.io/v1alpha1/namespaces/${ARGOCD_NAMESPACE}/applications/${name}`, body, 'application/merge-patch+json');
  }

  /**
   * Follows the Application through the API server's watch (every state it passes through, cluster/local/watch.ts)
   * until `done` says so or `ms` pass; returns the changes seen, their times from `origin` (a performance.now() value,
   * default: now). `tick` runs about once a second with the latest state (a manual step that depends on what the
   * cluster shows).
   */
  async record(name: string, ms: number, done: (o: Observation) => boolean, options: { tick?: (o: Observation) => Promise<void>; origin?: number } = {}): Promise<Recording> {
    const start = options.origin ?? performance.now();
    const changes: Observation[] = [];
    let ended = false;
    const stream = watchObject<Application>(this.#api, `/apis/argoproj.io/v1alpha1/namespaces/${ARGOCD_NAMESPACE}/applications`, name, (app) => {
      if (ended) return;
      const o = observe(app, Math.round(performance.now() - start));
      if (changes.length === 0 || !same(changes.at(-1)!, o)) {
        changes.push(o);
        if (this.#logFile) this.#logged = this.#logged.then(() => appendFile(this.#logFile!, `${name} ${JSON.stringify(o)}\n`)).catch(() => undefined);
      }
      if (done(o)) ended = true;
    });
    try {
      let ticked = performance.now();
      while (!ended && performance.now() - start < ms) {
        await sleep(100);
        if (options.tick && changes.length > 0 && performance.now() - ticked >= 1000) {
          ticked = performance.now();
          await options.tick(changes.at(-1)!);
        }
      }
    } finally {
      stream.stop();
    }
    await this.#logged;
    return { changes, ended };
  }
}

/** The overlays of a checkout: the folders of kustomize/overlays with a kustomization. */
export function overlayNames(checkout: string): string[] {
  const dir = path.join(checkout, 'kustomize/overlays');
  return readdirSync(dir).filter((d) => existsSync(path.join(dir, d, 'kustomization.yaml'))).sort();
}

/** Adds `component` (relative to the kustomization) to a kustomization's `components:` list: one line. */
export async function addComponent(kustomizationDir: string, component: string): Promise<void> {
  const file = path.join(kustomizationDir, 'kustomization.yaml');
  const doc = parseDocument(await readFile(file, 'utf8'));
  const list = (doc.get('components') as { toJSON(): string[] } | undefined)?.toJSON() ?? [];
  if (!list.includes(component)) doc.set('components', [...list, component]);
  await writeFile(file, doc.toString());
}

/** Sets the bad-release component's failure mode (its README: "edit the value"). */
export async function setBadRelease(work: string, mode: string): Promise<void> {
  const file = path.join(work, 'kustomize/components/bad-release/kustomization.yaml');
  const text = await readFile(file, 'utf8');
  const next = text.replace(/(name: BAD_RELEASE\n\s+value: )"[^"]*"/, `$1"${mode}"`);
  if (next === text && !text.includes(`"${mode}"`)) throw new Error(`${file}: no BAD_RELEASE value to set`);
  await writeFile(file, next);
}

/** The image every overlay runs (kustomize/base/kustomization.yaml `images`, after its newName). */
async function imageName(work: string): Promise<string> {
  const base = parseDocument(await readFile(path.join(work, 'kustomize/base/kustomization.yaml'), 'utf8')).toJSON() as { images?: { name: string; newName?: string }[] };
  const image = base.images?.[0];
  if (!image) throw new Error('kustomize/base/kustomization.yaml names no image');
  return image.newName ?? image.name;
}

/** Sets the image tag of a kustomization (its `images:` entry for the app's image, added if missing): what
 * `kustomize edit set image` and `npm run release` do. */
export async function setImageTag(kustomizationDir: string, name: string, tag: string): Promise<void> {
  const file = path.join(kustomizationDir, 'kustomization.yaml');
  const doc = parseDocument(await readFile(file, 'utf8'));
  const images = (doc.get('images') as { toJSON(): { name: string; newTag?: string }[] } | undefined)?.toJSON() ?? [];
  const at = images.findIndex((i) => i.name === name);
  if (at >= 0) images[at] = { ...images[at]!, newTag: tag };
  else images.push({ name, newTag: tag });
  doc.set('images', images);
  await writeFile(file, doc.toString());
}

/**
 * The release of a bad build as version `version` to `overlay`, as its README says a release is made: the image tag
 * moves to the new version (so the smoke hook expects it: a release that kept the version would pass the smoke check
 * on the old pods, before the controller replaced one) and the bad-release component goes on the StatefulSet the
 * release changes. blue-green releases to its idle colour (green in the committed state), which is scaled up to 3 in
 * the same commit (kustomize/overlays/blue-green/README.md, "release to the idle colour"); every other overlay takes
 * the tag and the component in its own kustomization, so one commit can release some overlays and not others.
 */
export async function releaseBadBuild(work: string, overlay: string, version: string): Promise<void> {
  const overlays = path.join(work, 'kustomize/overlays');
  const image = await imageName(work);
  if (overlay !== 'blue-green') {
    await addComponent(path.join(overlays, overlay), '../../components/bad-release');
    await setImageTag(path.join(overlays, overlay), image, version);
    return;
  }
  const green = path.join(overlays, 'blue-green/colours/green');
  await addComponent(green, '../../../../components/bad-release');
  await setImageTag(green, image, version);
  const file = path.join(green, 'kustomization.yaml');
  const text = await readFile(file, 'utf8');
  const scaled = text.replace(/(path: \/spec\/replicas\n\s+value: )0\b/, '$13');
  if (scaled === text) throw new Error(`${file}: no "/spec/replicas value: 0" to scale the idle colour up`);
  await writeFile(file, scaled);
}

interface Pod {
  metadata: { name: string; labels?: Record<string, string>; deletionTimestamp?: string; ownerReferences?: { kind: string; name: string }[] };
  status?: { conditions?: { type: string; status: string }[] };
}
interface StatefulSet {
  metadata: { name: string };
  spec?: { replicas?: number };
  status?: { updateRevision?: string };
}

/**
 * The forced rollback every overlay's README asks of a person after reverting a release whose pods never became Ready
 * (OrderedReady never replaces a pod that is not Ready, kubernetes#67250;
 * https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/#forced-rollback): the pods of `namespace`
 * that are not Ready, not being deleted, and not on their StatefulSet's update revision (the revert's), seen so for
 * `stableMs` (the controller had that long to replace them by itself). Resolves to the pods to delete.
 */
export class StuckPods {
  readonly #api: ApiClient;
  readonly #namespace: string;
  readonly #stableMs: number;
  readonly #since = new Map<string, number>();
  constructor(api: ApiClient, namespace: string, stableMs = 20_000) {
    this.#api = api;
    this.#namespace = namespace;
    this.#stableMs = stableMs;
  }

  async due(): Promise<string[]> {
    const [pods, sets] = await Promise.all([
      this.#api.get<{ items: Pod[] }>(`/api/v1/namespaces/${this.#namespace}/pods`),
      this.#api.get<{ items: StatefulSet[] }>(`/apis/apps/v1/namespaces/${this.#namespace}/statefulsets`),
    ]);
    const update = new Map(sets.items.map((s) => [s.metadata.name, s.status?.updateRevision]));
    const now = performance.now();
    const stuck = new Set<string>();
    for (const pod of pods.items) {
      const owner = pod.metadata.ownerReferences?.find((r) => r.kind === 'StatefulSet')?.name;
      const revision = pod.metadata.labels?.['controller-revision-hash'];
      const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
      if (owner && revision && !ready && !pod.metadata.deletionTimestamp && update.get(owner) && revision !== update.get(owner)) stuck.add(pod.metadata.name);
    }
    for (const name of [...this.#since.keys()]) if (!stuck.has(name)) this.#since.delete(name);
    for (const name of stuck) if (!this.#since.has(name)) this.#since.set(name, now);
    return [...stuck].filter((name) => now - this.#since.get(name)! >= this.#stableMs);
  }

  async delete(pod: string): Promise<void> {
    await this.#api.send('DELETE', `/api/v1/namespaces/${this.#namespace}/pods/${pod}`);
    this.#since.delete(pod);
  }
}

/** A pod deleted by hand, and the command the overlay's README gives a person for it. */
export interface ManualStep {
  pod: string;
  command: string;
}

/**
 * The forced rollback as a `record` tick: once the Application is Synced to the revert (`revert()`: its commit, or
 * undefined before it is pushed; a pod deleted earlier comes back from the bad template), every pod StuckPods finds is
 * deleted and reported to `taken`.
 */
export function forcedRollback(api: ApiClient, namespace: string, revert: () => string | undefined, taken: (step: ManualStep) => void): (o: Observation) => Promise<void> {
  const stuck = new StuckPods(api, namespace);
  return async (o) => {
    const commit = revert();
    if (!commit || o.revision !== commit.slice(0, 8) || o.sync !== 'Synced') return;
    for (const pod of await stuck.due().catch(() => [])) {
      taken({ pod, command: `kubectl -n ${namespace} delete pod ${pod}` });
      await stuck.delete(pod);
    }
  };
}

/** Visits `pod` (GET / with Accept: application/json, through the API server's pod proxy) about five times a second
 * until stopped; counts the answers by status (0: no answer, e.g. while the pod is replaced). The canary-analysis
 * overlay's analysis judges the canary's answers to its clients (GET /stats error_share): this gives it clients. */
export function visitWhileRunning(api: ApiClient, namespace: string, pod: string): { stop(): Promise<void>; counts(): Record<string, number> } {
  let running = true;
  const counts: Record<string, number> = {};
  const loop = (async () => {
    while (running) {
      const res = await api.send('GET', `/api/v1/namespaces/${namespace}/pods/${pod}:5000/proxy/`).catch(() => ({ status: 0 }));
      counts[res.status] = (counts[res.status] ?? 0) + 1;
      await sleep(200);
    }
  })();
  return {
    counts: () => ({ ...counts }),
    stop: async () => {
      running = false;
      await loop;
    },
  };
}
