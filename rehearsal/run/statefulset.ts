// One StatefulSet of the rehearsal, run for real: its pods are real server processes (pod-process.ts), and on every
// tick it asks the models what to do: the kubelet model (restart back-off, probe results → Ready or a restart), the
// StatefulSet controller model (create / delete), the Service endpoints model (who gets traffic). This module owns
// the processes and the clock; the rules live in rehearsal/model.
// Every timing from the manifests is multiplied by `timeScale`; process start-up is real time, so probes start once
// the process listens (start-up does not eat into the scaled startup-probe budget).
import path from 'node:path';
import { afterLivenessProbe, afterProbe, initialProbeState, probePeriodMs, restartDelayMs, type ProbeState } from '../model/kubelet.ts';
import { routedAt, servingWhileTerminating, wantsTraffic, type EndpointChange } from '../model/service-endpoints.ts';
import {
  nextCurrentRevision,
  reconcile,
  type ControllerAction,
  type ControllerDecision,
  type PodView,
  type SetSpec,
} from '../model/statefulset-controller.ts';
import type { ProbePlan, RolloutPlan } from '../plan.ts';
import type { PodState } from '../result.ts';
import type { Endpoint } from './load.ts';
import { PodProcess } from './pod-process.ts';

/** A revision of the pod template: the version it runs (APP_VERSION) and the environment it adds (BAD_RELEASE). */
export interface Template {
  revision: string;
  version: string;
  env: Record<string, string>;
}

interface Pod {
  name: string;
  ordinal: number;
  template: Template;
  terminating: boolean;
  ready: boolean;
  readySinceMs: number | null;
  /** Since when the pod has been continuously not Ready: since its container listened (start-up is real time and
   * not scaled, so it does not count), or since it lost Ready. */
  notReadySinceMs: number | null;
  process: PodProcess | undefined;
  lastUrl: string;
  /** Containers started so far (restarts = containers - 1). */
  containers: number;
  /** When the kubelet (re)starts the container; null while one runs or the pod is terminating. */
  startAtMs: number | null;
  probe: ProbeState;
  nextProbeAtMs: number;
  probing: boolean;
  /** Liveness: failures in a row, when it is next due, whether one is in flight. */
  livenessFailures: number;
  nextLivenessAtMs: number;
  livenessProbing: boolean;
  endpoint: EndpointChange[];
}

export interface StatefulSetEvents {
  /** The controller acted (create or delete), at the rehearsal's time. */
  onAction?(action: ControllerAction, podName: string, atMs: number): void;
  /** A container exited while its pod was not being deleted (a crash, or killed after a failed startup probe). */
  onRestart?(podName: string, why: string, atMs: number): void;
}

export interface StatefulSetOptions {
  plan: RolloutPlan;
  dataRoot: string;
  timeScale: number;
  endpointPropagationMs: number;
  /** Creation → container start (scheduling, volume binding), cluster time: multiplied by timeScale. */
  podStartLatencyMs?: number;
  /** The Kubernetes version whose StatefulSet controller is modelled (default: the local control plane's). */
  kubernetes?: string;
  now: () => number;
  events?: StatefulSetEvents;
}

const scaleProbe = (probe: RolloutPlan['readiness'], scale: number) => ({ ...probe, periodMs: Math.max(20, probe.periodMs * scale) });

export class StatefulSetRun {
  readonly #o: StatefulSetOptions;
  readonly #templates = new Map<string, Template>();
  readonly #pods: (Pod | undefined)[];
  readonly spec: SetSpec;
  decision: ControllerDecision = { actions: [] };
  /** No controller while true: the StatefulSet object is deleted (its pods are not recreated). */
  paused = false;
  /** How the timeline and the load name each revision in the current run ('v1' = last good, 'v2' = the release). */
  labels = new Map<string, string>();
  /** Per ordinal: real time spent starting containers (from start to listening), finished starts only. */
  readonly #startupMs: number[];
  /** Per ordinal: when the container now starting was started (null: none starting). */
  readonly #startingSince: (number | null)[];

  constructor(options: StatefulSetOptions, initial: Template) {
    this.#o = options;
    const { plan } = options;
    this.#templates.set(initial.revision, initial);
    this.#pods = Array.from({ length: plan.replicas }, () => undefined);
    this.#startupMs = Array.from({ length: plan.replicas }, () => 0);
    this.#startingSince = Array.from({ length: plan.replicas }, () => null);
    this.spec = {
      ...(options.kubernetes ? { kubernetes: options.kubernetes } : {}),
      replicas: plan.replicas,
      podManagementPolicy: plan.podManagementPolicy,
      updateStrategy: plan.update.type === 'OnDelete' ? { type: 'OnDelete' } : { type: 'RollingUpdate', partition: plan.update.partition, maxUnavailable: plan.update.maxUnavailable },
      minReadyMs: this.scaled(plan.minReadyMs),
      currentRevision: initial.revision,
      updateRevision: initial.revision,
    };
  }

  scaled(ms: number): number {
    return Math.round(ms * this.#o.timeScale);
  }

  /** A fresh StatefulSet at `template` (no pods may exist): current and update revision both `template`. */
  reset(template: Template): void {
    if (this.#pods.some((pod) => pod !== undefined)) throw new Error('reset needs every pod gone');
    this.#templates.set(template.revision, template);
    this.spec.currentRevision = this.spec.updateRevision = template.revision;
  }

  /** kubectl apply of a new template: the update revision changes; the controller does the rest. */
  setTemplate(template: Template): void {
    this.#templates.set(template.revision, template);
    this.spec.updateRevision = template.revision;
  }

  template(revision: string): Template {
    const template = this.#templates.get(revision);
    if (!template) throw new Error(`unknown revision ${revision}`);
    return template;
  }

  label(revision: string): string {
    return this.labels.get(revision) ?? this.template(revision).version;
  }

  podName(ordinal: number): string {
    return `${this.#o.plan.setName}-${ordinal}`;
  }

  /** The pods as the controller sees them (PodView), by ordinal. */
  views(): (PodView | undefined)[] {
    return this.#pods.map((pod) =>
      pod ? { revision: pod.template.revision, terminating: pod.terminating, failed: false, ready: pod.ready, readySinceMs: pod.readySinceMs } : undefined,
    );
  }

  /** One round: kubelet for every pod, then the controller. */
  tick(): void {
    const now = this.#o.now();
    for (const pod of this.#pods) if (pod) this.#kubelet(pod, now);
    if (this.paused) return;
    const views = this.views();
    this.spec.currentRevision = nextCurrentRevision(this.spec, views);
    this.decision = reconcile(this.spec, views, now);
    for (const action of this.decision.actions) {
      if (action.kind === 'create') this.#create(action.ordinal, action.revision, now);
      else this.deletePod(action.ordinal);
      this.#o.events?.onAction?.(action, this.podName(action.ordinal), now);
    }
  }

  /** What the API server does on `kubectl delete pod`: terminating at once, gone after the container stopped. */
  deletePod(ordinal: number): void {
    const pod = this.#pods[ordinal];
    if (!pod || pod.terminating) return;
    const now = this.#o.now();
    pod.terminating = true;
    pod.startAtMs = null;
    this.#started(ordinal, now);
    this.#routing(pod, now);
    const remove = () => {
      if (this.#pods[ordinal] === pod) this.#pods[ordinal] = undefined;
    };
    if (pod.process) void pod.process.terminate(this.scaled(this.#o.plan.terminationGraceMs)).then(remove);
    else remove();
  }

  deleteAll(): void {
    for (const ordinal of this.#pods.keys()) this.deletePod(ordinal);
  }

  /** The address of a pod's running container (what its per-pod DNS name reaches), or undefined when none runs. */
  podUrl(ordinal: number): string | undefined {
    const process = this.#pods[ordinal]?.process;
    return process?.running && process.url ? process.url : undefined;
  }

  /** Real time the containers of `ordinal` have spent starting (process start-up, not scaled), up to now. A model
   * that runs on the manifest's clock against this pod (the analysis) leaves it out, as the probes do. */
  startupMs(ordinal: number): number {
    const since = this.#startingSince[ordinal];
    return (this.#startupMs[ordinal] ?? 0) + (since !== null && since !== undefined ? this.#o.now() - since : 0);
  }

  /** kubectl scale / a new spec.replicas (at most the pods this set was made for); the controller does the rest. */
  scale(replicas: number): void {
    if (replicas < 0 || replicas > this.#pods.length) throw new Error(`scale to ${replicas}: this set runs at most ${this.#pods.length} pods`);
    this.spec.replicas = replicas;
  }

  /** No pod exists (every one deleted and its container stopped). */
  empty(): boolean {
    return this.#pods.every((pod) => pod === undefined);
  }

  /** Endpoints the Service routes to now; with none ready, the terminating pods still serving (kube-proxy's
   * fallback, servingWhileTerminating). */
  endpoints(): Endpoint[] {
    const now = this.#o.now();
    const endpoint = (pod: Pod) => ({ name: pod.name, version: this.label(pod.template.revision), url: pod.lastUrl });
    const routed = this.#pods.flatMap((pod) => (pod && pod.lastUrl && routedAt(pod.endpoint, now, this.scaled(this.#o.endpointPropagationMs)) ? [endpoint(pod)] : []));
    if (routed.length > 0) return routed;
    return this.#pods.flatMap((pod) => (pod && pod.lastUrl && pod.process?.running && servingWhileTerminating(pod) ? [endpoint(pod)] : []));
  }

  readyCount(): number {
    return this.#pods.filter((pod) => pod?.ready && !pod.terminating).length;
  }

  /** Health of the live pods of `revision`, as kubectl shows it (for the release watch). */
  health(revision: string): { notReadyMs: number; restarts: number } {
    const now = this.#o.now();
    let notReadyMs = 0;
    let restarts = 0;
    for (const pod of this.#pods) {
      if (!pod || pod.terminating || pod.template.revision !== revision) continue;
      if (pod.notReadySinceMs !== null) notReadyMs = Math.max(notReadyMs, now - pod.notReadySinceMs);
      restarts = Math.max(restarts, pod.containers - 1 + (pod.containers > 0 && !pod.process ? 1 : 0));
    }
    return { notReadyMs, restarts };
  }

  /** Every ordinal exists, runs `revision`, is Ready and available (minReadySeconds) and not terminating. */
  allAvailableAt(revision: string, ordinals: readonly number[] = [...this.#pods.keys()]): boolean {
    const now = this.#o.now();
    return ordinals.every((ordinal) => {
      const pod = this.#pods[ordinal];
      return pod && !pod.terminating && pod.template.revision === revision && pod.ready && pod.readySinceMs !== null && now - pod.readySinceMs >= this.spec.minReadyMs;
    });
  }

  /** The state and version a person would read on each pod's lane. */
  displayStates(): { name: string; state: PodState; version: string | null }[] {
    return this.#pods.map((pod, ordinal) => {
      if (!pod) return { name: this.podName(ordinal), state: 'not-running', version: null };
      const crashed = pod.containers > 1 || (pod.containers === 1 && !pod.process);
      const state: PodState = pod.terminating ? 'terminating' : pod.ready ? 'ready' : crashed ? 'crash-loop' : 'starting';
      return { name: pod.name, state, version: this.label(pod.template.revision) };
    });
  }

  /** Ends every process now (an interrupted or failed rehearsal). */
  killAll(): void {
    for (const pod of this.#pods) pod?.process?.kill();
  }

  /** Resolves once every pod is gone (after deleteAll). */
  async drained(): Promise<void> {
    while (this.#pods.some((pod) => pod !== undefined)) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  #create(ordinal: number, revision: string, now: number): void {
    const template = this.template(revision);
    this.#pods[ordinal] = {
      name: this.podName(ordinal),
      ordinal,
      template,
      terminating: false,
      ready: false,
      readySinceMs: null,
      notReadySinceMs: null,
      process: undefined,
      lastUrl: '',
      containers: 0,
      // The kubelet starts the container once the pod is scheduled and its volume bound (pod-start.ts).
      startAtMs: now + this.scaled(this.#o.podStartLatencyMs ?? 0),
      probe: initialProbeState(this.#o.plan.startup !== undefined),
      nextProbeAtMs: now,
      probing: false,
      livenessFailures: 0,
      nextLivenessAtMs: now,
      livenessProbing: false,
      endpoint: [],
    };
  }

  #kubelet(pod: Pod, now: number): void {
    if (pod.terminating) return;
    if (!pod.process) {
      if (pod.startAtMs !== null && now >= pod.startAtMs) this.#startContainer(pod, now);
      return;
    }
    if (!pod.process.running) {
      this.#started(pod.ordinal, now);
      // The container exited: not Ready at once; restarted after the back-off (restartPolicy Always).
      this.#setReady(pod, false, now);
      this.#o.events?.onRestart?.(pod.name, `exited with ${pod.process.exitCode}`, now);
      pod.process = undefined;
      pod.startAtMs = now + this.scaled(restartDelayMs(pod.containers - 1));
      return;
    }
    if (pod.process.url) this.#started(pod.ordinal, now);
    if (!pod.probing && pod.process.url && now >= pod.nextProbeAtMs) void this.#probe(pod, pod.process);
    // Liveness runs only once the container has started (worker.go doProbe skips it before).
    const { liveness } = this.#o.plan;
    if (liveness && pod.probe.started && !pod.livenessProbing && pod.process.url && now >= pod.nextLivenessAtMs) void this.#probeLiveness(pod, pod.process, liveness);
  }

  #started(ordinal: number, now: number): void {
    const since = this.#startingSince[ordinal];
    if (since === null || since === undefined) return;
    this.#startupMs[ordinal] = (this.#startupMs[ordinal] ?? 0) + (now - since);
    this.#startingSince[ordinal] = null;
  }

  #startContainer(pod: Pod, now: number): void {
    pod.containers++;
    this.#startingSince[pod.ordinal] = now;
    const env = { ...this.#o.plan.env, ...pod.template.env };
    // The app's drain and timeout run on the rehearsal's clock too.
    for (const key of ['SHUTDOWN_DRAIN_MS', 'SHUTDOWN_TIMEOUT_MS']) if (env[key]) env[key] = String(this.scaled(Number(env[key])));
    pod.process = new PodProcess({ name: pod.name, version: pod.template.version, dataDir: path.join(this.#o.dataRoot, `web-app-data-${pod.name}`), env });
    pod.startAtMs = null;
    pod.probe = initialProbeState(this.#o.plan.startup !== undefined);
    // initialDelaySeconds counts from the container's start (worker.go doProbe), scaled like every manifest timing.
    const { startup, readiness, liveness } = this.#o.plan;
    pod.nextProbeAtMs = now + this.scaled((startup ?? readiness).initialDelayMs);
    pod.livenessFailures = 0;
    pod.nextLivenessAtMs = now + this.scaled(liveness?.initialDelayMs ?? 0);
  }

  /** GET `probe.path` on the pod: 200-399 is a success (pkg/probe/http/http.go DoHTTPProbe), anything else a failure. */
  async #get(process: PodProcess, probe: ProbePlan): Promise<boolean> {
    try {
      // timeoutSeconds is not scaled: it bounds a real answer's latency, which the time scale does not compress.
      const response = await fetch(`${process.url}${probe.path}`, { signal: AbortSignal.timeout(probe.timeoutMs), redirect: 'manual' });
      await response.body?.cancel();
      return response.status >= 200 && response.status < 400;
    } catch {
      return false;
    }
  }

  async #probeLiveness(pod: Pod, process: PodProcess, liveness: ProbePlan): Promise<void> {
    pod.livenessProbing = true;
    const ok = await this.#get(process, liveness);
    pod.livenessProbing = false;
    if (pod.process !== process || pod.terminating || !process.running) return;
    const outcome = afterLivenessProbe(pod.livenessFailures, ok, liveness.failureThreshold);
    pod.livenessFailures = outcome.failures;
    pod.nextLivenessAtMs = this.#o.now() + Math.max(20, this.scaled(liveness.periodMs));
    if (outcome.restart) {
      this.#o.events?.onRestart?.(pod.name, `liveness probe failed ${outcome.failures} times`, this.#o.now());
      void process.terminate(this.scaled(this.#o.plan.terminationGraceMs));
    }
  }

  async #probe(pod: Pod, process: PodProcess): Promise<void> {
    pod.probing = true;
    pod.lastUrl = process.url;
    const { plan } = this.#o;
    const ok = await this.#get(process, !pod.probe.started && plan.startup ? plan.startup : plan.readiness);
    // The watch counts "not Ready" from the first answer: a starved process on a busy machine is not a bad release.
    if (!ok && !pod.ready) pod.notReadySinceMs ??= this.#o.now();
    pod.probing = false;
    if (pod.process !== process || pod.terminating || !process.running) return;
    const { timeScale } = this.#o;
    const startup = plan.startup ? scaleProbe(plan.startup, timeScale) : undefined;
    const readiness = scaleProbe(plan.readiness, timeScale);
    const before = pod.probe;
    const outcome = afterProbe(before, ok, startup, readiness);
    const now = this.#o.now();
    pod.probe = outcome.state;
    pod.nextProbeAtMs = now + probePeriodMs(outcome.state, startup, readiness, before);
    this.#setReady(pod, outcome.state.ready, now);
    // The kubelet kills the container; the exit is then handled like any other (back-off, restart).
    if (outcome.restart) void process.terminate(this.scaled(plan.terminationGraceMs));
  }

  #setReady(pod: Pod, ready: boolean, now: number): void {
    if (pod.ready === ready) return;
    pod.ready = ready;
    pod.readySinceMs = ready ? now : null;
    pod.notReadySinceMs = ready ? null : now;
    this.#routing(pod, now);
  }

  #routing(pod: Pod, now: number): void {
    const serving = wantsTraffic(pod);
    if ((pod.endpoint.at(-1)?.serving ?? false) !== serving) pod.endpoint.push({ atMs: now, serving });
  }
}
