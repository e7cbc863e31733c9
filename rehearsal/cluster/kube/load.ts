// The load on a real cluster: a pod of the project's own image (src/hooks/load.ts) in the overlay's namespace, sending
// through the Service's ClusterIP as the cluster's clients do; its outcomes are read back through the API server's
// pod proxy every half second and put on this process's clock (the pod records epoch ms; on another host a clock
// skew between the two shifts the load against the pod events by that skew).
import type { K8sObject } from '../../../bundle/types.ts';
import type { LoadOutcome } from '../../../src/hooks/load.ts';
import type { ClientConnections, Outcome } from '../../run/load.ts';
import type { LoadDriver } from '../seam.ts';
import type { KubeConnection } from './connection.ts';
import { clientServiceOf, loadPod, namespaceOf } from './manifests.ts';

const RESULTS_PORT = 8080;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class InClusterLoad implements LoadDriver {
  readonly outcomes: Outcome[] = [];
  readonly #kube: KubeConnection;
  readonly #objects: readonly K8sObject[];
  readonly #ns: string;
  #read = 0;
  #polling: Promise<void> | undefined;
  #stopped = false;

  readonly #keepAlive: boolean;
  /** The StatefulSet whose pods the client Service selects (blue-green: the rendered overlay's active colour). */
  readonly #setName: string | undefined;

  constructor(kube: KubeConnection, objects: readonly K8sObject[], clients: ClientConnections = 'per-request', setName?: string) {
    this.#keepAlive = clients === 'keep-alive';
    this.#setName = setName;
    this.#kube = kube;
    this.#objects = objects;
    this.#ns = namespaceOf(objects);
  }

  get #results(): string {
    return `/api/v1/namespaces/${this.#ns}/pods/rollcall-load:${RESULTS_PORT}/proxy`;
  }

  async start(connections: number, rate: number): Promise<void> {
    const service = clientServiceOf(this.#objects, this.#setName);
    const svc = await this.#kube.get<{ spec: { clusterIP: string } }>(`/api/v1/namespaces/${this.#ns}/services/${service.name}`);
    await this.#deletePod();
    const pod = loadPod(this.#objects, { url: `http://${svc.spec.clusterIP}:${service.port}`, connections, rate, seconds: 4 * 3600, port: RESULTS_PORT, keepAlive: this.#keepAlive }, this.#setName);
    await this.#kube.request('POST', `/api/v1/namespaces/${this.#ns}/pods`, pod);
    // Running once its results answer through the pod proxy: scheduling and container start take their real time.
    const deadline = Date.now() + 180_000;
    for (;;) {
      try {
        await this.#kube.get(`${this.#results}/outcomes?from=0`);
        break;
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`the load pod rollcall-load did not answer within 180 s: ${(error as Error).message}`);
        await sleep(500);
      }
    }
    this.#polling = this.#poll();
  }

  async #fetch(): Promise<{ running: boolean; total: number }> {
    const page = await this.#kube.get<{ running: boolean; total: number; outcomes: LoadOutcome[] }>(`${this.#results}/outcomes?from=${this.#read}`);
    for (const o of page.outcomes) {
      const { at, ...rest } = o;
      this.outcomes.push({ ...rest, at: at - performance.timeOrigin });
    }
    this.#read += page.outcomes.length;
    return page;
  }

  async #poll(): Promise<void> {
    while (!this.#stopped) {
      // A failed read (the API server busy) is retried; the outcomes wait in the pod.
      await this.#fetch().catch(() => undefined);
      await sleep(500);
    }
  }

  async stop(): Promise<void> {
    if (!this.#polling) return;
    this.#stopped = true;
    await this.#polling;
    await this.#kube.request('POST', `${this.#results}/stop`).catch(() => undefined);
    for (let page = await this.#fetch(); this.#read < page.total; page = await this.#fetch());
    this.#polling = undefined;
    await this.#deletePod();
  }

  async #deletePod(): Promise<void> {
    const path = `/api/v1/namespaces/${this.#ns}/pods/rollcall-load`;
    if (!(await this.#kube.find(path))) return;
    await this.#kube.request('DELETE', `${path}?gracePeriodSeconds=0`).catch(() => undefined);
    const deadline = Date.now() + 60_000;
    while ((await this.#kube.find(path)) && Date.now() < deadline) await sleep(250);
  }
}
