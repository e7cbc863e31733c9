// How a rehearsal runs: the time scale, the load, the watch's rules and the delivery. Shared by the one-StatefulSet
// runner (rehearse.ts) and blue-green's (blue-green.ts), so neither imports the other.
import type { WatchRules } from '../model/release-watch.ts';
import type { RolloutPlan } from '../plan.ts';
import type { ReleaseScenario } from '../result.ts';
import type { RehearsalCluster } from '../cluster/seam.ts';
import type { Delivery } from './delivery.ts';
import type { ClientConnections } from './load.ts';

export interface RehearsalOptions {
  timeScale: number;
  connections: number;
  /** Requests per second over all connections. */
  rate: number;
  /** Load before the release and after it settled, in real milliseconds. */
  steadyMs: number;
  /** Endpoint + kube-proxy propagation delay (manifest time: multiplied by timeScale). */
  endpointPropagationMs: number;
  /** How the load's clients hold connections (default per-request; load.ts). */
  clients?: ClientConnections;
  /** The model's pod start latency, cluster time (default POD_START_LATENCY_MS, rehearsal/model/pod-start.ts). */
  podStartLatencyMs?: number;
  /** The Kubernetes version the model's StatefulSet controller follows (default DEFAULT_KUBERNETES_VERSION). */
  kubernetesVersion?: string;
  watch?: WatchRules;
  /** The cluster the rehearsal runs on (default: the model, rehearsal/cluster/model.ts). */
  cluster?: RehearsalCluster;
  /** How a release reaches the cluster (default: the cluster's kubectl delivery). */
  delivery?: (plan: RolloutPlan) => Delivery;
  progress?: (scenario: ReleaseScenario | 'launch', phase: string) => void;
}
