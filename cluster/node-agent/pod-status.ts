// The pod status the node agent reports, as a pure function of what its containers are doing. Every field here has a
// reader: the StatefulSet controller counts Running+Ready pods and waits for Ready's lastTransitionTime +
// minReadySeconds (pkg/api/v1/pod IsPodAvailable); the EndpointSlice controller reads Ready and podIPs; the Job
// controller reads the phase and each container's exit code (podFailurePolicy); kubectl and the tests read
// restartCount, state and lastState.
import type { IContainerState, IContainerStateTerminated, IContainerStatus, IPodCondition, IPodStatus } from 'kubernetes-models/v1';

export type RestartPolicy = 'Always' | 'OnFailure' | 'Never';

export interface ContainerView {
  name: string;
  image: string;
  imageID: string;
  containerID?: string;
  state: IContainerState;
  lastState?: IContainerStateTerminated;
  restartCount: number;
  started: boolean;
  ready: boolean;
}

export interface PodView {
  /** In spec order. A container the agent has not looked at yet is absent (the kubelet's "unknown"). */
  containers: ContainerView[];
  containerCount: number;
  restartPolicy: RestartPolicy;
  /** The pod's network namespace exists and has its address: PodReadyToStartContainers. */
  sandboxReady: boolean;
  podIP?: string;
  hostIP: string;
  startTime?: string;
  /** The pod will run nothing more (deleted, or past activeDeadlineSeconds): its phase becomes terminal. */
  terminal?: { reason?: string; message?: string };
  /** Conditions the agent does not own (PodScheduled from the scheduler, DisruptionTarget, readiness gates). */
  readinessGates: string[];
}

export type Phase = 'Pending' | 'Running' | 'Succeeded' | 'Failed';

/**
 * pkg/kubelet/kubelet_pods.go getPhase, for pods without init containers and with the ContainerRestartRules gate
 * off (its default): a container waiting with a previous termination counts as stopped (it is restarting).
 */
export function podPhase(containers: ContainerView[], containerCount: number, policy: RestartPolicy, podIsTerminal: boolean): Phase {
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  const unknown = containerCount - containers.length;
  for (const c of containers) {
    if (c.state.running) running++;
    else if (c.state.terminated) {
      stopped++;
      if (c.state.terminated.exitCode === 0) succeeded++;
    } else if (c.lastState) stopped++;
    else waiting++;
  }
  if (waiting > 0) return 'Pending';
  if (running > 0 && unknown === 0) return 'Running';
  if (running === 0 && stopped > 0 && unknown === 0) {
    if (podIsTerminal) return stopped === succeeded ? 'Succeeded' : 'Failed';
    if (policy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    if (policy === 'Never') return 'Failed';
    return 'Running';
  }
  return 'Pending';
}

function condition(type: string, ok: boolean, previous: IPodCondition[] | undefined, now: string, reason?: string, message?: string): IPodCondition {
  const status = ok ? 'True' : 'False';
  const before = previous?.find((c) => c.type === type);
  // lastTransitionTime moves only when the status does (pkg/kubelet/status/status_manager.go updateLastTransitionTime).
  const lastTransitionTime = before && before.status === status && before.lastTransitionTime ? before.lastTransitionTime : now;
  return { type, status, lastTransitionTime, ...(reason && !ok ? { reason } : {}), ...(message && !ok ? { message } : {}) } as IPodCondition;
}

/** The status to send, given the pod's previous status (for transition times and conditions owned by others). */
export function podStatus(view: PodView, previous: IPodStatus | undefined, now: Date): IPodStatus {
  const ts = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const prevConditions = previous?.conditions;
  const phase = podPhase(view.containers, view.containerCount, view.restartPolicy, view.terminal !== undefined);
  const terminalPhase = phase === 'Succeeded' || phase === 'Failed';
  const allReady = view.containers.length === view.containerCount && view.containers.every((c) => c.ready) && !terminalPhase;
  const unready = view.containers.filter((c) => !c.ready).map((c) => c.name);
  const gatesOk = view.readinessGates.every((g) => prevConditions?.find((c) => c.type === g)?.status === 'True');
  // pkg/kubelet/status/generate.go: ContainersReady / Ready are False with reason PodCompleted once the pod is done,
  // ContainersNotReady while a container is not ready.
  const notReadyReason = terminalPhase ? 'PodCompleted' : 'ContainersNotReady';
  const notReadyMessage = terminalPhase ? undefined : `containers with unready status: [${unready.join(' ')}]`;
  const owned = new Set(['PodReadyToStartContainers', 'Initialized', 'ContainersReady', 'Ready']);
  const conditions: IPodCondition[] = [
    ...(prevConditions ?? []).filter((c) => !owned.has(c.type)),
    condition('PodReadyToStartContainers', view.sandboxReady && !terminalPhase, prevConditions, ts),
    // No init containers on this node (refused at admission), so a pod is initialized as soon as it is seen.
    condition('Initialized', true, prevConditions, ts),
    condition('ContainersReady', allReady, prevConditions, ts, notReadyReason, notReadyMessage),
    condition('Ready', allReady && gatesOk, prevConditions, ts, notReadyReason, notReadyMessage),
  ];
  const containerStatuses: IContainerStatus[] = view.containers.map((c) => ({
    name: c.name,
    image: c.image,
    imageID: c.imageID,
    ...(c.containerID ? { containerID: c.containerID } : {}),
    state: c.state,
    lastState: c.lastState ? { terminated: c.lastState } : {},
    ready: c.ready,
    started: c.started,
    restartCount: c.restartCount,
  }));
  const status: IPodStatus = {
    phase,
    conditions,
    hostIP: view.hostIP,
    hostIPs: [{ ip: view.hostIP }],
    containerStatuses,
  } as IPodStatus;
  if (view.podIP) {
    status.podIP = view.podIP;
    status.podIPs = [{ ip: view.podIP }];
  }
  if (view.startTime) status.startTime = view.startTime;
  if (view.terminal?.reason) status.reason = view.terminal.reason;
  if (view.terminal?.message) status.message = view.terminal.message;
  return status;
}
