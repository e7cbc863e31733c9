// The StatefulSet controller, as a pure function: given the set's spec and its pods as the API server shows them,
// which pods to create or delete now, and what it waits for. The runner (rehearsal/run) calls it on every tick and
// carries out the actions with real processes; nothing here touches a process or a clock.
//
// Source: kubernetes/kubernetes pkg/controller/statefulset/stateful_set_control.go (read at commit 0004b149):
// - updateStatefulSet: fill missing ordinals with newVersionedStatefulSetPod; process replicas in ordinal order with
//   processReplica; `monotonic := !allowsBurst(set)` (OrderedReady) makes every step wait for the previous one;
//   OnDelete "short circuits" after that; RollingUpdate then deletes "the Pod with the largest ordinal that does not
//   match the update revision", down to `partition`, and "waits for unavailable Pods on update".
// - processReplica: a Failed/Succeeded pod is deleted (recreated on a later sync); a missing pod is created and, when
//   monotonic, nothing more happens this round; when monotonic it returns early for a terminating pod, a pod not
//   Running and Ready, and a pod not Available (minReadySeconds).
// - updateStatefulSetAfterInvariantEstablished, taken instead of the plain update loop when the feature gate
//   MaxUnavailableStatefulSet is on. Which version has it on, and in which form, is an input (SetSpec.kubernetes,
//   maxUnavailableMode below): up to maxUnavailable minus the pods already unavailable are deleted at once, highest
//   ordinal first, and nothing when as many are unavailable (v1.34 code, "single-phase"); v1.37 adds, for Parallel,
//   a first phase that deletes every unavailable pod of an old revision whatever the budget ("two-phase"). They
//   differ for a pod stuck on an old revision under Parallel (a reverted crash): single-phase counts it as unavailable
//   and deletes nothing (a manual step), two-phase and the gate-off loop replace it.
// - updateStatefulSet + processCondemned (scale down): pods at ordinals >= replicas are condemned and deleted highest
//   ordinal first, after every replica passed processReplica; when monotonic one at a time, waiting for the previous
//   one to terminate, and a condemned pod that is not Running and Available blocks unless it is the first unhealthy
//   pod (lowest ordinal); with Parallel all at once (runForAll -> slowStartBatch ignores the "exit" result).
// - pkg/controller/statefulset/stateful_set_utils.go newVersionedStatefulSetPod: a pod created below the partition
//   gets the current revision, every other pod the update revision.
// The consequences the issue asks for, confirmed in that code:
// - Forced rollback (kubernetes#67250; docs "Forced rollback"): under OrderedReady a pod of the bad revision that is
//   not Running and Ready blocks processReplica before the update loop is reached, so reverting the template never
//   replaces it; someone must delete it. See podsToDeleteByHand.
// - Parallel (kubernetes#96218): processReplica does not block, the update loop deletes the stuck pod because its
//   revision is not the update revision, and the controller recreates it at the reverted template.

export type PodManagementPolicy = 'OrderedReady' | 'Parallel';

export type UpdateStrategy = { type: 'RollingUpdate'; partition: number; maxUnavailable: number } | { type: 'OnDelete' };

export interface SetSpec {
  /** The Kubernetes version whose controller is modelled (default DEFAULT_KUBERNETES_VERSION): it decides the
   * MaxUnavailableStatefulSet path (maxUnavailableMode). */
  kubernetes?: string;
  replicas: number;
  podManagementPolicy: PodManagementPolicy;
  updateStrategy: UpdateStrategy;
  minReadyMs: number;
  /** status.currentRevision: the revision every pod had after the last completed rollout. */
  currentRevision: string;
  /** status.updateRevision: the revision of the template as it is now. */
  updateRevision: string;
}

/** A pod as the controller sees it through the API server. */
export interface PodView {
  revision: string;
  /** deletionTimestamp set: graceful termination under way. */
  terminating: boolean;
  /** Phase Failed or Succeeded (never the case with restartPolicy Always: a crashing container keeps phase Running). */
  failed: boolean;
  /** Condition Ready (Running and Ready). */
  ready: boolean;
  /** When the Ready condition last became true (for minReadySeconds), or null. */
  readySinceMs: number | null;
}

export type ControllerAction =
  | { kind: 'create'; ordinal: number; revision: string }
  | { kind: 'delete'; ordinal: number; reason: 'failed' | 'update' | 'scale-down' };

export type WaitReason = 'terminating' | 'not-ready' | 'not-available' | 'update-unavailable' | 'scale-down';

export interface ControllerDecision {
  actions: ControllerAction[];
  /** The pod the controller is blocked on this round, if any. */
  waitingFor?: { ordinal: number; reason: WaitReason };
}

/** isRunningAndAvailable: Ready for at least minReadySeconds. */
export function isAvailable(pod: PodView, minReadyMs: number, nowMs: number): boolean {
  return pod.ready && pod.readySinceMs !== null && nowMs - pod.readySinceMs >= minReadyMs;
}

/** newVersionedStatefulSetPod: below the partition the current revision, else the update revision. */
export function revisionForNewPod(spec: SetSpec, ordinal: number): string {
  if (spec.updateStrategy.type === 'RollingUpdate' && ordinal < spec.updateStrategy.partition) return spec.currentRevision;
  return spec.updateRevision;
}

/** The version the model follows by default: the local control plane's (cluster/go.mod requires
 * k8s.io/kubernetes at this version; test/model-statefulset-controller.test.ts holds the two together). */
export const DEFAULT_KUBERNETES_VERSION = '1.37.2';

export type MaxUnavailableMode = 'gate-off' | 'single-phase' | 'two-phase';

/**
 * The MaxUnavailableStatefulSet path of a Kubernetes version. Gate defaults from pkg/features/kube_features.go
 * (v1.37.2: alpha off from 1.24, beta off from 1.35, beta on from 1.37); 1.35.0–1.35.3 shipped it on and 1.35.4
 * turned it off again, with the API server dropping spec.updateStrategy.rollingUpdate.maxUnavailable while it is off
 * (so the plain loop, one pod at a time). The two-phase deletion for Parallel is in v1.37's
 * stateful_set_control.go updateStatefulSetAfterInvariantEstablished, not in v1.34's.
 */
export function maxUnavailableMode(version: string = DEFAULT_KUBERNETES_VERSION): MaxUnavailableMode {
  const m = /^v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(version);
  if (!m) throw new Error(`Kubernetes version "${version}": expected MAJOR.MINOR[.PATCH], e.g. 1.37.2`);
  const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
  if (major !== 1) throw new Error(`Kubernetes version "${version}": only 1.x is modelled`);
  if (minor >= 37) return 'two-phase';
  if (minor === 35 && patch <= 3) return 'single-phase';
  return 'gate-off';
}

export function reconcile(spec: SetSpec, pods: readonly (PodView | undefined)[], nowMs: number): ControllerDecision {
  const monotonic = spec.podManagementPolicy === 'OrderedReady';
  const actions: ControllerAction[] = [];
  const unavailable = (pod: PodView | undefined) => !pod || pod.terminating || !isAvailable(pod, spec.minReadyMs, nowMs);

  // processReplica, in ordinal order (runForAll: one by one when monotonic, all at once when Parallel).
  for (let ordinal = 0; ordinal < spec.replicas; ordinal++) {
    const pod = pods[ordinal];
    if (pod?.failed) {
      if (!pod.terminating) actions.push({ kind: 'delete', ordinal, reason: 'failed' });
      if (monotonic) return { actions, waitingFor: { ordinal, reason: 'terminating' } };
      continue;
    }
    if (!pod) {
      actions.push({ kind: 'create', ordinal, revision: revisionForNewPod(spec, ordinal) });
      if (monotonic) return { actions, waitingFor: { ordinal, reason: 'not-ready' } };
      continue;
    }
    if (!monotonic) continue;
    if (pod.terminating) return { actions, waitingFor: { ordinal, reason: 'terminating' } };
    if (!pod.ready) return { actions, waitingFor: { ordinal, reason: 'not-ready' } };
    if (!isAvailable(pod, spec.minReadyMs, nowMs)) return { actions, waitingFor: { ordinal, reason: 'not-available' } };
  }
  // processCondemned: scale down, highest ordinal first. Reached (when monotonic) only with every replica Running,
  // Ready and Available, so the first unhealthy pod can only be a condemned one, the lowest such ordinal.
  const condemned = pods.flatMap((pod, ordinal) => (pod && ordinal >= spec.replicas ? [ordinal] : [])).reverse();
  const firstUnhealthy = [...condemned].reverse().find((ordinal) => !pods[ordinal]!.ready || pods[ordinal]!.terminating);
  for (const ordinal of condemned) {
    const pod = pods[ordinal]!;
    if (pod.terminating) {
      if (monotonic) return { actions, waitingFor: { ordinal, reason: 'terminating' } };
      continue;
    }
    if (monotonic && ordinal !== firstUnhealthy && !isAvailable(pod, spec.minReadyMs, nowMs)) return { actions, waitingFor: { ordinal, reason: 'scale-down' } };
    actions.push({ kind: 'delete', ordinal, reason: 'scale-down' });
    if (monotonic) return { actions };
  }
  // With Parallel the loop above may have created pods; the update waits for the next round (slowStartBatch returns
  // before the update loop runs only on errors, but a created pod is unavailable, which the loop below counts).
  if (spec.updateStrategy.type === 'OnDelete') return { actions };

  const { partition } = spec.updateStrategy;
  const mode = maxUnavailableMode(spec.kubernetes);
  // Gate off: the API server dropped maxUnavailable, so the plain loop replaces one pod at a time.
  const maxUnavailable = mode === 'gate-off' ? 1 : spec.updateStrategy.maxUnavailable;
  if (mode === 'gate-off') {
    // The plain update loop of updateStatefulSet.
    for (let ordinal = spec.replicas - 1; ordinal >= partition; ordinal--) {
      const pod = pods[ordinal];
      if (pod && pod.revision !== spec.updateRevision && !pod.terminating) return { actions: [...actions, { kind: 'delete', ordinal, reason: 'update' }] };
      // A pod created this round (still missing here) is unavailable too.
      if (unavailable(pod)) return { actions, waitingFor: { ordinal, reason: 'update-unavailable' } };
    }
    return { actions };
  }
  // Gate on (updateStatefulSetAfterInvariantEstablished): count unavailable pods over all replicas; delete up to
  // maxUnavailable minus that many, highest ordinal first, without waiting per pod.
  const replicas = pods.slice(0, spec.replicas);
  const unavailableCount = replicas.filter(unavailable).length + (spec.replicas - replicas.length);
  const old = (pod: PodView | undefined): pod is PodView => pod !== undefined && pod.revision !== spec.updateRevision && !pod.terminating;
  if (mode === 'two-phase' && !monotonic) {
    // v1.37, Parallel: phase 1 deletes every unavailable pod of an old revision (within the partition), whatever the
    // budget; phase 2 spends what is left of it on available ones. It stops only when nothing unavailable needs an
    // update and the budget is spent.
    const needingUpdate = replicas.filter((pod) => old(pod) && unavailable(pod)).length;
    if (unavailableCount >= maxUnavailable && needingUpdate === 0) return { actions };
    for (let ordinal = spec.replicas - 1; ordinal >= partition; ordinal--) {
      const pod = pods[ordinal];
      if (old(pod) && unavailable(pod)) actions.push({ kind: 'delete', ordinal, reason: 'update' });
    }
    let remaining = maxUnavailable - unavailableCount;
    for (let ordinal = spec.replicas - 1; ordinal >= partition && remaining > 0; ordinal--) {
      const pod = pods[ordinal];
      if (old(pod) && !unavailable(pod)) {
        actions.push({ kind: 'delete', ordinal, reason: 'update' });
        remaining--;
      }
    }
    return { actions };
  }
  let budget = maxUnavailable - unavailableCount;
  for (let ordinal = spec.replicas - 1; ordinal >= partition && budget > 0; ordinal--) {
    const pod = pods[ordinal];
    if (pod && pod.revision !== spec.updateRevision && !pod.terminating) {
      actions.push({ kind: 'delete', ordinal, reason: 'update' });
      budget--;
    }
  }
  return { actions };
}

/** updateStatefulSetStatus / completeRollingUpdate: once every pod runs the update revision and is Ready, the update
 * revision becomes the current one. */
export function nextCurrentRevision(spec: SetSpec, pods: readonly (PodView | undefined)[]): string {
  const all = pods.slice(0, spec.replicas);
  const done = all.length === spec.replicas && all.every((pod) => pod && pod.revision === spec.updateRevision && pod.ready && !pod.terminating);
  return done ? spec.updateRevision : spec.currentRevision;
}

/** The pods a person must delete for the set to reach the update revision, given what the controller decided.
 * - OrderedReady + RollingUpdate: the pod the controller is blocked on, when it is not Ready and of another revision:
 *   processReplica never lets the update loop reach it (forced rollback, kubernetes#67250).
 * - OnDelete: every pod of another revision ("Pods will be updated when they are manually deleted").
 * - Parallel + RollingUpdate: none; the update loop replaces it (kubernetes#96218). */
export function podsToDeleteByHand(spec: SetSpec, pods: readonly (PodView | undefined)[], decision: ControllerDecision): number[] {
  if (spec.updateStrategy.type === 'OnDelete') {
    return pods.flatMap((pod, ordinal) => (pod && !pod.terminating && pod.revision !== spec.updateRevision ? [ordinal] : []));
  }
  if (spec.podManagementPolicy === 'Parallel') {
    // Single-phase gate-on path: a pod stuck on an old revision counts as unavailable and blocks every delete.
    if (maxUnavailableMode(spec.kubernetes) !== 'single-phase') return [];
    return pods.flatMap((pod, ordinal) => (pod && ordinal < spec.replicas && !pod.terminating && !pod.ready && pod.revision !== spec.updateRevision ? [ordinal] : []));
  }
  if (!decision.waitingFor) return [];
  const { ordinal, reason } = decision.waitingFor;
  const pod = pods[ordinal];
  if (reason !== 'not-ready' || !pod || pod.terminating || pod.ready || pod.revision === spec.updateRevision) return [];
  return [ordinal];
}
