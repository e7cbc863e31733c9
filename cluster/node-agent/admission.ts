// The node's own admission of a pod (the kubelet's admit handlers, pkg/kubelet/lifecycle): a manifest is untrusted
// input, and this node runs containers as host processes without the isolation a container runtime gives. So a
// pod is refused, with a reason the API shows, when it asks for what this node cannot do safely or at all. The
// one seam for stricter container rules is `checkContainerRules` below: the agent calls nothing else.
import type { IContainer } from 'kubernetes-models/v1';
import type { IPod } from 'kubernetes-models/v1/Pod';
import { probeSupported } from './probes.ts';

/** A refusal: the pod ends Failed with this reason and message, as a kubelet admit handler's rejection does. */
export interface Refusal {
  reason: string;
  message: string;
}

/**
 * Rules for a single container of a manifest, beyond what this node can run at all: privileges, capabilities,
 * users. Kept as one function so a shared allowlist (one module, tested case by case) can be called from here and
 * from nowhere else in the agent.
 */
export function checkContainerRules(container: IContainer): string | undefined {
  const sec = container.securityContext ?? {};
  if (sec.privileged) return `container ${container.name} asks to be privileged`;
  const added = sec.capabilities?.add ?? [];
  if (added.length > 0) return `container ${container.name} adds capabilities ${added.join(', ')}`;
  if (sec.procMount && sec.procMount !== 'Default') return `container ${container.name} asks for procMount ${sec.procMount}`;
  return undefined;
}

export function admitPod(pod: IPod): Refusal | undefined {
  const spec = pod.spec;
  const refuse = (message: string): Refusal => ({ reason: 'NodeAgentRefused', message });
  if (!spec) return refuse('the pod has no spec');
  if (spec.hostNetwork || spec.hostPID || spec.hostIPC) return refuse('host namespaces (hostNetwork, hostPID, hostIPC) are not run by this node');
  if ((spec.initContainers ?? []).length > 0) return refuse('init containers are not run by this node');
  if ((spec.ephemeralContainers ?? []).length > 0) return refuse('ephemeral containers are not run by this node');
  for (const v of spec.volumes ?? []) {
    if (!(v.emptyDir ?? v.persistentVolumeClaim ?? v.projected ?? v.configMap ?? v.secret ?? v.downwardAPI)) {
      return refuse(`volume ${v.name}: only emptyDir, persistentVolumeClaim, projected, configMap, secret and downwardAPI volumes run on this node`);
    }
  }
  for (const c of spec.containers) {
    for (const [kind, probe] of [['startup', c.startupProbe], ['readiness', c.readinessProbe], ['liveness', c.livenessProbe]] as const) {
      if (probe && !probeSupported(probe)) return refuse(`container ${c.name}: its ${kind} probe is neither httpGet nor tcpSocket`);
    }
    if (c.lifecycle?.postStart || c.lifecycle?.preStop) return refuse(`container ${c.name}: lifecycle hooks are not run by this node`);
    const problem = checkContainerRules(c);
    if (problem) return refuse(problem);
  }
  return undefined;
}
