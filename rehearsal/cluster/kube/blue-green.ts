// Blue-green's pair on a real cluster (the seam's RehearsalBlueGreen, ../seam.ts): each Git step of the overlay's
// README is the whole overlay applied server-side at the state that step declares (manifests.ts blueGreenObjects:
// each colour's release and replicas, the client Service's selector); the real StatefulSet controller starts and
// stops each colour's pods, the EndpointSlice controller moves the client Service to the selected colour, and
// kube-proxy moves new connections. Each colour's pods are read as any StatefulSet's (statefulset.ts, watched
// only); which colour the client Service routes to is read from its EndpointSlices every quarter second.
import type { K8sObject } from '../../../bundle/types.ts';
import { colours, type BlueGreenState, type Colour } from '../../model/blue-green.ts';
import type { Template } from '../../run/statefulset.ts';
import type { RehearsalBlueGreen, RehearsalClusterOptions } from '../seam.ts';
import { serverSideApplier, type Applier } from './apply.ts';
import type { KubeConnection } from './connection.ts';
import { InClusterLoad } from './load.ts';
import { blueGreenObjects, colourSet, namespaceOf } from './manifests.ts';
import { claimNamespace, deleteNamespace } from './namespace.ts';
import { KubeStatefulSet, readEndpointSlices, routedEndpoints } from './statefulset.ts';

const POLL_MS = 250;
/** The blue-green overlay's client Service (kustomize/overlays/blue-green). */
const CLIENT_SERVICE = 'rollcall';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Which colour a list of routed endpoints (their pods' names) belongs to: the one most of them are, or `declared`
 * when the Service routes nowhere (the selector is in force; no pod of that colour is ready yet). */
export function routedColourOf(pods: readonly (string | undefined)[], declared: Colour): Colour {
  const count = (c: Colour) => pods.filter((p) => p?.startsWith(`${colourSet(c)}-`)).length;
  const [blue, green] = [count('blue'), count('green')];
  return blue === green ? declared : blue > green ? 'blue' : 'green';
}

export class KubeBlueGreen implements RehearsalBlueGreen {
  readonly sets: Record<Colour, KubeStatefulSet>;
  readonly #kube: KubeConnection;
  readonly #applier: Applier;
  readonly #o: RehearsalClusterOptions;
  readonly #objects: readonly K8sObject[];
  readonly #ns: string;
  #declared: Colour;
  #routed: { colour: Colour; endpoints: number };
  #polling = true;
  #poller: Promise<void> = Promise.resolve();
  #closed = false;

  private constructor(kube: KubeConnection, o: RehearsalClusterOptions, objects: readonly K8sObject[], state: BlueGreenState, templates: Readonly<Record<Colour, Template>>, applier: Applier) {
    this.#kube = kube;
    this.#applier = applier;
    this.#o = o;
    this.#objects = objects;
    this.#ns = namespaceOf(objects);
    this.#declared = state.active;
    this.#routed = { colour: state.active, endpoints: 0 };
    this.sets = { blue: KubeStatefulSet.watch(kube, o, objects, colourSet('blue'), templates.blue), green: KubeStatefulSet.watch(kube, o, objects, colourSet('green'), templates.green) };
  }

  /** Refuses a namespace rollcall did not make; removes one an interrupted run left; applies the overlay at `state`. */
  static async create(kube: KubeConnection, o: RehearsalClusterOptions, objects: readonly K8sObject[], state: BlueGreenState, templates: Readonly<Record<Colour, Template>>, applier: Applier = serverSideApplier): Promise<KubeBlueGreen> {
    await claimNamespace(kube, namespaceOf(objects));
    const pair = new KubeBlueGreen(kube, o, objects, state, templates, applier);
    await pair.apply(state, templates);
    pair.#poller = pair.#poll();
    return pair;
  }

  async #poll(): Promise<void> {
    while (this.#polling) {
      try {
        const pods = routedEndpoints(await readEndpointSlices(this.#kube, this.#ns, CLIENT_SERVICE));
        this.#routed = { colour: routedColourOf(pods, this.#declared), endpoints: pods.length };
      } catch {
        // Read again next round.
      }
      await sleep(POLL_MS);
    }
  }

  tick(): void {
    // The real controllers act by themselves; the pollers read what they did.
  }

  async apply(state: BlueGreenState, templates: Readonly<Record<Colour, Template>>): Promise<void> {
    for (const c of colours) this.sets[c].noteApplied(templates[c], state.colours[c].replicas);
    this.#declared = state.active;
    const what = colours.map((c) => `${c} ${templates[c].revision} × ${state.colours[c].replicas}`).join(', ');
    await this.#applier.apply(this.#kube, this.#ns, blueGreenObjects(this.#objects, state, templates), `${what}, ${state.active} active`);
  }

  routed(): { colour: Colour; endpoints: number } {
    return this.#routed;
  }

  /** The clients, through the client Service (found by the rendered overlay's active colour, whose pods it selects). */
  load(): InClusterLoad {
    return new InClusterLoad(this.#kube, this.#objects, this.#o.clients, colourSet(this.#o.plan.blueGreen?.active ?? 'blue'));
  }

  async counters(): Promise<Map<string, number>> {
    const [blue, green] = await Promise.all(colours.map((c) => this.sets[c].counters()));
    return new Map([...blue!, ...green!]);
  }

  describe(): string {
    return `${colours.map((c) => `${c}: ${this.sets[c].describe()}`).join('; ')}; client Service routes to ${this.#routed.endpoints} ${this.#routed.colour} endpoints`;
  }

  /** Deletes the namespace (and with it everything the run created); the cluster's other objects are untouched. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#polling = false;
    await this.#poller;
    await Promise.all(colours.map((c) => this.sets[c].close()));
    await this.#applier.forget?.(this.#ns);
    await deleteNamespace(this.#kube, this.#ns);
  }
}
