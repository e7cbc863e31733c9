// What the suites rolling releases on the local control plane (testing/cluster/releases.ts, testing/cluster/
// blue-green.ts) share: the image builds each release runs (one tag each), a release's edit of the rendered manifests,
// and the recorder of every pod change the controllers make.
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeApi } from '../../cluster/node-agent/kube-api.ts';
import { buildImageDir, bundleTag } from '../../cluster/local/bundle-image.ts';

export type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; annotations?: Record<string, string> }; spec?: any; rules?: any[] };

export type Release = 'launch' | 'good' | 'crash' | 'revert';

/** The image tag (and the version its pods report) of each release: a release changes the tag, as `npm run release`
 * does, so the smoke hook (which expects the version of the image it runs) tells the new pods from the old. */
export const tagOf = (base: string, which: Release): string => (which === 'launch' ? base : which === 'crash' ? `${base}-r3` : `${base}-r2`);

/** The StatefulSet and the hook Jobs as each release has them: `good` moves to the image tag <base>-r2 (a new
 * revision that runs fine), `crash` to <base>-r3 with BAD_RELEASE=crash added to the StatefulSet's env (exit 1 a
 * second after start, never Ready), `revert` is `good` again (the same template, so the controller goes back to the
 * good revision's hash). */
export function release(docs: Obj[], which: Release, base: string): Obj[] {
  const out = structuredClone(docs);
  const tag = tagOf(base, which);
  for (const d of out) {
    if (d.kind !== 'StatefulSet' && d.kind !== 'Job') continue;
    for (const c of d.spec.template.spec.containers as { image: string }[]) c.image = c.image.replace(/:[^:@/]+$/, `:${tag}`);
    if (d.kind === 'StatefulSet' && which === 'crash') d.spec.template.spec.containers[0].env = [...(d.spec.template.spec.containers[0].env ?? []), { name: 'BAD_RELEASE', value: 'crash' }];
  }
  return out;
}

/** An image build reporting `version`: the build of `base` with its version replaced (server.js bundles package.json). */
export function retag(from: string, to: string, base: string, version: string): void {
  cpSync(from, to, { recursive: true });
  const server = path.join(to, 'server.js');
  const js = readFileSync(server, 'utf8');
  const marker = `name:"rollcall",version:"${base}"`;
  if (!js.includes(marker)) throw new Error(`${server} does not hold ${marker}: cannot make the ${version} build`);
  writeFileSync(server, js.replace(marker, `name:"rollcall",version:"${version}"`));
  const pkg = JSON.parse(readFileSync(path.join(to, 'package.json'), 'utf8')) as { version: string };
  writeFileSync(path.join(to, 'package.json'), `${JSON.stringify({ ...pkg, version }, null, 2)}\n`);
}

/** The bundle's image tag built by scripts/build.ts into <dir>/<tag>, and its good (-r2) and crashing (-r3) release
 * builds beside it: the node agent's image map. */
export async function buildReleaseImages(dir: string): Promise<{ base: string; images: Map<string, string> }> {
  const base = bundleTag();
  const imageDir = path.join(dir, base);
  await buildImageDir(imageDir);
  const images = new Map([[base, imageDir]]);
  for (const which of ['good', 'crash'] as const) {
    const t = tagOf(base, which);
    retag(imageDir, path.join(dir, t), base, t);
    images.set(t, path.join(dir, t));
  }
  return { base, images };
}

export interface PodEvent {
  /** Milliseconds since the release was applied. */
  atMs: number;
  pod: string;
  event: 'created' | 'deleting' | 'gone' | 'ready' | 'unready' | 'restarted';
  /** The pod's controller-revision-hash label, and which release that revision is. */
  revision: string;
  release: string;
  uid: string;
  restartCount?: number;
}

export type PodObj = {
  metadata: { name: string; uid: string; labels?: Record<string, string>; ownerReferences?: { kind: string }[]; deletionTimestamp?: string };
  status: { phase?: string; conditions?: { type: string; status: string }[]; containerStatuses?: { restartCount: number; state?: { terminated?: { exitCode: number } } }[] };
};
export const isReady = (p: PodObj) => p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/** Polls the namespace's StatefulSet pods (every 250 ms) and records every change. */
export class PodRecorder {
  /** Every recorder still polling: after() stops them, so a failed test does not keep the process alive. */
  static running = new Set<PodRecorder>();
  events: PodEvent[] = [];
  #seen = new Map<string, { name: string; deleting: boolean; ready: boolean; restarts: number; revision: string }>();
  #start = 0;
  #stop = false;
  #loop: Promise<void> = Promise.resolve();
  names = new Map<string, string>();
  private api: KubeApi;
  private ns: string;
  constructor(api: KubeApi, ns: string) {
    this.api = api;
    this.ns = ns;
  }
  async snapshot(): Promise<PodObj[]> {
    const list = await this.api.get<{ items: PodObj[] }>(`/api/v1/namespaces/${this.ns}/pods`);
    return list.items.filter((p) => p.metadata.ownerReferences?.some((o) => o.kind === 'StatefulSet'));
  }
  async begin(): Promise<void> {
    // Only what exists now: a pod that went after the last poll of the previous recording is not reported again.
    this.#seen.clear();
    for (const p of await this.snapshot()) this.#seen.set(p.metadata.uid, { name: p.metadata.name, deleting: !!p.metadata.deletionTimestamp, ready: isReady(p), restarts: p.status.containerStatuses?.[0]?.restartCount ?? 0, revision: p.metadata.labels?.['controller-revision-hash'] ?? '' });
    this.#start = Date.now();
    this.#stop = false;
    this.events = [];
    PodRecorder.running.add(this);
    this.#loop = (async () => {
      while (!this.#stop) {
        try {
          this.#poll(await this.snapshot());
        } catch {
          // A failed poll is retried; a gap only delays an event's time by one period.
        }
        await sleep(250);
      }
    })();
  }
  #emit(pod: string, event: PodEvent['event'], revision: string, uid: string, restartCount?: number): void {
    this.events.push({ atMs: Date.now() - this.#start, pod, event, revision, release: this.names.get(revision) ?? '?', uid: uid.slice(0, 8), ...(restartCount !== undefined ? { restartCount } : {}) });
  }
  #poll(pods: PodObj[]): void {
    const present = new Set<string>();
    for (const p of pods) {
      const uid = p.metadata.uid;
      present.add(uid);
      const revision = p.metadata.labels?.['controller-revision-hash'] ?? '';
      const restarts = p.status.containerStatuses?.[0]?.restartCount ?? 0;
      let s = this.#seen.get(uid);
      if (!s) {
        s = { name: p.metadata.name, deleting: false, ready: false, restarts: 0, revision };
        this.#seen.set(uid, s);
        this.#emit(s.name, 'created', revision, uid);
      }
      if (!s.deleting && p.metadata.deletionTimestamp) {
        s.deleting = true;
        this.#emit(s.name, 'deleting', revision, uid);
      }
      if (restarts > s.restarts) {
        s.restarts = restarts;
        this.#emit(s.name, 'restarted', revision, uid, restarts);
      }
      const ready = isReady(p);
      if (ready !== s.ready) {
        s.ready = ready;
        this.#emit(s.name, ready ? 'ready' : 'unready', revision, uid);
      }
    }
    for (const [uid, s] of this.#seen) {
      if (present.has(uid)) continue;
      this.#emit(s.name, 'gone', s.revision, uid);
      this.#seen.delete(uid);
    }
  }
  elapsed(): number {
    return Date.now() - this.#start;
  }
  async end(): Promise<PodEvent[]> {
    this.#stop = true;
    PodRecorder.running.delete(this);
    await this.#loop;
    return this.events;
  }
}
