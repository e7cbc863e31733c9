// The Service's endpoints as clients see them: a pod receives traffic while it is Ready and not terminating, and
// every change reaches the clients only after the endpoint and kube-proxy propagation delay.
// Sources: EndpointSlice conditions (https://kubernetes.io/docs/concepts/services-networking/endpoint-slices/#conditions:
// a terminating pod is not `ready`), and the race between endpoint removal and SIGTERM (kubernetes#67592), which is
// why the app keeps serving for SHUTDOWN_DRAIN_MS after SIGTERM. The delay itself is a parameter of the rehearsal.

export interface EndpointChange {
  atMs: number;
  /** Ready and not terminating, as the endpoints controller writes it. */
  serving: boolean;
}

export function wantsTraffic(pod: { ready: boolean; terminating: boolean }): boolean {
  return pod.ready && !pod.terminating;
}

/**
 * kube-proxy's fallback when the Service has no ready endpoint at all: it sends new connections to the endpoints of
 * terminating pods that are still serving (Ready when their deletion began), rather than refusing them.
 * Source: kubernetes v1.37.2 pkg/proxy/topology.go CategorizeEndpoints ("If we didn't get any endpoints, try again
 * using terminating endpoints": IsServing() && IsTerminating()); KEP-1669 ProxyTerminatingEndpoints, GA in 1.28.
 * It matters when every pod goes at once (the recreate overlay): the old pods, draining, answer until the new ones are
 * Ready. Measured on the local control plane: docs/fidelity.md.
 */
export function servingWhileTerminating(pod: { ready: boolean; terminating: boolean }): boolean {
  return pod.ready && pod.terminating;
}

/** Whether kube-proxy routes to the pod at `nowMs`: the last change that has propagated by then (none: not routed). */
export function routedAt(changes: readonly EndpointChange[], nowMs: number, propagationMs: number): boolean {
  let routed = false;
  for (const change of changes) if (change.atMs + propagationMs <= nowMs) routed = change.serving;
  return routed;
}
