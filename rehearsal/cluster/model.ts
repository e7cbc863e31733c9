// The model cluster: the StatefulSet controller, kubelet and Service rules of rehearsal/model driving real server
// processes on this machine (rehearsal/run/statefulset.ts), on a clock scaled by --time-scale; the load runs here,
// round robin over the endpoints the Service model routes to. One implementation of the seam (seam.ts).
import { colours, routedColour, type BlueGreenState, type Colour, type SelectorChange } from '../model/blue-green.ts';
import { podsToDeleteByHand } from '../model/statefulset-controller.ts';
import { plainApply } from '../run/delivery.ts';
import { Load } from '../run/load.ts';
import { readCounters } from '../run/recorder.ts';
import { StatefulSetRun, type Template } from '../run/statefulset.ts';
import { makeTempDir, removeTempDir } from '../run/temp-dirs.ts';
import type { RehearsalBlueGreen, RehearsalCluster, RehearsalClusterOptions, RehearsalStatefulSet } from './seam.ts';

class ModelStatefulSet implements RehearsalStatefulSet {
  readonly #set: StatefulSetRun;
  readonly #o: RehearsalClusterOptions;
  readonly #dataRoot: string;
  readonly #ownsDataRoot: boolean;

  constructor(o: RehearsalClusterOptions, initial: Template, dataRoot: string, ownsDataRoot = true) {
    this.#o = o;
    this.#dataRoot = dataRoot;
    this.#ownsDataRoot = ownsDataRoot;
    this.#set = new StatefulSetRun(
      { plan: o.plan, dataRoot, timeScale: o.timeScale, endpointPropagationMs: o.endpointPropagationMs, podStartLatencyMs: o.podStartLatencyMs, ...(o.kubernetesVersion ? { kubernetes: o.kubernetesVersion } : {}), now: o.now, events: { onAction: (action, pod, atMs) => o.onAction(action, pod, atMs) } },
      initial,
    );
  }

  get labels(): Map<string, string> {
    return this.#set.labels;
  }
  set labels(labels: Map<string, string>) {
    this.#set.labels = labels;
  }

  tick(): void {
    this.#set.tick();
  }
  podName(ordinal: number): string {
    return this.#set.podName(ordinal);
  }
  views() {
    return this.#set.views();
  }
  displayStates() {
    return this.#set.displayStates();
  }
  readyCount(): number {
    return this.#set.readyCount();
  }
  routedCount(): number {
    return this.#set.endpoints().length;
  }
  health(revision: string) {
    return this.#set.health(revision);
  }
  allAvailableAt(revision: string, ordinals?: readonly number[]): boolean {
    return this.#set.allAvailableAt(revision, ordinals);
  }
  revisions() {
    return { current: this.#set.spec.currentRevision, update: this.#set.spec.updateRevision };
  }
  podsToDeleteByHand(): number[] {
    return podsToDeleteByHand(this.#set.spec, this.#set.views(), this.#set.decision);
  }
  async setTemplate(template: Template): Promise<void> {
    this.#set.setTemplate(template);
  }
  async relaunch(template: Template): Promise<void> {
    this.#set.paused = true;
    this.#set.deleteAll();
    await this.#set.drained();
    this.#set.reset(template);
    this.#set.paused = false;
  }
  /** A person's `kubectl delete pod` (a manual step): not a replacement made by the rollout. */
  async deletePod(ordinal: number): Promise<void> {
    this.#set.deletePod(ordinal);
  }
  /** What the recreate hook's Job does: every pod deleted, and those of an older revision replaced by the update
   * (as a real cluster shows it: the pods go away for the release). */
  async deleteAll(): Promise<void> {
    const now = this.#o.now();
    for (const [ordinal, pod] of this.#set.views().entries()) {
      if (pod && !pod.terminating && pod.revision !== this.#set.spec.updateRevision) this.#o.onAction({ kind: 'delete', ordinal, reason: 'update' }, this.#set.podName(ordinal), now);
    }
    this.#set.deleteAll();
  }
  counters(): Promise<Map<string, number>> {
    return readCounters(this.#dataRoot, [...Array(this.#o.plan.replicas).keys()].map((ordinal) => this.#set.podName(ordinal)));
  }
  load(): Load {
    return new Load(() => this.#set.endpoints(), this.#o.clients);
  }
  /** Blue-green's pair (below) scales each colour and routes to one colour's endpoints. */
  scale(replicas: number): void {
    this.#set.scale(replicas);
  }
  endpoints() {
    return this.#set.endpoints();
  }
  get updateRevision(): string {
    return this.#set.spec.updateRevision;
  }
  describe(): string {
    const pods = this.#set.displayStates().map((p, i) => `${p.name} ${p.state} ${p.version ?? '-'} (${this.#set.views()[i]?.revision ?? 'none'})`);
    return `pods: ${pods.join(', ')}; controller: ${JSON.stringify(this.#set.decision)}; spec: ${JSON.stringify(this.#set.spec)}`;
  }
  podUrl(ordinal: number): string | undefined {
    return this.#set.podUrl(ordinal);
  }
  startupMs(ordinal: number): number {
    return this.#set.startupMs(ordinal);
  }
  async close(): Promise<void> {
    this.#set.deleteAll();
    await Promise.race([this.#set.drained(), new Promise((resolve) => setTimeout(resolve, this.#set.scaled(this.#o.plan.terminationGraceMs) + 2000))]);
    this.#set.killAll();
    if (this.#ownsDataRoot) await removeTempDir(this.#dataRoot);
  }
}

/** Blue-green's pair on the model: a StatefulSet model per colour, and the client Service's selector changes, which
 * reach new connections after the endpoint propagation delay (rehearsal/model/blue-green.ts routedColour). */
class ModelBlueGreen implements RehearsalBlueGreen {
  readonly sets: Record<Colour, ModelStatefulSet>;
  readonly #o: RehearsalClusterOptions;
  readonly #dataRoot: string;
  readonly #initialActive: Colour;
  readonly #selector: SelectorChange[] = [];

  constructor(o: RehearsalClusterOptions, state: BlueGreenState, templates: Readonly<Record<Colour, Template>>, dataRoot: string) {
    this.#o = o;
    this.#dataRoot = dataRoot;
    this.#initialActive = state.active;
    const make = (colour: Colour) => {
      const set = new ModelStatefulSet({ ...o, plan: { ...o.plan, setName: `rollcall-${colour}` } }, templates[colour], dataRoot, false);
      set.scale(state.colours[colour].replicas);
      return set;
    };
    this.sets = { blue: make('blue'), green: make('green') };
  }

  tick(): void {
    for (const c of colours) this.sets[c].tick();
  }

  async apply(state: BlueGreenState, templates: Readonly<Record<Colour, Template>>): Promise<void> {
    for (const c of colours) {
      const set = this.sets[c];
      if (set.updateRevision !== templates[c].revision) await set.setTemplate(templates[c]);
      set.scale(state.colours[c].replicas);
    }
    // The selector as last committed (not yet what new connections reach: routed() adds the propagation delay).
    const committed = this.#selector.at(-1)?.to ?? this.#initialActive;
    if (state.active !== committed) this.#selector.push({ atMs: this.#o.now(), to: state.active });
  }

  routed(): { colour: Colour; endpoints: number } {
    const colour = routedColour(this.#initialActive, this.#selector, Math.round(this.#o.endpointPropagationMs * this.#o.timeScale), this.#o.now());
    return { colour, endpoints: this.sets[colour].endpoints().length };
  }

  load(): Load {
    return new Load(() => this.sets[this.routed().colour].endpoints(), this.#o.clients);
  }

  async counters(): Promise<Map<string, number>> {
    const [blue, green] = await Promise.all(colours.map((c) => this.sets[c].counters()));
    return new Map([...blue!, ...green!]);
  }

  describe(): string {
    return colours.map((c) => `${c}: ${this.sets[c].describe()}`).join('; ');
  }

  async close(): Promise<void> {
    await Promise.all(colours.map((c) => this.sets[c].close()));
    await removeTempDir(this.#dataRoot);
  }
}

export const modelCluster: RehearsalCluster = {
  describe: 'model (rehearsal/model: the StatefulSet controller, kubelet and Service rules, real server processes)',
  kind: 'model',
  async statefulSet(options, initial) {
    return new ModelStatefulSet(options, initial, await makeTempDir(`rollcall-compare-${options.plan.overlay}-`));
  },
  async blueGreen(options, state, templates) {
    return new ModelBlueGreen(options, state, templates, await makeTempDir(`rollcall-compare-${options.plan.overlay}-`));
  },
  kubectlDelivery: plainApply,
};
