// `--delivery argocd` on a real cluster that runs Argo CD (the local control plane with Argo CD's components,
// cluster/argocd): every apply of the run is a commit of the rendered overlay to a Git repository Argo CD reads, one
// Application per namespace with the bundle's own sync policy (argocd/application: automated with prune and
// selfHeal, retry 2 with 10 s × 2 back-off, its ignoreDifferences), and a refresh request after each push (what a Git
// webhook does). Argo CD syncs it, runs its hooks and retries; nothing here decides what it does. The delivery reads
// the Application's operation through the API and reports it as the model's delivery does (SyncFigures), so the same
// table shows the real Argo CD beside the model (rehearsal/run/argocd-delivery.ts).
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { K8sObject } from '../../../bundle/types.ts';
import { observe, type Application, type Observation } from '../../../cluster/argocd/releases.ts';
import type { LocalRepo } from '../../../cluster/argocd/git-repo.ts';
import { watchObject } from '../../../cluster/local/watch.ts';
import type { RolloutPlan } from '../../plan.ts';
import type { SyncFigures } from '../../result.ts';
import type { Delivery } from '../../run/delivery.ts';
import { DEFAULT_HORIZON_SECONDS } from '../../run/argocd-delivery.ts';
import { manifestsYaml, type Applier } from './apply.ts';
import type { KubeConnection } from './connection.ts';
import { compareNamespace, MANAGED_BY } from './manifests.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const POLL_MS = 500;
/** The AppProject of the run's Applications: any source, only the namespaces `compare --cluster` makes. */
export const COMPARE_PROJECT = 'rollcall-compare';

export interface ArgoCdApplierOptions {
  kube: KubeConnection;
  repo: Pick<LocalRepo, 'url' | 'revision' | 'commit'>;
  /** Argo CD's namespace. */
  namespace: string;
  /** The bundle's Application (argocd/application rendered): its syncPolicy and ignoreDifferences are copied. */
  application: K8sObject;
}

interface Push {
  commit: string;
  /** performance.now() after the push and the refresh request. */
  atMs: number;
}

export class ArgoCdApplier implements Applier {
  readonly name = 'a commit Argo CD syncs (the bundle\'s automated sync policy, hooks run by Argo CD)';
  readonly #o: ArgoCdApplierOptions;
  readonly #pushes = new Map<string, Push[]>();
  readonly #paused = new Set<string>();
  /** Commits are made one after the other in one working copy. */
  #queue: Promise<unknown> = Promise.resolve();
  #project: Promise<void> | undefined;

  constructor(options: ArgoCdApplierOptions) {
    this.#o = options;
  }

  #applicationPath(ns: string): string {
    return `/apis/argoproj.io/v1alpha1/namespaces/${this.#o.namespace}/applications/${ns}`;
  }

  #syncPolicy(): Record<string, unknown> {
    return structuredClone(((this.#o.application as { spec?: { syncPolicy?: Record<string, unknown> } }).spec?.syncPolicy ?? {}) as Record<string, unknown>);
  }

  async #ensureProject(): Promise<void> {
    this.#project ??= (async () => {
      const path = `/apis/argoproj.io/v1alpha1/namespaces/${this.#o.namespace}/appprojects/${COMPARE_PROJECT}`;
      if (await this.#o.kube.find(path)) return;
      await this.#o.kube.request('POST', `/apis/argoproj.io/v1alpha1/namespaces/${this.#o.namespace}/appprojects`, {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'AppProject',
        metadata: { name: COMPARE_PROJECT, namespace: this.#o.namespace, labels: { [MANAGED_BY.key]: MANAGED_BY.value } },
        spec: {
          description: 'rollcall compare --cluster --delivery argocd: one Application per run namespace',
          sourceRepos: ['*'],
          destinations: [{ server: 'https://kubernetes.default.svc', namespace: compareNamespace('*') }],
          clusterResourceWhitelist: [{ group: '', kind: 'Namespace' }],
        },
      });
    })();
    return this.#project;
  }

  /** The commits pushed for namespace `ns`, in order. */
  pushes(ns: string): readonly Push[] {
    return this.#pushes.get(ns) ?? [];
  }

  /** Calls `onApplication` with the Application of `ns` after every change (a watch: no state is missed). */
  watchApplication(ns: string, onApplication: (app: Application) => void): { stop(): void } {
    return watchObject<Application>(this.#o.kube, `/apis/argoproj.io/v1alpha1/namespaces/${this.#o.namespace}/applications`, ns, onApplication);
  }

  async apply(kube: KubeConnection, ns: string, objects: readonly K8sObject[], what: string): Promise<void> {
    await this.#ensureProject();
    const commit = await (this.#queue = this.#queue.then(() =>
      this.#o.repo.commit(`${ns}: ${what}`, async (work) => {
        await mkdir(path.join(work, ns), { recursive: true });
        await writeFile(path.join(work, ns, 'manifests.yaml'), manifestsYaml(objects));
      }),
    )) as string;
    const app = this.#applicationPath(ns);
    const existing = await kube.find(app);
    if (!existing) {
      const bundle = this.#o.application as { spec?: { ignoreDifferences?: unknown } };
      await kube.request('POST', `/apis/argoproj.io/v1alpha1/namespaces/${this.#o.namespace}/applications`, {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'Application',
        metadata: { name: ns, namespace: this.#o.namespace, labels: { [MANAGED_BY.key]: MANAGED_BY.value } },
        spec: {
          project: COMPARE_PROJECT,
          source: { repoURL: this.#o.repo.url, targetRevision: this.#o.repo.revision, path: ns },
          destination: { server: 'https://kubernetes.default.svc', namespace: ns },
          syncPolicy: this.#syncPolicy(),
          ...(bundle.spec?.ignoreDifferences ? { ignoreDifferences: bundle.spec.ignoreDifferences } : {}),
        },
      });
    } else if (this.#paused.delete(ns)) {
      await kube.request('PATCH', app, { spec: { syncPolicy: this.#syncPolicy() } }, 'application/merge-patch+json');
    }
    // The refresh request a Git webhook makes: Argo CD compares with the new commit now, not at its next resync.
    await kube.request('PATCH', app, { metadata: { annotations: { 'argocd.argoproj.io/refresh': 'normal' } } }, 'application/merge-patch+json');
    const pushes = this.#pushes.get(ns) ?? [];
    pushes.push({ commit, atMs: performance.now() });
    this.#pushes.set(ns, pushes);
  }

  /** Automated sync off (selfHeal would put a deleted StatefulSet back at once); the next apply turns it on again. */
  async pause(ns: string): Promise<void> {
    this.#paused.add(ns);
    await this.#o.kube.request('PATCH', this.#applicationPath(ns), { spec: { syncPolicy: { automated: null } } }, 'application/merge-patch+json');
  }

  /** Deletes the Application without its resources (it has no finalizer): the run then deletes the namespace. */
  async forget(ns: string): Promise<void> {
    // Automated sync off, and the running operation (the revert's, often) left to end, so nothing Argo CD still has in
    // flight applies objects into the namespace being deleted (a cleanup once waited 300 s for it in vain).
    await this.pause(ns).catch(() => undefined);
    const ended = Date.now() + 120_000;
    while (Date.now() < ended) {
      const app = await this.#o.kube.find<Application>(this.#applicationPath(ns)).catch(() => undefined);
      if (app?.status?.operationState?.phase !== 'Running') break;
      await sleep(POLL_MS);
    }
    await this.#o.kube.request('DELETE', this.#applicationPath(ns)).catch(() => undefined);
    const deadline = Date.now() + 60_000;
    while ((await this.#o.kube.find(this.#applicationPath(ns)).catch(() => undefined)) && Date.now() < deadline) await sleep(POLL_MS);
  }
}

/**
 * A release through the real Argo CD: the commit (through the applier), then, like the model's delivery, the revert's
 * apply resolves once Argo CD has started syncing the revert, or once the release's operation has run for the
 * horizon (a hang: reported, nothing waits forever). Every change of the operation is a `sync` marker.
 */
export function realArgocdDelivery(applier: ArgoCdApplier, horizonSeconds = DEFAULT_HORIZON_SECONDS): (plan: RolloutPlan) => Delivery {
  return (plan) => {
    const ns = compareNamespace(plan.overlay);
    const seen: { atMs: number; o: Observation }[] = [];
    let release: Push | undefined;
    let revert: Push | undefined;
    let hang: string | undefined;
    let stream: { stop(): void } | undefined;
    const short = (p: Push | undefined) => p?.commit.slice(0, 8);
    const ofCommit = (p: Push | undefined) => seen.filter(({ o }) => p !== undefined && o.revision === short(p) && o.phase !== undefined);

    const watch = (mark: (label: string) => void) => {
      stream = applier.watchApplication(ns, (app) => {
        const o = observe(app, 0);
        const last = seen.at(-1)?.o;
        if (last && last.revision === o.revision && last.phase === o.phase && last.retryCount === o.retryCount && last.hooks === o.hooks) return;
        seen.push({ atMs: performance.now(), o });
        const which = o.revision === short(release) ? 'release' : o.revision === short(revert) ? 'revert' : undefined;
        if (which && o.phase) mark(`${which} ${o.revision}: operation ${o.phase}${o.retryCount ? ` (retry ${o.retryCount})` : ''}${o.hooks ? `, hooks ${o.hooks}` : ''}`);
      });
    };

    return {
      name: `Argo CD (real): ${applier.name}`,
      async apply(template, cluster, mark) {
        await cluster.setTemplate(template);
        const push = applier.pushes(ns).at(-1)!;
        if (!release) {
          release = push;
          mark('sync', `commit ${template.version} pushed (${short(push)}), refresh requested`);
          watch((label) => mark('sync', label));
          return;
        }
        revert = push;
        mark('sync', `revert commit pushed (${short(push)}), refresh requested`);
        while (ofCommit(revert).length === 0) {
          const started = ofCommit(release)[0]?.atMs ?? release.atMs;
          if (performance.now() - started > horizonSeconds * 1000) {
            hang = `the release's sync was still Running ${horizonSeconds} s after it started; the revert never synced`;
            mark('sync', `hang: ${hang}`);
            return;
          }
          await sleep(POLL_MS);
        }
        mark('sync', 'revert sync started');
      },
      summary(originMs) {
        if (!release) return null;
        const ops = ofCommit(release);
        const end = ops.find(({ o }) => o.phase !== 'Running');
        const onRun = (at: number | undefined) => (at === undefined ? null : Math.round(at - originMs));
        // gitops-engine ends an operation Succeeded, Failed or Error; the report knows Failed for the last two.
        const phase: SyncFigures['phase'] = end === undefined ? 'Running' : end.o.phase === 'Succeeded' ? 'Succeeded' : 'Failed';
        return {
          phase,
          message: hang ?? (end ?? ops.at(-1))?.o.message ?? '',
          startedMs: onRun(ops[0]?.atMs ?? release.atMs)!,
          endedMs: onRun(end?.atMs),
          attempts: 1 + Math.max(0, ...ops.map(({ o }) => o.retryCount ?? 0)),
          revertPushedMs: onRun(revert?.atMs),
          revertSyncStartedMs: onRun(ofCommit(revert)[0]?.atMs),
          hang: hang !== undefined,
          refreshSeconds: 0,
        };
      },
      close() {
        stream?.stop();
      },
    };
  };
}
