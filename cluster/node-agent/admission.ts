// The node's own admission of a pod (the kubelet's admit handlers, pkg/kubelet/lifecycle): a manifest is untrusted
// input, and this node runs containers as host processes without the isolation a container runtime gives. So a
// pod is refused, with a reason the API shows, when it asks for what this node cannot do at all, or for anything
// outside the project's container allowlist (`checkContainerRules`, the one place the agent applies it).
import type { IContainer } from 'kubernetes-models/v1';
import type { IPod } from 'kubernetes-models/v1/Pod';
import { checkPodSpec } from '../../rehearsal/model/container-allowlist.ts';
import { probeSupported } from './probes.ts';

/** A refusal: the pod ends Failed with this reason and message, as a kubelet admit handler's rejection does. */
export interface Refusal {
  reason: string;
  message: string;
}

/** The service-account volume the API server's ServiceAccount admission plugin adds to a pod whose token is mounted
 * (plugin/pkg/admission/serviceaccount/admission.go, `kube-api-access-<5 chars>`: the token, kube-root-ca.crt and
 * the namespace), and its mount in every container. The manifest never wrote them, so the allowlist, which judges
 * what a manifest may set, is applied without them; anything else named like them is judged as written. */
const SA_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
export function injectedTokenVolume(pod: IPod): string | undefined {
  const v = pod.spec?.volumes?.find((vol) => /^kube-api-access-[a-z0-9]{5}$/.test(vol.name));
  const sources = v?.projected?.sources ?? [];
  const shape =
    sources.length === 3 &&
    sources[0]?.serviceAccountToken?.path === 'token' &&
    sources[1]?.configMap?.name === 'kube-root-ca.crt' &&
    sources[2]?.downwardAPI?.items?.[0]?.fieldRef?.fieldPath === 'metadata.namespace';
  return v && shape ? v.name : undefined;
}

/**
 * The one seam for the rules on what a manifest's containers may set: the shared allowlist
 * (rehearsal/model/container-allowlist.ts, also applied by the rehearsal and by `npm run validate`), on the pod spec
 * as the manifest wrote it (without the injected token volume). Answers the refusal, or undefined.
 */
export function checkContainerRules(pod: IPod): string | undefined {
  const injected = injectedTokenVolume(pod);
  const strip = (c: IContainer): IContainer => {
    const mounts = c.volumeMounts?.filter((m) => !(m.name === injected && m.mountPath === SA_MOUNT_PATH && m.readOnly));
    const { volumeMounts: _drop, ...rest } = c;
    return (mounts && mounts.length > 0 ? { ...rest, volumeMounts: mounts } : rest) as IContainer;
  };
  const spec = {
    ...pod.spec,
    containers: (pod.spec?.containers ?? []).map(strip),
    ...(pod.spec?.volumes ? { volumes: pod.spec.volumes.filter((v) => v.name !== injected) } : {}),
  };
  // Only the fields the allowlist judges: containers and volumes (the rest of the pod spec is Kubernetes' own).
  const result = checkPodSpec({ containers: spec.containers, ...(spec.volumes && spec.volumes.length > 0 ? { volumes: spec.volumes } : {}) });
  return result.ok ? undefined : `${result.field}: ${result.reason}`;
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
    const sec = c.securityContext ?? {};
    if (sec.privileged) return refuse(`container ${c.name} asks to be privileged`);
    if ((sec.capabilities?.add ?? []).length > 0) return refuse(`container ${c.name} adds capabilities ${sec.capabilities?.add?.join(', ')}`);
  }
  const problem = checkContainerRules(pod);
  if (problem) return refuse(problem);
  return undefined;
}
