// Just enough of a cluster for one StatefulSet: pods by ordinal, an endpoints list fed by readiness probes (what a
// Service routes to), and the StatefulSet controller's moves: create in order or in parallel, delete, replace.
// All timings come from the manifests, multiplied by `timeScale` so a rehearsal can run faster than real time.
import path from 'node:path';
import type { RolloutPlan } from './plan.ts';
import { Pod } from './pod.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface ClusterOptions {
  plan: RolloutPlan;
  dataRoot: string;
  timeScale: number;
  /** Delay between a pod's deletion and the Service no longer routing to it (endpoint + kube-proxy update). */
  endpointPropagationMs: number;
}

export class Cluster {
  readonly #options: ClusterOptions;
  readonly pods: (Pod | undefined)[];
  readonly #ready = new Set<Pod>();
  readonly #failures = new Map<Pod, number>();
  #prober: ReturnType<typeof setInterval> | undefined;

  constructor(options: ClusterOptions) {
    this.#options = options;
    this.pods = Array.from({ length: options.plan.replicas }, () => undefined);
  }

  scaled(ms: number): number {
    return Math.round(ms * this.#options.timeScale);
  }

  /** Pods the Service routes to right now. */
  endpoints(): Pod[] {
    return this.pods.filter((pod): pod is Pod => pod !== undefined && this.#ready.has(pod));
  }

  startProbing(): void {
    const { periodMs } = this.#options.plan.readiness;
    this.#prober = setInterval(() => void this.#probeAll(), Math.max(20, this.scaled(periodMs)));
  }

  stopProbing(): void {
    clearInterval(this.#prober);
  }

  /** Initial creation, per podManagementPolicy. */
  async createAll(version: string): Promise<void> {
    await this.recreate([...this.pods.keys()], version);
  }

  /** Creates the given ordinals: one at a time, each Ready first (OrderedReady), or all at once (Parallel). */
  async recreate(ordinals: number[], version: string): Promise<void> {
    if (this.#options.plan.podManagementPolicy === 'Parallel') {
      await Promise.all(ordinals.map((ordinal) => this.createPod(ordinal, version)));
      return;
    }
    for (const ordinal of [...ordinals].sort((a, b) => a - b)) await this.createPod(ordinal, version);
  }

  /** Starts a pod and resolves once the readiness probe put it into the endpoints. */
  async createPod(ordinal: number, version: string): Promise<Pod> {
    const name = `rollcall-${ordinal}`;
    const env = { ...this.#options.plan.env };
    // The app's drain and timeout run on the rehearsal's clock too.
    for (const key of ['SHUTDOWN_DRAIN_MS', 'SHUTDOWN_TIMEOUT_MS']) if (env[key]) env[key] = String(this.scaled(Number(env[key])));
    const pod = await Pod.start({ name, version, dataDir: path.join(this.#options.dataRoot, `web-app-data-${name}`), env });
    this.pods[ordinal] = pod;
    await this.#probe(pod);
    while (!this.#ready.has(pod)) {
      if (this.pods[ordinal] !== pod) throw new Error(`${name} was replaced before it became ready`);
      await sleep(10);
    }
    return pod;
  }

  /** Deletes a pod like the API server does: the Service stops routing to it while the kubelet sends SIGTERM. */
  async deletePod(ordinal: number): Promise<void> {
    const pod = this.pods[ordinal];
    if (!pod) return;
    const unroute = sleep(this.scaled(this.#options.endpointPropagationMs)).then(() => this.#ready.delete(pod));
    const code = await pod.terminate(this.scaled(this.#options.plan.terminationGraceMs));
    await unroute;
    this.#ready.delete(pod);
    if (this.pods[ordinal] === pod) this.pods[ordinal] = undefined;
    if (code !== 0) throw new Error(`${pod.name} exited with ${code} on SIGTERM`);
  }

  async deleteAll(): Promise<void> {
    await Promise.all(this.pods.map((_, ordinal) => this.deletePod(ordinal)));
  }

  killAll(): void {
    for (const pod of this.pods) pod?.kill();
  }

  async #probeAll(): Promise<void> {
    await Promise.all(this.pods.map((pod) => (pod ? this.#probe(pod) : undefined)));
  }

  async #probe(pod: Pod): Promise<void> {
    let ok = false;
    try {
      const response = await fetch(`${pod.url}/readyz`, { signal: AbortSignal.timeout(2000) });
      ok = response.status === 200;
      await response.body?.cancel();
    } catch {
      ok = false;
    }
    if (!this.pods.includes(pod)) return;
    if (ok) {
      this.#failures.set(pod, 0);
      this.#ready.add(pod);
      return;
    }
    const failures = (this.#failures.get(pod) ?? 0) + 1;
    this.#failures.set(pod, failures);
    if (failures >= this.#options.plan.readiness.failureThreshold) this.#ready.delete(pod);
  }
}
