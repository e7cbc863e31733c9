// The StatefulSet under rehearsal on a real cluster (the seam's second implementation, ../seam.ts). Nothing here
// decides anything a controller decides: releases are applied server-side as a user applies them, the real
// StatefulSet controller, scheduler and kubelet (or the local node agent) do the rest, and this module reads what
// they did from the API every quarter second: pods (which template revision, Ready, restarts, being deleted), the
// Service's EndpointSlices (who gets traffic) and the StatefulSet's status.
// The manual steps are what the overlay's README tells a person: when the revert has made no progress for
// STALL_MS and a pod that is not on the reverted template is still not Ready, delete that pod.
import type { K8sObject } from '../../../bundle/types.ts';
import type { PodView } from '../../model/statefulset-controller.ts';
import type { PodState } from '../../result.ts';
import type { Template } from '../../run/statefulset.ts';
import type { RehearsalClusterOptions, RehearsalStatefulSet } from '../seam.ts';
import type { KubeConnection } from './connection.ts';
import { InClusterLoad } from './load.ts';
import { clientServiceOf, containerPort, namespaceOf, releaseObjects, REVISION_ANNOTATION, statefulSetOf } from './manifests.ts';
import { serverSideApplier, type Applier } from './apply.ts';
import { claimNamespace, deleteNamespace } from './namespace.ts';

/** How long a revert may make no visible progress before a person takes the README's manual step. */
export const STALL_MS = 30_000;
const POLL_MS = 250;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface PodObject {
  metadata: { name: string; uid: string; labels?: Record<string, string>; annotations?: Record<string, string>; deletionTimestamp?: string };
  status?: {
    phase?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { restartCount: number; state?: { waiting?: { reason?: string }; running?: unknown; terminated?: unknown } }[];
  };
}

/** What one poll says about a pod. */
export interface PodReading {
  uid: string;
  revision: string;
  hash: string;
  terminating: boolean;
  failed: boolean;
  ready: boolean;
  restarts: number;
  crashing: boolean;
  /** The container runs (or ran: a restart means it started once). */
  started: boolean;
}

/** A pod object as the rehearsal reads it (the template revision from the annotation the release put on it). */
export function readPod(pod: PodObject): PodReading {
  const container = pod.status?.containerStatuses?.[0];
  const restarts = container?.restartCount ?? 0;
  return {
    uid: pod.metadata.uid,
    revision: pod.metadata.annotations?.[REVISION_ANNOTATION] ?? 'unknown',
    hash: pod.metadata.labels?.['controller-revision-hash'] ?? '',
    terminating: Boolean(pod.metadata.deletionTimestamp),
    failed: pod.status?.phase === 'Failed' || pod.status?.phase === 'Succeeded',
    ready: pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    restarts,
    crashing: restarts > 0 || container?.state?.waiting?.reason === 'CrashLoopBackOff' || Boolean(container?.state?.terminated),
    started: restarts > 0 || Boolean(container?.state?.running) || Boolean(container?.state?.terminated),
  };
}

/** The lane state a person reads for a pod (kubectl get pods' STATUS, simplified as the model's lanes are). */
export function laneState(pod: PodReading | undefined): PodState {
  if (!pod) return 'not-running';
  if (pod.terminating) return 'terminating';
  if (pod.ready) return 'ready';
  return pod.crashing ? 'crash-loop' : 'starting';
}

export interface EndpointSlices {
  items: { endpoints?: { conditions?: { ready?: boolean; terminating?: boolean }; targetRef?: { kind?: string; name?: string } }[] }[];
}

/** The EndpointSlices of Service `service` (the controller's view; kube-proxy programs them shortly after). */
export function readEndpointSlices(kube: KubeConnection, ns: string, service: string): Promise<EndpointSlices> {
  return kube.get<EndpointSlices>(`/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices?labelSelector=${encodeURIComponent(`kubernetes.io/service-name=${service}`)}`);
}

/** The endpoints traffic goes to: ready and not terminating (the names of their pods, where the slice says). */
export function routedEndpoints(slices: EndpointSlices): (string | undefined)[] {
  return slices.items.flatMap((s) => s.endpoints ?? []).filter((e) => e.conditions?.ready === true && e.conditions.terminating !== true).map((e) => e.targetRef?.name);
}

interface Tracked extends PodReading {
  readySinceMs: number | null;
  notReadySinceMs: number | null;
  /** When this process first saw the pod, until its container was seen running (then null). */
  seenAtMs: number | null;
}

export class KubeStatefulSet implements RehearsalStatefulSet {
  labels = new Map<string, string>();
  readonly #kube: KubeConnection;
  readonly #applier: Applier;
  readonly #o: RehearsalClusterOptions;
  readonly #objects: readonly K8sObject[];
  readonly #ns: string;
  readonly #setName: string;
  readonly #selector: string;
  /** The client Service whose endpoints are read (undefined: a colour of blue-green, whose pair reads them). */
  readonly #service: string | undefined;
  /** Applies the overlay and deletes its namespace at the end (false: one colour of blue-green, watched only). */
  readonly #owner: boolean;
  readonly #pods: (Tracked | undefined)[];
  readonly #templates = new Map<string, Template>();
  readonly #hashes = new Map<string, string>();
  readonly #ownDeletes = new Set<string>();
  #applied: Template;
  /** spec.replicas as last applied: a pod at or above it goes away for the scale-down, not for the update. */
  #replicas: number;
  #routed = 0;
  #status: { currentRevision?: string; updateRevision?: string } = {};
  #lastChangeMs = 0;
  #polling = true;
  #closed = false;
  #podStarts: number[] = [];
  #relaunching = false;
  #poller: Promise<void> = Promise.resolve();

  private constructor(kube: KubeConnection, o: RehearsalClusterOptions, objects: readonly K8sObject[], initial: Template, setName?: string, applier: Applier = serverSideApplier) {
    this.#kube = kube;
    this.#applier = applier;
    this.#o = o;
    this.#objects = objects;
    this.#ns = namespaceOf(objects);
    const sts = statefulSetOf(objects, setName);
    this.#setName = sts.metadata!.name!;
    this.#selector = Object.entries(sts.spec.selector.matchLabels).map(([k, v]) => `${k}=${v}`).join(',');
    this.#owner = setName === undefined;
    this.#service = this.#owner ? clientServiceOf(objects).name : undefined;
    this.#pods = Array.from({ length: o.plan.replicas }, () => undefined);
    this.#applied = initial;
    this.#replicas = o.plan.replicas;
  }

  /** Refuses a namespace rollcall did not make; removes one an interrupted run left; applies the overlay at `initial`. */
  static async create(kube: KubeConnection, o: RehearsalClusterOptions, objects: readonly K8sObject[], initial: Template, applier: Applier = serverSideApplier): Promise<KubeStatefulSet> {
    const set = new KubeStatefulSet(kube, o, objects, initial, undefined, applier);
    await claimNamespace(kube, set.#ns);
    await set.setTemplate(initial);
    set.#poller = set.#poll();
    return set;
  }

  /** One StatefulSet (`setName`) of an overlay something else applies (blue-green's pair, ./blue-green.ts): its pods
   * are read as for any other; applying, the Service's endpoints and the namespace are the pair's. */
  static watch(kube: KubeConnection, o: RehearsalClusterOptions, objects: readonly K8sObject[], setName: string, initial: Template): KubeStatefulSet {
    const set = new KubeStatefulSet(kube, o, objects, initial, setName);
    set.noteApplied(initial);
    set.#poller = set.#poll();
    return set;
  }

  async #poll(): Promise<void> {
    while (this.#polling) {
      try {
        await this.#read();
      } catch {
        // A failed read is retried next round; a gap delays what is seen by one period.
      }
      await sleep(POLL_MS);
    }
  }

  async #read(): Promise<void> {
    const [pods, slices, sts] = await Promise.all([
      this.#kube.get<{ items: PodObject[] }>(`/api/v1/namespaces/${this.#ns}/pods?labelSelector=${encodeURIComponent(this.#selector)}`),
      this.#service === undefined ? { items: [] } : readEndpointSlices(this.#kube, this.#ns, this.#service),
      this.#kube.find<{ status?: { currentRevision?: string; updateRevision?: string } }>(`/apis/apps/v1/namespaces/${this.#ns}/statefulsets/${this.#setName}`),
    ]);
    const now = this.#o.now();
    this.#routed = routedEndpoints(slices).length;
    this.#status = sts?.status ?? {};
    const seen = new Set<number>();
    for (const pod of pods.items) {
      const ordinal = Number(pod.metadata.name.slice(this.#setName.length + 1));
      if (!pod.metadata.name.startsWith(`${this.#setName}-`) || !Number.isInteger(ordinal) || ordinal < 0 || ordinal >= this.#pods.length) continue;
      seen.add(ordinal);
      const reading = readPod(pod);
      if (reading.hash) this.#hashes.set(reading.hash, reading.revision);
      const before = this.#pods[ordinal];
      if (!before || before.uid !== reading.uid) {
        if (before && !before.terminating) this.#deleted(before, ordinal, now);
        this.#pods[ordinal] = { ...reading, readySinceMs: reading.ready ? now : null, notReadySinceMs: reading.ready ? null : now, seenAtMs: reading.started ? null : now };
        this.#lastChangeMs = now;
        this.#o.onAction({ kind: 'create', ordinal, revision: reading.revision }, pod.metadata.name, now);
        continue;
      }
      if (reading.terminating && !before.terminating) this.#deleted(before, ordinal, now);
      // Progress is what the controller does (pods created, deleted, becoming Ready); a stuck pod restarting again
      // and again is not progress, and a person watching would not wait for it.
      if (reading.ready !== before.ready || reading.terminating !== before.terminating) this.#lastChangeMs = now;
      // Pod start latency: from the first sight of the pod to the first sight of its container running (both read
      // every POLL_MS, so each end is late by up to one period, which cancels out in the median).
      if (reading.started && before.seenAtMs !== null) this.#podStarts.push(now - before.seenAtMs);
      this.#pods[ordinal] = {
        ...reading,
        readySinceMs: reading.ready ? (before.ready ? before.readySinceMs : now) : null,
        notReadySinceMs: reading.ready ? null : before.ready ? now : before.notReadySinceMs,
        seenAtMs: reading.started ? null : before.seenAtMs,
      };
    }
    for (const [ordinal, pod] of this.#pods.entries()) {
      if (!pod || seen.has(ordinal)) continue;
      if (!pod.terminating) this.#deleted(pod, ordinal, now);
      this.#pods[ordinal] = undefined;
      this.#lastChangeMs = now;
    }
  }

  /** A pod seen going away: by the controller or a hook Job for the update, or by our own manual step. */
  #deleted(pod: Tracked, ordinal: number, now: number): void {
    const own = this.#ownDeletes.delete(pod.uid);
    const reason = own ? 'manual' : this.#relaunching ? 'relaunch' : ordinal >= this.#replicas ? 'scale-down' : pod.revision !== this.#applied.revision ? 'update' : 'other';
    this.#lastChangeMs = now;
    this.#o.onAction({ kind: 'delete', ordinal, reason }, this.podName(ordinal), now);
  }

  tick(): void {
    // The real controllers act by themselves; the poller reads what they did.
  }

  podName(ordinal: number): string {
    return `${this.#setName}-${ordinal}`;
  }

  views(): (PodView | undefined)[] {
    return this.#pods.map((pod) => pod && { revision: pod.revision, terminating: pod.terminating, failed: pod.failed, ready: pod.ready, readySinceMs: pod.readySinceMs });
  }

  #label(revision: string): string {
    return this.labels.get(revision) ?? this.#templates.get(revision)?.version ?? revision;
  }

  displayStates(): { name: string; state: PodState; version: string | null }[] {
    return this.#pods.map((pod, ordinal) => ({ name: this.podName(ordinal), state: laneState(pod), version: pod ? this.#label(pod.revision) : null }));
  }

  readyCount(): number {
    return this.#pods.filter((pod) => pod?.ready && !pod.terminating).length;
  }

  routedCount(): number {
    return this.#routed;
  }

  health(revision: string): { notReadyMs: number; restarts: number } {
    const now = this.#o.now();
    let notReadyMs = 0;
    let restarts = 0;
    for (const pod of this.#pods) {
      if (!pod || pod.terminating || pod.revision !== revision) continue;
      if (pod.notReadySinceMs !== null) notReadyMs = Math.max(notReadyMs, now - pod.notReadySinceMs);
      restarts = Math.max(restarts, pod.restarts);
    }
    return { notReadyMs, restarts };
  }

  allAvailableAt(revision: string, ordinals: readonly number[] = [...this.#pods.keys()]): boolean {
    const now = this.#o.now();
    return ordinals.every((ordinal) => {
      const pod = this.#pods[ordinal];
      return pod && !pod.terminating && pod.revision === revision && pod.ready && pod.readySinceMs !== null && now - pod.readySinceMs >= this.#o.plan.minReadyMs;
    });
  }

  revisions(): { current: string; update: string } {
    const name = (hash: string | undefined) => (hash && this.#hashes.get(hash)) || undefined;
    return { current: name(this.#status.currentRevision) ?? this.#applied.revision, update: name(this.#status.updateRevision) ?? this.#applied.revision };
  }

  podsToDeleteByHand(): number[] {
    if (this.#o.now() - this.#lastChangeMs < STALL_MS) return [];
    return this.#pods.flatMap((pod, ordinal) => (pod && !pod.terminating && !pod.ready && pod.revision !== this.#applied.revision ? [ordinal] : []));
  }

  /** The whole overlay at `template` through the applier (apply.ts: kubectl apply --server-side, or a commit Argo CD
   * syncs): its hooks run again. */
  async setTemplate(template: Template): Promise<void> {
    if (!this.#owner) throw new Error(`${this.#setName} is one colour of a pair: the pair applies the overlay`);
    this.noteApplied(template);
    await this.#applier.apply(this.#kube, this.#ns, releaseObjects(this.#objects, template), `template ${template.revision}`);
  }

  /** The template and replicas the last apply gave this StatefulSet (what a pod not on the template is replaced for,
   * or deleted by hand; a pod at or above the replicas goes for the scale-down). */
  noteApplied(template: Template, replicas = this.#o.plan.replicas): void {
    this.#templates.set(template.revision, template);
    this.#applied = template;
    this.#replicas = replicas;
    this.#lastChangeMs = this.#o.now();
  }

  async relaunch(template: Template): Promise<void> {
    const path = `/apis/apps/v1/namespaces/${this.#ns}/statefulsets/${this.#setName}`;
    // The pods the garbage collector deletes now are not the rollout's replacements.
    this.#relaunching = true;
    await this.#applier.pause?.(this.#ns);
    await this.#kube.request('DELETE', path, { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Foreground' });
    const deadline = Date.now() + 600_000;
    while ((await this.#kube.find(path)) || this.#pods.some((pod) => pod !== undefined)) {
      if (Date.now() > deadline) throw new Error(`the StatefulSet ${this.#setName} and its pods were not gone within 600 s`);
      await sleep(POLL_MS);
    }
    this.#relaunching = false;
    await this.setTemplate(template);
  }

  async deletePod(ordinal: number): Promise<void> {
    const pod = this.#pods[ordinal];
    if (!pod || pod.terminating) return;
    this.#ownDeletes.add(pod.uid);
    await this.#kube.request('DELETE', `/api/v1/namespaces/${this.#ns}/pods/${this.podName(ordinal)}`).catch(() => undefined);
  }

  async deleteAll(): Promise<void> {
    for (const ordinal of this.#pods.keys()) await this.deletePod(ordinal);
  }

  /** GET /visits of each pod through the API server's pod proxy (the counter its visits.json holds). A pod that is
   * gone (a colour scaled to 0) has no reading: its volume is kept but nothing serves it, and the check of lost
   * visits leaves such a pod out (figures.ts lostAndDuplicated). */
  async counters(): Promise<Map<string, number>> {
    const port = containerPort(this.#objects, this.#setName);
    const counters = new Map<string, number>();
    for (const [ordinal, pod] of this.#pods.entries()) {
      if (!pod) continue;
      const name = this.podName(ordinal);
      const deadline = Date.now() + 60_000;
      for (;;) {
        try {
          counters.set(name, (await this.#kube.get<{ counter: number }>(`/api/v1/namespaces/${this.#ns}/pods/${name}:${port}/proxy/visits`)).counter);
          break;
        } catch (error) {
          if (Date.now() > deadline) throw new Error(`cannot read ${name}'s visit counter through the API server: ${(error as Error).message}`);
          await sleep(500);
        }
      }
    }
    return counters;
  }

  podStartSamples(): number[] {
    const samples = this.#podStarts;
    this.#podStarts = [];
    return samples;
  }

  /** The pod's address through the API server's pod proxy, while its container runs (the analysis's provider URL). */
  podUrl(ordinal: number): string | undefined {
    const pod = this.#pods[ordinal];
    if (!pod || pod.terminating || !pod.started) return undefined;
    return `${this.#kube.baseUrl}/api/v1/namespaces/${this.#ns}/pods/${this.podName(ordinal)}:${containerPort(this.#objects, this.#setName)}/proxy`;
  }

  /** Nothing to leave out of the analysis's clock: a real cluster runs at time scale 1, start-up included. */
  startupMs(): number {
    return 0;
  }

  load(): InClusterLoad {
    if (!this.#owner) throw new Error(`${this.#setName} is one colour of a pair: the load runs through the pair's client Service`);
    return new InClusterLoad(this.#kube, this.#objects, this.#o.clients);
  }

  describe(): string {
    const pods = this.#pods.map((pod, ordinal) => `${this.podName(ordinal)} ${laneState(pod)} ${pod ? `${pod.revision} restarts ${pod.restarts}` : ''}`.trim());
    return `pods: ${pods.join(', ')}; StatefulSet status: ${JSON.stringify(this.#status)}; applied: ${this.#applied.revision}`;
  }

  /** Deletes the namespace (and with it everything the run created); the cluster's other objects are untouched. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#polling = false;
    await this.#poller;
    if (!this.#owner) return;
    await this.#applier.forget?.(this.#ns);
    await deleteNamespace(this.#kube, this.#ns);
  }
}
