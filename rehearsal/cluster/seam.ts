// The one seam between the rehearsal's runner (rehearsal/run/rehearse.ts) and a cluster. The runner launches a
// StatefulSet, puts load on its Service, applies releases and reverts, watches the pods, takes the manual steps a
// person would, and records what happened; everything it asks of the cluster goes through `RehearsalCluster`.
// Two implementations:
//   model.ts        the rehearsal's model: the StatefulSet controller, kubelet and Service rules of rehearsal/model,
//                   with real server processes as pods on this machine, on a clock scaled by --time-scale;
//   kube/           a real API server (the local control plane, or any kube context): the real controllers roll the
//                   pods, the load runs inside the cluster through the Service, everything read back through the API.
// The runner, the load's bookkeeping, the recorder and the report are the same for both.
import type { BlueGreenState, Colour } from '../model/blue-green.ts';
import type { PodView } from '../model/statefulset-controller.ts';
import type { RolloutPlan } from '../plan.ts';
import type { PodState } from '../result.ts';
import type { Delivery } from '../run/delivery.ts';
import type { ClientConnections, Outcome } from '../run/load.ts';
import type { Template } from '../run/statefulset.ts';

/** Client load on the StatefulSet's Service: started once its endpoints route to every pod, stopped at the end. */
export interface LoadDriver {
  /** Every answer (and failure) so far; `at` on performance.now()'s clock. */
  readonly outcomes: Outcome[];
  /** Starts `connections` clients sending `rate` requests per second in all; resolves once they run. */
  start(connections: number, rate: number): Promise<void>;
  /** Stops the clients; resolves once every outcome has been read back. */
  stop(): Promise<void>;
}

/** A controller action seen on the cluster (the model's own decisions, or a pod created or deleted on a real one). */
export interface SeenAction {
  kind: 'create' | 'delete';
  ordinal: number;
  revision?: string;
  reason?: string;
}

/** The StatefulSet under rehearsal and its pods, on one cluster. Times are ms on the runner's clock (`now`). */
export interface RehearsalStatefulSet {
  /** Which label (v1, v2) a template revision shows as on the pods' lanes. */
  labels: Map<string, string>;
  /** One round of the cluster's work: the model's controllers and kubelet; nothing on a real cluster (its
   * controllers run by themselves and what they did is read in the background). */
  tick(): void;
  podName(ordinal: number): string;
  views(): (PodView | undefined)[];
  /** The state and version a person would read on each pod's lane. */
  displayStates(): { name: string; state: PodState; version: string | null }[];
  readyCount(): number;
  /** Endpoints the Service routes to now. */
  routedCount(): number;
  health(revision: string): { notReadyMs: number; restarts: number };
  allAvailableAt(revision: string, ordinals?: readonly number[]): boolean;
  /** status.currentRevision and updateRevision, as template revisions. */
  revisions(): { current: string; update: string };
  /** The pods a person deletes by hand now to finish a revert (what the overlay's README tells them). */
  podsToDeleteByHand(): number[];
  /** A release or a revert: the StatefulSet's template becomes `template` (a real cluster: the whole overlay applied
   * server-side as `kubectl apply` would, hook Jobs included); the controller does the rest. */
  setTemplate(template: Template): Promise<void>;
  /** A fresh StatefulSet at `template`: every pod deleted and gone, then launched again. */
  relaunch(template: Template): Promise<void>;
  deletePod(ordinal: number): Promise<void>;
  deleteAll(): Promise<void>;
  /** Each pod's visit counter (its visits.json), after the load stopped. */
  counters(): Promise<Map<string, number>>;
  /** The load through this StatefulSet's Service. */
  load(): LoadDriver;
  /** What the pods and the controller look like, for an error message. */
  describe(): string;
  /** The address of a pod's container and its real start-up time (the AnalysisRun's web provider; model only). */
  podUrl?(ordinal: number): string | undefined;
  startupMs?(ordinal: number): number;
  /** Pod start latencies seen since the last call (creation → container running, ms): a real cluster's own. */
  podStartSamples?(): number[];
  /** Removes the pods (and, on a real cluster, everything the run created). */
  close(): Promise<void>;
}

/** One colour's StatefulSet of blue-green's pair: read and acted on pod by pod; the pair applies, routes and loads. */
export type ColourStatefulSet = Pick<
  RehearsalStatefulSet,
  'labels' | 'podName' | 'views' | 'displayStates' | 'readyCount' | 'health' | 'allAvailableAt' | 'podsToDeleteByHand' | 'deletePod' | 'podStartSamples'
>;

/** The blue-green overlay on one cluster: a StatefulSet per colour and the client Service, whose selector names the
 * active colour. Each Git step of the overlay's README is one `apply` of the state it declares. */
export interface RehearsalBlueGreen {
  readonly sets: Readonly<Record<Colour, ColourStatefulSet>>;
  /** One round of the cluster's work (the model's controllers; nothing on a real cluster). */
  tick(): void;
  /** One commit: each colour at its release and replicas, the client Service on the active colour. */
  apply(state: BlueGreenState, templates: Readonly<Record<Colour, Template>>): Promise<void>;
  /** The colour new client connections reach now, and how many endpoints the client Service routes to. */
  routed(): { colour: Colour; endpoints: number };
  /** The load through the client Service. */
  load(): LoadDriver;
  /** Each pod's visit counter, both colours (a real cluster: the pods that are there). */
  counters(): Promise<Map<string, number>>;
  describe(): string;
  /** Removes both colours' pods (and, on a real cluster, everything the run created). */
  close(): Promise<void>;
}

export interface RehearsalClusterOptions {
  plan: RolloutPlan;
  timeScale: number;
  endpointPropagationMs: number;
  /** The model's pod start latency (cluster time; rehearsal/model/pod-start.ts); a real cluster has its own. */
  podStartLatencyMs: number;
  /** How the load's clients hold connections (default per-request; rehearsal/run/load.ts). */
  clients?: ClientConnections;
  /** The version the model's controller follows (a real cluster is its own version). */
  kubernetesVersion?: string;
  now: () => number;
  onAction: (action: SeenAction, podName: string, atMs: number) => void;
}

/** A cluster the rehearsal runs on. */
export interface RehearsalCluster {
  /** Which cluster produced the figures: "model", or the real server's version and node kind. */
  readonly describe: string;
  readonly kind: 'model' | 'real';
  /** Creates the overlay's StatefulSet at `initial` (resolves once created; the runner waits for Ready itself). */
  statefulSet(options: RehearsalClusterOptions, initial: Template): Promise<RehearsalStatefulSet>;
  /** Creates blue-green's pair at the declared `state` (options.plan: the overlay's, replicas the larger colour's). */
  blueGreen(options: RehearsalClusterOptions, state: BlueGreenState, templates: Readonly<Record<Colour, Template>>): Promise<RehearsalBlueGreen>;
  /** How a release reaches this cluster with `--delivery kubectl` (a real cluster runs the hook Jobs itself). */
  kubectlDelivery(plan: RolloutPlan): Delivery;
  /** With `--delivery argocd` on a real cluster that runs Argo CD: a commit the real Argo CD syncs (kube/argocd.ts).
   * Absent elsewhere: the model's Argo CD (rehearsal/run/argocd-delivery.ts) stands in on the model. */
  argocdDelivery?(plan: RolloutPlan): Delivery;
  /** Stops what the cluster itself started (a local control plane). */
  close?(): Promise<void>;
}
